/* Private to audio/: FFT plans, windows, frame gathering, filter banks in banded form. */
#ifndef ES_AUDIO_INTERNAL_H
#define ES_AUDIO_INTERNAL_H
#include "audio/es_audio.h"
#include <fftw3.h>

/* FFTW plans for size n, made once per process under a mutex and never freed; execute them
 * with fftwf_execute_dft_r2c / _c2r on fftwf_malloc'd arrays (any thread). NULL on failure. */
fftwf_plan es_fft_r2c(int n); /* FFTW_ESTIMATE: ready at once */
fftwf_plan es_fft_c2r(int n);
fftwf_plan es_fft_r2c_measured(int n); /* FFTW_MEASURE: ~100 ms to make, faster for long jobs */
#define ES_FFT_MEASURE_FRAMES 200000  /* frames from which the measured plan pays */

struct es_stft {
    int n_fft, win_length, hop, center;
    es_pad_mode pad;
    float *window; /* n_fft, fftwf_malloc'd */
    fftwf_plan fwd, inv;
};

/* The analysis window of length n_fft: the periodic window of win_length samples, centred with
 * zeros as torch.stft pads it. w holds n_fft floats. */
void es_window_fill(es_window w, int win_length, int n_fft, float *out);

/* A signal seen through padding: samples 0..n-1, where only [lo, hi) are in memory at
 * x[i - lo]. n < 0 while streaming (the end is not known yet). */
typedef struct {
    const float *x;
    long lo, hi, n;
    es_pad_mode pad;
} es_signal;

/* dst[0..len) = signal at start..start+len (start may be negative: reflect or zeros). */
void es_gather(const es_signal *s, long start, int len, float *dst);

/* A filter bank in banded form: row m has weights w[off[m] .. off[m]+len[m]) for bins
 * first[m] .. first[m]+len[m]. */
typedef struct {
    int n_mels, n_freqs;
    int *first, *len, *off;
    float *w;
} es_bands;

int es_bands_from_dense(const float *fb, int n_mels, int n_freqs, es_bands *b);
void es_bands_free(es_bands *b);
/* out[m] = Σ_k fb[m][k]·p[k] */
void es_bands_apply(const es_bands *b, const float *p, float *out);
/* The Kaldi bank (torchaudio.compliance.kaldi.get_mel_banks, Nyquist column zero):
 * fb is (n_mels × (n_fft/2+1)). */
int es_kaldi_filterbank(int n_mels, int n_fft, int sample_rate, double low, double high, float *fb);

/* For an open file (rewound afterwards): *whole set when it is Ogg Vorbis that es_ogg_decode
 * must read — a stream in one audio page, without its last page, with junk after it, or
 * chained; 0 for every other file (libsndfile reads it). -1 for a Vorbis stream with no sound
 * (cut or damaged within its headers), message naming `path`. */
int es_ogg_probe(FILE *fp, const char *path, int *whole);
/* Every link of an Ogg Vorbis file, channels averaged, with torchaudio's length; *x malloc'd.
 * `path` names the file in messages. */
int es_ogg_decode(FILE *fp, const char *path, float **x, long *n, int *channels, int *rate);

/* torchaudio.functional.resample as a stream (sinc.c): push input, end it, pull output (the
 * caller stops at ceil(n·out/in) samples). */
typedef struct es_sinc es_sinc;
es_sinc *es_sinc_new(int in_rate, int out_rate);
void es_sinc_free(es_sinc *s);
int es_sinc_push(es_sinc *s, const float *x, long n);
void es_sinc_end(es_sinc *s);
long es_sinc_pull(es_sinc *s, float *out, long max); /* 0: needs input, or done */

/* The extractor (features.c), shared with the file streaming (stream.c). */
struct es_features {
    es_feature_config c;
    es_resolved r;
    int kaldi, pad;  /* pad: samples before frame 0 (n_fft/2 when centred) */
    int frame_len;   /* samples a frame reads: n_fft, or win for Kaldi (zero-padded to n_fft) */
    int bands_rows;  /* n_mels, or n_freqs for a linear spectrogram */
    float *window;   /* frame_len, fftwf_malloc'd */
    fftwf_plan fwd;
    es_bands bands;  /* empty when n_mels == 0 */
    float *dct;      /* n_mfcc × n_mels, or NULL */
};

/* Frames t0..t1 on OpenMP threads; value (t, band m) goes to out[(t − t0)·st + m·sm]. */
int es_frames_run(const es_features *f, const es_signal *sig, long t0, long t1, float *out,
                  size_t st, size_t sm);
/* m (bands_rows × frames, linear, malloc'd) → out: the log, then the DCT when asked. Takes m. */
int es_features_finish(const es_features *f, float *m, long frames, es_array *out);
/* The "too short for one frame" failure, naming `what`. */
int es_too_short(const es_features *f, long n, const char *what);

#endif
