/* audio: features against torchaudio fixtures (tests/fixtures/gen_audio.py), STFT / iSTFT /
 * Griffin–Lim, reading and writing sound, the configuration, and every bad input we promise a
 * clear error for. Scratch files go to build/. */
#include "tests/testutil.h"
#include "audio/es_audio.h"
#include <cJSON.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define AF(name) FIXTURE("audio/" name)
#define STEREO_WAV "tests/fixtures/audio/stereo16.wav"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* A test signal: two tones and a chirp, n samples at sr. */
static float *tones(long n, int sr)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) {
        double t = (double)i / sr;
        x[i] = (float)(0.4 * sin(2 * M_PI * 440 * t) + 0.2 * sin(2 * M_PI * (200 + 900 * t) * t) +
                       0.05 * sin(2 * M_PI * 3100 * t));
    }
    return x;
}

static void write_text(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, n, f);
    fclose(f);
}

/* The last error names `what` and says `why`. */
static void assert_error(const char *what, const char *why)
{
    const char *e = es_error();
    if (!strstr(e, what) || !strstr(e, why))
        fail_msg("error '%s' should name '%s' and say '%s'", e, what, why);
    assert_null(strchr(e, '\n'));
}

/* ------------------------------------------------------------------ against torchaudio */

static void features_match_torchaudio(void **state)
{
    char *text = slurp(AF("cases.json"));
    cJSON *cases = cJSON_Parse(text);
    assert_non_null(cases);
    es_array sig = load_fixture(AF("signal.npy"));
    cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        const char *kind = cJSON_GetObjectItem(c, "kind")->valuestring;
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
        char path[256];
        snprintf(path, sizeof path, AF("%s.npy"), name);
        es_array want = load_fixture(path), got;
        es_feature_config cfg;
        es_config_default(&cfg);
        if (es_config_from_json(&cfg, json, name) != 0)
            fail_msg("%s", es_error());
        es_features *f = es_features_new(&cfg);
        if (!f)
            fail_msg("%s: %s", name, es_error());
        assert_int_equal(es_features_compute(f, sig.data, (long)es_array_size(&sig), &got), 0);
        assert_int_equal(got.ndim, 2);
        if (got.dims[0] != want.dims[0] || got.dims[1] != want.dims[1])
            fail_msg("%s: shape %dx%d, torchaudio %dx%d", name, got.dims[0], got.dims[1],
                     want.dims[0], want.dims[1]);
        size_t n = es_array_size(&want);
        /* dB: 0.01 dB; linear: 1e-4 of the maximum; ln: 0.01 dB expressed in nepers */
        double err = strcmp(kind, "none") == 0 ? rel_err_max(got.data, want.data, n, 1e-30)
                                               : abs_err_max(got.data, want.data, n);
        double tol = !strcmp(kind, "none") ? 1e-4 : !strcmp(kind, "db") ? 0.01 : 0.01 * M_LN10 / 10;
        print_message("  %-38s %-4s %s error %.3g (tolerance %g)\n", name, kind,
                      strcmp(kind, "none") ? "abs" : "rel", err, tol);
        if (!(err <= tol))
            fail_msg("%s: error %g > %g", name, err, tol);
        es_features_free(f);
        es_array_free(&got), es_array_free(&want);
        free(json);
    }
    es_array_free(&sig);
    cJSON_Delete(cases);
    free(text);
}

static void filterbank_matches_torchaudio(void **state)
{
    es_array want = load_fixture(AF("fbank_slaney_257x40.npy"));
    float *fb = malloc(sizeof(float) * 40 * 257);
    assert_int_equal(es_mel_filterbank(257, 50, 7000, 40, 16000, ES_MEL_SLANEY, ES_MEL_NORM_SLANEY, fb), 0);
    assert_close_rel(fb, want.data, 40 * 257, 1e-5);
    free(fb);
    es_array_free(&want);
}

static void stft_and_istft_match_torch(void **state)
{
    es_array sig = load_fixture(AF("signal.npy"));
    es_array want = load_fixture(AF("stft_256_200_64.npy")); /* 129 × frames × 2 */
    es_stft *s = es_stft_new(256, 200, 64, ES_WINDOW_HANN, 1, ES_PAD_REFLECT);
    assert_non_null(s);
    long frames = es_stft_frames(s, 2000);
    assert_int_equal(frames, want.dims[1]);
    float *spec = malloc(sizeof(float) * es_array_size(&want));
    assert_int_equal(es_stft_forward(s, sig.data, 2000, spec), 0);
    assert_close_rel(spec, want.data, es_array_size(&want), 1e-5);
    /* torch.istft of the spectrogram with the bins from 48 up zeroed */
    for (int k = 48; k < 129; k++)
        memset(spec + (size_t)k * frames * 2, 0, sizeof(float) * 2 * frames);
    es_array y_want = load_fixture(AF("istft_masked.npy"));
    float y[2000];
    assert_int_equal(es_stft_inverse(s, spec, frames, 2000, y), 0);
    assert_close_rel(y, y_want.data, 2000, 1e-5);
    es_stft_free(s);
    free(spec);
    es_array_free(&sig), es_array_free(&want), es_array_free(&y_want);
}

/* ------------------------------------------------------------------ inverse */

static void istft_reconstructs(void **state)
{
    long n = 6000;
    float *x = tones(n, 16000), *y = malloc(sizeof(float) * n);
    int sizes[][2] = {{512, 512}, {400, 300}, {1024, 1024}};
    for (int c = 0; c < 3; c++) {
        int n_fft = sizes[c][0];
        es_stft *s = es_stft_new(n_fft, sizes[c][1], n_fft / 4, ES_WINDOW_HANN, 1, ES_PAD_REFLECT);
        long frames = es_stft_frames(s, n);
        float *spec = malloc(sizeof(float) * 2 * (n_fft / 2 + 1) * frames);
        assert_int_equal(es_stft_forward(s, x, n, spec), 0);
        assert_int_equal(es_stft_inverse(s, spec, frames, n, y), 0);
        double e = abs_err_max(y, x, (size_t)n);
        print_message("  istft(stft(x)) n_fft %d win %d hop %d: max error %.2g\n", n_fft,
                      sizes[c][1], n_fft / 4, e);
        assert_true(e <= 1e-5);
        free(spec);
        es_stft_free(s);
    }
    /* not centred, a Hann window is zero at the first sample: torch refuses (NOLA), so do we */
    es_stft *s = es_stft_new(512, 512, 128, ES_WINDOW_HANN, 0, ES_PAD_REFLECT);
    long frames = es_stft_frames(s, n);
    float *spec = malloc(sizeof(float) * 2 * 257 * frames);
    assert_int_equal(es_stft_forward(s, x, n, spec), 0);
    assert_int_equal(es_stft_inverse(s, spec, frames, 0, y), -1);
    assert_error("istft", "NOLA");
    free(spec), es_stft_free(s), free(x), free(y);
}

/* Spectral convergence ‖|STFT(y)| − M‖ / ‖M‖ */
static double convergence(es_stft *s, const float *mag, long frames, const float *y, long n)
{
    size_t m = (size_t)257 * frames;
    float *spec = malloc(sizeof(float) * 2 * m);
    es_stft_forward(s, y, n, spec);
    double num = 0, den = 0;
    for (size_t i = 0; i < m; i++) {
        double a = hypot(spec[2 * i], spec[2 * i + 1]);
        num += (a - mag[i]) * (a - mag[i]), den += (double)mag[i] * mag[i];
    }
    free(spec);
    return sqrt(num / den);
}

static void griffin_lim_converges(void **state)
{
    long n = 8000;
    float *x = tones(n, 16000), *y = malloc(sizeof(float) * n);
    es_stft *s = es_stft_new(512, 512, 128, ES_WINDOW_HANN, 1, ES_PAD_REFLECT);
    long frames = es_stft_frames(s, n);
    size_t m = (size_t)257 * frames;
    float *spec = malloc(sizeof(float) * 2 * m), *pow2 = malloc(sizeof(float) * m), *mag = malloc(sizeof(float) * m);
    es_stft_forward(s, x, n, spec);
    for (size_t i = 0; i < m; i++) {
        mag[i] = hypotf(spec[2 * i], spec[2 * i + 1]);
        pow2[i] = mag[i] * mag[i];
    }
    assert_int_equal(es_griffin_lim(s, pow2, frames, 2.0, 0, 0.99, n, y), 0);
    double c0 = convergence(s, mag, frames, y, n);
    assert_int_equal(es_griffin_lim(s, pow2, frames, 2.0, 32, 0.99, n, y), 0);
    double c32 = convergence(s, mag, frames, y, n);
    print_message("  griffin-lim spectral convergence: random phase %.3f, 32 iterations %.3f\n", c0, c32);
    assert_true(c32 < 0.2 && c32 < c0 / 3);
    assert_int_equal(es_griffin_lim(s, pow2, frames, 2.0, 4, 1.5, n, y), -1);
    free(x), free(y), free(spec), free(pow2), free(mag), es_stft_free(s);
}

/* ------------------------------------------------------------------ reading and writing */

static void wav_stereo_like_torchaudio(void **state)
{
    es_array want = load_fixture(AF("stereo16_mono.npy"));
    float *x;
    long n;
    int sr;
    assert_int_equal(es_audio_load(AF("stereo16.wav"), 0, &x, &n, &sr), 0);
    assert_int_equal(sr, 16000);
    assert_int_equal(n, want.dims[0]);
    assert_true(abs_err_max(x, want.data, (size_t)n) <= 1e-6);
    es_reader *r = es_reader_open(AF("stereo16.wav"), 0);
    assert_int_equal(es_reader_channels(r), 2);
    assert_int_equal(es_reader_length(r), 4000);
    es_reader_close(r);
    free(x);
    es_array_free(&want);
}

static void formats_round_trip(void **state)
{
    long n = 8000;
    float *x = tones(n, 16000);
    const char *paths[] = {"build/t_audio.wav", "build/t_audio.flac", "build/t_audio.ogg"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(es_audio_save(paths[i], x, n, 16000), 0);
        float *y;
        long m;
        int sr;
        if (es_audio_load(paths[i], 0, &y, &m, &sr) != 0)
            fail_msg("%s", es_error());
        assert_int_equal(sr, 16000);
        if (i < 2) { /* float WAV exact, 24-bit FLAC to its step */
            assert_int_equal(m, n);
            assert_true(abs_err_max(y, x, (size_t)n) <= (i ? 2e-7 : 0));
        } else { /* Vorbis is lossy: close in length and in waveform */
            assert_true(labs(m - n) <= 1024);
            double num = 0, den = 0;
            for (long k = 0; k < 7000; k++)
                num += (y[k] - x[k]) * (y[k] - x[k]), den += x[k] * x[k];
            print_message("  ogg/vorbis round trip: %ld samples, SNR %.1f dB\n", m, 10 * log10(den / num));
            assert_true(10 * log10(den / num) > 20);
        }
        free(y);
        unlink(paths[i]);
    }
    assert_int_equal(es_audio_save("build/t_audio.xyz", x, n, 16000), -1);
    assert_error("build/t_audio.xyz", "unknown sound format");
    free(x);
}

static void resamples_with_soxr(void **state)
{
    long n = 44100;
    float *x = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * 440 * i / 44100.0));
    assert_int_equal(es_audio_save("build/t_audio44.wav", x, n, 44100), 0);
    float *y;
    long m;
    assert_int_equal(es_audio_load("build/t_audio44.wav", 16000, &y, &m, NULL), 0);
    assert_int_equal(m, 16000); /* ceil(n · 16000 / 44100), as torchaudio's resample */
    double e = 0;
    for (long i = 100; i < m - 100; i++) /* away from the edges */
        e = fmax(e, fabs(y[i] - 0.5 * sin(2 * M_PI * 440 * i / 16000.0)));
    print_message("  44.1 -> 16 kHz sine: %ld samples, max error %.2g\n", m, e);
    assert_true(e < 1e-3);
    free(x), free(y);
    unlink("build/t_audio44.wav");
}

/* resample: torchaudio equals torchaudio.functional.resample, at odd rates too */
static void resamples_like_torchaudio(void **state)
{
    const int rates[] = {16000, 22050, 11127}; /* 11127: the per-phase taps (sinc.c) */
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, AF("mono44k_to%d.npy"), rates[i]);
        es_array want = load_fixture(path);
        es_reader *r = es_reader_open_resampler(AF("mono44k.wav"), rates[i], ES_RESAMPLE_TORCHAUDIO);
        assert_non_null(r);
        assert_int_equal(es_reader_length(r), want.dims[0]);
        float *y = malloc(sizeof(float) * (want.dims[0] + 100));
        long n = 0, got;
        while ((got = es_reader_read(r, y + n, 777)) > 0) /* odd chunks: the stream must not care */
            n += got;
        assert_int_equal(got, 0);
        assert_int_equal(n, want.dims[0]);
        double e = abs_err_max(y, want.data, (size_t)n);
        print_message("  torchaudio resample 44.1 -> %d Hz: max error %.2g\n", rates[i], e);
        assert_true(e <= 1e-5);
        es_reader_close(r);
        free(y);
        es_array_free(&want);
    }
}

/* The file, streamed chunk by chunk, gives exactly what the same samples in memory give. */
static void file_streams_like_memory(void **state)
{
    long n = 100 * 16000; /* 1.6 M samples: more than one stream batch (1 Mi samples) */
    float *x = tones(n, 16000);
    assert_int_equal(es_audio_save("build/t_audio_long.wav", x, n, 16000), 0);
    es_feature_config c;
    const char *configs[] = {
        "{\"sample_rate\": 16000, \"n_fft\": 512, \"win_length\": 512, \"hop_length\": 160}",
        "{\"sample_rate\": 16000, \"pad_mode\": \"constant\", \"n_mfcc\": 20}",
        "{\"sample_rate\": 16000, \"preset\": \"kaldi_fbank\", \"win_length\": 0, \"hop_length\": 0, "
        "\"n_fft\": 512, \"center\": false, \"n_mels\": 23, \"f_min\": 20, \"f_max\": 0, \"log\": \"ln\"}"};
    for (int i = 0; i < 3; i++) {
        es_config_default(&c);
        assert_int_equal(es_config_from_json(&c, configs[i], "test"), 0);
        es_features *f = es_features_new(&c);
        if (!f)
            fail_msg("%s", es_error());
        es_array a, b;
        assert_int_equal(es_features_compute(f, x, n, &a), 0);
        if (es_features_file(f, "build/t_audio_long.wav", &b) != 0)
            fail_msg("%s", es_error());
        assert_int_equal(a.dims[0], b.dims[0]);
        assert_int_equal(a.dims[1], b.dims[1]);
        assert_int_equal(a.dims[1], es_features_frames(f, n));
        assert_true(abs_err_max(a.data, b.data, es_array_size(&a)) == 0);
        es_array_free(&a), es_array_free(&b);
        es_features_free(f);
    }
    /* resampled on the way (16 -> 22.05 kHz): the stream equals loading first (with the
     * resampler es_audio_load uses) */
    es_config_default(&c);
    c.resample = ES_RESAMPLE_SOXR;
    es_features *f = es_features_new(&c);
    float *y;
    long m;
    es_array a, b;
    assert_int_equal(es_audio_load("build/t_audio_long.wav", 22050, &y, &m, NULL), 0);
    assert_int_equal(m, (n * 22050 + 15999) / 16000);
    assert_int_equal(es_features_compute(f, y, m, &a), 0);
    assert_int_equal(es_features_file(f, "build/t_audio_long.wav", &b), 0);
    assert_int_equal(a.dims[1], b.dims[1]);
    assert_true(abs_err_max(a.data, b.data, es_array_size(&a)) <= 1e-4);
    es_array_free(&a), es_array_free(&b), es_features_free(f), free(y);
    unlink("build/t_audio_long.wav");
    free(x);
}

/* ------------------------------------------------------------------ the features verb */

static char earsight[512]; /* the binary beside this test's folder: build/earsight */

/* Runs the binary with args; returns its exit status, stderr in err. */
static int run_verb(const char *args, char *err, size_t n)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s features %s >/dev/null 2>build/t_verb.err", earsight, args);
    int st = run_status(cmd);
    read_text("build/t_verb.err", err, n);
    unlink("build/t_verb.err");
    return st;
}

static void features_verb(void **state)
{
    if (access(earsight, X_OK) != 0)
        fail_msg("no binary at %s (make builds it before the tests)", earsight);
    char err[1024];
    const char *ok = STEREO_WAV " --sr 16000 --n-fft 512 --hop 128 --mels 40 --fmin 0 --json -o build/t_verb.npy";
    assert_int_equal(run_verb(ok, err, sizeof err), 0);
    es_array a = load_fixture("build/t_verb.npy");
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.dims[0], 40);
    assert_int_equal(a.dims[1], 4000 / 128 + 1);
    es_array_free(&a);
    unlink("build/t_verb.npy");
    /* runtime errors: exit 1, one line naming the file, no output */
    write_text("build/t_verb.ogg", "not a sound\n", 12);
    assert_int_equal(run_verb("build/t_verb.ogg -o build/t_verb.npy", err, sizeof err), 1);
    assert_one_line(err, "earsight: build/t_verb.ogg: ");
    assert_int_not_equal(access("build/t_verb.npy", F_OK), 0);
    unlink("build/t_verb.ogg");
    /* usage errors: exit 2 */
    assert_int_equal(run_verb(STEREO_WAV " --sr 16000 --fmax 9000 -o build/t_verb.npy", err, sizeof err), 2);
    assert_one_line(err, "earsight: f_max 9000 Hz is above the Nyquist");
    assert_int_equal(run_verb(STEREO_WAV, err, sizeof err), 2);
    assert_one_line(err, "earsight: no output file");
    assert_int_equal(run_verb(STEREO_WAV " --bogus 1 -o x.npy", err, sizeof err), 2);
    assert_one_line(err, "earsight: unknown option '--bogus'");
    assert_int_equal(run_verb(STEREO_WAV " --config '{\"n_fft\": -1' -o x.npy", err, sizeof err), 2);
    assert_one_line(err, "earsight: --config: not valid JSON");
    assert_int_not_equal(access("build/t_verb.npy", F_OK), 0);
}

/* ------------------------------------------------------------------ configuration */

static void config_json_round_trip(void **state)
{
    es_feature_config a, b;
    es_config_default(&a);
    assert_int_equal(es_config_validate(&a), 0);
    a.mel_scale = ES_MEL_HTK, a.f_max = 7999.5, a.center = 0, a.n_mfcc = 20, a.layout = ES_LAYOUT_FRAMES_MELS;
    char *j1 = es_config_to_json(&a);
    es_config_default(&b);
    assert_int_equal(es_config_from_json(&b, j1, "j1"), 0);
    char *j2 = es_config_to_json(&b);
    assert_string_equal(j1, j2);
    assert_int_equal(b.mel_scale, ES_MEL_HTK);
    assert_true(b.f_max == 7999.5 && b.center == 0 && b.n_mfcc == 20);
    assert_non_null(strstr(j1, "\"layout\": \"frames_mels\""));
    /* null means "none" for top_db and f_max, as torchaudio's None */
    assert_int_equal(es_config_from_json(&b, "{\"top_db\": null, \"f_max\": null}", "x"), 0);
    assert_true(b.top_db == 0 && b.f_max == 0);
    free(j1), free(j2);
    /* a real beyond int's range is written as it is (its cast to int was UB: fuzz_config) */
    assert_int_equal(es_config_from_json(&b, "{\"power\": 7.5e62}", "x"), 0);
    j1 = es_config_to_json(&b);
    assert_non_null(strstr(j1, "\"power\": 7.5e+62"));
    free(j1);
}

static void config_errors(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    static const char *const bad[][2] = {
        {"{\"n_fft\": 1024,", "not valid JSON"},
        {"{\"nfft\": 1024}", "unknown key 'nfft'"},
        {"{\"n_fft\": \"big\"}", "n_fft must be a number"},
        {"{\"hop_length\": 31.5}", "hop_length must be an integer"},
        {"{\"mel_scale\": \"bark\"}", "mel_scale must be htk|slaney, not 'bark'"},
        {"[1, 2]", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(es_config_from_json(&c, bad[i][0], "m.json"), -1);
        assert_error("m.json", bad[i][1]);
    }
    assert_int_equal(es_config_from_arg(&c, "build/no-such-config.json"), -1);
    assert_error("build/no-such-config.json", "cannot read");
    /* a failed parse leaves the configuration as it was */
    es_feature_config d;
    es_config_default(&d);
    assert_int_equal(es_config_from_json(&c, "{\"n_fft\": 2048, \"window\": 7}", "m.json"), -1);
    char *jc = es_config_to_json(&c), *jd = es_config_to_json(&d);
    assert_string_equal(jc, jd);
    free(jc), free(jd);
}

/* Applies the feature flag called `name`; -2 when there is none. */
static int flag(es_feature_config *c, const char *name, const char *value)
{
    int k = es_config_flag_find(name);
    return k < 0 ? -2 : es_config_flag_apply(c, k, value);
}

static void config_flags(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    assert_int_equal(flag(&c, "n-fft", "2048"), 0);
    assert_int_equal(c.win_length, 2048); /* it was n_fft: it follows */
    assert_int_equal(flag(&c, "win-length", "1500"), 0);
    assert_int_equal(flag(&c, "n-fft", "4096"), 0);
    assert_int_equal(c.win_length, 1500); /* set on its own: it stays */
    assert_int_equal(flag(&c, "n-fft", "2048"), 0);
    assert_int_equal(flag(&c, "fmax", "8000"), 0);
    assert_int_equal(flag(&c, "no-center", NULL), 0);
    assert_int_equal(flag(&c, "mel-scale", "htk"), 0);
    assert_int_equal(flag(&c, "sr", "16000"), 0);
    assert_int_equal(flag(&c, "mfcc", "13"), 0);
    assert_true(c.n_fft == 2048 && c.f_max == 8000 && !c.center && c.mel_scale == ES_MEL_HTK &&
                c.sample_rate == 16000 && c.n_mfcc == 13);
    assert_int_equal(flag(&c, "sample-rate", "8000"), 0); /* every key as --key-name too */
    assert_int_equal(c.sample_rate, 8000);
    assert_int_equal(flag(&c, "output", "x"), -2);
    assert_int_equal(flag(&c, "hop", "ten"), -1);
    assert_error("--hop", "must be a number");
    assert_int_equal(flag(&c, "mels", NULL), -1);
    assert_error("--mels", "needs a value");
    assert_int_equal(flag(&c, "window", "kaiser"), -1);
    assert_error("--window", "hann|hamming");
    assert_int_equal(flag(&c, "kaldi", NULL), 0);
    assert_int_equal(c.preset, ES_PRESET_KALDI_FBANK);
    assert_int_equal(es_config_validate(&c), 0);
    /* the table a CLI builds its flags and help from: every key has a flag, names are unique */
    const es_config_flag_info *f, *g;
    int listed = 0;
    for (int k = 0; (f = es_config_flag_at(k)); k++) {
        listed += f->help != NULL;
        assert_true(!f->key || es_config_set(&c, f->key, f->choices ? f->choices[0] : "1") == 0);
        for (int j = 0; j < k; j++)
            assert_true(strcmp((g = es_config_flag_at(j))->name, f->name) != 0);
    }
    assert_true(listed >= 20);
}

/* ------------------------------------------------------------------ bad inputs */

static void bad_configurations(void **state)
{
    /* each over the defaults (22.05 kHz, n_fft 1024, 80 mels): what es_features_new refuses */
    static const char *const bad[][3] = {
        {"{\"f_max\": 12000}", "f_max 12000", "Nyquist"}, /* above 11025 */
        {"{\"n_fft\": 256, \"win_length\": 256, \"n_mels\": 200}", "n_mels 200", "129 frequency bins"},
        {"{\"win_length\": 2048}", "win_length 2048", "n_fft 1024"},
        {"{\"n_mfcc\": 100}", "n_mfcc 100", "n_mels 80"},
        {"{\"power\": 0}", "power", "> 0"},
        {"{\"f_min\": 20000}", "f_min 20000", "Nyquist"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        es_feature_config c;
        es_config_default(&c);
        assert_int_equal(es_config_from_json(&c, bad[i][0], "case"), 0);
        assert_null(es_features_new(&c));
        assert_error(bad[i][1], bad[i][2]);
    }
}

static void bad_signals(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    es_features *f = es_features_new(&c);
    es_array a;
    float x[600] = {0};
    assert_int_equal(es_features_compute(f, x, 0, &a), -1);
    assert_error("signal", "no samples");
    assert_int_equal(es_features_compute(f, x, 400, &a), -1); /* reflect needs > 512 */
    assert_error("signal", "too short");
    assert_null(a.data);
    x[123] = NAN;
    assert_int_equal(es_features_compute(f, x, 600, &a), -1);
    assert_error("sample 123", "not a number");
    x[123] = 0;
    assert_int_equal(es_features_compute(f, x, 600, &a), 0); /* silence is fine: all at the floor */
    assert_int_equal(a.dims[1], 2);
    for (size_t i = 0; i < es_array_size(&a); i++)
        assert_true(a.data[i] == -100.0f);
    es_array_free(&a);
    es_features_free(f);
}

static void bad_files(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    es_features *f = es_features_new(&c);
    es_array a;
    float *x;
    long n;
    /* missing, empty, text */
    assert_int_equal(es_features_file(f, "build/no-such.wav", &a), -1);
    assert_error("build/no-such.wav", "No such file");
    write_text("build/t_empty.wav", "", 0);
    assert_int_equal(es_features_file(f, "build/t_empty.wav", &a), -1);
    assert_error("build/t_empty.wav", "cannot read as audio");
    write_text("build/t_text.ogg", "this is not a sound, just text\n", 31);
    assert_int_equal(es_audio_load("build/t_text.ogg", 0, &x, &n, NULL), -1);
    assert_error("build/t_text.ogg", "cannot read as audio");
    /* a WAV with no samples: the header, its sizes set to say so */
    char *wav = slurp(AF("stereo16.wav"));
    char head[44];
    memcpy(head, wav, 44);
    memcpy(head + 4, "\x24\0\0\0", 4);
    memcpy(head + 40, "\0\0\0\0", 4);
    write_text("build/t_header.wav", head, 44);
    assert_int_equal(es_features_file(f, "build/t_header.wav", &a), -1);
    assert_error("build/t_header.wav", "no audio samples");
    /* a WAV cut short */
    write_text("build/t_cut.wav", wav, 1000);
    assert_int_equal(es_features_file(f, "build/t_cut.wav", &a), -1);
    assert_error("build/t_cut.wav", "truncated");
    free(wav);
    /* FLAC cut short (an Ogg cut short is read as far as it goes: ogg_streams) */
    float *t = tones(32000, 16000);
    const char *cut[] = {"build/t_cut.flac"};
    for (int i = 0; i < 1; i++) {
        assert_int_equal(es_audio_save(cut[i], t, 32000, 16000), 0);
        char *bytes = slurp(cut[i]);
        FILE *fp = fopen(cut[i], "rb");
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fclose(fp);
        write_text(cut[i], bytes, (size_t)size / 2);
        free(bytes);
        assert_int_equal(es_audio_load(cut[i], 0, &x, &n, NULL), -1);
        /* libsndfile may notice already when opening ("file is malformed") */
        assert_error(cut[i], strstr(es_error(), "malformed") ? "malformed" : "truncated");
        unlink(cut[i]);
    }
    /* NaN samples in a float WAV: the reader says which */
    t[5000] = NAN;
    assert_int_equal(es_audio_save("build/t_nan.wav", t, 32000, 16000), 0);
    assert_int_equal(es_features_file(f, "build/t_nan.wav", &a), -1);
    assert_error("build/t_nan.wav", "sample 5000 is not a number");
    /* a sound too short for one frame */
    assert_int_equal(es_audio_save("build/t_short.wav", t, 100, 16000), 0);
    es_features *g = es_features_new(&c); /* 22.05 kHz: resampled from 16 kHz on the way */
    assert_int_equal(es_features_file(g, "build/t_short.wav", &a), -1);
    assert_error("build/t_short.wav", "too short");
    assert_null(a.data);
    es_features_free(g);
    free(t);
    const char *junk[] = {"build/t_empty.wav", "build/t_text.ogg", "build/t_header.wav",
                          "build/t_cut.wav", "build/t_nan.wav", "build/t_short.wav"};
    for (int i = 0; i < 6; i++)
        unlink(junk[i]);
    es_features_free(f);
}

/* Ogg files libsndfile refuses or misreads, read as FFmpeg (torchaudio) reads them: a stream
 * without its last page (cut), junk after the last page, chained links (`cat a.ogg b.ogg`);
 * and any file through a pipe, which can be opened only once. */
static long file_size(const char *path)
{
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    return size;
}

static void ogg_streams(void **s)
{
    float *t = tones(160000, 16000), *x, *y; /* 10 s: many pages */
    long n, m;
    assert_int_equal(es_audio_save("build/t_ogg.ogg", t, 160000, 16000), 0);
    assert_int_equal(es_audio_load("build/t_ogg.ogg", 0, &x, &n, NULL), 0);
    assert_int_equal(n, 160000);
    char *bytes = slurp("build/t_ogg.ogg");
    long size = file_size("build/t_ogg.ogg");
    /* cut in half: no last page; what is there decodes, equal to the whole file's start */
    write_text("build/t_ogg_cut.ogg", bytes, (size_t)size / 2);
    assert_int_equal(es_audio_load("build/t_ogg_cut.ogg", 0, &y, &m, NULL), 0);
    assert_true(m > 40000 && m < 120000);
    for (long i = 0; i < m - 2048; i++) /* the cut page's last block is not overlapped yet */
        assert_true(fabsf(y[i] - x[i]) < 1e-6f);
    free(y);
    /* junk after the last page: the same samples as the clean file */
    char *junk = malloc(2 * (size_t)size + 3000);
    memcpy(junk, bytes, (size_t)size);
    for (int i = 0; i < 3000; i++)
        junk[size + i] = (char)(i * 7919 % 251);
    write_text("build/t_ogg_junk.ogg", junk, (size_t)size + 3000);
    assert_int_equal(es_audio_load("build/t_ogg_junk.ogg", 0, &y, &m, NULL), 0);
    assert_int_equal(m, n);
    assert_memory_equal(y, x, sizeof(float) * (size_t)n);
    free(y);
    /* two links: both, one after the other */
    memcpy(junk + size, bytes, (size_t)size);
    write_text("build/t_ogg_chain.ogg", junk, 2 * (size_t)size);
    assert_int_equal(es_audio_load("build/t_ogg_chain.ogg", 0, &y, &m, NULL), 0);
    assert_int_equal(m, 2 * n);
    assert_memory_equal(y, x, sizeof(float) * (size_t)n);
    assert_memory_equal(y + n, x, sizeof(float) * (size_t)n);
    free(y);
    /* through a named pipe: the same samples */
    unlink("build/t_fifo.ogg");
    assert_int_equal(mkfifo("build/t_fifo.ogg", 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *w = fopen("build/t_fifo.ogg", "wb");
        fwrite(bytes, 1, (size_t)size, w);
        fclose(w);
        free(x), free(junk), free(bytes), free(t); /* the child's copies: valgrind checks it too */
        _exit(0);
    }
    assert_int_equal(es_audio_load("build/t_fifo.ogg", 0, &y, &m, NULL), 0);
    waitpid(pid, NULL, 0);
    assert_int_equal(m, n);
    assert_memory_equal(y, x, sizeof(float) * (size_t)n);
    free(y), free(x), free(junk), free(bytes), free(t);
    unlink("build/t_fifo.ogg"), unlink("build/t_ogg.ogg"), unlink("build/t_ogg_cut.ogg");
    unlink("build/t_ogg_junk.ogg"), unlink("build/t_ogg_chain.ogg");
}

int main(int argc, char **argv)
{
    /* argv[0] is B/tests/test_audio: the binary under test is B/earsight */
    snprintf(earsight, sizeof earsight, "%s", argv[0]);
    char *slash = strrchr(earsight, '/');
    if (slash)
        *slash = 0;
    slash = strrchr(earsight, '/');
    snprintf(slash ? slash + 1 : earsight, sizeof earsight - (size_t)(slash ? slash + 1 - earsight : 0), "earsight");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(features_match_torchaudio),
        cmocka_unit_test(filterbank_matches_torchaudio),
        cmocka_unit_test(stft_and_istft_match_torch),
        cmocka_unit_test(istft_reconstructs),
        cmocka_unit_test(griffin_lim_converges),
        cmocka_unit_test(wav_stereo_like_torchaudio),
        cmocka_unit_test(formats_round_trip),
        cmocka_unit_test(resamples_with_soxr),
        cmocka_unit_test(resamples_like_torchaudio),
        cmocka_unit_test(file_streams_like_memory),
        cmocka_unit_test(features_verb),
        cmocka_unit_test(config_json_round_trip),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(config_flags),
        cmocka_unit_test(bad_configurations),
        cmocka_unit_test(bad_signals),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(ogg_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
