/* Conv (ONNX): X (N,C,L) or (N,C,H,W), W (M,C/group,k) or (M,C/group,kh,kw), optional B (M).
 * 1-D is 2-D with H = 1. These ways:
 * - 1x1, stride 1, no padding: X is its own column matrix, one GEMM.
 * - stride 1 (the 3x3 "same" convs of DenseNets, ResNets), with at least as many output
 *   pixels as maps: shifted GEMMs, or with 32 maps or fewer the register kernel of
 *   conv_direct.c on the same padded planes. The input is
 *   copied once into a zero-padded plane of width wp; for each kernel tap (i,j) the plane
 *   shifted by i·wp + j is a (C x ho·wp) matrix, and Y += W_ij · that. The output is computed
 *   on the padded width and cropped. No kh·kw-times larger column matrix is written, which
 *   makes it about twice as fast as im2col for the thin layers (M = 15) of a DenseNet.
 *   Backward to the input is the same thing again: a stride-1 conv of dY with the kernel
 *   flipped and transposed. A narrow input (c·kh·kw <= NARROW_K) stacks its shifted planes
 *   into one column matrix instead, for one GEMM with a long K.
 * - anything else (strided, or fewer pixels than maps: a ResNet's last stages, where
 *   repacking the kernel would cost more than the convolution): im2col; backward recomputes
 *   the columns rather than keeping them for every layer.
 * - depthwise (one input channel a group, MobileNets' 3x3 convs): no GEMM at all — a GEMM
 *   with K = kh·kw is all overhead — but direct loops over each output plane, tap by tap,
 *   each tap a run of output pixels whose inputs are inside the image (no padding copies);
 *   planes run on the threads, backward to the input by input plane and to the weights by
 *   output plane, so no two threads write one value.
 * A batch runs its samples on the OpenMP threads, one sample each at a time with one-thread
 * GEMMs inside (OpenBLAS stays serial in a parallel region): one parallel region per layer
 * instead of several per sample, which matters when the cores are shared. A single sample
 * (a saliency pass) runs outside any OpenMP region, so its GEMMs use every thread (inside
 * even an inactive region OpenBLAS would stay on one). */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <limits.h>
#include <cblas.h>
#include <omp.h>
#include <string.h>

typedef struct {
    int n, c, h, w;          /* input */
    int m, g, kh, kw;        /* maps, groups, kernel */
    int sh, sw, dh, dw;      /* stride, dilation */
    int pt, pl, pb, pr;      /* padding: top, left, bottom, right */
    int ho, wo;              /* output */
    int cg, mg, k, p;        /* per group: input channels, maps, column rows (cg·kh·kw), pixels */
    int direct;              /* 1x1, stride 1, no padding: X is its own column matrix */
    int depthwise;           /* one input channel a group: direct loops, no workspace */
    int shifted;             /* stride 1, padding within the kernel's extent: shifted GEMMs */
} geom;

static int conv_geom(es_graph *g, es_node *nd, geom *q)
{
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1);
    const es_window *a = &nd->a.conv.w;
    int one_d = x->ndim == 3;
    if ((x->ndim != 3 && x->ndim != 4) || w->ndim != x->ndim)
        return es_node_fail(nd, "wants X (N,C,L) or (N,C,H,W) and a weight of the same rank");
    memset(q, 0, sizeof *q);
    q->n = x->dims[0], q->c = x->dims[1];
    q->h = one_d ? 1 : x->dims[2], q->w = x->dims[x->ndim - 1];
    q->m = w->dims[0], q->g = nd->a.conv.group > 0 ? nd->a.conv.group : 1;
    q->kh = one_d ? 1 : w->dims[2], q->kw = w->dims[w->ndim - 1];
    int s = one_d ? 1 : 2; /* spatial dims */
    q->sh = one_d ? 1 : a->stride[0], q->sw = a->stride[s - 1];
    q->dh = one_d ? 1 : a->dilation[0], q->dw = a->dilation[s - 1];
    q->pt = one_d ? 0 : a->pads[0], q->pl = a->pads[s - 1];
    int pb = q->pb = one_d ? 0 : a->pads[2], pr = q->pr = a->pads[2 * s - 1];
    if ((a->kernel[0] && a->kernel[0] != (one_d ? q->kw : q->kh)) ||
        (!one_d && a->kernel[1] && a->kernel[1] != q->kw))
        return es_node_fail(nd, "kernel_shape disagrees with the weight");
    if (q->c % q->g || q->m % q->g || w->dims[1] != q->c / q->g)
        return es_node_fail(nd, "input has %d channels, weight wants %d x %d groups", q->c,
                            w->dims[1], q->g);
    if (q->sh < 1 || q->sw < 1 || q->dh < 1 || q->dw < 1 || q->pt < 0 || q->pl < 0 || pb < 0 || pr < 0)
        return es_node_fail(nd, "bad stride, dilation or padding");
    /* sizes a hand-built graph might give: keep every product below in int range */
    const long long lim = 1 << 24;
    if (q->dh > lim || q->dw > lim || q->pt > lim || q->pl > lim || pb > lim || pr > lim ||
        (long long)q->kh * q->kw * q->c > lim * 64 || (long long)q->dh * (q->kh - 1) > lim ||
        (long long)q->dw * (q->kw - 1) > lim)
        return es_node_fail(nd, "kernel, dilation or padding too large");
    q->ho = (q->h + q->pt + pb - q->dh * (q->kh - 1) - 1) / q->sh + 1;
    q->wo = (q->w + q->pl + pr - q->dw * (q->kw - 1) - 1) / q->sw + 1;
    if (q->h + q->pt + pb < q->dh * (q->kh - 1) + 1 || q->w + q->pl + pr < q->dw * (q->kw - 1) + 1)
        return es_node_fail(nd, "kernel larger than the padded input");
    /* the products below are ints: a padded 1x1 input can ask for 2^25 x 2^25 outputs */
    if ((long long)q->ho * q->wo * q->m > INT_MAX)
        return es_node_fail(nd, "output of %d maps of %d x %d is too large", q->m, q->ho, q->wo);
    q->cg = q->c / q->g, q->mg = q->m / q->g;
    q->k = q->cg * q->kh * q->kw, q->p = q->ho * q->wo;
    q->depthwise = q->cg == 1 && q->g > 1;
    q->direct = q->kh == 1 && q->kw == 1 && q->sh == 1 && q->sw == 1 && !q->pt && !q->pl && !pb && !pr;
    int eh = q->dh * (q->kh - 1), ew = q->dw * (q->kw - 1); /* the kernel's extent - 1 */
    /* Shifted GEMMs repack the kernel on every pass (O(weights)) where im2col writes columns
     * (O(weights / maps · pixels)): with fewer output pixels than maps — a ResNet's last
     * stages, 512 maps of 2 x 7 — the repacking would cost more than the convolution. */
    q->shifted = !q->direct && q->sh == 1 && q->sw == 1 && q->pt <= eh && pb <= eh &&
                 q->pl <= ew && pr <= ew && q->p >= q->mg;
    return 0;
}

/* A stride-1 conv whose input is narrow (c·kh·kw rows at most) stacks the shifted planes
 * into one column matrix and makes one GEMM with K = c·kh·kw instead of kh·kw GEMMs with
 * K = c, which would be memory-bound (the backward-to-input of a growth-15 DenseNet layer). */
#define NARROW_K 288

/* Few maps out or few channels in — a DenseNet's growth of 15 forward, and its backward from
 * 15 maps of dY to every input channel — go to the register kernel of conv_direct.c instead
 * of any GEMM: on GEMMs the BAD DenseNet's forward ran at about a quarter of the machine's
 * peak; the kernel made it 1.6x faster with AVX2, and AVX-512 doubled that. The backward
 * from 15 maps (a GEMM with K = 15·9 over stacked planes before) is 1.3x faster there. */
#define DIRECT_M 32
#define DIRECT_TAPS 49

/* How shifted_conv computes m maps from c channels: the register kernel, one GEMM over the
 * stacked shifted planes, or one GEMM a tap. The kernel is kept in the W layout (m, c·taps)
 * by the first two, as one (m x c) matrix a tap by the last. */
typedef enum { SHIFT_DIRECT, SHIFT_STACKED, SHIFT_PER_TAP } shift_way;

static shift_way shift_way_of(int m, int c, int taps)
{
    if ((m <= DIRECT_M || c <= DIRECT_M) && taps <= DIRECT_TAPS)
        return SHIFT_DIRECT;
    return c * taps <= NARROW_K ? SHIFT_STACKED : SHIFT_PER_TAP;
}

/* Floats between output rows on the padded width: n pixels, rounded up to the register
 * kernel's block. */
static size_t out_stride(size_t n, shift_way way)
{
    size_t b = ES_CONV_DIRECT_BLOCK;
    return way == SHIFT_DIRECT ? (n + b - 1) / b * b : n;
}

/* Floats shifted_conv needs for an input (c,h,w) padded to (hp,wp), m output maps, taps:
 * the padded planes (one spare row, and the register kernel's reach past the end), the
 * output on the padded width, and the packed kernel or the stacked columns. */
static size_t shifted_ws(int c, int m, int hp, int wp, int eh, int taps)
{
    shift_way way = shift_way_of(m, c, taps);
    size_t n = (size_t)(hp - eh) * wp;
    size_t extra = way == SHIFT_DIRECT ? (size_t)m * c * taps
                 : way == SHIFT_STACKED ? (size_t)c * taps * n : 0;
    return (size_t)c * (hp + 1) * wp + ES_CONV_DIRECT_BLOCK + (size_t)m * out_stride(n, way) +
           extra;
}

/* Workspace of the shifted path: repacked kernel + the larger of forward, backward to the
 * weights (same padded input, dY on the padded width) and backward to the input (dY padded
 * by the kernel's extent, C maps out). */
static size_t shifted_need(const geom *q)
{
    int eh = q->dh * (q->kh - 1), ew = q->dw * (q->kw - 1);
    int taps = q->kh * q->kw;
    size_t fwd = shifted_ws(q->cg, q->mg, q->h + q->pt + q->pb, q->w + q->pl + q->pr, eh, taps);
    size_t bwd = shifted_ws(q->mg, q->cg, q->ho + 2 * eh - q->pt - q->pb,
                            q->wo + 2 * ew - q->pl - q->pr, eh, taps);
    return (size_t)q->kh * q->kw * q->mg * q->cg + (fwd > bwd ? fwd : bwd);
}

/* Workspace of one sample: the path's own, plus a private weight gradient (mg x k per
 * group) that the threads of a batch add up in a fixed order afterwards. */
static size_t per_thread_ws(const geom *q)
{
    if (q->depthwise)
        return 0;
    size_t path = q->direct ? 0 : q->shifted ? shifted_need(q) : 2 * (size_t)q->k * q->p;
    return path + (size_t)q->m * q->k;
}

/* Threads for a batch: as many as asked for and as the workspace was sized for. */
static int batch_threads(const es_graph *g, const geom *q)
{
    int nt = q->n > 1 ? omp_get_max_threads() : 1;
    if (!per_thread_ws(q))
        return nt;
    size_t fit = g->ws_size / per_thread_ws(q);
    return nt < (int)fit ? nt : fit > 0 ? (int)fit : 1;
}

/* Conv's and ConvTranspose's output (n, maps, h, w), or (n, maps, w) for a 1-D input, and
 * the check of the bias against its maps. */
static int conv_out(es_graph *g, es_node *nd, int n, int maps, int h, int w)
{
    es_tensor *b = in_t(g, nd, 2);
    if (b && (int)b->size != maps)
        return es_node_fail(nd, "bias has %zu values for %d maps", b->size, maps);
    int r = in_t(g, nd, 0)->ndim, dims[4] = {n, maps, r == 3 ? w : h, w};
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}

int es_conv_shape(es_graph *g, es_node *nd)
{
    geom q;
    if (conv_geom(g, nd, &q) != 0 || conv_out(g, nd, q.n, q.m, q.ho, q.wo) != 0)
        return -1;
    size_t need = per_thread_ws(&q) * (q.n > 1 ? omp_get_max_threads() : 1);
    if (q.depthwise)
        need = 0;
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

/* ---- depthwise: one input channel per group ------------------------------------------------ */
/* The outputs ox of one tap whose input column x0 + ox·sw lies in [0, w): [*lo, *hi). */
static void tap_span(const geom *q, int x0, int *lo, int *hi)
{
    int l = x0 < 0 ? (-x0 + q->sw - 1) / q->sw : 0;
    int h = x0 > q->w - 1 ? 0 : (q->w - 1 - x0) / q->sw + 1;
    *lo = l, *hi = h < q->wo ? h : q->wo;
}

/* The input row of output row oy under tap row i, or -1 when it is padding. */
static int tap_row(const geom *q, int oy, int i)
{
    int iy = oy * q->sh - q->pt + i * q->dh;
    return iy >= 0 && iy < q->h ? iy : -1;
}

/* One plane, tap by tap: forward y (ho x wo) += the kernel wk (kh x kw) over x (h x w);
 * back: x += wk's transpose over y (the scatter: x is dX, y is dY). */
static void dw_taps(const geom *q, float *y, float *x, const float *wk, int back)
{
    for (int oy = 0; oy < q->ho; oy++) {
        float *yr = y + (size_t)oy * q->wo;
        for (int i = 0; i < q->kh; i++) {
            int iy = tap_row(q, oy, i);
            if (iy < 0)
                continue;
            float *xr = x + (size_t)iy * q->w;
            for (int j = 0; j < q->kw; j++) {
                int x0 = j * q->dw - q->pl, lo, hi, sw = q->sw;
                float wv = wk[i * q->kw + j];
                tap_span(q, x0, &lo, &hi);
                if (!back && sw == 1) /* the common cases get their own loops: they vectorise */
                    for (int ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xr[x0 + ox];
                else if (!back)
                    for (int ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xr[x0 + ox * sw];
                else if (sw == 1)
                    for (int ox = lo; ox < hi; ox++)
                        xr[x0 + ox] += wv * yr[ox];
                else
                    for (int ox = lo; ox < hi; ox++)
                        xr[x0 + ox * sw] += wv * yr[ox];
            }
        }
    }
}

static void depthwise_forward(const geom *q, const float *x, const float *w, const float *b, float *y)
{
    int planes = q->n * q->m, taps = q->kh * q->kw;
    size_t xs = (size_t)q->h * q->w;
#pragma omp parallel for schedule(static) if ((size_t)planes * q->p * taps > 32768)
    for (int pl = 0; pl < planes; pl++) {
        int n = pl / q->m, m = pl % q->m, c = m / q->mg;
        float *yp = y + (size_t)pl * q->p;
        for (int i = 0; i < q->p; i++)
            yp[i] = b ? b[m] : 0.0f;
        dw_taps(q, yp, (float *)x + ((size_t)n * q->c + c) * xs, w + (size_t)m * taps, 0);
    }
}

/* dwk (kh x kw) += Σ over the batch of dy ⋆ x for output map m: float within a row (it
 * vectorises), double across. */
static void dw_kernel_grad(const geom *q, const float *x, const float *dy, int m, float *dwk)
{
    size_t xs = (size_t)q->h * q->w;
    int c = m / q->mg;
    for (int i = 0; i < q->kh; i++)
        for (int j = 0; j < q->kw; j++) {
            int x0 = j * q->dw - q->pl, lo, hi;
            tap_span(q, x0, &lo, &hi);
            double s = 0;
            for (int n = 0; n < q->n; n++)
                for (int oy = 0; oy < q->ho; oy++) {
                    int iy = tap_row(q, oy, i);
                    if (iy < 0)
                        continue;
                    const float *xr = x + ((size_t)n * q->c + c) * xs + (size_t)iy * q->w + x0;
                    const float *dr = dy + ((size_t)n * q->m + m) * q->p + (size_t)oy * q->wo;
                    float t = 0;
                    for (int ox = lo; ox < hi; ox++)
                        t += dr[ox] * xr[ox * q->sw];
                    s += t;
                }
            dwk[i * q->kw + j] += (float)s;
        }
}

static void depthwise_backward(const geom *q, const float *x, const float *w, const float *dy,
                               float *dx, float *dw)
{
    int taps = q->kh * q->kw;
    size_t xs = (size_t)q->h * q->w, work = (size_t)q->n * q->m * q->p * taps;
    if (dx) {
#pragma omp parallel for schedule(static) if (work > 32768)
        for (int pl = 0; pl < q->n * q->c; pl++) { /* input planes: each written by one thread */
            int n = pl / q->c, c = pl % q->c;
            for (int k = 0; k < q->mg; k++) {
                int m = c * q->mg + k;
                dw_taps(q, (float *)dy + ((size_t)n * q->m + m) * q->p, dx + (size_t)pl * xs,
                        w + (size_t)m * taps, 1);
            }
        }
    }
    if (dw) {
#pragma omp parallel for schedule(static) if (work > 32768)
        for (int m = 0; m < q->m; m++)
            dw_kernel_grad(q, x, dy, m, dw + (size_t)m * taps);
    }
}

/* y (m x ho x wo) (+)= Σ_ij W_ij · x shifted by tap (i,j), stride 1: x is (c,h,w) padded
 * by pt/pl/pb/pr; the kernel wr is laid out as kernel_layout() says. ws holds shifted_ws()
 * floats. */
typedef struct {
    int c, h, w, pt, pl, pb, pr, m, kh, kw, dh, dw;
} shift_args;

/* x (c,h,w) into zero-padded planes of (hp+1) x wp: one spare zero row, since the last
 * taps of the last output row read past hp. */
static void pad_planes(const shift_args *s, const float *x, float *xp)
{
    int hp = s->h + s->pt + s->pb, wp = s->w + s->pl + s->pr;
    size_t plane = (size_t)(hp + 1) * wp;
#pragma omp parallel for schedule(static) if ((size_t)s->c * plane > 65536)
    for (int c = 0; c < s->c; c++) {
        float *d = xp + c * plane;
        const float *src = x + (size_t)c * s->h * s->w;
        memset(d, 0, (size_t)s->pt * wp * sizeof(float));
        for (int r = 0; r < s->h; r++) {
            float *row = d + (size_t)(r + s->pt) * wp;
            memset(row, 0, s->pl * sizeof(float));
            memcpy(row + s->pl, src + (size_t)r * s->w, s->w * sizeof(float));
            memset(row + s->pl + s->w, 0, s->pr * sizeof(float));
        }
        memset(d + (size_t)(s->pt + s->h) * wp, 0, (size_t)(s->pb + 1) * wp * sizeof(float));
    }
}

static void shifted_conv(const shift_args *s, const float *x, const float *wr, float *y,
                         int accumulate, float *ws)
{
    int hp = s->h + s->pt + s->pb, wp = s->w + s->pl + s->pr;
    int ho = hp - s->dh * (s->kh - 1), wo = wp - s->dw * (s->kw - 1);
    size_t plane = (size_t)(hp + 1) * wp;
    int n = ho * wp, taps = s->kh * s->kw;
    shift_way way = shift_way_of(s->m, s->c, taps);
    size_t ns = out_stride((size_t)n, way);
    float *xp = ws, *yp = ws + (size_t)s->c * plane + ES_CONV_DIRECT_BLOCK;
    float *extra = yp + (size_t)s->m * ns;
    pad_planes(s, x, xp);
    if (way == SHIFT_DIRECT) {
        int off[DIRECT_TAPS];
        for (int t = 0; t < taps; t++)
            off[t] = t / s->kw * s->dh * wp + t % s->kw * s->dw;
        /* what the last block reads past the planes: zeros */
        memset(xp + (size_t)s->c * plane, 0, ES_CONV_DIRECT_BLOCK * sizeof *xp);
        es_conv_direct_pack(wr, s->m, s->c, taps, extra);
        es_conv_direct(xp, plane, s->c, taps, off, extra, s->m, yp, ns, n);
    } else if (way == SHIFT_STACKED) {
        /* cols (c·taps x n), row c·taps+ij = plane c shifted by ij */
        float *cols = extra;
#pragma omp parallel for schedule(static) if ((size_t)s->c * taps * n > 65536)
        for (int r = 0; r < s->c * taps; r++) {
            int c = r / taps, i = r % taps / s->kw, j = r % s->kw;
            memcpy(cols + (size_t)r * n, xp + c * plane + i * s->dh * wp + j * s->dw, n * sizeof(float));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, n, s->c * taps, 1.0f, wr,
                    s->c * taps, cols, n, 0.0f, yp, n);
    } else {
        for (int i = 0; i < s->kh; i++)
            for (int j = 0; j < s->kw; j++) {
                int ij = i * s->kw + j;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, n, s->c, 1.0f,
                            wr + (size_t)ij * s->m * s->c, s->c, xp + i * s->dh * wp + j * s->dw,
                            (int)plane, ij ? 1.0f : 0.0f, yp, n);
            }
    }
#pragma omp parallel for schedule(static) if ((size_t)s->m * n > 65536)
    for (int m = 0; m < s->m; m++)
        for (int r = 0; r < ho; r++) {
            float *d = y + ((size_t)m * ho + r) * wo;
            const float *src = yp + (size_t)m * ns + (size_t)r * wp;
            if (accumulate)
                for (int c = 0; c < wo; c++)
                    d[c] += src[c];
            else
                memcpy(d, src, wo * sizeof(float));
        }
}

/* The kernel as shifted_conv wants it, for `rows` output maps over `cols` input channels:
 * the register kernel and the stacked planes take (rows, cols·taps), the W layout itself —
 * W is returned as it is then, without a copy — one GEMM a tap takes one (rows x cols)
 * matrix a tap. flip: the kernel of backward-to-input, W[m][c][taps−1−ij] with the roles of
 * m and c swapped. Otherwise the result is written to wr. The loops run in the order of wr,
 * or in tiles of 16 maps across it, so that every store lands next to the one before: a
 * ResNet's 512 x 512 x 9 kernel scattered tap by tap took as long as the convolution itself. */
static const float *repack(const geom *q, const float *w, float *wr, int flip)
{
    int taps = q->kh * q->kw, mg = q->mg, cg = q->cg;
    int flat = (flip ? shift_way_of(cg, mg, taps) : shift_way_of(mg, cg, taps)) != SHIFT_PER_TAP;
    if (!flip && flat)
        return w;
    if (!flip) { /* wr[t][m][c] = w[m][c][t]: one map's row of w stays in cache */
        for (int m = 0; m < mg; m++)
            for (int t = 0; t < taps; t++) {
                float *d = wr + ((size_t)t * mg + m) * cg;
                const float *s = w + (size_t)m * cg * taps + t;
                for (int c = 0; c < cg; c++)
                    d[c] = s[(size_t)c * taps];
            }
    } else if (flat) { /* wr[c][m][t] = w[m][c][taps−1−t] */
        for (int c = 0; c < cg; c++)
            for (int m = 0; m < mg; m++) {
                float *d = wr + ((size_t)c * mg + m) * taps;
                const float *s = w + ((size_t)m * cg + c) * taps + taps - 1;
                for (int t = 0; t < taps; t++)
                    d[t] = s[-t];
            }
    } else { /* wr[t][c][m] = w[m][c][taps−1−t], 16 maps at a time */
        for (int m0 = 0; m0 < mg; m0 += 16) {
            int m1 = m0 + 16 < mg ? m0 + 16 : mg;
            for (int c = 0; c < cg; c++)
                for (int t = 0; t < taps; t++) {
                    float *d = wr + ((size_t)t * cg + c) * mg;
                    const float *s = w + (size_t)c * taps + taps - 1 - t;
                    for (int m = m0; m < m1; m++)
                        d[m] = s[(size_t)m * cg * taps];
                }
        }
    }
    return wr;
}

static shift_args forward_args(const geom *q)
{
    return (shift_args){q->cg, q->h, q->w, q->pt, q->pl, q->pb, q->pr, q->mg, q->kh, q->kw, q->dh, q->dw};
}

/* One sample: x (c,h,w) -> y (m,ho,wo), every group. */
static void forward_sample(const geom *q, const float *x, const float *w, const float *b,
                           float *y, float *ws)
{
    for (int gr = 0; gr < q->g; gr++) {
        const float *xg = x + (size_t)gr * q->cg * q->h * q->w;
        float *yg = y + (size_t)gr * q->mg * q->p;
        const float *wg = w + (size_t)gr * q->mg * q->k, *col = xg;
        if (q->shifted) {
            size_t taps = (size_t)q->kh * q->kw * q->mg * q->cg;
            shift_args sa = forward_args(q);
            shifted_conv(&sa, xg, repack(q, wg, ws, 0), yg, 0, ws + taps);
        } else {
            if (!q->direct) {
                im2col(q, xg, ws);
                col = ws;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->mg, q->p, q->k, 1.0f, wg,
                        q->k, col, q->p, 0.0f, yg, q->p);
        }
        for (int m = 0; b && m < q->mg; m++) {
            float bv = b[gr * q->mg + m], *row = yg + (size_t)m * q->p;
            for (int i = 0; i < q->p; i++)
                row[i] += bv;
        }
    }
}

void es_conv_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    conv_geom(g, nd, &q);
    const float *x = in_t(g, nd, 0)->data, *w = in_t(g, nd, 1)->data;
    es_tensor *b = in_t(g, nd, 2);
    float *y = out_t(g, nd, 0)->data;
    size_t xs = (size_t)q.c * q.h * q.w, ys = (size_t)q.m * q.p, wss = per_thread_ws(&q);
    if (q.depthwise) {
        depthwise_forward(&q, x, w, b ? b->data : NULL, y);
        return;
    }
    if (q.n == 1) { /* no enclosing region at all, so the GEMMs inside use every thread */
        forward_sample(&q, x, w, b ? b->data : NULL, y, g->ws);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(batch_threads(g, &q))
    for (int n = 0; n < q.n; n++)
        forward_sample(&q, x + n * xs, w, b ? b->data : NULL, y + n * ys,
                       g->ws + omp_get_thread_num() * wss);
}

/* Backward of the shifted path for one sample and group. */
static void shifted_backward(const geom *q, const float *x, const float *w, const float *dy,
                             float *dx, float *dw, int store, float *ws)
{
    size_t taps = (size_t)q->kh * q->kw * q->mg * q->cg;
    int eh = q->dh * (q->kh - 1), ew = q->dw * (q->kw - 1);
    if (dw) { /* dW_ij (mg x cg) = dY on the padded width · (X shifted by ij)ᵀ */
        int hp = q->h + q->pt + q->pb, wp = q->w + q->pl + q->pr, n = q->ho * wp;
        size_t plane = (size_t)(hp + 1) * wp;
        float *dwr = ws, *xp = ws + taps, *dyp = xp + (size_t)q->cg * plane;
        shift_args sa = forward_args(q);
        pad_planes(&sa, x, xp);
        for (int m = 0; m < q->mg; m++)
            for (int r = 0; r < q->ho; r++) {
                float *d = dyp + (size_t)m * n + (size_t)r * wp;
                memcpy(d, dy + ((size_t)m * q->ho + r) * q->wo, q->wo * sizeof(float));
                memset(d + q->wo, 0, (wp - q->wo) * sizeof(float)); /* junk columns add 0 */
            }
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++) {
                int ij = i * q->kw + j;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->mg, q->cg, n, 1.0f, dyp, n,
                            xp + i * q->dh * wp + j * q->dw, (int)plane, 0.0f,
                            dwr + (size_t)ij * q->mg * q->cg, q->cg);
            }
        int nt = q->kh * q->kw;
        for (int m = 0; m < q->mg; m++)
            for (int c = 0; c < q->cg; c++)
                for (int ij = 0; ij < nt; ij++)
                    dw[((size_t)m * q->cg + c) * nt + ij] += dwr[((size_t)ij * q->mg + m) * q->cg + c];
    }
    if (dx) { /* dX = dY padded by the kernel's extent, convolved with the flipped kernel */
        shift_args sa = {q->mg, q->ho, q->wo, eh - q->pt, ew - q->pl, eh - q->pb, ew - q->pr,
                         q->cg, q->kh, q->kw, q->dh, q->dw};
        shifted_conv(&sa, dy, repack(q, w, ws, 1), dx, !store, ws + taps);
    }
}

/* Backward of the im2col and direct paths for one sample and group. */
static void im2col_backward(const geom *q, const float *x, const float *w, const float *dy,
                            float *dx, float *dw, int store, float *ws)
{
    float *col = ws, *dcol = ws + (size_t)q->k * q->p;
    if (dw) { /* dW (mg x k) += dY (mg x p) · colᵀ */
        const float *c = x;
        if (!q->direct) {
            im2col(q, x, col);
            c = col;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->mg, q->k, q->p, 1.0f, dy, q->p,
                    c, q->p, 1.0f, dw, q->k);
    }
    if (dx && q->direct) /* dX (k x p) += Wᵀ · dY */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->k, q->p, q->mg, 1.0f, w, q->k, dy,
                    q->p, store ? 0.0f : 1.0f, dx, q->p);
    if (dx && !q->direct) { /* dcol = Wᵀ · dY, scattered back */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->k, q->p, q->mg, 1.0f, w, q->k, dy,
                    q->p, 0.0f, dcol, q->p);
        if (store) /* col2im adds up overlapping windows */
            memset(dx, 0, (size_t)q->cg * q->h * q->w * sizeof *dx);
        col2im(q, dcol, dx);
    }
}

/* What backward needs of one node, for one sample at a time. */
typedef struct {
    const geom *q;
    const float *x, *w, *dy;
    float *dx;            /* NULL: no input gradient wanted */
    int store;            /* dx holds nothing yet: stored, not added (es_pass.fresh) */
    int want_w;
    size_t path;          /* the weight gradient's offset in a thread's workspace */
} conv_bwd;

static void backward_sample(const conv_bwd *a, int n, float *ws)
{
    const geom *q = a->q;
    size_t xs = (size_t)q->c * q->h * q->w, ys = (size_t)q->m * q->p;
    for (int gr = 0; gr < q->g; gr++) {
        size_t xoff = n * xs + (size_t)gr * q->cg * q->h * q->w, woff = (size_t)gr * q->mg * q->k;
        const float *dyg = a->dy + n * ys + (size_t)gr * q->mg * q->p;
        float *dx = a->dx ? a->dx + xoff : NULL, *dw = a->want_w ? ws + a->path + woff : NULL;
        if (q->shifted)
            shifted_backward(q, a->x + xoff, a->w + woff, dyg, dx, dw, a->store, ws);
        else
            im2col_backward(q, a->x + xoff, a->w + woff, dyg, dx, dw, a->store, ws);
    }
}

void es_conv_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    conv_geom(g, nd, &q);
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1), *b = in_t(g, nd, 2);
    const float *dy = out_t(g, nd, 0)->grad;
    int want_w = wants_grad(g, nd, 1, p), want_b = wants_grad(g, nd, 2, p);
    int nt = batch_threads(g, &q);
    size_t ys = (size_t)q.m * q.p, wss = per_thread_ws(&q), wsize = (size_t)q.m * q.k;
    conv_bwd a = {&q, x->data, w->data, dy, wants_grad(g, nd, 0, p) ? x->grad : NULL,
                  es_fresh(p, 0), want_w, wss - wsize};
    if (q.depthwise) {
        if (a.store && a.dx) /* it adds tap by tap */
            memset(a.dx, 0, es_tensor_size(g, nd->in[0]) * sizeof *a.dx);
        depthwise_backward(&q, x->data, w->data, dy, a.dx, want_w ? w->grad : NULL);
    } else {
        if (want_w) /* each thread's weight gradient lives at the end of its workspace */
            for (int t = 0; t < nt; t++)
                memset(g->ws + t * wss + a.path, 0, wsize * sizeof(float));
        if (q.n == 1) { /* no enclosing region at all, so the GEMMs inside use every thread */
            backward_sample(&a, 0, g->ws);
        } else {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int n = 0; n < q.n; n++)
                backward_sample(&a, n, g->ws + omp_get_thread_num() * wss);
        }
        for (int t = 0; want_w && t < nt; t++) /* in thread order: the same sums every run */
            for (size_t i = 0; i < wsize; i++)
                w->grad[i] += g->ws[t * wss + a.path + i];
    }
    for (int m = 0; want_b && m < q.m; m++) {
        double s = 0;
        for (int n = 0; n < q.n; n++) {
            const float *row = dy + n * ys + (size_t)m * q.p;
            for (int i = 0; i < q.p; i++)
                s += row[i];
        }
        b->grad[m] += (float)s;
    }
}

/* ---- ConvTranspose: the adjoint of a Conv ------------------------------------------------- *
 * X (N,C,h,w) · W (C,M,kh,kw) (group 1) → Y (N,M,ho,wo), ho = (h−1)·sh − pads + dh·(kh−1) + 1
 * + output_padding. Y is what a Conv from (M,ho,wo) to (C,h,w) with the same stride, dilation
 * and pads sends back to its input, so the Conv's col2im and im2col run on the swapped geometry
 * `q`: forward cols = Wᵀ·x then col2im into y; backward dx = W·im2col(dy), dW += x·im2col(dy)ᵀ. */
static int convt_geom(es_graph *g, es_node *nd, geom *q)
{
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1);
    const es_window *a = &nd->a.conv.w;
    int one_d = x->ndim == 3, s = one_d ? 1 : 2;
    if ((x->ndim != 3 && x->ndim != 4) || w->ndim != x->ndim || w->dims[0] != x->dims[1])
        return es_node_fail(nd, "wants X (N,C,L) or (N,C,H,W) and a weight (C,M,k…)");
    if (nd->a.conv.group != 1)
        return es_node_fail(nd, "only group 1 is supported");
    if ((a->kernel[0] && a->kernel[0] != w->dims[2]) ||
        (!one_d && a->kernel[1] && a->kernel[1] != w->dims[3]))
        return es_node_fail(nd, "kernel_shape disagrees with the weight");
    memset(q, 0, sizeof *q);
    q->n = x->dims[0], q->m = x->dims[1], q->g = 1;  /* the Conv's outputs: X's channels */
    q->ho = one_d ? 1 : x->dims[2], q->wo = x->dims[x->ndim - 1];
    q->c = q->cg = w->dims[1], q->kh = one_d ? 1 : w->dims[2], q->kw = w->dims[w->ndim - 1];
    q->sh = one_d ? 1 : a->stride[0], q->sw = a->stride[s - 1];
    q->dh = one_d ? 1 : a->dilation[0], q->dw = a->dilation[s - 1];
    q->pt = one_d ? 0 : a->pads[0], q->pl = a->pads[s - 1];
    q->pb = one_d ? 0 : a->pads[2], q->pr = a->pads[2 * s - 1];
    int oph = one_d ? 0 : nd->a.conv.out_pad[0], opw = nd->a.conv.out_pad[s - 1];
    if (q->sh < 1 || q->sw < 1 || q->dh < 1 || q->dw < 1 || oph < 0 || opw < 0 ||
        oph >= (q->sh > q->dh ? q->sh : q->dh) || opw >= (q->sw > q->dw ? q->sw : q->dw))
        return es_node_fail(nd, "bad stride, dilation or output padding");
    long long h = (long long)(q->ho - 1) * q->sh - q->pt - q->pb + (long long)q->dh * (q->kh - 1) + 1 + oph,
              wd = (long long)(q->wo - 1) * q->sw - q->pl - q->pr + (long long)q->dw * (q->kw - 1) + 1 + opw;
    if (h < 1 || wd < 1 || h * wd * q->c > INT_MAX ||
        (long long)q->c * q->kh * q->kw * q->ho * q->wo > INT_MAX)
        return es_node_fail(nd, "output of %lld x %lld is empty or too large", h, wd);
    q->h = (int)h, q->w = (int)wd, q->mg = q->m;
    q->k = q->cg * q->kh * q->kw, q->p = q->ho * q->wo;
    return 0;
}

int es_convtranspose_shape(es_graph *g, es_node *nd)
{
    geom q;
    if (convt_geom(g, nd, &q) != 0 || conv_out(g, nd, q.n, q.c, q.h, q.w) != 0)
        return -1;
    if ((size_t)q.k * q.p > g->ws_need)
        g->ws_need = (size_t)q.k * q.p;
    return 0;
}

void es_convtranspose_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    convt_geom(g, nd, &q);
    es_tensor *b = in_t(g, nd, 2);
    const float *x = in_t(g, nd, 0)->data, *w = in_t(g, nd, 1)->data;
    float *y = out_t(g, nd, 0)->data;
    size_t plane = (size_t)q.h * q.w;
    for (int n = 0; n < q.n; n++) {
        float *yn = y + (size_t)n * q.c * plane;
        for (int c = 0; c < q.c; c++)
            for (size_t i = 0; i < plane; i++)
                yn[c * plane + i] = b ? b->data[c] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q.k, q.p, q.m, 1.0f, w, q.k,
                    x + (size_t)n * q.m * q.p, q.p, 0.0f, g->ws, q.p);
        col2im(&q, g->ws, yn);
    }
}

void es_convtranspose_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    geom q;
    convt_geom(g, nd, &q);
    es_tensor *x = in_t(g, nd, 0), *w = in_t(g, nd, 1), *b = in_t(g, nd, 2);
    const float *dy = out_t(g, nd, 0)->grad;
    size_t plane = (size_t)q.h * q.w;
    int gx = wants_grad(g, nd, 0, p), gw = wants_grad(g, nd, 1, p), gb = b && wants_grad(g, nd, 2, p);
    for (int n = 0; n < q.n; n++) {
        const float *dyn = dy + (size_t)n * q.c * plane;
        for (int c = 0; gb && c < q.c; c++) {
            double sum = 0;
            for (size_t i = 0; i < plane; i++)
                sum += dyn[c * plane + i];
            b->grad[c] += (float)sum;
        }
        if (!gx && !gw)
            continue;
        im2col(&q, dyn, g->ws);
        if (gx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q.m, q.p, q.k, 1.0f, w->data, q.k,
                        g->ws, q.p, 1.0f, x->grad + (size_t)n * q.m * q.p, q.p);
        if (gw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q.m, q.k, q.p, 1.0f,
                        x->data + (size_t)n * q.m * q.p, q.p, g->ws, q.p, 1.0f, w->grad, q.k);
    }
}

/* ---- the op's row: attributes, ONNX, initialisation ------------------------------------- */
const es_attrs es_conv_defaults = {.conv = {.w = {.stride = {1, 1, 1}, .dilation = {1, 1, 1}}, .group = 1}};

/* Conv's and ConvTranspose's inputs into in[0..3) and window into a; the input count or -1. */
static int conv_import_window(es_importer *m, const Onnx__NodeProto *nd, int *in, es_attrs *a)
{
    int n_in = es_import_xwb(m, nd, in, "no weight");
    if (n_in < 0)
        return -1;
    *a = es_conv_defaults;
    if (es_import_tensor(m, in[1])->ndim != es_import_tensor(m, in[0])->ndim)
        return es_import_fail(nd, "weight rank differs from the input rank", NULL);
    return es_import_window(m, nd, in[0], in[1], &a->conv.w) != 0 ? -1 : n_in;
}

int es_conv_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[3];
    es_attrs a;
    int n_in = conv_import_window(m, nd, in, &a);
    if (n_in < 0)
        return -1;
    int64_t grp = es_onnx_attr_int(nd, "group", 1);
    if (grp < 1 || grp > INT_MAX)
        return es_import_fail(nd, "bad group", NULL);
    a.conv.group = (int)grp;
    return es_import_add(m, nd, NULL, op, &a, n_in, in, es_import_out(nd));
}

int es_conv_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    const es_tensor *w = &g->t[n->in[1]];
    const es_window *a = &n->a.conv.w;
    int s = w->ndim - 2;
    es_export_ints(x, "kernel_shape", w->dims + 2, s);
    es_export_ints(x, "strides", a->stride, s);
    es_export_ints(x, "pads", a->pads, 2 * s);
    es_export_ints(x, "dilations", a->dilation, s);
    es_export_int(x, "group", n->a.conv.group);
    return 0;
}

/* ConvTranspose: Conv's attributes and output_padding; output_shape and auto_pad, which size
 * the output from the other end, are not supported. */
int es_convtranspose_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    if (es_onnx_attr(nd, "output_shape") || es_onnx_attr(nd, "auto_pad"))
        return es_import_fail(nd, "output_shape and auto_pad are not supported", NULL);
    int in[3];
    es_attrs a;
    int n_in = conv_import_window(m, nd, in, &a);
    if (n_in < 0)
        return -1;
    a.conv.group = (int)(es_onnx_attr_int(nd, "group", 1) == 1 ? 1 : 0); /* shape() refuses 0 */
    const int64_t *v;
    size_t no = es_onnx_attr_ints(nd, "output_padding", &v);
    if (no && no != (size_t)es_import_tensor(m, in[0])->ndim - 2)
        return es_import_fail(nd, "output_padding does not match the input rank", NULL);
    for (size_t i = 0; i < no; i++) {
        if (v[i] < 0 || v[i] > ES_ONNX_MAX_SPATIAL)
            return es_import_fail(nd, "bad output_padding", NULL);
        a.conv.out_pad[i] = (int)v[i];
    }
    return es_import_add(m, nd, NULL, op, &a, n_in, in, es_import_out(nd));
}

int es_convtranspose_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_conv_export(x, g, n);
    es_export_ints(x, "output_padding", n->a.conv.out_pad, g->t[n->in[1]].ndim - 2);
    return 0;
}

/* W (C, M, k…): M outputs. */
void es_convtranspose_init(es_graph *g, es_node *n, es_init kind)
{
    es_init_weight(g, in_t(g, n, 1), in_t(g, n, 2), 1, kind);
}

/* W (M, C/group, k…): M outputs. */
void es_conv_init(es_graph *g, es_node *n, es_init kind) { es_init_weight(g, in_t(g, n, 1), in_t(g, n, 2), 0, kind); }
