/* Captum's BasicModel_ConvNet_One_Conv (captum/testing/helpers/basic_models.py) with the
 * weights its attribution tests set, for the golden cases of test_nn and test_saliency. */
#ifndef ES_TEST_CAPTUM_NET_H
#define ES_TEST_CAPTUM_NET_H
#include "tests/testutil.h"
#include "nn/es_nn.h"

/* x (1×4×4) → conv1 (2 filters 3×3 of ones, biases −50, −75) → relu1 → fc1 (4 outputs, weights
 * +1 ×5 then −1 ×3 per row) → relu2. The ids of x, relu1 and the output go where not NULL. */
static inline es_graph *captum_one_conv(int *x, int *relu1, int *y)
{
    es_graph *g = es_graph_new();
    int in = es_input(g, "x", 3, (int[]){1, 4, 4});
    int h = es_relu(g, "relu1", es_conv(g, "conv1", in, 2, 3, 3, 1, 0, 1));
    int out = es_relu(g, "relu2", es_dense(g, "fc1", h, 4));
    assert_true(out >= 0);
    float *cw = es_tensor_data(g, es_tensor_find(g, "conv1.weight"));
    float *fw = es_tensor_data(g, es_tensor_find(g, "fc1.weight"));
    for (int i = 0; i < 18; i++)
        cw[i] = 1;
    es_tensor_data(g, es_tensor_find(g, "conv1.bias"))[0] = -50;
    es_tensor_data(g, es_tensor_find(g, "conv1.bias"))[1] = -75;
    for (int i = 0; i < 32; i++)
        fw[i] = i % 8 < 5 ? 1 : -1;
    if (x)
        *x = in;
    if (relu1)
        *relu1 = h;
    if (y)
        *y = out;
    return g;
}
#endif
