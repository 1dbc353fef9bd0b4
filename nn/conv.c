/* Conv (ONNX): X (N,C,L) or (N,C,H,W), W (M,C/group,k) or (M,C/group,kh,kw), optional B (M).
 * By im2col + cblas_sgemm; a 1x1 stride-1 unpadded conv multiplies X directly. 1-D is 2-D
 * with H = 1. Backward recomputes the columns rather than keeping them for every layer. */
#include "nn/graph.h"
#include <cblas.h>
#include <string.h>

typedef struct {
    int n, c, h, w;          /* input */
    int m, g, kh, kw;        /* maps, groups, kernel */
    int sh, sw, dh, dw;      /* stride, dilation */
    int pt, pl;              /* padding at the top / left (bottom/right only shape the output) */
    int ho, wo;              /* output */
    int cg, mg, k, p;        /* per group: input channels, maps, column rows (cg·kh·kw), pixels */
    int direct;              /* 1x1, stride 1, no padding: X is its own column matrix */
} geom;

static int conv_geom(es_graph *g, es_node *nd, geom *q)
{
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1);
    const es_attrs *a = &nd->a;
    int one_d = x->ndim == 3;
    if ((x->ndim != 3 && x->ndim != 4) || w->ndim != x->ndim)
        return es_node_fail(nd, "wants X (N,C,L) or (N,C,H,W) and a weight of the same rank");
    memset(q, 0, sizeof *q);
    q->n = x->dims[0], q->c = x->dims[1];
    q->h = one_d ? 1 : x->dims[2], q->w = x->dims[x->ndim - 1];
    q->m = w->dims[0], q->g = a->group > 0 ? a->group : 1;
    q->kh = one_d ? 1 : w->dims[2], q->kw = w->dims[w->ndim - 1];
    int s = one_d ? 1 : 2; /* spatial dims */
    q->sh = one_d ? 1 : a->stride[0], q->sw = a->stride[s - 1];
    q->dh = one_d ? 1 : a->dilation[0], q->dw = a->dilation[s - 1];
    q->pt = one_d ? 0 : a->pads[0], q->pl = a->pads[s - 1];
    int pb = one_d ? 0 : a->pads[2], pr = a->pads[2 * s - 1];
    if ((a->kernel[0] && a->kernel[0] != (one_d ? q->kw : q->kh)) ||
        (!one_d && a->kernel[1] && a->kernel[1] != q->kw))
        return es_node_fail(nd, "kernel_shape disagrees with the weight");
    if (q->c % q->g || q->m % q->g || w->dims[1] != q->c / q->g)
        return es_node_fail(nd, "input has %d channels, weight wants %d x %d groups", q->c,
                            w->dims[1], q->g);
    if (q->sh < 1 || q->sw < 1 || q->dh < 1 || q->dw < 1 || q->pt < 0 || q->pl < 0 || pb < 0 || pr < 0)
        return es_node_fail(nd, "bad stride, dilation or padding");
    q->ho = (q->h + q->pt + pb - q->dh * (q->kh - 1) - 1) / q->sh + 1;
    q->wo = (q->w + q->pl + pr - q->dw * (q->kw - 1) - 1) / q->sw + 1;
    if (q->h + q->pt + pb < q->dh * (q->kh - 1) + 1 || q->w + q->pl + pr < q->dw * (q->kw - 1) + 1)
        return es_node_fail(nd, "kernel larger than the padded input");
    q->cg = q->c / q->g, q->mg = q->m / q->g;
    q->k = q->cg * q->kh * q->kw, q->p = q->ho * q->wo;
    q->direct = q->kh == 1 && q->kw == 1 && q->sh == 1 && q->sw == 1 && !q->pt && !q->pl && !pb && !pr;
    return 0;
}

int conv_shape(es_graph *g, es_node *nd)
{
    geom q;
    if (conv_geom(g, nd, &q) != 0)
        return -1;
    es_tensor *b = in_t(g, nd, 2);
    if (b && (int)b->size != q.m)
        return es_node_fail(nd, "bias has %zu values for %d maps", b->size, q.m);
    int dims[4] = {q.n, q.m, q.ho, q.wo};
    if (in_t(g, nd, 0)->ndim == 3)
        dims[2] = q.wo;
    es_set_shape(out_t(g, nd, 0), in_t(g, nd, 0)->ndim, dims);
    size_t need = q.direct ? 0 : 2 * (size_t)q.k * q.p; /* columns + their gradient */
    if (need > g->ws_need)
        g->ws_need = need;
    return 0;
}

/* col (k x p) from one group's input channels x (cg x h x w). */
static void im2col(const geom *q, const float *x, float *col)
{
#pragma omp parallel for schedule(static) if (q->k * q->p > 32768)
    for (int r = 0; r < q->k; r++) {
        int c = r / (q->kh * q->kw), i = r / q->kw % q->kh, j = r % q->kw;
        float *dst = col + (size_t)r * q->p;
        const float *src = x + (size_t)c * q->h * q->w;
        for (int oy = 0; oy < q->ho; oy++) {
            int iy = oy * q->sh - q->pt + i * q->dh;
            float *d = dst + oy * q->wo;
            if (iy < 0 || iy >= q->h) {
                memset(d, 0, q->wo * sizeof(float));
                continue;
            }
            const float *s = src + (size_t)iy * q->w;
            int x0 = j * q->dw - q->pl;
            for (int ox = 0; ox < q->wo; ox++) {
                int ix = x0 + ox * q->sw;
                d[ox] = ix >= 0 && ix < q->w ? s[ix] : 0.0f;
            }
        }
    }
}

/* Adds col (k x p) back into dx (cg x h x w): the adjoint of im2col. Rows of one channel
 * touch only that channel, so channels run in parallel. */
static void col2im(const geom *q, const float *col, float *dx)
{
#pragma omp parallel for schedule(static) if (q->k * q->p > 32768)
    for (int c = 0; c < q->cg; c++) {
        float *dst = dx + (size_t)c * q->h * q->w;
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++) {
                const float *s = col + ((size_t)(c * q->kh + i) * q->kw + j) * q->p;
                for (int oy = 0; oy < q->ho; oy++) {
                    int iy = oy * q->sh - q->pt + i * q->dh;
                    if (iy < 0 || iy >= q->h)
                        continue;
                    float *d = dst + (size_t)iy * q->w;
                    int x0 = j * q->dw - q->pl;
                    for (int ox = 0; ox < q->wo; ox++) {
                        int ix = x0 + ox * q->sw;
                        if (ix >= 0 && ix < q->w)
                            d[ix] += s[oy * q->wo + ox];
                    }
                }
            }
    }
}

void conv_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    conv_geom(g, nd, &q);
    const float *x = in_t(g, nd, 0)->data, *w = in_t(g, nd, 1)->data;
    es_tensor *b = in_t(g, nd, 2);
    float *y = out_t(g, nd, 0)->data;
    size_t xs = (size_t)q.c * q.h * q.w, ys = (size_t)q.m * q.p;
    for (int n = 0; n < q.n; n++)
        for (int gr = 0; gr < q.g; gr++) {
            const float *xg = x + n * xs + (size_t)gr * q.cg * q.h * q.w;
            float *yg = y + n * ys + (size_t)gr * q.mg * q.p;
            const float *col = xg;
            if (!q.direct) {
                im2col(&q, xg, g->ws);
                col = g->ws;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q.mg, q.p, q.k, 1.0f,
                        w + (size_t)gr * q.mg * q.k, q.k, col, q.p, 0.0f, yg, q.p);
            if (b)
                for (int m = 0; m < q.mg; m++) {
                    float bv = b->data[gr * q.mg + m], *row = yg + (size_t)m * q.p;
                    for (int i = 0; i < q.p; i++)
                        row[i] += bv;
                }
        }
}

void conv_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    conv_geom(g, nd, &q);
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1), *b = in_t(g, nd, 2);
    const float *dy = out_t(g, nd, 0)->grad;
    int want_x = wants_grad(g, nd, 0, p), want_w = wants_grad(g, nd, 1, p);
    int want_b = wants_grad(g, nd, 2, p);
    size_t xs = (size_t)q.c * q.h * q.w, ys = (size_t)q.m * q.p;
    float *col = g->ws, *dcol = g->ws + (size_t)q.k * q.p;
    for (int n = 0; n < q.n; n++)
        for (int gr = 0; gr < q.g; gr++) {
            size_t xoff = n * xs + (size_t)gr * q.cg * q.h * q.w;
            const float *dyg = dy + n * ys + (size_t)gr * q.mg * q.p;
            const float *wg = w->data + (size_t)gr * q.mg * q.k;
            if (want_w) { /* dW (mg x k) += dY (mg x p) · colᵀ */
                const float *c = x->data + xoff;
                if (!q.direct) {
                    im2col(&q, x->data + xoff, col);
                    c = col;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q.mg, q.k, q.p, 1.0f, dyg,
                            q.p, c, q.p, 1.0f, w->grad + (size_t)gr * q.mg * q.k, q.k);
            }
            if (want_b)
                for (int m = 0; m < q.mg; m++) {
                    double s = 0;
                    for (int i = 0; i < q.p; i++)
                        s += dyg[(size_t)m * q.p + i];
                    b->grad[gr * q.mg + m] += (float)s;
                }
            if (want_x) { /* dcol (k x p) = Wᵀ · dY, then scattered back */
                if (q.direct) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q.k, q.p, q.mg, 1.0f, wg,
                                q.k, dyg, q.p, 1.0f, x->grad + xoff, q.p);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q.k, q.p, q.mg, 1.0f, wg,
                                q.k, dyg, q.p, 0.0f, dcol, q.p);
                    col2im(&q, dcol, x->grad + xoff);
                }
            }
        }
}
