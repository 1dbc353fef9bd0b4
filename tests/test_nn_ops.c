/* nn op families: pooling, shape ops, elementwise, softmax, dropout. Each forward against
 * hand-computed values or PyTorch fixtures (tests/fixtures/gen_nn_ops.py), each backward
 * against central finite differences in double, and the errors shape() must raise. */
#include "tests/testutil.h"
#include "nn/graph.h" /* white-box: nodes with their attributes (es_node_add) */
#include <limits.h>
#include <omp.h>

/* ---- small helpers ----------------------------------------------------------------------- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static double urand(void) /* xorshift64*, uniform in [0,1) */
{
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void fill_uniform(float *p, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(lo + (hi - lo) * urand());
}

/* Values with no ties, 0.05 apart in random order: max pooling is smooth around them. */
static void fill_distinct(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(urand() * (i + 1));
        float t = p[i];
        p[i] = p[j], p[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = p[i] * 0.05f - n * 0.025f;
}

static size_t count(int ndim, const int *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    return n;
}

static es_attrs defaults(es_op_type op)
{
    es_attrs a;
    es_op_defaults(op, &a);
    return a;
}

/* A graph with input "x" (data, or uniform in [-2,2) when NULL) and one node "op" on it. */
typedef struct {
    es_graph *g;
    int x, y, node;
} one;

static one unary(es_op_type op, const es_attrs *a, int ndim, const int *dims, const float *data)
{
    one u = {es_graph_new(), -1, -1, -1};
    assert_non_null(u.g);
    u.x = es_tensor_add(u.g, "x", ES_T_INPUT, ndim, dims, data);
    assert_true(u.x >= 0);
    if (!data)
        fill_uniform(es_tensor_data(u.g, u.x), count(ndim, dims), -2, 2);
    u.node = es_node_add(u.g, op, "op", a, 1, &u.x, 1, NULL);
    if (u.node >= 0) {
        const int *outs;
        es_node_outputs(u.g, u.node, &outs);
        u.y = outs[0];
    }
    return u;
}

static void assert_shape(es_graph *g, int t, int ndim, const int *want)
{
    int dims[ES_MAX_DIMS];
    assert_int_equal(es_tensor_shape(g, t, dims), ndim);
    for (int i = 0; i < ndim; i++)
        if (dims[i] != want[i])
            fail_msg("dim %d is %d, want %d", i, dims[i], want[i]);
}

/* Asserts that adding the node fails with a message naming it. */
static void assert_node_fails(es_graph *g, es_op_type op, const char *name, const es_attrs *a,
                              int n_in, const int *in)
{
    assert_int_equal(es_node_add(g, op, name, a, n_in, in, 1, NULL), -1);
    char want[200];
    snprintf(want, sizeof want, "node %s (", name);
    if (!strstr(es_error(), want))
        fail_msg("error \"%s\" does not name %s", es_error(), name);
}

/* ---- the finite-difference checker -------------------------------------------------------- */
#define RNG_SEED 0x5eedULL

/* L = Σ seed·out in double, after a forward from a fixed graph RNG state (dropout masks
 * repeat). */
static double loss(es_graph *g, int out, es_mode mode, const float *seed)
{
    es_graph_seed(g, RNG_SEED);
    assert_int_equal(es_forward(g, mode), 0);
    const float *y = es_tensor_data(g, out);
    double l = 0;
    for (size_t i = 0; i < es_tensor_size(g, out); i++)
        l += (double)seed[i] * y[i];
    return l;
}

/* Backward's gradient of every INPUT and PARAM tensor against (L(x+h) − L(x−h)) / 2h, with
 * a random seed vector. Returns the worst error relative to each tensor's largest gradient. */
static double fd_check(es_graph *g, int out, es_mode mode, double h)
{
    size_t no = es_tensor_size(g, out);
    float *seed = malloc(no * sizeof(float));
    fill_uniform(seed, no, -1, 1);
    loss(g, out, mode, seed);
    assert_int_equal(es_backward(g, out, seed, ES_RELU_STANDARD, ES_GRAD_INPUTS | ES_GRAD_PARAMS), 0);
    double worst = 0;
    for (int t = 0; t < es_graph_n_tensors(g); t++) {
        es_tensor_kind k = es_tensor_kind_of(g, t);
        if (k != ES_T_INPUT && k != ES_T_PARAM)
            continue;
        size_t n = es_tensor_size(g, t);
        float *ana = calloc(n, sizeof(float)), *num = malloc(n * sizeof(float));
        if (es_tensor_grad(g, t))
            memcpy(ana, es_tensor_grad(g, t), n * sizeof(float));
        float *x = es_tensor_data(g, t);
        for (size_t i = 0; i < n; i++) {
            float keep = x[i];
            x[i] = (float)(keep + h);
            double hp = (double)x[i] - keep, lp = loss(g, out, mode, seed);
            x[i] = (float)(keep - h);
            double hm = keep - (double)x[i], lm = loss(g, out, mode, seed);
            x[i] = keep;
            num[i] = (float)((lp - lm) / (hp + hm));
        }
        double e = rel_err_max(ana, num, n, 1e-2);
        if (e > worst)
            worst = e;
        free(ana);
        free(num);
    }
    free(seed);
#ifdef FD_VERBOSE /* cc -DFD_VERBOSE: how much room each check has */
    fprintf(stderr, "fd_check: %.3g\n", worst);
#endif
    return worst;
}

#define assert_grad_ok(g, out, mode, h)                                             \
    do {                                                                            \
        double e_ = fd_check((g), (out), (mode), (h));                              \
        if (!(e_ <= 1e-3))                                                          \
            fail_msg("backward vs finite differences: relative error %.3g", e_);   \
    } while (0)

/* ---- pooling ----------------------------------------------------------------------------- */
/* A PyTorch case of gen_nn_ops.py: NAME_{attrs,x,y,dy,dx}.npy. */
typedef struct {
    es_array at, x, y, dy, dx;
} torch_case;

static torch_case load_case(const char *name)
{
    torch_case c;
    es_array *arr[5] = {&c.at, &c.x, &c.y, &c.dy, &c.dx};
    const char *part[5] = {"attrs", "x", "y", "dy", "dx"};
    char path[256];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, FIXTURE("nn_ops/%s_%s.npy"), name, part[i]);
        *arr[i] = load_fixture(path);
    }
    return c;
}

/* The case's last check, backward against finite differences; frees u's graph and the case. */
static void finish_case(one u, torch_case *c, const char *name)
{
    double e = fd_check(u.g, u.y, ES_TEST, 1e-2);
    if (!(e <= 1e-3))
        fail_msg("%s: backward vs finite differences: %.3g", name, e);
    es_graph_free(u.g);
    es_array_free(&c->at), es_array_free(&c->x), es_array_free(&c->y);
    es_array_free(&c->dy), es_array_free(&c->dx);
}

/* A PyTorch pool case: attrs (see gen_nn_ops.py), forward and backward against torch, then
 * backward against finite differences. */
static void pool_fixture(const char *name)
{
    torch_case c = load_case(name);
    const float *v = c.at.data;
    int nsp = (int)v[0];
    es_attrs a = defaults(ES_OP_MAXPOOL);
    es_window *w = &a.pool.w;
    if (nsp == 1) {
        w->kernel[0] = (int)v[2], w->stride[0] = (int)v[4], w->dilation[0] = (int)v[6];
        w->pads[0] = (int)v[8], w->pads[1] = (int)v[10];
    } else {
        w->kernel[0] = (int)v[1], w->kernel[1] = (int)v[2];
        w->stride[0] = (int)v[3], w->stride[1] = (int)v[4];
        w->dilation[0] = (int)v[5], w->dilation[1] = (int)v[6];
        for (int i = 0; i < 4; i++)
            w->pads[i] = (int)v[7 + i];
    }
    a.pool.ceil_mode = (int)v[11], a.pool.count_include_pad = (int)v[12];
    es_op_type op = v[13] != 0 ? ES_OP_MAXPOOL : ES_OP_AVGPOOL;
    one u = unary(op, &a, c.x.ndim, c.x.dims, c.x.data);
    if (u.node < 0)
        fail_msg("%s: %s", name, es_error());
    assert_shape(u.g, u.y, c.y.ndim, c.y.dims);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    size_t ny = es_array_size(&c.y), nx = es_array_size(&c.x);
    if (abs_err_max(es_tensor_data(u.g, u.y), c.y.data, ny) > 1e-5)
        fail_msg("%s: forward differs from PyTorch", name);
    assert_int_equal(es_backward(u.g, u.y, c.dy.data, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    if (abs_err_max(es_tensor_grad(u.g, u.x), c.dx.data, nx) > 1e-5)
        fail_msg("%s: backward differs from PyTorch", name);
    finish_case(u, &c, name);
}

static void maxpool_vs_pytorch(void **state)
{
    const char *cases[] = {"maxpool2d_ceil", "maxpool2d_ceil_drop", "maxpool2d_dilated",
                           "maxpool2d_asym", "maxpool1d_ceil", "maxpool1d_dilated"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        pool_fixture(cases[i]);
}

static void avgpool_vs_pytorch(void **state)
{
    const char *cases[] = {"avgpool2d_ceil_cip", "avgpool2d_ceil_nocip", "avgpool2d_ceil_edge",
                           "avgpool2d_asym_cip", "avgpool2d_asym_nocip", "avgpool1d_ceil_cip",
                           "avgpool1d_ceil_nocip", "avgpool1d_asym"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        pool_fixture(cases[i]);
}

/* Ties go to the first maximum in scan order; padding never wins over negative values. */
static void maxpool_ties_and_padding(void **state)
{
    float x[9] = {3, 1, 3,
                  3, 2, 0,
                  -1, 3, -4};
    es_attrs a = defaults(ES_OP_MAXPOOL);
    a.pool.w.kernel[0] = a.pool.w.kernel[1] = 2;
    one u = unary(ES_OP_MAXPOOL, &a, 4, (int[]){1, 1, 3, 3}, x);
    assert_true(u.node >= 0);
    assert_shape(u.g, u.y, 4, (int[]){1, 1, 2, 2});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    assert_true(y[0] == 3 && y[1] == 3 && y[2] == 3 && y[3] == 3);
    assert_int_equal(es_backward(u.g, u.y, (float[]){1, 10, 100, 1000}, ES_RELU_STANDARD,
                                 ES_GRAD_INPUTS), 0);
    /* windows: {0,1,3,4} → 0; {1,2,4,5} → 2; {3,4,6,7} → 3; {4,5,7,8} → 7 */
    const float want[9] = {1, 0, 10, 100, 0, 0, 0, 1000, 0};
    assert_memory_equal(es_tensor_grad(u.g, u.x), want, sizeof want);
    es_graph_free(u.g);

    float neg[4] = {-5, -6, -7, -8};
    a.pool.w.kernel[0] = a.pool.w.kernel[1] = 3;
    a.pool.w.pads[0] = a.pool.w.pads[1] = a.pool.w.pads[2] = a.pool.w.pads[3] = 1;
    u = unary(ES_OP_MAXPOOL, &a, 4, (int[]){1, 1, 2, 2}, neg);
    assert_true(u.node >= 0);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    y = es_tensor_data(u.g, u.y); /* 2x2 output, every window sees all four cells */
    assert_true(y[0] == -5 && y[1] == -5 && y[2] == -5 && y[3] == -5);
    es_graph_free(u.g);

    float nan_x[4] = {1, NAN, 2, 0};
    a = defaults(ES_OP_MAXPOOL);
    a.pool.w.kernel[0] = 4;
    u = unary(ES_OP_MAXPOOL, &a, 3, (int[]){1, 1, 4}, nan_x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_true(isnan(es_tensor_data(u.g, u.y)[0])); /* as PyTorch: NaN propagates */
    es_graph_free(u.g);
}

/* The divisors by hand: 3x3 input, kernel 2, stride 2, pad 1, ceil_mode. */
static void avgpool_divisors(void **state)
{
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    es_attrs a = defaults(ES_OP_AVGPOOL);
    a.pool.w.kernel[0] = a.pool.w.kernel[1] = 2;
    a.pool.w.stride[0] = a.pool.w.stride[1] = 2;
    a.pool.w.pads[0] = a.pool.w.pads[1] = a.pool.w.pads[2] = a.pool.w.pads[3] = 1;
    a.pool.ceil_mode = 1; /* a third window would start in the end padding: dropped */
    for (int cip = 0; cip < 2; cip++) {
        a.pool.count_include_pad = cip;
        one u = unary(ES_OP_AVGPOOL, &a, 4, (int[]){1, 1, 3, 3}, x);
        assert_shape(u.g, u.y, 4, (int[]){1, 1, 2, 2});
        assert_int_equal(es_forward(u.g, ES_TEST), 0);
        const float *y = es_tensor_data(u.g, u.y);
        /* windows [-1,1)x[-1,1) = {1}; [-1,1)x[1,3) = {2,3}; [1,3)x[-1,1) = {4,7};
         * [1,3)x[1,3) = {5,6,8,9}; all four windows fit in the padded 5x5 input */
        float want[2][4] = {{1, 2.5f, 5.5f, 7}, {0.25f, 1.25f, 2.75f, 7}};
        assert_true(abs_err_max(y, want[cip], 4) < 1e-6);
        es_graph_free(u.g);
    }
}

/* 2x2, stride 2, no padding (the fast path of a DenseNet's transitions) on odd sizes: the
 * last row and column fall outside every window. */
static void avgpool_quads(void **state)
{
    float x[2 * 5 * 7];
    for (int i = 0; i < 70; i++)
        x[i] = (float)(i * i % 17) - 8;
    es_attrs a = defaults(ES_OP_AVGPOOL);
    a.pool.w.kernel[0] = a.pool.w.kernel[1] = 2;
    a.pool.w.stride[0] = a.pool.w.stride[1] = 2;
    one u = unary(ES_OP_AVGPOOL, &a, 4, (int[]){1, 2, 5, 7}, x);
    assert_shape(u.g, u.y, 4, (int[]){1, 2, 2, 3});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    for (int c = 0; c < 2; c++)
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 3; ox++) {
                const float *r = x + (c * 5 + 2 * oy) * 7 + 2 * ox;
                float want = (r[0] + r[1] + r[7] + r[8]) / 4;
                assert_float_equal(y[(c * 2 + oy) * 3 + ox], want, 1e-6);
            }
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
}

static void gap_forward_backward(void **state)
{
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    one u = unary(ES_OP_GAP, NULL, 4, (int[]){1, 3, 2, 2}, x);
    assert_true(u.node >= 0);
    assert_shape(u.g, u.y, 4, (int[]){1, 3, 1, 1});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    assert_true(y[0] == 2.5f && y[1] == 6.5f && y[2] == 10.5f);
    es_graph_free(u.g);

    u = unary(ES_OP_GAP, NULL, 3, (int[]){2, 3, 5}, NULL);
    assert_shape(u.g, u.y, 3, (int[]){2, 3, 1});
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
    u = unary(ES_OP_GAP, NULL, 4, (int[]){2, 2, 3, 4}, NULL);
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
}

static void pool_errors(void **state)
{
    es_graph *g = es_graph_new();
    int x2 = es_tensor_add(g, "x2", ES_T_INPUT, 2, (int[]){4, 5}, NULL);
    int x4 = es_tensor_add(g, "x4", ES_T_INPUT, 4, (int[]){1, 2, 4, 4}, NULL);
    es_attrs a = defaults(ES_OP_MAXPOOL);
    a.pool.w.kernel[0] = a.pool.w.kernel[1] = 2;
    assert_node_fails(g, ES_OP_MAXPOOL, "mp_rank", &a, 1, &x2);
    assert_node_fails(g, ES_OP_GAP, "gap_rank", NULL, 1, &x2);
    es_attrs big = a;
    big.pool.w.kernel[0] = 5;
    assert_node_fails(g, ES_OP_AVGPOOL, "ap_big", &big, 1, &x4);
    es_attrs pad = a;
    pad.pool.w.pads[0] = 2;
    assert_node_fails(g, ES_OP_MAXPOOL, "mp_pad", &pad, 1, &x4);
    es_attrs nok = defaults(ES_OP_MAXPOOL);
    assert_node_fails(g, ES_OP_MAXPOOL, "mp_nokernel", &nok, 1, &x4);
    es_attrs dil = a;
    dil.pool.w.dilation[0] = 2;
    assert_node_fails(g, ES_OP_AVGPOOL, "ap_dil", &dil, 1, &x4);
    assert_true(es_node_add(g, ES_OP_MAXPOOL, "mp_ok", &dil, 1, &x4, 1, NULL) >= 0);
    assert_int_equal(es_graph_n_nodes(g), 1);
    es_graph_free(g);
}

/* ---- shape ops ---------------------------------------------------------------------------- */
static void pad_constant(void **state)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    es_attrs a = defaults(ES_OP_PAD);
    /* (2,3) padded: dim 0 by 1 before, dim 1 by 2 after */
    a.pad.pads[0] = 1, a.pad.pads[1] = 0, a.pad.pads[2] = 0, a.pad.pads[3] = 2;
    a.pad.value = -1.5f;
    one u = unary(ES_OP_PAD, &a, 2, (int[]){2, 3}, x);
    assert_true(u.node >= 0);
    assert_shape(u.g, u.y, 2, (int[]){3, 5});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float want[15] = {-1.5f, -1.5f, -1.5f, -1.5f, -1.5f,
                            1, 2, 3, -1.5f, -1.5f,
                            4, 5, 6, -1.5f, -1.5f};
    assert_memory_equal(es_tensor_data(u.g, u.y), want, sizeof want);
    es_graph_free(u.g);

    es_attrs b = defaults(ES_OP_PAD); /* (1,2,3,2), pads on every dim */
    int pb[8] = {0, 1, 2, 0, 1, 0, 1, 3};
    memcpy(b.pad.pads, pb, sizeof pb);
    u = unary(ES_OP_PAD, &b, 4, (int[]){1, 2, 3, 2}, NULL);
    assert_shape(u.g, u.y, 4, (int[]){2, 3, 6, 5});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *xs = es_tensor_data(u.g, u.x), *ys = es_tensor_data(u.g, u.y);
    int ok = 1;
    for (int i0 = 0; i0 < 2; i0++)
        for (int i1 = 0; i1 < 3; i1++)
            for (int i2 = 0; i2 < 6; i2++)
                for (int i3 = 0; i3 < 5; i3++) {
                    int j0 = i0 - 0, j1 = i1 - 1, j2 = i2 - 2, j3 = i3 - 0;
                    int in = j0 == 0 && j1 >= 0 && j1 < 2 && j2 >= 0 && j2 < 3 && j3 >= 0 && j3 < 2;
                    float w = in ? xs[(j1 * 3 + j2) * 2 + j3] : 0.0f;
                    ok &= ys[((i0 * 3 + i1) * 6 + i2) * 5 + i3] == w;
                }
    assert_true(ok);
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);

    es_graph *g = es_graph_new();
    int t = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    es_attrs c = defaults(ES_OP_PAD);
    c.pad.pads[1] = -1;
    assert_node_fails(g, ES_OP_PAD, "crop", &c, 1, &t);
    es_graph_free(g);
}

static void concat_axes(void **state)
{
    for (int axis = -3; axis < 3; axis++) {
        es_graph *g = es_graph_new();
        int ax = axis < 0 ? axis + 3 : axis, d[3][3] = {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}};
        d[1][ax] = 1, d[2][ax] = 3;
        int in[3];
        for (int k = 0; k < 3; k++) {
            char nm[16];
            snprintf(nm, sizeof nm, "x%d", k);
            in[k] = es_tensor_add(g, nm, k == 1 ? ES_T_PARAM : ES_T_INPUT, 3, d[k], NULL);
            float *p = es_tensor_data(g, in[k]);
            for (size_t i = 0; i < count(3, d[k]); i++)
                p[i] = 100 * k + (float)i;
        }
        es_attrs a = defaults(ES_OP_CONCAT);
        a.axis.axis = axis;
        int n = es_node_add(g, ES_OP_CONCAT, "cat", &a, 3, in, 1, NULL), y = es_tensor_find(g, "cat");
        assert_true(n >= 0);
        int od[3] = {2, 3, 4};
        od[ax] = (ax == 0 ? 2 : ax == 1 ? 3 : 4) + 1 + 3;
        assert_shape(g, y, 3, od);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        const float *yp = es_tensor_data(g, y);
        int ok = 1; /* each output element comes from the input its index along ax falls in */
        for (int i = 0; i < od[0]; i++)
            for (int j = 0; j < od[1]; j++)
                for (int l = 0; l < od[2]; l++) {
                    int idx[3] = {i, j, l}, k = 0;
                    while (idx[ax] >= d[k][ax])
                        idx[ax] -= d[k++][ax];
                    float w = 100 * k + (float)((idx[0] * d[k][1] + idx[1]) * d[k][2] + idx[2]);
                    ok &= yp[(i * od[1] + j) * od[2] + l] == w;
                }
        assert_true(ok);
        for (int k = 0; k < 3; k++)
            fill_uniform(es_tensor_data(g, in[k]), count(3, d[k]), -1, 1);
        assert_grad_ok(g, y, ES_TEST, 1e-2);
        es_graph_free(g);
    }
}

static void concat_errors(void **state)
{
    es_graph *g = es_graph_new();
    int a = es_tensor_add(g, "a", ES_T_INPUT, 4, (int[]){1, 2, 3, 4}, NULL);
    int b = es_tensor_add(g, "b", ES_T_INPUT, 4, (int[]){1, 2, 3, 5}, NULL);
    int c = es_tensor_add(g, "c", ES_T_INPUT, 3, (int[]){1, 2, 3}, NULL);
    es_attrs at = defaults(ES_OP_CONCAT); /* axis 1: the last dims differ */
    assert_node_fails(g, ES_OP_CONCAT, "cat_dims", &at, 2, (int[]){a, b});
    assert_node_fails(g, ES_OP_CONCAT, "cat_rank", &at, 2, (int[]){a, c});
    at.axis.axis = 4;
    assert_node_fails(g, ES_OP_CONCAT, "cat_axis", &at, 2, (int[]){a, a});
    at.axis.axis = -1;
    assert_true(es_node_add(g, ES_OP_CONCAT, "cat_ok", &at, 3, (int[]){a, b, a}, 1, NULL) >= 0);
    assert_shape(g, es_tensor_find(g, "cat_ok"), 4, (int[]){1, 2, 3, 13});
    es_graph_free(g);
}

/* Flatten, Reshape, Identity, Squeeze, Unsqueeze keep the values in C order. */
static void views(void **state)
{
    const int dims[4] = {2, 3, 1, 4};
    struct {
        es_op_type op;
        int axis, n_list, list[4];
        int ndim, want[6];
    } c[] = {
        {ES_OP_FLATTEN, 1, 0, {0}, 2, {2, 12}},
        {ES_OP_FLATTEN, 0, 0, {0}, 2, {1, 24}},
        {ES_OP_FLATTEN, 4, 0, {0}, 2, {24, 1}},
        {ES_OP_FLATTEN, -2, 0, {0}, 2, {6, 4}},
        {ES_OP_RESHAPE, 0, 3, {0, -1, 2}, 3, {2, 6, 2}},
        {ES_OP_RESHAPE, 0, 2, {4, 6}, 2, {4, 6}},
        {ES_OP_RESHAPE, 0, 4, {0, 0, 0, 0}, 4, {2, 3, 1, 4}},
        {ES_OP_IDENTITY, 0, 0, {0}, 4, {2, 3, 1, 4}},
        {ES_OP_SQUEEZE, 0, 0, {0}, 3, {2, 3, 4}},
        {ES_OP_SQUEEZE, 0, 1, {-2}, 3, {2, 3, 4}},
        {ES_OP_UNSQUEEZE, 0, 2, {0, -1}, 6, {1, 2, 3, 1, 4, 1}},
        {ES_OP_UNSQUEEZE, 0, 1, {2}, 5, {2, 3, 1, 1, 4}},
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        es_attrs a = defaults(c[k].op);
        if (c[k].op == ES_OP_FLATTEN)
            a.axis.axis = c[k].axis;
        else
            a.dims.n_list = c[k].n_list, memcpy(a.dims.list, c[k].list, sizeof c[k].list);
        one u = unary(c[k].op, &a, 4, dims, NULL);
        if (u.node < 0)
            fail_msg("case %zu: %s", k, es_error());
        assert_shape(u.g, u.y, c[k].ndim, c[k].want);
        assert_int_equal(es_forward(u.g, ES_TEST), 0);
        assert_memory_equal(es_tensor_data(u.g, u.y), es_tensor_data(u.g, u.x), 24 * sizeof(float));
        assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
        es_graph_free(u.g);
    }
}

static void view_errors(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 3, (int[]){2, 3, 4}, NULL);
    es_attrs a = defaults(ES_OP_RESHAPE);
    a.dims.n_list = 2, a.dims.list[0] = 5, a.dims.list[1] = -1; /* 24 is not a multiple of 5 */
    assert_node_fails(g, ES_OP_RESHAPE, "rs_infer", &a, 1, &x);
    a.dims.list[0] = -1;
    assert_node_fails(g, ES_OP_RESHAPE, "rs_two", &a, 1, &x);
    a.dims.list[0] = 5, a.dims.list[1] = 5;
    assert_node_fails(g, ES_OP_RESHAPE, "rs_size", &a, 1, &x);
    a.dims.n_list = 4, a.dims.list[0] = 0, a.dims.list[1] = 0, a.dims.list[2] = 0, a.dims.list[3] = 0;
    assert_node_fails(g, ES_OP_RESHAPE, "rs_zero", &a, 1, &x);
    a = defaults(ES_OP_FLATTEN);
    a.axis.axis = 4;
    assert_node_fails(g, ES_OP_FLATTEN, "fl_axis", &a, 1, &x);
    a = defaults(ES_OP_SQUEEZE);
    a.dims.n_list = 1, a.dims.list[0] = 1;
    assert_node_fails(g, ES_OP_SQUEEZE, "sq_notone", &a, 1, &x);
    a.dims.list[0] = 3;
    assert_node_fails(g, ES_OP_SQUEEZE, "sq_range", &a, 1, &x);
    a.dims.list[0] = 4; /* output rank 4: axes in [-4, 3] */
    assert_node_fails(g, ES_OP_UNSQUEEZE, "usq_range", &a, 1, &x);
    a.dims.n_list = 2, a.dims.list[0] = 1, a.dims.list[1] = -4; /* the same place twice (rank 5) */
    assert_node_fails(g, ES_OP_UNSQUEEZE, "usq_twice", &a, 1, &x);
    a.dims.n_list = 3, a.dims.list[0] = 0, a.dims.list[1] = 2, a.dims.list[2] = 2;
    assert_node_fails(g, ES_OP_TRANSPOSE, "tr_perm", &a, 1, &x);
    a.dims.n_list = 2, a.dims.list[0] = 1, a.dims.list[1] = 0;
    assert_node_fails(g, ES_OP_TRANSPOSE, "tr_len", &a, 1, &x);
    assert_int_equal(es_graph_n_nodes(g), 0);
    es_graph_free(g);
}

static void transpose_perms(void **state)
{
    const int dims[4] = {2, 3, 4, 5};
    int perms[3][4] = {{0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 3, 2}};
    for (int k = 0; k < 4; k++) { /* k == 3: no perm, reversed */
        es_attrs a = defaults(ES_OP_TRANSPOSE);
        if (k < 3)
            a.dims.n_list = 4, memcpy(a.dims.list, perms[k], sizeof perms[k]);
        const int *pm = perms[k < 3 ? k : 1];
        one u = unary(ES_OP_TRANSPOSE, &a, 4, dims, NULL);
        assert_true(u.node >= 0);
        int od[4] = {dims[pm[0]], dims[pm[1]], dims[pm[2]], dims[pm[3]]};
        assert_shape(u.g, u.y, 4, od);
        assert_int_equal(es_forward(u.g, ES_TEST), 0);
        const float *x = es_tensor_data(u.g, u.x), *y = es_tensor_data(u.g, u.y);
        int ok = 1, o[4];
        for (o[0] = 0; o[0] < od[0]; o[0]++)
            for (o[1] = 0; o[1] < od[1]; o[1]++)
                for (o[2] = 0; o[2] < od[2]; o[2]++)
                    for (o[3] = 0; o[3] < od[3]; o[3]++) {
                        int i[4];
                        for (int d = 0; d < 4; d++)
                            i[pm[d]] = o[d];
                        ok &= y[((o[0] * od[1] + o[1]) * od[2] + o[2]) * od[3] + o[3]] ==
                              x[((i[0] * 3 + i[1]) * 4 + i[2]) * 5 + i[3]];
                    }
        assert_true(ok);
        if (k == 0)
            assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
        es_graph_free(u.g);
    }
}

/* ---- elementwise -------------------------------------------------------------------------- */
/* A op B by explicit broadcast index arithmetic, the slow way. */
static float ref_binary(es_op_type op, const float *a, int ra, const int *da, const float *b,
                        int rb, const int *db, int r, const int *od, size_t o)
{
    int idx[ES_MAX_DIMS];
    for (int i = r - 1; i >= 0; i--)
        idx[i] = (int)(o % od[i]), o /= od[i];
    size_t ia = 0, ib = 0;
    for (int i = 0; i < ra; i++)
        ia = ia * da[i] + (da[i] == 1 ? 0 : idx[i + r - ra]);
    for (int i = 0; i < rb; i++)
        ib = ib * db[i] + (db[i] == 1 ? 0 : idx[i + r - rb]);
    switch (op) {
    case ES_OP_ADD: return a[ia] + b[ib];
    case ES_OP_SUB: return a[ia] - b[ib];
    case ES_OP_MUL: return a[ia] * b[ib];
    default: return a[ia] / b[ib];
    }
}

static void broadcast_ops(void **state)
{
    struct {
        int ra, da[4], rb, db[4], r, od[4];
    } c[] = {
        {4, {2, 3, 2, 3}, 4, {2, 3, 2, 3}, 4, {2, 3, 2, 3}}, /* same shape */
        {4, {2, 3, 2, 3}, 3, {3, 1, 1}, 4, {2, 3, 2, 3}},    /* per-channel bias */
        {3, {2, 1, 4}, 2, {3, 1}, 3, {2, 3, 4}},             /* both broadcast */
        {2, {1, 5}, 0, {0}, 2, {1, 5}},                      /* a scalar */
        {1, {1}, 3, {2, 3, 2}, 3, {2, 3, 2}},                /* (1) against a 3-D */
        {4, {2, 1, 3, 1}, 4, {1, 2, 1, 3}, 4, {2, 2, 3, 3}}, /* alternating */
    };
    es_op_type ops[4] = {ES_OP_ADD, ES_OP_SUB, ES_OP_MUL, ES_OP_DIV};
    for (size_t k = 0; k < sizeof c / sizeof *c; k++)
        for (int oi = 0; oi < 4; oi++)
            for (int swap = 0; swap < 2; swap++) {
                es_graph *g = es_graph_new();
                int ra = swap ? c[k].rb : c[k].ra, rb = swap ? c[k].ra : c[k].rb;
                const int *da = swap ? c[k].db : c[k].da, *db = swap ? c[k].da : c[k].db;
                int ta = es_tensor_add(g, "a", ES_T_INPUT, ra, da, NULL);
                int tb = es_tensor_add(g, "b", ES_T_PARAM, rb, db, NULL);
                float *a = es_tensor_data(g, ta), *b = es_tensor_data(g, tb);
                size_t na = count(ra, da), nb = count(rb, db);
                fill_uniform(a, na, -2, 2);
                fill_uniform(b, nb, 0.8, 2); /* away from 0 for Div */
                for (size_t i = 0; i < nb; i += 2)
                    b[i] = -b[i];
                int n = es_node_add(g, ops[oi], "op", NULL, 2, (int[]){ta, tb}, 1, NULL);
                if (n < 0)
                    fail_msg("case %zu: %s", k, es_error());
                int y = es_tensor_find(g, "op");
                assert_shape(g, y, c[k].r, c[k].od);
                assert_int_equal(es_forward(g, ES_TEST), 0);
                size_t ny = es_tensor_size(g, y);
                float *want = malloc(ny * sizeof(float));
                for (size_t o = 0; o < ny; o++)
                    want[o] = ref_binary(ops[oi], a, ra, da, b, rb, db, c[k].r, c[k].od, o);
                assert_memory_equal(es_tensor_data(g, y), want, ny * sizeof(float));
                free(want);
                double e = fd_check(g, y, ES_TEST, 1e-2);
                if (!(e <= 1e-3))
                    fail_msg("case %zu %s%s: finite differences %.3g", k, es_op_name(ops[oi]),
                             swap ? " swapped" : "", e);
                es_graph_free(g);
            }
}

/* x·x and x + x: both gradients land in one tensor. */
static void binary_same_input(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){3, 4}, NULL);
    fill_uniform(es_tensor_data(g, x), 12, -2, 2);
    int m = es_node_add(g, ES_OP_MUL, "sq", NULL, 2, (int[]){x, x}, 1, NULL);
    int y = es_tensor_find(g, "sq");
    int s = es_node_add(g, ES_OP_ADD, "twice", NULL, 2, (int[]){y, y}, 1, NULL);
    assert_true(m >= 0 && s >= 0);
    assert_grad_ok(g, es_tensor_find(g, "twice"), ES_TEST, 1e-2);
    es_graph_free(g);
}

static void broadcast_errors(void **state)
{
    es_graph *g = es_graph_new();
    int a = es_tensor_add(g, "a", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    int b = es_tensor_add(g, "b", ES_T_INPUT, 1, (int[]){4}, NULL);
    int c = es_tensor_add(g, "c", ES_T_INPUT, 3, (int[]){2, 4, 1}, NULL);
    assert_node_fails(g, ES_OP_ADD, "add_bad", NULL, 2, (int[]){a, b});
    assert_node_fails(g, ES_OP_DIV, "div_bad", NULL, 2, (int[]){c, a});
    assert_non_null(strstr(es_error(), "(2,4,1) and (2,3)"));
    es_graph_free(g);
}

static void sigmoid_values(void **state)
{
    float x[6] = {0, 1, -1, 100, -100, -20};
    one u = unary(ES_OP_SIGMOID, NULL, 2, (int[]){1, 6}, x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    for (int i = 0; i < 6; i++) {
        double w = 1.0 / (1.0 + exp(-(double)x[i]));
        if (!(fabs(y[i] - w) <= 1e-6 * w + 1e-43)) /* relative: no cancellation at x << 0 */
            fail_msg("sigmoid(%g) = %g, want %g", x[i], y[i], w);
    }
    es_graph_free(u.g);
    u = unary(ES_OP_SIGMOID, NULL, 3, (int[]){2, 3, 4}, NULL);
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
}

/* A NaN computed inside a net goes on as in PyTorch (issue 14: ReLU made it 0, so an all-NaN
 * input read as "bird" at P 0.9999): torch.relu(nan) = nan and relu's backward is
 * threshold_backward(dy, y, 0) = y <= 0 ? 0 : dy, so dy passes at a NaN; captum's guided
 * backprop and deconvnet clip dy with relu, a NaN dy staying NaN. leaky_relu(nan) = nan, its
 * backward x > 0 ? dy : slope·dy. sigmoid(nan) = nan; softmax of a row holding a NaN is NaN
 * throughout, other rows untouched. */
static void nan_propagates_as_pytorch(void **state)
{
    float x[4] = {NAN, -1, 2, 0};
    one u = unary(ES_OP_RELU, NULL, 2, (int[]){1, 4}, x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    assert_true(isnan(y[0]) && y[1] == 0 && y[2] == 2 && y[3] == 0);
    float dy[4] = {5, 6, 7, 8}, dyn[4] = {NAN, NAN, NAN, -1};
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    const float *dx = es_tensor_grad(u.g, u.x);
    assert_true(dx[0] == 5 && dx[1] == 0 && dx[2] == 7 && dx[3] == 0);
    assert_int_equal(es_backward(u.g, u.y, dyn, ES_RELU_GUIDED, ES_GRAD_INPUTS), 0);
    dx = es_tensor_grad(u.g, u.x); /* x <= 0 masks even a NaN dy; x = NaN or > 0 passes it */
    assert_true(isnan(dx[0]) && dx[1] == 0 && isnan(dx[2]) && dx[3] == 0);
    assert_int_equal(es_backward(u.g, u.y, dyn, ES_RELU_DECONVNET, ES_GRAD_INPUTS), 0);
    dx = es_tensor_grad(u.g, u.x); /* relu(dy), x unread */
    assert_true(isnan(dx[0]) && isnan(dx[1]) && isnan(dx[2]) && dx[3] == 0);
    es_graph_free(u.g);

    /* the same over whole 32-unit words (the vector path) and a tail: NaN, ±0, ±inf */
    enum { N = 70 };
    const float cyc[8] = {NAN, -1, 2, 0, -0.0f, 3.5f, -INFINITY, INFINITY};
    float xl[N], dyl[N];
    for (int i = 0; i < N; i++)
        xl[i] = cyc[(i * 3 + i / 8) % 8], dyl[i] = (float)(i + 1);
    u = unary(ES_OP_RELU, NULL, 2, (int[]){1, N}, xl);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    y = es_tensor_data(u.g, u.y);
    assert_int_equal(es_backward(u.g, u.y, dyl, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    dx = es_tensor_grad(u.g, u.x);
    for (int i = 0; i < N; i++) {
        int on = !(xl[i] <= 0);
        assert_true(on ? (isnan(xl[i]) ? isnan(y[i]) : y[i] == xl[i]) : y[i] == 0 && !signbit(y[i]));
        assert_true(dx[i] == (on ? dyl[i] : 0));
    }
    es_graph_free(u.g);

    u = unary(ES_OP_LEAKYRELU, NULL, 2, (int[]){1, 4}, x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    y = es_tensor_data(u.g, u.y);
    assert_true(isnan(y[0]) && y[1] == -0.01f && y[2] == 2 && y[3] == 0);
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    dx = es_tensor_grad(u.g, u.x);
    assert_true(dx[0] == 0.01f * 5 && dx[1] == 0.01f * 6 && dx[2] == 7 && dx[3] == 0.01f * 8);
    es_graph_free(u.g);

    u = unary(ES_OP_SIGMOID, NULL, 2, (int[]){1, 4}, x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    y = es_tensor_data(u.g, u.y);
    assert_true(isnan(y[0]) && y[3] == 0.5f);
    es_graph_free(u.g);

    float rows[6] = {1, NAN, 2, 0, 0, 0};
    u = unary(ES_OP_SOFTMAX, NULL, 2, (int[]){2, 3}, rows);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    y = es_tensor_data(u.g, u.y);
    for (int i = 0; i < 3; i++)
        assert_true(isnan(y[i]) && fabsf(y[3 + i] - 1.0f / 3) < 1e-7f);
    es_graph_free(u.g);

    /* max_pool2d's backward sends dy to the NaN it returned (the last NaN in scan order) */
    float px[4] = {1, NAN, 2, NAN};
    es_attrs a = defaults(ES_OP_MAXPOOL);
    a.pool.w.kernel[0] = 4;
    u = unary(ES_OP_MAXPOOL, &a, 3, (int[]){1, 1, 4}, px);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_true(isnan(es_tensor_data(u.g, u.y)[0]));
    assert_int_equal(es_backward(u.g, u.y, (float[]){3}, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    assert_memory_equal(es_tensor_grad(u.g, u.x), ((float[]){0, 0, 0, 3}), 4 * sizeof(float));
    es_graph_free(u.g);
}

/* A kernel far wider than its input costs the taps inside: 2^24 x 2^24 with pads just below
 * it and a stride as long, on a 1x1 input, is one output read from one value (before: 2^48
 * steps skipped one by one, a hang). */
static void maxpool_huge_kernel(void **state)
{
    es_attrs a = defaults(ES_OP_MAXPOOL);
    int k = 1 << 24;
    for (int i = 0; i < 2; i++)
        a.pool.w.kernel[i] = a.pool.w.stride[i] = k;
    for (int i = 0; i < 4; i++)
        a.pool.w.pads[i] = k - 1;
    one u = unary(ES_OP_MAXPOOL, &a, 4, (int[]){1, 1, 1, 1}, (float[]){-3});
    assert_true(u.node >= 0);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_true(es_tensor_size(u.g, u.y) == 1 && es_tensor_data(u.g, u.y)[0] == -3);
    es_graph_free(u.g);
}

/* A 1x1 conv on a 1x1 input padded by 2^24 on every side wants 2^25+1 squared outputs: refused
 * with the node's name (before, ho·wo overflowed int: UB, then a 2^50-value tensor). */
static void conv_output_overflow(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 4, (int[]){1, 1, 1, 1}, NULL);
    int w = es_tensor_add(g, "w", ES_T_PARAM, 4, (int[]){1, 1, 1, 1}, NULL);
    es_attrs a = defaults(ES_OP_CONV);
    for (int i = 0; i < 4; i++)
        a.conv.w.pads[i] = 1 << 24;
    assert_node_fails(g, ES_OP_CONV, "wide", &a, 2, (int[]){x, w});
    assert_non_null(strstr(es_error(), "too large"));
    es_graph_free(g);
}

/* ---- softmax ------------------------------------------------------------------------------ */
static void softmax_fixture(const char *name)
{
    torch_case c = load_case(name);
    es_attrs a = defaults(ES_OP_SOFTMAX);
    a.axis.axis = (int)c.at.data[0];
    es_op_type op = c.at.data[1] != 0 ? ES_OP_LOGSOFTMAX : ES_OP_SOFTMAX;
    one u = unary(op, &a, c.x.ndim, c.x.dims, c.x.data);
    assert_true(u.node >= 0);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    size_t n = es_array_size(&c.x);
    if (abs_err_max(es_tensor_data(u.g, u.y), c.y.data, n) > 2e-6)
        fail_msg("%s: forward differs from PyTorch by %g", name,
                 abs_err_max(es_tensor_data(u.g, u.y), c.y.data, n));
    assert_int_equal(es_backward(u.g, u.y, c.dy.data, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    if (rel_err_max(es_tensor_grad(u.g, u.x), c.dx.data, n, 1e-6) > 1e-5)
        fail_msg("%s: backward differs from PyTorch", name);
    finish_case(u, &c, name);
}

static void softmax_vs_pytorch(void **state)
{
    const char *cases[] = {"softmax_axis1", "softmax_axis-1", "softmax_axis0",
                           "logsoftmax_axis1", "logsoftmax_axis-1", "logsoftmax_axis2"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        softmax_fixture(cases[i]);
}

static void softmax_stable(void **state)
{
    float x[4] = {1000, 1001, 1002, -1000};
    es_attrs a = defaults(ES_OP_SOFTMAX);
    a.axis.axis = -1;
    for (int lg = 0; lg < 2; lg++) {
        one u = unary(lg ? ES_OP_LOGSOFTMAX : ES_OP_SOFTMAX, &a, 2, (int[]){1, 4}, x);
        assert_int_equal(es_forward(u.g, ES_TEST), 0);
        const float *y = es_tensor_data(u.g, u.y);
        double z = 1 + exp(-1.0) + exp(-2.0);
        double w[4] = {exp(-2.0) / z, exp(-1.0) / z, 1 / z, 0};
        for (int i = 0; i < 4; i++) {
            double want = lg ? x[i] - 1002 - log(z) : w[i];
            if (!(fabs(y[i] - want) <= 1e-6 * fmax(1, fabs(want))))
                fail_msg("%s[%d] = %g, want %g", lg ? "logsoftmax" : "softmax", i, y[i], want);
        }
        es_graph_free(u.g);
    }
    es_graph *g = es_graph_new();
    int t = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    a.axis.axis = 2;
    assert_node_fails(g, ES_OP_SOFTMAX, "sm_axis", &a, 1, &t);
    a.axis.axis = -3;
    assert_node_fails(g, ES_OP_LOGSOFTMAX, "lsm_axis", &a, 1, &t);
    es_graph_free(g);
}

/* ---- dropout ------------------------------------------------------------------------------ */
static void dropout_train_test(void **state)
{
    enum { N = 20000 };
    float *x = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = 1.0f + (i % 7) * 0.25f;
    es_attrs a = defaults(ES_OP_DROPOUT);
    a.dropout.ratio = 0.3f;
    one u = unary(ES_OP_DROPOUT, &a, 2, (int[]){4, N / 4}, x);
    assert_true(u.node >= 0);

    es_graph_seed(u.g, 42);
    assert_int_equal(es_forward(u.g, ES_TRAIN), 0);
    const float *y = es_tensor_data(u.g, u.y);
    float *first = malloc(N * sizeof(float));
    memcpy(first, y, N * sizeof(float));
    int dropped = 0, scaled = 1;
    double sx = 0, sy = 0;
    for (int i = 0; i < N; i++) {
        dropped += y[i] == 0;
        scaled &= y[i] == 0 || fabsf(y[i] - x[i] / 0.7f) <= 1e-6f * x[i];
        sx += x[i], sy += y[i];
    }
    assert_true(scaled); /* kept units carry x / (1 − ratio) */
    assert_true(fabs(dropped / (double)N - 0.3) < 0.015);
    assert_true(fabs(sy / sx - 1) < 0.02); /* inverted dropout keeps the mean */

    float *dy = malloc(N * sizeof(float));
    fill_uniform(dy, N, -1, 1);
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    const float *dx = es_tensor_grad(u.g, u.x);
    int same = 1;
    for (int i = 0; i < N; i++) {
        float want = y[i] == 0 ? 0.0f : dy[i] / 0.7f;
        same &= fabsf(dx[i] - want) <= 1e-6f * fabsf(want);
    }
    assert_true(same); /* backward uses forward's mask */

    es_graph_seed(u.g, 42); /* the same seed draws the same mask */
    assert_int_equal(es_forward(u.g, ES_TRAIN), 0);
    assert_memory_equal(es_tensor_data(u.g, u.y), first, N * sizeof(float));
    es_graph_seed(u.g, 43);
    assert_int_equal(es_forward(u.g, ES_TRAIN), 0);
    assert_memory_not_equal(es_tensor_data(u.g, u.y), first, N * sizeof(float));

    assert_int_equal(es_forward(u.g, ES_TEST), 0); /* TEST: identity, both ways */
    assert_memory_equal(es_tensor_data(u.g, u.y), x, N * sizeof(float));
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    assert_memory_equal(es_tensor_grad(u.g, u.x), dy, N * sizeof(float));
    es_graph_free(u.g);
    free(x), free(first), free(dy);

    u = unary(ES_OP_DROPOUT, &a, 3, (int[]){2, 3, 5}, NULL);
    assert_grad_ok(u.g, u.y, ES_TRAIN, 1e-2); /* fd_check reseeds before every forward */
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
}

static void dropout_mask_output_and_errors(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){10, 10}, NULL);
    fill_uniform(es_tensor_data(g, x), 100, 1, 2);
    es_attrs a = defaults(ES_OP_DROPOUT);
    a.dropout.ratio = 0.5f;
    const char *names[2] = {"y", "mask"};
    assert_true(es_node_add(g, ES_OP_DROPOUT, "drop", &a, 1, &x, 2, names) >= 0);
    assert_int_equal(es_forward(g, ES_TRAIN), 0);
    const float *y = es_tensor_data(g, es_tensor_find(g, "y"));
    const float *m = es_tensor_data(g, es_tensor_find(g, "mask"));
    int ok = 1;
    for (int i = 0; i < 100; i++)
        ok &= (m[i] == 1.0f && y[i] != 0) || (m[i] == 0.0f && y[i] == 0);
    assert_true(ok);
    a.dropout.ratio = 1.5f;
    assert_node_fails(g, ES_OP_DROPOUT, "drop_bad", &a, 1, &x);
    es_graph_free(g);
}

/* ---- a small network of these ops, checked end to end ------------------------------------- */
static void chain_of_ops(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 4, (int[]){2, 2, 5, 6}, NULL);
    int bias = es_tensor_add(g, "bias", ES_T_PARAM, 3, (int[]){2, 1, 1}, NULL);
    fill_distinct(es_tensor_data(g, x), 120);
    fill_uniform(es_tensor_data(g, bias), 2, -1, 1);
    es_attrs pa = defaults(ES_OP_PAD);
    pa.pad.value = -10; /* below every input: padding never ties with a maximum */
    pa.pad.pads[2] = 1, pa.pad.pads[3] = 1, pa.pad.pads[6] = 0, pa.pad.pads[7] = 1; /* H, W begin; W end */
    es_attrs mp = defaults(ES_OP_MAXPOOL);
    mp.pool.w.kernel[0] = mp.pool.w.kernel[1] = 2, mp.pool.w.stride[0] = mp.pool.w.stride[1] = 2, mp.pool.ceil_mode = 1;
    es_attrs ap = mp;
    ap.pool.ceil_mode = 0, ap.pool.w.stride[0] = ap.pool.w.stride[1] = 1, ap.pool.count_include_pad = 1;
    es_attrs sm = defaults(ES_OP_SOFTMAX);
    int n = 0;
    n |= es_node_add(g, ES_OP_ADD, "add", NULL, 2, (int[]){x, bias}, 1, NULL);
    n |= es_node_add(g, ES_OP_PAD, "pad", &pa, 1, (int[]){es_tensor_find(g, "add")}, 1, NULL);
    n |= es_node_add(g, ES_OP_MAXPOOL, "mp", &mp, 1, (int[]){es_tensor_find(g, "pad")}, 1, NULL);
    n |= es_node_add(g, ES_OP_AVGPOOL, "ap", &ap, 1, (int[]){es_tensor_find(g, "add")}, 1, NULL);
    n |= es_node_add(g, ES_OP_GAP, "gap", NULL, 1, (int[]){es_tensor_find(g, "ap")}, 1, NULL);
    n |= es_node_add(g, ES_OP_FLATTEN, "fl", NULL, 1, (int[]){es_tensor_find(g, "mp")}, 1, NULL);
    n |= es_node_add(g, ES_OP_FLATTEN, "fl2", NULL, 1, (int[]){es_tensor_find(g, "gap")}, 1, NULL);
    n |= es_node_add(g, ES_OP_CONCAT, "cat", &sm, 2,
                     (int[]){es_tensor_find(g, "fl"), es_tensor_find(g, "fl2")}, 1, NULL);
    n |= es_node_add(g, ES_OP_SOFTMAX, "sm", &sm, 1, (int[]){es_tensor_find(g, "cat")}, 1, NULL);
    assert_true(n >= 0);
    int y = es_tensor_find(g, "sm");
    assert_shape(g, y, 2, (int[]){2, 2 * 3 * 4 + 2});
    assert_grad_ok(g, y, ES_TEST, 1e-2);
    es_graph_free(g);
}

/* A new batch size re-infers every shape (Reshape's 0 keeps the batch) and a pass at the
 * larger size reads and writes only what it owns. */
static void batch_resize(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 4, (int[]){1, 2, 4, 6}, NULL);
    es_attrs mp = defaults(ES_OP_MAXPOOL), rs = defaults(ES_OP_RESHAPE), dr = defaults(ES_OP_DROPOUT);
    mp.pool.w.kernel[0] = mp.pool.w.kernel[1] = 2, mp.pool.w.stride[0] = mp.pool.w.stride[1] = 2;
    rs.dims.n_list = 2, rs.dims.list[0] = 0, rs.dims.list[1] = -1;
    dr.dropout.ratio = 0.25f;
    int n = 0;
    n |= es_node_add(g, ES_OP_MAXPOOL, "mp", &mp, 1, &x, 1, NULL);
    n |= es_node_add(g, ES_OP_CONCAT, "cat", NULL, 2, (int[]){es_tensor_find(g, "mp"), es_tensor_find(g, "mp")}, 1, NULL);
    n |= es_node_add(g, ES_OP_RESHAPE, "rs", &rs, 1, (int[]){es_tensor_find(g, "cat")}, 1, NULL);
    n |= es_node_add(g, ES_OP_DROPOUT, "drop", &dr, 1, (int[]){es_tensor_find(g, "rs")}, 1, NULL);
    assert_true(n >= 0);
    int y = es_tensor_find(g, "drop");
    for (int b = 1; b <= 3; b += 2) {
        assert_int_equal(es_graph_set_batch(g, b), 0);
        assert_shape(g, y, 2, (int[]){b, 24});
        fill_distinct(es_tensor_data(g, x), (size_t)b * 48);
        assert_grad_ok(g, y, ES_TRAIN, 1e-2);
    }
    es_graph_free(g);
}

/* The OpenMP paths (large tensors) give the same bits with 1 thread and with 2. */
/* ---- activations and functions of one input (activation.c) -------------------------------- */
typedef struct {
    es_op_type op;
    float alpha, beta, exponent; /* HardSigmoid's, Pow's */
    double lo, hi;               /* where x is drawn */
} unary_case;

static double hsig_ref(double x, double a, double b) { return fmin(1, fmax(0, a * x + b)); }

static double unary_ref(const unary_case *c, double x)
{
    switch (c->op) {
    case ES_OP_TANH: return tanh(x);
    case ES_OP_ERF: return erf(x);
    case ES_OP_SQRT: return sqrt(x);
    case ES_OP_EXP: return exp(x);
    case ES_OP_HARDSIGMOID: return hsig_ref(x, c->alpha, c->beta);
    case ES_OP_HARDSWISH: return x * hsig_ref(x, 1.0 / 6, 0.5);
    default: return pow(x, c->exponent);
    }
}

/* The corners of HardSigmoid (αx + β = 0 or 1) and HardSwish (±3), where x must not be drawn:
 * finite differences across a kink measure neither side. */
static int near_kink(const unary_case *c, double x)
{
    double a = c->op == ES_OP_HARDSWISH ? 1.0 / 6 : c->alpha, b = c->op == ES_OP_HARDSWISH ? 0.5 : c->beta;
    if (c->op != ES_OP_HARDSIGMOID && c->op != ES_OP_HARDSWISH)
        return 0;
    return fabs(a * x + b) < 0.05 * a || fabs(a * x + b - 1) < 0.05 * a;
}

static es_attrs unary_attrs(const unary_case *c)
{
    es_attrs a = defaults(c->op);
    if (c->op == ES_OP_HARDSIGMOID)
        a.hsig.alpha = c->alpha, a.hsig.beta = c->beta;
    if (c->op == ES_OP_POW)
        a.pow.exponent = c->exponent;
    return a;
}

/* Forward against libm in double, backward against finite differences away from the kinks,
 * and the same gradient under every ReLU rule: the rules are Relu's alone (issue 13). */
static void unary_functions(void **state)
{
    const unary_case c[] = {
        {ES_OP_TANH, 0, 0, 0, -3, 3},           {ES_OP_ERF, 0, 0, 0, -3, 3},
        {ES_OP_SQRT, 0, 0, 0, 0.2, 4},          {ES_OP_EXP, 0, 0, 0, -3, 3},
        {ES_OP_HARDSIGMOID, 0.2f, 0.5f, 0, -4, 4}, {ES_OP_HARDSIGMOID, 1.0f / 6, 0.5f, 0, -5, 5},
        {ES_OP_HARDSWISH, 0, 0, 0, -5, 5},      {ES_OP_POW, 0, 0, 2, -2, 2},
        {ES_OP_POW, 0, 0, 3, -2, 2},            {ES_OP_POW, 0, 0, 0.5f, 0.2, 4},
        {ES_OP_POW, 0, 0, -1, 0.5, 3},          {ES_OP_POW, 0, 0, 0, -2, 2},
    };
    const int dims[3] = {2, 3, 7};
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        es_attrs a = unary_attrs(&c[k]);
        float x[42];
        for (int i = 0; i < 42; i++) {
            x[i] = (float)(c[k].lo + (c[k].hi - c[k].lo) * urand());
            while (near_kink(&c[k], x[i]))
                x[i] += 0.1f;
        }
        one u = unary(c[k].op, &a, 3, dims, x);
        assert_true(u.node >= 0);
        assert_int_equal(es_forward(u.g, ES_TEST), 0);
        const float *y = es_tensor_data(u.g, u.y);
        for (int i = 0; i < 42; i++) {
            double w = unary_ref(&c[k], x[i]);
            if (!(fabs(y[i] - w) <= 2e-6 * fmax(1, fabs(w))))
                fail_msg("%s(%g) = %.9g, want %.9g", es_op_name(c[k].op), x[i], y[i], w);
        }
        double e = fd_check(u.g, u.y, ES_TEST, 1e-2);
        if (!(e <= 1e-3))
            fail_msg("case %zu %s: backward vs finite differences %.3g", k, es_op_name(c[k].op), e);
        float dy[42], std[42];
        fill_uniform(dy, 42, -1, 1);
        for (es_relu_rule r = ES_RELU_STANDARD; r <= ES_RELU_DECONVNET; r++) {
            assert_int_equal(es_backward(u.g, u.y, dy, r, ES_GRAD_INPUTS), 0);
            if (r == ES_RELU_STANDARD)
                memcpy(std, es_tensor_grad(u.g, u.x), sizeof std);
            else
                assert_memory_equal(es_tensor_grad(u.g, u.x), std, sizeof std);
        }
        es_graph_free(u.g);
    }
}

/* At the kinks themselves: PyTorch's one-sided choices (hardsigmoid_backward: 0 at both
 * corners; hardswish_backward: x/3 + 1/2 on [−3, 3], so −1/2 at −3 and 3/2 at 3). */
static void hard_kinks_as_pytorch(void **state)
{
    float x[4] = {-3, 3, -2.5f, 2.5f}, dy[4] = {1, 1, 1, 1};
    one u = unary(ES_OP_HARDSWISH, NULL, 1, (int[]){2}, x);
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    const float *dx = es_tensor_grad(u.g, u.x), *y = es_tensor_data(u.g, u.y);
    assert_true(y[0] == 0 && y[1] == 3 && dx[0] == -0.5f && dx[1] == 1.5f);
    es_graph_free(u.g);
    u = unary(ES_OP_HARDSIGMOID, NULL, 1, (int[]){4}, x); /* ONNX's α 0.2, β 0.5: corners ±2.5 */
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    dx = es_tensor_grad(u.g, u.x), y = es_tensor_data(u.g, u.y);
    assert_true(y[2] == 0 && y[3] == 1 && dx[2] == 0 && dx[3] == 0);
    es_graph_free(u.g);
}

/* PRelu with a per-channel slope (C,1,1), one shared slope (1), and a slope that does not
 * broadcast to x. */
static void prelu_slopes(void **state)
{
    const int xd[4] = {2, 3, 4, 5};
    for (int shared = 0; shared < 2; shared++) {
        es_graph *g = es_graph_new();
        int x = es_tensor_add(g, "x", ES_T_INPUT, 4, xd, NULL);
        int s = shared ? es_tensor_add(g, "s", ES_T_PARAM, 1, (int[]){1}, NULL)
                       : es_tensor_add(g, "s", ES_T_PARAM, 3, (int[]){3, 1, 1}, NULL);
        float *xv = es_tensor_data(g, x), *sv = es_tensor_data(g, s);
        fill_distinct(xv, 120); /* 0.05 apart from −3 ... */
        for (int i = 0; i < 120; i++)
            xv[i] += 0.025f;    /* ... none within 0.02 of the kink at 0 */
        for (size_t i = 0; i < es_tensor_size(g, s); i++)
            sv[i] = 0.1f + 0.3f * (float)i;
        assert_true(es_node_add(g, ES_OP_PRELU, "prelu", NULL, 2, (int[]){x, s}, 1, NULL) >= 0);
        int y = es_tensor_find(g, "prelu");
        assert_shape(g, y, 4, xd);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        const float *yv = es_tensor_data(g, y);
        for (int i = 0; i < 120; i++) {
            float sl = sv[shared ? 0 : i / 20 % 3];
            assert_true(yv[i] == (xv[i] > 0 ? xv[i] : sl * xv[i]));
        }
        assert_grad_ok(g, y, ES_TEST, 1e-2);
        es_graph_free(g);
    }
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    int s = es_tensor_add(g, "s", ES_T_PARAM, 3, (int[]){2, 1, 3}, NULL);
    int t = es_tensor_add(g, "t", ES_T_PARAM, 1, (int[]){4}, NULL);
    assert_node_fails(g, ES_OP_PRELU, "prelu_rank", NULL, 2, (int[]){x, s});
    assert_node_fails(g, ES_OP_PRELU, "prelu_dims", NULL, 2, (int[]){x, t});
    es_graph_free(g);
}

/* y = (x − mean) / √(var + 1e-3) · scale + bias for each row of d values, in double; the
 * scale and bias (b may be NULL) per element of the row, or with nch > 0 one per row, row r
 * taking value r % nch (InstanceNorm's channels). */
static void assert_rows_normalised(const float *x, const float *y, int rows, int d, const float *s,
                                   const float *b, int nch)
{
    for (int r = 0; r < rows; r++) {
        double m = 0, v = 0;
        for (int i = 0; i < d; i++)
            m += x[r * d + i] / (double)d;
        for (int i = 0; i < d; i++)
            v += (x[r * d + i] - m) * (x[r * d + i] - m) / d;
        for (int i = 0; i < d; i++) {
            int k = nch ? r % nch : i;
            double w = (x[r * d + i] - m) / sqrt(v + 1e-3f) * s[k] + (b ? b[k] : 0);
            if (!(fabs(y[r * d + i] - w) <= 2e-6))
                fail_msg("row %d: %g, want %g", r, y[r * d + i], w);
        }
    }
}

/* LayerNormalization over the last dim and over the last two, with and without a bias:
 * forward against a double reference, backward (x, scale, bias) against finite differences. */
static void layernorm_rows(void **state)
{
    const int xd[3] = {2, 3, 5};
    for (int axis = 1; axis <= 2; axis++)
        for (int bias = 0; bias < 2; bias++) {
            es_graph *g = es_graph_new();
            es_attrs a = defaults(ES_OP_LAYERNORM);
            a.ln.axis = axis == 2 ? -1 : 1, a.ln.epsilon = 1e-3f;
            int rd[2] = {3, 5}, nr = axis == 2 ? 1 : 2, d = axis == 2 ? 5 : 15;
            int x = es_tensor_add(g, "x", ES_T_INPUT, 3, xd, NULL);
            int s = es_tensor_add(g, "s", ES_T_PARAM, nr, rd + 2 - nr, NULL);
            int b = es_tensor_add(g, "b", ES_T_PARAM, nr, rd + 2 - nr, NULL);
            float *xv = es_tensor_data(g, x), *sv = es_tensor_data(g, s), *bv = es_tensor_data(g, b);
            fill_uniform(xv, 30, -2, 2);
            fill_uniform(sv, d, 0.5, 1.5);
            fill_uniform(bv, d, -1, 1);
            assert_true(es_node_add(g, ES_OP_LAYERNORM, "ln", &a, 2 + bias, (int[]){x, s, b}, 1, NULL) >= 0);
            int y = es_tensor_find(g, "ln");
            assert_int_equal(es_forward(g, ES_TEST), 0);
            assert_rows_normalised(xv, es_tensor_data(g, y), 30 / d, d, sv, bias ? bv : NULL, 0);
            assert_grad_ok(g, y, ES_TEST, 1e-2);
            es_graph_free(g);
        }
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    int s = es_tensor_add(g, "s", ES_T_PARAM, 1, (int[]){2}, NULL);
    es_attrs a = defaults(ES_OP_LAYERNORM);
    assert_node_fails(g, ES_OP_LAYERNORM, "ln_scale", &a, 2, (int[]){x, s});
    a.ln.axis = 2;
    assert_node_fails(g, ES_OP_LAYERNORM, "ln_axis", &a, 2, (int[]){x, s});
    es_graph_free(g);
}

/* InstanceNormalization of (2, 3, 4, 5) and of a 1-D (2, 3, 7): each (n, c) plane normalised,
 * its channel's scale and bias; forward against a double reference, backward (x, scale, bias)
 * against finite differences; a bias of the wrong size, a 2-D input fail. */
static void instancenorm_planes(void **state)
{
    const int dd[2][4] = {{2, 3, 4, 5}, {2, 3, 7}}, rank[2] = {4, 3}, plane[2] = {20, 7};
    for (int c = 0; c < 2; c++) {
        es_graph *g = es_graph_new();
        es_attrs a = defaults(ES_OP_INSTANCENORM);
        a.ln.epsilon = 1e-3f;
        int x = es_tensor_add(g, "x", ES_T_INPUT, rank[c], dd[c], NULL);
        int s = es_tensor_add(g, "s", ES_T_PARAM, 1, (int[]){3}, NULL);
        int b = es_tensor_add(g, "b", ES_T_PARAM, 1, (int[]){3}, NULL);
        float *xv = es_tensor_data(g, x), *sv = es_tensor_data(g, s), *bv = es_tensor_data(g, b);
        size_t n = es_tensor_size(g, x);
        fill_uniform(xv, n, -2, 2);
        fill_uniform(sv, 3, 0.5, 1.5);
        fill_uniform(bv, 3, -1, 1);
        assert_true(es_node_add(g, ES_OP_INSTANCENORM, "in", &a, 3, (int[]){x, s, b}, 1, NULL) >= 0);
        int y = es_tensor_find(g, "in");
        assert_int_equal(es_forward(g, ES_TEST), 0);
        assert_rows_normalised(xv, es_tensor_data(g, y), (int)n / plane[c], plane[c], sv, bv, 3);
        assert_grad_ok(g, y, ES_TEST, 1e-2);
        es_graph_free(g);
    }
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 3, (int[]){2, 3, 4}, NULL);
    int x2 = es_tensor_add(g, "x2", ES_T_INPUT, 2, (int[]){2, 3}, NULL);
    int s = es_tensor_add(g, "s", ES_T_PARAM, 1, (int[]){3}, NULL);
    int b = es_tensor_add(g, "b", ES_T_PARAM, 1, (int[]){4}, NULL);
    assert_node_fails(g, ES_OP_INSTANCENORM, "in_bias", NULL, 3, (int[]){x, s, b});
    assert_node_fails(g, ES_OP_INSTANCENORM, "in_rank", NULL, 3, (int[]){x2, s, s});
    es_graph_free(g);
}

/* Slice with negative starts, clamped ends, steps of ±2 and ±3, a dim left whole: values
 * against the indices they must pick, backward against finite differences; a step of 0 fails. */
static void slice_steps(void **state)
{
    float x[60];
    for (int i = 0; i < 60; i++)
        x[i] = (float)i;
    es_attrs a = defaults(ES_OP_SLICE);
    a.slice.start[1] = -4, a.slice.end[1] = 100, a.slice.step[1] = 2;  /* 1, 3 */
    a.slice.start[2] = 10, a.slice.end[2] = -8, a.slice.step[2] = -3;  /* 5, 2 */
    one u = unary(ES_OP_SLICE, &a, 3, (int[]){2, 5, 6}, x);
    assert_true(u.node >= 0);
    assert_shape(u.g, u.y, 3, (int[]){2, 2, 2});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    const float *y = es_tensor_data(u.g, u.y);
    static const int want[8] = {11, 8, 23, 20, 41, 38, 53, 50};
    for (int i = 0; i < 8; i++)
        assert_true(y[i] == want[i]);
    assert_grad_ok(u.g, u.y, ES_TEST, 1e-2);
    es_graph_free(u.g);
    a = defaults(ES_OP_SLICE); /* the whole dim reversed, as x.flip() exports */
    a.slice.start[0] = -1, a.slice.end[0] = -INT_MAX, a.slice.step[0] = -1;
    u = unary(ES_OP_SLICE, &a, 1, (int[]){5}, x);
    assert_shape(u.g, u.y, 1, (int[]){5});
    assert_int_equal(es_forward(u.g, ES_TEST), 0);
    assert_true(es_tensor_data(u.g, u.y)[0] == 4 && es_tensor_data(u.g, u.y)[4] == 0);
    es_graph_free(u.g);
    a.slice.step[0] = 0;
    u = unary(ES_OP_SLICE, &a, 1, (int[]){5}, x);
    assert_node_fails(u.g, ES_OP_SLICE, "slice0", &a, 1, &u.x);
    es_graph_free(u.g);
}

/* ---- GRU and LSTM ------------------------------------------------------------------------ */
/* A recurrence of T=3 steps, batch N, input 2, hidden 2 with nodes for each of its outputs
 * (Y, Y_h, Y_c); lens (when asked) 3, 1, 3, 1 … */
typedef struct {
    es_graph *g;
    int out[3], n_out;
} rnn_case;

static rnn_case rnn_graph(es_op_type op, int dir, int layout, int states, int lens, int lbr, int N)
{
    enum { T = 3, I = 2, H = 2 };
    int lstm = op == ES_OP_LSTM, G = lstm ? 4 : 3, D = dir == 2 ? 2 : 1;
    rnn_case c = {es_graph_new(), {-1, -1, -1}, lstm ? 3 : 2};
    int in[7] = {-1, -1, -1, -1, -1, -1, -1};
    int xd[3] = {layout ? N : T, layout ? T : N, I}, hd[3] = {layout ? N : D, layout ? D : N, H};
    in[0] = es_tensor_add(c.g, "x", ES_T_INPUT, 3, xd, NULL);
    in[1] = es_tensor_add(c.g, "w", ES_T_PARAM, 3, (int[]){D, G * H, I}, NULL);
    in[2] = es_tensor_add(c.g, "r", ES_T_PARAM, 3, (int[]){D, G * H, H}, NULL);
    in[3] = es_tensor_add(c.g, "b", ES_T_PARAM, 2, (int[]){D, 2 * G * H}, NULL);
    if (lens) {
        in[4] = es_tensor_add(c.g, "lens", ES_T_STATE, 1, (int[]){N}, NULL);
        for (int n = 0; n < N; n++)
            es_tensor_data(c.g, in[4])[n] = n % 2 ? 1 : 3;
    }
    for (int k = 5; states && k < (lstm ? 7 : 6); k++)
        in[k] = es_tensor_add(c.g, k == 5 ? "h0" : "c0", ES_T_INPUT, 3, hd, NULL);
    for (int k = 0; k < 7; k++)
        if (in[k] >= 0 && k != 4)
            fill_uniform(es_tensor_data(c.g, in[k]), es_tensor_size(c.g, in[k]), -1, 1);
    es_attrs a = defaults(op);
    a.rnn.hidden = H, a.rnn.direction = dir, a.rnn.layout = layout, a.rnn.linear_before_reset = lbr;
    for (int k = 0; k < c.n_out; k++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", k);
        a.rnn.output = k;
        assert_true(es_node_add(c.g, op, name, &a, lstm ? 7 : 6, in, 1, NULL) >= 0);
        c.out[k] = es_tensor_find(c.g, name);
        assert_int_equal(es_graph_mark_output(c.g, c.out[k]), 0);
    }
    return c;
}

/* Y is zero past each sequence's end and Y_h is Y at the last step a direction ran. */
static void rnn_check_outputs(rnn_case *c, int dir, int layout, int lens)
{
    enum { T = 3, N = 2, H = 2 };
    int D = dir == 2 ? 2 : 1, len[2] = {3, lens ? 1 : 3};
    assert_int_equal(es_forward(c->g, ES_TEST), 0);
    const float *y = es_tensor_data(c->g, c->out[0]), *yh = es_tensor_data(c->g, c->out[1]);
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < H; j++) {
                    size_t yi = (layout ? ((size_t)(n * T + t) * D + d) : ((size_t)(t * D + d) * N + n)) * H
                                + j;
                    size_t hi = (layout ? (size_t)n * D + d : (size_t)d * N + n) * H + j;
                    int last = (dir == 1 || d == 1) ? 0 : len[n] - 1;
                    if (t >= len[n] && y[yi] != 0.0f)
                        fail_msg("Y[t=%d, n=%d] = %g past the sequence's end", t, n, y[yi]);
                    if (t == last && y[yi] != yh[hi])
                        fail_msg("Y_h[d=%d, n=%d] = %g, Y at step %d %g", d, n, yh[hi], t, y[yi]);
                }
}

/* The ReLU rules are Relu's: GUIDED and DECONVNET leave a recurrence's gradient as it is. */
static void rnn_rules_agree(rnn_case *c)
{
    size_t ny = es_tensor_size(c->g, c->out[0]), nx = es_tensor_size(c->g, 0);
    float *seed = malloc(ny * sizeof(float)), *want = malloc(nx * sizeof(float));
    fill_uniform(seed, ny, -1, 1);
    for (es_relu_rule r = ES_RELU_STANDARD; r <= ES_RELU_DECONVNET; r++) {
        assert_int_equal(es_forward(c->g, ES_TEST), 0);
        assert_int_equal(es_backward(c->g, c->out[0], seed, r, ES_GRAD_INPUTS), 0);
        if (r == ES_RELU_STANDARD)
            memcpy(want, es_tensor_grad(c->g, 0), nx * sizeof(float));
        else
            assert_memory_equal(es_tensor_grad(c->g, 0), want, nx * sizeof(float));
    }
    free(seed);
    free(want);
}

/* Every direction, both layouts, with and without initial states and sequence_lens (and both
 * GRU reset forms): backward of each output to X, the states, W, R and B against finite
 * differences. */
static void rnn_gradients(void **state)
{
    for (int lstm = 0; lstm < 2; lstm++)
        for (int cfg = 0; cfg < (lstm ? 24 : 48); cfg++) {
            int dir = cfg % 3, layout = cfg / 3 % 2, states = cfg / 6 % 2, lens = cfg / 12 % 2;
            int lbr = cfg / 24;
            rnn_case c = rnn_graph(lstm ? ES_OP_LSTM : ES_OP_GRU, dir, layout, states, lens, lbr, 2);
            rnn_check_outputs(&c, dir, layout, lens);
            if (cfg == 0)
                rnn_rules_agree(&c);
            for (int k = 0; k < c.n_out; k++) {
                double e = fd_check(c.g, c.out[k], ES_TEST, 1e-2);
                if (!(e <= 1e-3))
                    fail_msg("%s dir %d layout %d states %d lens %d lbr %d output %d: error %.3g",
                             lstm ? "LSTM" : "GRU", dir, layout, states, lens, lbr, k, e);
            }
            es_graph_free(c.g);
        }
    /* a batch of 9: the per-step products are one sgemm over the batch (SMALL_BATCH) */
    for (int lstm = 0; lstm < 2; lstm++) {
        rnn_case c = rnn_graph(lstm ? ES_OP_LSTM : ES_OP_GRU, 2, 1, 1, 1, 0, 9);
        for (int k = 0; k < c.n_out; k++)
            assert_grad_ok(c.g, c.out[k], ES_TEST, 1e-2);
        es_graph_free(c.g);
    }
}

/* Layout 1 is layout 0 with the batch first, and the reverse direction is the forward one on
 * the input reversed in time. */
static void rnn_layout_and_reverse(void **state)
{
    enum { T = 3, N = 2, I = 2, H = 2 };
    for (int lstm = 0; lstm < 2; lstm++) {
        es_op_type op = lstm ? ES_OP_LSTM : ES_OP_GRU;
        rnn_case a = rnn_graph(op, 0, 0, 0, 0, 1, N), b = rnn_graph(op, 0, 1, 0, 0, 1, N);
        rnn_case r = rnn_graph(op, 1, 0, 0, 0, 1, N);
        const char *p[3] = {"w", "r", "b"};
        for (int k = 0; k < 3; k++) {
            int ta = es_tensor_find(a.g, p[k]);
            size_t bytes = es_tensor_size(a.g, ta) * sizeof(float);
            memcpy(es_tensor_data(b.g, es_tensor_find(b.g, p[k])), es_tensor_data(a.g, ta), bytes);
            memcpy(es_tensor_data(r.g, es_tensor_find(r.g, p[k])), es_tensor_data(a.g, ta), bytes);
        }
        float *xa = es_tensor_data(a.g, es_tensor_find(a.g, "x"));
        float *xb = es_tensor_data(b.g, es_tensor_find(b.g, "x"));
        float *xr = es_tensor_data(r.g, es_tensor_find(r.g, "x"));
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
                for (int i = 0; i < I; i++) {
                    xb[(n * T + t) * I + i] = xa[(t * N + n) * I + i];
                    xr[((T - 1 - t) * N + n) * I + i] = xa[(t * N + n) * I + i];
                }
        assert_int_equal(es_forward(a.g, ES_TEST), 0);
        assert_int_equal(es_forward(b.g, ES_TEST), 0);
        assert_int_equal(es_forward(r.g, ES_TEST), 0);
        const float *ya = es_tensor_data(a.g, a.out[0]), *yb = es_tensor_data(b.g, b.out[0]);
        const float *yr = es_tensor_data(r.g, r.out[0]);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < H; j++) {
                    assert_float_equal(yb[(n * T + t) * H + j], ya[(t * N + n) * H + j], 1e-6);
                    assert_float_equal(yr[((T - 1 - t) * N + n) * H + j], ya[(t * N + n) * H + j], 1e-6);
                }
        es_graph_free(a.g);
        es_graph_free(b.g);
        es_graph_free(r.g);
    }
}

/* What shape() refuses, and PyTorch's initialisation (uniform in ±1/√hidden, W, R and B). */
static void rnn_shapes_and_init(void **state)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 3, (int[]){5, 2, 3}, NULL);
    int x2 = es_tensor_add(g, "x2", ES_T_INPUT, 2, (int[]){5, 3}, NULL);
    int w = es_tensor_add(g, "w", ES_T_PARAM, 3, (int[]){1, 12, 3}, NULL);
    int w_bad = es_tensor_add(g, "w_bad", ES_T_PARAM, 3, (int[]){1, 12, 4}, NULL);
    int r = es_tensor_add(g, "r", ES_T_PARAM, 3, (int[]){1, 12, 4}, NULL);
    int b = es_tensor_add(g, "b", ES_T_PARAM, 2, (int[]){1, 24}, NULL);
    int lens = es_tensor_add(g, "lens", ES_T_STATE, 1, (int[]){3}, NULL);
    int h0 = es_tensor_add(g, "h0", ES_T_INPUT, 3, (int[]){2, 1, 4}, NULL);
    es_attrs a = defaults(ES_OP_GRU);
    a.rnn.hidden = 4;
    assert_node_fails(g, ES_OP_GRU, "gru_rank", &a, 3, (int[]){x2, w, r});
    assert_node_fails(g, ES_OP_GRU, "gru_w", &a, 3, (int[]){x, w_bad, r});
    assert_node_fails(g, ES_OP_GRU, "gru_lens", &a, 5, (int[]){x, w, r, -1, lens});
    assert_node_fails(g, ES_OP_GRU, "gru_h0", &a, 6, (int[]){x, w, r, -1, -1, h0});
    assert_node_fails(g, ES_OP_LSTM, "lstm_gates", &a, 3, (int[]){x, w, r}); /* 3 gates, not 4 */
    a.rnn.output = 2;
    assert_node_fails(g, ES_OP_GRU, "gru_y_c", &a, 3, (int[]){x, w, r}); /* a GRU has no Y_c */
    a.rnn.output = 0;
    assert_true(es_node_add(g, ES_OP_GRU, "gru", &a, 4, (int[]){x, w, r, b}, 1, NULL) >= 0);
    assert_int_equal(es_graph_init(g, ES_INIT_HE, 7), 0);
    const int p[3] = {w, r, b};
    for (int k = 0; k < 3; k++) {
        const float *v = es_tensor_data(g, p[k]);
        double most = 0;
        for (size_t i = 0; i < es_tensor_size(g, p[k]); i++)
            most = fmax(most, fabs(v[i]));
        assert_true(most <= 0.5 && most > 0.35); /* 1/√4 */
    }
    es_graph_free(g);
}

static void threads_agree(void **state)
{
    es_attrs pool = defaults(ES_OP_MAXPOOL), sm = defaults(ES_OP_SOFTMAX);
    pool.pool.w.kernel[0] = pool.pool.w.kernel[1] = 3, pool.pool.w.stride[0] = pool.pool.w.stride[1] = 2;
    pool.pool.w.pads[0] = pool.pool.w.pads[1] = pool.pool.w.pads[2] = pool.pool.w.pads[3] = 1, pool.pool.ceil_mode = 1;
    struct {
        es_op_type op;
        const es_attrs *a;
    } c[] = {{ES_OP_MAXPOOL, &pool}, {ES_OP_AVGPOOL, &pool}, {ES_OP_GAP, NULL},
             {ES_OP_SOFTMAX, &sm}, {ES_OP_LOGSOFTMAX, &sm}, {ES_OP_SIGMOID, NULL},
             {ES_OP_ERF, NULL}, {ES_OP_HARDSWISH, NULL}};
    const int dims[4] = {4, 8, 65, 63};
    size_t n = count(4, dims);
    int keep = omp_get_max_threads();
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        one u = unary(c[k].op, c[k].a, 4, dims, NULL);
        assert_true(u.node >= 0);
        size_t ny = es_tensor_size(u.g, u.y);
        float *dy = malloc(ny * sizeof(float)), *ref = malloc((ny + n) * sizeof(float));
        fill_uniform(dy, ny, -1, 1);
        for (int th = 1; th <= 2; th++) {
            omp_set_num_threads(th);
            assert_int_equal(es_forward(u.g, ES_TEST), 0);
            assert_int_equal(es_backward(u.g, u.y, dy, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
            if (th == 1) {
                memcpy(ref, es_tensor_data(u.g, u.y), ny * sizeof(float));
                memcpy(ref + ny, es_tensor_grad(u.g, u.x), n * sizeof(float));
            } else {
                assert_memory_equal(es_tensor_data(u.g, u.y), ref, ny * sizeof(float));
                assert_memory_equal(es_tensor_grad(u.g, u.x), ref + ny, n * sizeof(float));
            }
        }
        free(dy), free(ref);
        es_graph_free(u.g);
    }
    omp_set_num_threads(keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxpool_vs_pytorch),
        cmocka_unit_test(avgpool_vs_pytorch),
        cmocka_unit_test(maxpool_ties_and_padding),
        cmocka_unit_test(nan_propagates_as_pytorch),
        cmocka_unit_test(maxpool_huge_kernel),
        cmocka_unit_test(conv_output_overflow),
        cmocka_unit_test(avgpool_divisors),
        cmocka_unit_test(avgpool_quads),
        cmocka_unit_test(gap_forward_backward),
        cmocka_unit_test(pool_errors),
        cmocka_unit_test(pad_constant),
        cmocka_unit_test(concat_axes),
        cmocka_unit_test(concat_errors),
        cmocka_unit_test(views),
        cmocka_unit_test(view_errors),
        cmocka_unit_test(transpose_perms),
        cmocka_unit_test(broadcast_ops),
        cmocka_unit_test(binary_same_input),
        cmocka_unit_test(broadcast_errors),
        cmocka_unit_test(sigmoid_values),
        cmocka_unit_test(softmax_vs_pytorch),
        cmocka_unit_test(softmax_stable),
        cmocka_unit_test(dropout_train_test),
        cmocka_unit_test(dropout_mask_output_and_errors),
        cmocka_unit_test(chain_of_ops),
        cmocka_unit_test(batch_resize),
        cmocka_unit_test(unary_functions),
        cmocka_unit_test(hard_kinks_as_pytorch),
        cmocka_unit_test(prelu_slopes),
        cmocka_unit_test(layernorm_rows),
        cmocka_unit_test(instancenorm_planes),
        cmocka_unit_test(slice_steps),
        cmocka_unit_test(rnn_gradients),
        cmocka_unit_test(rnn_layout_and_reverse),
        cmocka_unit_test(rnn_shapes_and_init),
        cmocka_unit_test(threads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
