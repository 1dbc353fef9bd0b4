/* BatchNormalization (ONNX): X (N,C,…), scale, B, running mean, running var (C each).
 * TRAIN normalises with the batch's mean and biased variance and updates the running
 * averages (running = running·momentum + batch·(1 − momentum), the variance unbiased as
 * PyTorch stores it); TEST uses the running statistics. aux keeps the mean and 1/std used,
 * so backward follows exactly what forward did.
 * Fused with the Relu after it (plan.c, es_node.fused_with), forward also applies the Relu in
 * place while the plane is in cache and writes the Relu's bit mask; backward applies the
 * pass's ReLU rule (the true gradient for a plain Relu, relu.c) to the Relu output's gradient
 * as it reads it. Every value is the one the two ops compute apart, so the pair is the same
 * function, one pass over memory fewer each way, and one activation and one gradient fewer in
 * the arena. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <math.h>
#include <string.h>

#define ON(i) (mask[(i) / 32] >> ((i) % 32) & 1) /* the fused Relu's unit i passed */

int es_batchnorm_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    if (x->ndim < 2)
        return es_node_fail(nd, "wants (N,C,...) input");
    for (int k = 1; k < 5; k++)
        if ((int)in_t(g, nd, k)->size != x->dims[1])
            return es_node_fail(nd, "input %d has %zu values for %d channels", k,
                                in_t(g, nd, k)->size, x->dims[1]);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    nd->aux_bytes = 2 * (size_t)x->dims[1] * sizeof(float);
    return 0;
}

/* Channels, elements per channel in one sample (HW), samples. */
static void bn_dims(const es_tensor *x, int *c, size_t *hw, int *n)
{
    *n = x->dims[0], *c = x->dims[1];
    *hw = x->size / ((size_t)*n * *c);
}

void es_batchnorm_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    const float *scale = in_t(g, nd, 1)->data, *bias = in_t(g, nd, 2)->data;
    float *rmean = in_t(g, nd, 3)->data, *rvar = in_t(g, nd, 4)->data;
    float *y = out_t(g, nd, 0)->data, *mean = nd->aux, *istd = mean + x->dims[1];
    int c, n;
    size_t hw;
    bn_dims(x, &c, &hw, &n);
    double cnt = (double)n * hw, mom = nd->a.bn.momentum;
    uint32_t *mask = nd->fused_with ? g->n[nd->fused_with - 1].aux : NULL;
    if (mask)
        memset(mask, 0, (x->size + 31) / 32 * sizeof(uint32_t));
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double mu, var;
        if (p->mode == ES_TRAIN) { /* float sums within a plane (they vectorise), double across */
            double s = 0, ss = 0;
            for (int i = 0; i < n; i++) {
                const float *xp = x->data + ((size_t)i * c + ch) * hw;
                float t = 0;
#pragma omp simd reduction(+ : t)
                for (size_t j = 0; j < hw; j++)
                    t += xp[j];
                s += t;
            }
            mu = s / cnt;
            float fm = (float)mu;
            for (int i = 0; i < n; i++) { /* two passes: exact for large means */
                const float *xp = x->data + ((size_t)i * c + ch) * hw;
                float t = 0;
#pragma omp simd reduction(+ : t)
                for (size_t j = 0; j < hw; j++)
                    t += (xp[j] - fm) * (xp[j] - fm);
                ss += t;
            }
            var = ss / cnt;
            rmean[ch] = (float)(mom * rmean[ch] + (1 - mom) * mu);
            rvar[ch] = (float)(mom * rvar[ch] + (1 - mom) * (cnt > 1 ? ss / (cnt - 1) : var));
        } else {
            mu = rmean[ch], var = rvar[ch];
        }
        float m = (float)mu, is = (float)(1.0 / sqrt(var + nd->a.bn.epsilon));
        mean[ch] = m, istd[ch] = is;
        float a = scale[ch] * is, b = bias[ch] - m * a;
        for (int i = 0; i < n; i++) {
            size_t off = ((size_t)i * c + ch) * hw;
            for (size_t j = 0; j < hw; j++)
                y[off + j] = x->data[off + j] * a + b;
            if (mask)
                es_relu_span(y + off, off, hw, mask);
        }
    }
}

/* The gradient reaching the BN output: its own, or (fused) the Relu's output gradient through
 * the rule. Returns the mask (NULL: not fused) and sets *dy. */
static const uint32_t *incoming(es_graph *g, es_node *nd, const float **dy)
{
    es_node *r = nd->fused_with ? &g->n[nd->fused_with - 1] : NULL;
    es_tensor *ro = r ? out_t(g, r, 0) : NULL;
    if (!ro || !ro->needs_grad) { /* not fused, or the pass starts at the BN output itself */
        *dy = out_t(g, nd, 0)->grad;
        return NULL;
    }
    *dy = ro->grad;
    return r->aux;
}

/* dx (=, or += unless store) gi · the rule's gradient of dy through the fused Relu, for
 * elements off..off+n of the mask: a whole mask word at a time where the span covers one,
 * the ends an element at a time. es_put_grad's one expression for both (the product feeds
 * the store and the add alike, so the compiler fuses it into neither) keeps a gradient bit
 * for bit the same whether the memory plan let this op store first or add after another
 * (test_nn's plan_gradients: separate store and add loops broke it, the add's product fused). */
static void relu_scaled(float *dx, const float *dy, const uint32_t *mask, size_t off, size_t n,
                        float gi, es_relu_rule rule, int store)
{
    size_t j = 0;
    for (; j < n && (off + j) % 32; j++)
        es_put_grad(dx + j, gi * es_relu_rule_grad(rule, ON(off + j), dy[j]), store);
    for (; j + 32 <= n; j += 32) {
        uint32_t m = mask[(off + j) / 32];
        for (int k = 0; k < 32; k++)
            es_put_grad(dx + j + k, gi * es_relu_rule_grad(rule, m >> k & 1, dy[j + k]), store);
    }
    for (; j < n; j++)
        es_put_grad(dx + j, gi * es_relu_rule_grad(rule, ON(off + j), dy[j]), store);
}

void es_batchnorm_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0), *sc = in_t(g, nd, 1), *bi = in_t(g, nd, 2);
    const float *dy, *mean = nd->aux, *istd = mean + x->dims[1];
    const uint32_t *mask = incoming(g, nd, &dy);
    es_relu_rule rule = mask ? es_relu_node_rule(&g->n[nd->fused_with - 1], p) : p->rule;
    int c, n;
    size_t hw;
    bn_dims(x, &c, &hw, &n);
    int want_x = wants_grad(g, nd, 0, p), want_s = wants_grad(g, nd, 1, p);
    int want_b = wants_grad(g, nd, 2, p);
    double cnt = (double)n * hw;
    /* TEST mode and no parameter gradients (a saliency pass): dx = γ/σ·dy, nothing to sum */
    int sums = want_s || want_b || p->mode == ES_TRAIN;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0, sdyx = 0; /* Σ dy, Σ dy·x̂ */
        float m = mean[ch], is = istd[ch];
        for (int i = 0; sums && i < n; i++) {
            const float *xp = x->data + ((size_t)i * c + ch) * hw, *dp = dy + ((size_t)i * c + ch) * hw;
            float s1 = 0, s2 = 0; /* float within a plane (vectorises), double across */
            size_t off = ((size_t)i * c + ch) * hw;
            if (mask) {
#pragma omp simd reduction(+ : s1, s2)
                for (size_t j = 0; j < hw; j++) {
                    float d = es_relu_rule_grad(rule, ON(off + j), dp[j]);
                    s1 += d;
                    s2 += d * (xp[j] - m);
                }
            } else {
#pragma omp simd reduction(+ : s1, s2)
                for (size_t j = 0; j < hw; j++) {
                    s1 += dp[j];
                    s2 += dp[j] * (xp[j] - m);
                }
            }
            sdy += s1;
            sdyx += (double)s2 * is;
        }
        if (want_s)
            sc->grad[ch] += (float)sdyx;
        if (want_b)
            bi->grad[ch] += (float)sdy;
        if (!want_x)
            continue;
        float gi = sc->data[ch] * is;
        /* TRAIN: dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); TEST: the statistics are
         * constants, dx = γ/σ·dy. */
        float mdy = p->mode == ES_TRAIN ? (float)(sdy / cnt) : 0.0f;
        float k = p->mode == ES_TRAIN ? (float)(sdyx / cnt) * is : 0.0f; /* x̂·mean = (x−μ)·k */
        int store = es_fresh(p, 0);
        for (int i = 0; i < n; i++) {
            size_t off = ((size_t)i * c + ch) * hw;
            const float *xp = x->data + off, *dp = dy + off;
            float *dx = x->grad + off;
            if (!sums && !mask) /* x unread: the memory plan keeps it only when it is needed */
                for (size_t j = 0; j < hw; j++)
                    es_put_grad(dx + j, gi * dp[j], store);
            else if (!sums)
                relu_scaled(dx, dp, mask, off, hw, gi, rule, store);
            else if (!mask)
                for (size_t j = 0; j < hw; j++)
                    es_put_grad(dx + j, gi * (dp[j] - mdy - (xp[j] - m) * k), store);
            else
                for (size_t j = 0; j < hw; j++)
                    es_put_grad(dx + j, gi * (es_relu_rule_grad(rule, ON(off + j), dp[j]) - mdy - (xp[j] - m) * k), store);
        }
    }
}

/* ---- the op's row: attributes, ONNX, initialisation ------------------------------------- */
const es_attrs es_batchnorm_defaults = {.bn = {.epsilon = 1e-5f, .momentum = 0.9f}};

int es_batchnorm_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[5];
    if (es_import_data(m, nd, &in[0]) != 0)
        return -1;
    for (int k = 1; k < 5; k++) {
        if (es_import_input(m, nd, k, k < 3 ? ES_T_PARAM : ES_T_STATE, &in[k]) != 0)
            return -1;
        if (in[k] < 0)
            return es_import_fail(nd, "wants scale, B, mean and var", NULL);
    }
    for (size_t k = 1; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k])
            return es_import_fail(nd, "training-mode outputs are not supported", NULL);
    if (es_onnx_attr_int(nd, "spatial", 1) != 1)
        return es_import_fail(nd, "spatial=0 is not supported", NULL);
    es_attrs a = es_batchnorm_defaults;
    a.bn.epsilon = es_onnx_attr_float(nd, "epsilon", 1e-5f);
    a.bn.momentum = es_onnx_attr_float(nd, "momentum", 0.9f);
    if (!(a.bn.epsilon >= 0 && a.bn.epsilon < INFINITY) || !isfinite(a.bn.momentum))
        return es_import_fail(nd, "epsilon and momentum must be finite, epsilon >= 0", NULL);
    /* a negative variance has no square root: the output would be NaN, or (var + eps > 0)
     * a plausible wrong scale */
    const es_tensor *var = es_import_tensor(m, in[4]);
    for (size_t k = 0; var->data && k < var->size; k++)
        if (!(var->data[k] >= 0))
            return es_fail("running variance %s holds %g at index %zu: a variance is >= 0 "
                           "(node %s)", var->name, var->data[k], k, es_import_out(nd));
    return es_import_add(m, nd, NULL, op, &a, 5, in, es_import_out(nd));
}

int es_batchnorm_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_float(x, "epsilon", n->a.bn.epsilon);
    es_export_float(x, "momentum", n->a.bn.momentum);
    return 0;
}

/* scale 1, shift 0, running mean 0, running variance 1: the identity until trained. */
void es_batchnorm_init(es_graph *g, es_node *n, es_init kind)
{
    for (size_t j = 0; j < in_t(g, n, 1)->size; j++) {
        in_t(g, n, 1)->data[j] = in_t(g, n, 4)->data[j] = 1.0f;
        in_t(g, n, 2)->data[j] = in_t(g, n, 3)->data[j] = 0.0f;
    }
}
