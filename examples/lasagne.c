/* The reference tutorial's first modern network, built as its Lasagne example builds it:
 *   input 3x32x32 -> dense 1000 -> batch norm -> ReLU -> dropout -> softmax
 * then trained for a few steps (on the scores before the softmax) and saved as ONNX.
 *   build/examples/lasagne [OUT.onnx] */
#include "nn/es_nn.h"
#include "nn/onnx.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "input", 3, (int[]){3, 32, 32});
    int h = es_dense(g, "aff", x, 1000);
    h = es_batchnorm(g, "bn", h);
    h = es_relu(g, "relu", h);
    int logits = es_dropout(g, "dp", h, 0.5f);
    int prob = es_softmax(g, "prob", logits); /* 1000 classes, as the tutorial's */
    if (prob < 0 || es_graph_mark_output(g, prob) != 0 || es_graph_init(g, ES_INIT_HE, 1) != 0) {
        fprintf(stderr, "lasagne: %s\n", es_error());
        return 1;
    }
    printf("%zu parameters\n", es_graph_n_params(g));

    enum { BATCH = 16 };
    float *xb = malloc(sizeof(float) * BATCH * 3 * 32 * 32);
    int labels[BATCH];
    es_optim_config c = es_optim_default(ES_ADAM);
    c.lr = 0.01f;
    es_optimizer *opt = es_optimizer_new(g, &c);
    srand(1);
    for (int i = 0; i < BATCH; i++) /* learnable: the label is the sign of the mean pixel */
        labels[i] = i % 2;
    for (int i = 0; i < BATCH * 3 * 32 * 32; i++)
        xb[i] = (float)rand() / RAND_MAX - 0.5f + (labels[i / (3 * 32 * 32)] ? 0.1f : -0.1f);
    for (int step = 0; step < 30; step++) {
        float loss;
        int correct;
        if (es_train_step(g, opt, x, xb, BATCH, logits, labels, &loss, &correct) != 0) {
            fprintf(stderr, "lasagne: %s\n", es_error());
            return 1;
        }
        if (step % 5 == 4)
            printf("step %2d: loss %.4f, %d/%d correct\n", step + 1, loss, correct, BATCH);
    }
    /* TEST mode: running statistics, no dropout; the softmax output is the probability */
    es_forward(g, ES_TEST);
    int right = 0;
    for (int i = 0; i < BATCH; i++) {
        const float *p = es_tensor_data(g, prob) + i * 1000;
        right += p[labels[i]] > p[1 - labels[i]];
    }
    printf("test mode: %d/%d ranked their class above the other\n", right, BATCH);
    int rc = 0;
    if (argc > 1 && es_onnx_save(g, NULL, argv[1]) != 0) {
        fprintf(stderr, "lasagne: %s\n", es_error());
        rc = 1;
    }
    es_optimizer_free(opt);
    free(xb);
    es_graph_free(g);
    return rc;
}
