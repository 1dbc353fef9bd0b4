#include "apps/plotting.h"
#include "apps/cli.h"
#include <stdio.h>
#include <stdlib.h>

void plot_args_init(plot_args *a, int w, int h)
{
    *a = (plot_args){.w = w, .h = h, .level = -1};
}

int plot_flag(plot_args *a, const char *verb, int code, const char *v)
{
    char extra;
    switch (code) {
    case PLOT_SIZE:
        if (sscanf(v, "%dx%d%c", &a->w, &a->h, &extra) != 2 || a->w < 1 || a->h < 1 ||
            a->w > 16384 || a->h > 16384)
            return cli_usage(verb, "--size needs WxH, 1..16384 pixels each, e.g. 1200x900 (not '%s')", v);
        return 0;
    case PLOT_CMAP:
        if (!es_cmap_get(v))
            return cli_usage(verb, "unknown colour map '%s' (one of: %s)", v, es_cmap_list());
        a->cmap = v;
        return 0;
    case PLOT_TITLE:
        a->title = v;
        return 0;
    case PLOT_LEVEL:
        if (sscanf(v, "%d%c", &a->level, &extra) != 1 || a->level < 0 || a->level > 9)
            return cli_usage(verb, "--png-level needs 0..9, not '%s'", v);
        return 0;
    }
    return 2; /* getopt's '?' and ':': it has printed why */
}
