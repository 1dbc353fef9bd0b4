/* A layer's activation and weights as pictures show them (pipeline/es_pipeline.h): what the
 * maps and weights verbs and the viewer's panes share. */
#include "pipeline/es_pipeline.h"
#include <stdlib.h>
#include <string.h>

/* a (C, H, W) activation → (C, rows, cols) maps, a frames_mels model's (time, mel) turned */
static float *arrange_maps(const float *a, int c, int h, int w, int turn)
{
    float *m = malloc((size_t)c * h * w * sizeof(float));
    if (!m)
        return es_fail("out of memory"), NULL;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float v = a[((size_t)k * h + i) * w + j];
                if (turn)
                    m[((size_t)k * w + j) * h + i] = v;
                else
                    m[((size_t)k * h + i) * w + j] = v;
            }
    return m;
}

int es_clip_layer_maps(es_clip *in, int t, int window, es_array *out)
{
    memset(out, 0, sizeof *out);
    es_graph *g = in->m.g;
    if (es_graph_set_batch(g, 1) != 0)
        return -1;
    int dims[ES_MAX_DIMS], nd = es_tensor_shape(g, t, dims);
    if (nd != 3 && nd != 4)
        return es_fail("%s: layer %s has no spatial maps (%d-D output; want (N,C,H,W) or (N,C,L))",
                       in->m.path, es_tensor_name(g, t), nd);
    if (window < 0 || window >= in->x.dims[0])
        return es_fail("%s: window %d of %d", in->m.path, window, in->x.dims[0]);
    int pin0 = es_graph_pin(g, t, 1); /* the layer is read after the pass */
    if (pin0 < 0)
        return -1;
    size_t row = es_array_size(&in->x) / in->x.dims[0];
    memcpy(es_tensor_data(g, in->m.input), in->x.data + window * row, row * sizeof(float));
    const float *a = es_forward(g, ES_TEST) == 0 ? es_tensor_data(g, t) : NULL;
    int h = nd == 4 ? dims[2] : 1, w = dims[nd - 1], turn = in->audio && in->time_first && nd == 4;
    out->data = a ? arrange_maps(a, dims[1], h, w, turn) : NULL;
    if (!pin0)
        es_graph_pin(g, t, 0);
    if (!out->data)
        return -1;
    out->ndim = 3, out->dims[0] = dims[1], out->dims[1] = turn ? w : h, out->dims[2] = turn ? h : w;
    return 0;
}

int es_node_weights(const es_graph *g, int node)
{
    es_op_type op = es_node_op(g, node);
    const int *in;
    if ((op == ES_OP_CONV || op == ES_OP_GEMM || op == ES_OP_MATMUL) &&
        es_node_inputs(g, node, &in) >= 2 && es_tensor_kind_of(g, in[1]) != ES_T_ACT)
        return in[1];
    return -1;
}
