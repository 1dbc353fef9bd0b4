/* The picture settings the verbs without a saliency figure (maps, weights) share (their flags:
 * OPT_PLOT in apps/opt.h); they draw with es_picture_write (pipeline/es_pipeline.h). */
#ifndef ES_APP_PLOTTING_H
#define ES_APP_PLOTTING_H
#include "pipeline/es_pipeline.h"

typedef struct {
    int w, h, level;
    const char *cmap, *title;
} plot_args;

void plot_args_init(plot_args *a, int w, int h);

#endif
