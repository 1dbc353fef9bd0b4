/* earsight bench -m MODEL [--input X] [--method M] [--runs N] [--batch B] [-j N] [--json] —
 * how fast and how large one model runs here: the first call from process start (what a
 * one-shot `predict` or `saliency` pays), the warm loop (min / median / p90), peak RSS and the
 * activations' arena, as the inference engines' own perf tools report them. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include <cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The process's start, as near as a program sees it: before main, after the dynamic loader. */
static double t_process;
__attribute__((constructor)) static void mark_start(void) { t_process = now_ms(); }

typedef enum { M_FORWARD, M_GRAD, M_GUIDED, M_GRADCAM, M_IG, M_SMOOTHGRAD, M_OCCLUSION, M_TRAIN } method;
static const char *const methods[] = {"forward", "grad", "guided", "gradcam", "ig", "smoothgrad",
                                      "occlusion", "train", NULL};

static const opt_cmd cmd = {
    "bench", "usage: earsight bench [-m MODEL] [--input FILE] [--method M] [--runs N] [--batch B] [-j N] [--json]",
    "Times one model on this machine: the first call from process start (loading the model and\n"
    "the input, the first pass), then --runs warm calls (min, median, 90th percentile), the\n"
    "peak resident memory and the activations' arena. Without --input the input is random\n"
    "(normal, seed 1) in the model's declared shape.\n"
    "  forward    a pass in inference mode, --batch rows at once\n"
    "  grad       forward + backward to the input (true gradient), --batch rows\n"
    "  guided     the same with the guided ReLU rule (one saliency map a row)\n"
    "  gradcam, ig, smoothgrad, occlusion   one map of one row as `saliency` makes it;\n"
    "             --batch: samples per pass inside IG, SmoothGrad, occlusion\n"
    "  train      a training step (SGD, Nesterov momentum) on --batch rows\n"};

typedef struct {
    const char *model, *input;
    int method, runs, batch, json, quiet;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INPUT(&o->input, "the input: .npy tensor or a sound, as predict takes it (default:\n"
                             "random, in the model's declared shape)"),
        OPT_ENUM(0, "method", &o->method, methods, "M",
                 "forward (default) | grad | guided | gradcam | ig | smoothgrad |\n"
                 "occlusion | train"),
        OPT_INT(0, "runs", &o->runs, 1, 100000, "N", "warm calls timed after the first (20)"),
        OPT_INT(0, "batch", &o->batch, 1, 65536, "B", "rows per pass (1)"),
        OPT_JSON(&o->json, "{first_ms, load_ms, first_pass_ms, min_ms, median_ms, p90_ms,\n"
                           "peak_rss_mb, arena_mb, runs, method, batch, threads, model, input}"),
        OPT_JOBS, OPT_QUIET(&o->quiet), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    return 0;
}

/* ---- what is timed --------------------------------------------------------------------- */
typedef struct {
    es_model m;
    method how;
    int batch, score, target;
    float *x;         /* batch rows of the input */
    float *seed;      /* grad, guided: the target's one-hot over the score rows */
    int *labels;      /* train */
    es_optimizer *opt;
    es_sal_opts sal;  /* gradcam, ig, smoothgrad, occlusion */
    float *map;
} bench;

static int one_call(bench *b)
{
    es_graph *g = b->m.g;
    size_t n = es_tensor_size(g, b->m.input);
    switch (b->how) {
    case M_FORWARD:
    case M_GRAD:
    case M_GUIDED:
        memcpy(es_tensor_data(g, b->m.input), b->x, n * sizeof *b->x);
        if (es_forward(g, ES_TEST) != 0)
            return -1;
        if (b->how == M_FORWARD)
            return 0;
        return es_backward(g, b->score, b->seed,
                           b->how == M_GUIDED ? ES_RELU_GUIDED : ES_RELU_STANDARD, ES_GRAD_INPUTS);
    case M_TRAIN:
        return es_train_step(g, b->opt, b->m.input, b->x, b->batch, b->score, b->labels, NULL, NULL);
    default:
        return es_saliency(g, b->m.input, b->x, &b->sal, b->map, NULL);
    }
}

/* The method's buffers, once the model and its input are there. */
static int prepare(bench *b)
{
    es_graph *g = b->m.g;
    int per_pass = b->how <= M_GUIDED || b->how == M_TRAIN;
    if (per_pass && es_graph_set_batch(g, b->batch) != 0)
        return -1;
    /* the memory plan the verbs use for the same work (saliency sets its own, the same) */
    int plan = b->how == M_FORWARD ? 0 : b->how == M_TRAIN ? ES_GRAD_INPUTS | ES_GRAD_PARAMS
                                                             : ES_GRAD_INPUTS;
    if (es_graph_plan(g, plan) < 0)
        return -1;
    if ((b->score = es_sal_score_tensor(g)) < 0)
        return -1;
    size_t rows = per_pass ? (size_t)b->batch : 1, row = es_tensor_size(g, b->m.input) / rows;
    size_t classes = es_tensor_size(g, b->score) / rows;
    if (b->how == M_GRAD || b->how == M_GUIDED) {
        if (!(b->seed = calloc(rows * classes, sizeof *b->seed)))
            return es_fail("out of memory");
        for (size_t r = 0; r < rows; r++) /* class 0: any class costs the same */
            b->seed[r * classes] = 1;
    } else if (b->how == M_TRAIN) {
        es_optim_config c = es_optim_default(ES_SGD);
        if (!(b->labels = calloc(rows, sizeof *b->labels)) || !(b->opt = es_optimizer_new(g, &c)))
            return es_fail("out of memory");
        for (size_t r = 0; r < rows; r++)
            b->labels[r] = (int)(r % classes);
    } else if (b->how != M_FORWARD) {
        static const es_sal_method sal[] = {[M_GRADCAM] = ES_SAL_GRADCAM, [M_IG] = ES_SAL_IG,
                                            [M_SMOOTHGRAD] = ES_SAL_SMOOTHGRAD,
                                            [M_OCCLUSION] = ES_SAL_OCCLUSION};
        es_sal_defaults(&b->sal);
        b->sal.method = sal[b->how];
        b->sal.target = 0;
        if (b->batch > 1)
            b->sal.batch = b->batch;
        if (!(b->map = malloc(row * sizeof *b->map)))
            return es_fail("out of memory");
    }
    return 0;
}

/* The model, and batch rows of input: the file's rows in turn, or random numbers. */
static int load_input(bench *b, const options *o)
{
    es_array x = {0};
    int had_batch;
    if (o->input ? es_model_load_for(&b->m, o->model, &opt_model, o->input, &x, &had_batch) != 0
                 : es_model_load(&b->m, o->model, &opt_model) != 0)
        return -1;
    size_t row = es_tensor_size(b->m.g, b->m.input); /* batch 1 as loaded */
    if (!(b->x = malloc((size_t)b->batch * row * sizeof *b->x))) {
        es_array_free(&x);
        return es_fail("out of memory");
    }
    if (o->input) {
        for (int r = 0; r < b->batch; r++)
            memcpy(b->x + r * row, x.data + (size_t)(r % x.dims[0]) * row, row * sizeof *b->x);
    } else {
        es_rng rng = {1};
        es_rng_normal(&rng, b->x, (size_t)b->batch * row);
    }
    es_array_free(&x);
    return 0;
}

static void bench_free(bench *b)
{
    es_optimizer_free(b->opt);
    es_model_free(&b->m);
    free(b->x), free(b->seed), free(b->labels), free(b->map);
}

/* ---- the report -------------------------------------------------------------------------- */
typedef struct {
    double first, load, first_pass, min, median, p90, rss_mb, arena_mb;
    int runs, threads;
} figures;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* min, median, p90 (nearest rank) of n times, which it sorts. */
static void summarize(double *t, int n, figures *f)
{
    qsort(t, n, sizeof *t, cmp_double);
    f->min = t[0];
    f->median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    f->p90 = t[(int)ceil(0.9 * n) - 1];
}

static void print_report(const bench *b, const options *o, const figures *f)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(b->m.g, b->m.input, d);
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", b->m.path);
        cJSON_AddStringToObject(j, "method", methods[b->how]);
        cJSON_AddItemToObject(j, "input", cJSON_CreateIntArray(d, nd));
        cJSON_AddNumberToObject(j, "batch", b->batch);
        cJSON_AddNumberToObject(j, "threads", f->threads);
        cJSON_AddNumberToObject(j, "runs", f->runs);
        const char *keys[] = {"first_ms", "load_ms", "first_pass_ms", "min_ms", "median_ms",
                              "p90_ms", "peak_rss_mb", "arena_mb"};
        const double vals[] = {f->first, f->load, f->first_pass, f->min, f->median, f->p90,
                               f->rss_mb, f->arena_mb};
        for (int k = 0; k < 8; k++) /* 0.001 ms and 0.001 MB are below what a run repeats */
            cJSON_AddNumberToObject(j, keys[k], round(vals[k] * 1000) / 1000);
        cli_print_json(j);
        return;
    }
    if (o->quiet)
        return;
    printf("model      %s, input (", b->m.path);
    for (int k = 0; k < nd; k++)
        printf("%s%d", k ? "x" : "", d[k]);
    printf(")\nmethod     %s, batch %d, %d thread%s, %d warm runs\n", methods[b->how], b->batch,
           f->threads, f->threads > 1 ? "s" : "", f->runs);
    printf("first call %.2f ms from process start (load %.2f ms, first pass %.2f ms)\n", f->first,
           f->load, f->first_pass);
    printf("warm       min %.2f ms, median %.2f ms, p90 %.2f ms\n", f->min, f->median, f->p90);
    printf("peak RSS   %.1f MB\narena      %.1f MB (activations and their gradients)\n",
           f->rss_mb, f->arena_mb);
}

int cmd_bench(int argc, char **argv)
{
    options o = {.runs = 20, .batch = 1};
    parse(argc, argv, &o);
    bench b = {.how = (method)o.method, .batch = o.batch};
    figures f = {.threads = omp_get_max_threads()};
    double t0 = now_ms(), *t = malloc(o.runs * sizeof *t);
    int r = 1;
    if (!t) {
        cli_fail("out of memory");
        goto done;
    }
    if (load_input(&b, &o) != 0 || prepare(&b) != 0) {
        cli_lib_fail();
        goto done;
    }
    double t1 = now_ms();
    if (one_call(&b) != 0)
        goto failed;
    double t2 = now_ms();
    f.load = t1 - t0, f.first_pass = t2 - t1, f.first = t2 - t_process;
    for (f.runs = 0; f.runs < o.runs && !cli_interrupted; f.runs++) { /* Ctrl-C: what ran */
        double s = now_ms();
        if (one_call(&b) != 0)
            goto failed;
        t[f.runs] = now_ms() - s;
    }
    if (f.runs < 1) {
        r = 130;
        goto done;
    }
    summarize(t, f.runs, &f);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    f.rss_mb = ru.ru_maxrss / 1024.0; /* KB on Linux */
    f.arena_mb = es_graph_arena_bytes(b.m.g) / 1048576.0;
    print_report(&b, &o, &f);
    r = 0;
    goto done;
failed:
    es_error_prefix("%s", b.m.path);
    r = cli_lib_fail();
done:
    free(t);
    bench_free(&b);
    return r;
}
