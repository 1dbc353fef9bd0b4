/* Sonification: a time-frequency mask from a mel-domain saliency map, so the salient part of a
 * sound can be resynthesised with its own phase ("listen to what the network heard"). */
#include "saliency/es_saliency.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int es_sonify_mask(const float *map, int n_mels, int frames, const float *fb, int n_freqs,
                   float keep, float threshold, int invert, float *mask)
{
    size_t n = (size_t)n_freqs * frames;
    float *bin = malloc(n * sizeof *bin);
    size_t *k = keep >= 0 ? malloc(n * sizeof *k) : NULL;
    if (!bin || (keep >= 0 && !k)) {
        free(bin), free(k);
        return es_fail("out of memory");
    }
    if (keep > 1 || (keep < 0 && threshold < 0)) {
        free(bin), free(k);
        return es_fail("keep a fraction in [0, 1] or give a threshold >= 0");
    }
    /* map each STFT bin to the filter-weighted mean of the mel map over the filters touching it */
    for (int f = 0; f < n_freqs; f++) {
        double wsum = 0;
        for (int m = 0; m < n_mels; m++)
            wsum += fb[(size_t)m * n_freqs + f];
        for (int t = 0; t < frames; t++) {
            double acc = 0;
            for (int m = 0; m < n_mels; m++)
                acc += fb[(size_t)m * n_freqs + f] * map[(size_t)m * frames + t];
            bin[(size_t)f * frames + t] = wsum > 0 ? (float)(acc / wsum) : -INFINITY;
        }
    }
    if (keep >= 0) {
        /* the largest first, ties in bin order, so exactly `want` bins are kept */
        size_t want = (size_t)llround(keep * (double)n);
        if (es_argsort(bin, n, 1, k) != 0) {
            free(bin), free(k);
            return -1;
        }
        memset(mask, 0, n * sizeof *mask);
        for (size_t i = 0; i < want; i++)
            mask[k[i]] = 1;
    } else {
        float mx = 0;
        for (size_t i = 0; i < (size_t)n_mels * frames; i++)
            mx = fabsf(map[i]) > mx ? fabsf(map[i]) : mx;
        for (size_t i = 0; i < n; i++)
            mask[i] = mx > 0 && bin[i] >= threshold * mx ? 1.0f : 0.0f;
    }
    for (size_t i = 0; invert && i < n; i++)
        mask[i] = 1 - mask[i];
    free(bin), free(k);
    return 0;
}
