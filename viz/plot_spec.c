/* The spectrogram plot: image on time × frequency axes, colorbars, title, optional waveform
 * and P(class) strips on the same time axis, optional saliency overlay; and the "quad"
 * layout of the reference study (input, |saliency|, positive, negative). */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdlib.h>

typedef struct {
    const es_cmap *m;
    float lo, hi;
    const char *label;
} cbar;

static int title_block(const plot_style *ps, const char *t)
{
    return t ? text_h(ps, ps->title) + 2 * ps->pad : 0;
}

static int check_spec(const es_spec_plot *p)
{
    if (!p || !p->data || p->rows <= 0 || p->cols <= 0)
        return es_fail("spectrogram: empty matrix (%dx%d)", p ? p->rows : 0, p ? p->cols : 0);
    if (p->x.lo == p->x.hi || p->y.lo == p->y.hi)
        return es_fail("spectrogram: an axis has an empty range (lo == hi)");
    if (p->y.scale != ES_SCALE_LINEAR && (p->y.lo < 0 || p->y.hi <= p->y.lo))
        return es_fail("spectrogram: a mel axis needs 0 <= fmin < fmax (got %g, %g)", p->y.lo, p->y.hi);
    return 0;
}

static void data_range(const es_spec_plot *p, float *lo, float *hi)
{
    if (p->vmin != p->vmax)
        *lo = p->vmin, *hi = p->vmax;
    else
        es_viz_finite_range(p->data, (size_t)p->rows * p->cols, lo, hi);
}

/* The colours of one panel's base: the spectrogram's map, or gray under a blended overlay
 * (Captum). */
static const es_cmap *base_cmap(const es_spec_plot *p, const es_overlay *o)
{
    if (o && o->mode == ES_OVERLAY_BLENDED)
        return es_cmap_get(o->base_cmap ? o->base_cmap : "gray");
    return es_cmap_get(p->cmap ? p->cmap : "magma");
}

/* The colorbars that go with a panel, as Captum shows them (heat maps show the map's
 * scale), plus the dB scale of the base whenever the base is visible. 0 on an unknown map. */
static int spec_bars(const es_spec_plot *p, const es_overlay *o, cbar *bars)
{
    float lo, hi;
    data_range(p, &lo, &hi);
    const es_cmap *cm = base_cmap(p, o), *heat = o && o->mode ? es_viz_overlay_cmap(o) : NULL;
    const char *dbl = p->cbar_label ? p->cbar_label : "dB";
    int n = 0;
    if (!cm || (o && o->mode && !heat))
        return 0;
    if (!o || o->mode != ES_OVERLAY_HEAT)
        bars[n++] = (cbar){cm, lo, hi, dbl};
    if (o && (o->mode == ES_OVERLAY_HEAT || o->mode == ES_OVERLAY_BLENDED)) {
        static const char *names[] = {"|saliency|", "saliency > 0", "|saliency < 0|",
                                      "saliency"};
        bars[n++] = (cbar){heat, o->sign == ES_SIGN_ALL ? -1 : 0, 1, names[o->sign]};
    }
    return n;
}

/* The image of one panel: plain, or with the overlay o. */
static int spec_image(es_canvas *c, es_rect plot, const es_spec_plot *p, const es_overlay *o)
{
    float lo, hi;
    data_range(p, &lo, &hi);
    const es_cmap *cm = base_cmap(p, o);
    if (!cm)
        return -1;
    if (!o || o->mode == ES_OVERLAY_NONE)
        return es_draw_matrix(c, plot, p->data, p->rows, p->cols, cm, lo, hi, 1, ES_ORIGIN_LOWER);
    return es_draw_overlay(c, plot, p->data, p->saliency, p->rows, p->cols, cm, lo, hi, o,
                           ES_ORIGIN_LOWER);
}

static int cbars_width(const plot_style *ps, const cbar *b, int n, int length)
{
    int w = 0;
    for (int i = 0; i < n; i++)
        w += es_viz_colorbar_width(ps, b[i].lo, b[i].hi, b[i].label, length);
    return w;
}

static void cbars_draw(es_canvas *c, const plot_style *ps, es_rect plot, const cbar *b, int n)
{
    int x = plot.x + plot.w;
    for (int i = 0; i < n; i++) {
        es_viz_colorbar_draw(c, ps, (es_rect){x, plot.y, 0, plot.h}, b[i].m, b[i].lo, b[i].hi, b[i].label);
        x += es_viz_colorbar_width(ps, b[i].lo, b[i].hi, b[i].label, plot.h);
    }
}

/* The waveform: a line through the samples when there are few, else the min … max envelope
 * of each pixel column (as audio editors draw it), each column reaching back to the previous
 * column's last sample so that the envelope stays connected. */
static void wave_strip(es_canvas *c, const plot_style *ps, es_rect r, const es_spec_plot *p)
{
    float lo, hi;
    es_viz_finite_range(p->wave, p->wave_len, &lo, &hi);
    float amp = fmaxf(fabsf(lo), fabsf(hi));
    amp = amp > 0 ? amp : 1;
    es_axis y = {-amp, amp, ES_SCALE_LINEAR, "wave"};
    es_fill_rect(c, (es_rect){r.x, r.y + r.h / 2, r.w, 1}, ps->grid);
    size_t n = p->wave_len;
#define WAVE_Y(v) (r.y + (1 - ((v) + amp) / (2 * amp)) * (r.h - 1))
    if (n <= (size_t)r.w * 2) {
        for (size_t k = 1; k < n; k++)
            if (isfinite(p->wave[k - 1]) && isfinite(p->wave[k]))
                es_draw_line(c, r.x + (k - 0.5f) * r.w / n - 0.5f, WAVE_Y(p->wave[k - 1]),
                             r.x + (k + 0.5f) * r.w / n - 0.5f, WAVE_Y(p->wave[k]), 1, es_viz_plot_c0);
    } else {
        for (int i = 0; i < r.w; i++) {
            size_t a = (size_t)((double)i * n / r.w), b = (size_t)((double)(i + 1) * n / r.w);
            float mn = INFINITY, mx = -INFINITY;
            for (size_t k = a ? a - 1 : 0; k < b && k < n; k++)
                if (isfinite(p->wave[k]))
                    mn = fminf(mn, p->wave[k]), mx = fmaxf(mx, p->wave[k]);
            if (mn > mx)
                continue;
            int y0 = (int)lroundf(WAVE_Y(mx)), y1 = (int)lroundf(WAVE_Y(mn));
            es_fill_rect(c, (es_rect){r.x + i, y0, 1, y1 - y0 + 1}, es_viz_plot_c0);
        }
    }
#undef WAVE_Y
    es_viz_axes_draw(c, ps, r, &p->x, &y, AX_X | AX_Y | AX_NO_XLABELS);
}

/* P(class) over time: a line through the frame centres with a light fill below it, on a
 * fixed 0 … 1 axis. */
static float prob_at(const es_spec_plot *p, int k)
{
    float v = p->prob[k < 0 ? 0 : k >= p->prob_len ? p->prob_len - 1 : k];
    return isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
}

static void prob_strip(es_canvas *c, const plot_style *ps, es_rect r, const es_spec_plot *p,
                       int xlabels)
{
    es_axis y = {0, 1, ES_SCALE_LINEAR, p->prob_label ? p->prob_label : "P(class)"};
    es_fill_rect(c, (es_rect){r.x, r.y + r.h / 2, r.w, 1}, ps->grid);
    int n = p->prob_len;
    es_rgba fill = {es_viz_plot_c0.r, es_viz_plot_c0.g, es_viz_plot_c0.b, 50};
    for (int i = 0; i < r.w; i++) { /* the fill follows the same line, column by column */
        float f = (i + 0.5f) * n / r.w - 0.5f;
        int k = (int)floorf(f);
        float v = prob_at(p, k) + (prob_at(p, k + 1) - prob_at(p, k)) * (f - k);
        int top = r.y + (int)lroundf((1 - v) * (r.h - 1));
        es_fill_rect(c, (es_rect){r.x + i, top, 1, r.y + r.h - top}, fill);
    }
    float px = r.x, py = r.y + (1 - prob_at(p, 0)) * (r.h - 1);
    for (int k = 0; k <= n; k++) {
        float x = k < n ? r.x + (k + 0.5f) * r.w / n - 0.5f : r.x + r.w - 1;
        float yy = r.y + (1 - prob_at(p, k)) * (r.h - 1);
        es_draw_line(c, px, py, x, yy, 1.5f, es_viz_plot_c0);
        px = x, py = yy;
    }
    es_viz_axes_draw(c, ps, r, &p->x, &y, AX_X | AX_Y | (xlabels ? 0 : AX_NO_XLABELS));
}

int es_plot_spectrogram(es_canvas *c, es_rect r, const es_style *s, const es_spec_plot *p)
{
    plot_style ps;
    if (check_spec(p) != 0 || es_viz_style_resolve(&ps, s, r) != 0)
        return -1;
    es_fill_rect(c, r, ps.bg);
    int has_wave = p->wave && p->wave_len > 0, has_prob = p->prob && p->prob_len > 0;
    es_axis wy = {-1, 1, ES_SCALE_LINEAR, "wave"}, py = {0, 1, ES_SCALE_LINEAR, "P(class)"};
    margins m = es_viz_axes_margins(&ps, &p->x, &p->y, AX_X | AX_Y);
    margins mw = es_viz_axes_margins(&ps, NULL, &wy, AX_Y), mp = es_viz_axes_margins(&ps, NULL, &py, AX_Y);
    int left = m.left;
    left = has_wave && mw.left > left ? mw.left : left;
    left = has_prob && mp.left > left ? mp.left : left;

    /* colorbars first: they fix the right margin */
    const es_overlay *o = p->saliency && p->overlay.mode ? &p->overlay : NULL;
    cbar bars[2];
    int nb = spec_bars(p, o, bars);
    if (nb == 0)
        return -1;
    int top = r.y + ps.pad + title_block(&ps, p->title);
    int gap = 2 * ps.pad + ps.tick_len;
    int avail = r.y + r.h - m.bottom - top;
    int wave_h = has_wave ? avail * 16 / 100 : 0, prob_h = has_prob ? avail * 20 / 100 : 0;
    int spec_h = avail - wave_h - prob_h - (has_wave ? gap : 0) - (has_prob ? gap : 0);
    int right = spec_h > 0 ? cbars_width(&ps, bars, nb, spec_h) : 0;
    right = right > m.right ? right : m.right;
    es_rect plot = {r.x + left, top + (has_wave ? wave_h + gap : 0), r.w - left - right, spec_h};
    if (plot.w < 8 || plot.h < 8)
        return es_fail("spectrogram: region %dx%d leaves no room for the image", r.w, r.h);

    if (spec_image(c, plot, p, o) != 0)
        return -1;
    if (p->area)
        *p->area = plot;
    es_viz_axes_draw(c, &ps, plot, &p->x, &p->y, AX_X | AX_Y | (has_prob ? AX_NO_XLABELS : 0));
    cbars_draw(c, &ps, plot, bars, nb);
    if (has_wave)
        wave_strip(c, &ps, (es_rect){plot.x, top, plot.w, wave_h}, p);
    if (has_prob)
        prob_strip(c, &ps, (es_rect){plot.x, plot.y + plot.h + gap, plot.w, prob_h}, p, 1);
    es_viz_title_draw(c, &ps, (es_rect){plot.x, top, plot.w, 0}, p->title);
    return 0;
}

int es_plot_saliency_quad(es_canvas *c, es_rect r, const es_style *s, const es_spec_plot *p)
{
    plot_style ps;
    if (check_spec(p) != 0 || es_viz_style_resolve(&ps, s, r) != 0)
        return -1;
    if (!p->saliency)
        return es_fail("saliency quad: no saliency map given");
    es_fill_rect(c, r, ps.bg);
    static const char *titles[4] = {"input", "|saliency|", "positive", "negative"};
    es_overlay o[4] = {{ES_OVERLAY_NONE}, {ES_OVERLAY_HEAT, ES_SIGN_ABSOLUTE},
                       {ES_OVERLAY_HEAT, ES_SIGN_POSITIVE}, {ES_OVERLAY_HEAT, ES_SIGN_NEGATIVE}};
    margins m = es_viz_axes_margins(&ps, &p->x, &p->y, AX_X | AX_Y);
    int tb = title_block(&ps, titles[0]), gap = ps.tick_len + ps.pad;
    int top0 = r.y + ps.pad + title_block(&ps, p->title);
    int each = (r.y + r.h - m.bottom - top0 - 4 * tb - 3 * gap) / 4;
    cbar bars[4][2];
    int nb[4], right = 0;
    for (int i = 0; i < 4; i++) { /* one right margin for all, so the panels line up */
        o[i].outlier_perc = p->overlay.outlier_perc;
        if ((nb[i] = spec_bars(p, i ? &o[i] : NULL, bars[i])) == 0)
            return -1;
        int w = each > 0 ? cbars_width(&ps, bars[i], nb[i], each) : 0;
        right = w > right ? w : right;
    }
    if (each < 8 || r.w - m.left - right < 8)
        return es_fail("saliency quad: region %dx%d leaves no room for four panels", r.w, r.h);
    if (p->title) /* the figure title sits above the first panel's title */
        es_text_draw(c, ps.font, ps.title, r.x + r.w / 2, r.y + ps.pad, p->title, ps.fg,
                     ES_CENTER | ES_TOP);
    for (int i = 0; i < 4; i++) {
        es_rect plot = {r.x + m.left, top0 + tb + i * (each + tb + gap), r.w - m.left - right, each};
        if (spec_image(c, plot, p, i ? &o[i] : NULL) != 0)
            return -1;
        if (p->area && i == 0)
            *p->area = plot;
        es_viz_axes_draw(c, &ps, plot, &p->x, &p->y, AX_X | AX_Y | (i < 3 ? AX_NO_XLABELS : 0));
        cbars_draw(c, &ps, plot, bars[i], nb[i]);
        es_text_draw(c, ps.font, ps.label, plot.x + plot.w / 2, plot.y - ps.pad - 1, titles[i],
                     ps.fg, ES_CENTER | ES_BOTTOM);
    }
    return 0;
}
