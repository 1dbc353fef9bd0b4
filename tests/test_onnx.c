/* ONNX in and out: models exported by PyTorch (tests/fixtures/gen_onnx.py) against PyTorch's
 * outputs, round trips of trained and imported graphs, metadata, and broken files — each
 * must give a one-line error naming the file, never a crash (run under ASan by make asan). */
#include "tests/testutil.h"
#include "nn/onnx.h"
#include "nn/graph.h" /* white-box: the attributes of imported nodes */
#include "nn/onnx_internal.h" /* white-box: the constant folder */
#include "onnx.pb-c.h"
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OX(f) FIXTURE("onnx/" f)

static int setup(void **state) { return tmp_setup("onnx"); }

static int teardown(void **state) { return tmp_teardown(); }

/* Loads NAME.onnx shaped for NAME.input.npy, runs it, compares with NAME.output.npy. */
static double check_fixture(const char *name, int batch_copies)
{
    char p[256];
    snprintf(p, sizeof p, OX("%s.input.npy"), name);
    es_array x = load_fixture(p);
    snprintf(p, sizeof p, OX("%s.output.npy"), name);
    es_array want = load_fixture(p);
    snprintf(p, sizeof p, OX("%s.onnx"), name);
    int dims[ES_MAX_DIMS];
    memcpy(dims, x.dims, sizeof dims);
    dims[0] *= batch_copies;
    es_graph *g;
    if (es_onnx_load_shaped(p, x.ndim, dims, &g, NULL) != 0)
        fail_msg("%s", es_error());
    int in, out;
    assert_int_equal(es_graph_inputs(g, &in, 1), 1);
    assert_int_equal(es_graph_outputs(g, &out, 1), 1);
    size_t n = es_array_size(&x);
    for (int b = 0; b < batch_copies; b++)
        memcpy(es_tensor_data(g, in) + b * n, x.data, n * sizeof(float));
    assert_int_equal(es_forward(g, ES_TEST), 0);
    size_t m = es_array_size(&want);
    assert_int_equal(es_tensor_size(g, out), m * batch_copies);
    double worst = 0;
    for (int b = 0; b < batch_copies; b++) {
        const float *y = es_tensor_data(g, out) + b * m;
        assert_close_rel(y, want.data, m, 1e-4);
        double e = rel_err_max(y, want.data, m, 1e-30);
        worst = e > worst ? e : worst;
    }
    es_graph_free(g);
    es_array_free(&x);
    es_array_free(&want);
    return worst;
}

static const char *const fixtures[] = {"captum_one_conv", "small_cnn", "bad_densenet",
                                       "pad_resnet", "audio1d", "clip_net", "panns_att"};

static void pytorch_exports_match(void **state)
{
    for (size_t k = 0; k < sizeof fixtures / sizeof *fixtures; k++) {
        double e = check_fixture(fixtures[k], 1);
        printf("    %-16s rel err vs PyTorch %.2g\n", fixtures[k], e);
    }
}

/* A batch the export did not have: folded Shape chains and Reshape's leading 0 follow it. */
static void other_batch_sizes(void **state)
{
    check_fixture("small_cnn", 3); /* exported with a symbolic batch */
    check_fixture("captum_one_conv", 2);
    check_fixture("pad_resnet", 2);
    check_fixture("bad_densenet", 2);
    check_fixture("panns_att", 3); /* the reductions' reshapes copy the batch */
}

static int count_op(const es_graph *g, es_op_type op)
{
    int n = 0;
    for (int k = 0; k < es_graph_n_nodes(g); k++)
        n += es_node_op(g, k) == op;
    return n;
}

static void densenet_structure(void **state)
{
    es_graph *g;
    if (es_onnx_load(OX("bad_densenet.onnx"), &g, NULL) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(es_graph_n_params(g), 328004);
    assert_int_equal(count_op(g, ES_OP_BATCHNORM), 18); /* 15 layers, 2 transitions, 1 final */
    assert_int_equal(count_op(g, ES_OP_CONCAT), 15);
    assert_int_equal(count_op(g, ES_OP_AVGPOOL), 2);
    assert_int_equal(count_op(g, ES_OP_PAD), 2);
    for (int k = 0; k < es_graph_n_nodes(g); k++)
        if (es_node_op(g, k) == ES_OP_AVGPOOL)
            assert_int_equal(es_node_attrs(g, k)->pool.ceil_mode, 1);
    /* ReduceMean over H, W with keepdims=0 became GlobalAveragePool + Flatten */
    assert_int_equal(count_op(g, ES_OP_GAP), 1);
    int bn = es_tensor_find(g, "stages.0.0.bn.running_var");
    assert_true(bn >= 0);
    assert_int_equal(es_tensor_kind_of(g, bn), ES_T_STATE);
    assert_int_equal(es_tensor_kind_of(g, es_tensor_find(g, "stages.0.0.bn.weight")), ES_T_PARAM);
    es_graph_free(g);
}

static void folded_batchnorm_and_view(void **state)
{
    es_graph *g;
    if (es_onnx_load(OX("small_cnn.onnx"), &g, NULL) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(count_op(g, ES_OP_BATCHNORM), 0); /* folded into the convs by the exporter */
    assert_int_equal(count_op(g, ES_OP_CONV), 2);
    int in, dims[ES_MAX_DIMS];
    es_graph_inputs(g, &in, 1);
    assert_int_equal(es_tensor_shape(g, in, dims), 4);
    assert_int_equal(dims[0], 1); /* the symbolic batch */
    /* Shape→Gather→Unsqueeze→Concat left no nodes: only the Reshape, with (0, -1) */
    assert_int_equal(count_op(g, ES_OP_RESHAPE), 1);
    for (int k = 0; k < es_graph_n_nodes(g); k++)
        if (es_node_op(g, k) == ES_OP_RESHAPE) {
            const es_dims_attrs *a = &es_node_attrs(g, k)->dims;
            assert_int_equal(a->n_list, 2);
            assert_int_equal(a->list[0], 0);
            assert_int_equal(a->list[1], -1);
        }
    es_graph_free(g);
}

/* ---- round trips ------------------------------------------------------------------------- */
static float *run(es_graph *g, const float *x, size_t *n)
{
    int in, out;
    es_graph_inputs(g, &in, 1);
    es_graph_outputs(g, &out, 1);
    memcpy(es_tensor_data(g, in), x, es_tensor_size(g, in) * sizeof(float));
    assert_int_equal(es_forward(g, ES_TEST), 0);
    *n = es_tensor_size(g, out);
    float *y = malloc(*n * sizeof(float));
    memcpy(y, es_tensor_data(g, out), *n * sizeof(float));
    return y;
}

static void assert_same_run(es_graph *a, es_graph *b, const float *x)
{
    size_t na, nb;
    float *ya = run(a, x, &na), *yb = run(b, x, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ya, yb, na * sizeof(float)); /* identical, not merely close */
    free(ya);
    free(yb);
}

/* d out / d in for `seed` under the plan that keeps everything and under the saliency plan
 * (which reuses dead activations at once), asserted equal bit for bit; the caller frees it. */
static float *grad_under_both_plans(es_graph *g, int in, int out, const float *seed)
{
    size_t nx = es_tensor_size(g, in);
    float *keep = malloc(nx * sizeof(float));
    for (int pl = 0; pl < 2; pl++) {
        es_graph_plan(g, pl ? ES_GRAD_INPUTS : ES_PLAN_KEEP_ALL);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        assert_int_equal(es_backward(g, out, seed, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
        if (pl)
            assert_memory_equal(es_tensor_grad(g, in), keep, nx * sizeof(float));
        else
            memcpy(keep, es_tensor_grad(g, in), nx * sizeof(float));
    }
    return keep;
}

/* Model g's output for x and d output[0,0] / d x against PyTorch's (want, grad: float64
 * references), within tol_y and tol_g of the largest value; then the memory plan keeps what
 * each op's backward reads (plan.c): the saliency plan gives keeping everything's gradient. */
static void assert_graph_matches(es_graph *g, const char *label, const es_array *x,
                                 const es_array *want, const es_array *grad, double tol_y,
                                 double tol_g)
{
    size_t n;
    float *y = run(g, x->data, &n);
    assert_int_equal(n, es_array_size(want));
    float seed[3] = {1, 0, 0};
    int in, out;
    es_graph_inputs(g, &in, 1);
    es_graph_outputs(g, &out, 1);
    assert_int_equal(es_backward(g, out, seed, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    double ey = rel_err_max(y, want->data, n, 1e-30);
    double eg = rel_err_max(es_tensor_grad(g, in), grad->data, es_array_size(grad), 1e-30);
    printf("    %s: output rel err %.2g, gradient %.2g\n", label, ey, eg);
    if (!(ey <= tol_y && eg <= tol_g))
        fail_msg("%s: output %.3g, gradient %.3g off PyTorch", label, ey, eg);
    free(grad_under_both_plans(g, in, out, seed));
    free(y);
}

/* act_net (gen_onnx.py --act): PReLU, HardSwish, HardSigmoid, LayerNorm, both GELUs, tanh, exp
 * at opsets 11 and 13 (LayerNorm decomposed: ReduceMean, Sub, Pow, Sqrt, Div), 17
 * (LayerNormalization) and 18 (13's graph, ReduceMean's axes an input). Output and
 * d output[0,0] / d input against PyTorch in float64, both within 1e-5 of the largest value
 * (issue 13 asks 1e-5 and 1e-4; we measure ~3e-7: float32 rounding through ~60 ops). The
 * fixture's seed keeps the hard activations' inputs 1e-3 from their kinks. The same score at
 * every opset. */
static void activations_and_layernorm_vs_pytorch(void **state)
{
    es_array x = load_fixture(OX("act_net.input.npy")), want = load_fixture(OX("act_net.output.npy"));
    es_array grad = load_fixture(OX("act_net.grad.npy"));
    const int opset[4] = {11, 13, 17, 18};
    for (int k = 0; k < 4; k++) {
        char path[256];
        snprintf(path, sizeof path, OX("act_net.op%d.onnx"), opset[k]);
        es_graph *g;
        if (es_onnx_load(path, &g, NULL) != 0)
            fail_msg("%s", es_error());
        int fused = opset[k] == 17;
        assert_int_equal(count_op(g, ES_OP_LAYERNORM), fused ? 2 : 0);
        assert_int_equal(count_op(g, ES_OP_POW), fused ? 0 : 2);
        assert_int_equal(count_op(g, ES_OP_HARDSWISH), fused);
        char label[32];
        snprintf(label, sizeof label, "act_net opset %d", opset[k]);
        assert_graph_matches(g, label, &x, &want, &grad, 1e-5, 1e-5);
        es_graph_free(g);
    }
    es_array_free(&x), es_array_free(&want), es_array_free(&grad);
}

/* The fixture NAME.WHAT.npy. */
static es_array load_named(const char *name, const char *what)
{
    char path[256];
    snprintf(path, sizeof path, OX("%s.%s.npy"), name, what);
    return load_fixture(path);
}

/* gen_onnx.py --attn: the float64 PyTorch output and d output[0,0] / d input of NAME at
 * opsets 11, 13 and 17 (at `only` alone when it is not 0); issue 13 asks ≤ 1e-5 (output) and
 * ≤ 1e-4 (gradient) of the largest value. Also: the plan that reuses dead activations gives
 * keeping everything's gradient. */
static void assert_matches_pytorch(const char *name, int only)
{
    char path[256];
    es_array x = load_named(name, "input"), want = load_named(name, "output");
    es_array grad = load_named(name, "grad");
    int opsets[3] = {only ? only : 11, 13, 17};
    for (int k = 0; k < (only ? 1 : 3); k++) {
        int opset = opsets[k];
        snprintf(path, sizeof path, OX("%s.op%d.onnx"), name, opset);
        es_graph *g;
        if (es_onnx_load(path, &g, NULL) != 0)
            fail_msg("%s", es_error());
        size_t n;
        float *y = run(g, x.data, &n);
        assert_int_equal(n, es_array_size(&want));
        float *seed = calloc(n, sizeof(float));
        seed[0] = 1;
        int in, out;
        es_graph_inputs(g, &in, 1);
        es_graph_outputs(g, &out, 1);
        float *keep = grad_under_both_plans(g, in, out, seed);
        double ey = rel_err_max(y, want.data, n, 1e-30);
        double eg = rel_err_max(keep, grad.data, es_array_size(&grad), 1e-30);
        printf("    %s opset %d: output rel err %.2g, gradient %.2g\n", name, opset, ey, eg);
        if (!(ey <= 1e-5 && eg <= 1e-4))
            fail_msg("%s opset %d: output %.3g, gradient %.3g off PyTorch", name, opset, ey, eg);
        free(keep), free(seed), free(y);
        es_graph_free(g);
    }
    es_array_free(&x), es_array_free(&want), es_array_free(&grad);
}

/* A tiny AST (batched attention MatMuls, Softmax, LayerNorm, GELU, class token, x[:, 0]), a
 * ShuffleNet-V2 unit (chunk, channel shuffle) and the shape ops on activations (Gather,
 * Where, Expand, Split, strided Slice), against PyTorch. */
static void attention_and_shapes_vs_pytorch(void **state)
{
    assert_matches_pytorch("attn_net", 0);
    assert_matches_pytorch("shuffle_net", 0);
    assert_matches_pytorch("shape_net", 0);
}

/* ConvTasNet pieces: GroupNorm(1, C) as PyTorch exports it (InstanceNormalization between
 * Reshapes), InstanceNorm1d, a ConvTranspose1d decoder, and a ConvTranspose2d, against
 * PyTorch. */
static void tasnet_vs_pytorch(void **state) { assert_matches_pytorch("tasnet_net", 0); }

/* One graph, Softmax(axis 1) + LogSoftmax(axis 2) of (1,3,2,2): opset 11 normalises over the
 * dims flattened from the axis on, opset 13 over the axis alone; each against PyTorch. */
static void softmax_axis_by_opset(void **state)
{
    assert_matches_pytorch("softmax_v11", 11);
    assert_matches_pytorch("softmax_v13", 13);
}

/* What imports as Slices and Muls, written by onnx.helper: Split without sizes, Gather of a
 * negative scalar index, Gather of an initializer's rows (folded), Where with a constant Y, Expand adding a dim; Slice and Unsqueeze as
 * attributes (opset 9) and as inputs with a negative step (13). Against PyTorch. */
static void lowerings_vs_pytorch(void **state)
{
    assert_matches_pytorch("lower_v9", 9);
    assert_matches_pytorch("lower_v13", 13);
}

/* crnn_gru's model at path loaded for a batch of 3 (its initial_h is a ConstantOfShape of
 * the batch, which follows): each row is the one-sample output. */
static void gru_batch_of_three(const char *path, const es_array *x, const es_array *want)
{
    int dims[ES_MAX_DIMS];
    memcpy(dims, x->dims, sizeof dims);
    dims[0] = 3;
    es_graph *g;
    if (es_onnx_load_shaped(path, x->ndim, dims, &g, NULL) != 0)
        fail_msg("%s", es_error());
    int in, out;
    es_graph_inputs(g, &in, 1);
    es_graph_outputs(g, &out, 1);
    size_t n = es_array_size(x), m = es_array_size(want);
    for (int b = 0; b < 3; b++)
        memcpy(es_tensor_data(g, in) + b * n, x->data, n * sizeof(float));
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(es_tensor_size(g, out), 3 * m);
    for (int b = 0; b < 3; b++)
        assert_close_rel(es_tensor_data(g, out) + b * m, want->data, m, 1e-5);
    es_graph_free(g);
}

/* crnn_gru / crnn_lstm (gen_onnx.py --rnn): conv, ReLU, pooling, a bidirectional GRU (a
 * symbolic batch) or a two-layer LSTM whose Y_h feeds the head too, at opsets 11, 13, 17.
 * Output and d output[0,0] / d input against PyTorch in float64 (issue 13: 1e-5 and 1e-4 of
 * the largest value). The LSTM model reads Y and Y_h of each layer: two nodes each. */
static void crnn_vs_pytorch(void **state)
{
    const char *name[2] = {"crnn_gru", "crnn_lstm"};
    for (int m = 0; m < 2; m++) {
        char path[256];
        snprintf(path, sizeof path, OX("%s.input.npy"), name[m]);
        es_array x = load_fixture(path);
        snprintf(path, sizeof path, OX("%s.output.npy"), name[m]);
        es_array want = load_fixture(path);
        snprintf(path, sizeof path, OX("%s.grad.npy"), name[m]);
        es_array grad = load_fixture(path);
        for (int opset = 11; opset <= 17; opset += opset == 11 ? 2 : 4) {
            snprintf(path, sizeof path, OX("%s.op%d.onnx"), name[m], opset);
            es_graph *g;
            if (es_onnx_load(path, &g, NULL) != 0)
                fail_msg("%s", es_error());
            assert_int_equal(count_op(g, m ? ES_OP_LSTM : ES_OP_GRU), m ? 4 : 1);
            char label[32];
            snprintf(label, sizeof label, "%s opset %d", name[m], opset);
            assert_graph_matches(g, label, &x, &want, &grad, 1e-5, 1e-4);
            es_graph_free(g);
            if (m == 0) /* the symbolic batch: three copies of the input, three equal rows */
                gru_batch_of_three(path, &x, &want);
        }
        es_array_free(&x), es_array_free(&want), es_array_free(&grad);
    }
}

/* A rnn_lens fixture (gen_onnx.py --rnn) part as a tensor of g: rnn_lens_KIND_PART.npy. */
static int lens_tensor(es_graph *g, const char *kind, const char *part, es_tensor_kind tk,
                       es_array *a)
{
    char path[256];
    snprintf(path, sizeof path, OX("rnn_lens_%s_%s.npy"), kind, part);
    *a = load_fixture(path);
    int t = es_tensor_add(g, part, tk, a->ndim, a->dims, a->data);
    assert_true(t >= 0);
    return t;
}

/* sequence_lens against PyTorch's packed sequences (float64): a bidirectional GRU and LSTM on
 * sequences of 5, 2 and 4 steps — Y zero past each end, the reverse direction starting at each
 * sequence's last step, Y_h the last valid state — and d(Σ sy·Y + Σ sh·Y_h)/dx. */
static void sequence_lens_vs_pytorch(void **state)
{
    const char *kind[2] = {"gru", "lstm"};
    for (int m = 0; m < 2; m++) {
        es_graph *g = es_graph_new();
        es_array a[10];
        int in[7] = {-1, -1, -1, -1, -1, -1, -1}, out[2];
        const char *part[5] = {"x", "w", "r", "b", "lens"};
        for (int k = 0; k < 5; k++)
            in[k] = lens_tensor(g, kind[m], part[k],
                                k == 0 ? ES_T_INPUT : k == 4 ? ES_T_STATE : ES_T_PARAM, &a[k]);
        es_attrs at;
        es_op_defaults(m ? ES_OP_LSTM : ES_OP_GRU, &at);
        at.rnn.hidden = 4, at.rnn.direction = 2, at.rnn.linear_before_reset = !m; /* PyTorch's GRU */
        for (int k = 0; k < 2; k++) {
            at.rnn.output = k;
            const char *name = k ? "yh_node" : "y_node";
            assert_true(es_node_add(g, m ? ES_OP_LSTM : ES_OP_GRU, name, &at, 5, in, 1, NULL) >= 0);
            out[k] = es_tensor_find(g, name);
            assert_int_equal(es_graph_mark_output(g, out[k]), 0);
        }
        const char *ref[5] = {"y", "yh", "sy", "sh", "dx"};
        for (int k = 0; k < 5; k++) {
            char path[256];
            snprintf(path, sizeof path, OX("rnn_lens_%s_%s.npy"), kind[m], ref[k]);
            a[5 + k] = load_fixture(path);
        }
        assert_int_equal(es_forward(g, ES_TEST), 0);
        double ey = 0, eg;
        for (int k = 0; k < 2; k++) {
            assert_int_equal(es_tensor_size(g, out[k]), es_array_size(&a[5 + k]));
            ey = fmax(ey, rel_err_max(es_tensor_data(g, out[k]), a[5 + k].data,
                                      es_array_size(&a[5 + k]), 1e-30));
        }
        size_t nx = es_array_size(&a[0]);
        float *dx = calloc(nx, sizeof(float));
        for (int k = 0; k < 2; k++) { /* one pass per output, the gradients summed */
            assert_int_equal(es_backward(g, out[k], a[7 + k].data, ES_RELU_STANDARD, ES_GRAD_INPUTS),
                             0);
            for (size_t i = 0; i < nx; i++)
                dx[i] += es_tensor_grad(g, in[0])[i];
        }
        eg = rel_err_max(dx, a[9].data, nx, 1e-30);
        printf("    %s with sequence_lens: output rel err %.2g, gradient %.2g\n", kind[m], ey, eg);
        if (!(ey <= 1e-5 && eg <= 1e-5))
            fail_msg("%s: output %.3g, gradient %.3g off PyTorch", kind[m], ey, eg);
        free(dx);
        for (int k = 0; k < 10; k++)
            es_array_free(&a[k]);
        es_graph_free(g);
    }
}

/* The model at path computes what captum_one_conv.onnx computes, bit for bit. */
static void assert_same_as_captum(const char *path)
{
    es_graph *a, *b;
    assert_int_equal(es_onnx_load(OX("captum_one_conv.onnx"), &a, NULL), 0);
    if (es_onnx_load(path, &b, NULL) != 0)
        fail_msg("%s", es_error());
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    assert_same_run(a, b, x);
    es_graph_free(a);
    es_graph_free(b);
}

static void fill(float *x, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * rand() / (float)RAND_MAX - 1.0f;
}

static void trained_graph_round_trip(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "spec", 3, (int[]){1, 12, 10});
    int h = es_conv(g, "conv1", x, 6, 3, 3, 1, -1, 1);
    h = es_relu(g, "relu1", es_batchnorm(g, "bn1", h));
    h = es_maxpool(g, "pool1", h, 2, 2);
    h = es_conv(g, "conv2", h, 5, 3, 3, 1, 0, 0);
    h = es_batchnorm(g, "bn2", h);
    h = es_add(g, "res", h, h);
    h = es_relu(g, "relu2", h);
    h = es_dropout(g, "drop", h, 0.25f);
    int logits = es_dense(g, "fc", h, 3);
    int prob = es_softmax(g, "prob", logits);
    assert_true(prob >= 0);
    es_graph_mark_output(g, prob);
    assert_int_equal(es_graph_init(g, ES_INIT_HE, 7), 0);
    /* a few training steps, so weights and running statistics are no longer their init */
    enum { N = 8 };
    float *xb = malloc(N * 120 * sizeof(float));
    int labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = i % 3;
    fill(xb, N * 120, 3);
    es_optim_config oc = es_optim_default(ES_ADAM);
    es_optimizer *o = es_optimizer_new(g, &oc);
    for (int s = 0; s < 3; s++)
        assert_int_equal(es_train_step(g, o, x, xb, N, logits, labels, NULL, NULL), 0);
    es_optimizer_free(o);
    assert_int_equal(es_graph_set_batch(g, 1), 0);

    es_meta *meta = es_meta_new();
    es_meta_set(meta, ES_META_LABELS, "[\"a\",\"b\",\"c\"]");
    es_meta_set(meta, ES_META_FEATURES, "{\"n_mels\": 12}");
    const char *path = tmp_path("trained.onnx");
    if (es_onnx_save(g, meta, path) != 0)
        fail_msg("%s", es_error());
    es_graph *back;
    es_meta *meta2;
    if (es_onnx_load(path, &back, &meta2) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(es_graph_n_params(back), es_graph_n_params(g));
    assert_string_equal(es_meta_get(meta2, ES_META_LABELS), "[\"a\",\"b\",\"c\"]");
    assert_string_equal(es_meta_get(meta2, ES_META_FEATURES), "{\"n_mels\": 12}");
    assert_int_equal(count_op(back, ES_OP_BATCHNORM), 2);
    int rv = es_tensor_find(back, "bn1.running_var");
    assert_true(rv >= 0);
    assert_memory_equal(es_tensor_data(back, rv), es_tensor_data(g, es_tensor_find(g, "bn1.running_var")),
                        6 * sizeof(float));
    assert_same_run(g, back, xb);
    assert_same_run(g, back, xb + 120);
    es_graph_free(back);
    es_meta_free(meta2);
    es_meta_free(meta);
    es_graph_free(g);
    free(xb);
}

static void densenet_builder_round_trip(void **state)
{
    es_graph *g = es_build_bad_densenet(40, 16, 2, 1);
    assert_non_null(g);
    assert_int_equal(es_graph_init(g, ES_INIT_HE, 3), 0);
    const char *path = tmp_path("dense.onnx");
    assert_int_equal(es_onnx_save(g, NULL, path), 0);
    es_graph *back;
    if (es_onnx_load(path, &back, NULL) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(es_graph_n_params(back), 328004);
    float x[40 * 16];
    fill(x, 40 * 16, 9);
    assert_same_run(g, back, x);
    es_graph_free(back);
    es_graph_free(g);
}

/* The model NAME.onnx, exported by earsight and imported again, computes the same. */
/* same_params: the parameters are the same count after the trip. (A constant a lowering or a
 * Constant node made — Where's mask, Expand's ones, a LayerNorm weight PyTorch wrote as a
 * Constant — is written as an initializer and read back as a PARAM: ONNX has no kind.) */
static void round_trip_fixture(const char *name, int same_params)
{
    char p[256];
    snprintf(p, sizeof p, OX("%s.onnx"), name);
    es_graph *a, *b;
    if (es_onnx_load(p, &a, NULL) != 0)
        fail_msg("%s", es_error());
    const char *out = tmp_path("again.onnx");
    if (es_onnx_save(a, NULL, out) != 0 || es_onnx_load(out, &b, NULL) != 0)
        fail_msg("%s: %s", name, es_error());
    int in;
    es_graph_inputs(a, &in, 1);
    size_t n = es_tensor_size(a, in);
    float *x = malloc(n * sizeof(float));
    fill(x, n, 11);
    assert_same_run(a, b, x);
    if (same_params)
        assert_int_equal(es_graph_n_params(a), es_graph_n_params(b));
    free(x);
    es_graph_free(a);
    es_graph_free(b);
}

static void imported_models_round_trip(void **state)
{
    for (size_t k = 0; k < sizeof fixtures / sizeof *fixtures; k++)
        round_trip_fixture(fixtures[k], 1);
    round_trip_fixture("act_net.op13", 1); /* PRelu, HardSigmoid, Erf, Tanh, Exp, Pow, Sqrt */
    round_trip_fixture("act_net.op17", 1); /* HardSwish, LayerNormalization: written at opset 17 */
    round_trip_fixture("attn_net.op17", 1); /* batched MatMul, Slice, Squeeze of x[:, 0] */
    round_trip_fixture("attn_net.op11", 0);
    round_trip_fixture("shape_net.op13", 0); /* Gather, Split, Where, Expand: Slices and Muls */
    round_trip_fixture("shuffle_net.op13", 1);
    round_trip_fixture("tasnet_net.op13", 1); /* InstanceNormalization, ConvTranspose */
    round_trip_fixture("crnn_gru.op13", 1); /* GRU */
    round_trip_fixture("crnn_lstm.op17", 1); /* LSTM, Y and Y_h as two nodes: Y_h written as output 1 */
}

static void metadata_and_annotate(void **state)
{
    es_meta *m = es_meta_new();
    assert_null(es_meta_get(m, "k"));
    assert_int_equal(es_meta_set(m, "k", "1"), 0);
    assert_int_equal(es_meta_set(m, "j", "2"), 0);
    assert_int_equal(es_meta_set(m, "k", "3"), 0);
    assert_int_equal(es_meta_count(m), 2);
    assert_string_equal(es_meta_get(m, "k"), "3");
    assert_int_equal(es_meta_set(m, "k", NULL), 0);
    assert_int_equal(es_meta_count(m), 1);
    assert_string_equal(es_meta_key(m, 0), "j");
    es_meta_set(m, ES_META_LABELS, "[\"x\",\"y\",\"z\",\"w\"]");
    const char *out = tmp_path("annotated.onnx");
    assert_int_equal(es_onnx_annotate(OX("captum_one_conv.onnx"), m, out), 0);
    es_meta_set(m, ES_META_LABELS, "[\"p\",\"q\",\"r\",\"s\"]"); /* replace in place */
    assert_int_equal(es_onnx_annotate(out, m, out), 0);
    es_meta *got;
    int nd, dims[ES_MAX_DIMS];
    assert_int_equal(es_onnx_peek(out, &got, &nd, dims), 0);
    assert_int_equal(nd, 4);
    assert_int_equal(dims[1], 1);
    assert_int_equal(es_meta_count(got), 2);
    assert_string_equal(es_meta_get(got, ES_META_LABELS), "[\"p\",\"q\",\"r\",\"s\"]");
    assert_string_equal(es_meta_get(got, "j"), "2");
    es_meta_free(got);
    es_meta_free(m);
    assert_same_as_captum(out); /* the model itself is unchanged */
}

/* One node of `op` on x (1,2,4,4) or (1,6) and the PARAM operands it needs, with attributes
 * other than the defaults wherever the op has them; NULL when op has no case here. */
static es_graph *one_op_graph(es_op_type op)
{
    es_graph *g = es_graph_new();
    int flat = op == ES_OP_GEMM || op == ES_OP_MATMUL || op == ES_OP_SOFTMAX ||
               op == ES_OP_LOGSOFTMAX || (op >= ES_OP_ADD && op <= ES_OP_DIV);
    /* (N 1, T 4, I 2): layout 1, as the exporter takes an input's first dim for the batch */
    int seq = op == ES_OP_GRU || op == ES_OP_LSTM;
    int x = es_tensor_add(g, "x", ES_T_INPUT, flat ? 2 : seq ? 3 : 4,
                          flat ? (int[]){1, 6} : seq ? (int[]){1, 4, 2} : (int[]){1, 2, 4, 4}, NULL);
    int in[5] = {x, -1, -1, -1, -1}, n_in = 1;
    es_attrs a;
    es_op_defaults(op, &a);
#define PARAM(name, nd, ...) (in[n_in++] = es_tensor_add(g, name, ES_T_PARAM, nd, (int[]){__VA_ARGS__}, NULL))
    switch (op) {
    case ES_OP_CONV:
        PARAM("w", 4, 3, 2, 3, 3), PARAM("b", 1, 3);
        a.conv.w.kernel[0] = a.conv.w.kernel[1] = 3;
        a.conv.w.stride[0] = 2, a.conv.w.pads[0] = a.conv.w.pads[3] = 1, a.conv.w.dilation[1] = 1;
        break;
    case ES_OP_GEMM:
        PARAM("w", 2, 3, 6), PARAM("b", 1, 3);
        a.gemm.trans_b = 1, a.gemm.alpha = 0.5f, a.gemm.beta = 2.0f;
        break;
    case ES_OP_MATMUL: PARAM("w", 2, 6, 3); break;
    case ES_OP_BATCHNORM:
        PARAM("s", 1, 2), PARAM("b", 1, 2), PARAM("m", 1, 2), PARAM("v", 1, 2);
        a.bn.epsilon = 1e-3f, a.bn.momentum = 0.8f;
        break;
    case ES_OP_LEAKYRELU: a.leaky.alpha = 0.2f; break;
    case ES_OP_SOFTMAX: case ES_OP_LOGSOFTMAX: a.axis.axis = 1; break;
    case ES_OP_MAXPOOL: case ES_OP_AVGPOOL:
        a.pool.w.kernel[0] = a.pool.w.kernel[1] = 3, a.pool.w.stride[0] = a.pool.w.stride[1] = 2;
        a.pool.w.pads[1] = 1, a.pool.ceil_mode = 1, a.pool.count_include_pad = op == ES_OP_AVGPOOL;
        break;
    case ES_OP_PAD: a.pad.pads[2] = 1, a.pad.pads[7] = 2, a.pad.value = 1.5f; break;
    case ES_OP_CONCAT: PARAM("c", 4, 1, 3, 4, 4); a.axis.axis = 1; break;
    case ES_OP_ADD: case ES_OP_SUB: case ES_OP_MUL: case ES_OP_DIV: PARAM("c", 1, 6); break;
    case ES_OP_DROPOUT: a.dropout.ratio = 0.3f; break;
    case ES_OP_FLATTEN: a.axis.axis = 2; break;
    case ES_OP_RESHAPE:
        a.dims = (es_dims_attrs){.list = {0, 8, -1}, .n_list = 3};
        break;
    case ES_OP_TRANSPOSE:
        a.dims = (es_dims_attrs){.list = {0, 3, 1, 2}, .n_list = 4};
        break;
    case ES_OP_SQUEEZE: a.dims.n_list = 1, a.dims.list[0] = 0; break;
    case ES_OP_UNSQUEEZE: a.dims.n_list = 2, a.dims.list[0] = 1, a.dims.list[1] = 4; break;
    case ES_OP_HARDSIGMOID: a.hsig.alpha = 0.3f, a.hsig.beta = 0.4f; break;
    case ES_OP_POW: a.pow.exponent = 3.0f; break;
    case ES_OP_PRELU: PARAM("slope", 3, 2, 1, 1); break; /* per channel, as PyTorch exports it */
    case ES_OP_LAYERNORM:
        PARAM("scale", 2, 4, 4), PARAM("bias", 2, 4, 4);
        a.ln.axis = 2, a.ln.epsilon = 1e-3f;
        break;
    case ES_OP_INSTANCENORM: PARAM("scale", 1, 2), PARAM("bias", 1, 2); a.ln.epsilon = 1e-3f; break;
    case ES_OP_CONVTRANSPOSE:
        PARAM("w", 4, 2, 3, 3, 2), PARAM("b", 1, 3);
        a.conv.w.kernel[0] = 3, a.conv.w.kernel[1] = 2, a.conv.w.stride[0] = 2, a.conv.w.stride[1] = 3;
        a.conv.w.pads[0] = 1, a.conv.w.pads[3] = 1, a.conv.out_pad[0] = 1, a.conv.out_pad[1] = 2;
        break;
    case ES_OP_SLICE:
        a.slice.start[1] = 1, a.slice.start[2] = -1, a.slice.end[2] = -INT_MAX, a.slice.step[2] = -2;
        a.slice.start[3] = -3, a.slice.end[3] = 100, a.slice.step[3] = 2;
        break;
    case ES_OP_GRU: /* both directions, Y_h: written as ONNX's output 1 */
        PARAM("w", 3, 2, 9, 2), PARAM("r", 3, 2, 9, 3), PARAM("b", 2, 2, 18);
        a.rnn = (es_rnn_attrs){.hidden = 3, .direction = 2, .layout = 1, .linear_before_reset = 1,
                               .output = 1};
        break;
    case ES_OP_LSTM: /* reverse, Y_c: output 2 */
        PARAM("w", 3, 1, 12, 2), PARAM("r", 3, 1, 12, 3), PARAM("b", 2, 1, 24);
        a.rnn = (es_rnn_attrs){.hidden = 3, .direction = 1, .layout = 1, .output = 2};
        break;
    default: break; /* Relu, Sigmoid, GlobalAveragePool, Identity, Tanh, Erf …: no attributes */
    }
#undef PARAM
    for (int k = 1; k < n_in; k++) { /* nonzero operands: Div divides by them, BN's variance */
        float *d = es_tensor_data(g, in[k]);
        for (size_t i = 0; i < es_tensor_size(g, in[k]); i++)
            d[i] = 0.5f + 0.25f * (float)(i % 5);
    }
    if (es_node_add(g, op, "node", &a, n_in, in, 1, (const char *const[]){"y"}) < 0)
        fail_msg("%s: %s", es_op_name(op), es_error());
    return g;
}

/* Every op of the table survives export and import: the same op with the same attributes (the
 * import and export hooks of its row agree) computing the same output. */
static void every_op_round_trips(void **state)
{
    const char *path = tmp_path("one_op.onnx");
    float x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i % 7) - 2.5f;
    for (int op = 0; op < ES_OP_COUNT; op++) {
        assert_int_equal(es_op_find(es_op_name(op)), op); /* one row per ONNX name */
        es_graph *g = one_op_graph(op), *back;
        if (es_onnx_save(g, NULL, path) != 0 || es_onnx_load(path, &back, NULL) != 0)
            fail_msg("%s: %s", es_op_name(op), es_error());
        int k = es_graph_n_nodes(back) - 1;
        assert_int_equal(es_graph_n_nodes(back), 1);
        assert_int_equal(es_node_op(back, k), op);
        if (memcmp(es_node_attrs(back, k), es_node_attrs(g, 0), sizeof(es_attrs)) != 0)
            fail_msg("%s: the attributes changed on the way", es_op_name(op));
        assert_same_run(g, back, x);
        es_graph_free(g);
        es_graph_free(back);
    }
}

/* ---- broken files ------------------------------------------------------------------------ */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n ? *n : 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void spill(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Loading must fail with a message that starts with the path and contains `want`. */
static void expect_fail(const char *path, const char *want)
{
    es_graph *g = (es_graph *)1;
    es_meta *m = (es_meta *)1;
    if (es_onnx_load(path, &g, &m) == 0)
        fail_msg("%s loaded, expected an error with '%s'", path, want);
    assert_null(g);
    assert_null(m);
    const char *e = es_error();
    if (strncmp(e, path, strlen(path)) != 0 || !strstr(e, want) || strchr(e, '\n'))
        fail_msg("error '%s' should name %s and say '%s'", e, path, want);
}

static void missing_empty_truncated_corrupt(void **state)
{
    expect_fail(tmp_path("nope.onnx"), "cannot open");
    const char *p = tmp_path("empty.onnx");
    spill(p, "", 0);
    expect_fail(p, "empty");
    p = tmp_path("text.onnx");
    spill(p, "hello, this is not a model\n", 27);
    expect_fail(p, "");
    size_t n;
    uint8_t *b = slurp(OX("bad_densenet.onnx"), &n);
    size_t cuts[] = {1, 7, 100, 5000, n / 2, n - 1000, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        p = tmp_path("cut.onnx");
        spill(p, b, cuts[k]);
        expect_fail(p, "");
    }
    free(b);
    /* random single-byte damage anywhere: an error or (rarely) a model, never a crash */
    b = slurp(OX("pad_resnet.onnx"), &n);
    srand(1);
    for (int k = 0; k < 300; k++) {
        uint8_t *c = malloc(n);
        memcpy(c, b, n);
        for (int j = 0; j < 1 + k % 3; j++)
            c[rand() % n] = (uint8_t)rand();
        p = tmp_path("fuzz.onnx");
        spill(p, c, n);
        es_graph *g;
        es_meta *m;
        if (es_onnx_load(p, &g, &m) == 0) {
            es_graph_free(g);
            es_meta_free(m);
        } else {
            assert_non_null(strstr(es_error(), p));
        }
        free(c);
    }
    free(b);
}

/* Unpacks a fixture, lets `edit` change it, writes it to a temporary file. */
static const char *edited(const char *fixture, void (*edit)(Onnx__ModelProto *))
{
    size_t n;
    uint8_t *b = slurp(fixture, &n);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, b);
    assert_non_null(mp);
    free(b);
    edit(mp);
    n = onnx__model_proto__get_packed_size(mp);
    b = malloc(n);
    onnx__model_proto__pack(mp, b);
    const char *p = tmp_path("edited.onnx");
    spill(p, b, n);
    free(b);
    onnx__model_proto__free_unpacked(mp, NULL);
    return p;
}

static Onnx__NodeProto *node_named(Onnx__ModelProto *mp, const char *name)
{
    for (size_t k = 0; k < mp->graph->n_node; k++)
        if (strcmp(mp->graph->node[k]->name, name) == 0)
            return mp->graph->node[k];
    fail_msg("no node %s", name);
    return NULL;
}

static void set_str(char **s, const char *v)
{
    free(*s);
    *s = strdup(v);
}

static void to_elu(Onnx__ModelProto *mp) { set_str(&node_named(mp, "/relu1/Relu")->op_type, "Elu"); }

static void drop_weight(Onnx__ModelProto *mp)
{
    Onnx__GraphProto *g = mp->graph;
    for (size_t k = 0; k < g->n_initializer; k++)
        if (strcmp(g->initializer[k]->name, "conv1.weight") == 0) {
            onnx__tensor_proto__free_unpacked(g->initializer[k], NULL);
            g->initializer[k] = g->initializer[--g->n_initializer];
            return;
        }
}

static void wrong_dims(Onnx__ModelProto *mp)
{
    for (size_t k = 0; k < mp->graph->n_initializer; k++)
        if (strcmp(mp->graph->initializer[k]->name, "fc1.weight") == 0)
            mp->graph->initializer[k]->dims[1] = 9; /* 4x9 but 4x8 values */
}

static void bad_kernel(Onnx__ModelProto *mp)
{
    Onnx__NodeProto *n = node_named(mp, "/conv1/Conv");
    for (size_t k = 0; k < n->n_attribute; k++)
        if (strcmp(n->attribute[k]->name, "kernel_shape") == 0)
            n->attribute[k]->ints[0] = 5;
}

static void unknown_input(Onnx__ModelProto *mp) { set_str(&node_named(mp, "/fc1/Gemm")->input[0], "ghost"); }

static void reshape_too_big(Onnx__ModelProto *mp)
{
    /* Reshape's constant asks for (-1, 7): 8 values do not split into rows of 7 */
    Onnx__NodeProto *c = node_named(mp, "/Constant");
    Onnx__TensorProto *t = c->attribute[0]->t;
    int64_t v[2] = {-1, 7};
    memcpy(t->raw_data.data, v, sizeof v);
}

static void no_graph_output(Onnx__ModelProto *mp) { set_str(&mp->graph->output[0]->name, "nothing"); }

/* The weights as float_data instead of raw_data: the same model. */
static void to_float_data(Onnx__ModelProto *mp)
{
    for (size_t k = 0; k < mp->graph->n_initializer; k++) {
        Onnx__TensorProto *t = mp->graph->initializer[k];
        if (!t->has_raw_data || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            continue;
        t->n_float_data = t->raw_data.len / 4;
        t->float_data = malloc(t->raw_data.len);
        memcpy(t->float_data, t->raw_data.data, t->raw_data.len);
        free(t->raw_data.data);
        t->raw_data.data = NULL, t->raw_data.len = 0, t->has_raw_data = 0;
    }
}

static void float_data_initializers(void **state)
{
    assert_same_as_captum(edited(OX("captum_one_conv.onnx"), to_float_data));
}

/* Pow's exponent an activation (x^x): refused by name, as the importer has no backward for it. */
static void computed_exponent(Onnx__ModelProto *mp)
{
    Onnx__NodeProto *n = node_named(mp, "/ln1/Pow");
    set_str(&n->input[1], n->input[0]);
}

static void bad_op_errors(void **state)
{
    expect_fail(edited(OX("act_net.op13.onnx"), computed_exponent),
                "node /ln1/Pow (Pow): the exponent must be a constant scalar");
    expect_fail(edited(OX("captum_one_conv.onnx"), to_elu), "unsupported operator Elu (node /relu1/Relu)");
    expect_fail(edited(OX("captum_one_conv.onnx"), drop_weight), "input 'conv1.weight' is not defined");
    expect_fail(edited(OX("captum_one_conv.onnx"), wrong_dims), "fc1.weight");
    expect_fail(edited(OX("captum_one_conv.onnx"), bad_kernel), "/conv1/Conv");
    expect_fail(edited(OX("captum_one_conv.onnx"), unknown_input), "'ghost' is not defined");
    expect_fail(edited(OX("captum_one_conv.onnx"), reshape_too_big), "/Reshape");
    expect_fail(edited(OX("captum_one_conv.onnx"), no_graph_output), "output 'nothing'");
}

/* Recurrent nodes with what earsight refuses (or, the default activations, accepts). */
static Onnx__AttributeProto *attr_named(Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    fail_msg("no attribute %s", name);
    return NULL;
}
static void to_strings(Onnx__AttributeProto *a, int n, const char *const *v)
{
    set_str(&a->name, "activations");
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    a->n_strings = n;
    a->strings = malloc(n * sizeof *a->strings);
    for (int k = 0; k < n; k++)
        a->strings[k] = (ProtobufCBinaryData){strlen(v[k]), (uint8_t *)strdup(v[k])};
}
static void gru_clip(Onnx__ModelProto *mp)
{
    set_str(&attr_named(node_named(mp, "/rnn/GRU"), "linear_before_reset")->name, "clip");
}
static void gru_relu(Onnx__ModelProto *mp)
{
    to_strings(attr_named(node_named(mp, "/rnn/GRU"), "linear_before_reset"), 2,
               (const char *[]){"Sigmoid", "Relu"});
}
static void gru_default_activations(Onnx__ModelProto *mp)
{
    to_strings(attr_named(node_named(mp, "/rnn/GRU"), "linear_before_reset"), 4,
               (const char *[]){"Sigmoid", "Tanh", "Sigmoid", "Tanh"});
    attr_named(node_named(mp, "/rnn/GRU"), "hidden_size")->i = 6; /* (lbr is gone: 0) */
}
static void gru_sideways(Onnx__ModelProto *mp)
{
    Onnx__AttributeProto *a = attr_named(node_named(mp, "/rnn/GRU"), "direction");
    free(a->s.data);
    a->s = (ProtobufCBinaryData){8, (uint8_t *)strdup("sideways")};
}
static void lstm_input_forget(Onnx__ModelProto *mp)
{
    set_str(&attr_named(node_named(mp, "/rnn/LSTM"), "hidden_size")->name, "input_forget");
}
static void lstm_peepholes(Onnx__ModelProto *mp)
{
    Onnx__NodeProto *n = node_named(mp, "/rnn/LSTM");
    n->input = realloc(n->input, 8 * sizeof *n->input);
    n->input[7] = strdup(n->input[3]);
    n->n_input = 8;
}

static void recurrent_errors(void **state)
{
    static const struct {
        const char *model;
        void (*edit)(Onnx__ModelProto *);
        const char *want;
    } cases[] = {
        {OX("crnn_gru.op13.onnx"), gru_clip, "node /rnn/GRU (GRU): clip and activation_alpha/beta are not"},
        {OX("crnn_gru.op13.onnx"), gru_relu, "node /rnn/GRU (GRU): only the default activations"},
        {OX("crnn_gru.op13.onnx"), gru_sideways, "node /rnn/GRU (GRU): bad direction"},
        {OX("crnn_lstm.op13.onnx"), lstm_input_forget, "node /rnn/LSTM (LSTM): input_forget is not"},
        {OX("crnn_lstm.op13.onnx"), lstm_peepholes, "node /rnn/LSTM (LSTM): peepholes (input P) are not"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        expect_fail(edited(cases[k].model, cases[k].edit), cases[k].want);
    es_graph *g;
    if (es_onnx_load(edited(OX("crnn_gru.op13.onnx"), gru_default_activations), &g, NULL) != 0)
        fail_msg("%s", es_error());
    int k = es_graph_n_nodes(g);
    while (k-- > 0 && es_node_op(g, k) != ES_OP_GRU)
        ;
    assert_true(k >= 0 && es_node_attrs(g, k)->rnn.linear_before_reset == 0);
    es_graph_free(g);
}

/* A new 1-D initializer of n values (no data yet) at the end of mp's graph. */
static Onnx__TensorProto *add_initializer(Onnx__ModelProto *mp, const char *name, int type, int n)
{
    Onnx__GraphProto *g = mp->graph;
    Onnx__TensorProto *t = malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = strdup(name);
    t->has_data_type = 1, t->data_type = type;
    t->n_dims = 1, t->dims = malloc(sizeof *t->dims), t->dims[0] = n;
    g->initializer = realloc(g->initializer, (g->n_initializer + 1) * sizeof *g->initializer);
    g->initializer[g->n_initializer++] = t;
    return t;
}

/* crnn_gru's GRU with sequence_lens: an int32 initializer holding gru_lens_value. */
static int gru_lens_value;
static void gru_lens(Onnx__ModelProto *mp)
{
    Onnx__TensorProto *t = add_initializer(mp, "lens", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 1);
    t->n_int32_data = 1, t->int32_data = malloc(sizeof *t->int32_data), t->int32_data[0] = gru_lens_value;
    set_str(&node_named(mp, "/rnn/GRU")->input[4], "lens");
}

/* An int32 sequence_lens imports: all 10 frames give the model's output, 4 another one. */
static void gru_sequence_lens_import(void **state)
{
    es_array x = load_fixture(OX("crnn_gru.input.npy")), want = load_fixture(OX("crnn_gru.output.npy"));
    for (int k = 0; k < 2; k++) {
        gru_lens_value = k ? 4 : 10;
        es_graph *g;
        if (es_onnx_load(edited(OX("crnn_gru.op13.onnx"), gru_lens), &g, NULL) != 0)
            fail_msg("%s", es_error());
        size_t n;
        float *y = run(g, x.data, &n);
        double e = rel_err_max(y, want.data, n, 1e-30);
        if (k ? e < 1e-2 : e > 1e-6)
            fail_msg("sequence_lens %d: %.3g off the whole sequence's output", gru_lens_value, e);
        free(y);
        es_graph_free(g);
    }
    es_array_free(&x), es_array_free(&want);
}

/* ---- non-finite weights, impossible statistics, old opsets (issue 14) ----------------- */
static Onnx__TensorProto *initializer_named(Onnx__ModelProto *mp, const char *name)
{
    for (size_t k = 0; k < mp->graph->n_initializer; k++)
        if (strcmp(mp->graph->initializer[k]->name, name) == 0)
            return mp->graph->initializer[k];
    fail_msg("no initializer %s", name);
    return NULL;
}

static void set_raw(Onnx__TensorProto *t, size_t k, float v)
{
    assert_true(t->has_raw_data && (k + 1) * 4 <= t->raw_data.len);
    memcpy(t->raw_data.data + 4 * k, &v, 4);
}

static void nan_weight(Onnx__ModelProto *mp) { set_raw(initializer_named(mp, "conv1.weight"), 17, NAN); }
static void inf_weight(Onnx__ModelProto *mp) { set_raw(initializer_named(mp, "fc1.weight"), 3, -INFINITY); }

/* The running variance of the first BatchNormalization: index 2 negative, or NaN. */
static Onnx__TensorProto *bn_var(Onnx__ModelProto *mp)
{
    for (size_t k = 0; k < mp->graph->n_node; k++)
        if (strcmp(mp->graph->node[k]->op_type, "BatchNormalization") == 0)
            return initializer_named(mp, mp->graph->node[k]->input[4]);
    fail_msg("no BatchNormalization");
    return NULL;
}
static void negative_var(Onnx__ModelProto *mp) { set_raw(bn_var(mp), 2, -0.5f); }
static void nan_var(Onnx__ModelProto *mp) { set_raw(bn_var(mp), 1, NAN); }
static void bad_epsilon(Onnx__ModelProto *mp)
{
    for (size_t k = 0; k < mp->graph->n_node; k++)
        if (strcmp(mp->graph->node[k]->op_type, "BatchNormalization") == 0)
            for (size_t j = 0; j < mp->graph->node[k]->n_attribute; j++)
                if (strcmp(mp->graph->node[k]->attribute[j]->name, "epsilon") == 0)
                    mp->graph->node[k]->attribute[j]->f = -1e-5f;
}
static void opset5(Onnx__ModelProto *mp) { mp->opset_import[0]->version = 5; }
static void inf_constant(Onnx__ModelProto *mp) { set_raw(node_named(mp, "/Constant")->attribute[0]->t, 0, INFINITY); }
static void nan_clip(Onnx__ModelProto *mp)
{
    Onnx__NodeProto *n = node_named(mp, "/Clip_1");
    for (size_t k = 0; k < n->n_attribute; k++)
        if (strcmp(n->attribute[k]->name, "min") == 0)
            n->attribute[k]->f = NAN;
}

/* An initializer no node reads: refused all the same (its values are checked in the file). */
static void nan_unused(Onnx__ModelProto *mp)
{
    Onnx__TensorProto *t = add_initializer(mp, "unused", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3);
    t->has_raw_data = 1, t->raw_data.len = 12, t->raw_data.data = calloc(1, 12);
    set_raw(t, 2, NAN);
}

static void nonfinite_weights_refused(void **state)
{
    expect_fail(edited(OX("captum_one_conv.onnx"), nan_weight),
                ": initializer conv1.weight holds NaN at index 17");
    expect_fail(edited(OX("captum_one_conv.onnx"), inf_weight),
                ": initializer fc1.weight holds -Inf at index 3");
    expect_fail(edited(OX("captum_one_conv.onnx"), nan_unused), ": initializer unused holds NaN at index 2");
    char want[200];
    Onnx__ModelProto *mp;
    size_t n;
    uint8_t *b = slurp(OX("panns_att.onnx"), &n);
    assert_non_null(mp = onnx__model_proto__unpack(NULL, n, b));
    snprintf(want, sizeof want, ": running variance %s holds -0.5 at index 2", bn_var(mp)->name);
    expect_fail(edited(OX("panns_att.onnx"), negative_var), want);
    snprintf(want, sizeof want, ": initializer %s holds NaN at index 1", bn_var(mp)->name);
    expect_fail(edited(OX("panns_att.onnx"), nan_var), want);
    onnx__model_proto__free_unpacked(mp, NULL);
    free(b);
    expect_fail(edited(OX("panns_att.onnx"), bad_epsilon), "epsilon and momentum must be finite");
    expect_fail(edited(OX("clip_net.onnx"), inf_constant), ": constant /Constant_output_0 holds +Inf at index 0");
    expect_fail(edited(OX("clip_net.onnx"), nan_clip), ": node /Clip_1 (Clip): a NaN min or max");
}

/* Issue 14: an all-NaN input through the BAD DenseNet was "bird" at P 0.9999 (ReLU made the
 * NaNs 0); as in PyTorch, every output is NaN now. */
static void nan_input_gives_nan(void **state)
{
    es_graph *g;
    if (es_onnx_load(OX("bad_densenet.onnx"), &g, NULL) != 0)
        fail_msg("%s", es_error());
    int in, out;
    es_graph_inputs(g, &in, 1);
    es_graph_outputs(g, &out, 1);
    for (size_t k = 0; k < es_tensor_size(g, in); k++)
        es_tensor_data(g, in)[k] = NAN;
    assert_int_equal(es_forward(g, ES_TEST), 0);
    for (size_t k = 0; k < es_tensor_size(g, out); k++)
        assert_true(isnan(es_tensor_data(g, out)[k]));
    es_graph_free(g);
}

static void old_opset_named(void **state)
{
    expect_fail(edited(OX("captum_one_conv.onnx"), opset5), ": opset 5 is older than 7, which earsight reads");
}

/* ---- the folder's integer arithmetic at the int64 edges (UBSan found overflows) -------- */
static es_onnx_const *int_const(es_onnx_const *c, int64_t v)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(es_onnx_const_alloc(c, 1, 1, (int64_t[]){1}), 0);
    c->i[0] = v;
    return c;
}

/* Folds op over in[0..n_in) at opset 13; returns what es_onnx_fold returns. */
static int fold(const char *op, es_onnx_const *const *in, int n_in, es_onnx_const *out)
{
    Onnx__NodeProto nd = ONNX__NODE_PROTO__INIT;
    char *names[5] = {"a", "b", "c", "d", "e"}, *outs[1] = {"y"};
    nd.op_type = (char *)op, nd.n_input = n_in, nd.input = names;
    nd.n_output = 1, nd.output = outs;
    memset(out, 0, sizeof *out);
    return es_onnx_fold(&nd, 13, in, n_in, out);
}

static void fold_int64_edges(void **state)
{
    es_onnx_const a, b, c, d, e, y;
    /* Div stays exact: INT64_MAX went through double as 2^63, whose cast back is UB */
    assert_int_equal(fold("Div", (es_onnx_const *[]){int_const(&a, INT64_MAX), int_const(&b, 1)}, 2, &y), 1);
    assert_true(y.i[0] == INT64_MAX);
    es_onnx_const_clear(&y), es_onnx_const_clear(&a), es_onnx_const_clear(&b);
    assert_int_equal(fold("Div", (es_onnx_const *[]){int_const(&a, INT64_MIN), int_const(&b, -1)}, 2, &y), 1);
    assert_true(y.i[0] == INT64_MIN); /* wraps, as the int64 hardware does */
    es_onnx_const_clear(&y);
    assert_int_equal(fold("Neg", (es_onnx_const *[]){&a}, 1, &y), 1);
    assert_true(y.i[0] == INT64_MIN);
    es_onnx_const_clear(&y), es_onnx_const_clear(&a), es_onnx_const_clear(&b);
    /* Slice with a step of INT64_MAX / INT64_MIN: one value, no overflow in the count */
    es_onnx_const x = {0};
    assert_int_equal(es_onnx_const_alloc(&x, 1, 1, (int64_t[]){5}), 0);
    for (int k = 0; k < 5; k++)
        x.i[k] = 10 + k;
    int64_t steps[2][3] = {{0, 5, INT64_MAX}, {4, -6, INT64_MIN}};
    for (int t = 0; t < 2; t++) {
        es_onnx_const *in[5] = {&x, int_const(&a, steps[t][0]), int_const(&b, steps[t][1]),
                                int_const(&c, 0), int_const(&d, steps[t][2])};
        assert_int_equal(fold("Slice", in, 5, &y), 1);
        assert_true(y.n == 1 && y.i[0] == (t ? 14 : 10));
        es_onnx_const_clear(&y), es_onnx_const_clear(&a), es_onnx_const_clear(&b);
        es_onnx_const_clear(&c), es_onnx_const_clear(&d);
    }
    es_onnx_const_clear(&x);
    /* Range of 1e30 values: refused as a count, not cast to int64 first */
    memset(&e, 0, sizeof e);
    assert_int_equal(es_onnx_const_alloc(&e, 0, 0, NULL), 0);
    e.f[0] = 1e30f;
    assert_int_equal(fold("Range", (es_onnx_const *[]){int_const(&a, 0), &e, int_const(&b, 1)}, 3, &y), -1);
    assert_non_null(strstr(es_error(), "Range of"));
    es_onnx_const_clear(&y), es_onnx_const_clear(&a), es_onnx_const_clear(&b), es_onnx_const_clear(&e);
}

/* ---- loading at disk speed: the skeleton and borrowed weights -------------------------- */
/* The skeleton leaves every float initializer's raw_data in the mapped file, at the bytes the
 * whole unpack reads, and unpacks everything else as the whole unpack does. */
static void skeleton_leaves_weights_in_file(void **state)
{
    const char *path = OX("bad_densenet.onnx");
    es_onnx_file f;
    assert_int_equal(es_onnx_open(&f, path), 0);
    assert_true(f.mapped);
    Onnx__ModelProto *whole = es_onnx_read_model(path);
    assert_non_null(whole);
    const Onnx__GraphProto *g = f.mp->graph, *w = whole->graph;
    assert_int_equal(g->n_initializer, w->n_initializer);
    assert_int_equal(g->n_node, w->n_node);
    size_t left = 0;
    for (size_t k = 0; k < g->n_initializer; k++) {
        const Onnx__TensorProto *t = g->initializer[k], *u = w->initializer[k];
        const ProtobufCBinaryData *raw = es_onnx_init_raw(&f, k);
        assert_string_equal(t->name, u->name);
        assert_int_equal(t->n_dims, u->n_dims);
        assert_int_equal(raw != NULL, u->has_raw_data);
        if (!raw)
            continue;
        assert_false(t->has_raw_data);
        assert_true(raw->data >= f.data && raw->data + raw->len <= f.data + f.len);
        assert_int_equal(raw->len, u->raw_data.len);
        assert_memory_equal(raw->data, u->raw_data.data, raw->len);
        left += raw->len;
    }
    assert_true(left > 1000000); /* the weights, 1.3 MB of them, were not unpacked */
    onnx__model_proto__free_unpacked(whole, NULL);
    es_onnx_close(&f);
}

/* A model whose graph comes in two pieces (protobuf merges them) is not what the skeleton
 * walk follows: it is unpacked whole, and loads as before. A pipe cannot be mapped: read. */
static void merged_graph_and_pipe(void **state)
{
    size_t n;
    uint8_t *b = slurp(OX("captum_one_conv.onnx"), &n);
    /* graph (field 7) again, holding only doc_string (field 10) "x": merged into the first */
    static const uint8_t extra[] = {7 << 3 | 2, 3, 10 << 3 | 2, 1, 'x'};
    b = realloc(b, n + sizeof extra);
    memcpy(b + n, extra, sizeof extra);
    const char *p = tmp_path("merged.onnx");
    spill(p, b, n + sizeof extra);
    es_onnx_file f;
    assert_int_equal(es_onnx_open(&f, p), 0);
    assert_int_equal(f.n_raw, 0); /* unpacked whole */
    assert_string_equal(f.mp->graph->doc_string, "x");
    es_onnx_close(&f);
    assert_same_as_captum(p);
    free(b);
    p = tmp_path("model.fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    pid_t pid = fork();
    if (pid == 0) { /* the writer */
        size_t m;
        uint8_t *c = slurp(OX("captum_one_conv.onnx"), &m);
        FILE *w = fopen(p, "wb");
        fwrite(c, 1, m, w);
        fclose(w);
        free(c);
        _exit(0);
    }
    assert_int_equal(es_onnx_open(&f, p), 0);
    assert_false(f.mapped);
    assert_true(f.n_raw > 0); /* the skeleton works on read bytes too */
    es_onnx_close(&f);
    waitpid(pid, NULL, 0);
}

/* Reshape, Identity and Cast to float of borrowed values borrow them again (no copy, and no
 * size limit: a weight behind an Identity is as large as the weight); Transpose copies, right. */
static void folds_keep_borrowed_values(void **state)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    uint8_t bytes[1 + sizeof v];
    memcpy(bytes + 1, v, sizeof v); /* unaligned, as raw_data in a file mostly is */
    es_onnx_const x = {0}, s, y;
    assert_int_equal(es_onnx_const_borrow(&x, 2, (int64_t[]){2, 3}, bytes + 1), 0);
    assert_int_equal(fold("Identity", (es_onnx_const *[]){&x}, 1, &y), 1);
    assert_ptr_equal(y.raw, x.raw);
    assert_null(y.f);
    es_onnx_const_clear(&y);
    memset(&s, 0, sizeof s);
    assert_int_equal(es_onnx_const_alloc(&s, 1, 1, (int64_t[]){1}), 0);
    s.i[0] = -1;
    assert_int_equal(fold("Reshape", (es_onnx_const *[]){&x, &s}, 2, &y), 1);
    assert_ptr_equal(y.raw, x.raw);
    assert_true(y.ndim == 1 && y.dims[0] == 6);
    assert_true(es_onnx_const_get(&y, 5) == 6);
    es_onnx_const_clear(&y);
    assert_int_equal(fold("Transpose", (es_onnx_const *[]){&x}, 1, &y), 1);
    assert_non_null(y.f);
    assert_true(y.dims[0] == 3 && y.dims[1] == 2);
    float want[6] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(y.f, want, sizeof want);
    es_onnx_const_clear(&y), es_onnx_const_clear(&s), es_onnx_const_clear(&x);
}

static void wrong_input_shape(void **state)
{
    es_graph *g = (es_graph *)1;
    const char *p = OX("captum_one_conv.onnx");
    assert_int_equal(es_onnx_load_shaped(p, 3, (int[]){1, 5, 5}, &g, NULL), -1);
    assert_null(g);
    assert_non_null(strstr(es_error(), p));
    assert_non_null(strstr(es_error(), "cannot take an array of shape (1,5,5)"));
    assert_int_equal(es_onnx_load_shaped(p, 2, (int[]){4, 4}, &g, NULL), -1);
    assert_int_equal(es_onnx_load_shaped(p, 3, (int[]){1, 4, 4}, &g, NULL), 0); /* batch left out */
    int in, dims[ES_MAX_DIMS];
    es_graph_inputs(g, &in, 1);
    assert_int_equal(es_tensor_shape(g, in, dims), 4);
    assert_int_equal(dims[0], 1);
    es_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pytorch_exports_match),
        cmocka_unit_test(activations_and_layernorm_vs_pytorch),
        cmocka_unit_test(attention_and_shapes_vs_pytorch),
        cmocka_unit_test(softmax_axis_by_opset),
        cmocka_unit_test(lowerings_vs_pytorch),
        cmocka_unit_test(tasnet_vs_pytorch),
        cmocka_unit_test(crnn_vs_pytorch),
        cmocka_unit_test(sequence_lens_vs_pytorch),
        cmocka_unit_test(skeleton_leaves_weights_in_file),
        cmocka_unit_test(merged_graph_and_pipe),
        cmocka_unit_test(folds_keep_borrowed_values),
        cmocka_unit_test(other_batch_sizes),
        cmocka_unit_test(densenet_structure),
        cmocka_unit_test(every_op_round_trips),
        cmocka_unit_test(folded_batchnorm_and_view),
        cmocka_unit_test(trained_graph_round_trip),
        cmocka_unit_test(densenet_builder_round_trip),
        cmocka_unit_test(imported_models_round_trip),
        cmocka_unit_test(metadata_and_annotate),
        cmocka_unit_test(missing_empty_truncated_corrupt),
        cmocka_unit_test(float_data_initializers),
        cmocka_unit_test(bad_op_errors),
        cmocka_unit_test(recurrent_errors),
        cmocka_unit_test(gru_sequence_lens_import),
        cmocka_unit_test(wrong_input_shape),
        cmocka_unit_test(nonfinite_weights_refused),
        cmocka_unit_test(old_opset_named),
        cmocka_unit_test(nan_input_gives_nan),
        cmocka_unit_test(fold_int64_edges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
