/* earsight plot IN -o OUT.png — a spectrogram picture of a (mels × frames) .npy or of a sound,
 * optionally with a saliency map over it (Captum's overlay methods) or in the four-panel layout. */
#include "apps/cli.h"
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char usage_plot[] =
    "usage: earsight plot IN.npy|SOUND -o OUT.png [options] [feature flags]\n"
    "\n"
    "Draws a spectrogram with time and frequency axes, a dB colorbar and a title, and writes\n"
    "it as PNG (written whole or not at all). IN is a 2-D .npy (rows × frames, row 0 the\n"
    "lowest frequency; leading dimensions of 1 are dropped) or any sound libsndfile reads,\n"
    "turned into a log-mel spectrogram with the feature flags (DESIGN.md §4 defaults).\n"
    "For a .npy the axes are frames and bins\n"
    "unless --sr/--hop (time in seconds) or --fmin/--fmax/--mel-scale (Hz on the mel scale)\n"
    "describe how it was made.\n"
    "\n"
    "  -o, --output FILE     the PNG to write (required)\n"
    "  --size WxH            picture size in pixels (1000x450)\n"
    "  --cmap NAME           viridis magma inferno plasma cividis gray RdBu_r bwr … (magma)\n"
    "  --db-range LO:HI|N    colour range in dB, or N dB below the maximum (data min..max)\n"
    "  --title TEXT          title (default: the input's file name)\n"
    "  --wave                a waveform strip above the spectrogram (sound input)\n"
    "  --saliency S.npy      a saliency map of the same shape, drawn over the spectrogram\n"
    "  --overlay MODE        heat|blended|masked|alpha (blended), as Captum's methods\n"
    "  --sign SIGN           absolute|positive|negative|all (absolute)\n"
    "  --outlier-perc P      Captum's outlier percentage (2)\n"
    "  --quad                four panels: input, |saliency|, positive, negative\n"
    "  --png-level N         PNG compression level 0..9 (1: fast)\n"
    "  -j, --jobs N          threads for the features of a sound (OMP_NUM_THREADS)\n"
    "  -q, --quiet           print nothing on success; --json: print {output, width, height}\n"
    "feature flags (axes of a .npy; features of a sound):\n" ES_CONFIG_FLAGS_HELP;

typedef struct {
    const char *in, *out, *cmap, *title, *db, *sal, *mode, *sign;
    int w, h, quad, wave, level, json, time_given, freq_given;
    float outlier;
} options;

/* Flags of our own; 1 or 2 argv entries used, 0 when not ours, -1 on a bad value. */
static int own_flag(options *o, const char *a, const char *v)
{
    const char **s = !strcmp(a, "-o") || !strcmp(a, "--output") ? &o->out
                     : !strcmp(a, "--cmap")                      ? &o->cmap
                     : !strcmp(a, "--title")                     ? &o->title
                     : !strcmp(a, "--db-range")                  ? &o->db
                     : !strcmp(a, "--saliency")                  ? &o->sal
                     : !strcmp(a, "--overlay")                   ? &o->mode
                     : !strcmp(a, "--sign")                      ? &o->sign
                                                                 : NULL;
    if (s) {
        if (!v)
            return cli_usage("plot", "%s needs a value", a), -1;
        *s = v;
        return 2;
    }
    if (!strcmp(a, "--size")) {
        if (!v || sscanf(v, "%dx%d", &o->w, &o->h) != 2 || o->w <= 0 || o->h <= 0)
            return cli_usage("plot", "--size needs WxH with positive numbers, e.g. 1000x450"), -1;
        return 2;
    }
    if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
        if (!v || atoi(v) < 1)
            return cli_usage("plot", "%s needs a positive number", a), -1;
        omp_set_num_threads(atoi(v));
        return 2;
    }
    if (!strcmp(a, "--png-level") || !strcmp(a, "--level") || !strcmp(a, "--outlier-perc")) {
        char *end;
        int level = strcmp(a, "--outlier-perc") != 0; /* --level: the older name */
        double x = v ? strtod(v, &end) : 0;
        if (!v || *end || x < 0 || x > (level ? 9 : 100))
            return cli_usage("plot", "%s needs a number in %s", a, level ? "0..9" : "0..100"), -1;
        if (level)
            o->level = (int)x;
        else
            o->outlier = (float)x;
        return 2;
    }
    int *flag = !strcmp(a, "--quad") ? &o->quad : !strcmp(a, "--wave") ? &o->wave
                : !strcmp(a, "--json") ? &o->json : NULL;
    if (flag)
        return *flag = 1;
    return !strcmp(a, "-q") || !strcmp(a, "--quiet");
}

static int parse(int argc, char **argv, es_feature_config *c, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !a[1]) {
            if (o->in)
                return cli_usage("plot", "one input only ('%s' and '%s')", o->in, a);
            o->in = a;
            continue;
        }
        int used = own_flag(o, a, next);
        if (used < 0)
            return 2;
        if (used == 0) {
            if ((used = es_config_flag(c, a, next)) < 0)
                return cli_usage("plot", "%s", es_error());
            if (used == 0)
                return cli_usage("plot", "unknown option '%s'", a);
            o->time_given |= !strcmp(a, "--sr") || !strcmp(a, "--hop");
            o->freq_given |= !strcmp(a, "--sr") || !strcmp(a, "--fmin") || !strcmp(a, "--fmax") ||
                             !strcmp(a, "--mel-scale") || !strcmp(a, "--mels");
        }
        i += used == 2;
    }
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
