/* earsight plot IN -o OUT.png — a spectrogram picture of a (mels × frames) .npy or of a sound,
 * optionally with a saliency map over it (Captum's overlay methods) or in the four-panel layout. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "plot",
    "usage: earsight plot IN.npy|SOUND -o OUT.png [options] [feature flags]",
    "Draws a spectrogram with time and frequency axes, a dB colorbar and a title, and writes\n"
    "it as PNG (written whole or not at all). IN is a 2-D .npy (rows × frames, row 0 the\n"
    "lowest frequency; leading dimensions of 1 are dropped) or any sound libsndfile reads,\n"
    "turned into a log-mel spectrogram with the feature flags (defaults: `earsight help features`).\n"
    "For a .npy the axes are frames and bins\n"
    "unless --sr/--hop (time in seconds) or --fmin/--fmax/--mel-scale (Hz on the mel scale)\n"
    "describe how it was made.\n"};

typedef struct {
    const char *in, *out, *cmap, *title, *db, *sal, *mode, *sign;
    int w, h, quad, wave, level, json, quiet, time_given, freq_given;
    float outlier;
} options;

static int parse(int argc, char **argv, es_feature_config *c, options *o)
{
    const opt rows[] = {
        OPT_OUTPUT(&o->out, "the PNG to write (required)"),
        OPT_SIZE(0, "size", &o->w, &o->h, 1, 16384, "WxH", "picture size in pixels (1000x450)"),
        OPT_STRING(0, "cmap", &o->cmap, "NAME", "viridis magma inferno plasma cividis gray RdBu_r bwr … (magma)"),
        OPT_STRING(0, "db-range", &o->db, "LO:HI|N", "colour range in dB, or N dB below the maximum (data min..max)"),
        OPT_STRING(0, "title", &o->title, "TEXT", "title (default: the input's file name)"),
        OPT_SWITCH(0, "wave", &o->wave, "a waveform strip above the spectrogram (sound input)"),
        OPT_INFILE(0, "saliency", &o->sal, "S.npy", "a saliency map of the same shape, drawn over the spectrogram"),
        OPT_STRING(0, "overlay", &o->mode, "MODE", "heat|blended|masked|alpha (blended), as Captum's methods"),
        OPT_STRING(0, "sign", &o->sign, "SIGN", "absolute|positive|negative|all (absolute)"),
        OPT_FLOAT(0, "outlier-perc", &o->outlier, 0, 100, "P", "Captum's outlier percentage (2)"),
        OPT_SWITCH(0, "quad", &o->quad, "four panels: input, |saliency|, positive, negative"),
        OPT_PNG_LEVEL(&o->level),
        OPT_INT(0, "level", &o->level, 0, 9, "N", NULL), /* the older name, not listed */
        OPT_JOBS, OPT_QUIET(&o->quiet), OPT_JSON(&o->json, "print {output, width, height} on stdout"),
        OPT_HEADING("feature flags (axes of a .npy; features of a sound):"), OPT_FEATURES(c),
        OPT_OPERAND(&o->in, "input"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    o->time_given = opt_given("sr") || opt_given("hop");
    o->freq_given = opt_given("sr") || opt_given("fmin") || opt_given("fmax") ||
                    opt_given("mel-scale") || opt_given("mels");
    if (!o->in)
        return cli_usage("plot", "no input (.npy or sound file)");
    if (!o->out)
        return cli_usage("plot", "no output file (-o OUT.png)");
    if (o->quad && !o->sal)
        return cli_usage("plot", "--quad needs --saliency S.npy");
    return 0;
}

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && !strcmp(path + n - 4, ".npy");
}

static int db_range(const char *s, const es_array *a, float *lo, float *hi)
{
    float mx = -INFINITY;
    for (size_t i = 0; i < es_array_size(a); i++)
        mx = isfinite(a->data[i]) && a->data[i] > mx ? a->data[i] : mx;
    char *end;
    double l = strtod(s, &end), h;
    if (*end == ':') {
        h = strtod(end + 1, &end);
    } else if (!*end && l > 0 && isfinite(mx)) { /* "80": the top 80 dB */
        h = mx, l = mx - l;
    } else {
        return -1;
    }
    if (*end || !(h > l))
        return -1;
    *lo = (float)l, *hi = (float)h;
    return 0;
}

static int load_input(const options *o, const es_feature_config *c, es_array *a, float **wave,
                      long *wave_len)
{
    if (is_npy(o->in)) {
        if (es_npy_load(o->in, a) != 0)
            return -1;
        while (a->ndim > 2 && a->dims[0] == 1) { /* a batch of one, one channel: (1, 1, H, W) */
            memmove(a->dims, a->dims + 1, sizeof(int) * (size_t)(a->ndim - 1));
            a->ndim--;
        }
        if (a->ndim != 2) {
            es_array_free(a);
            return es_fail("%s: a spectrogram must be 2-D (rows × frames), not %d-D", o->in, a->ndim);
        }
        return 0;
    }
    es_features *f = es_features_new(c);
    if (!f)
        return -1;
    int rc = es_features_file(f, o->in, a);
    es_features_free(f);
    if (rc == 0 && o->wave && es_audio_load(o->in, c->sample_rate, wave, wave_len, NULL) != 0) {
        es_array_free(a);
        return -1;
    }
    return rc;
}

static int draw(const options *o, es_canvas *cv, es_spec_plot *p)
{
    es_font *font = es_font_open(NULL);
    if (!font)
        return -1;
    es_style st = {font};
    es_rect all = {0, 0, o->w, o->h};
    int rc = o->quad ? es_plot_saliency_quad(cv, all, &st, p) : es_plot_spectrogram(cv, all, &st, p);
    es_font_close(font);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    es_feature_config c;
    es_config_default(&c);
    options o = {.w = 1000, .h = 450, .level = -1, .outlier = 2};
    int rc = parse(argc, argv, &c, &o);
    if (rc)
        return rc;
    es_spec_plot p = {0};
    p.overlay = (es_overlay)ES_OVERLAY_DEFAULTS;
    p.overlay.outlier_perc = o.outlier;
    if ((o.mode || o.sign) && es_overlay_parse(&p.overlay, o.mode, o.sign) != 0)
        return cli_usage("plot", "%s", es_error());
    if (o.cmap && !es_cmap_get(o.cmap))
        return cli_usage("plot", "%s", es_error());
    es_array a = {0}, s = {0};
    float *wave = NULL;
    long wave_len = 0;
    if (load_input(&o, &c, &a, &wave, &wave_len) != 0)
        return cli_lib_fail();
    if (o.db && db_range(o.db, &a, &p.vmin, &p.vmax) != 0) {
        es_array_free(&a), free(wave);
        return cli_usage("plot", "--db-range needs LO:HI (LO < HI) or a positive number of dB");
    }
    if (o.sal && (es_npy_load(o.sal, &s) != 0 || es_array_size(&s) != es_array_size(&a))) {
        if (s.data)
            es_fail("%s: has %zu values, the spectrogram %zu", o.sal, es_array_size(&s), es_array_size(&a));
        es_array_free(&a), es_array_free(&s), free(wave);
        return cli_lib_fail();
    }
    int audio = !is_npy(o.in);
    es_feature_axes(&c, a.dims[0], 0, a.dims[1], (audio || o.time_given ? ES_AXES_TIME : 0) |
                    (audio || o.freq_given ? ES_AXES_FREQ : 0), &p.x, &p.y);
    const char *base = strrchr(o.in, '/') ? strrchr(o.in, '/') + 1 : o.in;
    p.data = a.data, p.rows = a.dims[0], p.cols = a.dims[1];
    p.cmap = o.cmap, p.title = o.title ? o.title : base;
    p.cbar_label = audio && c.n_mfcc > 0 ? "coefficient" : audio && c.log != ES_LOG_DB ? "value" : "dB";
    p.saliency = s.data, p.wave = wave, p.wave_len = (size_t)wave_len;
    es_canvas cv;
    rc = es_canvas_init(&cv, o.w, o.h, ES_RGBA(255, 255, 255, 255));
    if (rc == 0 && (rc = draw(&o, &cv, &p)) == 0) {
        const char *method = o.quad ? "saliency quad" : s.data ? "saliency overlay" : "spectrogram";
        char axes[256];
        es_axes_text(&p.x, &p.y, axes, sizeof axes);
        const char *text[] = {"input", o.in, "method", method, "axes", axes, NULL};
        es_png_opts po = {o.level, text};
        rc = es_png_write(o.out, &cv, &po);
    }
    es_canvas_free(&cv), es_array_free(&a), es_array_free(&s), free(wave);
    es_viz_shutdown();
    if (rc != 0)
        return cli_lib_fail();
    if (o.json)
        printf("{\"output\": \"%s\", \"width\": %d, \"height\": %d}\n", o.out, o.w, o.h);
    return 0;
}
