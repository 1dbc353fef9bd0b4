/* Feature extraction: frames → FFT → power → mel bands, written straight into the (bands ×
 * frames) output, then log and MFCC once all frames are known — dB clipping needs the maximum
 * of the whole item, as torchaudio's AmplitudeToDB takes it. Frames are independent,
 * so they run on OpenMP threads, each with its own scratch. Files are streamed in stream.c. */
#include "audio/internal.h"
#include <float.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const es_feature_config *es_features_config(const es_features *f) { return &f->c; }

int es_features_rows(const es_features *f) { return f->c.n_mfcc ? f->c.n_mfcc : f->bands_rows; }

long es_features_frames(const es_features *f, long n)
{
    if (n <= 0)
        return 0;
    if (f->kaldi) /* snip_edges: only frames that fit */
        return n < f->r.win ? 0 : 1 + (n - f->r.win) / f->r.hop;
    if (f->pad && f->c.pad_mode == ES_PAD_REFLECT && n <= f->pad)
        return 0; /* reflect padding needs more samples than it pads (torch refuses too) */
    long padded = n + 2L * f->pad;
    return padded < f->r.n_fft ? 0 : 1 + (padded - f->r.n_fft) / f->r.hop;
}

/* ---------------------------------------------------------------- setup */

/* povey: the symmetric Hann window to the power 0.85 (Kaldi) */
static void povey_fill(int n, float *w)
{
    for (int i = 0; i < n; i++)
        w[i] = (float)pow(0.5 - 0.5 * cos(2 * M_PI * i / (n - 1)), 0.85);
}

/* DCT-II, orthonormal (torchaudio.functional.create_dct(norm="ortho")), n_mfcc × n_mels. */
static void dct_fill(int n_mfcc, int n_mels, float *d)
{
    for (int k = 0; k < n_mfcc; k++)
        for (int n = 0; n < n_mels; n++)
            d[k * n_mels + n] = (float)(cos(M_PI / n_mels * (n + 0.5) * k) *
                                        sqrt((k ? 2.0 : 1.0) / n_mels));
}

static int make_bands(es_features *f)
{
    const es_feature_config *c = &f->c;
    int n_freqs = f->r.n_freqs;
    float *fb = malloc(sizeof(float) * (size_t)c->n_mels * n_freqs);
    if (!fb)
        return es_fail("out of memory");
    int rc = f->kaldi ? es_kaldi_filterbank(c->n_mels, f->r.n_fft, c->sample_rate, c->f_min,
                                            c->f_max, fb)
                      : es_mel_filterbank(n_freqs, c->f_min, f->r.f_max, c->n_mels,
                                          c->sample_rate, c->mel_scale, c->mel_norm, fb);
    if (rc == 0)
        rc = es_bands_from_dense(fb, c->n_mels, n_freqs, &f->bands);
    free(fb);
    return rc;
}

static int setup(es_features *f)
{
    const es_feature_config *c = &f->c;
    f->kaldi = c->preset == ES_PRESET_KALDI_FBANK;
    f->pad = !f->kaldi && c->center ? f->r.n_fft / 2 : 0;
    f->frame_len = f->kaldi ? f->r.win : f->r.n_fft;
    f->bands_rows = c->n_mels ? c->n_mels : f->r.n_freqs;
    if (!(f->window = fftwf_malloc(sizeof(float) * (size_t)f->frame_len)))
        return es_fail("out of memory");
    if (f->kaldi)
        povey_fill(f->r.win, f->window);
    else
        es_window_fill(c->window, f->r.win, f->r.n_fft, f->window);
    if (!(f->fwd = es_fft_r2c(f->r.n_fft)))
        return -1;
    if (c->n_mels && make_bands(f) != 0)
        return -1;
    if (c->n_mfcc) {
        if (!(f->dct = malloc(sizeof(float) * (size_t)c->n_mfcc * f->bands_rows)))
            return es_fail("out of memory");
        dct_fill(c->n_mfcc, f->bands_rows, f->dct);
    }
    return 0;
}

es_features *es_features_new(const es_feature_config *c)
{
    es_features *f = calloc(1, sizeof *f);
    if (!f) {
        es_fail("out of memory");
        return NULL;
    }
    f->c = *c;
    if (es_config_resolve(c, &f->r) == 0 && setup(f) == 0)
        return f;
    es_features_free(f);
    return NULL;
}

void es_features_free(es_features *f)
{
    if (!f)
        return;
    fftwf_free(f->window);
    es_bands_free(&f->bands);
    free(f->dct);
    free(f);
}

/* ---------------------------------------------------------------- one frame */

typedef struct {
    float *buf;      /* n_fft, aligned for FFTW */
    fftwf_complex *X; /* n_freqs */
    float *p;        /* n_freqs */
    float *row;      /* bands_rows: one frame's output */
} scratch;

/* Kaldi's per-frame conditioning: remove the mean, pre-emphasise (x[i] − 0.97·x[i−1], the first
 * sample against itself), window, zero-pad to n_fft. */
static void kaldi_condition(const es_features *f, float *b)
{
    int w = f->r.win;
    double mean = 0;
    for (int i = 0; i < w; i++)
        mean += b[i];
    float m = (float)(mean / w);
    for (int i = 0; i < w; i++)
        b[i] -= m;
    for (int i = w - 1; i > 0; i--)
        b[i] -= 0.97f * b[i - 1];
    b[0] -= 0.97f * b[0];
    for (int i = 0; i < w; i++)
        b[i] *= f->window[i];
    memset(b + w, 0, sizeof(float) * (size_t)(f->r.n_fft - w));
}

/* Frame t of the signal → bands_rows linear values in s->row. */
static void frame(const es_features *f, fftwf_plan plan, const es_signal *sig, long t, scratch *s)
{
    float *row = s->row;
    long start = t * f->r.hop - f->pad;
    int inside = start >= 0 && (sig->n < 0 || start + f->frame_len <= sig->n);
    if (f->kaldi || !inside) {
        es_gather(sig, start, f->frame_len, s->buf);
        if (f->kaldi)
            kaldi_condition(f, s->buf);
        else
            for (int i = 0; i < f->r.n_fft; i++)
                s->buf[i] *= f->window[i];
    } else { /* most frames: window straight from the signal, one pass */
        const float *x = sig->x + (start - sig->lo);
        for (int i = 0; i < f->r.n_fft; i++)
            s->buf[i] = x[i] * f->window[i];
    }
    fftwf_execute_dft_r2c(plan, s->buf, s->X);
    float *p = f->c.n_mels ? s->p : row;
    double pw = f->kaldi ? 2 : f->c.power;
    for (int k = 0; k < f->r.n_freqs; k++) {
        float e = s->X[k][0] * s->X[k][0] + s->X[k][1] * s->X[k][1];
        p[k] = pw == 2 ? e : pw == 1 ? sqrtf(e) : powf(sqrtf(e), (float)pw);
    }
    if (f->c.n_mels)
        es_bands_apply(&f->bands, p, row);
}

/* Each thread takes consecutive frames, so even the strided (band-major) writes reuse cache
 * lines. */
int es_frames_run(const es_features *f, const es_signal *sig, long t0, long t1, float *out,
                      size_t st, size_t sm)
{
    int bad = 0;
    fftwf_plan plan = f->fwd;
    if (t1 - t0 >= ES_FFT_MEASURE_FRAMES && !(plan = es_fft_r2c_measured(f->r.n_fft)))
        return -1;
#pragma omp parallel reduction(| : bad) if (t1 - t0 > 64)
    {
        size_t nf = (size_t)f->r.n_freqs;
        scratch s = {fftwf_malloc(sizeof(float) * (size_t)f->r.n_fft),
                     fftwf_malloc(sizeof(fftwf_complex) * nf), fftwf_malloc(sizeof(float) * nf),
                     malloc(sizeof(float) * (size_t)f->bands_rows)};
        bad = !s.buf || !s.X || !s.p || !s.row;
        if (!bad) {
#pragma omp for schedule(static)
            for (long t = t0; t < t1; t++) {
                frame(f, plan, sig, t, &s);
                float *o = out + (size_t)(t - t0) * st;
                for (int m = 0; m < f->bands_rows; m++)
                    o[m * sm] = s.row[m];
            }
        }
        fftwf_free(s.buf), fftwf_free(s.X), fftwf_free(s.p), free(s.row);
    }
    return bad ? es_fail("out of memory") : 0;
}

/* ---------------------------------------------------------------- the whole item */

/* ln x for normal x > 0, branch-free so loops over it vectorise (glibc's logf does not):
 * x = m·2^e with m in [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1), |s| <= 0.172, by its
 * series to s⁹ (truncation < 4e-10, below float rounding). */
static inline float ln_normal(float x)
{
    union { float f; uint32_t u; } v = {x}; /* GNU C type punning; memcpy blocks if-conversion */
    int32_t e = (int32_t)((v.u + 0x004afb0du) >> 23) - 127; /* 0x004afb0d: m into [√½, √2) */
    v.u -= (uint32_t)e << 23;
    float m = v.f;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
    return (float)e * 0.693147180559945f + 2.0f * (s + s * p);
}

/* In place on frames × bands_rows: dB with top_db clipping, ln, or nothing. */
static void take_log(const es_features *f, float *m, size_t n)
{
    const es_feature_config *c = &f->c;
    if (f->kaldi) {
        if (c->log == ES_LOG_LN)
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < n; i++) /* Kaldi's floor: FLT_EPSILON */
                m[i] = ln_normal(m[i] > FLT_EPSILON ? m[i] : FLT_EPSILON);
        return;
    }
    if (c->log == ES_LOG_LN) {
        const float amin = (float)c->amin;
        if (amin >= FLT_MIN) {
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < n; i++)
                m[i] = ln_normal(m[i] + amin);
        } else {
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++)
                m[i] = logf(m[i] + amin);
        }
    } else if (c->log == ES_LOG_DB) {
        /* 10·log10(x) as (10 / ln 10)·ln(x), exact to 1e-5 dB. Ternaries, not fmaxf (a libm
         * call here). */
        const float amin = (float)c->amin, k = (float)(10.0 / M_LN10);
        const float db_amin = (float)(10 * log10(c->amin)); /* the floor exactly as torch's */
        float top = -INFINITY;
        if (amin >= FLT_MIN) {
            const float lo = k * ln_normal(amin); /* what the clamped values come out as */
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < n; i++) { /* one select each, so GCC vectorises it */
                float x = m[i] > amin ? m[i] : amin, v = k * ln_normal(x);
                m[i] = v > lo ? v : db_amin;
            }
#pragma omp parallel for simd schedule(static) reduction(max : top)
            for (size_t i = 0; i < n; i++)
                top = m[i] > top ? m[i] : top;
        } else { /* denormal floors: leave them to libm */
#pragma omp parallel for schedule(static) reduction(max : top)
            for (size_t i = 0; i < n; i++) {
                float v = m[i] > amin ? k * logf(m[i]) : db_amin;
                m[i] = v;
                top = v > top ? v : top;
            }
        }
        if (c->top_db > 0) {
            float floor_db = top - (float)c->top_db;
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < n; i++)
                m[i] = m[i] > floor_db ? m[i] : floor_db;
        }
    }
}


int es_features_finish(const es_features *f, float *m, long frames, es_array *out)
{
    take_log(f, m, (size_t)frames * f->bands_rows);
    int rows = es_features_rows(f), nb = f->bands_rows;
    if (f->dct) { /* mfcc[k][t] = Σ_j dct[k][j]·m[j][t], vectorised along t */
        float *o = calloc((size_t)rows * (size_t)frames + 1, sizeof(float));
        if (!o) {
            free(m);
            return es_fail("out of memory");
        }
#pragma omp parallel for schedule(static)
        for (int k = 0; k < rows; k++)
            for (int j = 0; j < nb; j++) {
                float d = f->dct[(size_t)k * nb + j], *ok = o + (size_t)k * frames;
                const float *mj = m + (size_t)j * frames;
                for (long t = 0; t < frames; t++)
                    ok[t] += d * mj[t];
            }
        free(m);
        m = o;
    }
    memset(out, 0, sizeof *out);
    out->ndim = 2, out->dims[0] = rows, out->dims[1] = (int)frames, out->data = m;
    return 0;
}

int es_too_short(const es_features *f, long n, const char *what)
{
    return es_fail("%s: %ld samples at %d Hz are too short for one frame of %d samples%s", what, n,
                   f->c.sample_rate, f->kaldi ? f->r.win : f->r.n_fft,
                   f->pad ? " with centre padding" : "");
}

/* Index of the first NaN / infinity, or -1. An all-ones exponent marks both; OR-ing the
 * exponent bits over blocks vectorises, where an early-exit isfinite() loop cost 16 % of a run. */
static long first_non_finite(const float *x, long n)
{
    const uint32_t *u = (const uint32_t *)x;
    long first = n;
#pragma omp parallel for schedule(static) reduction(min : first)
    for (long b = 0; b < n; b += 4096) {
        long e = b + 4096 < n ? b + 4096 : n;
        uint32_t hit = 0;
        for (long i = b; i < e; i++)
            hit |= ((u[i] & 0x7f800000u) == 0x7f800000u);
        for (long i = b; hit && i < e; i++)
            if ((u[i] & 0x7f800000u) == 0x7f800000u) {
                first = i < first ? i : first;
                break;
            }
    }
    return first < n ? first : -1;
}

int es_features_compute(const es_features *f, const float *x, long n, es_array *out)
{
    memset(out, 0, sizeof *out);
    long bad = first_non_finite(x, n);
    if (bad >= 0)
        return es_fail("signal: sample %ld is not a number (NaN or infinite)", bad);
    long frames = es_features_frames(f, n);
    if (frames == 0)
        return n == 0 ? es_fail("signal: no samples") : es_too_short(f, n, "signal");
    float *m = malloc(sizeof(float) * (size_t)frames * f->bands_rows + 1);
    if (!m)
        return es_fail("out of memory");
    es_signal sig = {x, 0, n, n, f->c.pad_mode};
    if (es_frames_run(f, &sig, 0, frames, m, 1, (size_t)frames) != 0) {
        free(m);
        return -1;
    }
    return es_features_finish(f, m, frames, out);
}
