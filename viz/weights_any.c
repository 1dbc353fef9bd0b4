/* Any layer's weights, drawn as the weights verb and the viewer's filter pane both draw them. */
#include "viz/es_viz.h"

int es_plot_weights(es_canvas *c, es_rect r, const es_style *s, const float *w, const int *dims,
                    int nd, int mean_inputs, const char *cmap, const char *title)
{
    if (nd >= 3) {
        int mean = mean_inputs >= 0 ? mean_inputs : (long)dims[0] * dims[1] > 1024;
        return es_plot_conv_filters(c, r, s, w, dims[0], dims[1], nd == 4 ? dims[2] : 1,
                                    dims[nd - 1], mean, cmap, title);
    }
    return es_plot_dense_weights(c, r, s, w, dims[0], nd == 2 ? dims[1] : 1, cmap, title);
}
