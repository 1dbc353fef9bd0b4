/* MaxPool, AveragePool (1-D on (N,C,L), 2-D on (N,C,H,W)) and GlobalAveragePool, with
 * PyTorch's semantics where ONNX leaves room:
 * - ceil_mode: out = ceil((in + pb + pe − d·(k−1) − 1)/s) + 1, less one when the last window
 *   would start at or past the end of input + begin padding (pooling_output_shape).
 * - MaxPool: padding never wins; ties go to the first maximum in scan order (row by row), a
 *   NaN wins as in PyTorch; the argmax is kept in aux for backward.
 * - AveragePool: the divisor is the window clipped to input + end padding (hend = min(hs + k,
 *   H + pe)) with count_include_pad, else the window clipped to the input (avg_pool2d).
 * 1-D pools are 2-D pools with H = 1. Pads must be smaller than the kernel (as ONNX Runtime
 * asks), so every window but a dilated one touches the input. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    int n, c, h, w;     /* input; h = 1 for 1-D */
    int kh, kw, sh, sw, dh, dw;
    int pt, pl, pb, pr; /* padding top, left, bottom, right */
    int ho, wo;
} pgeom;

/* PyTorch's pooling_output_shape_pad_lr; 0 when the kernel does not fit. */
static int pool_out(int in, int k, int s, int d, int pb, int pe, int ceil_mode)
{
    int span = in + pb + pe - d * (k - 1) - 1;
    if (span < 0)
        return 0;
    int o = (ceil_mode ? span + s - 1 : span) / s + 1;
    if (ceil_mode && (o - 1) * s >= in + pb) /* the last window must start inside */
        o--;
    return o;
}

static int pool_geom(es_graph *g, es_node *nd, pgeom *q)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_window *a = &nd->a.pool.w;
    if (x->ndim != 3 && x->ndim != 4)
        return es_node_fail(nd, "wants (N,C,L) or (N,C,H,W) input, got %d-D", x->ndim);
    if (nd->n_out != 1)
        return es_node_fail(nd, "has one output (no indices), asked for %d", nd->n_out);
    int s = x->ndim - 2, one_d = s == 1;
    memset(q, 0, sizeof *q);
    q->n = x->dims[0], q->c = x->dims[1];
    q->h = one_d ? 1 : x->dims[2], q->w = x->dims[x->ndim - 1];
    q->kh = one_d ? 1 : a->kernel[0], q->kw = a->kernel[s - 1];
    q->sh = one_d ? 1 : a->stride[0], q->sw = a->stride[s - 1];
    q->dh = one_d ? 1 : a->dilation[0], q->dw = a->dilation[s - 1];
    q->pt = one_d ? 0 : a->pads[0], q->pl = a->pads[s - 1];
    q->pb = one_d ? 0 : a->pads[2], q->pr = a->pads[2 * s - 1];
    if (q->kh < 1 || q->kw < 1)
        return es_node_fail(nd, "needs kernel_shape");
    if (q->sh < 1 || q->sw < 1 || q->dh < 1 || q->dw < 1)
        return es_node_fail(nd, "bad strides or dilations");
    if (nd->op == ES_OP_AVGPOOL && (q->dh != 1 || q->dw != 1))
        return es_node_fail(nd, "dilations are not supported for average pooling");
    if (q->pt < 0 || q->pl < 0 || q->pb < 0 || q->pr < 0 || q->pt >= q->kh || q->pb >= q->kh ||
        q->pl >= q->kw || q->pr >= q->kw)
        return es_node_fail(nd, "pads must be >= 0 and smaller than the kernel");
    q->ho = pool_out(q->h, q->kh, q->sh, q->dh, q->pt, q->pb, nd->a.pool.ceil_mode);
    q->wo = pool_out(q->w, q->kw, q->sw, q->dw, q->pl, q->pr, nd->a.pool.ceil_mode);
    if (q->ho < 1 || q->wo < 1)
        return es_node_fail(nd, "kernel larger than the padded input");
    return 0;
}

static int pool_shape(es_graph *g, es_node *nd, pgeom *q)
{
    if (pool_geom(g, nd, q) != 0)
        return -1;
    int dims[4] = {q->n, q->c, q->ho, q->wo};
    if (in_t(g, nd, 0)->ndim == 3)
        dims[2] = q->wo;
    es_set_shape(out_t(g, nd, 0), in_t(g, nd, 0)->ndim, dims);
    return 0;
}

/* ---- MaxPool --------------------------------------------------------------------------- */
int es_maxpool_shape(es_graph *g, es_node *nd)
{
    pgeom q;
    if (pool_shape(g, nd, &q) != 0)
        return -1;
    /* argmax of each output within its (H x W) plane; -1 for a window missing the input */
    nd->aux_bytes = out_t(g, nd, 0)->size * sizeof(int32_t);
    return 0;
}

/* The taps [*lo, *hi) of a window starting at `start` (k taps `d` apart) that fall inside
 * [0, n): a kernel far wider than the padded input (2^24 taps, 1 inside) costs what is
 * inside, not 2^48 skipped steps. */
static void taps_inside(int start, int k, int d, int n, int *lo, int *hi)
{
    long first = start < 0 ? ((long)-start + d - 1) / d : 0;
    long last = start >= n ? 0 : ((long)n - 1 - start) / d + 1;
    *lo = (int)(first < k ? first : k);
    *hi = (int)(last < k ? last : k);
    if (*hi < *lo)
        *hi = *lo;
}

void es_maxpool_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    pgeom q;
    pool_geom(g, nd, &q);
    const float *x = in_t(g, nd, 0)->data;
    float *y = out_t(g, nd, 0)->data;
    int32_t *arg = nd->aux;
    int planes = q.n * q.c;
#pragma omp parallel for schedule(static) if ((size_t)planes * q.ho * q.wo * q.kh * q.kw > 65536)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * q.h * q.w;
        size_t o = (size_t)pl * q.ho * q.wo;
        for (int oy = 0; oy < q.ho; oy++)
            for (int ox = 0; ox < q.wo; ox++, o++) {
                int hs = oy * q.sh - q.pt, ws = ox * q.sw - q.pl;
                float best = -INFINITY;
                int32_t bi = -1;
                int i0, i1, j0, j1;
                taps_inside(hs, q.kh, q.dh, q.h, &i0, &i1);
                taps_inside(ws, q.kw, q.dw, q.w, &j0, &j1);
                for (int i = i0; i < i1; i++) {
                    int iy = hs + i * q.dh;
                    for (int j = j0; j < j1; j++) {
                        int ix = ws + j * q.dw;
                        float v = xp[iy * q.w + ix];
                        if (bi < 0 || v > best || isnan(v))
                            best = v, bi = iy * q.w + ix;
                    }
                }
                y[o] = bi < 0 ? 0.0f : best; /* an empty dilated window reads as 0, not -inf */
                arg[o] = bi;
            }
    }
}

/* What both pools' backward starts from: the geometry, dX, dY. */
typedef struct {
    pgeom q;
    float *dx;
    const float *dy;
} pool_grad;

/* 0 when dX is not wanted. */
static int pool_grads(es_graph *g, es_node *nd, const es_pass *p, pool_grad *b)
{
    if (!wants_grad(g, nd, 0, p))
        return 0;
    pool_geom(g, nd, &b->q);
    b->dx = in_t(g, nd, 0)->grad;
    b->dy = out_t(g, nd, 0)->grad;
    return 1;
}

void es_maxpool_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    pool_grad b;
    if (!pool_grads(g, nd, p, &b))
        return;
    const int32_t *arg = nd->aux;
    int planes = b.q.n * b.q.c;
    size_t po = (size_t)b.q.ho * b.q.wo;
#pragma omp parallel for schedule(static) if ((size_t)planes * po > 65536)
    for (int pl = 0; pl < planes; pl++) { /* overlapping windows stay inside one plane */
        float *dp = b.dx + (size_t)pl * b.q.h * b.q.w;
        for (size_t o = (size_t)pl * po; o < (size_t)(pl + 1) * po; o++)
            if (arg[o] >= 0)
                dp[arg[o]] += b.dy[o];
    }
}

/* ---- AveragePool ------------------------------------------------------------------------ */
/* One output's window [*y0,*y1) x [*x0,*x1), clipped to the input, and its divisor. */
static float avg_window(const pgeom *q, int cip, int oy, int ox, int *y0, int *y1, int *x0,
                        int *x1)
{
    int hs = oy * q->sh - q->pt, ws = ox * q->sw - q->pl;
    int he = hs + q->kh < q->h + q->pb ? hs + q->kh : q->h + q->pb;
    int we = ws + q->kw < q->w + q->pr ? ws + q->kw : q->w + q->pr;
    int pool = (he - hs) * (we - ws);
    *y0 = hs > 0 ? hs : 0, *x0 = ws > 0 ? ws : 0;
    *y1 = he < q->h ? he : q->h, *x1 = we < q->w ? we : q->w;
    int div = cip ? pool : (*y1 - *y0) * (*x1 - *x0);
    return div > 0 ? 1.0f / div : 0.0f;
}

int es_avgpool_shape(es_graph *g, es_node *nd)
{
    pgeom q;
    return pool_shape(g, nd, &q);
}

/* 2x2 windows, stride 2, every one inside the input: a DenseNet's transitions. They get
 * their own loops, with no window arithmetic per output. */
static int quads(const pgeom *q)
{
    return q->kh == 2 && q->kw == 2 && q->sh == 2 && q->sw == 2 && q->dh == 1 && q->dw == 1 &&
           !q->pt && !q->pl && 2 * q->ho <= q->h && 2 * q->wo <= q->w;
}

void es_avgpool_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    pgeom q;
    pool_geom(g, nd, &q);
    const float *x = in_t(g, nd, 0)->data;
    float *y = out_t(g, nd, 0)->data;
    int planes = q.n * q.c, cip = nd->a.pool.count_include_pad;
    if (quads(&q)) {
#pragma omp parallel for schedule(static) if ((size_t)planes * q.ho * q.wo > 65536)
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < q.ho; oy++) {
                const float *r0 = x + ((size_t)pl * q.h + 2 * oy) * q.w, *r1 = r0 + q.w;
                float *yr = y + ((size_t)pl * q.ho + oy) * q.wo;
                for (int ox = 0; ox < q.wo; ox++)
                    yr[ox] = 0.25f * ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1]));
            }
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)planes * q.ho * q.wo * q.kh * q.kw > 65536)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * q.h * q.w;
        float *yp = y + (size_t)pl * q.ho * q.wo;
        for (int oy = 0; oy < q.ho; oy++)
            for (int ox = 0; ox < q.wo; ox++) {
                int y0, y1, x0, x1;
                float inv = avg_window(&q, cip, oy, ox, &y0, &y1, &x0, &x1);
                float s = 0;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        s += xp[iy * q.w + ix];
                yp[oy * q.wo + ox] = s * inv;
            }
    }
}

void es_avgpool_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    pool_grad b;
    if (!pool_grads(g, nd, p, &b))
        return;
    int planes = b.q.n * b.q.c, cip = nd->a.pool.count_include_pad;
    if (quads(&b.q)) {
#pragma omp parallel for schedule(static) if ((size_t)planes * b.q.ho * b.q.wo > 65536)
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < b.q.ho; oy++) {
                float *r0 = b.dx + ((size_t)pl * b.q.h + 2 * oy) * b.q.w, *r1 = r0 + b.q.w;
                const float *dr = b.dy + ((size_t)pl * b.q.ho + oy) * b.q.wo;
                for (int ox = 0; ox < b.q.wo; ox++) {
                    float d = 0.25f * dr[ox];
                    r0[2 * ox] += d, r0[2 * ox + 1] += d, r1[2 * ox] += d, r1[2 * ox + 1] += d;
                }
            }
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)planes * b.q.ho * b.q.wo * b.q.kh * b.q.kw > 65536)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = b.dx + (size_t)pl * b.q.h * b.q.w;
        const float *dyp = b.dy + (size_t)pl * b.q.ho * b.q.wo;
        for (int oy = 0; oy < b.q.ho; oy++)
            for (int ox = 0; ox < b.q.wo; ox++) {
                int y0, y1, x0, x1;
                float d = dyp[oy * b.q.wo + ox] * avg_window(&b.q, cip, oy, ox, &y0, &y1, &x0, &x1);
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dp[iy * b.q.w + ix] += d;
            }
    }
}

/* ---- GlobalAveragePool: (N,C,…) -> (N,C,1,…,1), the rank kept as ONNX has it ---------- */
int es_gap_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    if (x->ndim < 3)
        return es_node_fail(nd, "wants (N,C,...) input with spatial dims, got %d-D", x->ndim);
    int dims[ES_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    es_set_shape(out_t(g, nd, 0), x->ndim, dims);
    return 0;
}

void es_gap_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data;
    size_t planes = (size_t)x->dims[0] * x->dims[1], hw = planes ? x->size / planes : 0;
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x->data + pl * hw;
        double s = 0; /* the mean of a long row: accumulate in double */
        for (size_t i = 0; i < hw; i++)
            s += xp[i];
        y[pl] = hw ? (float)(s / hw) : 0.0f;
    }
}

void es_gap_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    size_t planes = (size_t)x->dims[0] * x->dims[1], hw = planes ? x->size / planes : 0;
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (size_t pl = 0; pl < planes; pl++) {
        float d = dy[pl] / (float)hw, *dp = x->grad + pl * hw;
        for (size_t i = 0; i < hw; i++)
            dp[i] += d;
    }
}

/* ---- the ops' rows: attributes, ONNX ------------------------------------------------------ */
const es_attrs es_pool_defaults = {.pool = {.w = {.stride = {1, 1, 1}, .dilation = {1, 1, 1}}}};

int es_pool_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    if (nd->n_output > 1 && nd->output[1] && *nd->output[1])
        return es_import_fail(nd, "the Indices output is not supported", NULL);
    es_attrs a = es_pool_defaults;
    if (!es_onnx_attr(nd, "kernel_shape"))
        return es_import_fail(nd, "no kernel_shape", NULL);
    if (es_import_window(m, nd, x, -1, &a.pool.w) != 0)
        return -1;
    a.pool.ceil_mode = es_onnx_attr_int(nd, "ceil_mode", 0) != 0;
    a.pool.count_include_pad = es_onnx_attr_int(nd, "count_include_pad", 0) != 0;
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

int es_pool_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    const es_tensor *x0 = n->in[0] >= 0 ? &g->t[n->in[0]] : NULL;
    const es_window *a = &n->a.pool.w;
    int s = x0 ? x0->ndim - 2 : 0;
    if (s < 1 || s > 3)
        return es_fail("node %s (%s): input of rank %d", n->name, es_op_name(n->op), s + 2);
    es_export_ints(x, "kernel_shape", a->kernel, s);
    es_export_ints(x, "strides", a->stride, s);
    es_export_ints(x, "pads", a->pads, 2 * s);
    es_export_int(x, "ceil_mode", n->a.pool.ceil_mode);
    if (n->op == ES_OP_AVGPOOL)
        es_export_int(x, "count_include_pad", n->a.pool.count_include_pad);
    else
        for (int k = 0; k < s; k++)
            if (a->dilation[k] != 1) {
                es_export_ints(x, "dilations", a->dilation, s);
                break;
            }
    return 0;
}
