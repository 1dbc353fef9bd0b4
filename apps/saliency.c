/* earsight saliency -m MODEL --input X.npy|SOUND --method M [-o OUT.npy] [--png OUT.png] — what
 * the network looked at for one class; and the pieces the sanity and sonify verbs share. */
#include "apps/cli.h"
#include "apps/saliency.h"
#include "viz/es_viz.h"
#include <cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared: flags ------------------------------------------------------------------------ */

void sal_args_init(sal_args *a)
{
    memset(a, 0, sizeof *a);
    es_sal_defaults(&a->o);
}

void sal_args_free(sal_args *a) { es_array_free(&a->base); }

static int num(const char *verb, const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!v)
        return cli_usage(verb, "%s needs a value", flag), -1;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return cli_usage(verb, "%s needs a number in [%g, %g], not '%s'", flag, lo, hi, v), -1;
    *out = x;
    return 2;
}

static int pair(const char *verb, const char *flag, const char *v, int *hw)
{
    char extra;
    if (!v || sscanf(v, "%dx%d%c", &hw[0], &hw[1], &extra) != 2 || hw[0] < 1 || hw[1] < 1)
        return cli_usage(verb, "%s needs HxW with positive numbers, e.g. 5x5", flag), -1;
    return 2;
}

int sal_flag(sal_args *a, const char *verb, const char *f, const char *v)
{
    const char **s = !strcmp(f, "--method")      ? &a->method
                     : !strcmp(f, "--target")    ? &a->target
                     : !strcmp(f, "--layer")     ? &a->layer
                     : !strcmp(f, "--upsample")  ? &a->upsample
                     : !strcmp(f, "--ig-method") ? &a->ig_method
                     : !strcmp(f, "--baseline")  ? &a->baseline
                                                 : NULL;
    if (s) {
        if (!v)
            return cli_usage(verb, "%s needs a value", f), -1;
        *s = v;
        return 2;
    }
    double x;
    int r;
    if (!strcmp(f, "--steps") && (r = num(verb, f, v, 1, 100000, &x)) > 0)
        return a->o.steps = (int)x, r;
    if (!strcmp(f, "--samples") && (r = num(verb, f, v, 1, 100000, &x)) > 0)
        return a->o.samples = (int)x, r;
    if (!strcmp(f, "--sigma") && (r = num(verb, f, v, 0, 1e6, &x)) > 0)
        return a->o.sigma = (float)x, r;
    if (!strcmp(f, "--seed") && (r = num(verb, f, v, 0, 1e18, &x)) > 0)
        return a->o.seed = (uint64_t)x, r;
    if (!strcmp(f, "--occlusion-value") && (r = num(verb, f, v, -1e30, 1e30, &x)) > 0)
        return a->o.occ_value = (float)x, r;
    if (!strcmp(f, "--hop-frames") && (r = num(verb, f, v, 1, 1e9, &x)) > 0)
        return a->hop_frames = (int)x, r;
    if (!strcmp(f, "--window"))
        return pair(verb, f, v, a->o.window);
    if (!strcmp(f, "--stride"))
        return pair(verb, f, v, a->o.stride);
    if (!strcmp(f, "--steps") || !strcmp(f, "--samples") || !strcmp(f, "--sigma") ||
        !strcmp(f, "--seed") || !strcmp(f, "--occlusion-value") || !strcmp(f, "--hop-frames"))
        return -1;
    return 0;
}

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
    o->target = a->target ? es_clip_target(in, a->target) : es_clip_default_target(in);
    if (o->target < 0)
        return cli_lib_fail();
    if (es_clip_baseline(in, a->baseline, &a->base, o) != 0)
        return cli_lib_fail();
    return 0;
}

/* ---- the verb ------------------------------------------------------------------------------ */
const char usage_saliency[] =
    "usage: earsight saliency [-m MODEL] --input FILE [FILE…] --method M [options] -o OUT.npy\n"
    "\n"
    "The signed attribution of one class score to every input value: a .npy map with exactly\n"
    "the input's shape (a .npy input), or (mels × frames) for a sound. A sound longer than\n"
    "the model's frames is explained window by window and the maps are stitched.\n"
    "Several inputs share the loaded model; then -o and --png name folders.\n"
    "\n"
    "  -m, --model FILE    ONNX model (default: the shipped bird detector)\n"
    "  -i, --input FILE    .npy tensor (batch dim optional) or a sound\n"
    "  -o, --output FILE   the map as .npy (written whole or not at all)\n"
    "  --json              {input, method, target, label, score, probabilities, delta (IG),\n"
    "                      windows: [{start_frame, score, probability}]} on stdout\n"
    "  --png FILE          a picture: the input with the map over it\n"
    "  --overlay MODE      heat|blended|masked|alpha (blended)   --sign absolute|positive|\n"
    "                      negative|all (absolute)   --outlier-perc P (2)   --alpha A (0.5)\n"
    "  --layout quad       four panels: input, |map|, positive, negative\n"
    "  --cmap NAME  --size WxH (1000x450)  --title TEXT\n"
    "  -j, --jobs N        threads   -q, --quiet   print nothing on success\n"
    "method options:\n" SAL_FLAGS_HELP;

typedef struct {
    sal_args a;
    const char *model, *out, *png, *mode, *sign, *cmap, *title, *layout;
    const char *inputs[256];
    int n_inputs, json, quiet, w, h;
    float outlier, alpha;
} options;

static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (f[0] != '-' || !f[1]) {
            if (o->n_inputs == 256)
                return cli_usage("saliency", "at most 256 inputs");
            o->inputs[o->n_inputs++] = f;
            continue;
        }
        int used = sal_flag(&o->a, "saliency", f, v);
        if (used < 0)
            return 2;
        if (used == 0) {
            const char **s = !strcmp(f, "-m") || !strcmp(f, "--model")    ? &o->model
                             : !strcmp(f, "-o") || !strcmp(f, "--output") ? &o->out
                             : !strcmp(f, "-i") || !strcmp(f, "--input")  ? &o->inputs[o->n_inputs]
                             : !strcmp(f, "--png")                        ? &o->png
                             : !strcmp(f, "--overlay")                    ? &o->mode
                             : !strcmp(f, "--sign")                       ? &o->sign
                             : !strcmp(f, "--cmap")                       ? &o->cmap
                             : !strcmp(f, "--title")                      ? &o->title
                             : !strcmp(f, "--layout")                     ? &o->layout
                                                                          : NULL;
            double x;
            if (s) {
                if (!v)
                    return cli_usage("saliency", "%s needs a value", f);
                if (s == &o->inputs[o->n_inputs]) {
                    if (o->n_inputs == 256)
                        return cli_usage("saliency", "at most 256 inputs");
                    o->n_inputs++;
                }
                *s = v, used = 2;
            } else if (!strcmp(f, "--json")) {
                o->json = used = 1;
            } else if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) {
                o->quiet = used = 1;
            } else if (!strcmp(f, "--size")) {
                int hw[2];
                if (pair("saliency", f, v, hw) < 0)
                    return 2;
                o->w = hw[0], o->h = hw[1], used = 2;
            } else if (!strcmp(f, "--outlier-perc") || !strcmp(f, "--alpha")) {
                if (num("saliency", f, v, 0, f[2] == 'a' ? 1 : 100, &x) < 0)
                    return 2;
                *(f[2] == 'a' ? &o->alpha : &o->outlier) = (float)x, used = 2;
            } else if (!strcmp(f, "-j") || !strcmp(f, "--jobs")) {
                if (num("saliency", f, v, 1, 4096, &x) < 0)
                    return 2;
                omp_set_num_threads((int)x), used = 2;
            } else {
                return cli_usage("saliency", "unknown option '%s'", f);
            }
        }
        i += used == 2;
    }
    if (!o->n_inputs)
        return cli_usage("saliency", "no input (--input X.npy or a sound)");
    if (!o->out && !o->png && !o->json)
        return cli_usage("saliency", "nothing to do: give -o OUT.npy, --png OUT.png or --json");
    if (o->layout && strcmp(o->layout, "quad") && strcmp(o->layout, "single"))
        return cli_usage("saliency", "--layout takes quad (or single), not '%s'", o->layout);
    if (o->cmap && !es_cmap_get(o->cmap))
        return cli_usage("saliency", "%s", es_error());
    es_overlay ov;
    if ((o->mode || o->sign) && es_overlay_parse(&ov, o->mode, o->sign) != 0)
        return cli_usage("saliency", "%s", es_error());
    if (!o->a.method)
        return cli_usage("saliency", "no method (--method M)");
    if (es_sal_method_find(o->a.method) < 0)
        return cli_usage("saliency", "unknown method '%s'", o->a.method);
    return 0;
}

/* With several inputs, -o and --png are folders: DIR/NAME.npy, DIR/NAME.png. */
static void out_path(char *buf, size_t cap, const char *dir, const char *in, const char *ext, int many)
{
    if (!many) {
        snprintf(buf, cap, "%s", dir);
        return;
    }
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    const char *dot = strrchr(base, '.');
    int n = dot ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, cap, "%s/%.*s.%s", dir, n, base, ext);
}

/* The PNG is the figure `earsight view` shows: one function composes both (pipeline/figure.c). */
static int render(const options *o, const es_clip *in, const char *file, const float *map,
                  const es_sal_info *info, es_canvas *cv)
{
    es_figure_opts f = ES_FIGURE_OPTS_DEFAULTS;
    f.w = o->w, f.h = o->h, f.mode = o->mode, f.sign = o->sign, f.cmap = o->cmap;
    f.title = o->title, f.outlier = o->outlier, f.alpha = o->alpha;
    f.quad = o->layout && !strcmp(o->layout, "quad");
    return es_figure_render(&f, in, file, o->a.o.method, map, info, cv);
}

static void print_json(const options *o, const es_clip *in, const char *file,
                       const es_sal_info *info)
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
    float *p = malloc(in->classes * sizeof *p);
    if (p) {
        es_clip_probabilities(in, in->scores, p);
        cJSON_AddItemToObject(j, "probabilities", cJSON_CreateFloatArray(p, in->classes));
    }
    if (o->a.o.method == ES_SAL_GRADCAM || o->a.o.method == ES_SAL_GUIDED_GRADCAM) {
        int layer = o->a.o.layer >= 0 ? o->a.o.layer : es_sal_default_layer(in->m.g);
        cJSON_AddStringToObject(j, "layer", layer >= 0 ? es_tensor_name(in->m.g, layer) : "");
    }
    if (o->a.o.method == ES_SAL_IG) { /* several rows: the worst one's delta */
        int worst = 0;
        double rel = 0;
        for (int r = 0; r < in->x.dims[0]; r++) {
            double gap = fabs((double)info[r].score - info[r].base_score);
            double e = gap > 0 ? fabs(info[r].delta) / gap : 0;
            if (r == 0 || e > rel)
                rel = e, worst = r;
        }
        cJSON_AddNumberToObject(j, "baseline_score", info[worst].base_score);
        cJSON_AddNumberToObject(j, "delta", info[worst].delta);
        cJSON_AddNumberToObject(j, "delta_relative", rel);
    }
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    cJSON_AddItemToObject(j, "shape", cJSON_CreateIntArray(d, nd));
    if (in->audio) {
        cJSON *ws = cJSON_AddArrayToObject(j, "windows");
        for (int w = 0; p && w < in->x.dims[0]; w++) {
            cJSON *e = cJSON_CreateObject();
            es_clip_probabilities(in, in->scores + (size_t)w * in->classes, p);
            cJSON_AddNumberToObject(e, "start_frame", w * in->hop);
            cJSON_AddNumberToObject(e, "score", in->scores[(size_t)w * in->classes + info->target]);
            cJSON_AddNumberToObject(e, "probability", p[info->target]);
            if (o->a.o.method == ES_SAL_IG)
                cJSON_AddNumberToObject(e, "delta", info[w].delta);
            cJSON_AddItemToArray(ws, e);
        }
    }
    free(p);
    char *s = cJSON_PrintUnformatted(j);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(j);
}

static int one_input(options *o, es_clip *in, const char *file, int many)
{
    int rc = sal_resolve(&o->a, in, "saliency");
    if (rc)
        return rc;
    size_t n = es_clip_map_size(in);
    float *map = malloc(n * sizeof *map);
    es_sal_info info = {0}, *rows_info = NULL;
    es_canvas cv = {0};
    char npy[4096], png[4096];
    if (!map)
        return cli_fail("out of memory");
    rc = 1;
    if (!(rows_info = calloc(in->x.dims[0], sizeof *rows_info))) {
        cli_fail("out of memory");
        goto done;
    }
    if (es_clip_saliency_rows(in, &o->a.o, map, rows_info) != 0) {
        cli_lib_fail();
        goto done;
    }
    info = rows_info[0];
    if (o->png && render(o, in, file, map, &info, &cv) != 0) {
        cli_fail("%s: %s", o->png, es_error());
        goto done;
    }
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    out_path(npy, sizeof npy, o->out ? o->out : "", file, "npy", many);
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
        const char *text[] = {"model", in->m.path, "input", file, "method",
                              es_sal_method_name(o->a.o.method), "target", tgt, "score", score,
                              "axes", axes, NULL};
        es_png_opts po = {-1, text};
        out_path(png, sizeof png, o->png, file, "png", many);
        if (es_png_write(png, &cv, &po) != 0) {
            cli_lib_fail();
            if (o->out)
                unlink(npy); /* all outputs or none */
            goto done;
        }
    }
    if (o->json)
        print_json(o, in, file, rows_info);
    rc = 0;
done:
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
    /* one loaded model for every input of the same shape: reload only when the shape changes */
    es_clip in = {0};
    for (int i = 0; i < o.n_inputs && rc == 0; i++) {
        int r = i ? es_clip_next(&in, o.inputs[i], o.a.hop_frames) : 1;
        if (r == 1) { /* the first input, or one of another shape: (re)load */
            es_clip_free(&in);
            r = es_clip_load(&in, o.model, o.inputs[i], o.a.hop_frames);
        }
        rc = r != 0 ? cli_lib_fail() : one_input(&o, &in, o.inputs[i], many);
        sal_args_free(&o.a);
        o.a.o.layer = -1;
    }
    es_clip_free(&in);
    es_viz_shutdown();
    return rc;
}
