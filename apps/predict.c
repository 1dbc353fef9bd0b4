/* earsight predict -m MODEL --input X.npy|SOUND [-o OUT.npy] [--json] — the model's raw output. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/verdict.h"
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
    "itself ends in a softmax. A sound is cut into the model's windows side by side and gets\n"
    "one verdict, as eval, saliency and view give it: its class, P(class) and the window that\n"
    "decided, by the model's rule (--aggregate); windows that are silent or constant, which\n"
    "the model cannot judge, are named.\n"};

typedef struct {
    const char *model, *input, *out;
    int json, quiet, aggregate;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INPUT(&o->input, "the input: a .npy tensor (float32, C order; batch dim optional), or a\n"
                             "sound, turned into features by the model's earsight.features metadata\n"
                             "(a sound longer than its `frames` gives one output row per window)"),
        OPT_OUTPUT(&o->out, "write the output as .npy (without the batch dim when the input had none)"),
        OPT_JSON(&o->json, "print {model, input, output, shape, values, labels, top, verdict (a\n"
                           "sound: rule, index, label, p, window, start_s, end_s, window_p,\n"
                           "window_flags, …)} on stdout"),
        OPT_AGGREGATE(&o->aggregate), OPT_JOBS, OPT_QUIET(&o->quiet), OPT_OPERAND(&o->input, "input"), OPT_END};
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

static void print_json(const es_model *m, const options *o, const float *y, int nd,
                       const int *dims, int rows, int cols, const es_verdict *v)
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
    if (v)
        cJSON_AddItemToObject(j, "verdict", verdict_json(v, m));
    if (m->labels) {
        cJSON *labels = cJSON_AddArrayToObject(j, "labels");
        for (int k = 0; k < m->n_labels; k++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(m->labels[k]));
    } else {
        cJSON_AddNullToObject(j, "labels"); /* as `info --json` says it */
    }
    cli_print_json(j);
}

static void print_text(const es_model *m, const options *o, const float *y, int rows, int cols,
                       const es_verdict *v)
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
    if (!v)
        return;
    const char *l = es_model_label(m, v->cls);
    char cls[32], note[512];
    snprintf(cls, sizeof cls, "class %d", v->cls);
    printf("verdict: %s P %.6g (%s of %d window%s; window %d, %.2f–%.2f s, decided)\n",
           l ? l : cls, v->p, es_aggregate_name(v->rule), v->windows, v->windows > 1 ? "s" : "",
           v->window, v->t0, v->t1);
    if (es_verdict_note(v, note, sizeof note) > 0)
        printf("note: %s\n", note);
}

/* A sound's verdict from the output rows y (rows × cols) into *v. 0, or -1 with es_error(). */
static int sound_verdict(const es_model *m, const options *o, const float *y, int rows, int cols,
                         int frames, const unsigned char *flags, es_verdict *v)
{
    es_aggregate a;
    if (!verdict_rule(o->aggregate, &a) && es_model_aggregate(m, cols, &a) != 0)
        return -1;
    es_feature_config c;
    es_config_default(&c);
    if (es_config_from_json(&c, es_meta_get(m->meta, ES_META_FEATURES), m->path) != 0)
        return -1;
    float *p = malloc((size_t)rows * cols * sizeof *p);
    if (!p)
        return es_fail("out of memory");
    for (int r = 0; r < rows; r++)
        es_model_probabilities(m, y + (size_t)r * cols, cols, p + (size_t)r * cols);
    int rc = es_verdict_of(v, p, rows, cols, a);
    free(p);
    if (rc == 0 && es_verdict_place(v, &c, frames, flags) != 0)
        rc = -1, es_verdict_free(v);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    options o = {0};
    int r = parse(argc, argv, &o);
    if (r)
        return r;
    es_model m;
    es_array x;
    es_verdict v = {0}, *vp = NULL;
    unsigned char *flags = NULL;
    int had_batch, frames = 0;
    if (es_model_load_flagged(&m, o.model, &opt_model, o.input, 0, &x, &had_batch, &frames, &flags, NULL) != 0)
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
    if (es_is_sound(o.input)) {
        if (sound_verdict(&m, &o, y, rows, cols, frames, flags, &v) != 0) {
            cli_lib_fail();
            goto done;
        }
        vp = &v;
    }
    if (o.json)
        print_json(&m, &o, y, snd, shape, rows, cols, vp);
    else if (!o.quiet && !o.out)
        print_text(&m, &o, y, rows, cols, vp);
    r = 0;
done:
    es_verdict_free(&v);
    free(flags);
    free(y);
    es_model_free(&m);
    return r;
}
