/* Mel filter banks: torchaudio.functional.melscale_fbanks (HTK or Slaney scale, optional Slaney
 * area normalisation), the Kaldi bank, and a banded form that skips the zeros (a slaney80 bank
 * over 513 bins is 97 % zeros). Weights are computed in double. */
#include "audio/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int es_mel_filterbank(int n_freqs, double f_min, double f_max, int n_mels, int sample_rate,
                      es_mel_scale scale, es_mel_norm norm, float *fb)
{
    if (n_freqs < 2 || n_mels < 1 || sample_rate < 1 || !(f_min >= 0) || !(f_max > f_min))
        return es_fail("mel filter bank: need n_freqs >= 2, n_mels >= 1, 0 <= f_min < f_max");
    double *f_pts = malloc(sizeof(double) * (size_t)(n_mels + 2));
    if (!f_pts)
        return es_fail("mel filter bank: out of memory");
    double m_min = es_hz_to_mel(f_min, scale), m_max = es_hz_to_mel(f_max, scale);
    for (int i = 0; i < n_mels + 2; i++) /* band edges, equally spaced in mel */
        f_pts[i] = es_mel_to_hz(m_min + (m_max - m_min) * i / (n_mels + 1), scale);
    /* torchaudio spaces the bins over [0, sample_rate // 2] (integer division) */
    double nyq = (double)(sample_rate / 2);
    for (int m = 0; m < n_mels; m++) {
        double lo = f_pts[m], mid = f_pts[m + 1], hi = f_pts[m + 2];
        double enorm = norm == ES_MEL_NORM_SLANEY ? 2.0 / (hi - lo) : 1.0;
        for (int k = 0; k < n_freqs; k++) {
            double f = nyq * k / (n_freqs - 1);
            double up = (f - lo) / (mid - lo), down = (hi - f) / (hi - mid);
            double w = fmax(0.0, fmin(up, down));
            fb[(size_t)m * n_freqs + k] = (float)(w * enorm);
        }
    }
    free(f_pts);
    return 0;
}

static double kaldi_mel(double hz) { return 1127.0 * log(1.0 + hz / 700.0); }

int es_kaldi_filterbank(int n_mels, int n_fft, int sample_rate, double low, double high, float *fb)
{
    double nyq = 0.5 * sample_rate, bin_hz = (double)sample_rate / n_fft;
    if (high <= 0)
        high += nyq;
    if (n_mels <= 3 || !(low >= 0 && low < nyq && high > 0 && high <= nyq && low < high))
        return es_fail("kaldi fbank: need n_mels > 3 and 0 <= f_min < f_max <= %g (got %d, %g, %g)",
                       nyq, n_mels, low, high);
    int n_freqs = n_fft / 2 + 1;
    double m_lo = kaldi_mel(low), delta = (kaldi_mel(high) - m_lo) / (n_mels + 1);
    memset(fb, 0, sizeof(float) * (size_t)n_mels * n_freqs);
    for (int m = 0; m < n_mels; m++) {
        double left = m_lo + m * delta, center = left + delta, right = center + delta;
        for (int k = 0; k < n_fft / 2; k++) { /* the Nyquist bin keeps weight 0, as Kaldi's */
            double mel = kaldi_mel(bin_hz * k);
            double w = fmin((mel - left) / (center - left), (right - mel) / (right - center));
            fb[(size_t)m * n_freqs + k] = (float)fmax(0.0, w);
        }
    }
    return 0;
}

int es_bands_from_dense(const float *fb, int n_mels, int n_freqs, es_bands *b)
{
    memset(b, 0, sizeof *b);
    b->n_mels = n_mels, b->n_freqs = n_freqs;
    b->first = calloc((size_t)n_mels, sizeof(int));
    b->len = calloc((size_t)n_mels, sizeof(int));
    b->off = calloc((size_t)n_mels, sizeof(int));
    b->w = malloc(sizeof(float) * ((size_t)n_mels * n_freqs + 1));
    if (!b->first || !b->len || !b->off || !b->w) {
        es_bands_free(b);
        return es_fail("mel filter bank: out of memory");
    }
    int used = 0;
    for (int m = 0; m < n_mels; m++) {
        const float *row = fb + (size_t)m * n_freqs;
        int lo = 0, hi = n_freqs;
        while (lo < hi && row[lo] == 0)
            lo++;
        while (hi > lo && row[hi - 1] == 0)
            hi--;
        b->first[m] = lo, b->len[m] = hi - lo, b->off[m] = used;
        memcpy(b->w + used, row + lo, sizeof(float) * (size_t)(hi - lo));
        used += hi - lo;
    }
    return 0;
}

void es_bands_free(es_bands *b)
{
    free(b->first), free(b->len), free(b->off), free(b->w);
    memset(b, 0, sizeof *b);
}

void es_bands_apply(const es_bands *b, const float *p, float *out)
{
    for (int m = 0; m < b->n_mels; m++) {
        const float *w = b->w + b->off[m], *x = p + b->first[m];
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int k = 0; k < b->len[m]; k++)
            acc += w[k] * x[k];
        out[m] = acc;
    }
}
