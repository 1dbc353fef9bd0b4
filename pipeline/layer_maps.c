/* One layer's activation maps for one window of a clip (`earsight maps`, `export --maps`). */
#include "pipeline/es_pipeline.h"
#include <stdlib.h>
#include <string.h>

/* The layer's first sample as (channels × rows × cols) with rows the frequency axis of a
 * sound (the model's frames_mels layout turned) or the tensor's H. */
static float *turned_maps(const es_clip *in, int t, int *c, int *rows, int *cols)
{
    int dims[ES_MAX_DIMS], nd = es_tensor_shape(in->m.g, t, dims);
    const float *a = es_tensor_data(in->m.g, t);
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

int es_clip_layer_maps(es_clip *in, int t, int window, es_array *out)
{
    memset(out, 0, sizeof *out);
    int dims[ES_MAX_DIMS], nd = es_tensor_shape(in->m.g, t, dims);
    if (nd != 3 && nd != 4)
        return es_fail("%s: layer %s has no spatial maps (%d-D output; want (N,C,H,W) or (N,C,L))",
                       in->m.path, es_tensor_name(in->m.g, t), nd);
    if (window < 0 || window >= in->x.dims[0])
        return es_fail("window %d of %d", window, in->x.dims[0]);
    size_t row = es_array_size(&in->x) / in->x.dims[0];
    if (es_graph_set_batch(in->m.g, 1) != 0)
        return -1;
    memcpy(es_tensor_data(in->m.g, in->m.input), in->x.data + window * row, row * sizeof(float));
    if (es_forward(in->m.g, ES_TEST) != 0)
        return -1;
    int c, rows, cols;
    if (!(out->data = turned_maps(in, t, &c, &rows, &cols)))
        return -1;
    out->ndim = 3, out->dims[0] = c, out->dims[1] = rows, out->dims[2] = cols;
    return 0;
}
