/* The picture flags (--size, --cmap, --title, --png-level) the verbs without a saliency
 * figure (maps, weights) share; they draw with es_picture_write (pipeline/es_pipeline.h). */
#ifndef ES_APP_PLOTTING_H
#define ES_APP_PLOTTING_H
#include "pipeline/es_pipeline.h"

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

#endif
