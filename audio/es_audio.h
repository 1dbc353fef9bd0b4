/* earsight audio: sound files in, features out — and back to sound.
 *
 *   read      es_reader_* streams any file libsndfile reads (WAV, FLAC, OGG/Vorbis, …) as mono
 *             float samples at the rate you ask (downmix = mean of channels, resampling by soxr).
 *   configure es_feature_config is DESIGN.md §4: defaults, JSON in/out, command-line flags.
 *   extract   es_features_* turns a signal or a file into a (rows × frames) float matrix:
 *             STFT (FFTW) → power → mel filter bank → dB / ln → optional MFCC, or the Kaldi fbank.
 *   invert    es_stft_* gives the complex STFT and its inverse (torch.stft / torch.istft), and
 *             es_griffin_lim rebuilds a sound from magnitudes alone.
 *
 * Conventions: every function that can fail returns -1 or NULL and sets es_error() to one line
 * naming the file when there is one. Arrays are float32, C order; a spectrum is stored
 * [freq][frame][re, im] (torch.view_as_real(torch.stft(...)) order). Handles are opaque; after
 * creation they are read-only, so one handle may be used by several threads at once. Hot loops run
 * on OpenMP threads (OMP_NUM_THREADS); results do not depend on the thread count. */
#ifndef ES_AUDIO_H
#define ES_AUDIO_H
#include "base/es_base.h"

/* ---------------------------------------------------------------- reading and writing sound */

typedef struct es_reader es_reader;

/* Opens `path` for reading as mono at `sample_rate` Hz (0 keeps the file's own rate).
 * Fails on missing, empty, non-audio, zero-length and cut-short files. Samples and lengths are
 * torchaudio.load's (Ogg Vorbis included). Close with es_reader_close. */
es_reader *es_reader_open(const char *path, int sample_rate);
/* Reads up to `max` samples into buf. Returns the count, 0 at the end, -1 on a truncated or
 * corrupt file or a NaN/infinite sample. */
long es_reader_read(es_reader *r, float *buf, long max);
/* The same with a choice of resampler: soxr (high quality, es_reader_open's) or torchaudio's
 * (torchaudio.functional.resample's windowed sinc, to equal a pipeline that used it; the
 * feature configuration's default). */
typedef enum { ES_RESAMPLE_SOXR, ES_RESAMPLE_TORCHAUDIO } es_resampler;
es_reader *es_reader_open_resampler(const char *path, int sample_rate, es_resampler how);
int es_reader_rate(const es_reader *r);      /* rate of the samples es_reader_read gives */
int es_reader_file_rate(const es_reader *r); /* rate stored in the file */
int es_reader_channels(const es_reader *r);  /* channels in the file (before the downmix) */
/* Samples es_reader_read gives in all; resampled: ceil(n · rate / file rate), as torchaudio's. */
long es_reader_length(const es_reader *r);
const char *es_reader_path(const es_reader *r);
void es_reader_close(es_reader *r);

/* The whole file at once: *x (malloc'd, the caller frees) holds *n mono samples at `sample_rate`
 * (0: the file's rate, returned in *rate_out when it is not NULL). */
int es_audio_load(const char *path, int sample_rate, float **x, long *n, int *rate_out);
/* Writes mono samples atomically; the format follows the extension: .wav (float32), .flac (24 bit,
 * clipped to ±1), .ogg (Vorbis). */
int es_audio_save(const char *path, const float *x, long n, int sample_rate);

/* ---------------------------------------------------------------- feature configuration (§4) */

typedef enum { ES_WINDOW_HANN, ES_WINDOW_HAMMING } es_window;          /* periodic, as torch */
typedef enum { ES_PAD_REFLECT, ES_PAD_CONSTANT } es_pad_mode;         /* center padding */
/* es_mel_scale (HTK, Slaney) is base's: the same scale draws viz's mel axes. */
typedef enum { ES_MEL_NORM_NONE, ES_MEL_NORM_SLANEY } es_mel_norm;
typedef enum { ES_LOG_DB, ES_LOG_LN, ES_LOG_NONE } es_log;
typedef enum { ES_LAYOUT_MELS_FRAMES, ES_LAYOUT_FRAMES_MELS } es_layout;
typedef enum { ES_FIT_PAD_REPEAT, ES_FIT_PAD_ZERO } es_fit;
typedef enum { ES_STANDARDIZE_NONE, ES_STANDARDIZE_GLOBAL, ES_STANDARDIZE_PER_BAND } es_standardize;
typedef enum { ES_PRESET_NONE, ES_PRESET_KALDI_FBANK } es_preset;

typedef struct {
    int sample_rate, n_fft;
    int win_length, hop_length; /* 0: n_fft and win_length / 2, torchaudio's defaults. A
                                 * win_length equal to n_fft follows n_fft when only n_fft is
                                 * set (JSON without win_length, --n-fft) */
    es_window window;
    int center; /* 1: frames are centred on t·hop (signal padded by n_fft/2 each side) */
    es_pad_mode pad_mode;
    int n_mels; /* 0: no filter bank, the (n_fft/2+1)-bin spectrogram itself; more than
                 * n_fft/2+1 is refused (fewer may leave empty filters, as torchaudio allows) */
    double f_min, f_max; /* Hz; f_max <= 0 means Nyquist + f_max (sample_rate / 2 when 0) */
    es_mel_scale mel_scale;
    es_mel_norm mel_norm;
    double power;  /* 1 magnitude, 2 power (any > 0) */
    es_log log;    /* db: 10·log10(max(x, amin)), clipped to max − top_db; ln: ln(x + amin) */
    double top_db; /* <= 0: no clipping */
    double amin;
    int n_mfcc;    /* > 0: DCT-II (orthonormal) of the log mel rows, n_mfcc rows kept */
    /* How a model takes the matrix (used by the model verbs; the features verb ignores them). */
    es_layout layout;
    int frames; /* > 0: the model's time length */
    es_fit fit;
    es_standardize standardize;
    /* kaldi_fbank: torchaudio.compliance.kaldi.fbank(dither=0) — povey window, pre-emphasis
     * 0.97, DC removal, snip edges, power, Kaldi mel (1127·ln), ln(max(x, FLT_EPSILON)).
     * It uses sample_rate, win_length/hop_length (0: 25 ms / 10 ms), n_mels, f_min, f_max and
     * log (ln or none); n_fft is the next power of two >= win_length. */
    es_preset preset;
    es_resampler resample; /* how a file at another rate reaches sample_rate ("torchaudio": the
                            * numbers torchaudio.functional.resample gives; "soxr": soxr HQ) */
} es_feature_config;

/* The §4 example: 22.05 kHz, n_fft 1024, hop 315, 80 slaney mels from 50 Hz to Nyquist
 * (f_max 0, which is 11025 Hz at 22.05 kHz and follows --sr), power, dB with top_db 80. */
void es_config_default(es_feature_config *c);
/* 0 when the configuration can be computed; otherwise -1 and a message naming the field. */
int es_config_validate(const es_feature_config *c);
/* The sizes a configuration implies, its zeros replaced by what they stand for (Kaldi's n_fft
 * is the power of two its window needs; f_max 0 is Nyquist). One source for every caller that
 * places frames in time or bands in Hz. */
typedef struct {
    int n_fft, win, hop, n_freqs;
    double f_max;
} es_resolved;
/* Validates c (es_config_validate) and fills r: 0, or -1 with a message naming the field. */
int es_config_resolve(const es_feature_config *c, es_resolved *r);
/* Updates *c from a JSON object (keys as §4; absent keys keep their value; unknown keys, wrong
 * types and unknown names fail; null means 0 for f_max and top_db). `what` names the source in
 * messages (a path, "--config"). Consistency is checked by es_config_validate /
 * es_features_new, after all sources (JSON, then flags) are applied. */
int es_config_from_json(es_feature_config *c, const char *json, const char *what);
/* Reads `arg` as a JSON file, or as inline JSON when it starts with '{'. */
int es_config_from_arg(es_feature_config *c, const char *arg);
/* The configuration as one-line JSON, every key present, zeros resolved (f_max 0 written as
 * sample_rate / 2, win_length 0 as n_fft …) when it is valid; malloc'd, the caller frees. */
char *es_config_to_json(const es_feature_config *c);
/* Sets one key from text ("n_fft", "1024"); keys as in the JSON. Does not validate. */
int es_config_set(es_feature_config *c, const char *key, const char *value);
/* One command-line flag of §4 (`--n-fft 1024`, `--no-center`): what a CLI needs to declare,
 * parse and list it. Strings are static. */
typedef struct {
    const char *name;    /* the flag without "--": "n-fft" */
    const char *key;     /* the key it sets ("n_fft"); NULL for --no-center and --kaldi */
    const char *metavar; /* what the value looks like ("N"); NULL for a switch or a name list */
    const char *help;    /* one line ('\n' continues it); NULL: another spelling, not listed */
    const char *const *choices; /* the accepted names, NULL-terminated; NULL for a number */
    int preset;          /* sets many keys: a CLI applies it before the other flags */
} es_config_flag_info;
/* Flag k = 0, 1, … in the order a help text lists them; NULL past the last. A flag takes a
 * value when it has a metavar or choices. */
const es_config_flag_info *es_config_flag_at(int k);
/* The k of the flag called `name` ("n-fft", without "--"), or -1. */
int es_config_flag_find(const char *name);
/* Applies flag k with its value (NULL for a switch) to c. --n-fft drags a win_length equal to
 * the old n_fft along. Does not validate. 0, or -1 with es_error() naming the flag. */
int es_config_flag_apply(es_feature_config *c, int k, const char *value);

/* ---------------------------------------------------------------- feature extraction */

typedef struct es_features es_features;

/* Validates `c`, makes the FFT plans, window and filter bank. NULL on failure. */
es_features *es_features_new(const es_feature_config *c);
void es_features_free(es_features *f);
const es_feature_config *es_features_config(const es_features *f);
int es_features_rows(const es_features *f); /* n_mfcc, else n_mels, else n_fft/2+1 */
/* Frames for a signal of n samples (0 when too short to give one). */
long es_features_frames(const es_features *f, long n);
/* Features of x[0..n) at the configured rate: out becomes (rows × frames), data malloc'd. */
int es_features_compute(const es_features *f, const float *x, long n, es_array *out);
/* The same for a file, streamed: decoded, downmixed and resampled chunk by chunk, so memory
 * holds the output, not the sound. */
int es_features_file(const es_features *f, const char *path, es_array *out);

/* ---------------------------------------------------------------- building blocks */

/* torchaudio.functional.melscale_fbanks transposed: fb is (n_mels × n_freqs), n_freqs = n_fft/2+1. */
int es_mel_filterbank(int n_freqs, double f_min, double f_max, int n_mels, int sample_rate,
                      es_mel_scale scale, es_mel_norm norm, float *fb);

/* A complex STFT, as torch.stft(return_complex=True, onesided, normalized=False). */
typedef struct es_stft es_stft;
es_stft *es_stft_new(int n_fft, int win_length, int hop_length, es_window w, int center,
                     es_pad_mode pad);
void es_stft_free(es_stft *s);
long es_stft_frames(const es_stft *s, long n); /* frames for n samples (0: too short) */
/* spec: (n_fft/2+1) × frames × 2 floats, frames = es_stft_frames(s, n). */
int es_stft_forward(const es_stft *s, const float *x, long n, float *spec);
/* torch.istft: overlap-add divided by the summed squared window. y holds `length` samples
 * (<= 0: es_stft_inverse_length, i.e. hop·(frames−1) when centred, + n_fft when not). */
int es_stft_inverse(const es_stft *s, const float *spec, long frames, long length, float *y);
long es_stft_inverse_length(const es_stft *s, long frames); /* the default `length` */
/* Griffin–Lim (torchaudio.functional.griffinlim with a seeded random start): mag is
 * (n_fft/2+1) × frames of |X|^power; writes `length` samples (<= 0: default) to y. */
int es_griffin_lim(const es_stft *s, const float *mag, long frames, double power, int n_iter,
                   double momentum, long length, float *y);

#endif
