/* The saliency figure: an input and its attribution map composed into one viz canvas —
 * spectrogram with time / Hz axes (bins for a tensor), colorbars, a title naming the file,
 * method, class, score and P(class), the saliency overlay, and the P(class)-over-time strip of
 * a sound analysed in several windows. `earsight saliency --png` writes it and `earsight view`
 * shows it: one rendering path (DESIGN.md §1), so the two show the same pixels. */
#ifndef ES_APP_FIGURE_H
#define ES_APP_FIGURE_H
#include "apps/saliency.h"
#include "viz/es_viz.h"

typedef struct {
    int w, h;                /* canvas size in pixels */
    const char *mode, *sign; /* overlay names (es_overlay_parse); NULL: blended, absolute */
    const char *cmap;        /* overlay colour map; NULL: Captum's for the sign */
    const char *title;       /* NULL: "FILE — METHOD, class K LABEL (score S, P p)" */
    float outlier, alpha;    /* Captum's outlier_perc and alpha_overlay (2, 0.5) */
    int quad;                /* 1: the four panels (input, |saliency|, positive, negative) */
    int c0, c1;              /* time columns shown, [c0, c1); c1 <= 0: all. A part keeps the
                              * whole input's colour range so scrolling does not flicker */
    es_font *font;           /* NULL: opened and closed for this call */
} fig_opts;
#define FIG_OPTS_DEFAULTS {1000, 450, NULL, NULL, NULL, NULL, 2.0f, 0.5f, 0, 0, 0, NULL}

/* Draws the figure for `map` (sal_map_size floats, from sal_compute with `method`; info
 * from the same call) into a new canvas *cv (the caller frees it). 0, or -1 with es_error(). */
int fig_render(const fig_opts *o, const sal_input *in, const char *file, es_sal_method method,
               const float *map, const es_sal_info *info, es_canvas *cv);
/* The number of time columns the figure has for this input (a sound's frames, a tensor's
 * last dim, or its mels × frames turned). */
int fig_columns(const sal_input *in);

#endif
