/* earsight maps [-m MODEL] --input X --layer NAME -o OUT.png — what one layer responds to:
 * every channel of its activation for the input, as a labelled grid on the input's time /
 * frequency extent. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/saliency.h"
#include "apps/plotting.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "maps",
    "usage: earsight maps [-m MODEL] --input X.npy|SOUND [--layer NAME] -o OUT.png [options]",
    "Draws every channel of a layer's activation for one input as a labelled grid, each map\n"
    "normalised to its own range, on the input's time / frequency extent (low frequencies at\n"
    "the bottom). A sound longer than the model's frames is cut into windows; --window picks\n"
    "one.\n"};

static int draw_grid(es_canvas *c, es_rect r, const es_style *s, const void *p)
{
    return es_plot_activations(c, r, s, p);
}

int cmd_maps(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *layer = NULL, *out = NULL;
    int window = 0, sort = 0;
    plot_args pa;
    plot_args_init(&pa, 1200, 900);
    const opt opts[] = {
        OPT_MODEL_AS(&model, "MODEL", "ONNX model (default: the shipped bird detector)"),
        OPT_INPUT(&input, "the input: a .npy tensor (batch dim optional) or a sound"),
        OPT_STRING(0, "layer", &layer, "NAME", "ONNX node or tensor name (default: the last spatial activation\n"
                                               "before pooling, as `earsight info` shows)"),
        OPT_INT(0, "window", &window, 0, 1e9, "K", "which window of a long sound (0)"),
        OPT_SWITCH(0, "sort", &sort, "order the maps by mean activation, largest first"),
        OPT_OUTPUT(&out, "the PNG to write"), OPT_PLOT(&pa), OPT_END};
    opt_parse(&cmd, opts, argc, argv);
    if (!input || !out)
        return cli_usage("maps", "--input and -o are required");

    es_clip in;
    if (es_clip_load(&in, model, &opt_model, input, 0) != 0)
        return cli_lib_fail();
    int rc = 1, t = layer ? es_sal_layer_find(in.m.g, layer) : es_sal_default_layer(in.m.g);
    float *maps = NULL;
    if (t < 0) {
        if (!layer)
            es_fail("%s: no layer with spatial maps", in.m.path);
        goto done;
    }
    es_array am = {0};
    if (window >= in.x.dims[0]) {
        es_fail("%s: window %d of %d", input, window, in.x.dims[0]);
        goto done;
    }
    if (es_clip_layer_maps(&in, t, window, &am) != 0)
        goto done;
    maps = am.data;
    int c = am.dims[0], rows = am.dims[1], cols = am.dims[2];
    char title[512];
    snprintf(title, sizeof title, "%s — %s: %d maps of %d × %d", input, es_tensor_name(in.m.g, t),
             c, rows, cols);
    es_grid_plot p = {maps, c, rows, cols, {0}, {0}, pa.cmap, sort, pa.title ? pa.title : title};
    es_clip_axes(&in, window, &p.x, &p.y, rows, cols);
    char axes[256];
    es_axes_text(&p.x, &p.y, axes, sizeof axes);
    const char *text[] = {"model", in.m.path, "layer", es_tensor_name(in.m.g, t), "input", input,
                          "axes", axes, NULL};
    rc = es_picture_write(pa.w, pa.h, pa.level, out, text, draw_grid, &p) != 0;
done:
    if (rc)
        cli_lib_fail();
    free(maps);
    es_clip_free(&in);
    return rc;
}
