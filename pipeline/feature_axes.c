/* The one rule for the axes of a feature matrix (plot, maps, the saliency figure, view). */
#include "pipeline/es_pipeline.h"
#include <stdio.h>

/* Where frame t's window is centred, in samples past t·hop: torch.stft with center pads
 * n_fft/2 on the left, so frame t is centred on t·hop; without it the n_fft-long frame starts
 * at t·hop (a shorter window sits in its middle); Kaldi snips edges and pads its window at the
 * end, so the centre is win/2 in. */
static double frame_centre(const es_feature_config *c, const es_resolved *r)
{
    if (c->preset == ES_PRESET_KALDI_FBANK)
        return r->win / 2.0;
    return c->center ? 0.0 : r->n_fft / 2.0;
}

static es_axis index_axis(double first, int n, const char *label)
{
    return (es_axis){first - 0.5, first + n - 0.5, ES_SCALE_LINEAR, label, 1};
}

int es_feature_axes(const es_feature_config *c, int rows, long frame0, int frames, int which,
                    es_axis *x, es_axis *y)
{
    es_resolved r;
    int ok = es_config_resolve(c, &r) == 0;
    *x = index_axis((double)frame0, frames, "frame");
    *y = index_axis(0, rows, c->n_mfcc > 0 ? "MFCC" : "bin");
    if (ok && (which & ES_AXES_TIME)) {
        /* each column spans ±hop/2 around its window's centre */
        double sr = c->sample_rate, t0 = frame0 * (double)r.hop + frame_centre(c, &r) - r.hop / 2.0;
        *x = (es_axis){t0 / sr, (t0 + (double)frames * r.hop) / sr, ES_SCALE_LINEAR, "Time (s)", 0};
    }
    if (!ok || !(which & ES_AXES_FREQ) || c->n_mfcc > 0)
        return ok ? 0 : -1;
    if (c->n_mels > 0) {
        /* band i's filter peaks at point i + 1 of rows + 2 spaced evenly in mel from f_min to
         * f_max; Kaldi's 1127·ln(1 + f/700) is the HTK scale */
        es_scale sc = c->mel_scale == ES_MEL_HTK || c->preset == ES_PRESET_KALDI_FBANK
                          ? ES_SCALE_MEL_HTK : ES_SCALE_MEL_SLANEY;
        double m0 = es_scale_apply(c->f_min, sc), m1 = es_scale_apply(r.f_max, sc);
        double half = 0.5 * (m1 - m0) / (rows + 1);
        *y = (es_axis){es_scale_invert(m0 + half, sc), es_scale_invert(m1 - half, sc), sc,
                       "Frequency (Hz)", 0};
    } else { /* a linear spectrogram: bin k at k·sr/n_fft */
        double bin = (double)c->sample_rate / r.n_fft;
        *y = (es_axis){-bin / 2, (rows - 1) * bin + bin / 2, ES_SCALE_LINEAR, "Frequency (Hz)", 0};
    }
    return 0;
}

int es_axes_text(const es_axis *x, const es_axis *y, char *buf, size_t cap)
{
    static const char *scale[] = {"linear", "mel-htk", "mel-slaney"};
    return snprintf(buf, cap, "x %s %s %.6g %.6g; y %s %s %.6g %.6g", x->label ? x->label : "-",
                    scale[x->scale], x->lo, x->hi, y->label ? y->label : "-", scale[y->scale],
                    y->lo, y->hi);
}
