/* Dropout, inverted as in every modern framework: in TRAIN each unit is dropped with
 * probability ratio and the kept ones are scaled by 1/(1 − ratio), so the expected output is
 * the input and TEST is the identity. The mask (as the factor each unit got: 0 or
 * 1/(1 − ratio)) comes from the graph's RNG and stays in aux for backward. An optional
 * second output is ONNX's mask, as 1 (kept) / 0 (dropped). */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <string.h>

int es_dropout_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    float r = nd->a.dropout.ratio;
    if (!(r >= 0.0f && r <= 1.0f))
        return es_node_fail(nd, "ratio %g is not a probability", r);
    for (int k = 0; k < nd->n_out; k++)
        es_set_shape(out_t(g, nd, k), x->ndim, x->dims);
    nd->aux_bytes = x->size * sizeof(float);
    return 0;
}

void es_dropout_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data, *f = nd->aux, r = nd->a.dropout.ratio;
    if (p->mode != ES_TRAIN || r == 0.0f) { /* nothing dropped: no draws either */
        memcpy(y, x->data, x->size * sizeof(float));
        for (size_t i = 0; i < x->size; i++)
            f[i] = 1.0f;
    } else {
        /* ratio 1 drops everything (PyTorch gives zeros rather than 0·inf) */
        float keep = r < 1.0f ? 1.0f / (1.0f - r) : 0.0f;
        for (size_t i = 0; i < x->size; i++) { /* serial: one RNG stream, reproducible */
            f[i] = es_rand_uniform(g) >= r ? keep : 0.0f;
            y[i] = x->data[i] * f[i];
        }
    }
    if (nd->n_out > 1) {
        float *m = out_t(g, nd, 1)->data;
        for (size_t i = 0; i < x->size; i++)
            m[i] = f[i] != 0.0f;
    }
}

void es_dropout_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p) || !out_t(g, nd, 0)->needs_grad) /* the mask has no gradient */
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad, *f = nd->aux;
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += dy[i] * f[i];
}

/* ---- the op's row: attributes, ONNX ------------------------------------------------------- */
const es_attrs es_dropout_defaults = {.dropout = {.ratio = 0.5f}};

int es_dropout_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    es_attrs a = es_dropout_defaults;
    a.dropout.ratio = es_onnx_attr_float(nd, "ratio", 0.5f);
    if (es_import_const_float(m, nd, 1, &a.dropout.ratio, "ratio is not a constant") != 0)
        return -1;
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

/* Opset 13 takes the ratio as an input; ONNX's default 0.5 is left out. */
int es_dropout_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    if (n->a.dropout.ratio != 0.5f)
        es_export_input_float(x, n, "ratio", n->a.dropout.ratio);
    return 0;
}
