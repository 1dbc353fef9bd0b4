/* What the picture verbs without a saliency figure (maps, weights) share: the picture flags
 * (--size, --cmap, --title, --png-level), the input's time / frequency axes, and drawing one
 * plot into a new canvas written as PNG with tEXt chunks. */
#ifndef ES_APP_PLOTTING_H
#define ES_APP_PLOTTING_H
#include "apps/saliency.h"
#include "viz/es_viz.h"

typedef struct {
    int w, h, level;
    const char *cmap, *title;
} plot_args;

/* getopt_long codes of the picture flags, for a verb's option table. */
enum { PLOT_SIZE = 1000, PLOT_CMAP, PLOT_TITLE, PLOT_LEVEL };
#define PLOT_OPTIONS                                                                          \
    {"size", required_argument, 0, PLOT_SIZE}, {"cmap", required_argument, 0, PLOT_CMAP},    \
    {"title", required_argument, 0, PLOT_TITLE}, {"png-level", required_argument, 0, PLOT_LEVEL}
#define PLOT_FLAGS_HELP                                                                       \
    "  --size WxH          picture size in pixels\n"                                          \
    "  --cmap NAME         colour map (viridis magma inferno plasma cividis gray RdBu_r bwr …)\n" \
    "  --title TEXT        the title (default: file and layer)\n"                             \
    "  --png-level N       PNG compression 0..9 (1: fast)\n"

void plot_args_init(plot_args *a, int w, int h);
/* Applies one picture flag (a PLOT_* code); 0, or 2 after printing a usage error. */
int plot_flag(plot_args *a, const char *verb, int code, const char *value);

/* The axes of the input's picture: seconds and Hz on the mel scale for a sound (window k of
 * it), rows and columns of the tensor otherwise. */
void plot_input_axes(const sal_input *in, int k, es_axis *x, es_axis *y, int rows, int cols);

/* Draws `draw(canvas, rect, style, plot)` over a white a->w × a->h canvas and writes it to
 * `out` atomically, with tEXt pairs `text` (key, value, …, NULL). 0, or -1 with es_error().
 * Releases fontconfig's caches afterwards: one picture per run. */
typedef int (*plot_draw_fn)(es_canvas *, es_rect, const es_style *, const void *);
int plot_write(const plot_args *a, const char *out, const char *const *text, plot_draw_fn draw,
               const void *plot);

#endif
