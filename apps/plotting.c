#include "apps/plotting.h"
#include <stdio.h>

void plot_args_init(plot_args *a, int w, int h)
{
    *a = (plot_args){.w = w, .h = h, .level = -1};
}

int plot_cmap(const opt *row, const char *value, char *why, size_t cap)
{
    if (!es_cmap_get(value))
        return snprintf(why, cap, "unknown colour map '%s' (one of: %s)", value, es_cmap_list()), -1;
    *(const char **)row->dest = value;
    return 0;
}
