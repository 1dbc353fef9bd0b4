/* Where the viewer looks and what the mouse does there: zoom and pan in time and frequency
 * (keys, wheel, drag), the selection, click to play, and the readout of what is under the
 * mouse (time, frequency, feature value, attribution, the window's P(class)). */
#include "apps/view/view.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void view_clamp(view *v)
{
    v->span = v->span < 1 ? 1 : v->span > v->cols ? v->cols : v->span;
    v->c0 = v->c0 > v->cols - v->span ? v->cols - v->span : v->c0;
    v->c0 = v->c0 < 0 ? 0 : v->c0;
    v->rspan = v->rspan < 1 ? 1 : v->rspan > v->rows ? v->rows : v->rspan;
    v->r0 = v->r0 > v->rows - v->rspan ? v->rows - v->rspan : v->r0;
    v->r0 = v->r0 < 0 ? 0 : v->r0;
}

/* Halves (in > 0) or doubles (in < 0) the shown span around `anchor`, which stays where it
 * is on the screen; in == 0 shows everything. At least min(n, 8) stay shown. */
static void zoom_1d(int *lo, int *span, int n, int in, double anchor)
{
    int least = n < 8 ? n : 8, old = *span;
    *span = in > 0 ? *span / 2 : in < 0 ? *span * 2 : n;
    *span = *span < least ? least : *span > n ? n : *span;
    double f = old > 0 ? (anchor - *lo) / old : 0.5;
    *lo = (int)lround(anchor - f * *span);
}

void view_zoom_time(view *v, int in, double anchor)
{
    zoom_1d(&v->c0, &v->span, v->cols, in, anchor < 0 ? v->c0 + v->span / 2.0 : anchor);
    view_clamp(v);
    v->fig_dirty = 1;
}

void view_zoom_freq(view *v, int in, double anchor)
{
    zoom_1d(&v->r0, &v->rspan, v->rows, in, anchor < 0 ? v->r0 + v->rspan / 2.0 : anchor);
    view_clamp(v);
    v->fig_dirty = 1;
}

void view_pan(view *v, int dcols, int drows)
{
    v->c0 += dcols, v->r0 += drows;
    view_clamp(v);
    v->fig_dirty = 1;
}

/* The column and row (fractional, in the whole picture) under pixel (x, y), or -1 when the
 * pixel is not over the image. */
static int under(const view *v, int x, int y, double *col, double *row)
{
    es_rect a = v->area;
    if (a.w <= 0 || x < a.x || x >= a.x + a.w || y < a.y || y >= a.y + a.h)
        return -1;
    *col = v->c0 + (x - a.x + 0.5) / a.w * v->span;
    *row = v->r0 + (a.y + a.h - y - 0.5) / a.h * v->rspan; /* row 0 at the bottom */
    return 0;
}

/* The window whose centre is nearest column `col` (windows are in->F frames, in->hop apart). */
int view_window_at(const view *v, int col)
{
    int W = v->in.x.dims[0];
    if (!v->in.audio || W <= 1)
        return 0;
    int k = (int)lround((col - v->in.F / 2.0) / v->in.hop);
    return k < 0 ? 0 : k >= W ? W - 1 : k;
}

/* The value of the picture (rows × cols, es_clip_picture's layout) of `data` at (row, col). */
static float picture_at(const view *v, const float *data, int row, int col)
{
    if (v->in.audio) /* a sound's map is the picture already */
        return data[(size_t)row * v->cols + col];
    int r, c;
    float *pic, val = NAN;
    if (es_clip_picture(&v->in, data, &r, &c, &pic) != 0)
        return NAN;
    if (row < r && col < c)
        val = pic[(size_t)row * c + col];
    free(pic);
    return val;
}

void view_readout(view *v)
{
    double col, row;
    v->readout[0] = 0;
    if (under(v, v->mx, v->my, &col, &row) != 0 || !v->base)
        return;
    int c = (int)col, r = (int)row;
    es_axis x, y;
    es_figure_axes(&v->fo, &v->in, &x, &y);
    double fx = (col - v->c0) / v->span, fy = (row - v->r0) / v->rspan;
    double t = x.lo + fx * (x.hi - x.lo);
    double ylo = es_scale_apply(y.lo, y.scale), yhi = es_scale_apply(y.hi, y.scale);
    double hz = es_scale_invert(ylo + fy * (yhi - ylo), y.scale);
    int n = v->in.audio ? snprintf(v->readout, sizeof v->readout, "%.3f s · %.0f Hz", t, hz)
                        : snprintf(v->readout, sizeof v->readout, "frame %d · bin %d", c, r);
    const char *unit = v->in.audio && v->in.cfg.log == ES_LOG_DB &&
                       v->in.cfg.standardize == ES_STANDARDIZE_NONE && v->in.cfg.n_mfcc <= 0 ? " dB" : "";
    n += snprintf(v->readout + n, sizeof v->readout - n, " · %s%.4g%s",
                  unit[0] ? "" : "value ", v->base[(size_t)r * v->cols + c], unit);
    const view_map *m = &v->cache[v->method * v->in.classes + v->target];
    if (m->map)
        n += snprintf(v->readout + n, sizeof v->readout - n, " · %s %.3g",
                      es_sal_method_name(v->method), picture_at(v, m->map, r, c));
    int k = view_window_at(v, c);
    float *p = malloc(v->in.classes * sizeof *p);
    if (p) {
        es_clip_probabilities(&v->in, v->in.scores + (size_t)k * v->in.classes, p);
        const char *label = es_model_label(&v->in.m, v->target);
        snprintf(v->readout + n, sizeof v->readout - n, " · window %d P(%s) %.3f", k,
                 label ? label : "class", p[v->target]);
        free(p);
    }
}

/* A press, drag and release of the left button: a click plays from that point to the end,
 * a drag over the image selects a time span; the right (or middle) button drags the view. */
int view_mouse(view *v, const SDL_Event *e)
{
    double col, row;
    switch (e->type) {
    case SDL_MOUSEMOTION: {
        int x = (int)(e->motion.x * v->scale), y = (int)(e->motion.y * v->scale);
        if (v->drag == SDL_BUTTON_LEFT && v->press_col >= 0 && under(v, x, v->area.y, &col, &row) == 0) {
            v->sel0 = fmin(v->press_col, col), v->sel1 = fmax(v->press_col, col);
        } else if (v->drag && v->drag != SDL_BUTTON_LEFT && v->area.w > 0) {
            int dc = (int)lround((double)(v->mx - x) / v->area.w * v->span);
            int dr = (int)lround((double)(y - v->my) / v->area.h * v->rspan);
            if (dc || dr)
                view_pan(v, dc, dr);
            else
                return 0; /* less than a column: keep the anchor */
        }
        v->mx = x, v->my = y;
        view_readout(v);
        return 1;
    }
    case SDL_MOUSEBUTTONDOWN: {
        int x = (int)(e->button.x * v->scale), y = (int)(e->button.y * v->scale);
        v->mx = x, v->my = y, v->drag = e->button.button, v->press_x = x;
        v->press_col = e->button.button == SDL_BUTTON_LEFT && under(v, x, y, &col, &row) == 0 ? col : -1;
        return 0;
    }
    case SDL_MOUSEBUTTONUP: {
        int x = (int)(e->button.x * v->scale);
        if (e->button.button == SDL_BUTTON_LEFT && v->press_col >= 0 && abs(x - v->press_x) < 4) {
            v->sel0 = v->sel1 = 0; /* a click: play from here */
            view_play_cols(v, 0, NULL, v->press_col, v->cols);
        }
        v->drag = 0, v->press_col = -1;
        return 1;
    }
    case SDL_MOUSEWHEEL: {
        int in = e->wheel.y > 0 ? 1 : e->wheel.y < 0 ? -1 : 0;
        SDL_Keymod mod = SDL_GetModState();
        if (!in)
            return 0;
        int over = under(v, v->mx, v->my, &col, &row) == 0;
        if (mod & KMOD_SHIFT)
            view_pan(v, -in * (v->span / 8 > 0 ? v->span / 8 : 1), 0);
        else if (mod & KMOD_CTRL)
            view_zoom_freq(v, in, over ? row : -1);
        else
            view_zoom_time(v, in, over ? col : -1);
        v->status[0] = 0;
        return 1;
    }
    }
    return 0;
}
