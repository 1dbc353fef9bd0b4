/* One verdict: a recording's windows become one answer — its class, P(class) and the window
 * that decided — by the model's aggregation rule, the same in every verb and picture. */
#include "pipeline/es_pipeline.h"
#include <stdlib.h>
#include <string.h>

int es_aggregate_parse(const char *name, es_aggregate *a)
{
    if (name && !strcmp(name, "max"))
        return *a = ES_AGGREGATE_MAX, 0;
    if (name && !strcmp(name, "mean"))
        return *a = ES_AGGREGATE_MEAN, 0;
    return es_fail("aggregation '%s' is not max or mean", name ? name : "");
}

const char *es_aggregate_name(es_aggregate a)
{
    return a == ES_AGGREGATE_MEAN ? "mean" : "max";
}

int es_model_aggregate(const es_model *m, int classes, es_aggregate *a)
{
    const char *rule = es_meta_get(m->meta, ES_META_AGGREGATE);
    if (!rule) {
        *a = classes <= 2 ? ES_AGGREGATE_MAX : ES_AGGREGATE_MEAN;
        return 0;
    }
    if (es_aggregate_parse(rule, a) != 0)
        return es_fail("%s: metadata %s is '%s', not max or mean", m->path, ES_META_AGGREGATE,
                       rule);
    return 0;
}

/* The window with the largest P(k) (the first on ties). */
static int best_window(const float *p, int windows, int classes, int k)
{
    int w = 0;
    for (int r = 1; r < windows; r++)
        if (p[(size_t)r * classes + k] > p[(size_t)w * classes + k])
            w = r;
    return w;
}

int es_verdict_of(es_verdict *v, const float *p, int windows, int classes, es_aggregate rule)
{
    memset(v, 0, sizeof *v);
    if (windows < 1 || classes < 1)
        return es_fail("no windows to decide on");
    if (!(v->pc = calloc((size_t)classes, sizeof *v->pc)))
        return es_fail("out of memory");
    v->rule = rule, v->windows = windows, v->classes = classes;
    for (int k = 0; k < classes; k++) {
        double acc = 0;
        for (int r = 0; r < windows; r++)
            acc += p[(size_t)r * classes + k];
        v->pc[k] = rule == ES_AGGREGATE_MEAN
                       ? (float)(acc / windows)
                       : p[(size_t)best_window(p, windows, classes, k) * classes + k];
    }
    int decider = -1; /* a binary detector: P(1)'s window decides either way */
    if (rule == ES_AGGREGATE_MAX && classes == 2) {
        decider = best_window(p, windows, classes, 1);
        v->pc[0] = 1 - v->pc[1];
    }
    for (int k = 1; k < classes; k++)
        if (v->pc[k] > v->pc[v->cls])
            v->cls = k;
    v->p = v->pc[v->cls];
    v->window = decider >= 0 ? decider : best_window(p, windows, classes, v->cls);
    return 0;
}

void es_verdict_free(es_verdict *v)
{
    free(v->pc);
    memset(v, 0, sizeof *v);
}

int es_clip_verdict(const es_clip *in, const es_aggregate *rule, es_verdict *v)
{
    memset(v, 0, sizeof *v);
    es_aggregate a;
    if (rule)
        a = *rule;
    else if (es_model_aggregate(&in->m, in->classes, &a) != 0)
        return -1;
    int rows = in->x.dims[0], C = in->classes;
    float *p = malloc((size_t)rows * C * sizeof *p);
    if (!p)
        return es_fail("out of memory");
    for (int r = 0; r < rows; r++)
        es_clip_probabilities(in, in->scores + (size_t)r * C, p + (size_t)r * C);
    int rc = es_verdict_of(v, p, rows, C, a);
    free(p);
    return rc;
}
