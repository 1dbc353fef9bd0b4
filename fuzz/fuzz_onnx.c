/* ONNX models: any bytes must load or fail with a message — never crash, leak, hit UB, hang or
 * ask for gigabytes. A model that loads with a small input (at most 1e5 values) runs forward
 * on a fixed input, and backward to the input, when its work is small (3e6 multiply-adds,
 * ~2 ms under ASan): a bigger pass would spend the run's time on arithmetic the unit tests
 * already check. White-box (nn/graph.h) to weigh that work. One OpenMP thread unless
 * OMP_NUM_THREADS says otherwise: a second one spins between the many tiny passes. */
#include "nn/graph.h"
#include "nn/onnx.h"
#include "fuzz/fuzz.h"
#include <math.h>

/* Multiply-adds of one forward pass, roughly: each output value reads its window
 * (pools) or one weight row (conv, gemm: the weight's size over the output channels). */
static double work(const es_graph *g)
{
    double w = 0;
    for (int i = 0; i < g->nn; i++) {
        const es_node *n = &g->n[i];
        const es_tensor *y = &g->t[n->out[0]];
        double per = 1;
        if (n->op == ES_OP_MAXPOOL || n->op == ES_OP_AVGPOOL)
            per = (double)n->a.pool.w.kernel[0] * (y->ndim == 4 ? n->a.pool.w.kernel[1] : 1);
        for (int k = 0; k < n->n_in; k++) {
            const es_tensor *x = n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
            if (x && x->kind == ES_T_PARAM)
                per += (double)x->size / (y->ndim > 1 && y->dims[1] > 0 ? y->dims[1] : 1);
            else if (x && x->size > y->size) /* a reduction or a product of activations */
                per += (double)x->size / (y->size ? (double)y->size : 1.0);
        }
        w += per * (double)y->size;
    }
    return w;
}

static void run(es_graph *g)
{
    int in, out;
    if (es_graph_inputs(g, &in, 1) != 1 || es_graph_outputs(g, &out, 1) != 1)
        return;
    size_t n = es_tensor_size(g, in);
    if (n > 100000 || work(g) > 3e6)
        return;
    float *x = es_tensor_data(g, in);
    for (size_t i = 0; i < n; i++) /* a fixed input with both signs, zeros and one NaN */
        x[i] = i == 7 ? NAN : (float)((int)(i * 2654435761u % 17) - 8) / 4.0f;
    if (es_forward(g, ES_TEST) != 0 || es_backward(g, out, NULL, ES_RELU_GUIDED, ES_GRAD_INPUTS) != 0)
        abort(); /* a loaded model always runs */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("OMP_NUM_THREADS", "1", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "onnx");
    es_graph *g;
    es_meta *meta;
    if (es_onnx_load(path, &g, &meta) != 0) {
        if (!*es_error())
            abort(); /* a failure always says why */
        return 0;
    }
    run(g);
    es_graph_free(g);
    es_meta_free(meta);
    return 0;
}
