/* Shared inside viz/ only: pixel blending and the plot layout helpers. */
#ifndef ES_VIZ_INTERNAL_H
#define ES_VIZ_INTERNAL_H
#include "viz/es_viz.h"

/* Straight-alpha "over" of colour s with opacity a (0..255) onto pixel d, rounded. With an
 * opaque d this is d = (s·a + d·(255 − a) + 127) / 255 per channel. */
static inline void blend_px(uint8_t *d, es_rgba s, int a)
{
    if (a >= 255) {
        d[0] = s.r, d[1] = s.g, d[2] = s.b, d[3] = 255;
        return;
    }
    if (a <= 0)
        return;
    if (d[3] == 255) {
        int na = 255 - a;
        d[0] = (uint8_t)((s.r * a + d[0] * na + 127) / 255);
        d[1] = (uint8_t)((s.g * a + d[1] * na + 127) / 255);
        d[2] = (uint8_t)((s.b * a + d[2] * na + 127) / 255);
        return;
    }
    int da = d[3] * (255 - a);      /* destination weight, scaled by 255 */
    int oa = a * 255 + da;          /* output alpha, scaled by 255 */
    if (oa == 0)
        return;
    d[0] = (uint8_t)((s.r * a * 255 + d[0] * da + oa / 2) / oa);
    d[1] = (uint8_t)((s.g * a * 255 + d[1] * da + oa / 2) / oa);
    d[2] = (uint8_t)((s.b * a * 255 + d[2] * da + oa / 2) / oa);
    d[3] = (uint8_t)((oa + 127) / 255);
}

/* Opacity of colour s scaled by coverage (0..255). */
static inline int cover_alpha(es_rgba s, int coverage)
{
    return (s.a * coverage + 127) / 255;
}

/* Clips r to the canvas; returns 0 when nothing is left. */
static inline int clip_rect(const es_canvas *c, es_rect *r)
{
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    int x1 = r->x + r->w > c->w ? c->w : r->x + r->w;
    int y1 = r->y + r->h > c->h ? c->h : r->y + r->h;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    *r = (es_rect){x0, y0, x1 - x0, y1 - y0};
    return 1;
}

/* Resolved style of one plot: colours and the three text sizes. */
typedef struct {
    es_font *font;
    es_rgba fg, bg, grid;
    float tick, label, title; /* text sizes in pixels */
    int tick_len, pad;
} plot_style;
int es_viz_style_resolve(plot_style *ps, const es_style *s, es_rect r);
/* Height of a line of text (ascent + descent) at `size`. */
static inline int text_h(const plot_style *ps, float size)
{
    int a, d;
    es_text_metrics(ps->font, size, &a, &d);
    return a + d;
}

/* Axes frame helpers (viz/axes.c). Margins a frame needs around its plot area for tick
 * labels and axis labels; then the drawing of ticks, labels and the frame. */
typedef struct {
    int left, right, top, bottom;
} margins;
enum { AX_X = 1, AX_Y = 2, AX_NO_XLABELS = 4 };
margins es_viz_axes_margins(const plot_style *ps, const es_axis *x, const es_axis *y, int which);
void es_viz_axes_draw(es_canvas *c, const plot_style *ps, es_rect plot, const es_axis *x,
                      const es_axis *y, int which);
/* A vertical colorbar in r: the map from vmin (bottom) to vmax, ticks and label on the right.
 * Width needed for its labels: es_viz_colorbar_width(), for a bar `length` pixels high (0: any). */
int es_viz_colorbar_width(const plot_style *ps, float vmin, float vmax, const char *label, int length);
void es_viz_colorbar_draw(es_canvas *c, const plot_style *ps, es_rect bar, const es_cmap *m,
                          float vmin, float vmax, const char *label);
/* Title centred above r. */
void es_viz_title_draw(es_canvas *c, const plot_style *ps, es_rect r, const char *title);

/* A matrix resampled to a dw × dh display region, row by row (viz/image.c): the x pass is
 * done up front (rows × dw); each display row is then a source row (nearest) or a weighted
 * sum of a few. Nearest (or bilinear with ES_SMOOTH) when enlarging, the area average of the
 * covered cells when shrinking; display row 0 is the top (flipped with ES_ORIGIN_LOWER). */
typedef struct {
    int rows, dw, dh, flags;
    float *xrows;        /* rows × dw */
    int *first, *count;  /* y taps per display row */
    float *w;
    int max;
} resampled;
int es_viz_resample_init(resampled *r, const float *m, int rows, int cols, int dw, int dh, int flags);
void es_viz_resample_free(resampled *r);

/* Colours one display row from the resampled rows of one or two matrices (a, b): n values
 * in, n colours out (straight alpha, blended over the canvas afterwards). */
typedef void (*row_colour_fn)(const void *ctx, const float *a, const float *b, int n,
                              es_rgba *out);
/* Draws a (and b, may be NULL; same shape) into r through `colour`, computing each distinct
 * source row once when the rows are nearest-sampled. */
int es_viz_draw_resampled(es_canvas *c, es_rect r, const resampled *a, const resampled *b,
                          row_colour_fn colour, const void *ctx);

/* Fast colour lookup for the hot loops: the table of a map and the index of x on a
 * (x − lo)·scale ∈ [0, 1] range, by matplotlib's rule (es_cmap_index). */
const uint8_t (*es_viz_cmap_lut(const es_cmap *m))[4];
static inline es_rgba lut_colour(const uint8_t (*lut)[4], float v)
{
    int i = es_cmap_index(v);
    if (i < 0)
        return (es_rgba){0, 0, 0, 0};
    return (es_rgba){lut[i][0], lut[i][1], lut[i][2], lut[i][3]};
}

/* Captum's default heat colormap for the overlay's sign, or its own (viz/overlay.c). */
const es_cmap *es_viz_overlay_cmap(const es_overlay *o);

/* Tiles in a grid (viz/grid.c): the column count (or `cols` when > 0) that gives the largest
 * tiles of the given aspect (width / height) in W × H, each with a caption band cap pixels
 * high above it. */
typedef struct {
    int cols, rows, tw, th, gap, cap;
} tile_layout;
int es_viz_tile_fit(tile_layout *t, int n, int cols, int W, int H, double aspect, int cap, int gap);
es_rect es_viz_tile_rect(const tile_layout *t, es_rect area, int i); /* the image part of tile i */
                         extern const es_rgba es_viz_plot_c0; /* matplotlib's first line colour */

/* Min and max of the finite values (0, 1 when none). */
void es_viz_finite_range(const float *v, size_t n, float *lo, float *hi);
#endif
