/* Gemm (ONNX): Y (M,N) = alpha·op(A)·op(B) + beta·C, op = optional transpose, C broadcast
 * from a scalar, (N), (1,N), (M,1) or (M,N). MatMul: A (…,M,K) · B (K,N), the leading dims
 * of A folded into M. The dense layer is Gemm with transB = 1 (weights stored (out, in)). */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <cblas.h>

typedef struct {
    int m, n, k;
    int cm, cn; /* C's extent along M and N (1 = broadcast), 0 when C is absent */
} gemm_dims;

static int gemm_geom(es_graph *g, es_node *nd, gemm_dims *d)
{
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1), *c = in_t(g, nd, 2);
    if (a->ndim != 2 || b->ndim != 2)
        return es_node_fail(nd, "wants 2-D A and B, got %d-D and %d-D", a->ndim, b->ndim);
    d->m = nd->a.gemm.trans_a ? a->dims[1] : a->dims[0];
    d->k = nd->a.gemm.trans_a ? a->dims[0] : a->dims[1];
    int kb = nd->a.gemm.trans_b ? b->dims[1] : b->dims[0];
    d->n = nd->a.gemm.trans_b ? b->dims[0] : b->dims[1];
    if (kb != d->k)
        return es_node_fail(nd, "A has %d columns, B has %d rows", d->k, kb);
    d->cm = d->cn = 0;
    if (c) {
        int cm = c->ndim == 2 ? c->dims[0] : 1, cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
        if (c->ndim > 2 || (cm != 1 && cm != d->m) || (cn != 1 && cn != d->n))
            return es_node_fail(nd, "C does not broadcast to (%d,%d)", d->m, d->n);
        d->cm = cm, d->cn = cn;
    }
    return 0;
}

int es_gemm_shape(es_graph *g, es_node *nd)
{
    gemm_dims d = {0};
    if (gemm_geom(g, nd, &d) != 0)
        return -1;
    es_set_shape(out_t(g, nd, 0), 2, (int[]){d.m, d.n});
    return 0;
}

void es_gemm_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    gemm_dims d = {0};
    gemm_geom(g, nd, &d);
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1), *c = in_t(g, nd, 2);
    float *y = out_t(g, nd, 0)->data;
    float beta = 0.0f;
    if (c) {
        for (int i = 0; i < d.m; i++)
            for (int j = 0; j < d.n; j++)
                y[(size_t)i * d.n + j] = c->data[(d.cm > 1 ? i * d.cn : 0) + (d.cn > 1 ? j : 0)];
        beta = nd->a.gemm.beta;
    }
    cblas_sgemm(CblasRowMajor, nd->a.gemm.trans_a ? CblasTrans : CblasNoTrans,
                nd->a.gemm.trans_b ? CblasTrans : CblasNoTrans, d.m, d.n, d.k, nd->a.gemm.alpha, a->data,
                a->dims[1], b->data, b->dims[1], beta, y, d.n);
}

void es_gemm_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    gemm_dims d = {0};
    gemm_geom(g, nd, &d);
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1), *c = in_t(g, nd, 2);
    const float *dy = out_t(g, nd, 0)->grad;
    float al = nd->a.gemm.alpha;
    /* op(A) = dY·op(B)ᵀ; when A is stored transposed, dA = op(B)·dYᵀ. */
    if (wants_grad(g, nd, 0, p)) {
        if (!nd->a.gemm.trans_a)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, nd->a.gemm.trans_b ? CblasNoTrans : CblasTrans,
                        d.m, d.k, d.n, al, dy, d.n, b->data, b->dims[1], 1.0f, a->grad, d.k);
        else
            cblas_sgemm(CblasRowMajor, nd->a.gemm.trans_b ? CblasTrans : CblasNoTrans, CblasTrans,
                        d.k, d.m, d.n, al, b->data, b->dims[1], dy, d.n, 1.0f, a->grad, d.m);
    }
    if (wants_grad(g, nd, 1, p)) {
        if (!nd->a.gemm.trans_b) /* dB (k,n) = op(A)ᵀ·dY */
            cblas_sgemm(CblasRowMajor, nd->a.gemm.trans_a ? CblasNoTrans : CblasTrans, CblasNoTrans,
                        d.k, d.n, d.m, al, a->data, a->dims[1], dy, d.n, 1.0f, b->grad, d.n);
        else /* dB (n,k) = dYᵀ·op(A) */
            cblas_sgemm(CblasRowMajor, CblasTrans, nd->a.gemm.trans_a ? CblasTrans : CblasNoTrans,
                        d.n, d.k, d.m, al, dy, d.n, a->data, a->dims[1], 1.0f, b->grad, d.k);
    }
    if (c && wants_grad(g, nd, 2, p))
        for (int i = 0; i < d.m; i++)
            for (int j = 0; j < d.n; j++)
                c->grad[(d.cm > 1 ? i * d.cn : 0) + (d.cn > 1 ? j : 0)] +=
                    nd->a.gemm.beta * dy[(size_t)i * d.n + j];
}

/* MatMul: A (…,M,K) · B (K,N) -> (…,M,N). */
static int matmul_geom(es_graph *g, es_node *nd, int *m, int *k, int *n)
{
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    if (a->ndim < 2 || b->ndim != 2)
        return es_node_fail(nd, "wants A of rank >= 2 and a 2-D B");
    *k = a->dims[a->ndim - 1], *n = b->dims[1];
    *m = (int)(a->size / *k);
    if (b->dims[0] != *k)
        return es_node_fail(nd, "A has %d columns, B has %d rows", *k, b->dims[0]);
    return 0;
}

int es_matmul_shape(es_graph *g, es_node *nd)
{
    int m = 0, k = 0, n = 0;
    if (matmul_geom(g, nd, &m, &k, &n) != 0)
        return -1;
    es_tensor *a = in_t(g, nd, 0);
    int dims[ES_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++)
        dims[i] = a->dims[i];
    dims[a->ndim - 1] = n;
    es_set_shape(out_t(g, nd, 0), a->ndim, dims);
    return 0;
}

void es_matmul_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    int m = 0, k = 0, n = 0;
    matmul_geom(g, nd, &m, &k, &n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, in_t(g, nd, 0)->data, k,
                in_t(g, nd, 1)->data, n, 0.0f, out_t(g, nd, 0)->data, n);
}

void es_matmul_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    int m = 0, k = 0, n = 0;
    matmul_geom(g, nd, &m, &k, &n);
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    const float *dy = out_t(g, nd, 0)->grad;
    if (wants_grad(g, nd, 0, p))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, dy, n, b->data, n, 1.0f,
                    a->grad, k);
    if (wants_grad(g, nd, 1, p))
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, a->data, k, dy, n, 1.0f,
                    b->grad, n);
}

/* ---- the ops' rows: attributes, ONNX, initialisation ------------------------------------- */
const es_attrs es_gemm_defaults = {.gemm = {.alpha = 1.0f, .beta = 1.0f}};

int es_gemm_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[3], n_in = es_import_xwb(m, nd, in, "no B input");
    if (n_in < 0)
        return -1;
    es_attrs a = es_gemm_defaults;
    a.gemm.alpha = es_onnx_attr_float(nd, "alpha", 1.0f);
    a.gemm.beta = es_onnx_attr_float(nd, "beta", 1.0f);
    a.gemm.trans_a = es_onnx_attr_int(nd, "transA", 0) != 0;
    a.gemm.trans_b = es_onnx_attr_int(nd, "transB", 0) != 0;
    return es_import_add(m, nd, NULL, op, &a, n_in, in, es_import_out(nd));
}

int es_gemm_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_float(x, "alpha", n->a.gemm.alpha);
    es_export_float(x, "beta", n->a.gemm.beta);
    es_export_int(x, "transA", n->a.gemm.trans_a);
    es_export_int(x, "transB", n->a.gemm.trans_b);
    return 0;
}

int es_matmul_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[2];
    if (es_import_data(m, nd, &in[0]) != 0 || es_import_input(m, nd, 1, ES_T_PARAM, &in[1]) != 0)
        return -1;
    if (in[1] < 0)
        return es_import_fail(nd, "no B input", NULL);
    return es_import_add(m, nd, NULL, op, NULL, 2, in, es_import_out(nd));
}

/* B (in, out), or (out, in) with transB (the dense layer); MatMul has no bias. */
void es_gemm_init(es_graph *g, es_node *n, es_init kind)
{
    int tb = n->op == ES_OP_GEMM && n->a.gemm.trans_b;
    es_init_weight(g, in_t(g, n, 1), n->op == ES_OP_GEMM ? in_t(g, n, 2) : NULL, tb ? 0 : 1, kind);
}
