#include "apps/plotting.h"

void plot_args_init(plot_args *a, int w, int h)
{
    *a = (plot_args){.w = w, .h = h, .level = -1};
}
