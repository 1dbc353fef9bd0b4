/* Training: initialisation, losses, SGD (momentum, Nesterov) and Adam as torch.optim has
 * them, and one mini-batch step. */
#include "nn/graph.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* He (fan in, ReLU gain) or Xavier (fan in + fan out) over the first two dims times the
 * kernel extent. */
void es_init_weight(es_graph *g, es_tensor *w, es_tensor *b, int out_dim, es_init kind)
{
    if (w->kind != ES_T_PARAM)
        return;
    double rf = 1;
    for (int i = 2; i < w->ndim; i++)
        rf *= w->dims[i];
    double fi = w->dims[1 - out_dim] * rf, fo = w->dims[out_dim] * rf;
    double he = sqrt(2.0 / fi), xav = sqrt(6.0 / (fi + fo));
    for (size_t j = 0; j < w->size; j++)
        w->data[j] = (float)(kind == ES_INIT_HE ? he * es_rand_normal(g)
                                                : xav * (2 * es_rand_uniform(g) - 1));
    if (b && b->kind == ES_T_PARAM)
        memset(b->data, 0, b->size * sizeof(float));
}

/* Node by node, in order (the RNG draws follow the graph): each op's own init. */
int es_graph_init(es_graph *g, es_init kind, uint64_t seed)
{
    es_graph_seed(g, seed);
    es_graph_touched(g);
    for (int i = 0; i < g->nn; i++)
        es_ops[g->n[i].op].init(g, &g->n[i], kind);
    return 0;
}

float es_softmax_xent(const float *logits, const int *labels, int n, int c, float *dlogits)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * c;
        float mx = z[0];
        for (int j = 1; j < c; j++)
            mx = z[j] > mx ? z[j] : mx;
        double s = 0;
        for (int j = 0; j < c; j++)
            s += exp(z[j] - mx);
        loss += log(s) - (z[labels[i]] - mx);
        if (dlogits)
            for (int j = 0; j < c; j++)
                dlogits[(size_t)i * c + j] = (float)((exp(z[j] - mx) / s - (j == labels[i])) / n);
    }
    return (float)(loss / n);
}

float es_sigmoid_bce(const float *logits, const float *targets, int n, float *dlogits)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double z = logits[i], t = targets[i];
        /* −t·log σ(z) − (1−t)·log(1−σ(z)) = max(z,0) − z·t + log(1 + e^−|z|) */
        loss += (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));
        if (dlogits)
            dlogits[i] = (float)((1.0 / (1.0 + exp(-z)) - t) / n);
    }
    return (float)(loss / n);
}

struct es_optimizer {
    es_graph *g;
    es_optim_config c;
    int *params, np; /* tensor ids */
    float **m, **v;  /* per parameter: momentum / Adam first and second moments */
    long step;
    float *dz;       /* es_train_step's loss gradient, reused across steps */
    size_t dz_cap;
};

es_optim_config es_optim_default(es_optim_kind kind)
{
    es_optim_config c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == ES_SGD)
        c.lr = 0.01f, c.momentum = 0.9f, c.nesterov = 1;
    else
        c.lr = 1e-3f;
    return c;
}

void es_optimizer_free(es_optimizer *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->np; i++) {
        free(o->m[i]);
        free(o->v ? o->v[i] : NULL);
    }
    free(o->m);
    free(o->v);
    free(o->dz);
    free(o->params);
    free(o);
}

es_optimizer *es_optimizer_new(es_graph *g, const es_optim_config *c)
{
    es_optimizer *o = calloc(1, sizeof *o);
    if (!o)
        goto oom;
    o->g = g, o->c = *c;
    for (int i = 0; i < g->nt; i++)
        o->np += g->t[i].kind == ES_T_PARAM;
    o->params = calloc(o->np + 1, sizeof(int));
    o->m = calloc(o->np + 1, sizeof(float *));
    o->v = c->kind == ES_ADAM ? calloc(o->np + 1, sizeof(float *)) : NULL;
    if (!o->params || !o->m || (c->kind == ES_ADAM && !o->v))
        goto oom;
    for (int i = 0, k = 0; i < g->nt; i++) {
        if (g->t[i].kind != ES_T_PARAM)
            continue;
        o->params[k] = i;
        o->m[k] = calloc(g->t[i].size, sizeof(float));
        if (!o->m[k] || (o->v && !(o->v[k] = calloc(g->t[i].size, sizeof(float)))))
            goto oom;
        k++;
    }
    return o;
oom:
    es_optimizer_free(o);
    es_fail("optimizer: out of memory");
    return NULL;
}

int es_optimizer_step(es_optimizer *o)
{
    const es_optim_config *c = &o->c;
    o->step++;
    es_graph_touched(o->g);
    double bc1 = 1 - pow(c->beta1, (double)o->step), bc2 = 1 - pow(c->beta2, (double)o->step);
    int reached = 0;
    for (int k = 0; k < o->np; k++)
        reached |= o->g->t[o->params[k]].grad_fresh;
    if (!reached)
        return es_fail("optimizer: no parameter has a gradient (backward with ES_GRAD_PARAMS "
                       "first)");
    for (int k = 0; k < o->np; k++) {
        es_tensor *t = &o->g->t[o->params[k]];
        if (!t->grad_fresh) /* the loss does not depend on it: left alone, as torch.optim does */
            continue;
        float *w = t->data, *m = o->m[k], *v = o->v ? o->v[k] : NULL;
        for (size_t i = 0; i < t->size; i++) {
            float gr = t->grad[i] + c->weight_decay * w[i];
            if (c->kind == ES_ADAM) {
                m[i] = c->beta1 * m[i] + (1 - c->beta1) * gr;
                v[i] = c->beta2 * v[i] + (1 - c->beta2) * gr * gr;
                w[i] -= (float)(c->lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + c->eps));
            } else if (c->momentum > 0) {
                m[i] = c->momentum * m[i] + gr;
                w[i] -= c->lr * (c->nesterov ? gr + c->momentum * m[i] : m[i]);
            } else {
                w[i] -= c->lr * gr;
            }
        }
    }
    return 0;
}

void es_optimizer_set_lr(es_optimizer *o, float lr)
{
    o->c.lr = lr;
}

int es_train_step(es_graph *g, es_optimizer *o, int input, const float *x, int n, int logits,
                  const int *labels, float *loss, int *correct)
{
    es_tensor *in = &g->t[input];
    if (in->kind != ES_T_INPUT)
        return es_fail("train step: tensor %s is not an input", in->name);
    if (in->dims[0] != n && es_graph_set_batch(g, n) != 0)
        return -1;
    memcpy(in->data, x, in->size * sizeof(float));
    if (es_forward(g, o->c.frozen_stats ? ES_TEST : ES_TRAIN) != 0)
        return -1;
    es_tensor *z = &g->t[logits];
    if (z->ndim != 2 || z->dims[0] != n)
        return es_fail("train step: logits %s are not (batch, classes)", z->name);
    int c = z->dims[1];
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= c)
            return es_fail("train step: label %d outside 0..%d", labels[i], c - 1);
    if (z->size > o->dz_cap) {
        float *d = realloc(o->dz, z->size * sizeof(float));
        if (!d)
            return es_fail("out of memory");
        o->dz = d, o->dz_cap = z->size;
    }
    float l = es_softmax_xent(z->data, labels, n, c, o->dz);
    if (correct) { /* before backward, which may reuse the logits' memory (plan.c) */
        *correct = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < c; j++)
                best = z->data[(size_t)i * c + j] > z->data[(size_t)i * c + best] ? j : best;
            *correct += best == labels[i];
        }
    }
    if (es_backward(g, logits, o->dz, ES_RELU_STANDARD, ES_GRAD_PARAMS) != 0 ||
        es_optimizer_step(o) != 0)
        return -1;
    if (loss)
        *loss = l;
    return 0;
}

int es_bn_precise(es_graph *g, int input, const float *x, int n, int k)
{
    es_tensor *in = &g->t[input];
    if (in->kind != ES_T_INPUT)
        return es_fail("precise batch norm: tensor %s is not an input", in->name);
    if (k < 1)
        return es_fail("precise batch norm: batch %d of the pass (1, 2, ...)", k);
    if (in->dims[0] != n && es_graph_set_batch(g, n) != 0)
        return -1;
    memcpy(in->data, x, in->size * sizeof(float));
    /* running = running·m + batch·(1 − m) with m = (k−1)/k is the mean of the k batches */
    float *keep = malloc((g->nn + 1) * sizeof *keep);
    if (!keep)
        return es_fail("out of memory");
    for (int i = 0; i < g->nn; i++)
        if (g->n[i].op == ES_OP_BATCHNORM)
            keep[i] = g->n[i].a.bn.momentum, g->n[i].a.bn.momentum = (float)(k - 1) / k;
    int rc = es_forward(g, ES_TRAIN);
    for (int i = 0; i < g->nn; i++)
        if (g->n[i].op == ES_OP_BATCHNORM)
            g->n[i].a.bn.momentum = keep[i];
    free(keep);
    return rc;
}
