/* "What the network heard": a saliency map back to the sound's STFT bins, resynthesised. */
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <stdlib.h>

int es_model_resynth_fits(const es_model *m)
{
    const char *js = es_meta_get(m->meta, ES_META_FEATURES);
    es_feature_config c;
    es_config_default(&c);
    if (!js)
        return es_fail("%s: has no earsight.features: what it heard cannot be played", m->path);
    if (es_config_from_json(&c, js, m->path) != 0)
        return -1;
    if (c.n_mfcc > 0 || c.n_mels <= 0 || c.preset != ES_PRESET_NONE)
        return es_fail("%s: what it heard is played from log-mel features only (its features are %s)",
                       m->path, c.n_mfcc > 0 ? "MFCC" : c.n_mels <= 0 ? "a linear spectrogram" : "Kaldi fbank");
    return 0;
}

/* Resynthesis at the sound's own rate r: the same n_fft and hop in samples; model frame
 * t·r_model/r for each native frame t (nearest), and the filter bank built for rate r, so each
 * native bin meets the mel rows of its own frequency. */
int es_resynth(const es_feature_config *c, const float *map, int mels, int mf, const float *x,
                long n, int rate, float keep, float threshold, int invert, float *y,
                double *kept, const char *what)
{
    int win = c->win_length ? c->win_length : c->n_fft, hop = c->hop_length ? c->hop_length : win / 2;
    es_stft *s = es_stft_new(c->n_fft, win, hop, c->window, c->center, c->pad_mode);
    if (!s)
        return -1;
    int nf = c->n_fft / 2 + 1;
    long T = es_stft_frames(s, n);
    /* the model's mel edges, even above this rate's Nyquist (those filters meet no bin) */
    double fmax = c->f_max > 0 ? c->f_max : c->sample_rate / 2.0 + c->f_max;
    float *spec = T > 0 ? malloc((size_t)nf * T * 2 * sizeof *spec) : NULL;
    float *fb = malloc((size_t)mels * nf * sizeof *fb), *mask = malloc((size_t)nf * (T > 0 ? T : 1) * sizeof *mask);
    float *tm = malloc((size_t)mels * (T > 0 ? T : 1) * sizeof *tm);
    int rc = -1;
    if (T <= 0) {
        es_fail("%s: too short for a %d-point STFT", what, c->n_fft);
        goto done;
    }
    if (!spec || !fb || !mask || !tm) {
        es_fail("out of memory");
        goto done;
    }
    if (es_mel_filterbank(nf, c->f_min, fmax, mels, rate, c->mel_scale, c->mel_norm, fb) != 0 ||
        es_stft_forward(s, x, n, spec) != 0)
        goto done;
    for (long t = 0; t < T; t++) {
        long src = lround((double)t * c->sample_rate / rate);
        src = src < mf ? src : mf - 1;
        for (int m = 0; m < mels; m++)
            tm[(size_t)m * T + t] = map[(size_t)m * mf + src];
    }
    if (es_sonify_mask(tm, mels, (int)T, fb, nf, keep, threshold, invert, mask) != 0)
        goto done;
    double k = 0;
    for (size_t i = 0; i < (size_t)nf * T; i++) {
        spec[2 * i] *= mask[i], spec[2 * i + 1] *= mask[i];
        k += mask[i];
    }
    if (kept)
        *kept = k / ((double)nf * T);
    rc = es_stft_inverse(s, spec, T, n, y);
done:
    es_stft_free(s);
    free(spec), free(fb), free(mask), free(tm);
    return rc;
}
