/* earsight weights [-m MODEL] --layer NAME -o OUT.png — what a layer's filters look like:
 * conv kernels as tiles on a signed colour map, dense weights as an image beside their
 * histogram. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include "apps/plotting.h"
#include <stdio.h>
#include <string.h>

static const opt_cmd cmd = {
    "weights",
    "usage: earsight weights [-m MODEL] [--layer NAME] -o OUT.png [options]",
    "Draws a layer's weights: a Conv's filters as tiles (each filter on its own symmetric\n"
    "scale, signed colour map; one tile per input channel, or the mean over inputs), a\n"
    "Gemm's / MatMul's matrix as an image beside the histogram of its values.\n"};

/* The node a name means: a node, the producer of a tensor, or the consumer of a weight. */
static int find_layer(const es_graph *g, const char *name)
{
    for (int i = 0; i < es_graph_n_nodes(g); i++)
        if (strcmp(es_node_name(g, i), name) == 0)
            return i;
    int t = es_tensor_find(g, name);
    if (t >= 0 && es_node_producing(g, t) >= 0)
        return es_node_producing(g, t);
    for (int i = 0; t >= 0 && i < es_graph_n_nodes(g); i++) {
        const int *in;
        if (es_node_inputs(g, i, &in) >= 2 && in[1] == t)
            return i;
    }
    return -1;
}

typedef struct {
    const float *w;
    int dims[ES_MAX_DIMS], nd, mean_inputs;
    const char *cmap, *title;
} weight_plot;

static int draw_weights(es_canvas *c, es_rect r, const es_style *s, const void *v)
{
    const weight_plot *p = v;
    return es_plot_weights(c, r, s, p->w, p->dims, p->nd, p->mean_inputs, p->cmap, p->title);
}

int cmd_weights(int argc, char **argv)
{
    const char *model = NULL, *layer = NULL, *out = NULL;
    int mean = -1;
    plot_args pa;
    plot_args_init(&pa, 1200, 900);
    const opt rows[] = {
        OPT_MODEL_AS(&model, "MODEL", "ONNX model (default: the shipped bird detector)"),
        OPT_STRING(0, "layer", &layer, "NAME", "a Conv, Gemm or MatMul node, its output or its weight tensor\n"
                                               "(default: the first Conv)"),
        OPT_SET(0, "mean-inputs", &mean, 1, "one tile per filter: the mean over its input channels (the default\n"
                                            "when filters × inputs exceeds 1024 tiles)"),
        OPT_SET(0, "per-input", &mean, 0, "one tile per filter and input channel, however many"),
        OPT_OUTPUT(&out, "the PNG to write"), OPT_PLOT(&pa), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!out)
        return cli_usage("weights", "-o OUT.png is required");
    es_model m;
    if (es_model_load(&m, model, &opt_model) != 0)
        return cli_lib_fail();
    const es_graph *g = m.g;
    int node = -1, rc = 1;
    for (int i = 0; !layer && node < 0 && i < es_graph_n_nodes(g); i++)
        if (es_node_op(g, i) == ES_OP_CONV && es_node_weights(g, i) >= 0)
            node = i;
    if (layer && (node = find_layer(g, layer)) < 0) {
        cli_fail("%s: no layer named '%s' (see `earsight info`)", m.path, layer);
        goto done;
    }
    if (node < 0 || es_node_weights(g, node) < 0) {
        cli_fail("%s: %s has no weights to draw (want a Conv, Gemm or MatMul; it is %s)", m.path,
                 node < 0 ? "the model" : es_node_name(g, node), node < 0 ? "without Conv" : es_op_name(es_node_op(g, node)));
        goto done;
    }
    const int *in;
    es_node_inputs(g, node, &in);
    weight_plot p = {es_tensor_data(m.g, in[1]), {0}, 0, 0, pa.cmap, pa.title};
    p.nd = es_tensor_shape(g, in[1], p.dims);
    p.mean_inputs = mean;
    char title[512];
    if (!p.title) {
        snprintf(title, sizeof title, "%s: %s %s", es_node_name(g, node), es_op_name(es_node_op(g, node)),
                 es_tensor_name(g, in[1]));
        p.title = title;
    }
    const char *text[] = {"model", m.path, "layer", es_node_name(g, node), NULL};
    rc = es_picture_write(pa.w, pa.h, pa.level, out, text, draw_weights, &p) != 0 ? cli_lib_fail() : 0;
done:
    es_model_free(&m);
    return rc;
}
