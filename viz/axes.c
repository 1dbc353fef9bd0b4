/* Axes: scales (linear, mel), tick choice and labels, frames, colorbars, titles. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The mel curves are base's (es_hz_to_mel): one rule for filter banks and axes. */
double es_scale_apply(double hz, es_scale s)
{
    if (s == ES_SCALE_LINEAR)
        return hz;
    return es_hz_to_mel(hz, s == ES_SCALE_MEL_HTK ? ES_MEL_HTK : ES_MEL_SLANEY);
}

double es_scale_invert(double mel, es_scale s)
{
    if (s == ES_SCALE_LINEAR)
        return mel;
    return es_mel_to_hz(mel, s == ES_SCALE_MEL_HTK ? ES_MEL_HTK : ES_MEL_SLANEY);
}

double es_axis_frac(const es_axis *a, double v)
{
    double lo = es_scale_apply(a->lo, a->scale), hi = es_scale_apply(a->hi, a->scale);
    return hi != lo ? (es_scale_apply(v, a->scale) - lo) / (hi - lo) : 0;
}

/* "−1.5", "0", "2.25": enough decimals for the step, the typographic minus as matplotlib;
 * very large or small steps in scientific notation ("2e+37") rather than long digit rows. */
static void linear_label(double v, double step, char *buf)
{
    if (fabs(v) < step * 1e-9)
        v = 0;
    char tmp[32];
    if (step >= 1e6 || step < 1e-5) {
        snprintf(tmp, sizeof tmp, "%.3g", fabs(v));
    } else {
        int dec = 0;
        while (dec < 6 && fabs(step * pow(10, dec) - round(step * pow(10, dec))) > 1e-6 * step * pow(10, dec))
            dec++;
        snprintf(tmp, sizeof tmp, "%.*f", dec, fabs(v));
    }
    snprintf(buf, 16, "%s%.12s", v < 0 ? "\xe2\x88\x92" : "", tmp);
}

static void hz_label(double hz, char *buf)
{
    if (hz >= 1000)
        snprintf(buf, 16, "%gk", hz / 1000);
    else
        snprintf(buf, 16, "%g", hz);
}

static int linear_ticks_step(const es_axis *a, double step, double *t, char (*lab)[16], int max)
{
    double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi);
    int n = 0;
    for (double k = ceil(lo / step - 1e-9); n < max && k * step <= hi + step * 1e-9; k++) {
        t[n] = k * step;
        linear_label(t[n], step, lab[n]);
        n++;
    }
    return n;
}

/* The 1-2-2.5-5 step nearest above span / (length / gap); a step down while fewer than two
 * ticks would show (a short colorbar still gets two numbers). */
static int linear_ticks(const es_axis *a, int length, int gap, double *t, char (*lab)[16], int max)
{
    static const double nice[] = {1, 2, 2.5, 5};
    double span = fabs(a->hi - a->lo);
    if (!isfinite(span) || span == 0)
        return 0;
    int want = length / (gap > 0 ? gap : 1);
    double raw = span / (want < 2 ? 2 : want);
    int e = (int)floor(log10(raw)), i = 0;
    while (nice[i] * pow(10, e) < raw)
        if (++i == 4)
            i = 0, e++;
    if (a->integer && nice[i] == 2.5 && e < 1) /* whole numbers: 5, not 2.5 */
        i++;
    for (int tries = 0;; tries++) {
        double step = nice[i] * pow(10, e);
        if (a->integer && step < 1)
            step = 1;
        int n = linear_ticks_step(a, step, t, lab, max);
        if (n >= 2 || tries == 3 || (a->integer && step <= 1))
            return n;
        if (--i < 0)
            i = 3, e--;
        if (a->integer && nice[i] == 2.5 && e < 1)
            i--;
    }
}

/* Hz ticks on a mel axis: the round frequencies a listener knows, the most important first,
 * each kept only if it is far enough from those already chosen. */
static int mel_ticks(const es_axis *a, int length, int gap, double *t, char (*lab)[16], int max)
{
    static const double pri[] = {1000, 2000, 4000, 8000, 500, 16000, 200, 100, 0,
                                 3000, 6000, 12000, 300, 50, 700, 1500, 5000, 10000,
                                 20000, 250, 150, 400, 600, 800, 20, 10};
    double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi);
    double pos[64];
    int n = 0;
    for (size_t i = 0; i < sizeof pri / sizeof *pri && n < max && n < 64; i++) {
        double v = pri[i];
        if (v < lo - 1e-9 || v > hi + 1e-9)
            continue;
        double px = es_axis_frac(a, v) * length;
        int ok = 1;
        for (int j = 0; j < n; j++)
            ok &= fabs(pos[j] - px) >= gap;
        if (ok)
            t[n] = v, pos[n] = px, n++;
    }
    for (int i = 1; i < n; i++) /* sort by value, keeping labels in step */
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1], t[j - 1] = x;
        }
    for (int i = 0; i < n; i++)
        hz_label(t[i], lab[i]);
    return n;
}

int es_axis_ticks(const es_axis *a, int length, int gap, double *ticks, char (*labels)[16], int max)
{
    if (a->lo == a->hi || length <= 0 || max <= 0 || !isfinite(a->lo) || !isfinite(a->hi))
        return 0;
    if (a->scale == ES_SCALE_LINEAR)
        return linear_ticks(a, length, gap, ticks, labels, max);
    return mel_ticks(a, length, gap, ticks, labels, max);
}

int es_viz_style_resolve(plot_style *ps, const es_style *s, es_rect r)
{
    if (!s || !s->font)
        return es_fail("plot: no font given (es_font_open)");
    if (r.w < 32 || r.h < 32)
        return es_fail("plot: region %dx%d is too small (at least 32x32)", r.w, r.h);
    ps->font = s->font;
    int none = !s->fg.a && !s->bg.a && !s->fg.r && !s->bg.r;
    ps->fg = none ? ES_RGBA(0, 0, 0, 255) : s->fg;
    ps->bg = none ? ES_RGBA(255, 255, 255, 255) : s->bg;
    ps->grid = ES_RGBA(ps->fg.r, ps->fg.g, ps->fg.b, 60);
    float t = s->font_px > 0 ? s->font_px : sqrtf((float)r.w * r.h) / 60.0f;
    ps->tick = t < 9 ? 9 : t > 18 && s->font_px <= 0 ? 18 : t;
    ps->label = ps->tick * 1.1f;
    ps->title = ps->tick * 1.3f;
    ps->tick_len = (int)(ps->tick * 0.35f + 1.5f);
    ps->pad = (int)(ps->tick * 0.3f + 1);
    return 0;
}

/* The widest tick label of an axis `length` pixels long, or (length 0) at any length from
 * 60 to ~2000 pixels, when margins are fixed before the length is known: a label wider than
 * its margin would be cut off. */
static int max_label_w(const plot_style *ps, const es_axis *a, int length, int gap)
{
    double t[32];
    char lab[32][16];
    int w = 0;
    for (int len = length > 0 ? length : 60; len < (length > 0 ? length + 1 : 2000); len *= 2) {
        int n = es_axis_ticks(a, len, gap, t, lab, 32);
        for (int i = 0; i < n; i++) {
            int tw = es_text_width(ps->font, ps->tick, lab[i]);
            w = tw > w ? tw : w;
        }
    }
    return w;
}

static int xgap(const plot_style *ps) { return (int)(ps->tick * 7.0f); }
static int ygap(const plot_style *ps) { return (int)(ps->tick * 3.6f); }

margins es_viz_axes_margins(const plot_style *ps, const es_axis *x, const es_axis *y, int which)
{
    margins m = {ps->pad, ps->pad, ps->pad, ps->pad};
    if ((which & AX_Y) && y) {
        m.left = ps->tick_len + ps->pad + max_label_w(ps, y, 0, ygap(ps)) + ps->pad;
        if (y->label)
            m.left += text_h(ps, ps->label) + ps->pad;
    }
    if ((which & AX_X) && x && !(which & AX_NO_XLABELS)) {
        m.bottom = ps->tick_len + ps->pad + text_h(ps, ps->tick) + ps->pad;
        if (x->label)
            m.bottom += text_h(ps, ps->label) + ps->pad;
    } else if (which & AX_X) {
        m.bottom = ps->tick_len + ps->pad;
    }
    /* the last x tick label may stick out to the right of the plot by half its width */
    m.right = (int)(ps->tick * 1.5f);
    return m;
}

/* Pixel column (row) of a tick: fraction 0 is the left (bottom) edge, 1 the right (top). */
static int tick_px(double frac, int start, int len)
{
    int k = (int)floor(frac * len);
    return start + (k < 0 ? 0 : k >= len ? len - 1 : k);
}

/* A turned label must fit the height beside it, or it runs into the next panel: then the unit
 * in parentheses alone ("Frequency (Hz)" → "Hz"), else nothing. */
static const char *fitting_label(const plot_style *ps, const char *label, int room, char *buf)
{
    if (!label || es_text_width(ps->font, ps->label, label) <= room)
        return label;
    const char *a = strrchr(label, '('), *b = a ? strchr(a, ')') : NULL;
    if (!a || !b || b - a - 1 > 30)
        return NULL;
    snprintf(buf, 32, "%.*s", (int)(b - a - 1), a + 1);
    return es_text_width(ps->font, ps->label, buf) <= room ? buf : NULL;
}

void es_viz_axes_draw(es_canvas *c, const plot_style *ps, es_rect p, const es_axis *x,
                      const es_axis *y, int which)
{
    double t[32];
    char lab[32][16];
    es_stroke_rect(c, (es_rect){p.x - 1, p.y - 1, p.w + 2, p.h + 2}, ps->fg);
    if ((which & AX_X) && x) {
        int n = es_axis_ticks(x, p.w, xgap(ps), t, lab, 32);
        int ty = p.y + p.h + 1 + ps->tick_len + ps->pad, right = INT_MIN;
        for (int i = 0; i < n; i++) {
            double f = es_axis_frac(x, t[i]);
            int px = tick_px(f, p.x, p.w);
            px = px < p.x ? p.x : px >= p.x + p.w ? p.x + p.w - 1 : px;
            es_fill_rect(c, (es_rect){px, p.y + p.h + 1, 1, ps->tick_len}, ps->fg);
            int half = es_text_width(ps->font, ps->tick, lab[i]) / 2;
            if (which & AX_NO_XLABELS || px - half < right + ps->pad)
                continue; /* on a short axis a label that would touch the last one is left out */
            es_text_draw(c, ps->font, ps->tick, px, ty, lab[i], ps->fg, ES_CENTER | ES_TOP);
            right = px + half;
        }
        if (x->label && !(which & AX_NO_XLABELS))
            es_text_draw(c, ps->font, ps->label, p.x + p.w / 2,
                         ty + text_h(ps, ps->tick) + ps->pad, x->label, ps->fg, ES_CENTER | ES_TOP);
    }
    if ((which & AX_Y) && y) {
        int n = es_axis_ticks(y, p.h, ygap(ps), t, lab, 32), lw = 0;
        int tx = p.x - 1 - ps->tick_len - ps->pad, top = INT_MAX, th = text_h(ps, ps->tick);
        for (int i = 0; i < n; i++) {
            double f = es_axis_frac(y, t[i]);
            int py = p.y + p.h - 1 - (tick_px(f, 0, p.h));
            py = py < p.y ? p.y : py >= p.y + p.h ? p.y + p.h - 1 : py;
            es_fill_rect(c, (es_rect){p.x - 1 - ps->tick_len, py, ps->tick_len, 1}, ps->fg);
            if (py + th / 2 > top - ps->pad / 2)
                continue; /* as on x: no label over the one below it */
            top = py - th / 2;
            es_text_draw(c, ps->font, ps->tick, tx, py, lab[i], ps->fg, ES_RIGHT | ES_MIDDLE);
            int w = es_text_width(ps->font, ps->tick, lab[i]);
            lw = w > lw ? w : lw;
        }
        char short_label[32];
        const char *l = fitting_label(ps, y->label, p.h, short_label);
        if (l)
            es_text_draw_up(c, ps->font, ps->label, tx - lw - ps->pad, p.y + p.h / 2, l,
                            ps->fg, ES_CENTER | ES_BOTTOM);
    }
}

int es_viz_colorbar_width(const plot_style *ps, float vmin, float vmax, const char *label, int length)
{
    es_axis a = {vmin, vmax, ES_SCALE_LINEAR, label};
    int bar = (int)(ps->tick * 1.4f);
    int w = 2 * ps->pad + bar + ps->tick_len + ps->pad + max_label_w(ps, &a, length, ygap(ps));
    if (label)
        w += ps->pad + text_h(ps, ps->label);
    return w + ps->pad;
}

void es_viz_colorbar_draw(es_canvas *c, const plot_style *ps, es_rect r, const es_cmap *m, float vmin,
                          float vmax, const char *label)
{
    int bar = (int)(ps->tick * 1.4f);
    es_rect b = {r.x + 2 * ps->pad, r.y, bar, r.h};
    for (int y = 0; y < b.h; y++) { /* one colour per row, the row centre's value */
        float f = (b.h - 1 - y + 0.5f) / b.h;
        es_fill_rect(c, (es_rect){b.x, b.y + y, b.w, 1}, es_cmap_color(m, f));
    }
    es_stroke_rect(c, (es_rect){b.x - 1, b.y - 1, b.w + 2, b.h + 2}, ps->fg);
    es_axis a = {vmin, vmax, ES_SCALE_LINEAR, label};
    double t[32];
    char lab[32][16];
    int n = es_axis_ticks(&a, b.h, ygap(ps), t, lab, 32), lw = 0;
    int tx = b.x + b.w + 1 + ps->tick_len + ps->pad;
    for (int i = 0; i < n; i++) {
        int py = b.y + b.h - 1 - tick_px(es_axis_frac(&a, t[i]), 0, b.h);
        py = py < b.y ? b.y : py >= b.y + b.h ? b.y + b.h - 1 : py;
        es_fill_rect(c, (es_rect){b.x + b.w + 1, py, ps->tick_len, 1}, ps->fg);
        es_text_draw(c, ps->font, ps->tick, tx, py, lab[i], ps->fg, ES_LEFT | ES_MIDDLE);
        int w = es_text_width(ps->font, ps->tick, lab[i]);
        lw = w > lw ? w : lw;
    }
    char short_label[32];
    const char *l = fitting_label(ps, label, b.h, short_label);
    if (l)
        es_text_draw_up(c, ps->font, ps->label, tx + lw + ps->pad, b.y + b.h / 2, l, ps->fg,
                        ES_CENTER | ES_TOP);
}

void es_viz_title_draw(es_canvas *c, const plot_style *ps, es_rect r, const char *title)
{
    if (title)
        es_text_draw(c, ps->font, ps->title, r.x + r.w / 2, r.y - ps->pad - 1, title, ps->fg,
                     ES_CENTER | ES_BOTTOM);
}
