/* earsight base: what every module shares — the last error message, files written
 * atomically, NumPy .npy arrays, a reproducible random generator and the mel scale. Every
 * other module may include this; it includes nothing of ours.
 *
 * Errors: a function that fails returns -1 (or NULL) and leaves a one-line message, naming
 * the file when there is one ("clip.wav: not an audio file"), readable with es_error() in
 * the same thread until the next failure. Library code never prints and never exits. */
#ifndef ES_BASE_H
#define ES_BASE_H
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#define ES_VERSION "0.1.0"
#define ES_MAX_DIMS 8

/* The message of this thread's last failure ("" if none). */
const char *es_error(void);
/* Sets the message (printf format) and returns -1, so `return es_fail(...)` reads well. */
int es_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Puts where it happened in front of the message a lower layer left: "PREFIX: <message>",
 * the prefix formatted as printf does (es_error_prefix("%s", path)). Returns -1. */
int es_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Files appear whole or not at all: es_atomic_open creates a temporary file beside `path`;
 * es_atomic_commit flushes, closes and renames it into place; es_atomic_abort removes it.
 * Exactly one of commit/abort must follow a successful open. */
typedef struct {
    FILE *f;
    char *path, *tmp;
} es_atomic;
int es_atomic_open(es_atomic *a, const char *path);
int es_atomic_commit(es_atomic *a);
void es_atomic_abort(es_atomic *a);
/* Removes every temporary still open. Async-signal-safe: for a SIGINT/SIGTERM handler, which
 * then re-raises the signal. (A killed run's temporaries are removed by the next open of the
 * same path, once their process is gone.) */
void es_atomic_cleanup(void);
/* 0 when `path` may be written as an output: absent, or a regular file. A symbolic link, a
 * folder, a device, a pipe or a socket is refused (-1, message naming the path): outputs
 * never follow a link nor replace a device. es_atomic_open checks it too. */
int es_output_check(const char *path);
/* 1 when both paths exist and name the same file (device and inode), else 0. */
int es_same_file(const char *a, const char *b);

/* A float32 C-order array, as read from or written to a .npy file. `data` is owned. */
typedef struct {
    int ndim;
    int dims[ES_MAX_DIMS];
    float *data;
} es_array;

size_t es_array_size(const es_array *a); /* product of dims (1 for a scalar) */
void es_array_free(es_array *a);         /* frees data, leaves the array empty */

/* Reads .npy format 1.0/2.0/3.0: float32/float64/int8..int64/uint8/bool, little- or
 * big-endian, converted to float32. Fortran order is refused. 0 on success. */
int es_npy_load(const char *path, es_array *out);
/* Every entry takes only finite numbers: es_npy_load refuses NaN and ±inf (one line naming the
 * file and the first index), and a shape larger than the file's bytes before allocating.
 * es_npy_load_nonfinite is the same without the finiteness check, for data where NaN means
 * "missing". */
int es_npy_load_nonfinite(const char *path, es_array *out);
/* Writes float32 little-endian, C order, atomically. */
int es_npy_save(const char *path, const float *data, int ndim, const int *dims);

/* Random numbers: splitmix64, chosen because its sequence is a few lines in any language
 * (tests rebuild SmoothGrad's noise in Python from the same seed). The state is one word;
 * seed it by value, `es_rng r = {seed};`. Not for cryptography; one state per thread. */
typedef struct {
    uint64_t s;
} es_rng;
uint64_t es_rng_next(es_rng *r);    /* the next 64 random bits */
double es_rng_uniform(es_rng *r);   /* [0, 1): the top 53 bits · 2^-53 */
int es_rng_below(es_rng *r, int n); /* [0, n) as floor(uniform · n); 0 when n <= 0 */
/* Fills z[0..n) with standard normal values: Box–Muller on pairs of draws, both variates
 * kept (u = (top 53 bits + 0.5) · 2^-53, never 0), computed in double. */
void es_rng_normal(es_rng *r, float *z, size_t n);
/* The Box–Muller pair for uniforms u1 ∈ (0, 1], u2: z = sqrt(−2 ln u1) · (cos, sin)(2π u2). */
void es_box_muller(double u1, double u2, double z[2]);

/* The mel scale in double: HTK (2595 log10(1 + f/700)) or Slaney (librosa's and
 * torchaudio's default: linear below 1 kHz, logarithmic above). Kaldi's 1127 ln(1 + f/700)
 * is not HTK's to the bit (2595 / ln 10 = 1127.01…); it stays in audio/, its one user. */
typedef enum { ES_MEL_HTK, ES_MEL_SLANEY } es_mel_scale;
double es_hz_to_mel(double hz, es_mel_scale s);
double es_mel_to_hz(double mel, es_mel_scale s);

/* order[0..n) gets the indices that sort v ascending (descend 0) or descending; equal values
 * keep their index order (a stable sort). NaN is not allowed. 0, or -1 out of memory. */
int es_argsort(const float *v, size_t n, int descend, size_t *order);

#endif
