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

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void print_rows(const options *o, const es_clip *in, const es_sanity_row *rows, int n,
                       int target)
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

/* The strip of the cascading maps as a PNG, with what it shows in its tEXt. */
static int write_strip(const options *o, const es_clip *in, const es_sanity *s)
{
    es_canvas cv;
    if (es_sanity_strip(s, in, o->a.o.method, o->w, o->h, o->cmap, o->title, NULL, &cv) != 0)
        return -1;
    char tgt[16];
    snprintf(tgt, sizeof tgt, "%d", s->info.target);
    const char *text[] = {"model", in->m.path, "input", o->input, "method",
                          es_sal_method_name(o->a.o.method), "target", tgt, "check", "sanity", NULL};
    es_png_opts po = {-1, text};
    int rc = es_png_write(o->png, &cv, &po);
    es_canvas_free(&cv);
    return rc;
}

/* The cascading maps as one .npy: (1 + layers) × the map's shape. */
static int write_maps(const options *o, const es_clip *in, const es_sanity *s)
{
    size_t sz = es_clip_map_size(in);
    int d[ES_MAX_DIMS + 1], nd = es_clip_map_shape(in, d + 1);
    float *all = malloc((size_t)(s->n + 1) * sz * sizeof *all);
    d[0] = s->n + 1;
    for (int i = 0; all && i <= s->n; i++)
        memcpy(all + i * sz, s->maps[i], sz * sizeof *all);
    int rc = !all ? es_fail("out of memory") : es_npy_save(o->out, all, nd + 1, d);
    free(all);
    return rc;
}

/* Told of each map: the progress bar moves, Ctrl-C stops the check. */
static int map_done(void *ctx, int done, int total)
{
    progress_set(ctx, done);
    return cli_interrupted;
}

static int run_checks(options *o, es_clip *in)
{
    int casc = !o->mode || strcmp(o->mode, "independent"), indep = !o->mode || strcmp(o->mode, "cascading");
    int ids[1024], all = es_sanity_layers(in->m.g, ids, 1024);
    int n = o->layers && o->layers < all ? o->layers : all;
    progress bar = {0};
    es_sanity_opts so = {o->layers, o->rseed, casc, indep, map_done, &bar};
    es_sanity s;
    /* one map per step: the original's, then one per layer and mode */
    progress_start(&bar, "sanity", "maps", 1 + (long)n * (casc + indep), o->quiet);
    int rc = es_clip_sanity(in, &o->a.o, &so, &s);
    progress_end(&bar);
    if (rc != 0 && cli_interrupted)
        rc = 130, cli_fail("interrupted after %ld of %ld maps", bar.done, bar.n);
    else if (rc != 0)
        rc = cli_lib_fail();
    else if (o->png && casc && write_strip(o, in, &s) != 0)
        rc = cli_fail("%s: %s", o->png, es_error());
    else if (o->out && casc && write_maps(o, in, &s) != 0)
        rc = cli_lib_fail();
    else
        print_rows(o, in, s.rows, s.n_rows, s.info.target);
    es_sanity_free(&s);
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
    if (es_clip_load(&in, o.model, &opt_model, o.input, o.a.hop_frames) != 0)
        return cli_lib_fail();
    rc = sal_resolve(&o.a, &in, "sanity");
    if (rc == 0)
        rc = run_checks(&o, &in);
    es_clip_free(&in);
    sal_args_free(&o.a);
    es_viz_shutdown();
    return rc;
}
