/* Matrices as images: separable resampling to the display size, then a colormap lookup. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

float *resample(const float *m, int rows, int cols, int dw, int dh, int flags)
{
    taps tx = {0}, ty = {0};
    float *tmp = malloc(sizeof(float) * (size_t)rows * dw);
    float *out = malloc(sizeof(float) * (size_t)dh * dw);
    if (!tmp || !out || taps_make(&tx, cols, dw, flags & ES_SMOOTH) != 0 ||
        taps_make(&ty, rows, dh, flags & ES_SMOOTH) != 0) {
        free(tmp), free(out), taps_free(&tx), taps_free(&ty);
        es_fail("image: out of memory for %dx%d", dw, dh);
        return NULL;
    }
#pragma omp parallel for schedule(static) if ((size_t)rows * dw > 65536)
    for (int r = 0; r < rows; r++) {
        const float *src = m + (size_t)r * cols;
        float *dst = tmp + (size_t)r * dw;
        for (int i = 0; i < dw; i++) {
            const float *w = tx.w + (size_t)i * tx.max, *s = src + tx.first[i];
            float acc = 0;
            for (int k = 0; k < tx.count[i]; k++)
                acc += w[k] * s[k];
            dst[i] = acc;
        }
    }
#pragma omp parallel for schedule(static) if ((size_t)dh * dw > 65536)
    for (int j = 0; j < dh; j++) {
        int jj = (flags & ES_ORIGIN_LOWER) ? dh - 1 - j : j;
        float *dst = out + (size_t)j * dw;
        const float *w = ty.w + (size_t)jj * ty.max;
        const float *s0 = tmp + (size_t)ty.first[jj] * dw;
        for (int i = 0; i < dw; i++)
            dst[i] = w[0] * s0[i];
        for (int k = 1; k < ty.count[jj]; k++) {
            const float *s = s0 + (size_t)k * dw;
            for (int i = 0; i < dw; i++)
                dst[i] += w[k] * s[i];
        }
    }
    free(tmp), taps_free(&tx), taps_free(&ty);
    return out;
}

int es_draw_matrix(es_canvas *c, es_rect r, const float *m, int rows, int cols,
                   const es_cmap *cmap, float vmin, float vmax, float alpha, int flags)
{
    if (!m || rows <= 0 || cols <= 0 || r.w <= 0 || r.h <= 0 || !cmap)
        return es_fail("image: empty matrix (%dx%d) or region (%dx%d)", rows, cols, r.w, r.h);
    float *v = resample(m, rows, cols, r.w, r.h, flags);
    if (!v)
        return -1;
    float scale = vmax != vmin ? 1.0f / (vmax - vmin) : 0;
    int a = (int)lroundf((alpha < 0 ? 0 : alpha > 1 ? 1 : alpha) * 255);
    es_rect vis = r;
    if (clip_rect(c, &vis)) {
#pragma omp parallel for schedule(static) if ((size_t)vis.w * vis.h > 65536)
        for (int y = vis.y; y < vis.y + vis.h; y++) {
            const float *src = v + (size_t)(y - r.y) * r.w + (vis.x - r.x);
            uint8_t *p = es_canvas_row(c, y) + 4 * vis.x;
            for (int x = 0; x < vis.w; x++, p += 4) {
                es_rgba col = es_cmap_color(cmap, (src[x] - vmin) * scale);
                blend_px(p, col, cover_alpha(col, a));
            }
        }
    }
    free(v);
    return 0;
}

void finite_range(const float *v, size_t n, float *lo, float *hi)
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
