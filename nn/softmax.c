/* Softmax and LogSoftmax over one axis (attrs.axis, negative from the end): ONNX opset-13
 * semantics, where the other dims are independent (opset < 13 flattened from the axis on;
 * that is the importer's to translate). The tensor is seen as (outer, n, inner) with the
 * axis in the middle. Stable: the row's maximum is subtracted before exp, sums in double. */
#include "nn/graph.h"
#include <math.h>

typedef struct {
    size_t outer, n, inner;
} rows;

static int softmax_rows(es_graph *g, es_node *nd, rows *q)
{
    es_tensor *x = in_t(g, nd, 0);
    int r = x->ndim, ax = nd->a.axis < 0 ? nd->a.axis + r : nd->a.axis;
    if (ax < 0 || ax >= r)
        return es_node_fail(nd, "axis %d out of range for a %d-D input", nd->a.axis, r);
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

int softmax_shape(es_graph *g, es_node *nd) { return shape(g, nd); }
void softmax_forward(es_graph *g, es_node *nd, const es_pass *p) { forward(g, nd, 0); }
void softmax_backward(es_graph *g, es_node *nd, const es_pass *p) { backward(g, nd, p, 0); }
int logsoftmax_shape(es_graph *g, es_node *nd) { return shape(g, nd); }
void logsoftmax_forward(es_graph *g, es_node *nd, const es_pass *p) { forward(g, nd, 1); }
void logsoftmax_backward(es_graph *g, es_node *nd, const es_pass *p) { backward(g, nd, p, 1); }
