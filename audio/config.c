/* The feature configuration of DESIGN.md §4: defaults, JSON in and out (cJSON), one key or
 * command-line flag at a time, and the consistency checks. One table describes every key. */
#include "audio/internal.h"
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_NUM, T_BOOL, T_ENUM } kind;
/* A key: its JSON name (flag.key), type, place, and its command-line flag (flag.name, metavar,
 * help; flag.choices: an enum's JSON names, in enum order). */
typedef struct {
    es_config_flag_info flag;
    kind type;
    size_t off;
    int nullable; /* JSON null reads as 0 */
} field;

static const char *const window_names[] = {"hann", "hamming", NULL};
static const char *const pad_names[] = {"reflect", "constant", NULL};
static const char *const scale_names[] = {"htk", "slaney", NULL};
static const char *const norm_names[] = {"none", "slaney", NULL};
static const char *const log_names[] = {"db", "ln", "none", NULL};
static const char *const layout_names[] = {"mels_frames", "frames_mels", NULL};
static const char *const fit_names[] = {"pad_repeat", "pad_zero", NULL};
static const char *const std_names[] = {"none", "global", "per_band", NULL};
static const char *const preset_names[] = {"none", "kaldi_fbank", NULL};
static const char *const resample_names[] = {"soxr", "torchaudio", NULL};
static const char *const bool_names[] = {"false", "true", NULL};

/* The keys in JSON order; a flag without help is accepted but not listed. */
#define F(k, t, flag, metavar, names, help, ...)                                                   \
    {{flag, #k, metavar, help, names}, t, offsetof(es_feature_config, k), __VA_ARGS__}
static const field fields[] = {
    F(sample_rate, T_INT, "sr", "HZ", NULL, "sample rate the sound is resampled to (22050)"),
    F(n_fft, T_INT, "n-fft", "N", NULL, "FFT size (1024)"),
    F(win_length, T_INT, "win-length", "N", NULL, "window length <= n_fft, zero-padded to n_fft (n_fft)"),
    F(hop_length, T_INT, "hop", "N", NULL, "hop between frames in samples (315)"),
    F(window, T_ENUM, "window", NULL, window_names, "the analysis window (hann)"),
    F(center, T_BOOL, "center", NULL, bool_names, NULL),
    F(pad_mode, T_ENUM, "pad-mode", NULL, pad_names, "padding of the centred frames (reflect)"),
    F(n_mels, T_INT, "mels", "N", NULL, "mel bands (80; 0: the linear spectrogram, n_fft/2+1 rows)"),
    F(f_min, T_NUM, "fmin", "HZ", NULL, "lowest band edge (50)"),
    F(f_max, T_NUM, "fmax", "HZ", NULL, "highest band edge (0 = Nyquist)", 1),
    F(mel_scale, T_ENUM, "mel-scale", NULL, scale_names, "the mel scale (slaney)"),
    F(mel_norm, T_ENUM, "mel-norm", NULL, norm_names, "filter normalisation (slaney)"),
    F(power, T_NUM, "power", "P", NULL, "1 magnitude, 2 power (2)"),
    F(log, T_ENUM, "log", NULL, log_names, "10*log10(max(x,amin)) or ln(x+amin) (db)"),
    F(top_db, T_NUM, "top-db", "DB", NULL, "dB floor below the item's maximum, 0 = none (80)", 1),
    F(amin, T_NUM, "amin", "A", NULL, "the floor of the log (1e-10)"),
    F(n_mfcc, T_INT, "mfcc", "N", NULL, "N MFCCs (DCT-II, orthonormal) of the log mel bands"),
    F(layout, T_ENUM, "layout", NULL, layout_names, "how (mels × frames) becomes the model's input"),
    F(frames, T_INT, "frames", "N", NULL, "the model's time length, 0 = any (0)"),
    F(fit, T_ENUM, "fit", NULL, fit_names, "a shorter sound to `frames` (pad_repeat)"),
    F(standardize, T_ENUM, "standardize", NULL, std_names, "standardise the features (none)"),
    F(preset, T_ENUM, "preset", NULL, preset_names, NULL),
    F(resample, T_ENUM, "resample", NULL, resample_names,
      "torchaudio.functional.resample's filter (default: the same\n"
      "numbers as torchaudio) or soxr's high-quality resampler"),
};
#define N_FIELDS (int)(sizeof fields / sizeof fields[0])

void es_config_default(es_feature_config *c)
{
    *c = (es_feature_config){
        .sample_rate = 22050, .n_fft = 1024, .win_length = 1024, .hop_length = 315,
        .window = ES_WINDOW_HANN, .center = 1, .pad_mode = ES_PAD_REFLECT, .n_mels = 80,
        .f_min = 50, .f_max = 0, .mel_scale = ES_MEL_SLANEY, .mel_norm = ES_MEL_NORM_SLANEY,
        .power = 2, .log = ES_LOG_DB, .top_db = 80, .amin = 1e-10, .n_mfcc = 0,
        .layout = ES_LAYOUT_MELS_FRAMES, .frames = 0, .fit = ES_FIT_PAD_REPEAT,
        .standardize = ES_STANDARDIZE_NONE, .preset = ES_PRESET_NONE,
        .resample = ES_RESAMPLE_TORCHAUDIO};
}

static const field *find(const char *key)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].flag.key, key) == 0)
            return &fields[i];
    return NULL;
}

static int enum_index(const field *f, const char *name)
{
    for (int i = 0; f->flag.choices[i]; i++)
        if (strcmp(f->flag.choices[i], name) == 0)
            return i;
    return -1;
}

static const char *enum_name(const field *f, int i)
{
    for (int k = 0; f->flag.choices[k]; k++)
        if (k == i)
            return f->flag.choices[k];
    return "?";
}

static int enum_fail(const char *what, const field *f, const char *got)
{
    char list[128] = "";
    for (int i = 0; f->flag.choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "|" : "", f->flag.choices[i]);
    return es_fail("%s: %s must be %s, not '%s'", what, f->flag.key, list, got);
}

/* Stores a number into an int / double / bool / enum field. */
static void store(es_feature_config *c, const field *f, double v)
{
    char *p = (char *)c + f->off;
    if (f->type == T_NUM)
        *(double *)p = v;
    else
        *(int *)p = (int)v; /* enums are int-sized */
}

static double load(const es_feature_config *c, const field *f)
{
    const char *p = (const char *)c + f->off;
    return f->type == T_NUM ? *(const double *)p : *(const int *)p;
}

/* Parses text as the field's type; `what` prefixes messages. */
static int set_text(es_feature_config *c, const field *f, const char *v, const char *what)
{
    if (f->type == T_ENUM) {
        int i = enum_index(f, v);
        return i < 0 ? enum_fail(what, f, v) : (store(c, f, i), 0);
    }
    if (f->type == T_BOOL) {
        int yes = !strcmp(v, "true") || !strcmp(v, "1"), no = !strcmp(v, "false") || !strcmp(v, "0");
        if (!yes && !no)
            return es_fail("%s: %s must be true or false, not '%s'", what, f->flag.key, v);
        store(c, f, yes);
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d))
        return es_fail("%s: %s must be a number, not '%s'", what, f->flag.key, v);
    if (f->type == T_INT && (d != floor(d) || fabs(d) > 1e9))
        return es_fail("%s: %s must be an integer, not '%s'", what, f->flag.key, v);
    store(c, f, d);
    return 0;
}

int es_config_set(es_feature_config *c, const char *key, const char *value)
{
    const field *f = find(key);
    if (!f)
        return es_fail("unknown feature setting '%s'", key);
    return set_text(c, f, value ? value : "", key);
}

static int set_json(es_feature_config *c, const field *f, const cJSON *v, const char *what)
{
    if (cJSON_IsNull(v) && f->nullable)
        return store(c, f, 0), 0;
    if (f->type == T_ENUM)
        return cJSON_IsString(v) ? set_text(c, f, v->valuestring, what)
                                 : es_fail("%s: %s must be a string", what, f->flag.key);
    if (f->type == T_BOOL) {
        if (!cJSON_IsBool(v))
            return es_fail("%s: %s must be true or false", what, f->flag.key);
        return store(c, f, cJSON_IsTrue(v)), 0;
    }
    if (!cJSON_IsNumber(v))
        return es_fail("%s: %s must be a number", what, f->flag.key);
    if (f->type == T_INT && (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9))
        return es_fail("%s: %s must be an integer", what, f->flag.key);
    return store(c, f, v->valuedouble), 0;
}

/* A window as long as the FFT stays so when only n_fft changes (torchaudio's win_length=None),
 * so `--n-fft 512` alone does not leave a 1024-sample window behind. */
static void follow_n_fft(const es_feature_config *before, es_feature_config *after)
{
    if (before->win_length == before->n_fft && after->win_length == before->win_length)
        after->win_length = after->n_fft;
}

int es_config_from_json(es_feature_config *c, const char *json, const char *what)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return es_fail("%s: not valid JSON", what);
    int rc = cJSON_IsObject(root) ? 0 : es_fail("%s: the feature configuration must be a JSON object", what);
    es_feature_config tmp = *c; /* all or nothing */
    for (const cJSON *v = root->child; rc == 0 && v; v = v->next) {
        const field *f = find(v->string);
        rc = f ? set_json(&tmp, f, v, what) : es_fail("%s: unknown key '%s'", what, v->string);
    }
    if (!cJSON_GetObjectItemCaseSensitive(root, "win_length"))
        follow_n_fft(c, &tmp);
    cJSON_Delete(root);
    if (rc == 0)
        *c = tmp;
    return rc;
}

int es_config_from_arg(es_feature_config *c, const char *arg)
{
    if (arg[strspn(arg, " \t\n")] == '{')
        return es_config_from_json(c, arg, "--config");
    FILE *fp = fopen(arg, "rb");
    if (!fp)
        return es_fail("%s: cannot read: %s", arg, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *t = realloc(text, cap = 2 * cap + 8192);
            if (!t) {
                rc = es_fail("%s: out of memory", arg);
                break;
            }
            text = t;
        }
        size_t got = fread(text + n, 1, 4096, fp);
        n += got;
        if (got < 4096)
            break;
    }
    if (rc == 0 && ferror(fp))
        rc = es_fail("%s: read error", arg);
    fclose(fp);
    if (rc == 0) {
        text[n] = 0;
        rc = es_config_from_json(c, text, arg);
    }
    free(text);
    return rc;
}

char *es_config_to_json(const es_feature_config *in)
{
    /* zeros written as what they stand for, so readers (torchaudio users) need no rules */
    es_feature_config tmp = *in, *c = &tmp;
    es_resolved r;
    if (es_config_resolve(in, &r) == 0) {
        c->win_length = r.win, c->hop_length = r.hop, c->f_max = r.f_max;
        if (c->preset == ES_PRESET_KALDI_FBANK)
            c->n_fft = r.n_fft;
    }
    size_t cap = 2048, n = 1;
    char *s = malloc(cap);
    if (!s) {
        es_fail("out of memory");
        return NULL;
    }
    strcpy(s, "{");
    for (int i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        double v = load(c, f);
        int iv = f->type == T_ENUM || f->type == T_BOOL ? (int)v : 0; /* a real may not fit */
        const char *sep = i ? ", " : "";
        if (f->type == T_ENUM)
            n += snprintf(s + n, cap - n, "%s\"%s\": \"%s\"", sep, f->flag.key,
                          enum_name(f, iv));
        else if (f->type == T_BOOL)
            n += snprintf(s + n, cap - n, "%s\"%s\": %s", sep, f->flag.key, iv ? "true" : "false");
        else
            n += snprintf(s + n, cap - n, "%s\"%s\": %.9g", sep, f->flag.key, v);
    }
    snprintf(s + n, cap - n, "}");
    return s;
}

/* The flags that are not one key's: two switches, and the other spellings that work
 * (--key-name for every key whose flag is shorter). */
static const es_config_flag_info more_flags[] = {
    {"no-center", NULL, NULL, "frames start at sample 0 instead of centred on hop multiples"},
    {"kaldi", NULL, NULL, "torchaudio.compliance.kaldi.fbank (16 kHz, 23 mels, 25/10 ms)", NULL, 1},
    {"sample-rate", "sample_rate", "HZ"}, {"hop-length", "hop_length", "N"},
    {"n-mels", "n_mels", "N"}, {"f-min", "f_min", "HZ"}, {"f-max", "f_max", "HZ"},
    {"n-mfcc", "n_mfcc", "N"},
};

const es_config_flag_info *es_config_flag_at(int k)
{
    if (k >= 0 && k < N_FIELDS)
        return &fields[k].flag;
    k -= N_FIELDS;
    return k >= 0 && k < (int)(sizeof more_flags / sizeof more_flags[0]) ? &more_flags[k] : NULL;
}

int es_config_flag_find(const char *name)
{
    for (int k = 0; es_config_flag_at(k); k++)
        if (strcmp(es_config_flag_at(k)->name, name) == 0)
            return k;
    return -1;
}

/* torchaudio.compliance.kaldi.fbank's defaults. */
static void kaldi_preset(es_feature_config *c)
{
    c->preset = ES_PRESET_KALDI_FBANK;
    c->sample_rate = 16000, c->n_fft = 512, c->win_length = 0, c->hop_length = 0;
    c->center = 0, c->n_mels = 23, c->f_min = 20, c->f_max = 0, c->mel_norm = ES_MEL_NORM_NONE;
    c->power = 2, c->log = ES_LOG_LN, c->top_db = 0, c->n_mfcc = 0;
}

int es_config_flag_apply(es_feature_config *c, int k, const char *value)
{
    const es_config_flag_info *fl = es_config_flag_at(k);
    if (!fl)
        return es_fail("no feature flag %d", k);
    if (!fl->key) {
        if (fl->name[0] == 'k')
            kaldi_preset(c);
        else
            c->center = 0;
        return 0;
    }
    char name[72];
    snprintf(name, sizeof name, "--%s", fl->name);
    if (!value)
        return es_fail("%s needs a value", name);
    const field *f = find(fl->key);
    es_feature_config before = *c;
    if (set_text(c, f, value, name) != 0)
        return -1;
    if (f->off == offsetof(es_feature_config, n_fft))
        follow_n_fft(&before, c);
    return 0;
}
