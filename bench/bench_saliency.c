/* Saliency on the BAD DenseNet (1 x 200 x 56): guided backprop, Grad-CAM at the last spatial
 * activation, integrated gradients with 50 steps (Gauss-Legendre, batched) and SmoothGrad with
 * 25 samples — against the same computations written by hand in PyTorch (bench/peer_saliency.py). */
#include "bench/bench.h"
#include "saliency/es_saliency.h"

static double time_method(es_graph *g, int x, const float *in, float *out, es_sal_method m, int reps)
{
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = m, o.target = 1;
    double t;
    BENCH_MEDIAN(t, reps, if (es_saliency(g, x, in, &o, out, NULL) != 0) {
        fprintf(stderr, "bench_saliency: %s\n", es_error());
        exit(1);
    });
    return t;
}

int main(void)
{
    es_graph *g = es_build_bad_densenet(200, 56, 2, 0);
    if (!g || es_graph_init(g, ES_INIT_HE, 1) != 0) {
        fprintf(stderr, "bench_saliency: %s\n", es_error());
        return 1;
    }
    int x = es_tensor_find(g, "input");
    float *in = malloc(sizeof(float) * 200 * 56), *out = malloc(sizeof(float) * 200 * 56);
    for (int i = 0; i < 200 * 56; i++)
        in[i] = (float)((i * 7919 % 1000) / 500.0 - 1.0);
    double guided = time_method(g, x, in, out, ES_SAL_GUIDED, 11);
    double cam = time_method(g, x, in, out, ES_SAL_GRADCAM, 11);
    double ig = time_method(g, x, in, out, ES_SAL_IG, 3);
    double sg = time_method(g, x, in, out, ES_SAL_SMOOTHGRAD, 3);
    char names[8][64];
    double v[8];
    int n = run_peer("torch", "bench/peer_saliency.py", names, v, 8);
    printf("saliency on the BAD DenseNet 1x200x56 (medians)\n");
    report("  guided backprop", guided, peer_value(names, v, n, "guided"), "PyTorch");
    report("  Grad-CAM (last activation)", cam, peer_value(names, v, n, "gradcam"), "PyTorch");
    report("  integrated gradients, 50 steps", ig, peer_value(names, v, n, "ig50"), "PyTorch");
    report("  SmoothGrad, 25 samples", sg, peer_value(names, v, n, "smoothgrad25"), "PyTorch");
    free(in), free(out);
    es_graph_free(g);
    return 0;
}
