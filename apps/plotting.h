/* The picture settings the verbs without a saliency figure (maps, weights) share, and their
 * flags; they draw with es_picture_write (pipeline/es_pipeline.h). */
#ifndef ES_APP_PLOTTING_H
#define ES_APP_PLOTTING_H
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"

typedef struct {
    int w, h, level;
    const char *cmap, *title;
} plot_args;

void plot_args_init(plot_args *a, int w, int h);

/* The picture flags of maps and weights (a plot_args *a). */
#define OPT_PLOT(a)                                                                             \
    OPT_SIZE(0, "size", &(a)->w, &(a)->h, 1, 16384, "WxH", "picture size in pixels"),           \
    OPT_CALL(0, "cmap", &(a)->cmap, plot_cmap, "NAME",                                          \
             "colour map (viridis magma inferno plasma cividis gray RdBu_r bwr …)"),            \
    OPT_STRING(0, "title", &(a)->title, "TEXT", "the title (default: file and layer)"),         \
    OPT_PNG_LEVEL(&(a)->level)
/* --cmap: a colour map by name (viz's es_cmap_get), stored as the name. */
int plot_cmap(const opt *row, const char *value, char *why, size_t cap);

#endif
