/* Sounds that hold no bird, made as signals: what a detector must learn to call "nobird"
 * (digital silence, noise of three colours, mains hum, clicks). Deterministic from es_rng. */
#include "pipeline/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const synth_names[ES_SYNTH_KINDS] = {"silence", "white", "pink",
                                                        "brown",   "hum",   "clicks"};

const char *es_synth_name(es_synth_kind kind)
{
    return kind >= 0 && kind < ES_SYNTH_KINDS ? synth_names[kind] : NULL;
}

/* Gaussian white noise, coloured: pink by Paul Kellet's three-pole filter (−3 dB/octave within
 * ±0.5 dB over the audio band), brown by a leaky integrator (−6 dB/octave above ~7 Hz). */
static void noise(es_synth_kind kind, es_rng *r, float *x, long n)
{
    es_rng_normal(r, x, (size_t)n);
    double b0 = 0, b1 = 0, b2 = 0;
    for (long i = 0; i < n && kind != ES_SYNTH_WHITE; i++) {
        double w = x[i];
        if (kind == ES_SYNTH_PINK) {
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            x[i] = (float)(b0 + b1 + b2 + w * 0.1848);
        } else {
            x[i] = (float)(b0 = 0.998 * b0 + w);
        }
    }
}

/* 50 or 60 Hz and up to 7 more harmonics of random amplitude and phase (a transformer's
 * buzz is rich in them, a clean hum has the fundamental alone). */
static void hum(int sample_rate, es_rng *r, float *x, long n)
{
    double f0 = es_rng_uniform(r) < 0.5 ? 50 : 60, a[8], ph[8];
    int h = 1 + es_rng_below(r, 8);
    for (int k = 0; k < h; k++)
        a[k] = k == 0 ? 1 : es_rng_uniform(r), ph[k] = 2 * M_PI * es_rng_uniform(r);
    for (long i = 0; i < n; i++) {
        double s = 0, t = (double)i / sample_rate;
        for (int k = 0; k < h; k++)
            s += a[k] * sin(2 * M_PI * f0 * (k + 1) * t + ph[k]);
        x[i] = (float)s;
    }
}

/* 1 to 20 clicks a second at random places: single samples of random sign and height (the
 * level is then their peak's, not their RMS). */
static void clicks(int sample_rate, es_rng *r, float *x, long n)
{
    memset(x, 0, (size_t)n * sizeof *x);
    long m = 1 + (long)((double)n / sample_rate * (1 + 19 * es_rng_uniform(r)));
    for (long k = 0; k < m; k++)
        x[es_rng_below(r, (int)n)] = (float)((es_rng_uniform(r) < 0.5 ? -1 : 1) *
                                             (0.1 + 0.9 * es_rng_uniform(r)));
}

void es_synth_sound(es_synth_kind kind, double level_db, int sample_rate, es_rng *r, float *x,
                    long n)
{
    if (kind == ES_SYNTH_SILENCE || n <= 0) {
        memset(x, 0, (size_t)(n > 0 ? n : 0) * sizeof *x);
        return;
    }
    if (kind == ES_SYNTH_HUM)
        hum(sample_rate, r, x, n);
    else if (kind == ES_SYNTH_CLICKS)
        clicks(sample_rate, r, x, n);
    else
        noise(kind, r, x, n);
    double ss = 0, peak = 0;
    for (long i = 0; i < n; i++)
        ss += (double)x[i] * x[i], peak = fmax(peak, fabs(x[i]));
    double ref = kind == ES_SYNTH_CLICKS ? peak : sqrt(ss / n);
    double k = ref > 0 ? pow(10.0, level_db / 20.0) / ref : 0;
    for (long i = 0; i < n; i++) {
        double v = x[i] * k; /* clipped at full scale, as a recorder would */
        x[i] = (float)(v > 1 ? 1 : v < -1 ? -1 : v);
    }
}

int es_synth_features(const es_features *f, es_synth_kind kind, double level_db, int frames,
                      es_rng *r, es_array *out)
{
    const es_feature_config *c = es_features_config(f);
    es_resolved rs;
    if (es_config_resolve(c, &rs) != 0)
        return -1;
    long n = (long)frames * rs.hop + rs.n_fft; /* frames or more, centred or not */
    float *x = malloc((size_t)n * sizeof *x);
    if (!x)
        return es_fail("out of memory");
    es_synth_sound(kind, level_db, c->sample_rate, r, x, n);
    int rc = es_features_compute(f, x, n, out);
    free(x);
    return rc;
}
