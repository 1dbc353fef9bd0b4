/* earsight predict -m MODEL --input X.npy|SOUND [-o OUT.npy] [--json] — the model's raw output. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "predict", "usage: earsight predict [-m MODEL] --input FILE [-o OUT.npy] [--json]",
    "Runs the model once (inference mode: batch-norm running statistics, no dropout) and gives\n"
    "its output tensor as the model computes it — the scores, or probabilities when the model\n"
    "itself ends in a softmax.\n"};

typedef struct {
    const char *model, *input, *out;
    int json, quiet;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INPUT(&o->input, "the input: a .npy tensor (float32, C order; batch dim optional), or a\n"
                             "sound, turned into features by the model's earsight.features metadata\n"
                             "(a sound longer than its `frames` gives one output row per window)"),
        OPT_OUTPUT(&o->out, "write the output as .npy (without the batch dim when the input had none)"),
        OPT_JSON(&o->json, "print {model, input, output, shape, values, labels, top} on stdout"),
        OPT_JOBS, OPT_QUIET(&o->quiet), OPT_OPERAND(&o->input, "input"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!o->input)
        return cli_usage("predict", "no input (--input X.npy or a sound)");
    return 0;
}

static int argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

/* A sound in several windows gets one verdict, as `eval` scores files: a two-class model's
 * class 1 by its largest window, more classes by the mean over windows. Returns the class;
 * *score its value, *at the window (binary) or -1. */
static int sound_verdict(const float *y, int rows, int cols, float *score, int *at)
{
    if (cols == 2) {
        *at = 0;
        for (int r = 1; r < rows; r++)
            *at = y[(size_t)r * cols + 1] > y[(size_t)*at * cols + 1] ? r : *at;
        *score = y[(size_t)*at * cols + 1];
        return 1;
    }
    int best = 0;
    *at = -1, *score = -INFINITY;
    for (int k = 0; k < cols; k++) {
        double acc = 0;
        for (int r = 0; r < rows; r++)
            acc += y[(size_t)r * cols + k];
        if (acc / rows > *score)
            *score = (float)(acc / rows), best = k;
    }
    return best;
}

static void print_json(const es_model *m, const options *o, const float *y, int nd,
                       const int *dims, int rows, int cols)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", m->path);
    cJSON_AddStringToObject(j, "input", o->input);
    cJSON_AddStringToObject(j, "output", es_tensor_name(m->g, m->output));
    cJSON_AddItemToObject(j, "shape", cJSON_CreateIntArray(dims, nd));
    cJSON *vals = cJSON_AddArrayToObject(j, "values"), *top = cJSON_AddArrayToObject(j, "top");
    for (int r = 0; r < rows; r++) {
        const float *row = y + (size_t)r * cols;
        cJSON *dst = rows > 1 ? cJSON_CreateArray() : vals;
        for (int k = 0; k < cols; k++)
            cJSON_AddItemToArray(dst, cJSON_CreateNumber(row[k]));
        if (rows > 1)
            cJSON_AddItemToArray(vals, dst);
        int b = argmax(row, cols);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "index", b);
        if (es_model_label(m, b))
            cJSON_AddStringToObject(t, "label", es_model_label(m, b));
        cJSON_AddNumberToObject(t, "score", row[b]);
        cJSON_AddItemToArray(top, t);
    }
    if (rows > 1 && es_is_sound(o->input)) {
        float score;
        int at, k = sound_verdict(y, rows, cols, &score, &at);
        cJSON *v = cJSON_AddObjectToObject(j, "sound");
        cJSON_AddNumberToObject(v, "index", k);
        if (es_model_label(m, k))
            cJSON_AddStringToObject(v, "label", es_model_label(m, k));
        cJSON_AddNumberToObject(v, "score", score);
        cJSON_AddStringToObject(v, "rule", at >= 0 ? "largest window" : "mean over windows");
    }
    if (m->labels) {
        cJSON *labels = cJSON_AddArrayToObject(j, "labels");
        for (int k = 0; k < m->n_labels; k++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(m->labels[k]));
    } else {
        cJSON_AddNullToObject(j, "labels"); /* as `info --json` says it */
    }
    cli_print_json(j);
}

static void print_text(const es_model *m, const options *o, const float *y, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *row = y + (size_t)r * cols;
        int b = argmax(row, cols);
        if (rows > 1)
            printf("%s %d:\n", es_is_sound(o->input) ? "window" : "row", r);
        for (int k = 0; k < cols && k < 50; k++) {
            const char *l = es_model_label(m, k);
            printf("  %3d  %-20s %12.6g%s\n", k, l ? l : "", row[k], k == b ? "  <" : "");
        }
        if (cols > 50)
            printf("  … %d more; top: %d (%.6g)\n", cols - 50, b, row[b]);
    }
    if (rows > 1 && es_is_sound(o->input)) {
        float score;
        int at, k = sound_verdict(y, rows, cols, &score, &at);
        const char *l = es_model_label(m, k);
        if (at >= 0)
            printf("sound: %s %.6g (the largest of %d windows: window %d)\n", l ? l : "class 1",
                   score, rows, at);
        else
            printf("sound: %s %.6g (mean over %d windows)\n", l ? l : "top class", score, rows);
    }
}

int cmd_predict(int argc, char **argv)
{
    options o = {0};
    int r = parse(argc, argv, &o);
    if (r)
        return r;
    es_model m;
    es_array x;
    int had_batch;
    if (es_model_load_for(&m, o.model, o.input, &x, &had_batch) != 0)
        return cli_lib_fail();
    float *y = NULL;
    size_t per;
    int rows = x.dims[0];
    r = es_model_forward_rows(&m, x.data, rows, &y, &per);
    es_array_free(&x);
    if (r != 0) {
        r = cli_lib_fail();
        goto done;
    }
    r = 1;
    int dims[ES_MAX_DIMS];
    int nd = es_tensor_shape(m.g, m.output, dims);
    dims[0] = rows; /* the output of every row, batched as they ran */
    int cols = (int)per;
    int *shape = dims, snd = nd;
    if (!had_batch && nd > 0 && dims[0] == 1) /* the input had no batch dim: nor has the output */
        shape = dims + 1, snd = nd - 1;
    if (o.out && es_npy_save(o.out, y, snd, shape) != 0) {
        cli_lib_fail();
        goto done;
    }
    if (o.json)
        print_json(&m, &o, y, snd, shape, rows, cols);
    else if (!o.quiet && !o.out)
        print_text(&m, &o, y, rows, cols);
    r = 0;
done:
    free(y);
    es_model_free(&m);
    return r;
}
