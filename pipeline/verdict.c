/* One verdict: a recording's windows become one answer — its class, P(class) and the window
 * that decided — by the model's aggregation rule, the same in every verb and picture. */
#include "pipeline/internal.h"
#include <math.h>
#include <stdio.h>
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
    if (!(v->pw = malloc((size_t)windows * classes * sizeof *v->pw))) {
        es_verdict_free(v);
        return es_fail("out of memory");
    }
    memcpy(v->pw, p, (size_t)windows * classes * sizeof *v->pw);
    v->rule = rule, v->windows = windows, v->classes = classes;
    v->frame0 = v->frame1 = -1;
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
    free(v->pc), free(v->pw), free(v->flags);
    memset(v, 0, sizeof *v);
}

int es_verdict_place(es_verdict *v, const es_feature_config *c, int frames,
                     const unsigned char *flags)
{
    v->F = c->frames > 0 ? c->frames : frames, v->frames = frames;
    es_axis x, y;
    es_feature_axes(c, 1, 0, frames > 0 ? frames : 1, ES_AXES_TIME, &x, &y);
    v->s_frame = (x.hi - x.lo) / (frames > 0 ? frames : 1);
    v->s0 = x.lo + v->s_frame / 2; /* frame 0's centre: a window starts where its frames do */
    v->s0 = fabs(v->s0) < 1e-9 ? 0 : v->s0;
    es_verdict_window(v, v->window, &v->frame0, &v->frame1, &v->t0, &v->t1);
    v->flagged = 0;
    if (!flags)
        return 0;
    if (!(v->flags = malloc((size_t)v->windows)))
        return es_fail("out of memory");
    memcpy(v->flags, flags, (size_t)v->windows);
    for (int w = 0; w < v->windows; w++)
        v->flagged += v->flags[w] != 0;
    return 0;
}

void es_verdict_window(const es_verdict *v, int w, int *f0, int *f1, double *t0, double *t1)
{
    *f0 = *f1 = 0, *t0 = *t1 = 0;
    if (v->F <= 0)
        return;
    *f0 = w * v->F, *f1 = *f0 + v->F < v->frames ? *f0 + v->F : v->frames;
    *t0 = v->s0 + *f0 * v->s_frame, *t1 = v->s0 + *f1 * v->s_frame;
}

void es_model_probabilities(const es_model *m, const float *y, int classes, float *p)
{
    int node = es_node_producing(m->g, m->output);
    es_op_type op = node >= 0 ? es_node_op(m->g, node) : ES_OP_SOFTMAX;
    if (op == ES_OP_SOFTMAX || op == ES_OP_SIGMOID) {
        memcpy(p, y, (size_t)classes * sizeof *p);
        return;
    }
    if (classes == 1)
        p[0] = 1 / (1 + expf(-y[0]));
    else
        es_pl_softmax(y, classes, p);
}

int es_verdict_note(const es_verdict *v, char *buf, size_t cap)
{
    if (cap)
        buf[0] = 0;
    if (!v->flags || !v->flagged)
        return 0;
    int any = 0, silent = 0, n = 0;
    char list[200] = "";
    for (int w = 0; w < v->windows; w++) {
        any |= v->flags[w], silent += (v->flags[w] & ES_WINDOW_SILENT) != 0;
        int f0, f1;
        double t0, t1;
        es_verdict_window(v, w, &f0, &f1, &t0, &t1);
        if (v->flags[w] && n < 150 && v->F > 0)
            n += snprintf(list + n, sizeof list - n, "%s%d: %.2f–%.2f s", n ? ", " : "", w, t0, t1);
        else if (v->flags[w] && n < 150)
            n += snprintf(list + n, sizeof list - n, "%s%d", n ? ", " : "", w);
    }
    if (n >= 150)
        snprintf(list + 146, sizeof list - 146, ", …");
    const char *what = silent == v->flagged      ? "silent"
                       : any == ES_WINDOW_CONSTANT ? "constant"
                                                   : "silent or constant";
    if (v->flagged == v->windows)
        return snprintf(buf, cap, "%s %s: the model cannot judge %s",
                        v->windows == 1 ? "the sound is" : "every window is", what,
                        v->windows == 1 ? "it" : "them");
    return snprintf(buf, cap, "%d of %d windows %s %s (%s)%s: the model cannot judge them",
                    v->flagged, v->windows, v->flagged == 1 ? "is" : "are", what, list,
                    v->flags[v->window] ? ", the deciding one among them" : "");
}

/* ---- windows the model cannot judge ---------------------------------------------------- */

/* The value below which a window is near-silent, in the features' own units. */
static double silence_level(const es_feature_config *c)
{
    double margin_db = c->top_db > 0 ? c->top_db / 2 : 40;
    if (c->log == ES_LOG_DB)
        return 10 * log10(c->amin) + margin_db;
    if (c->log == ES_LOG_LN)
        return log(c->amin) + margin_db * M_LN10 / 10;
    return c->amin * pow(10, margin_db / 10);
}

int es_window_flags(const es_feature_config *c, const float *feat, int bands, int T, int start,
                    int F)
{
    int end = start + F < T ? start + F : T;
    float lo = INFINITY, hi = -INFINITY;
    for (int b = 0; b < bands; b++)
        for (int t = start; t < end; t++) {
            float v = feat[(size_t)b * T + t];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    if (lo > hi) /* no frames */
        return 0;
    int f = hi - lo <= 1e-3f * (fabsf(hi) > 1 ? fabsf(hi) : 1) ? ES_WINDOW_CONSTANT : 0;
    if (c->n_mfcc <= 0 && hi < silence_level(c)) /* MFCCs have no floor of their own */
        f |= ES_WINDOW_SILENT;
    return f;
}

const char *es_window_flags_text(int flags)
{
    switch (flags & (ES_WINDOW_SILENT | ES_WINDOW_CONSTANT)) {
    case ES_WINDOW_SILENT: return "silent";
    case ES_WINDOW_CONSTANT: return "constant";
    case ES_WINDOW_SILENT | ES_WINDOW_CONSTANT: return "silent, constant";
    default: return NULL;
    }
}

int es_clip_verdict(const es_clip *in, const es_aggregate *rule, es_verdict *v)
{
    memset(v, 0, sizeof *v);
    es_aggregate a;
    if (rule)
        a = *rule;
    else if (in->aggregate >= 0)
        a = (es_aggregate)in->aggregate;
    else if (es_model_aggregate(&in->m, in->classes, &a) != 0)
        return -1;
    int rows = in->verdicts, C = in->classes;
    float *p = malloc((size_t)rows * C * sizeof *p);
    if (!p)
        return es_fail("out of memory");
    for (int r = 0; r < rows; r++)
        es_clip_probabilities(in, in->vscores + (size_t)r * C, p + (size_t)r * C);
    int rc = es_verdict_of(v, p, rows, C, a);
    free(p);
    if (rc == 0 && in->audio && es_verdict_place(v, &in->cfg, in->frames, in->vflags) != 0)
        rc = -1, es_verdict_free(v);
    return rc;
}

/* Every window's P of every class of the files idx (n_idx arrays, malloc'd into pw[j]: nw[j]
 * windows × C), in batches of BATCH windows. */
static int dataset_windows_p(es_graph *g, int input, int output, const es_feature_config *c,
                             es_array *feat, const int *idx, int n_idx, int C, float **pw,
                             int *nw)
{
    enum { BATCH = 32 };
    int bands = feat[idx[0]].dims[0], F = c->frames > 0 ? c->frames : feat[idx[0]].dims[1];
    size_t per = (size_t)F * bands;
    float *buf = malloc(per * BATCH * sizeof *buf);
    int *owner = malloc(BATCH * sizeof *owner), *at = malloc(BATCH * sizeof *at), fill = 0, r = 0;
    if (!buf || !owner || !at)
        r = es_fail("out of memory");
    for (int j = 0; j <= n_idx && r == 0; j++) {
        float *w = NULL;
        int n = 0;
        if (j < n_idx && es_dataset_windows(c, &feat[idx[j]], &w, &n) != 0) {
            r = -1;
            break;
        }
        if (j < n_idx && !(pw[j] = malloc((size_t)n * C * sizeof **pw))) {
            free(w);
            r = es_fail("out of memory");
            break;
        }
        if (j < n_idx)
            nw[j] = n;
        for (int k = 0; k <= n && r == 0; k++) {
            /* run the batch when full, or at the very end */
            if ((k < n && fill == BATCH) || (j == n_idx && fill > 0)) {
                if (es_graph_set_batch(g, fill) != 0 ||
                    (memcpy(es_tensor_data(g, input), buf, per * fill * sizeof *buf),
                     es_forward(g, ES_TEST) != 0)) {
                    r = -1;
                    break;
                }
                const float *y = es_tensor_data(g, output);
                for (int b = 0; b < fill; b++)
                    memcpy(pw[owner[b]] + (size_t)at[b] * C, y + (size_t)b * C, C * sizeof *y);
                fill = 0;
            }
            if (k < n) {
                memcpy(buf + per * fill, w + per * k, per * sizeof *buf);
                owner[fill] = j, at[fill++] = k;
            }
        }
        free(w);
    }
    free(buf), free(owner), free(at);
    return r;
}

int es_dataset_verdicts(es_graph *g, int input, int output, const es_feature_config *c,
                        es_array *feat, const int *idx, int n_idx, int n_classes,
                        const es_aggregate *rule, es_verdict *v)
{
    memset(v, 0, (size_t)n_idx * sizeof *v);
    float **pw = calloc(n_idx, sizeof *pw);
    int *nw = calloc(n_idx, sizeof *nw), r = -1;
    if (!pw || !nw) {
        free(pw), free(nw);
        return es_fail("out of memory");
    }
    es_aggregate a = rule ? *rule : n_classes <= 2 ? ES_AGGREGATE_MAX : ES_AGGREGATE_MEAN;
    if (dataset_windows_p(g, input, output, c, feat, idx, n_idx, n_classes, pw, nw) == 0) {
        r = 0;
        for (int j = 0; j < n_idx && r == 0; j++) {
            const es_array *f = &feat[idx[j]];
            int bands = f->dims[0], T = f->dims[1], F = c->frames > 0 ? c->frames : T;
            unsigned char *fl = malloc((size_t)nw[j]);
            for (int w = 0; fl && w < nw[j]; w++)
                fl[w] = (unsigned char)es_window_flags(c, f->data, bands, T, w * F, F);
            if (!fl || es_verdict_of(&v[j], pw[j], nw[j], n_classes, a) != 0 ||
                es_verdict_place(&v[j], c, T, fl) != 0)
                r = fl ? -1 : es_fail("out of memory");
            free(fl);
        }
    }
    for (int j = 0; j < n_idx; j++)
        free(pw[j]);
    free(pw), free(nw);
    if (r != 0)
        for (int j = 0; j < n_idx; j++)
            es_verdict_free(&v[j]);
    return r;
}
