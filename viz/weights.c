/* Weights: conv filters as tiles on a signed map, dense weights as an image, histograms. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float max_abs(const float *v, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabsf(v[i]) > m)
            m = fabsf(v[i]);
    return m > 0 ? m : 1;
}

static void title_top(es_canvas *c, const plot_style *ps, es_rect r, const char *title)
{
    if (title)
        es_text_draw(c, ps->font, ps->title, r.x + r.w / 2, r.y + ps->pad, title, ps->fg,
                     ES_CENTER | ES_TOP);
}

/* Tiles for the filters: a free grid of out_c means, or one row per filter and one column
 * per input (area shrinks by the caption band above the columns). */
static int filter_layout(tile_layout *t, const plot_style *ps, es_rect *area, int out_c, int in_c,
                         int kh, int kw, int mean_inputs, int cap)
{
    int gap = ps->pad + 1; /* white space enough to tell one kernel from the next */
    if (mean_inputs)
        return es_viz_tile_fit(t, out_c, 0, area->w, area->h, (double)kw / kh, cap, gap);
    int tw = (area->w - (in_c - 1) * gap) / in_c, th = (area->h - cap - (out_c - 1) * gap) / out_c;
    double sz = fmin(tw, th * (double)kw / kh);
    *t = (tile_layout){in_c, out_c, (int)sz, (int)(sz * kh / kw), gap, 0};
    area->y += cap, area->h -= cap;
    if (t->tw < 1 || t->th < 1)
        return es_fail("conv filters: %dx%d tiles do not fit in %dx%d (show the mean over inputs)",
                       out_c, in_c, area->w, area->h);
    return 0;
}

/* The kernel shown in tile (f, ch) and its scale: one input's kernel on the whole filter's
 * ±max|w|, or (ch < 0) the mean over inputs on its own. */
static const float *filter_tile(const float *w, int in_c, size_t ksz, int f, int ch, float *mean,
                                float *scale)
{
    const float *flt = w + f * in_c * ksz;
    if (ch >= 0) {
        *scale = max_abs(flt, in_c * ksz);
        return flt + ch * ksz;
    }
    for (size_t k = 0; k < ksz; k++) {
        double acc = 0;
        for (int j = 0; j < in_c; j++)
            acc += flt[j * ksz + k];
        mean[k] = (float)(acc / in_c);
    }
    *scale = max_abs(mean, ksz);
    return mean;
}

static void filter_captions(es_canvas *c, const plot_style *ps, es_rect tr, const tile_layout *t,
                            float cap_px, int f, int ch)
{
    char cap[16];
    if (ch < 0) { /* means: the filter's number above */
        snprintf(cap, sizeof cap, "%d", f);
        es_text_draw(c, ps->font, cap_px, tr.x + tr.w / 2, tr.y - 1, cap, ps->fg, ES_CENTER | ES_BOTTOM);
        return;
    }
    if (ch == 0 && t->th >= text_h(ps, cap_px) * 0.7f) { /* filters: "f3" left of each row */
        snprintf(cap, sizeof cap, "f%d", f);
        es_text_draw(c, ps->font, cap_px, tr.x - ps->pad, tr.y + tr.h / 2, cap, ps->fg, ES_RIGHT | ES_MIDDLE);
    }
    if (f == 0 && es_text_width(ps->font, cap_px, "in 00") <= t->tw + t->gap) { /* inputs above */
        snprintf(cap, sizeof cap, "in %d", ch);
        es_text_draw(c, ps->font, cap_px, tr.x + tr.w / 2, tr.y - 1, cap, ps->fg, ES_CENTER | ES_BOTTOM);
    }
}

/* The plot style and the map of a signed weight picture (RdBu_r unless named); NULL on error. */
static const es_cmap *weights_style(plot_style *ps, const es_style *s, es_rect r, const char *cmap)
{
    if (es_viz_style_resolve(ps, s, r) != 0)
        return NULL;
    return es_cmap_get(cmap ? cmap : "RdBu_r");
}

int es_plot_conv_filters(es_canvas *c, es_rect r, const es_style *s, const float *w, int out_c,
                         int in_c, int kh, int kw, int mean_inputs, const char *cmap,
                         const char *title)
{
    plot_style ps;
    if (!w || out_c <= 0 || in_c <= 0 || kh <= 0 || kw <= 0)
        return es_fail("conv filters: empty weight tensor");
    const es_cmap *cm = weights_style(&ps, s, r, cmap);
    if (!cm)
        return -1;
    if (in_c == 1) /* one input: its kernels are the filters; lay them out as a grid */
        mean_inputs = 1;
    size_t ksz = (size_t)kh * kw;
    float *mean = malloc(sizeof(float) * ksz);
    if (!mean)
        return es_fail("conv filters: out of memory");
    es_fill_rect(c, r, ps.bg);
    float cap_px = ps.tick * 0.8f;
    const char *cbl = "w / max|w| per filter";
    int top = r.y + ps.pad + (title ? text_h(&ps, ps.title) + 2 * ps.pad : 0);
    int capw = es_text_width(ps.font, cap_px, "f000") + ps.pad; /* row labels on the left */
    int cbw = es_viz_colorbar_width(&ps, -1, 1, cbl, 0);
    es_rect area = {r.x + ps.pad + capw, top, r.w - 2 * ps.pad - capw - cbw, r.y + r.h - top - ps.pad};
    tile_layout t;
    int n = mean_inputs ? out_c : out_c * in_c;
    int rc = filter_layout(&t, &ps, &area, out_c, in_c, kh, kw, mean_inputs, text_h(&ps, cap_px) + 1);
    for (int i = 0; rc == 0 && i < n; i++) {
        int f = mean_inputs ? i : i / in_c, ch = mean_inputs ? -1 : i % in_c;
        float m;
        const float *tile = filter_tile(w, in_c, ksz, f, ch, mean, &m);
        es_rect tr = es_viz_tile_rect(&t, area, i);
        rc = es_draw_matrix(c, tr, tile, kh, kw, cm, -m, m, 1, 0);
        filter_captions(c, &ps, tr, &t, cap_px, f, ch);
    }
    if (rc == 0) {
        es_rect first = es_viz_tile_rect(&t, area, 0);
        es_rect last = es_viz_tile_rect(&t, area, (t.rows - 1) * t.cols);
        int gw = t.cols * t.tw + (t.cols - 1) * t.gap;
        es_viz_colorbar_draw(c, &ps, (es_rect){first.x + gw, first.y, 0, last.y + last.h - first.y}, cm, -1,
                             1, cbl);
        title_top(c, &ps, r, title);
    }
    free(mean);
    return rc;
}

int es_plot_histogram(es_canvas *c, es_rect r, const es_style *s, const float *v, size_t n,
                      int bins, const char *xlabel, const char *title)
{
    plot_style ps;
    if (!v || n == 0 || bins <= 0)
        return es_fail("histogram: no values or no bins");
    if (es_viz_style_resolve(&ps, s, r) != 0)
        return -1;
    float lo, hi;
    es_viz_finite_range(v, n, &lo, &hi);
    if (lo == hi)
        lo -= 0.5f, hi += 0.5f;
    size_t *count = calloc((size_t)bins, sizeof *count), top_count = 1;
    if (!count)
        return es_fail("histogram: out of memory");
    for (size_t i = 0; i < n; i++) { /* numpy's rule: the last bin includes its right edge */
        if (!isfinite(v[i]))
            continue;
        int b = (int)((v[i] - lo) / (hi - lo) * bins);
        count[b >= bins ? bins - 1 : b < 0 ? 0 : b]++;
    }
    for (int b = 0; b < bins; b++)
        top_count = count[b] > top_count ? count[b] : top_count;
    es_fill_rect(c, r, ps.bg);
    es_axis x = {lo, hi, ES_SCALE_LINEAR, xlabel}, y = {0, top_count * 1.05, ES_SCALE_LINEAR, "count", 1};
    margins m = es_viz_axes_margins(&ps, &x, &y, AX_X | AX_Y);
    int top = r.y + ps.pad + (title ? text_h(&ps, ps.title) + 2 * ps.pad : 0);
    es_rect p = {r.x + m.left, top, r.w - m.left - m.right, r.y + r.h - m.bottom - top};
    if (p.w < 8 || p.h < 8) {
        free(count);
        return es_fail("histogram: region %dx%d is too small", r.w, r.h);
    }
    for (int b = 0; b < bins; b++) {
        int x0 = p.x + (int)((double)b * p.w / bins), x1 = p.x + (int)((double)(b + 1) * p.w / bins);
        int h = (int)lround(count[b] / y.hi * p.h);
        es_fill_rect(c, (es_rect){x0, p.y + p.h - h, x1 - x0, h}, es_viz_plot_c0);
        if (x1 - x0 >= 4 && h > 0) /* white edges keep neighbouring bars apart */
            es_fill_rect(c, (es_rect){x1 - 1, p.y + p.h - h, 1, h}, ps.bg);
    }
    es_viz_axes_draw(c, &ps, p, &x, &y, AX_X | AX_Y);
    es_viz_title_draw(c, &ps, p, title);
    free(count);
    return 0;
}

int es_plot_dense_weights(es_canvas *c, es_rect r, const es_style *s, const float *w, int rows,
                          int cols, const char *cmap, const char *title)
{
    plot_style ps;
    if (!w || rows <= 0 || cols <= 0)
        return es_fail("dense weights: empty matrix");
    const es_cmap *cm = weights_style(&ps, s, r, cmap);
    if (!cm)
        return -1;
    es_fill_rect(c, r, ps.bg);
    float m = max_abs(w, (size_t)rows * cols);
    int hist_w = r.w * 36 / 100;
    es_rect left = {r.x, r.y, r.w - hist_w, r.h};
    /* cells centred on their index, as matplotlib's imshow places them */
    es_axis x = {-0.5, cols - 0.5, ES_SCALE_LINEAR, "input", 1};
    es_axis y = {rows - 0.5, -0.5, ES_SCALE_LINEAR, "output", 1};
    margins mg = es_viz_axes_margins(&ps, &x, &y, AX_X | AX_Y);
    int top = r.y + ps.pad + (title ? text_h(&ps, ps.title) + 2 * ps.pad : 0);
    int cbw = es_viz_colorbar_width(&ps, -m, m, "weight", 0);
    es_rect p = {left.x + mg.left, top, left.w - mg.left - cbw, r.y + r.h - mg.bottom - top};
    if (p.w < 8 || p.h < 8)
        return es_fail("dense weights: region %dx%d is too small", r.w, r.h);
    /* row 0 (the first output) at the top, as a matrix is read */
    if (es_draw_matrix(c, p, w, rows, cols, cm, -m, m, 1, 0) != 0)
        return -1;
    es_viz_axes_draw(c, &ps, p, &x, &y, AX_X | AX_Y);
    es_viz_colorbar_draw(c, &ps, (es_rect){p.x + p.w, p.y, 0, p.h}, cm, -m, m, "weight");
    es_viz_title_draw(c, &ps, p, title);
    es_style hs = *s;
    hs.font_px = ps.tick;
    int gap = 3 * ps.pad;
    return es_plot_histogram(c, (es_rect){left.x + left.w + gap, top, hist_w - gap, r.y + r.h - top}, &hs, w,
                             (size_t)rows * cols, 50, "weight", "histogram");
}
