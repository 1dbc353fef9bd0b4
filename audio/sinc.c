/* torchaudio.functional.resample, streamed: the windowed-sinc polyphase filter of torchaudio 0.13
 * (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99), for features that must equal a
 * torchaudio pipeline that resampled with it. With g = gcd(in, out), orig = in/g, new = out/g:
 *   y[b·new + j] = Σ_k kernel[j][k] · x[b·orig − width + k],  k < K = 2·width + orig,
 * x being zero outside the signal, and ceil(n·new/orig) samples in all. */
#include "audio/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct es_sinc {
    int orig, nw, width, K;
    float *kernel;     /* nw × L taps, phase j's from k = first[j] (live_fill) */
    int L, *first;
    float *x;          /* input samples [lo, hi) (absolute indices) */
    long lo, hi, cap;
    int ended;         /* no more input: the signal is [0, hi) */
    long block;        /* next block of nw outputs */
    float *pend;       /* the current block's outputs, from pend_pos on */
    int pend_n, pend_pos;
};

static long gcd(long a, long b) { return b ? gcd(b, a % b) : a; }

/* Tap k of phase j as torchaudio computes it, in float32 and in its order of operations. */
static float tap(const es_sinc *s, int j, int k)
{
    const float lpw = 6, base = (float)((s->orig < s->nw ? s->orig : s->nw) * 0.99);
    float idx = (float)(k - s->width) / (float)s->orig;
    float t = (-(float)j / (float)s->nw + idx) * base;
    t = t < -lpw ? -lpw : t > lpw ? lpw : t;
    float w = cosf(t * (float)M_PI / lpw / 2);
    w *= w;
    t *= (float)M_PI;
    float v = t == 0 ? 1.0f : sinf(t) / t;
    return v * (w * (base / (float)s->orig));
}

static void live_fill(es_sinc *s)
{
    s->L = 2 * s->width + 3;
    for (int j = 0; j < s->nw; j++) {
        long a = (long)j * s->orig / s->nw - 1;
        s->first[j] = (int)(a < 0 ? 0 : a);
        for (int i = 0; i < s->L; i++) {
            int k = s->first[j] + i;
            s->kernel[(size_t)j * s->L + i] = k < s->K ? tap(s, j, k) : 0;
        }
    }
}

es_sinc *es_sinc_new(int in_rate, int out_rate)
{
    long g = gcd(in_rate, out_rate);
    es_sinc *s = calloc(1, sizeof *s);
    if (!s) {
        es_fail("out of memory");
        return NULL;
    }
    s->orig = (int)(in_rate / g), s->nw = (int)(out_rate / g);
    double base = (s->orig < s->nw ? s->orig : s->nw) * 0.99;
    s->width = (int)ceil(6 * s->orig / base);
    s->K = 2 * s->width + s->orig;
    s->kernel = malloc(sizeof(float) * (size_t)s->nw * (size_t)(2 * s->width + 3));
    s->first = malloc(sizeof(int) * (size_t)s->nw);
    s->pend = malloc(sizeof(float) * (size_t)s->nw);
    if (!s->kernel || !s->first || !s->pend) {
        es_fail("out of memory");
        es_sinc_free(s);
        return NULL;
    }
    live_fill(s);
    return s;
}

void es_sinc_free(es_sinc *s)
{
    if (s)
        free(s->kernel), free(s->first), free(s->x), free(s->pend), free(s);
}

int es_sinc_push(es_sinc *s, const float *x, long n)
{
    if (s->hi - s->lo + n > s->cap) {
        long cap = 2 * (s->hi - s->lo + n) + 4096;
        float *t = realloc(s->x, sizeof(float) * (size_t)cap);
        if (!t)
            return -1;
        s->x = t, s->cap = cap;
    }
    memcpy(s->x + (s->hi - s->lo), x, sizeof(float) * (size_t)n);
    s->hi += n;
    return 0;
}

void es_sinc_end(es_sinc *s) { s->ended = 1; }

/* Computes the next block when its inputs are there; 0 when they are not (yet). */
static int next_block(es_sinc *s)
{
    long start = s->block * s->orig - s->width;
    if (!s->ended && start + s->K > s->hi)
        return 0;
    if (s->ended && start >= s->hi)
        return 0; /* nothing of the signal left under the filter */
    /* taps over samples outside [lo, hi) meet zeros: the padding before 0 and after the end */
    int k0 = start < s->lo ? (int)(s->lo - start) : 0;
    int k1 = start + s->K > s->hi ? (int)(s->hi - start) : s->K;
    const float *x = s->x + (start - s->lo);
    for (int j = 0; j < s->nw; j++) {
        /* phase j's taps cover [a, b) of the K; tap k is kj[k − a] */
        int a = s->first[j], b = a + s->L;
        const float *kj = s->kernel + (size_t)j * s->L - a;
        int lo = a > k0 ? a : k0, hi = b < k1 ? b : k1;
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int k = lo; k < hi; k++)
            acc += kj[k] * x[k];
        s->pend[j] = acc;
    }
    s->pend_n = s->nw, s->pend_pos = 0, s->block++;
    long keep = s->block * s->orig - s->width; /* inputs the next block still needs */
    if (keep > s->lo + 65536 && keep <= s->hi) {
        memmove(s->x, s->x + (keep - s->lo), sizeof(float) * (size_t)(s->hi - keep));
        s->lo = keep;
    }
    return 1;
}

long es_sinc_pull(es_sinc *s, float *out, long max)
{
    long got = 0;
    while (got < max) {
        if (s->pend_pos == s->pend_n && !next_block(s))
            break;
        int n = s->pend_n - s->pend_pos;
        if (n > max - got)
            n = (int)(max - got);
        memcpy(out + got, s->pend + s->pend_pos, sizeof(float) * (size_t)n);
        s->pend_pos += n, got += n;
    }
    return got;
}
