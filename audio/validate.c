/* Whether a feature configuration can be computed, with one clear message when not, and the
 * sizes it implies (zeros resolved the way torchaudio resolves its None defaults). */
#include "audio/internal.h"
#include <math.h>

static int next_pow2(int n)
{
    int p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static int resolve_kaldi(const es_feature_config *c, es_resolved *r)
{
    /* torchaudio: window_size = int(sr · 25 ms), shift = int(sr · 10 ms) */
    r->win = c->win_length > 0 ? c->win_length : (int)(c->sample_rate * 0.025);
    r->hop = c->hop_length > 0 ? c->hop_length : (int)(c->sample_rate * 0.010);
    if (r->win < 2 || r->hop < 1)
        return es_fail("kaldi_fbank: win_length %d and hop_length %d are too small", r->win, r->hop);
    r->n_fft = next_pow2(r->win), r->n_freqs = r->n_fft / 2 + 1;
    double nyq = 0.5 * c->sample_rate;
    r->f_max = c->f_max <= 0 ? nyq + c->f_max : c->f_max;
    if (c->n_mels <= 3)
        return es_fail("kaldi_fbank: n_mels must be more than 3 (got %d)", c->n_mels);
    if (c->log == ES_LOG_DB || c->n_mfcc)
        return es_fail("kaldi_fbank: log must be ln or none, and n_mfcc 0");
    return 0;
}

static int check_mels(const es_feature_config *c, const es_resolved *r)
{
    double nyq = 0.5 * c->sample_rate;
    if (c->n_mels < 0 || c->n_mels > r->n_freqs)
        return es_fail("n_mels %d is more than the %d frequency bins of n_fft %d allow "
                       "(raise n_fft or lower n_mels)", c->n_mels, r->n_freqs, r->n_fft);
    if (!(c->f_min >= 0) || !(c->f_min < nyq))
        return es_fail("f_min %g Hz must be in [0, %g) (the Nyquist frequency of sample_rate %d)",
                       c->f_min, nyq, c->sample_rate);
    if (r->f_max > nyq)
        return es_fail("f_max %g Hz is above the Nyquist frequency %g Hz of sample_rate %d "
                       "(0 means Nyquist)", r->f_max, nyq, c->sample_rate);
    if (!(r->f_max > c->f_min))
        return es_fail("f_max %g Hz must be above f_min %g Hz", r->f_max, c->f_min);
    if (c->n_mfcc < 0 || c->n_mfcc > (c->n_mels ? c->n_mels : r->n_freqs))
        return es_fail("n_mfcc %d must be between 0 and n_mels %d", c->n_mfcc, c->n_mels);
    if (c->n_mfcc && c->log == ES_LOG_NONE)
        return es_fail("n_mfcc needs log db or ln (MFCCs are taken of log mel energies)");
    return 0;
}

int es_config_resolve(const es_feature_config *c, es_resolved *r)
{
    *r = (es_resolved){0};
    if (c->sample_rate < 1 || c->sample_rate > 1000000)
        return es_fail("sample_rate %d must be between 1 and 1000000 Hz", c->sample_rate);
    if (!(c->power > 0) || !isfinite(c->power))
        return es_fail("power must be > 0 (1 magnitude, 2 power), not %g", c->power);
    if (!(c->amin > 0))
        return es_fail("amin must be > 0, not %g", c->amin);
    if (c->frames < 0)
        return es_fail("frames must be >= 0, not %d", c->frames);
    if (!isfinite(c->top_db) || !isfinite(c->f_max) || !isfinite(c->f_min))
        return es_fail("top_db, f_min and f_max must be finite");
    int rc = 0;
    if (c->preset == ES_PRESET_KALDI_FBANK) {
        rc = resolve_kaldi(c, r);
    } else {
        if (c->n_fft < 2 || c->n_fft > (1 << 20))
            return es_fail("n_fft %d must be between 2 and 1048576", c->n_fft);
        r->n_fft = c->n_fft, r->n_freqs = c->n_fft / 2 + 1;
        r->win = c->win_length ? c->win_length : c->n_fft;
        r->hop = c->hop_length ? c->hop_length : r->win / 2;
        if (r->win < 1 || r->win > c->n_fft)
            return es_fail("win_length %d must be between 1 and n_fft %d", c->win_length, c->n_fft);
        if (r->hop < 1)
            return es_fail("hop_length %d must be >= 1", c->hop_length);
        /* torchaudio's f_max=None is float(sample_rate // 2) */
        r->f_max = c->f_max == 0 ? (double)(c->sample_rate / 2)
                   : c->f_max < 0 ? 0.5 * c->sample_rate + c->f_max : c->f_max;
    }
    return rc ? rc : check_mels(c, r);
}

int es_config_validate(const es_feature_config *c)
{
    es_resolved r;
    return es_config_resolve(c, &r);
}
