/* Griffin–Lim phase reconstruction with momentum (Perraudin et al. 2013), the loop of
 * torchaudio.functional.griffinlim: invert with the current phases, re-analyse, keep the
 * phases of the re-analysis (pushed away from the previous iterate by the momentum). */
#include "audio/internal.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A deterministic start: random phases from a fixed xorshift seed, so runs are repeatable. */
static void random_phases(float *ang, size_t n)
{
    uint64_t r = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        double ph = 2 * M_PI * (double)(r >> 11) / 9007199254740992.0;
        ang[2 * i] = (float)cos(ph), ang[2 * i + 1] = (float)sin(ph);
    }
}

/* spec = mag · angles (complex), n complex values */
static void apply_phase(const float *mag, const float *ang, size_t n, float *spec)
{
    for (size_t i = 0; i < n; i++)
        spec[2 * i] = mag[i] * ang[2 * i], spec[2 * i + 1] = mag[i] * ang[2 * i + 1];
}

/* ang = normalise(rebuilt − m·prev); prev = rebuilt */
static void update_phase(float *rebuilt, float *prev, float *ang, size_t n, double m)
{
    for (size_t i = 0; i < n; i++) {
        float re = rebuilt[2 * i] - (float)m * prev[2 * i];
        float im = rebuilt[2 * i + 1] - (float)m * prev[2 * i + 1];
        float a = sqrtf(re * re + im * im) + 1e-16f;
        ang[2 * i] = re / a, ang[2 * i + 1] = im / a;
    }
    memcpy(prev, rebuilt, sizeof(float) * 2 * n);
}

int es_griffin_lim(const es_stft *s, const float *mag, long frames, double power, int n_iter,
                   double momentum, long length, float *y)
{
    if (frames < 1 || power <= 0 || n_iter < 0 || momentum < 0 || momentum >= 1)
        return es_fail("griffin-lim: need frames >= 1, power > 0, n_iter >= 0, 0 <= momentum < 1");
    long n_sig = length > 0 ? length : es_stft_inverse_length(s, frames);
    if (es_stft_frames(s, n_sig) != frames)
        return es_fail("griffin-lim: %ld samples do not give %ld frames", n_sig, frames);
    size_t n = (size_t)(s->n_fft / 2 + 1) * (size_t)frames;
    float *m = malloc(sizeof(float) * n), *ang = malloc(sizeof(float) * 2 * n);
    float *spec = malloc(sizeof(float) * 2 * n), *prev = calloc(2 * n, sizeof(float));
    int rc = (!m || !ang || !spec || !prev) ? es_fail("griffin-lim: out of memory") : 0;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            m[i] = powf(mag[i], (float)(1 / power)); /* back to magnitudes */
        random_phases(ang, n);
    }
    double mom = momentum / (1 + momentum);
    for (int it = 0; rc == 0 && it < n_iter; it++) {
        apply_phase(m, ang, n, spec);
        rc = es_stft_inverse(s, spec, frames, n_sig, y);
        if (rc == 0)
            rc = es_stft_forward(s, y, n_sig, spec);
        if (rc == 0)
            update_phase(spec, prev, ang, n, mom);
    }
    if (rc == 0) {
        apply_phase(m, ang, n, spec);
        rc = es_stft_inverse(s, spec, frames, n_sig, y);
    }
    free(m), free(ang), free(spec), free(prev);
    return rc;
}
