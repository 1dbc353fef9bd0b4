/* A layer's activation and weights as pictures show them (pipeline/es_pipeline.h): what the
 * maps and weights verbs and the viewer's panes share. */
#include "pipeline/es_pipeline.h"
#include <stdlib.h>
#include <string.h>

float *es_clip_layer_maps(const es_clip *in, int t, int *c, int *rows, int *cols)
{
    int dims[ES_MAX_DIMS], nd = es_tensor_shape(in->m.g, t, dims);
    const float *a = es_tensor_data(in->m.g, t);
    if ((nd != 3 && nd != 4) || !a)
        return es_fail("%s: layer %s has no spatial maps (%d-D output; want (N,C,H,W) or (N,C,L))",
                       in->m.path, es_tensor_name(in->m.g, t), nd), NULL;
    *c = dims[1];
    int h = nd == 4 ? dims[2] : 1, w = dims[nd - 1], turn = in->audio && in->time_first && nd == 4;
    *rows = turn ? w : h, *cols = turn ? h : w;
    float *m = malloc((size_t)*c * h * w * sizeof(float));
    if (!m)
        return es_fail("out of memory"), NULL;
    for (int k = 0; k < *c; k++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float v = a[((size_t)k * h + i) * w + j];
                if (turn) /* (time, mel) -> (mel, time) */
                    m[((size_t)k * w + j) * h + i] = v;
                else
                    m[((size_t)k * h + i) * w + j] = v;
            }
    return m;
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
