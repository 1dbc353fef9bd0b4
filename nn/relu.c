/* Relu and LeakyRelu. Relu's backward follows the pass's rule (es_nn.h): the true gradient,
 * guided backprop, or deconvnet — the one switch all gradient explanations turn. */
#include "nn/graph.h"

static int same_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

int relu_shape(es_graph *g, es_node *nd) { return same_shape(g, nd); }

void relu_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data;
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (size_t i = 0; i < x->size; i++)
        y[i] = x->data[i] > 0 ? x->data[i] : 0.0f;
}

void relu_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    float *dx = x->grad;
    size_t n = x->size;
    const float *xv = x->data;
    /* one branch-free loop per rule, so each vectorises */
    switch (p->rule) {
    case ES_RELU_STANDARD:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++)
            dx[i] += xv[i] > 0 ? dy[i] : 0.0f;
        break;
    case ES_RELU_GUIDED:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++)
            dx[i] += xv[i] > 0 && dy[i] > 0 ? dy[i] : 0.0f;
        break;
    case ES_RELU_DECONVNET:
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] > 0 ? dy[i] : 0.0f;
        break;
    }
}

int leakyrelu_shape(es_graph *g, es_node *nd) { return same_shape(g, nd); }

void leakyrelu_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data, a = nd->a.alpha;
    for (size_t i = 0; i < x->size; i++)
        y[i] = x->data[i] > 0 ? x->data[i] : a * x->data[i];
}

void leakyrelu_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    float a = nd->a.alpha;
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += x->data[i] > 0 ? dy[i] : a * dy[i];
}
