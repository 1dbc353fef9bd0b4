/* The builder: one call a layer (es_nn.h). Each layer is the ONNX node(s) it stands for, its
 * weights named NAME.weight / NAME.bias (batch norm adds NAME.running_mean / _var), as in a
 * PyTorch state_dict. */
#include "nn/graph.h"
#include <stdio.h>

static int param(es_graph *g, const char *layer, const char *what, es_tensor_kind kind, int ndim,
                 const int *dims)
{
    char name[256];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    return es_tensor_add(g, name, kind, ndim, dims, NULL);
}

/* A node with one output named like the layer. */
static int node1(es_graph *g, es_op_type op, const char *name, const es_attrs *a, int n_in,
                 const int *in)
{
    int nd = es_node_add(g, op, name, a, n_in, in, 1, (const char *const[]){name});
    return nd < 0 ? -1 : g->n[nd].out[0];
}

int es_input(es_graph *g, const char *name, int ndim, const int *dims)
{
    int d[ES_MAX_DIMS] = {1};
    if (ndim < 1 || ndim >= ES_MAX_DIMS)
        return es_fail("input %s: %d dimensions", name, ndim);
    for (int i = 0; i < ndim; i++)
        d[i + 1] = dims[i];
    return es_tensor_add(g, name, ES_T_INPUT, ndim + 1, d, NULL);
}

int es_dense(es_graph *g, const char *name, int x, int units)
{
    if (x < 0)
        return -1;
    if (g->t[x].ndim != 2) { /* (N, ...) -> (N, features) */
        char fl[256];
        snprintf(fl, sizeof fl, "%s.flatten", name);
        if ((x = node1(g, ES_OP_FLATTEN, fl, NULL, 1, &x)) < 0)
            return -1;
    }
    int w = param(g, name, "weight", ES_T_PARAM, 2, (int[]){units, g->t[x].dims[1]}), b;
    if (w < 0 || (b = param(g, name, "bias", ES_T_PARAM, 1, &units)) < 0)
        return -1;
    es_attrs a = es_gemm_defaults;
    a.gemm.trans_b = 1;
    return node1(g, ES_OP_GEMM, name, &a, 3, (int[]){x, w, b});
}

int es_conv(es_graph *g, const char *name, int x, int maps, int kh, int kw, int stride, int pad,
            int bias)
{
    if (x < 0)
        return -1;
    int one_d = g->t[x].ndim == 3, s = one_d ? 1 : 2;
    int k[2] = {one_d ? kw : kh, kw};
    if (g->t[x].ndim != 3 && g->t[x].ndim != 4)
        return es_fail("conv %s: wants (N,C,L) or (N,C,H,W) input", name);
    int wd[4] = {maps, g->t[x].dims[1], k[0], k[1]};
    int w = param(g, name, "weight", ES_T_PARAM, 2 + s, wd), b = -1;
    if (w < 0 || (bias && (b = param(g, name, "bias", ES_T_PARAM, 1, &maps)) < 0))
        return -1;
    es_attrs a = es_conv_defaults;
    es_window *cw = &a.conv.w;
    for (int i = 0; i < s; i++) {
        cw->kernel[i] = k[i];
        cw->stride[i] = stride;
        /* "same" for stride 1: an even kernel puts the extra row at the end, as PyTorch */
        cw->pads[i] = pad < 0 ? (k[i] - 1) / 2 : pad;
        cw->pads[s + i] = pad < 0 ? k[i] / 2 : pad;
    }
    return node1(g, ES_OP_CONV, name, &a, bias ? 3 : 2, (int[]){x, w, b});
}

int es_batchnorm(es_graph *g, const char *name, int x)
{
    if (x < 0)
        return -1;
    if (g->t[x].ndim < 2)
        return es_fail("batchnorm %s: wants (N,C,...) input", name);
    int c = g->t[x].dims[1], in[5] = {x};
    static const char *what[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++)
        if ((in[k + 1] = param(g, name, what[k], k < 2 ? ES_T_PARAM : ES_T_STATE, 1, &c)) < 0)
            return -1;
    for (int i = 0; i < c; i++) /* scale 1, variance 1: the identity until trained */
        g->t[in[1]].data[i] = g->t[in[4]].data[i] = 1.0f;
    return node1(g, ES_OP_BATCHNORM, name, NULL, 5, in);
}

static int unary(es_graph *g, es_op_type op, const char *name, int x, const es_attrs *a)
{
    return x < 0 ? -1 : node1(g, op, name, a, 1, &x);
}

int es_relu(es_graph *g, const char *name, int x) { return unary(g, ES_OP_RELU, name, x, NULL); }
int es_sigmoid(es_graph *g, const char *name, int x) { return unary(g, ES_OP_SIGMOID, name, x, NULL); }
int es_softmax(es_graph *g, const char *name, int x) { return unary(g, ES_OP_SOFTMAX, name, x, NULL); }

int es_dropout(es_graph *g, const char *name, int x, float ratio)
{
    es_attrs a = es_dropout_defaults;
    a.dropout.ratio = ratio;
    return unary(g, ES_OP_DROPOUT, name, x, &a);
}

static int pool(es_graph *g, es_op_type op, const char *name, int x, int kh, int kw)
{
    if (x < 0)
        return -1;
    es_attrs a = es_pool_defaults;
    es_window *pw = &a.pool.w;
    if (g->t[x].ndim == 3) {
        pw->kernel[0] = pw->stride[0] = kw;
    } else {
        pw->kernel[0] = pw->stride[0] = kh;
        pw->kernel[1] = pw->stride[1] = kw;
    }
    return unary(g, op, name, x, &a);
}

int es_maxpool(es_graph *g, const char *name, int x, int kh, int kw)
{
    return pool(g, ES_OP_MAXPOOL, name, x, kh, kw);
}

int es_avgpool(es_graph *g, const char *name, int x, int kh, int kw)
{
    return pool(g, ES_OP_AVGPOOL, name, x, kh, kw);
}

int es_global_avgpool(es_graph *g, const char *name, int x)
{
    char fl[256];
    snprintf(fl, sizeof fl, "%s.flatten", name);
    return unary(g, ES_OP_FLATTEN, fl, unary(g, ES_OP_GAP, name, x, NULL), NULL);
}

int es_concat(es_graph *g, const char *name, int a, int b)
{
    return a < 0 || b < 0 ? -1 : node1(g, ES_OP_CONCAT, name, NULL, 2, (int[]){a, b});
}

int es_add(es_graph *g, const char *name, int a, int b)
{
    return a < 0 || b < 0 ? -1 : node1(g, ES_OP_ADD, name, NULL, 2, (int[]){a, b});
}
