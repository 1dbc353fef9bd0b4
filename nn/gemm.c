/* Gemm (ONNX): Y (M,N) = alpha·op(A)·op(B) + beta·C, op = optional transpose, C broadcast
 * from a scalar, (N), (1,N), (M,1) or (M,N). MatMul: batched, broadcast as NumPy does. The
 * dense layer is Gemm with transB = 1 (weights stored (out, in)). */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <cblas.h>
#include <string.h>

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

/* MatMul: A (…,M,K) · B (…,K,N) -> (…,M,N), the batch dims (all but the last two) broadcast
 * as NumPy does; each output matrix is one sgemm on the A and B matrices it reads. A 2-D B
 * (the dense layer) folds A's batch into M: one sgemm for all. */
typedef struct {
    int m, k, n, nb, r;     /* nb output matrices; r: the output's rank */
    int dims[ES_MAX_DIMS];  /* the output's dims */
    size_t sa[ES_MAX_DIMS], sb[ES_MAX_DIMS]; /* element strides of A, B per dim, 0: broadcast */
} mm_dims;

static int matmul_geom(es_graph *g, es_node *nd, mm_dims *d)
{
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    memset(d, 0, sizeof *d); /* a folded batch: zero strides, mm_offsets gives 0 */
    if (a->ndim < 2 || b->ndim < 2)
        return es_node_fail(nd, "wants A and B of rank >= 2, got %d-D and %d-D", a->ndim, b->ndim);
    d->m = a->dims[a->ndim - 2], d->k = a->dims[a->ndim - 1], d->n = b->dims[b->ndim - 1];
    if (b->dims[b->ndim - 2] != d->k)
        return es_node_fail(nd, "A has %d columns, B has %d rows", d->k, b->dims[b->ndim - 2]);
    if (b->ndim == 2) { /* fold A's batch into M */
        d->r = a->ndim, d->nb = 1, d->m = 1;
        memcpy(d->dims, a->dims, a->ndim * sizeof(int));
        for (int i = 0; i < a->ndim - 1; i++)
            d->m *= a->dims[i];
        d->dims[d->r - 1] = d->n;
        return 0;
    }
    d->r = a->ndim > b->ndim ? a->ndim : b->ndim;
    d->nb = 1;
    for (int i = 0; i < d->r - 2; i++) {
        int ia = i - (d->r - a->ndim), ib = i - (d->r - b->ndim);
        int da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return es_node_fail(nd, "batch dims %d and %d do not broadcast", da, db);
        d->dims[i] = da == 1 ? db : da;
        d->nb *= d->dims[i];
    }
    d->dims[d->r - 2] = d->m, d->dims[d->r - 1] = d->n;
    es_bcast_strides(a, d->r, d->dims, d->sa); /* (the batch dims' are whole matrices) */
    es_bcast_strides(b, d->r, d->dims, d->sb);
    return 0;
}

/* The offsets (in elements) of output matrix i's A and B. */
static void mm_offsets(const mm_dims *d, int i, size_t *oa, size_t *ob)
{
    *oa = *ob = 0;
    for (int j = d->r - 3; j >= 0; j--) {
        int ix = i % d->dims[j];
        i /= d->dims[j];
        *oa += ix * d->sa[j], *ob += ix * d->sb[j];
    }
}

int es_matmul_shape(es_graph *g, es_node *nd)
{
    mm_dims d;
    if (matmul_geom(g, nd, &d) != 0)
        return -1;
    es_set_shape(out_t(g, nd, 0), d.r, d.dims);
    return 0;
}

void es_matmul_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    mm_dims d;
    matmul_geom(g, nd, &d);
    const float *a = in_t(g, nd, 0)->data, *b = in_t(g, nd, 1)->data;
    float *y = out_t(g, nd, 0)->data;
    size_t my = (size_t)d.m * d.n;
    for (int i = 0; i < d.nb; i++) {
        size_t oa, ob;
        mm_offsets(&d, i, &oa, &ob);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.m, d.n, d.k, 1.0f, a + oa, d.k,
                    b + ob, d.n, 0.0f, y + i * my, d.n);
    }
}

/* dA += dY·Bᵀ, dB += Aᵀ·dY per output matrix: a broadcast operand sums over the matrices it
 * served. */
void es_matmul_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    mm_dims d;
    matmul_geom(g, nd, &d);
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    const float *dy = out_t(g, nd, 0)->grad;
    int ga = wants_grad(g, nd, 0, p), gb = wants_grad(g, nd, 1, p);
    size_t my = (size_t)d.m * d.n;
    for (int i = 0; i < d.nb; i++) {
        size_t oa, ob;
        mm_offsets(&d, i, &oa, &ob);
        if (ga)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.m, d.k, d.n, 1.0f, dy + i * my,
                        d.n, b->data + ob, d.n, 1.0f, a->grad + oa, d.k);
        if (gb)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.k, d.n, d.m, 1.0f,
                        a->data + oa, d.k, dy + i * my, d.n, 1.0f, b->grad + ob, d.n);
    }
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
