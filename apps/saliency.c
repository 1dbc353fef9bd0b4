/* earsight saliency -m MODEL --input X.npy|SOUND --method M [-o OUT.npy] [--png OUT.png] — what
 * the network looked at for one class; and the pieces the sanity and sonify verbs share. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/progress.h"
#include "apps/saliency.h"
#include "apps/verdict.h"
#include "viz/es_viz.h"
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared: the method settings ---------------------------------------------------------- */

void sal_args_init(sal_args *a)
{
    memset(a, 0, sizeof *a);
    es_sal_defaults(&a->o);
    a->aggregate = -1;
}

void sal_args_free(sal_args *a) { es_array_free(&a->base); }

int sal_resolve(sal_args *a, es_clip *in, const char *verb)
{
    es_sal_opts *o = &a->o;
    int k = 0;
    if (a->method && (k = es_sal_method_find(a->method)) < 0)
        return cli_usage(verb, "unknown method '%s'", a->method);
    o->method = a->method ? k : ES_SAL_GRAD;
    if (a->upsample && strcmp(a->upsample, "bilinear") && strcmp(a->upsample, "nearest"))
        return cli_usage(verb, "--upsample takes bilinear or nearest, not '%s'", a->upsample);
    o->bilinear = !a->upsample || !strcmp(a->upsample, "bilinear");
    if (a->ig_method && (k = es_ig_rule_find(a->ig_method)) < 0)
        return cli_usage(verb, "unknown --ig-method '%s'", a->ig_method);
    if (a->ig_method)
        o->ig_rule = k;
    if (a->layer && (o->layer = es_clip_layer(in, a->layer)) < 0)
        return cli_lib_fail();
    in->aggregate = a->aggregate;
    o->target = a->target ? es_clip_target(in, a->target) : es_clip_default_target(in, NULL);
    if (o->target < 0)
        return cli_lib_fail();
    if (es_clip_baseline(in, a->baseline, &a->base, o) != 0)
        return cli_lib_fail();
    return 0;
}

/* ---- the verb ------------------------------------------------------------------------------ */
static const opt_cmd cmd = {
    "saliency",
    "usage: earsight saliency [-m MODEL] --input FILE [FILE…] --method M [options] -o OUT.npy",
    "The signed attribution of one class score to every input value: a .npy map with exactly\n"
    "the input's shape (a .npy input), or (mels × frames) for a sound. The class explained is\n"
    "by default the sound's verdict: its windows side by side (as predict and eval run them)\n"
    "become one class, P and deciding window by the model's rule (--aggregate). A sound longer\n"
    "than the model's frames is explained window by window and the maps are cross-faded into\n"
    "one (--windows all), or only the deciding window is explained, its map placed at its time\n"
    "in a full-length map that is zero elsewhere (--windows decisive). Several inputs share\n"
    "the loaded model; then -o and --png name folders.\n"
    "guided and deconvnet change the gradient of ReLU units only, as Captum's GuidedBackprop\n"
    "and Deconvolution do (they hook nn.ReLU): clipped and other activations (ReLU6, i.e. an\n"
    "ONNX Clip, HardSwish, GELU, LeakyReLU, …) pass their true gradient. In a model exported\n"
    "by torch.onnx, a functional F.relu (a Relu node whose module scope holds other nodes,\n"
    "e.g. /Relu or /block/Relu beside /block/conv/Conv) passes its true gradient too, as\n"
    "Captum gives it; --relu-rule all changes every ReLU (as Springenberg et al. do).\n"};

static const char *const windows_names[] = {"all", "decisive", NULL};

typedef struct {
    sal_args a;
    const char *model, *out, *png, *mode, *sign, *cmap, *title, *layout;
    const char *inputs[256];
    int n_inputs, json, quiet, strict, w, h, decisive;
    float outlier, alpha;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INFILES('i', "input", o->inputs, &o->n_inputs, "FILE", ".npy tensor (batch dim optional) or a sound"),
        OPT_APPEND(0, NULL, o->inputs, &o->n_inputs, "input", NULL),
        OPT_OUTFILE('o', "output", &o->out, "FILE", "the map as .npy (written whole or not at all)", OPT_OUT_DIR),
        OPT_JSON(&o->json, "{input, method, target, label, score (in the deciding window),\n"
                           "probabilities (the sound's), verdict (as predict --json gives it),\n"
                           "baseline, baseline_score, delta (IG), windows: the rows explained\n"
                           "[{start_frame, score, probability}]} on stdout"),
        OPT_ENUM(0, "windows", &o->decisive, windows_names, NULL,
                 "all: every window's map, cross-faded (default); decisive: the deciding\n"
                 "window's map alone, at its place in the full-length map"),
        OPT_OUTFILE(0, "png", &o->png, "FILE", "a picture: the input with the map over it", OPT_OUT_DIR),
        OPT_STRING(0, "overlay", &o->mode, "MODE", "heat|blended|masked|alpha (blended)"),
        OPT_STRING(0, "sign", &o->sign, "SIGN", "absolute|positive|negative|all (absolute)"),
        OPT_FLOAT(0, "outlier-perc", &o->outlier, 0, 100, "P", "Captum's outlier percentage (2)"),
        OPT_FLOAT(0, "alpha", &o->alpha, 0, 1, "A", "the overlay's opacity (0.5)"),
        OPT_STRING(0, "layout", &o->layout, "quad", "four panels: input, |map|, positive, negative"),
        OPT_STRING(0, "cmap", &o->cmap, "NAME", "colour map of the input"),
        OPT_SIZE(0, "size", &o->w, &o->h, 1, 16384, "WxH", "picture size in pixels (1000x450)"),
        OPT_STRING(0, "title", &o->title, "TEXT", "the title"),
        OPT_SWITCH(0, "strict", &o->strict, "several inputs: stop at the first that fails (exit 1)"),
        OPT_JOBS, OPT_QUIET(&o->quiet), OPT_SALIENCY(&o->a), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!o->n_inputs)
        return cli_usage("saliency", "no input (--input X.npy or a sound)");
    if (!o->out && !o->png && !o->json)
        return cli_usage("saliency", "nothing to do: give -o OUT.npy, --png OUT.png or --json");
    if (o->layout && strcmp(o->layout, "quad") && strcmp(o->layout, "single"))
        return cli_usage("saliency", "--layout takes quad (or single), not '%s'", o->layout);
    if (o->cmap && !es_cmap_get(o->cmap))
        return cli_usage("saliency", "%s", es_error());
    es_overlay ov = ES_OVERLAY_DEFAULTS; /* what the picture starts from (figure.c) */
    if ((o->mode || o->sign) && es_overlay_parse(&ov, o->mode, o->sign) != 0)
        return cli_usage("saliency", "%s", es_error());
    if (!o->a.method)
        return cli_usage("saliency", "no method (--method M)");
    if (es_sal_method_find(o->a.method) < 0)
        return cli_usage("saliency", "unknown method '%s'", o->a.method);
    return 0;
}

/* With several inputs, -o and --png are folders: DIR/STEM.npy, DIR/STEM.png. */
static void out_path(char *buf, size_t cap, const char *dir, const char *stem, const char *ext)
{
    if (!stem)
        snprintf(buf, cap, "%s", dir);
    else
        snprintf(buf, cap, "%s/%s.%s", dir, stem, ext);
}

/* The output stems of n inputs: each one's base name without its extension, and for a name
 * an earlier input took already, NAME-2, NAME-3, ... — two inputs never write one file. NULL
 * when out of memory; free with stems_free. */
static char **stems_new(const char *const *in, int n)
{
    char **s = calloc(n, sizeof *s);
    for (int i = 0; s && i < n; i++) {
        const char *base = strrchr(in[i], '/') ? strrchr(in[i], '/') + 1 : in[i];
        const char *dot = strrchr(base, '.');
        int len = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
        size_t cap = len + 16;
        if (!(s[i] = malloc(cap)))
            goto oom;
        snprintf(s[i], cap, "%.*s", len, base);
        for (int k = 2, j = 0; j < i; j++)
            if (strcmp(s[i], s[j]) == 0) {
                snprintf(s[i], cap, "%.*s-%d", len, base, k++);
                j = -1; /* the new name against every earlier one again */
            }
    }
    return s;
oom:
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
    return NULL;
}

static void stems_free(char **s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* The PNG is the figure `earsight view` shows: one function composes both (pipeline/figure.c). */
static int render(const options *o, const es_clip *in, const char *file, const float *map,
                  const es_sal_info *info, es_canvas *cv)
{
    es_figure_opts f = ES_FIGURE_OPTS_DEFAULTS;
    f.w = o->w, f.h = o->h, f.mode = o->mode, f.sign = o->sign, f.cmap = o->cmap;
    f.title = o->title, f.outlier = o->outlier, f.alpha = o->alpha;
    f.quad = o->layout && !strcmp(o->layout, "quad");
    f.decisive = o->decisive;
    return es_figure_render(&f, in, file, o->a.o.method, map, info, cv);
}

/* One row explained: where it starts, its score and P of the target (and IG's numbers). */
static cJSON *row_json(const options *o, const es_clip *in, int r, const es_sal_info *ri,
                       float *p)
{
    cJSON *e = cJSON_CreateObject();
    es_clip_probabilities(in, in->scores + (size_t)r * in->classes, p);
    cJSON_AddNumberToObject(e, "row", r);
    if (in->audio)
        cJSON_AddNumberToObject(e, "start_frame", r * in->hop);
    cJSON_AddNumberToObject(e, "score", in->scores[(size_t)r * in->classes + ri->target]);
    cJSON_AddNumberToObject(e, "probability", p[ri->target]);
    if (o->a.o.method == ES_SAL_IG) {
        cJSON_AddNumberToObject(e, "baseline_score", ri->base_score);
        cJSON_AddNumberToObject(e, "delta", ri->delta);
    }
    return e;
}

/* rows_info: every row's (all), or NULL and info the deciding window's (decisive). */
static void print_json(const options *o, const es_clip *in, const char *file,
                       const es_verdict *v, const es_sal_info *info, const es_sal_info *rows_info)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", in->m.path);
    cJSON_AddStringToObject(j, "input", file);
    cJSON_AddStringToObject(j, "method", es_sal_method_name(o->a.o.method));
    cJSON_AddNumberToObject(j, "target", info->target);
    const char *l = es_model_label(&in->m, info->target);
    if (l)
        cJSON_AddStringToObject(j, "label", l);
    cJSON_AddNumberToObject(j, "score", info->score);
    cJSON_AddItemToObject(j, "probabilities", cJSON_CreateFloatArray(v->pc, v->classes));
    cJSON_AddItemToObject(j, "verdict", verdict_json(v, &in->m));
    cJSON_AddStringToObject(j, "windows_explained", windows_names[o->decisive]);
    if (o->a.o.method == ES_SAL_GRADCAM || o->a.o.method == ES_SAL_GUIDED_GRADCAM) {
        int layer = o->a.o.layer >= 0 ? o->a.o.layer : es_sal_default_layer(in->m.g);
        cJSON_AddStringToObject(j, "layer", layer >= 0 ? es_tensor_name(in->m.g, layer) : "");
    }
    if (o->a.o.method == ES_SAL_IG) { /* the deciding window's; delta: the worst row's */
        cJSON_AddStringToObject(j, "baseline", o->a.baseline ? o->a.baseline : "zero");
        cJSON_AddNumberToObject(j, "baseline_score", info->base_score);
        cJSON_AddBoolToObject(j, "baseline_not_below", info->base_score >= info->score);
        int worst = 0, rows = rows_info ? in->x.dims[0] : 1;
        const es_sal_info *ri = rows_info ? rows_info : info;
        double rel = 0;
        for (int r = 0; r < rows; r++) {
            double gap = fabs((double)ri[r].score - ri[r].base_score);
            double e = gap > 0 ? fabs(ri[r].delta) / gap : 0;
            if (r == 0 || e > rel)
                rel = e, worst = r;
        }
        cJSON_AddNumberToObject(j, "delta", ri[worst].delta);
        cJSON_AddNumberToObject(j, "delta_relative", rel);
    }
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    cJSON_AddItemToObject(j, "shape", cJSON_CreateIntArray(d, nd));
    float *p = malloc(in->classes * sizeof *p);
    cJSON *ws = cJSON_AddArrayToObject(j, "windows");
    int drow = es_clip_deciding_row(in);
    for (int r = 0; p && r < in->x.dims[0]; r++)
        if (rows_info || r == drow)
            cJSON_AddItemToArray(ws, row_json(o, in, r, rows_info ? &rows_info[r] : info, p));
    free(p);
    cli_print_json(j);
}

/* The map (all or decisive) into map, the deciding window's info into *info, every row's into
 * *rows_info (all: malloc'd; decisive: NULL). 0, or 1 after printing the error. */
static int compute(options *o, es_clip *in, const es_verdict *v, float *map, es_sal_info *info,
                   es_sal_info **rows_info)
{
    *rows_info = NULL;
    if (o->decisive)
        return es_clip_saliency_window(in, &o->a.o, v->window, map, info) != 0 ? cli_lib_fail() : 0;
    if (!(*rows_info = calloc(in->x.dims[0], sizeof **rows_info)))
        return cli_fail("out of memory");
    progress bar; /* a long recording's windows (several files: the files' bar instead) */
    progress_start(&bar, "saliency", "windows", in->x.dims[0], o->quiet || o->n_inputs > 1);
    progress_watch(&bar, in);
    int bad = es_clip_saliency_rows(in, &o->a.o, map, *rows_info) != 0;
    progress_end(&bar);
    in->each = NULL;
    if (bad)
        return progress_fail();
    int d = es_clip_deciding_row(in);
    *info = (*rows_info)[d >= 0 ? d : 0];
    return 0;
}

static int one_input(options *o, es_clip *in, const char *file, const char *stem)
{
    int rc = sal_resolve(&o->a, in, "saliency");
    if (rc)
        return rc;
    size_t n = es_clip_map_size(in);
    float *map = malloc(n * sizeof *map);
    es_sal_info info = {0}, *rows_info = NULL;
    es_canvas cv = {0};
    es_verdict v = {0};
    char npy[4096], png[4096];
    if (!map)
        return cli_fail("out of memory");
    rc = 1;
    if (es_clip_verdict(in, NULL, &v) != 0) {
        cli_lib_fail();
        goto done;
    }
    int bad = compute(o, in, &v, map, &info, &rows_info);
    if (bad) {
        rc = bad; /* 130: interrupted */
        goto done;
    }
    if (o->a.o.method == ES_SAL_IG && info.base_score >= info.score && !o->quiet)
        fprintf(stderr, "earsight: %s: warning: the IG baseline scores %.4g for class %d, not "
                "below the input's %.4g: it is not neutral for this class (try --baseline "
                "silence or blur)\n", file, info.base_score, info.target, info.score);
    if (o->png && render(o, in, file, map, &info, &cv) != 0) {
        cli_fail("%s: %s", o->png, es_error());
        goto done;
    }
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    out_path(npy, sizeof npy, o->out ? o->out : "", stem, "npy");
    if (o->out && es_npy_save(npy, map, nd, d) != 0) {
        cli_lib_fail();
        goto done;
    }
    if (o->png) {
        char tgt[32], score[32];
        snprintf(tgt, sizeof tgt, "%d", info.target);
        snprintf(score, sizeof score, "%.9g", info.score);
        char axes[256];
        es_figure_opts fo = ES_FIGURE_OPTS_DEFAULTS;
        es_axis ax, ay;
        es_figure_axes(&fo, in, &ax, &ay);
        es_axes_text(&ax, &ay, axes, sizeof axes);
        char pv[32], win[32];
        snprintf(pv, sizeof pv, "%.9g", v.pc[info.target]);
        snprintf(win, sizeof win, "%d", v.window);
        const char *text[] = {"model", in->m.path, "input", file, "method",
                              es_sal_method_name(o->a.o.method), "target", tgt, "score", score,
                              "p", pv, "window", win, "aggregate", es_aggregate_name(v.rule),
                              "axes", axes, NULL};
        es_png_opts po = {-1, text};
        out_path(png, sizeof png, o->png, stem, "png");
        if (es_png_write(png, &cv, &po) != 0) {
            cli_lib_fail();
            if (o->out)
                unlink(npy); /* all outputs or none */
            goto done;
        }
    }
    if (o->json)
        print_json(o, in, file, &v, &info, rows_info);
    rc = 0;
done:
    es_verdict_free(&v);
    es_canvas_free(&cv);
    free(map), free(rows_info);
    return rc;
}

int cmd_saliency(int argc, char **argv)
{
    options o = {.w = 1000, .h = 450, .outlier = 2, .alpha = 0.5f};
    sal_args_init(&o.a);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    int many = o.n_inputs > 1;
    struct stat sb;
    if (many && ((o.out && (stat(o.out, &sb) != 0 || !S_ISDIR(sb.st_mode))) ||
                 (o.png && (stat(o.png, &sb) != 0 || !S_ISDIR(sb.st_mode)))))
        return cli_usage("saliency", "with several inputs, -o and --png name existing folders");
    char **stems = many ? stems_new(o.inputs, o.n_inputs) : NULL;
    if (many && !stems)
        return cli_fail("out of memory");
    /* one loaded model for every input of the same shape: reload only when the shape changes;
     * an input that fails is named and the others go on (DESIGN.md §8) */
    es_clip in = {0};
    progress bar;
    progress_start(&bar, "saliency", "files", o.n_inputs, o.quiet || !many);
    int loaded = 0, failed = 0, done = 0;
    for (int i = 0; i < o.n_inputs && rc != 2 && !cli_interrupted; i++) {
        in.keep = es_sal_single_pass(o.a.o.method); /* its map from the scoring pass */
        int r = loaded ? es_clip_next(&in, o.inputs[i], o.a.hop_frames) : 1;
        if (r == 1) { /* the first input, or one of another shape: (re)load */
            es_clip_free(&in);
            r = es_clip_load(&in, o.model, &opt_model, o.inputs[i], o.a.hop_frames);
            loaded = r == 0;
        }
        rc = r != 0 ? cli_lib_fail() : one_input(&o, &in, o.inputs[i], many ? stems[i] : NULL);
        sal_args_free(&o.a);
        o.a.o.layer = -1;
        failed += rc == 1, done++;
        progress_set(&bar, done);
        if (rc == 1 && o.strict)
            break;
    }
    progress_end(&bar);
    es_clip_free(&in);
    es_viz_shutdown();
    stems_free(stems, o.n_inputs);
    if (rc == 2 || !many)
        return rc;
    if (cli_interrupted)
        return batch_interrupted(done, o.n_inputs);
    return o.strict ? rc : batch_end(failed, o.n_inputs);
}
