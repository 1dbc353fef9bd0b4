/* The short-time Fourier transform as torch.stft computes it: frames of n_fft samples every
 * hop, centred (padded by n_fft/2, reflect or zeros) or not, times the window, real FFT. */
#include "audio/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void es_window_fill(es_window w, int win_length, int n_fft, float *out)
{
    /* periodic windows (torch default): the N+1-point symmetric window without its last point */
    double a = w == ES_WINDOW_HAMMING ? 0.54 : 0.5, b = 1 - a;
    int left = (n_fft - win_length) / 2; /* torch.stft centres a shorter window */
    memset(out, 0, sizeof(float) * (size_t)n_fft);
    for (int i = 0; i < win_length; i++)
        out[left + i] = (float)(a - b * cos(2 * M_PI * i / win_length));
}

static inline float sample_at(const es_signal *s, long i)
{
    if (i < 0 || (s->n >= 0 && i >= s->n)) {
        if (s->pad == ES_PAD_CONSTANT)
            return 0;
        i = i < 0 ? -i : 2 * (s->n - 1) - i; /* reflect without repeating the edge sample */
    }
    return s->x[i - s->lo];
}

void es_gather(const es_signal *s, long start, int len, float *dst)
{
    if (start >= 0 && (s->n < 0 || start + len <= s->n)) {
        memcpy(dst, s->x + (start - s->lo), sizeof(float) * (size_t)len);
        return;
    }
    for (int i = 0; i < len; i++)
        dst[i] = sample_at(s, start + i);
}

es_stft *es_stft_new(int n_fft, int win_length, int hop_length, es_window w, int center,
                     es_pad_mode pad)
{
    if (n_fft < 2 || win_length < 1 || win_length > n_fft || hop_length < 1) {
        es_fail("stft: need n_fft >= 2, 1 <= win_length <= n_fft, hop >= 1 (got %d, %d, %d)",
                n_fft, win_length, hop_length);
        return NULL;
    }
    es_stft *s = calloc(1, sizeof *s);
    if (!s || !(s->window = fftwf_malloc(sizeof(float) * (size_t)n_fft))) {
        es_stft_free(s);
        es_fail("stft: out of memory");
        return NULL;
    }
    *s = (es_stft){n_fft, win_length, hop_length, center, pad, s->window, NULL, NULL};
    es_window_fill(w, win_length, n_fft, s->window);
    if (!(s->fwd = es_fft_r2c(n_fft)) || !(s->inv = es_fft_c2r(n_fft))) {
        es_stft_free(s);
        return NULL;
    }
    return s;
}

void es_stft_free(es_stft *s)
{
    if (!s)
        return;
    fftwf_free(s->window);
    free(s);
}

long es_stft_frames(const es_stft *s, long n)
{
    long pad = s->center ? s->n_fft / 2 : 0;
    if (n <= 0 || (s->center && s->pad == ES_PAD_REFLECT && n <= pad) || n + 2 * pad < s->n_fft)
        return 0;
    return 1 + (n + 2 * pad - s->n_fft) / s->hop;
}

/* One frame: gather, window, FFT into spec column t (spec is n_freq × frames × 2). */
static void frame_forward(const es_stft *s, const es_signal *sig, long t, long frames,
                          float *buf, fftwf_complex *X, float *spec)
{
    int n_freq = s->n_fft / 2 + 1;
    long start = t * s->hop - (s->center ? s->n_fft / 2 : 0);
    es_gather(sig, start, s->n_fft, buf);
    for (int i = 0; i < s->n_fft; i++)
        buf[i] *= s->window[i];
    fftwf_execute_dft_r2c(s->fwd, buf, X);
    for (int k = 0; k < n_freq; k++) {
        spec[((size_t)k * frames + t) * 2] = X[k][0];
        spec[((size_t)k * frames + t) * 2 + 1] = X[k][1];
    }
}

int es_stft_forward(const es_stft *s, const float *x, long n, float *spec)
{
    long frames = es_stft_frames(s, n);
    if (frames == 0)
        return es_fail("stft: a signal of %ld samples is too short for n_fft %d", n, s->n_fft);
    es_signal sig = {x, 0, n, n, s->pad};
    int bad = 0;
#pragma omp parallel reduction(| : bad)
    {
        float *buf = fftwf_malloc(sizeof(float) * (size_t)s->n_fft);
        fftwf_complex *X = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(s->n_fft / 2 + 1));
        bad = !buf || !X;
        if (!bad) {
#pragma omp for schedule(static)
            for (long t = 0; t < frames; t++)
                frame_forward(s, &sig, t, frames, buf, X, spec);
        }
        fftwf_free(buf);
        fftwf_free(X);
    }
    return bad ? es_fail("stft: out of memory") : 0;
}

long es_stft_inverse_length(const es_stft *s, long frames)
{
    long full = s->n_fft + s->hop * (frames - 1);
    return s->center ? full - 2 * (s->n_fft / 2) : full;
}

/* torch.istft: y = Σ_t shift_t(window · irfft(X_t)) / Σ_t shift_t(window²), then the centre
 * padding cut away. Sequential: the overlap-add writes overlap between frames. */
int es_stft_inverse(const es_stft *s, const float *spec, long frames, long length, float *y)
{
    if (frames < 1)
        return es_fail("istft: no frames");
    int n_fft = s->n_fft, n_freq = n_fft / 2 + 1;
    long full = n_fft + s->hop * (frames - 1), start = s->center ? n_fft / 2 : 0;
    if (length <= 0)
        length = es_stft_inverse_length(s, frames);
    float *acc = calloc((size_t)full, sizeof(float)), *env = calloc((size_t)full, sizeof(float));
    float *buf = fftwf_malloc(sizeof(float) * (size_t)n_fft);
    fftwf_complex *X = fftwf_malloc(sizeof(fftwf_complex) * (size_t)n_freq);
    int rc = 0;
    if (!acc || !env || !buf || !X)
        rc = es_fail("istft: out of memory");
    for (long t = 0; rc == 0 && t < frames; t++) {
        for (int k = 0; k < n_freq; k++) {
            X[k][0] = spec[((size_t)k * frames + t) * 2];
            X[k][1] = spec[((size_t)k * frames + t) * 2 + 1];
        }
        fftwf_execute_dft_c2r(s->inv, X, buf); /* unnormalised: divide by n_fft */
        float *a = acc + t * s->hop, *e = env + t * s->hop;
        for (int i = 0; i < n_fft; i++) {
            a[i] += buf[i] * s->window[i] / n_fft;
            e[i] += s->window[i] * s->window[i];
        }
    }
    for (long i = 0; rc == 0 && i < length; i++) {
        long j = start + i;
        if (j >= full) {
            y[i] = 0; /* torch pads a requested length beyond the frames with zeros */
            continue;
        }
        if (env[j] < 1e-11f) {
            rc = es_fail("istft: window overlap-add is zero at sample %ld (hop too large for "
                         "the window: NOLA fails)", i);
            break;
        }
        y[i] = acc[j] / env[j];
    }
    free(acc);
    free(env);
    fftwf_free(buf);
    fftwf_free(X);
    return rc;
}
