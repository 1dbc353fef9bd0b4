/* The Bird Audio Detection 2017 DenseNet (T. Pellegrini; github topel/
 * bird_audio_detection_challenge), as es_nn.h describes it. */
#include "nn/graph.h"
#include <stdio.h>

enum { FIRST = 32, GROWTH = 15, BLOCKS = 3, LAYERS = 5 };

/* BN -> ReLU -> Conv k x k ("same", no bias), named PREFIX.bn / .relu / .conv */
static int bn_relu_conv(es_graph *g, const char *prefix, int x, int maps, int k)
{
    char bn[128], relu[128], conv[128];
    snprintf(bn, sizeof bn, "%s.bn", prefix);
    snprintf(relu, sizeof relu, "%s.relu", prefix);
    snprintf(conv, sizeof conv, "%s.conv", prefix);
    return es_conv(g, conv, es_relu(g, relu, es_batchnorm(g, bn, x)), maps, k, k, 1, -1, 0);
}

es_graph *es_build_bad_densenet(int frames, int mels, int n_classes, int softmax)
{
    es_graph *g = es_graph_new();
    if (!g) {
        es_fail("out of memory");
        return NULL;
    }
    int x = es_input(g, "input", 3, (int[]){1, frames, mels});
    x = es_conv(g, "conv0", x, FIRST, 3, 3, 1, -1, 0);
    int c = FIRST;
    for (int b = 1; b <= BLOCKS; b++) {
        for (int l = 1; l <= LAYERS; l++) {
            char name[64], cat[64];
            snprintf(name, sizeof name, "block%d.layer%d", b, l);
            snprintf(cat, sizeof cat, "block%d.layer%d.concat", b, l);
            x = es_concat(g, cat, x, bn_relu_conv(g, name, x, GROWTH, 3));
            c += GROWTH;
        }
        if (b < BLOCKS) { /* transition: same width, half the time and frequency */
            char name[64], pool[64];
            snprintf(name, sizeof name, "trans%d", b);
            snprintf(pool, sizeof pool, "trans%d.pool", b);
            x = es_avgpool(g, pool, bn_relu_conv(g, name, x, c, 1), 2, 2);
        }
    }
    x = es_global_avgpool(g, "gap", es_relu(g, "relu", es_batchnorm(g, "bn", x)));
    x = es_dense(g, "fc", x, n_classes);
    if (softmax)
        x = es_softmax(g, "softmax", x);
    if (x < 0 || es_graph_mark_output(g, x) != 0) {
        es_graph_free(g);
        return NULL;
    }
    return g;
}
