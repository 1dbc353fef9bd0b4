/* Matrices as images: separable resampling to the display size, then a colormap lookup. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many pixels (or values) a loop runs on one thread: a plot's passes take a few
 * milliseconds, and waking a team costs more than it saves when the cores are busy (the
 * bench measured 12 ms serial against 20-57 ms with two threads on a loaded machine). */
#define PAR_MIN ((size_t)1 << 21)

/* The source cells and weights that make destination pixel i, for all i: a sparse
 * n_dst × n_src matrix with at most `max` taps per row. */
typedef struct {
    int max;
    int *first, *count;
    float *w;
} taps;

static void taps_free(taps *t) { free(t->first), free(t->count), free(t->w); }

static int taps_make(taps *t, int n_src, int n_dst, int smooth)
{
    double s = (double)n_src / n_dst;
    t->max = s > 1 ? (int)ceil(s) + 1 : 2;
    t->first = malloc(sizeof(int) * n_dst);
    t->count = malloc(sizeof(int) * n_dst);
    t->w = malloc(sizeof(float) * n_dst * t->max);
    if (!t->first || !t->count || !t->w) {
        taps_free(t);
        return es_fail("image: out of memory");
    }
    for (int i = 0; i < n_dst; i++) {
        float *w = t->w + (size_t)i * t->max;
        if (s > 1) { /* shrinking: each cell weighs by the part of it this pixel covers */
            double a = i * s, b = (i + 1) * s;
            int k0 = (int)floor(a), k1 = (int)ceil(b);
            if (k1 > n_src)
                k1 = n_src;
            t->first[i] = k0, t->count[i] = k1 - k0;
            for (int k = k0; k < k1; k++)
                w[k - k0] = (float)((fmin(b, k + 1) - fmax(a, k)) / s);
        } else if (smooth && n_src > 1) { /* bilinear between cell centres */
            double f = (i + 0.5) * s - 0.5;
            f = f < 0 ? 0 : f > n_src - 1 ? n_src - 1 : f;
            int k = (int)f;
            if (k == n_src - 1)
                k--;
            t->first[i] = k, t->count[i] = 2;
            w[0] = (float)(1 - (f - k)), w[1] = (float)(f - k);
        } else { /* nearest: the cell under the pixel centre */
            int k = (int)((i + 0.5) * s);
            t->first[i] = k < n_src ? k : n_src - 1, t->count[i] = 1, w[0] = 1;
        }
    }
    return 0;
}

void es_viz_resample_free(resampled *r)
{
    free(r->xrows), free(r->first), free(r->count), free(r->w);
    memset(r, 0, sizeof *r);
}

int es_viz_resample_init(resampled *r, const float *m, int rows, int cols, int dw, int dh, int flags)
{
    memset(r, 0, sizeof *r);
    taps tx = {0}, ty = {0};
    r->xrows = malloc(sizeof(float) * (size_t)rows * dw);
    if (!r->xrows || taps_make(&tx, cols, dw, flags & ES_SMOOTH) != 0 ||
        taps_make(&ty, rows, dh, flags & ES_SMOOTH) != 0) {
        free(r->xrows), taps_free(&tx), taps_free(&ty);
        r->xrows = NULL;
        return es_fail("image: out of memory for %dx%d", dw, dh);
    }
#pragma omp parallel for schedule(static) if ((size_t)rows * dw > PAR_MIN)
    for (int i = 0; i < rows; i++) {
        const float *src = m + (size_t)i * cols;
        float *dst = r->xrows + (size_t)i * dw;
        for (int x = 0; x < dw; x++) {
            const float *w = tx.w + (size_t)x * tx.max, *s = src + tx.first[x];
            float acc = w[0] * s[0];
            for (int k = 1; k < tx.count[x]; k++)
                acc += w[k] * s[k];
            dst[x] = acc;
        }
    }
    taps_free(&tx);
    r->rows = rows, r->dw = dw, r->dh = dh, r->flags = flags;
    r->first = ty.first, r->count = ty.count, r->w = ty.w, r->max = ty.max;
    return 0;
}

/* The y taps of display row j (top = 0). */
static int ytap(const resampled *r, int j)
{
    return (r->flags & ES_ORIGIN_LOWER) ? r->dh - 1 - j : j;
}

/* Display row j of r: a pointer to its source row when it is one, else summed in scratch. */
static const float *row_of(const resampled *r, int j, float *scratch)
{
    int t = ytap(r, j);
    const float *w = r->w + (size_t)t * r->max, *s0 = r->xrows + (size_t)r->first[t] * r->dw;
    if (r->count[t] == 1 && w[0] == 1)
        return s0;
    for (int i = 0; i < r->dw; i++)
        scratch[i] = w[0] * s0[i];
    for (int k = 1; k < r->count[t]; k++) {
        const float *s = s0 + (size_t)k * r->dw;
        for (int i = 0; i < r->dw; i++)
            scratch[i] += w[k] * s[i];
    }
    return scratch;
}

static int nearest_rows(const resampled *r)
{
    for (int t = 0; t < r->dh; t++)
        if (r->count[t] != 1 || r->w[(size_t)t * r->max] != 1)
            return 0;
    return 1;
}

static void blend_row(uint8_t *p, const es_rgba *col, int n)
{
    for (int x = 0; x < n; x++, p += 4) {
        if (col[x].a == 255)
            memcpy(p, &col[x], 4);
        else
            blend_px(p, col[x], col[x].a);
    }
}

int es_viz_draw_resampled(es_canvas *c, es_rect r, const resampled *a, const resampled *b,
                          row_colour_fn colour, const void *ctx)
{
    es_rect vis = r;
    if (!clip_rect(c, &vis))
        return 0;
    int dw = r.w, x0 = vis.x - r.x, fail = 0;
    if (nearest_rows(a) && (!b || nearest_rows(b))) {
        /* enlarging: each source row is coloured once and repeated down the display */
        es_rgba *rowc = malloc(sizeof(es_rgba) * (size_t)a->rows * dw);
        char *done = calloc((size_t)a->rows, 1);
        if (!rowc || !done) {
            free(rowc), free(done);
            return es_fail("image: out of memory");
        }
        for (int j = vis.y - r.y; j < vis.y - r.y + vis.h; j++)
            done[a->first[ytap(a, j)]] = 1;
#pragma omp parallel for schedule(dynamic, 4) if ((size_t)a->rows * dw > PAR_MIN)
        for (int i = 0; i < a->rows; i++)
            if (done[i])
                colour(ctx, a->xrows + (size_t)i * dw, b ? b->xrows + (size_t)i * dw : NULL, dw,
                       rowc + (size_t)i * dw);
#pragma omp parallel for schedule(static) if ((size_t)vis.w * vis.h > PAR_MIN)
        for (int y = vis.y; y < vis.y + vis.h; y++)
            blend_row(es_canvas_row(c, y) + 4 * vis.x,
                      rowc + (size_t)a->first[ytap(a, y - r.y)] * dw + x0, vis.w);
        free(rowc), free(done);
        return 0;
    }
#pragma omp parallel if ((size_t)vis.w * vis.h > PAR_MIN)
    {
        float *sa = malloc(sizeof(float) * dw), *sb = malloc(sizeof(float) * dw);
        es_rgba *col = malloc(sizeof(es_rgba) * dw);
        if (!sa || !sb || !col) {
#pragma omp atomic write
            fail = 1;
        } else {
#pragma omp for schedule(static)
            for (int y = vis.y; y < vis.y + vis.h; y++) {
                const float *ra = row_of(a, y - r.y, sa), *rb = b ? row_of(b, y - r.y, sb) : NULL;
                colour(ctx, ra, rb, dw, col);
                blend_row(es_canvas_row(c, y) + 4 * vis.x, col + x0, vis.w);
            }
        }
        free(sa), free(sb), free(col);
    }
    return fail ? es_fail("image: out of memory") : 0;
}

typedef struct {
    const uint8_t (*lut)[4];
    float lo, scale;
    int alpha;
} matrix_ctx;

static void matrix_colours(const void *ctx, const float *v, const float *unused, int n, es_rgba *out)
{
    const matrix_ctx *m = ctx;
    for (int i = 0; i < n; i++) {
        es_rgba col = lut_colour(m->lut, (v[i] - m->lo) * m->scale);
        col.a = (uint8_t)cover_alpha(col, m->alpha);
        out[i] = col;
    }
}

int es_draw_matrix(es_canvas *c, es_rect r, const float *m, int rows, int cols,
                   const es_cmap *cmap, float vmin, float vmax, float alpha, int flags)
{
    if (!m || rows <= 0 || cols <= 0 || r.w <= 0 || r.h <= 0 || !cmap)
        return es_fail("image: empty matrix (%dx%d) or region (%dx%d)", rows, cols, r.w, r.h);
    resampled rs;
    if (es_viz_resample_init(&rs, m, rows, cols, r.w, r.h, flags) != 0)
        return -1;
    matrix_ctx ctx = {es_viz_cmap_lut(cmap), vmin, vmax != vmin ? 1.0f / (vmax - vmin) : 0,
                      (int)lroundf((alpha < 0 ? 0 : alpha > 1 ? 1 : alpha) * 255)};
    int rc = es_viz_draw_resampled(c, r, &rs, NULL, matrix_colours, &ctx);
    es_viz_resample_free(&rs);
    return rc;
}

void es_viz_finite_range(const float *v, size_t n, float *lo, float *hi)
{
    float a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            a = v[i] < a ? v[i] : a;
            b = v[i] > b ? v[i] : b;
        }
    if (a > b)
        a = 0, b = 1;
    *lo = a, *hi = b;
}
