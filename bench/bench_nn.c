/* The BAD DenseNet (1 x 200 x 56): forward, forward + backward to the input (what one
 * saliency map costs), and a training step with batch 32 — against PyTorch in the same run. */
#include "bench/bench.h"
#include "nn/es_nn.h"

int main(void)
{
    es_graph *g = es_build_bad_densenet(200, 56, 2, 0);
    if (!g || es_graph_init(g, ES_INIT_HE, 1) != 0) {
        fprintf(stderr, "bench_nn: %s\n", es_error());
        return 1;
    }
    int x = es_tensor_find(g, "input"), y;
    es_graph_outputs(g, &y, 1);
    float *xd = es_tensor_data(g, x);
    for (int i = 0; i < 200 * 56; i++)
        xd[i] = (float)((i * 7919 % 1000) / 500.0 - 1.0);
    double fwd, sal, train;
    BENCH_MEDIAN(fwd, 21, es_forward(g, ES_TEST));
    float seed[2] = {1, 0};
    BENCH_MEDIAN(sal, 21, {
        es_forward(g, ES_TEST);
        es_backward(g, y, seed, ES_RELU_GUIDED, ES_GRAD_INPUTS);
    });
    enum { B = 32 };
    float *xb = malloc(sizeof(float) * B * 200 * 56);
    int labels[B];
    for (int i = 0; i < B * 200 * 56; i++)
        xb[i] = (float)(((long)i * 104729 % 2000) / 1000.0 - 1.0);
    for (int i = 0; i < B; i++)
        labels[i] = i % 2;
    es_optimizer *o = es_optimizer_new(g, &(es_optim_config){.kind = ES_SGD, .lr = 0.01f, .momentum = 0.9f, .nesterov = 1});
    BENCH_MEDIAN(train, 5, es_train_step(g, o, x, xb, B, y, labels, NULL, NULL));
    char names[8][64];
    double v[8];
    int n = run_peer("torch", "bench/peer_nn.py", names, v, 8);
    printf("BAD DenseNet 1x200x56, 328,004 parameters (medians)\n");
    report("  forward", fwd, peer_value(names, v, n, "forward"), "PyTorch");
    report("  forward + backward to input", sal, peer_value(names, v, n, "saliency"), "PyTorch");
    report("  training step, batch 32", train, peer_value(names, v, n, "train32"), "PyTorch");
    es_optimizer_free(o);
    free(xb);
    es_graph_free(g);
    return 0;
}
