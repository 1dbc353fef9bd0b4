/* earsight sanity -m MODEL --input FILE --method M — Adebayo et al.'s model-randomization test:
 * randomize the layers from the top (cascading, and one at a time), and measure how much the
 * map still looks like the original. A method that explains the model should change. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/progress.h"
#include "apps/saliency.h"
#include "viz/es_viz.h"
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "sanity",
    "usage: earsight sanity [-m MODEL] --input FILE --method M [options] [--json] [--png OUT.png]",
    "Sanity checks for saliency maps (Adebayo et al. 2018): the layers with weights are\n"
    "re-drawn at random from the top (output) down — cascading (each step keeps the layers\n"
    "above random) and independent (one layer at a time) — and each new map is compared with\n"
    "the original: Spearman rank correlation (signed and of |map|) and SSIM of |map|.\n"
    "Prints a table (or --json); --png draws the cascading maps as a strip.\n"};

typedef struct {
    sal_args a;
    const char *model, *input, *mode, *png, *out, *title, *cmap;
    int json, quiet, layers, w, h;
    uint64_t rseed;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL(&o->model), OPT_INPUT(&o->input, ".npy tensor or a sound"),
        OPT_STRING(0, "mode", &o->mode, "M", "cascading | independent | both (both)"),
        OPT_INT(0, "layers", &o->layers, 1, 1e9, "N", "randomize only the top N layers (all)"),
        OPT_U64(0, "random-seed", &o->rseed, 1, 9e18, "N", "seed of the re-drawn weights (1)"),
        OPT_OUTPUT(&o->out, "the cascading maps as one .npy: (1 + layers) × the map's shape"),
        OPT_JSON(&o->json, "{method, target, rows: [{mode, step, layer, spearman, spearman_abs, ssim}]}"),
        OPT_OUTFILE(0, "png", &o->png, "FILE", "the sanity strip: the original, then up to 9 cascading steps", 0),
        OPT_SIZE(0, "size", &o->w, &o->h, 1, 16384, "WxH", "the strip's size in pixels"),
        OPT_STRING(0, "title", &o->title, "TEXT", "the strip's title"),
        OPT_STRING(0, "cmap", &o->cmap, "NAME", "the maps' colour map"),
        OPT_JOBS, OPT_QUIET(&o->quiet), OPT_SALIENCY(&o->a), OPT_OPERAND(&o->input, "input"),
        OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!o->input)
        return cli_usage("sanity", "no input (--input X.npy or a sound)");
    if (!o->a.method)
        return cli_usage("sanity", "no method (--method M)");
    if (es_sal_method_find(o->a.method) < 0)
        return cli_usage("sanity", "unknown method '%s'", o->a.method);
    if (o->mode && strcmp(o->mode, "cascading") && strcmp(o->mode, "independent") && strcmp(o->mode, "both"))
        return cli_usage("sanity", "--mode takes cascading, independent or both, not '%s'", o->mode);
    if (o->cmap && !es_cmap_get(o->cmap))
        return cli_usage("sanity", "%s", es_error());
    return 0;
}

/* The trainable tensors of the chosen layers, saved so independent steps can restore them. */
typedef struct {
    int t;
    float *data;
} saved;

static int save_params(es_graph *g, const int *layers, int n, saved **out, int *n_out)
{
    int cap = 0, k = 0;
    saved *s = NULL;
    for (int l = 0; l < n; l++) {
        const int *in;
        int ni = es_node_inputs(g, layers[l], &in);
        for (int i = 0; i < ni; i++) {
            if (in[i] < 0 || es_tensor_kind_of(g, in[i]) != ES_T_PARAM)
                continue;
            if (k == cap) {
                saved *r = realloc(s, (cap = cap ? 2 * cap : 16) * sizeof *s);
                if (!r)
                    goto oom;
                s = r;
            }
            size_t sz = es_tensor_size(g, in[i]) * sizeof(float);
            s[k].t = in[i];
            if (!(s[k].data = malloc(sz)))
                goto oom;
            memcpy(s[k++].data, es_tensor_data(g, in[i]), sz);
        }
    }
    *out = s, *n_out = k;
    return 0;
oom:
    for (int i = 0; i < k; i++)
        free(s[i].data);
    free(s);
    return es_fail("out of memory");
}

static void restore_params(es_graph *g, saved *s, int n)
{
    for (int i = 0; i < n; i++)
        memcpy(es_tensor_data(g, s[i].t), s[i].data, es_tensor_size(g, s[i].t) * sizeof(float));
}

typedef struct {
    const char *mode, *layer;
    int step;
    double rho, rho_abs, ssim;
} row;

static void compare(const es_clip *in, const float *orig, const float *map, row *r)
{
    size_t n = es_clip_map_size(in);
    r->rho = es_spearman(orig, map, n, 0);
    r->rho_abs = es_spearman(orig, map, n, 1);
    int rows, cols;
    float *a = NULL, *b = NULL;
    r->ssim = NAN;
    if (es_clip_picture(in, orig, &rows, &cols, &a) == 0 &&
        es_clip_picture(in, map, &rows, &cols, &b) == 0)
        r->ssim = es_ssim(a, b, rows, cols);
    free(a), free(b);
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void print_rows(const options *o, const es_clip *in, const row *rows, int n, int target)
{
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", in->m.path);
        cJSON_AddStringToObject(j, "input", o->input);
        cJSON_AddStringToObject(j, "method", es_sal_method_name(o->a.o.method));
        cJSON_AddNumberToObject(j, "target", target);
        cJSON *arr = cJSON_AddArrayToObject(j, "rows");
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "mode", rows[i].mode);
            cJSON_AddNumberToObject(e, "step", rows[i].step);
            cJSON_AddStringToObject(e, "layer", rows[i].layer);
            cJSON_AddItemToObject(e, "spearman", num_or_null(rows[i].rho));
            cJSON_AddItemToObject(e, "spearman_abs", num_or_null(rows[i].rho_abs));
            cJSON_AddItemToObject(e, "ssim", num_or_null(rows[i].ssim));
            cJSON_AddItemToArray(arr, e);
        }
        cli_print_json(j);
        return;
    }
    if (o->quiet)
        return;
    printf("sanity check of %s on %s, class %d (randomized from the top)\n",
           es_sal_method_name(o->a.o.method), o->input, target);
    printf("%-12s %4s  %-36s %9s %9s %7s\n", "mode", "step", "layer", "spearman", "|spear.|", "ssim");
    for (int i = 0; i < n; i++)
        printf("%-12s %4d  %-36s %9.3f %9.3f %7.3f\n", rows[i].mode, rows[i].step, rows[i].layer,
               rows[i].rho, rows[i].rho_abs, rows[i].ssim);
}

/* "/stages.4.4/bn/BatchNormalization" → "stages.4.4/bn": captions stay short under a tile. */
static const char *short_name(const char *node, char *buf)
{
    const char *s = node[0] == '/' ? node + 1 : node, *last = strrchr(s, '/');
    int n = last ? (int)(last - s) : (int)strlen(s);
    snprintf(buf, 32, "%.*s", n > 31 ? 31 : n, s);
    return buf;
}

#define STRIP_TILES 10 /* at most: the original and evenly spaced steps, the last included */

static int draw_strip(const options *o, const es_clip *in, float *const *all, const row *all_rows,
                      int n_all, int target)
{
    float *maps[STRIP_TILES];
    row rows[STRIP_TILES];
    int n = n_all < STRIP_TILES - 1 ? n_all : STRIP_TILES - 1;
    maps[0] = all[0];
    for (int i = 1; i <= n; i++) {
        int k = n_all <= STRIP_TILES - 1 ? i : (int)lround((double)i * n_all / n); /* step k */
        maps[i] = all[k], rows[i - 1] = all_rows[k - 1];
    }
    int r = 0, c = 0, rc = -1;
    char label[STRIP_TILES][32];
    float **pm = calloc(n + 1, sizeof *pm), *sp = malloc((n + 1) * sizeof *sp),
          *ss = malloc((n + 1) * sizeof *ss);
    const char **names = calloc(n + 1, sizeof *names);
    es_canvas cv = {0};
    if (!pm || !sp || !ss || !names)
        goto done;
    for (int i = 0; i <= n; i++) {
        if (es_clip_picture(in, maps[i], &r, &c, &pm[i]) != 0)
            goto done;
        names[i] = i ? short_name(rows[i - 1].layer, label[i]) : "original";
        sp[i] = i ? (float)rows[i - 1].rho_abs : NAN;
        ss[i] = i ? (float)rows[i - 1].ssim : NAN;
    }
    char title[256];
    snprintf(title, sizeof title, "%s, class %d: cascading randomization from the top",
             es_sal_method_name(o->a.o.method), target);
    es_font *font = es_font_open(NULL);
    if (!font)
        goto done;
    es_style st = {font};
    int W = o->w ? o->w : 180 * (n + 1) + 40;
    double tile_h = 180.0 * r / (c ? c : 1); /* tiles keep the map's aspect, within reason */
    int H = o->h ? o->h : 90 + (int)(tile_h < 60 ? 60 : tile_h > 400 ? 400 : tile_h);
    if (es_canvas_init(&cv, W, H, ES_RGBA(255, 255, 255, 255)) == 0 &&
        es_plot_sanity_strip(&cv, (es_rect){0, 0, W, H}, &st, (const float *const *)pm, names, sp,
                             ss, n + 1, r, c, o->cmap, o->title ? o->title : title) == 0) {
        char tgt[16];
        snprintf(tgt, sizeof tgt, "%d", target);
        const char *text[] = {"model", in->m.path, "input", o->input, "method",
                              es_sal_method_name(o->a.o.method), "target", tgt, "check", "sanity", NULL};
        es_png_opts po = {-1, text};
        rc = es_png_write(o->png, &cv, &po);
    }
    es_font_close(font);
done:
    if (rc != 0 && !*es_error())
        es_fail("out of memory");
    for (int i = 0; pm && i <= n; i++)
        free(pm[i]);
    free(pm), free(sp), free(ss), free(names);
    es_canvas_free(&cv);
    return rc;
}

static int run_checks(options *o, es_clip *in)
{
    es_graph *g = in->m.g;
    int ids[1024], n = es_sanity_layers(g, ids, 1024), n_saved = 0, rc = 1, n_rows = 0;
    if (o->layers && o->layers < n)
        n = o->layers;
    if (n == 0)
        return cli_fail("%s: the model has no layers with weights to randomize", in->m.path);
    int casc = !o->mode || strcmp(o->mode, "independent"), indep = !o->mode || strcmp(o->mode, "cascading");
    size_t sz = es_clip_map_size(in);
    float **maps = calloc(n + 1, sizeof *maps), *tmp = malloc(sz * sizeof *tmp);
    row *rows = calloc(2 * n, sizeof *rows);
    saved *sv = NULL;
    es_sal_info info;
    progress bar = {0};
    if (!maps || !tmp || !rows || save_params(g, ids, n, &sv, &n_saved) != 0) {
        cli_fail("out of memory");
        goto done;
    }
    for (int i = 0; i <= n; i++)
        if (!(maps[i] = calloc(sz, sizeof **maps))) {
            cli_fail("out of memory");
            goto done;
        }
    /* one map per step: the original's, then one per layer and mode */
    progress_start(&bar, "sanity", "maps", 1 + (long)n * (casc + indep), o->quiet);
    int done_maps = 0;
#define STEP_DONE()                                                                             \
    do {                                                                                       \
        progress_set(&bar, ++done_maps);                                                       \
        if (cli_interrupted) {                                                                 \
            rc = 130;                                                                          \
            cli_fail("interrupted after %d of %ld maps", done_maps, bar.n);                    \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)
    if (es_clip_saliency(in, &o->a.o, maps[0], &info) != 0) {
        cli_lib_fail();
        goto done;
    }
    STEP_DONE();
    for (int k = 0; casc && k < n; k++) { /* layers k and above are random */
        es_sanity_randomize(g, ids[k], o->rseed + 1000003ull * k);
        if (es_clip_saliency(in, &o->a.o, maps[k + 1], NULL) != 0) {
            cli_lib_fail();
            goto done;
        }
        row *r = &rows[n_rows++];
        r->mode = "cascading", r->step = k + 1, r->layer = es_node_name(g, ids[k]);
        compare(in, maps[0], maps[k + 1], r);
        STEP_DONE();
    }
    restore_params(g, sv, n_saved);
    for (int k = 0; indep && k < n; k++) { /* only layer k is random */
        es_sanity_randomize(g, ids[k], o->rseed + 1000003ull * k);
        int bad = es_clip_saliency(in, &o->a.o, tmp, NULL);
        restore_params(g, sv, n_saved);
        if (bad) {
            cli_lib_fail();
            goto done;
        }
        row *r = &rows[n_rows++];
        r->mode = "independent", r->step = k + 1, r->layer = es_node_name(g, ids[k]);
        compare(in, maps[0], tmp, r);
        STEP_DONE();
    }
#undef STEP_DONE
    progress_end(&bar);
    if (o->png && casc && draw_strip(o, in, maps, rows, n, info.target) != 0) {
        cli_fail("%s: %s", o->png, es_error());
        goto done;
    }
    if (o->out && casc) {
        int d[ES_MAX_DIMS + 1], nd = es_clip_map_shape(in, d + 1);
        float *all = malloc((n + 1) * sz * sizeof *all);
        d[0] = n + 1;
        for (int i = 0; all && i <= n; i++)
            memcpy(all + i * sz, maps[i], sz * sizeof *all);
        int bad = !all || es_npy_save(o->out, all, nd + 1, d) != 0;
        free(all);
        if (bad) {
            cli_lib_fail();
            goto done;
        }
    }
    print_rows(o, in, rows, n_rows, info.target);
    rc = 0;
done:
    progress_end(&bar);
    for (int i = 0; maps && i <= n; i++)
        free(maps[i]);
    for (int i = 0; i < n_saved; i++)
        free(sv[i].data);
    free(sv), free(maps), free(tmp), free(rows);
    return rc;
}

int cmd_sanity(int argc, char **argv)
{
    options o = {.rseed = 1};
    sal_args_init(&o.a);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    es_clip in;
    if (es_clip_load(&in, o.model, o.input, o.a.hop_frames) != 0)
        return cli_lib_fail();
    rc = sal_resolve(&o.a, &in, "sanity");
    if (rc == 0)
        rc = run_checks(&o, &in);
    es_clip_free(&in);
    sal_args_free(&o.a);
    es_viz_shutdown();
    return rc;
}
