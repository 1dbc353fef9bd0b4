/* Softmax and LogSoftmax over one axis (es_axis_attrs, negative from the end): ONNX opset-13
 * semantics, where the other dims are independent (opset < 13 flattened from the axis on;
 * that is the importer's to translate). The tensor is seen as (outer, n, inner) with the
 * axis in the middle. Stable: the row's maximum is subtracted before exp, sums in double. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <string.h>
#include <math.h>

typedef struct {
    size_t outer, n, inner;
} rows;

static int softmax_rows(es_graph *g, es_node *nd, rows *q)
{
    es_tensor *x = in_t(g, nd, 0);
    int r = x->ndim, ax = nd->a.axis.axis < 0 ? nd->a.axis.axis + r : nd->a.axis.axis;
    if (ax < 0 || ax >= r)
        return es_node_fail(nd, "axis %d out of range for a %d-D input", nd->a.axis.axis, r);
    q->outer = q->inner = 1;
    for (int i = 0; i < ax; i++)
        q->outer *= (size_t)x->dims[i];
    for (int i = ax + 1; i < r; i++)
        q->inner *= (size_t)x->dims[i];
    q->n = (size_t)x->dims[ax];
    return 0;
}

static int shape(es_graph *g, es_node *nd)
{
    rows q;
    if (softmax_rows(g, nd, &q) != 0)
        return -1;
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

/* y over one row (n values `s` apart): softmax, or log-softmax when logp. */
static void row_forward(const float *x, float *y, size_t n, size_t s, int logp)
{
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = x[i * s] > m ? x[i * s] : m;
    double z = 0;
    for (size_t i = 0; i < n; i++)
        z += exp((double)x[i * s] - m);
    if (logp) {
        double lz = m + log(z);
        for (size_t i = 0; i < n; i++)
            y[i * s] = (float)(x[i * s] - lz);
    } else {
        for (size_t i = 0; i < n; i++)
            y[i * s] = (float)(exp((double)x[i * s] - m) / z);
    }
}

/* softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − softmax·Σ dy. */
static void row_backward(const float *y, const float *dy, float *dx, size_t n, size_t s, int logp)
{
    double t = 0;
    for (size_t i = 0; i < n; i++)
        t += logp ? dy[i * s] : (double)dy[i * s] * y[i * s];
    for (size_t i = 0; i < n; i++)
        dx[i * s] += logp ? (float)(dy[i * s] - exp(y[i * s]) * t)
                          : (float)(y[i * s] * (dy[i * s] - t));
}

static void forward(es_graph *g, es_node *nd, int logp)
{
    rows q;
    softmax_rows(g, nd, &q);
    const float *x = in_t(g, nd, 0)->data;
    float *y = out_t(g, nd, 0)->data;
    size_t nrows = q.outer * q.inner;
#pragma omp parallel for schedule(static) if (nrows * q.n > 65536)
    for (size_t r = 0; r < nrows; r++) {
        size_t off = r / q.inner * q.n * q.inner + r % q.inner;
        row_forward(x + off, y + off, q.n, q.inner, logp);
    }
}

static void backward(es_graph *g, es_node *nd, const es_pass *p, int logp)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    rows q;
    softmax_rows(g, nd, &q);
    es_tensor *t = out_t(g, nd, 0);
    float *dx = in_t(g, nd, 0)->grad;
    size_t nrows = q.outer * q.inner;
#pragma omp parallel for schedule(static) if (nrows * q.n > 65536)
    for (size_t r = 0; r < nrows; r++) {
        size_t off = r / q.inner * q.n * q.inner + r % q.inner;
        row_backward(t->data + off, t->grad + off, dx + off, q.n, q.inner, logp);
    }
}

int es_softmax_shape(es_graph *g, es_node *nd) { return shape(g, nd); }
void es_softmax_forward(es_graph *g, es_node *nd, const es_pass *p) { forward(g, nd, 0); }
void es_softmax_backward(es_graph *g, es_node *nd, const es_pass *p) { backward(g, nd, p, 0); }
int es_logsoftmax_shape(es_graph *g, es_node *nd) { return shape(g, nd); }
void es_logsoftmax_forward(es_graph *g, es_node *nd, const es_pass *p) { forward(g, nd, 1); }
void es_logsoftmax_backward(es_graph *g, es_node *nd, const es_pass *p) { backward(g, nd, p, 1); }

/* ---- the ops' import (their attributes: es_axis_defaults, es_axis_export in ops.c) -------- */
/* Before opset 13 the op flattened the input to 2-D at `axis` (default 1) and normalised the
 * rows; on the last axis that is the same as opset 13's per-axis rule, other axes become
 * Flatten → Softmax(axis 1) → Reshape. */
int es_softmax_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, x);
    int r = t->ndim, ax, old = es_import_opset(m) < 13;
    if (es_import_axis(nd, es_onnx_attr_int(nd, "axis", old ? 1 : -1), r, &ax) != 0)
        return -1;
    es_attrs a = es_axis_defaults;
    a.axis.axis = ax;
    if (!old || ax == r - 1)
        return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
    int dims[ES_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    char n1[512], n2[512];
    es_import_name(m, es_import_out(nd), "/flat", n1, sizeof n1);
    es_import_name(m, es_import_out(nd), "/rows", n2, sizeof n2);
    int f = es_import_add(m, nd, "/flatten", ES_OP_FLATTEN, &a, 1, &x, n1);
    a.axis.axis = 1;
    int s = f < 0 ? -1 : es_import_add(m, nd, "/rows", op, &a, 1, &f, n2);
    if (s < 0)
        return -1;
    es_attrs shape = es_none_defaults;
    shape.dims.n_list = r;
    for (int d = 0; d < r; d++)
        shape.dims.list[d] = d == 0 ? -1 : dims[d]; /* -1: the batch, whatever it becomes */
    return es_import_add(m, nd, "/reshape", ES_OP_RESHAPE, &shape, 1, &s, es_import_out(nd));
}
