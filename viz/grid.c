/* Grids of small maps: a layer's activations (one tile per channel) and the sanity-check
 * strip (one tile per randomized layer, with its similarity numbers). */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const es_rgba es_viz_plot_c0 = {31, 119, 180, 255};

int es_viz_tile_fit(tile_layout *t, int n, int want_cols, int W, int H, double aspect, int cap, int gap)
{
    double best = 0;
    for (int cols = want_cols > 0 ? want_cols : 1; cols <= (want_cols > 0 ? want_cols : n); cols++) {
        int rows = (n + cols - 1) / cols;
        double tw = (double)(W - (cols - 1) * gap) / cols;
        double th = (double)(H - rows * cap - (rows - 1) * gap) / rows;
        if (tw < 2 || th < 2)
            continue;
        double w = fmin(tw, th * aspect), h = w / aspect; /* largest tile of that aspect */
        if (w * h > best)
            best = w * h, *t = (tile_layout){cols, rows, (int)w, (int)h, gap, cap};
    }
    return best > 0 ? 0 : es_fail("grid: %d tiles do not fit in %dx%d pixels", n, W, H);
}

es_rect es_viz_tile_rect(const tile_layout *t, es_rect area, int i)
{
    /* the grid is centred in the area */
    int gw = t->cols * t->tw + (t->cols - 1) * t->gap;
    int gh = t->rows * (t->th + t->cap) + (t->rows - 1) * t->gap;
    int x0 = area.x + (area.w - gw) / 2, y0 = area.y + (area.h - gh) / 2;
    int col = i % t->cols, row = i / t->cols;
    return (es_rect){x0 + col * (t->tw + t->gap), y0 + row * (t->th + t->cap + t->gap) + t->cap,
                     t->tw, t->th};
}

/* Mean of each channel, and the order: by mean (largest first) or as given. */
static int channel_order(const es_grid_plot *p, int *order, float *mean)
{
    size_t hw = (size_t)p->rows * p->cols;
    for (int k = 0; k < p->channels; k++) {
        double s = 0;
        for (size_t i = 0; i < hw; i++)
            s += p->data[k * hw + i];
        mean[k] = (float)(s / hw);
        order[k] = k;
    }
    for (int i = 1; p->sort && i < p->channels; i++) /* insertion sort: channels are few */
        for (int j = i; j > 0 && mean[order[j - 1]] < mean[order[j]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    return 0;
}

int es_plot_activations(es_canvas *c, es_rect r, const es_style *s, const es_grid_plot *p)
{
    plot_style ps;
    if (!p || !p->data || p->channels <= 0 || p->rows <= 0 || p->cols <= 0)
        return es_fail("activations: empty tensor");
    if (es_viz_style_resolve(&ps, s, r) != 0)
        return -1;
    const es_cmap *cm = es_cmap_get(p->cmap ? p->cmap : "viridis");
    if (!cm)
        return -1;
    int *order = malloc(sizeof(int) * p->channels);
    float *mean = malloc(sizeof(float) * p->channels);
    if (!order || !mean) {
        free(order), free(mean);
        return es_fail("activations: out of memory");
    }
    channel_order(p, order, mean);
    es_fill_rect(c, r, ps.bg);
    float cap_px = ps.tick * 0.85f;
    margins m = es_viz_axes_margins(&ps, &p->x, &p->y, AX_X | AX_Y);
    int top = r.y + ps.pad + (p->title ? text_h(&ps, ps.title) + 2 * ps.pad : 0);
    int cbw = es_viz_colorbar_width(&ps, 0, 1, "normalised", 0);
    es_rect area = {r.x + m.left, top, r.w - m.left - cbw, r.y + r.h - m.bottom - top};
    double aspect = fmin(4, fmax(1, (double)p->cols / p->rows));
    tile_layout t;
    int rc = es_viz_tile_fit(&t, p->channels, 0, area.w, area.h, aspect, text_h(&ps, cap_px) + 2, ps.pad + 2);
    size_t hw = (size_t)p->rows * p->cols;
    for (int i = 0; rc == 0 && i < p->channels; i++) {
        int k = order[i];
        es_rect tr = es_viz_tile_rect(&t, area, i);
        float lo, hi;
        es_viz_finite_range(p->data + k * hw, hw, &lo, &hi);
        rc = es_draw_matrix(c, tr, p->data + k * hw, p->rows, p->cols, cm, lo, hi, 1, ES_ORIGIN_LOWER);
        es_stroke_rect(c, (es_rect){tr.x - 1, tr.y - 1, tr.w + 2, tr.h + 2}, ps.grid);
        char cap[48];
        if (p->sort)
            snprintf(cap, sizeof cap, "ch %d  \xce\xbc %.3g", k, mean[k]);
        else
            snprintf(cap, sizeof cap, "ch %d", k);
        if (es_text_width(ps.font, cap_px, cap) > tr.w + t.gap)
            snprintf(cap, sizeof cap, "%d", k);
        es_text_draw(c, ps.font, cap_px, tr.x + tr.w / 2, tr.y - 2, cap, ps.fg, ES_CENTER | ES_BOTTOM);
    }
    if (rc == 0) { /* the input's extent, on the bottom-left tile */
        es_rect bl = es_viz_tile_rect(&t, area, (t.rows - 1) * t.cols);
        es_viz_axes_draw(c, &ps, bl, &p->x, &p->y, AX_X | AX_Y);
        es_rect first = es_viz_tile_rect(&t, area, 0);
        int gw = t.cols * t.tw + (t.cols - 1) * t.gap;
        es_viz_colorbar_draw(c, &ps, (es_rect){first.x + gw, first.y, 0, bl.y + bl.h - first.y}, cm, 0, 1,
                             "normalised per map");
        if (p->title)
            es_text_draw(c, ps.font, ps.title, r.x + r.w / 2, r.y + ps.pad, p->title, ps.fg,
                         ES_CENTER | ES_TOP);
    }
    free(order), free(mean);
    return rc;
}

int es_plot_sanity_strip(es_canvas *c, es_rect r, const es_style *s, const float *const *maps,
                         const char *const *names, const float *spearman, const float *ssim,
                         int n, int rows, int cols, const char *cmap, const char *title)
{
    plot_style ps;
    if (!maps || n <= 0 || rows <= 0 || cols <= 0)
        return es_fail("sanity strip: no maps");
    if (es_viz_style_resolve(&ps, s, r) != 0)
        return -1;
    es_overlay o = {ES_OVERLAY_HEAT, ES_SIGN_ABSOLUTE, 2.0f, 1.0f, cmap, NULL};
    const es_cmap *heat = es_viz_overlay_cmap(&o);
    if (!heat)
        return -1;
    es_fill_rect(c, r, ps.bg);
    float cap_px = ps.tick * 0.9f;
    int line = text_h(&ps, cap_px);
    int top = r.y + ps.pad + (title ? text_h(&ps, ps.title) + 2 * ps.pad : 0);
    int cbw = es_viz_colorbar_width(&ps, 0, 1, "|saliency|", 0);
    es_rect area = {r.x + ps.pad, top, r.w - 2 * ps.pad - cbw, r.y + r.h - top - ps.pad};
    double aspect = fmin(4, fmax(0.5, (double)cols / rows));
    tile_layout t;
    /* a strip: one row, as the randomization runs left to right, unless there are many */
    if (es_viz_tile_fit(&t, n, n <= 8 ? n : 0, area.w, area.h, aspect, 2 * line + 4, 2 * ps.pad) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        es_rect tr = es_viz_tile_rect(&t, area, i);
        rc = es_draw_overlay(c, tr, maps[i], maps[i], rows, cols, heat, 0, 1, &o, ES_ORIGIN_LOWER);
        es_stroke_rect(c, (es_rect){tr.x - 1, tr.y - 1, tr.w + 2, tr.h + 2}, ps.fg);
        char num[64] = "";
        float rho = spearman ? spearman[i] : NAN, ss = ssim ? ssim[i] : NAN;
        if (!isnan(rho) || !isnan(ss))
            snprintf(num, sizeof num, "\xcf\x81 %.2f   SSIM %.2f", rho, ss);
        const char *name = names && names[i] ? names[i] : "";
        es_text_draw(c, ps.font, cap_px, tr.x + tr.w / 2, tr.y - 3 - line, name, ps.fg, ES_CENTER | ES_BOTTOM);
        es_text_draw(c, ps.font, cap_px, tr.x + tr.w / 2, tr.y - 3, num, ps.fg, ES_CENTER | ES_BOTTOM);
    }
    if (rc == 0) {
        es_rect first = es_viz_tile_rect(&t, area, 0);
        es_rect last = es_viz_tile_rect(&t, area, (t.rows - 1) * t.cols);
        int gw = t.cols * t.tw + (t.cols - 1) * t.gap;
        es_viz_colorbar_draw(c, &ps, (es_rect){first.x + gw, first.y, 0, last.y + last.h - first.y}, heat,
                             0, 1, "|saliency|");
        if (title)
            es_text_draw(c, ps.font, ps.title, r.x + r.w / 2, r.y + ps.pad, title, ps.fg,
                         ES_CENTER | ES_TOP);
    }
    return rc;
}
