/* nn core: conv, gemm, batch norm, ReLU rules, losses, optimizers, training, and whole
 * networks against PyTorch (tests/fixtures/gen_nn.py). Pooling, shape, elementwise, softmax
 * and dropout ops are in test_nn_ops.c. */
#include "tests/testutil.h"
#include "tests/captum_net.h"
#include "nn/graph.h" /* white-box: conv, gemm, leaky ReLU nodes with their attributes */

#define NNFIX(f) FIXTURE("nn/" f)

static void fill_random(float *x, size_t n, unsigned seed, float scale)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (2.0f * rand() / (float)RAND_MAX - 1.0f);
}

static int add_random(es_graph *g, const char *name, es_tensor_kind kind, int ndim,
                      const int *dims, unsigned seed)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    float *x = malloc(n * sizeof(float));
    fill_random(x, n, seed, 1.0f);
    int t = es_tensor_add(g, name, kind, ndim, dims, x);
    free(x);
    assert_true(t >= 0);
    return t;
}

/* Checks the gradient of every input and parameter of a graph with step h: large for ops
 * linear in each argument (exact, and float rounding shrinks as 1/h), small for smooth ones. */
static void check_all_grads(es_graph *g, int out, es_mode mode, double h, double tol)
{
    for (int t = 0; t < es_graph_n_tensors(g); t++) {
        es_tensor_kind k = es_tensor_kind_of(g, t);
        if (k != ES_T_INPUT && k != ES_T_PARAM)
            continue;
        double e = es_grad_check(g, t, out, mode, 200, h);
        if (!(e >= 0 && e <= tol))
            fail_msg("gradient of %s: relative error %.3g > %.3g (%s)", es_tensor_name(g, t), e,
                     tol, es_error());
    }
}

/* ---- conv: forward against a direct loop, backward against finite differences ---------- */
typedef struct {
    int n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
} conv_case;

static float direct_conv(const conv_case *q, const float *x, const float *w, const float *b,
                         int n, int m, int oy, int ox)
{
    int cg = q->c / q->groups, gr = m / (q->m / q->groups);
    double s = b ? b[m] : 0;
    for (int c = 0; c < cg; c++)
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++) {
                int iy = oy * q->sh - q->pt + i * q->dh, ix = ox * q->sw - q->pl + j * q->dw;
                if (iy < 0 || iy >= q->h || ix < 0 || ix >= q->w)
                    continue;
                s += (double)x[((n * q->c + gr * cg + c) * q->h + iy) * q->w + ix] *
                     w[((m * cg + c) * q->kh + i) * q->kw + j];
            }
    return (float)s;
}

static void run_conv_case(const conv_case *q, int one_d)
{
    es_graph *g = es_graph_new();
    int xd[4] = {q->n, q->c, q->h, q->w}, wd[4] = {q->m, q->c / q->groups, q->kh, q->kw};
    if (one_d) { /* (N,C,L): drop H */
        xd[2] = q->w, wd[2] = q->kw;
    }
    int x = add_random(g, "x", ES_T_INPUT, one_d ? 3 : 4, xd, 1);
    int w = add_random(g, "w", ES_T_PARAM, one_d ? 3 : 4, wd, 2);
    int b = add_random(g, "b", ES_T_PARAM, 1, &q->m, 3);
    es_attrs a;
    es_op_defaults(ES_OP_CONV, &a);
    a.conv.group = q->groups;
    es_window *cw = &a.conv.w;
    if (one_d) {
        cw->stride[0] = q->sw, cw->dilation[0] = q->dw, cw->pads[0] = q->pl, cw->pads[1] = q->pr;
    } else {
        cw->stride[0] = q->sh, cw->stride[1] = q->sw, cw->dilation[0] = q->dh, cw->dilation[1] = q->dw;
        cw->pads[0] = q->pt, cw->pads[1] = q->pl, cw->pads[2] = q->pb, cw->pads[3] = q->pr;
    }
    int nd = es_node_add(g, ES_OP_CONV, "conv", &a, 3, (int[]){x, w, b}, 1, NULL);
    assert_true(nd >= 0);
    const int *outs;
    es_node_outputs(g, nd, &outs);
    int y = outs[0], yd[4];
    assert_int_equal(es_forward(g, ES_TEST), 0);
    int r = es_tensor_shape(g, y, yd);
    int ho = one_d ? 1 : yd[2], wo = yd[r - 1];
    assert_int_equal(ho, (q->h + q->pt + q->pb - q->dh * (q->kh - 1) - 1) / q->sh + 1);
    for (int n = 0; n < q->n; n++)
        for (int m = 0; m < q->m; m++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float want = direct_conv(q, es_tensor_data(g, x), es_tensor_data(g, w),
                                             es_tensor_data(g, b), n, m, oy, ox);
                    float got = es_tensor_data(g, y)[((n * q->m + m) * ho + oy) * wo + ox];
                    assert_float_equal(got, want, 1e-4);
                }
    check_all_grads(g, y, ES_TEST, 0.5, 1e-3);
    es_graph_free(g);
}

static void conv2d_matches_direct_and_gradients(void **s)
{
    /* stride 2, dilation 2, asymmetric padding, 2 groups, bias */
    conv_case q = {2, 4, 9, 8, 6, 3, 2, 2, 1, 2, 1, 1, 0, 2, 1, 2};
    run_conv_case(&q, 0);
    conv_case same = {1, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* shifted */
    run_conv_case(&same, 0);
    conv_case dil = {2, 4, 7, 6, 4, 3, 2, 1, 1, 2, 1, 2, 0, 1, 1, 2}; /* shifted, dilated, groups */
    run_conv_case(&dil, 0);
    conv_case wide = {1, 40, 7, 8, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 1}; /* one GEMM per tap */
    run_conv_case(&wide, 0);
    conv_case few = {1, 40, 5, 4, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 1}; /* pixels < maps: im2col */
    run_conv_case(&few, 0);
    /* the register kernel (few maps out or few channels in) forward and back: several pixel
     * blocks, a last block of fewer maps; and the GEMM over stacked planes beside it */
    conv_case dense = {1, 20, 9, 19, 15, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* direct both ways */
    run_conv_case(&dense, 0);
    conv_case dwide = {2, 40, 6, 21, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* back: 40 maps from 7 */
    run_conv_case(&dwide, 0);
    conv_case many = {1, 3, 7, 18, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}; /* 40 maps from 3 */
    run_conv_case(&many, 0);
    conv_case stack = {1, 40, 3, 20, 36, 1, 5, 1, 1, 1, 1, 0, 2, 0, 2, 1}; /* stacked both ways */
    run_conv_case(&stack, 0);
    conv_case one = {2, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}; /* 1x1: no im2col */
    run_conv_case(&one, 0);
    /* depthwise (one input channel a group): MobileNet's 3x3; strided, dilated, asymmetric
     * padding, two maps per channel; planes enough for the threads */
    conv_case dw = {2, 6, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6};
    run_conv_case(&dw, 0);
    conv_case dws = {2, 3, 9, 8, 6, 3, 3, 2, 2, 1, 2, 1, 2, 0, 1, 3};
    run_conv_case(&dws, 0);
    conv_case dwbig = {1, 8, 32, 40, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8};
    run_conv_case(&dwbig, 0);
}

static void conv1d_matches_direct_and_gradients(void **s)
{
    conv_case q = {2, 3, 1, 17, 4, 1, 5, 1, 2, 1, 2, 0, 3, 0, 1, 1};
    run_conv_case(&q, 1);
    conv_case dil = {1, 3, 1, 37, 6, 1, 5, 1, 1, 1, 2, 0, 4, 0, 4, 1}; /* dilated, direct */
    run_conv_case(&dil, 1);
    conv_case dw = {2, 4, 1, 17, 8, 1, 3, 1, 2, 1, 1, 0, 1, 0, 2, 4}; /* depthwise, strided */
    run_conv_case(&dw, 1);
}

/* ConvTranspose 2-D (stride, pads, output_padding, dilation) and 1-D against the direct sum
 * y[n][m][iy·sh − pt + i·dh][…] += x[n][c][iy][…]·w[c][m][i][…] + b[m], and every gradient
 * (input, weight, bias) against finite differences. */
static void convtranspose_matches_direct_and_gradients(void **s)
{
    static const struct {
        int rank, n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow;
    } c[] = {
        {4, 2, 3, 3, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
        {4, 1, 2, 3, 3, 3, 2, 3, 1, 2, 2, 1, 0, 2, 1, 0, 1, 0},
        {3, 2, 2, 1, 5, 3, 1, 4, 1, 3, 1, 1, 0, 1, 0, 2, 0, 2},
    };
    for (size_t q = 0; q < sizeof c / sizeof *c; q++) {
        int r = c[q].rank, one = r == 3;
        es_graph *g = es_graph_new();
        int xd[4] = {c[q].n, c[q].c, c[q].h, c[q].w}, wd[4] = {c[q].c, c[q].m, c[q].kh, c[q].kw};
        if (one) /* (N, C, L) and (C, M, k) */
            xd[2] = c[q].w, wd[2] = c[q].kw;
        int x = add_random(g, "x", ES_T_INPUT, r, xd, 31 + q);
        int w = add_random(g, "w", ES_T_PARAM, r, wd, 41 + q);
        int b = add_random(g, "b", ES_T_PARAM, 1, (int[]){c[q].m}, 51 + q);
        es_attrs a;
        es_op_defaults(ES_OP_CONVTRANSPOSE, &a);
        int k = one ? 0 : 1;
        a.conv.w.stride[0] = one ? c[q].sw : c[q].sh, a.conv.w.stride[k] = c[q].sw;
        a.conv.w.dilation[0] = one ? c[q].dw : c[q].dh, a.conv.w.dilation[k] = c[q].dw;
        a.conv.out_pad[0] = one ? c[q].ow : c[q].oh, a.conv.out_pad[k] = c[q].ow;
        if (one)
            a.conv.w.pads[0] = c[q].pl, a.conv.w.pads[1] = c[q].pr;
        else
            a.conv.w.pads[0] = c[q].pt, a.conv.w.pads[1] = c[q].pl,
            a.conv.w.pads[2] = c[q].pb, a.conv.w.pads[3] = c[q].pr;
        int nd = es_node_add(g, ES_OP_CONVTRANSPOSE, "ct", &a, 3, (int[]){x, w, b}, 1, NULL);
        if (nd < 0)
            fail_msg("%s", es_error());
        const int *o;
        es_node_outputs(g, nd, &o);
        int ho = (c[q].h - 1) * c[q].sh - c[q].pt - c[q].pb + c[q].dh * (c[q].kh - 1) + 1 + c[q].oh;
        int wo = (c[q].w - 1) * c[q].sw - c[q].pl - c[q].pr + c[q].dw * (c[q].kw - 1) + 1 + c[q].ow;
        int dims[4];
        assert_int_equal(es_tensor_shape(g, o[0], dims), r);
        assert_int_equal(dims[1], c[q].m);
        assert_int_equal(dims[r - 1], wo);
        if (!one)
            assert_int_equal(dims[2], ho);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        const float *X = es_tensor_data(g, x), *W = es_tensor_data(g, w), *B = es_tensor_data(g, b);
        size_t ny = es_tensor_size(g, o[0]);
        double *ref = calloc(ny, sizeof *ref);
        for (int n = 0; n < c[q].n; n++)
            for (int m = 0; m < c[q].m; m++) {
                for (int p = 0; p < ho * wo; p++)
                    ref[((size_t)n * c[q].m + m) * ho * wo + p] = B[m];
                for (int ci = 0; ci < c[q].c; ci++)
                    for (int iy = 0; iy < c[q].h; iy++)
                        for (int ix = 0; ix < c[q].w; ix++)
                            for (int i = 0; i < c[q].kh; i++)
                                for (int j = 0; j < c[q].kw; j++) {
                                    int oy = iy * c[q].sh - c[q].pt + i * c[q].dh;
                                    int ox = ix * c[q].sw - c[q].pl + j * c[q].dw;
                                    if (oy < 0 || oy >= ho || ox < 0 || ox >= wo)
                                        continue;
                                    ref[(((size_t)n * c[q].m + m) * ho + oy) * wo + ox] +=
                                        (double)X[((n * c[q].c + ci) * c[q].h + iy) * c[q].w + ix] *
                                        W[((ci * c[q].m + m) * c[q].kh + i) * c[q].kw + j];
                                }
            }
        const float *Y = es_tensor_data(g, o[0]);
        for (size_t i = 0; i < ny; i++)
            assert_float_equal(Y[i], ref[i], 1e-5);
        free(ref);
        check_all_grads(g, o[0], ES_TEST, 0.5, 1e-3);
        es_graph_free(g);
    }
}

static void conv_rejects_bad_shapes(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 4, (int[]){1, 3, 5, 5}, NULL);
    int w = es_tensor_add(g, "w", ES_T_PARAM, 4, (int[]){2, 2, 3, 3}, NULL);
    assert_int_equal(es_node_add(g, ES_OP_CONV, "bad", NULL, 2, (int[]){x, w}, 1, NULL), -1);
    assert_non_null(strstr(es_error(), "node bad (Conv)"));
    int big = es_tensor_add(g, "wbig", ES_T_PARAM, 4, (int[]){2, 3, 7, 7}, NULL);
    assert_int_equal(es_node_add(g, ES_OP_CONV, "big", NULL, 2, (int[]){x, big}, 1, NULL), -1);
    assert_non_null(strstr(es_error(), "kernel larger"));
    es_graph_free(g);
}

/* ---- gemm and matmul ---------------------------------------------------------------------- */
static void gemm_variants(void **s)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int cshape = 0; cshape < 3; cshape++) {
                es_graph *g = es_graph_new();
                int m = 3, k = 4, n = 5;
                int a = add_random(g, "a", ES_T_INPUT, 2, ta ? (int[]){k, m} : (int[]){m, k}, 4);
                int b = add_random(g, "b", ES_T_PARAM, 2, tb ? (int[]){n, k} : (int[]){k, n}, 5);
                int cd[3][2] = {{n, 0}, {m, n}, {m, 1}};
                int c = add_random(g, "c", ES_T_PARAM, cshape ? 2 : 1, cd[cshape], 6);
                es_attrs at;
                es_op_defaults(ES_OP_GEMM, &at);
                at.gemm.trans_a = ta, at.gemm.trans_b = tb, at.gemm.alpha = 0.7f, at.gemm.beta = 1.5f;
                int nd = es_node_add(g, ES_OP_GEMM, "gemm", &at, 3, (int[]){a, b, c}, 1, NULL);
                assert_true(nd >= 0);
                const int *o;
                es_node_outputs(g, nd, &o);
                assert_int_equal(es_forward(g, ES_TEST), 0);
                const float *A = es_tensor_data(g, a), *B = es_tensor_data(g, b);
                const float *C = es_tensor_data(g, c), *Y = es_tensor_data(g, o[0]);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double acc = 0;
                        for (int l = 0; l < k; l++)
                            acc += (ta ? A[l * m + i] : A[i * k + l]) * (tb ? B[j * k + l] : B[l * n + j]);
                        double cv = cshape == 0 ? C[j] : cshape == 1 ? C[i * n + j] : C[i];
                        assert_float_equal(Y[i * n + j], 0.7 * acc + 1.5 * cv, 1e-5);
                    }
                check_all_grads(g, o[0], ES_TEST, 0.5, 1e-3);
                es_graph_free(g);
            }
}

static void matmul_gradients(void **s)
{
    es_graph *g = es_graph_new();
    int a = add_random(g, "a", ES_T_INPUT, 3, (int[]){2, 3, 4}, 7);
    int b = add_random(g, "b", ES_T_PARAM, 2, (int[]){4, 5}, 8);
    int nd = es_node_add(g, ES_OP_MATMUL, "mm", NULL, 2, (int[]){a, b}, 1, NULL);
    assert_true(nd >= 0);
    const int *o;
    es_node_outputs(g, nd, &o);
    int dims[4];
    assert_int_equal(es_tensor_shape(g, o[0], dims), 3);
    assert_int_equal(dims[2], 5);
    check_all_grads(g, o[0], ES_TEST, 0.5, 1e-3);
    es_graph_free(g);
}

/* Batched MatMul, NumPy broadcasting of the batch dims: attention's (N,H,T,D)·(N,H,D,T), a
 * broadcast A or B, a 2-D A against a batched B; forward against a direct loop in double,
 * gradients of both operands (an input and a parameter) against finite differences. */
static void matmul_batched(void **s)
{
    static const struct { int ra, a[4], rb, b[4], ry, y[4]; } c[] = {
        {4, {2, 3, 4, 5}, 4, {2, 3, 5, 6}, 4, {2, 3, 4, 6}},
        {4, {2, 1, 4, 5}, 3, {3, 5, 2}, 4, {2, 3, 4, 2}},
        {2, {4, 5}, 3, {2, 5, 3}, 3, {2, 4, 3}},
        {3, {2, 4, 5}, 3, {1, 5, 3}, 3, {2, 4, 3}},
    };
    for (size_t q = 0; q < sizeof c / sizeof *c; q++) {
        es_graph *g = es_graph_new();
        int a = add_random(g, "a", ES_T_INPUT, c[q].ra, c[q].a, 11 + q);
        int b = add_random(g, "b", ES_T_PARAM, c[q].rb, c[q].b, 21 + q);
        int nd = es_node_add(g, ES_OP_MATMUL, "mm", NULL, 2, (int[]){a, b}, 1, NULL);
        assert_true(nd >= 0);
        const int *o;
        es_node_outputs(g, nd, &o);
        int dims[ES_MAX_DIMS], r = c[q].ry;
        assert_int_equal(es_tensor_shape(g, o[0], dims), r);
        for (int i = 0; i < r; i++)
            assert_int_equal(dims[i], c[q].y[i]);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        const float *A = es_tensor_data(g, a), *B = es_tensor_data(g, b), *Y = es_tensor_data(g, o[0]);
        int m = dims[r - 2], n = dims[r - 1], k = c[q].a[c[q].ra - 1];
        size_t nb = es_tensor_size(g, o[0]) / (m * n);
        for (size_t i = 0; i < nb; i++) { /* batch index i → A's and B's by broadcasting */
            size_t ia = 0, ib = 0, sa = 1, sb = 1, rest = i;
            for (int d = r - 3; d >= 0; d--) {
                int ix = rest % dims[d];
                rest /= dims[d];
                int da = d - (r - c[q].ra) >= 0 ? c[q].a[d - (r - c[q].ra)] : 1;
                int db = d - (r - c[q].rb) >= 0 ? c[q].b[d - (r - c[q].rb)] : 1;
                ia += (da == 1 ? 0 : ix) * sa, ib += (db == 1 ? 0 : ix) * sb;
                sa *= da, sb *= db;
            }
            for (int y = 0; y < m; y++)
                for (int x = 0; x < n; x++) {
                    double acc = 0;
                    for (int l = 0; l < k; l++)
                        acc += (double)A[ia * m * k + y * k + l] * B[ib * k * n + l * n + x];
                    assert_float_equal(Y[i * m * n + y * n + x], acc, 1e-5);
                }
        }
        check_all_grads(g, o[0], ES_TEST, 0.5, 1e-3);
        es_graph_free(g);
    }
    es_graph *g = es_graph_new();
    int a = add_random(g, "a", ES_T_INPUT, 3, (int[]){2, 4, 5}, 1);
    int b = add_random(g, "b", ES_T_INPUT, 3, (int[]){3, 5, 2}, 2);
    assert_true(es_node_add(g, ES_OP_MATMUL, "mm", NULL, 2, (int[]){a, b}, 1, NULL) < 0);
    assert_non_null(strstr(es_error(), "do not broadcast"));
    es_graph_free(g);
}

/* ---- batch norm --------------------------------------------------------------------------- */
static void batchnorm_train_and_test(void **s)
{
    for (int mode = 0; mode < 2; mode++) {
        es_graph *g = es_graph_new();
        int x = add_random(g, "x", ES_T_INPUT, 4, (int[]){3, 2, 3, 4}, 9);
        int y = es_batchnorm(g, "bn", x);
        assert_true(y >= 0);
        int sc = es_tensor_find(g, "bn.weight"), var = es_tensor_find(g, "bn.running_var");
        for (int c = 0; c < 2; c++) { /* non-trivial scale and statistics */
            es_tensor_data(g, sc)[c] = 0.5f + c;
            es_tensor_data(g, var)[c] = 2.0f + c;
            es_tensor_data(g, es_tensor_find(g, "bn.bias"))[c] = 0.1f * c;
        }
        check_all_grads(g, y, mode ? ES_TRAIN : ES_TEST, 0.1, 1e-3);
        es_graph_free(g);
    }
}

/* es_bn_precise: after k batches the running statistics are the mean of the k batches' own
 * (mean, unbiased variance), whatever they were before and whatever the momentum; the momentum
 * is the graph's again afterwards, and the parameters are untouched. */
static void batchnorm_precise_statistics(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 4, (int[]){2, 1, 1, 3}, NULL);
    int y = es_batchnorm(g, "bn", x);
    assert_true(y >= 0);
    int mean = es_tensor_find(g, "bn.running_mean"), var = es_tensor_find(g, "bn.running_var");
    int sc = es_tensor_find(g, "bn.weight");
    es_tensor_data(g, mean)[0] = 7, es_tensor_data(g, var)[0] = 9, es_tensor_data(g, sc)[0] = 0.5f;
    /* three batches of 6 values: means 1, 5, 30; unbiased variances 3.5, 14, 0.8 */
    const float b[3][6] = {{-1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f}, {0, 2, 4, 6, 8, 10},
                           {29, 29, 30, 30, 31, 31}};
    const double m[3] = {1, 5, 30}, v[3] = {3.5, 14, 0.8};
    double sm = 0, sv = 0;
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(es_bn_precise(g, x, b[k - 1], 2, k), 0);
        sm += m[k - 1], sv += v[k - 1];
        assert_float_equal(es_tensor_data(g, mean)[0], sm / k, 1e-5);
        assert_float_equal(es_tensor_data(g, var)[0], sv / k, 1e-5);
    }
    assert_float_equal(es_tensor_data(g, sc)[0], 0.5f, 0);
    /* an ordinary TRAIN pass moves the statistics by the graph's momentum (0.9) again */
    memcpy(es_tensor_data(g, x), b[1], sizeof b[1]);
    assert_int_equal(es_forward(g, ES_TRAIN), 0);
    assert_float_equal(es_tensor_data(g, mean)[0], 0.9 * 12 + 0.1 * 5, 1e-4);
    assert_int_equal(es_bn_precise(g, x, b[0], 2, 0), -1); /* batches count from 1 */
    es_graph_free(g);
}

/* The tutorial's staged batchnorm_backward (dnum, dden, dmu, dvareps), in double, over
 * (N, D) — ours must equal its equations. */
static void batchnorm_equals_tutorial(void **s)
{
    enum { N = 5, D = 3 };
    float xv[N * D], dout[N * D], gamma[D] = {0.5f, 1.0f, 2.0f}, beta[D] = {0, 0.1f, -0.3f};
    fill_random(xv, N * D, 11, 2.0f);
    fill_random(dout, N * D, 12, 1.0f);
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){N, D}, xv);
    int y = es_batchnorm(g, "bn", x);
    memcpy(es_tensor_data(g, es_tensor_find(g, "bn.weight")), gamma, sizeof gamma);
    memcpy(es_tensor_data(g, es_tensor_find(g, "bn.bias")), beta, sizeof beta);
    assert_int_equal(es_forward(g, ES_TRAIN), 0);
    assert_int_equal(es_backward(g, y, dout, ES_RELU_STANDARD, ES_GRAD_INPUTS | ES_GRAD_PARAMS), 0);
    for (int d = 0; d < D; d++) {
        double moy = 0, var = 0, eps = 1e-5;
        for (int i = 0; i < N; i++)
            moy += xv[i * D + d] / N;
        for (int i = 0; i < N; i++)
            var += (xv[i * D + d] - moy) * (xv[i * D + d] - moy) / N;
        double den = sqrt(var + eps), dden = 0, dmu = 0, dbeta = 0, dgamma = 0;
        for (int i = 0; i < N; i++) {
            double num = xv[i * D + d] - moy, dxhat = gamma[d] * dout[i * D + d];
            dden += -num / (den * den) * dxhat;
            dmu += -dxhat / den;
            dbeta += dout[i * D + d];
            dgamma += dout[i * D + d] * num / den;
            assert_float_equal(es_tensor_data(g, y)[i * D + d], gamma[d] * num / den + beta[d], 1e-5);
        }
        double dvareps = 1.0 / (2 * sqrt(var + eps)) * dden;
        for (int i = 0; i < N; i++) {
            double num = xv[i * D + d] - moy;
            double dx = dmu / N + 2.0 / N * num * dvareps + gamma[d] * dout[i * D + d] / den;
            assert_float_equal(es_tensor_grad(g, x)[i * D + d], dx, 1e-4);
        }
        assert_float_equal(es_tensor_grad(g, es_tensor_find(g, "bn.bias"))[d], dbeta, 1e-5);
        assert_float_equal(es_tensor_grad(g, es_tensor_find(g, "bn.weight"))[d], dgamma, 1e-4);
    }
    es_graph_free(g);
}

/* ---- ReLU and its rules ------------------------------------------------------------------- */
static void relu_rules(void **s)
{
    float xv[6] = {-2, -1, 0.5f, 3, -0.5f, 2}, dy[6] = {1, -1, 1, -1, 0.5f, 2};
    float want[3][6] = {
        {0, 0, 1, -1, 0, 2},    /* STANDARD:  dy·[x>0] */
        {0, 0, 1, 0, 0, 2},     /* GUIDED:    dy·[x>0]·[dy>0] */
        {1, 0, 1, 0, 0.5f, 2}}; /* DECONVNET: max(dy, 0) */
    es_graph *g = es_graph_new();
    int x = es_tensor_add(g, "x", ES_T_INPUT, 2, (int[]){1, 6}, xv);
    int y = es_relu(g, "relu", x);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    for (int i = 0; i < 6; i++)
        assert_float_equal(es_tensor_data(g, y)[i], xv[i] > 0 ? xv[i] : 0, 0);
    for (int rule = 0; rule < 3; rule++) {
        assert_int_equal(es_backward(g, y, dy, rule, ES_GRAD_INPUTS), 0);
        assert_memory_equal(es_tensor_grad(g, x), want[rule], sizeof want[rule]);
    }
    es_graph_free(g);
}

static void relu_and_leaky_gradients(void **s)
{
    es_graph *g = es_graph_new();
    int x = add_random(g, "x", ES_T_INPUT, 2, (int[]){4, 9}, 13);
    float *xv = es_tensor_data(g, x);
    for (int i = 0; i < 36; i++) /* keep clear of the kink at 0, where no derivative exists */
        xv[i] += xv[i] < 0 ? -0.1f : 0.1f;
    es_attrs a;
    es_op_defaults(ES_OP_LEAKYRELU, &a);
    a.leaky.alpha = 0.1f;
    int nd = es_node_add(g, ES_OP_LEAKYRELU, "leaky", &a, 1, &x, 1, NULL);
    const int *o;
    es_node_outputs(g, nd, &o);
    int y = es_relu(g, "relu", o[0]);
    check_all_grads(g, y, ES_TEST, 0.05, 1e-3);
    es_graph_free(g);
}

/* ---- losses ------------------------------------------------------------------------------- */
static void losses_and_their_gradients(void **s)
{
    float z[6] = {1.0f, -2.0f, 0.5f, 3.0f, 3.0f, -1.0f}, dz[6];
    int labels[2] = {2, 0};
    float l = es_softmax_xent(z, labels, 2, 3, dz);
    double l0 = -log(exp(0.5) / (exp(1) + exp(-2) + exp(0.5)));
    double l1 = -log(exp(3) / (exp(3) + exp(3) + exp(-1)));
    assert_float_equal(l, (l0 + l1) / 2, 1e-6);
    for (int i = 0; i < 6; i++) { /* finite differences */
        float zp[6], zm[6];
        memcpy(zp, z, sizeof z), memcpy(zm, z, sizeof z);
        zp[i] += 1e-3f, zm[i] -= 1e-3f;
        double num = (es_softmax_xent(zp, labels, 2, 3, NULL) - es_softmax_xent(zm, labels, 2, 3, NULL)) / 2e-3;
        assert_float_equal(dz[i], num, 1e-3);
    }
    float big[3] = {100, -100, 0}, t[3] = {1, 0, 1}, db[3];
    float lb = es_sigmoid_bce(big, t, 3, db);
    assert_false(isnan(lb) || isinf(lb));
    assert_float_equal(lb, log(2.0) / 3, 1e-6); /* the two confident ones cost ~0 */
    assert_float_equal(db[0], 0, 1e-6);
    assert_float_equal(db[2], (0.5 - 1) / 3, 1e-6);
}

/* ---- optimizers against torch.optim -------------------------------------------------------- */
static void optimizers_match_torch(void **s)
{
    es_array grads = load_fixture(NNFIX("optim_grads.npy"));
    const char *files[2] = {NNFIX("optim_sgd.npy"), NNFIX("optim_adam.npy")};
    for (int k = 0; k < 2; k++) {
        es_array want = load_fixture(files[k]);
        es_graph *g = es_graph_new();
        int w = es_tensor_add(g, "w", ES_T_PARAM, 1, (int[]){3}, (float[]){0.5f, -1.0f, 2.0f});
        int x = es_tensor_add(g, "x", ES_T_INPUT, 1, (int[]){3}, NULL);
        int y = es_add(g, "add", x, w);
        assert_true(y >= 0);
        es_optim_config c = es_optim_default(k ? ES_ADAM : ES_SGD);
        c.lr = 0.1f, c.weight_decay = 0.01f;
        es_optimizer *o = es_optimizer_new(g, &c);
        for (int step = 0; step < 3; step++) {
            /* d(Σ seed·(x + w))/dw = seed: the backward pass delivers the fixture's gradient */
            assert_int_equal(es_forward(g, ES_TRAIN), 0);
            assert_int_equal(es_backward(g, y, grads.data + 3 * step, ES_RELU_STANDARD, ES_GRAD_PARAMS), 0);
            assert_int_equal(es_optimizer_step(o), 0);
            for (int i = 0; i < 3; i++)
                assert_float_equal(es_tensor_data(g, w)[i], want.data[3 * step + i], 1e-6);
        }
        /* a schedule's learning rate: the next step moves w by the new rate (SGD, no
         * momentum, zero gradient but weight decay: w ← w − lr·wd·w) */
        if (k == 0) {
            es_optim_config p = es_optim_default(ES_SGD);
            p.momentum = 0, p.lr = 1, p.weight_decay = 0.5f;
            es_optimizer *q = es_optimizer_new(g, &p);
            es_optimizer_set_lr(q, 0.2f);
            float w0 = es_tensor_data(g, w)[0];
            assert_int_equal(es_forward(g, ES_TRAIN), 0);
            assert_int_equal(es_backward(g, y, (float[]){0, 0, 0}, ES_RELU_STANDARD, ES_GRAD_PARAMS), 0);
            assert_int_equal(es_optimizer_step(q), 0);
            assert_float_equal(es_tensor_data(g, w)[0], w0 * (1 - 0.2f * 0.5f), 1e-6);
            es_optimizer_free(q);
        }
        es_optimizer_free(o);
        es_graph_free(g);
        es_array_free(&want);
    }
    es_array_free(&grads);
}

/* ---- whole networks against PyTorch -------------------------------------------------------- */
/* The PARAM and STATE tensors in state_dict order are the flat vectors of gen_nn.py
 * (es_graph_state_copy): their gradients, 0 for STATE, into out. */
static void flat_grads(es_graph *g, float *out)
{
    size_t off = 0;
    for (int t = 0; t < es_graph_n_tensors(g); t++) {
        es_tensor_kind k = es_tensor_kind_of(g, t);
        size_t n = k == ES_T_PARAM || k == ES_T_STATE ? es_tensor_size(g, t) : 0;
        const float *gr = k == ES_T_PARAM ? es_tensor_grad(g, t) : NULL;
        for (size_t i = 0; i < n; i++)
            out[off + i] = gr ? gr[i] : 0.0f;
        off += n;
    }
}

static void load_flat_params(es_graph *g, const es_array *p)
{
    assert_int_equal(es_graph_state_copy(g, NULL, 0), es_array_size(p));
    es_graph_state_copy(g, p->data, 0);
}

static es_graph *small_cnn(int *x, int *y)
{
    es_graph *g = es_graph_new();
    *x = es_input(g, "x", 3, (int[]){1, 12, 10});
    int h = es_conv(g, "conv1", *x, 4, 3, 3, 1, 1, 1);
    h = es_maxpool(g, "pool1", es_relu(g, "relu1", es_batchnorm(g, "bn1", h)), 2, 2);
    h = es_conv(g, "conv2", h, 8, 3, 3, 1, 1, 1);
    h = es_relu(g, "relu2", es_batchnorm(g, "bn2", h));
    *y = es_dense(g, "fc", es_global_avgpool(g, "gap", h), 3);
    assert_true(*y >= 0);
    return g;
}

static void small_cnn_matches_pytorch(void **s)
{
    es_array params = load_fixture(NNFIX("smallcnn_params.npy")), xa = load_fixture(NNFIX("smallcnn_x.npy"));
    es_array seed = load_fixture(NNFIX("smallcnn_seed.npy"));
    int x, y;
    es_graph *g = small_cnn(&x, &y);
    load_flat_params(g, &params);
    assert_int_equal(es_graph_set_batch(g, 2), 0);
    memcpy(es_tensor_data(g, x), xa.data, es_array_size(&xa) * sizeof(float));

    es_array out = load_fixture(NNFIX("smallcnn_out_eval.npy")), dx = load_fixture(NNFIX("smallcnn_dx_eval.npy"));
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(es_backward(g, y, seed.data, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    assert_close_rel(es_tensor_data(g, y), out.data, 6, 1e-4);
    assert_close_rel(es_tensor_grad(g, x), dx.data, es_array_size(&dx), 1e-4);
    es_array_free(&out), es_array_free(&dx);

    /* TRAIN: batch statistics, running averages updated, parameter gradients */
    es_array outt = load_fixture(NNFIX("smallcnn_out_train.npy"));
    es_array dp = load_fixture(NNFIX("smallcnn_dparams_train.npy"));
    es_array after = load_fixture(NNFIX("smallcnn_params_after_train_forward.npy"));
    assert_int_equal(es_forward(g, ES_TRAIN), 0);
    assert_int_equal(es_backward(g, y, seed.data, ES_RELU_STANDARD, ES_GRAD_PARAMS), 0);
    assert_close_rel(es_tensor_data(g, y), outt.data, 6, 1e-4);
    float *got = malloc(es_array_size(&dp) * sizeof(float));
    assert_int_equal(es_graph_state_copy(g, NULL, 0), es_array_size(&dp));
    flat_grads(g, got);
    assert_close_rel(got, dp.data, es_array_size(&dp), 1e-4);
    size_t off = 0; /* running statistics after one training forward */
    for (int t = 0; t < es_graph_n_tensors(g); t++) {
        es_tensor_kind k = es_tensor_kind_of(g, t);
        if (k == ES_T_STATE)
            assert_close_rel(es_tensor_data(g, t), after.data + off, es_tensor_size(g, t), 1e-5);
        if (k == ES_T_PARAM || k == ES_T_STATE)
            off += es_tensor_size(g, t);
    }
    free(got);
    es_array_free(&outt), es_array_free(&dp), es_array_free(&after);
    es_array_free(&params), es_array_free(&xa), es_array_free(&seed);
    es_graph_free(g);
}

static void bad_densenet_matches_pytorch(void **s)
{
    es_graph *g = es_build_bad_densenet(200, 56, 2, 0);
    assert_non_null(g);
    assert_int_equal(es_graph_n_params(g), 328004);
    es_array params = load_fixture(NNFIX("densenet_params.npy")), xa = load_fixture(NNFIX("densenet_x.npy"));
    es_array out = load_fixture(NNFIX("densenet_out.npy"));
    load_flat_params(g, &params);
    int x = es_tensor_find(g, "input"), outs[1];
    assert_int_equal(es_graph_outputs(g, outs, 1), 1);
    const int plans[2] = {ES_GRAD_PARAMS, ES_GRAD_INPUTS}; /* the default, saliency's */
    for (int pl = 0; pl < 2; pl++) {
        es_graph_plan(g, plans[pl]);
        memcpy(es_tensor_data(g, x), xa.data, es_array_size(&xa) * sizeof(float));
        assert_int_equal(es_forward(g, ES_TEST), 0);
        assert_close_rel(es_tensor_data(g, outs[0]), out.data, 2, 1e-4);
        int k = out.data[1] > out.data[0];
        float seed[2] = {k == 0, k == 1};
        const char *want[2] = {NNFIX("densenet_grad.npy"), NNFIX("densenet_guided.npy")};
        for (int rule = 0; rule < 2; rule++) {
            es_array w = load_fixture(want[rule]);
            assert_int_equal(es_backward(g, outs[0], seed, rule ? ES_RELU_GUIDED : ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
            assert_close_rel(es_tensor_grad(g, x), w.data, es_array_size(&w), 1e-4);
            es_array_free(&w);
        }
    }
    es_array_free(&params), es_array_free(&xa), es_array_free(&out);
    es_graph_free(g);
}

/* Captum's BasicModel_ConvNet_One_Conv and its published attributions for class 0. */
static void captum_one_conv_golden(void **s)
{
    int x, y;
    es_graph *g = captum_one_conv(&x, NULL, &y);
    for (int i = 0; i < 16; i++)
        es_tensor_data(g, x)[i] = (float)i;
    float seed[4] = {1, 0, 0, 0};
    static const float want[3][16] = {
        {0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0}, /* gradient */
        {0, 1, 1, 1, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 2, 1}, /* guided backprop */
        {2, 3, 3, 1, 3, 5, 5, 2, 3, 5, 5, 2, 1, 2, 2, 1}, /* deconvnet */
    };
    assert_int_equal(es_forward(g, ES_TEST), 0);
    for (int rule = 0; rule < 3; rule++) {
        assert_int_equal(es_backward(g, y, seed, rule, ES_GRAD_INPUTS), 0);
        for (int i = 0; i < 16; i++)
            assert_float_equal(es_tensor_grad(g, x)[i], want[rule][i], 1e-6);
    }
    es_graph_free(g);
}

/* ---- training ----------------------------------------------------------------------------- */
/* Toy task: 8x8 images with a horizontal (class 0) or vertical (class 1) bar at a random
 * place, plus noise. Returns the final accuracy on fresh samples and the weights' checksum. */
static void make_bars(float *x, int *y, int n, unsigned seed)
{
    srand(seed);
    for (int i = 0; i < n; i++) {
        y[i] = rand() % 2;
        int at = 1 + rand() % 6;
        for (int p = 0; p < 64; p++) {
            int r = p / 8, c = p % 8;
            x[i * 64 + p] = 0.3f * (rand() / (float)RAND_MAX - 0.5f) + ((y[i] ? c : r) == at ? 1.0f : 0.0f);
        }
    }
}

static double train_bars(float *loss_first, float *loss_last, double *checksum)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 3, (int[]){1, 8, 8});
    int h = es_relu(g, "relu1", es_batchnorm(g, "bn1", es_conv(g, "conv1", x, 6, 3, 3, 1, 1, 0)));
    h = es_maxpool(g, "pool", h, 2, 2);
    int z = es_dense(g, "fc", es_dropout(g, "drop", h, 0.2f), 2);
    assert_true(z >= 0);
    es_graph_init(g, ES_INIT_HE, 42);
    es_optim_config c = es_optim_default(ES_SGD);
    c.lr = 0.05f;
    es_optimizer *o = es_optimizer_new(g, &c);
    enum { B = 16, STEPS = 150 };
    float xb[B * 64];
    int yb[B];
    for (int step = 0; step < STEPS; step++) {
        float l;
        make_bars(xb, yb, B, 1000 + step);
        assert_int_equal(es_train_step(g, o, x, xb, B, z, yb, &l, NULL), 0);
        if (step == 0)
            *loss_first = l;
        *loss_last = l;
    }
    int correct = 0;
    for (int rep = 0; rep < 8; rep++) { /* 128 fresh test samples */
        make_bars(xb, yb, B, 99 + rep);
        memcpy(es_tensor_data(g, x), xb, sizeof xb);
        es_forward(g, ES_TEST);
        for (int i = 0; i < B; i++)
            correct += (es_tensor_data(g, z)[2 * i + 1] > es_tensor_data(g, z)[2 * i]) == yb[i];
    }
    *checksum = 0;
    for (int t = 0; t < es_graph_n_tensors(g); t++)
        if (es_tensor_kind_of(g, t) == ES_T_PARAM)
            for (size_t i = 0; i < es_tensor_size(g, t); i++)
                *checksum += es_tensor_data(g, t)[i] * (double)(i + 1);
    es_optimizer_free(o);
    es_graph_free(g);
    return correct / 128.0;
}

static void training_learns_bars_deterministically(void **s)
{
    float l0, l1, m0, m1;
    double c1, c2;
    double acc = train_bars(&l0, &l1, &c1);
    double acc2 = train_bars(&m0, &m1, &c2);
    if (!(acc >= 0.95 && l1 < 0.5f * l0))
        fail_msg("accuracy %.3f, loss %.3f -> %.3f", acc, l0, l1);
    assert_true(acc == acc2 && l1 == m1 && c1 == c2); /* same seed, same threads: same model */
}

/* es_graph_want_grad: a backward pass that stops at a layer gives that layer the same
 * gradient as a full pass, and runs nothing below it. */
static void backward_stops_at_wanted_layer(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 3, (int[]){2, 6, 5});
    int a = es_relu(g, "relu1", es_conv(g, "conv1", x, 3, 3, 3, 1, 1, 1));
    int y = es_dense(g, "fc", es_relu(g, "relu2", es_conv(g, "conv2", a, 4, 3, 3, 1, 1, 1)), 2);
    assert_true(y >= 0);
    es_graph_init(g, ES_INIT_HE, 3);
    fill_random(es_tensor_data(g, x), 60, 5, 1.0f);
    float seed[2] = {1, -0.5f}, full[90];
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(es_graph_want_grad(g, a, 1), 0); /* kept: a is read after the pass */
    assert_int_equal(es_backward(g, y, seed, ES_RELU_STANDARD, ES_GRAD_INPUTS), 0);
    memcpy(full, es_tensor_grad(g, a), sizeof full);
    assert_non_null(es_tensor_grad(g, x));
    memset(es_tensor_grad(g, a), 0, sizeof full); /* a's gradient must be computed anew */
    assert_int_equal(es_backward(g, y, seed, ES_RELU_STANDARD, 0), 0);
    assert_memory_equal(es_tensor_grad(g, a), full, sizeof full);
    assert_null(es_tensor_grad(g, x)); /* a pass that stops at `a` does not reach the input */
    es_graph_want_grad(g, a, 0);
    es_graph_free(g);
}

/* A gradient is the last pass's or none: two independent branches, a backward pass from each
 * in turn; the branch a pass did not reach has no gradient, not the earlier pass's. */
static void gradients_are_fresh_or_null(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 1, (int[]){4}), y = es_input(g, "y", 1, (int[]){4});
    int a = es_relu(g, "ra", es_dense(g, "a", x, 3)), b = es_dense(g, "b", y, 2);
    assert_true(a >= 0 && b >= 0);
    es_graph_mark_output(g, a), es_graph_mark_output(g, b);
    es_graph_init(g, ES_INIT_HE, 7);
    fill_random(es_tensor_data(g, x), 4, 1, 1.0f);
    fill_random(es_tensor_data(g, y), 4, 2, 1.0f);
    int aw = es_tensor_find(g, "a.weight"), bw = es_tensor_find(g, "b.weight");
    const int all = ES_GRAD_INPUTS | ES_GRAD_PARAMS;
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(es_backward(g, a, NULL, ES_RELU_STANDARD, all), 0);
    assert_non_null(es_tensor_grad(g, x));
    assert_non_null(es_tensor_grad(g, aw));
    assert_null(es_tensor_grad(g, y));
    assert_null(es_tensor_grad(g, bw));
    assert_int_equal(es_backward(g, b, NULL, ES_RELU_STANDARD, all), 0);
    assert_null(es_tensor_grad(g, x)); /* reached by the first pass only */
    assert_null(es_tensor_grad(g, aw));
    assert_non_null(strstr(es_error(), "did not reach"));
    assert_non_null(es_tensor_grad(g, y));
    assert_non_null(es_tensor_grad(g, bw));
    assert_int_equal(es_backward(g, b, NULL, ES_RELU_STANDARD, ES_GRAD_PARAMS), 0);
    assert_null(es_tensor_grad(g, y)); /* not asked for this time */
    es_graph_free(g);
}

/* ---- the memory plan (nn/plan.c) ---------------------------------------------------------- */
static es_graph *densenet_with_input(int frames, int mels, int *x)
{
    es_graph *g = es_build_bad_densenet(frames, mels, 2, 1);
    assert_non_null(g);
    es_graph_init(g, ES_INIT_HE, 11);
    *x = es_tensor_find(g, "input");
    fill_random(es_tensor_data(g, *x), (size_t)frames * mels, 3, 1.0f);
    return g;
}

/* A pinned inner tensor after an inference pass holds what it holds when nothing is reused;
 * an unpinned one whose memory was reused is refused, never garbage. */
static void plan_pins_and_refuses(void **s)
{
    int x;
    es_graph *g = densenet_with_input(48, 24, &x);
    /* early: a transition's output, whose memory the next block takes (conv0 lives in dense
     * block 1's buffer, which nothing smaller comes to reuse) */
    int inner = es_tensor_find(g, "block2.layer3.concat"), early = es_tensor_find(g, "trans1.conv");
    int out = es_tensor_find(g, "softmax");
    size_t n = es_tensor_size(g, inner);
    float *want = malloc(n * sizeof *want), want_out[2];
    es_graph_plan(g, ES_PLAN_KEEP_ALL);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    memcpy(want, es_tensor_data(g, inner), n * sizeof *want);
    memcpy(want_out, es_tensor_data(g, out), sizeof want_out);
    size_t all = es_graph_arena_bytes(g);

    assert_int_equal(es_graph_plan(g, 0), ES_PLAN_KEEP_ALL); /* inference: reuse at once */
    assert_int_equal(es_graph_pin(g, inner, 1), 0);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_true(es_graph_arena_bytes(g) < all / 4);
    assert_memory_equal(es_tensor_data(g, inner), want, n * sizeof *want);
    assert_memory_equal(es_tensor_data(g, out), want_out, sizeof want_out); /* outputs kept */
    assert_null(es_tensor_data(g, early));
    assert_non_null(strstr(es_error(), "pin"));
    assert_int_equal(es_backward(g, out, NULL, ES_RELU_STANDARD, ES_GRAD_INPUTS), -1);

    /* unpinned: refused, or (inside a dense block's buffer that nothing reuses) still right */
    assert_int_equal(es_graph_pin(g, inner, 0), 1);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    const float *d = es_tensor_data(g, inner);
    assert_true(!d || memcmp(d, want, n * sizeof *want) == 0);
    free(want);
    es_graph_free(g);
}

/* The BAD DenseNet at its study size: each plan within twice the liveness lower bound it
 * reports, and inference and saliency far below keeping everything. */
static void plan_arena_near_lower_bound(void **s)
{
    int x;
    es_graph *g = densenet_with_input(200, 56, &x);
    const int plans[4] = {0, ES_GRAD_INPUTS, ES_GRAD_PARAMS, ES_PLAN_KEEP_ALL};
    size_t arena[4];
    for (int k = 0; k < 4; k++) {
        es_graph_plan(g, plans[k]);
        arena[k] = es_graph_arena_bytes(g);
        size_t low = es_graph_arena_lower_bound(g);
        if (!(low > 0 && arena[k] >= low && arena[k] <= 2 * low))
            fail_msg("plan %d: arena %zu bytes, lower bound %zu", plans[k], arena[k], low);
    }
    assert_true(arena[0] < arena[3] / 8 && arena[1] < arena[3] / 8);
    size_t per = es_graph_bytes_per_sample(g, ES_GRAD_INPUTS);
    assert_true(per > 0 && per <= (size_t)40 << 20); /* issue 15: saliency <= 40 MB a sample */
    int d[4];
    assert_int_equal(es_tensor_shape(g, x, d), 4);
    assert_int_equal(d[0], 1); /* the batch is left as it was */
    es_graph_free(g);
}

/* Gradients through the plan: the saliency plan gives the input gradient (every rule) of
 * keeping everything, bit for bit, twice in a row from one forward pass; finite differences
 * agree under the saliency and the training plans. */
static void plan_gradients(void **s)
{
    int x;
    es_graph *g = densenet_with_input(32, 16, &x);
    int out = es_tensor_find(g, "fc"), layer = es_tensor_find(g, "block3.layer5.concat");
    size_t n = es_tensor_size(g, x), nl = es_tensor_size(g, layer);
    float *ref = malloc(3 * n * sizeof *ref), *lref = malloc(nl * sizeof *lref);
    for (int pl = 0; pl < 2; pl++) {
        es_graph_plan(g, pl ? ES_GRAD_INPUTS : ES_PLAN_KEEP_ALL);
        assert_int_equal(es_forward(g, ES_TEST), 0);
        for (int rule = 0; rule < 3; rule++) {
            assert_int_equal(es_backward(g, out, (float[]){1, -1}, rule, ES_GRAD_INPUTS), 0);
            if (!pl)
                memcpy(ref + rule * n, es_tensor_grad(g, x), n * sizeof *ref);
            else
                assert_memory_equal(es_tensor_grad(g, x), ref + rule * n, n * sizeof *ref);
        }
        es_graph_want_grad(g, layer, 1); /* Grad-CAM's pass: stops at the layer */
        assert_int_equal(es_backward(g, out, (float[]){1, 0}, ES_RELU_STANDARD, 0), 0);
        if (!pl)
            memcpy(lref, es_tensor_grad(g, layer), nl * sizeof *lref);
        else
            assert_memory_equal(es_tensor_grad(g, layer), lref, nl * sizeof *lref);
        es_graph_want_grad(g, layer, 0);
    }
    /* finite differences on a smooth net (no ReLU kinks) with a concat, a view, a pinned
     * inner tensor, through the saliency plan (the input) and the training plan (all) */
    es_graph *h = es_graph_new();
    int hx = es_input(h, "x", 3, (int[]){2, 6, 5});
    int sg = es_sigmoid(h, "s1", es_batchnorm(h, "bn", es_conv(h, "c1", hx, 3, 3, 3, 1, -1, 1)));
    int cat = es_concat(h, "cat", hx, sg);
    int y = es_dense(h, "fc", es_sigmoid(h, "s2", es_conv(h, "c2", cat, 2, 3, 3, 1, -1, 0)), 2);
    assert_true(y >= 0);
    es_graph_init(h, ES_INIT_XAVIER, 5);
    fill_random(es_tensor_data(h, hx), 60, 9, 1.0f);
    es_graph_pin(h, sg, 1);
    es_graph_plan(h, ES_GRAD_INPUTS);
    double e = es_grad_check(h, hx, y, ES_TEST, 60, 0.05);
    if (!(e >= 0 && e <= 1e-3))
        fail_msg("saliency plan: input gradient error %g", e);
    es_graph_plan(h, ES_GRAD_PARAMS);
    check_all_grads(h, y, ES_TRAIN, 0.05, 2e-3);
    es_graph_free(h);
    free(ref), free(lref);
    es_graph_free(g);
}

/* ---- BatchNorm + Relu fused (plan.c, batchnorm.c) ------------------------------------------ */
static int n_fused(const es_graph *g)
{
    int k = 0;
    for (int i = 0; i < g->nn; i++)
        k += g->n[i].op == ES_OP_BATCHNORM && g->n[i].fused_with;
    return k;
}

/* conv → BN → Relu → conv → BN → Relu → dense: both pairs fuse unless their BN output is pinned. */
static es_graph *bn_relu_net(int *x, int *bn1, int *bn2, int *y)
{
    es_graph *g = es_graph_new();
    *x = es_input(g, "x", 3, (int[]){3, 7, 6});
    *bn1 = es_batchnorm(g, "bn1", es_conv(g, "c1", *x, 4, 3, 3, 1, -1, 1));
    *bn2 = es_batchnorm(g, "bn2", es_conv(g, "c2", es_relu(g, "r1", *bn1), 5, 3, 3, 2, -1, 1));
    *y = es_dense(g, "fc", es_relu(g, "r2", *bn2), 3);
    assert_true(*y >= 0);
    assert_int_equal(es_graph_set_batch(g, 2), 0);
    es_graph_init(g, ES_INIT_HE, 17);
    for (int t = 0; t < es_graph_n_tensors(g); t++) { /* a trained BN: not the identity */
        const char *nm = es_tensor_name(g, t);
        if (es_tensor_kind_of(g, t) == ES_T_ACT || strncmp(nm, "bn", 2) != 0)
            continue;
        float *d = es_tensor_data(g, t), one = strstr(nm, "weight") || strstr(nm, "var") ? 1 : 0;
        fill_random(d, es_tensor_size(g, t), 40 + t, 0.5f);
        for (size_t i = 0; i < es_tensor_size(g, t); i++)
            d[i] += one;
    }
    fill_random(es_tensor_data(g, *x), es_tensor_size(g, *x), 5, 1.0f);
    return g;
}

/* Every gradient of one pass (input, parameters, when asked) and the output, in one array. */
static size_t pass_values(es_graph *g, int y, es_mode mode, es_relu_rule rule, int what, float *v)
{
    size_t k = 0;
    assert_int_equal(es_forward(g, mode), 0);
    const float *o = es_tensor_data(g, y);
    for (size_t i = 0; i < es_tensor_size(g, y); i++)
        v[k++] = o[i];
    assert_int_equal(es_backward(g, y, (float[]){1, -0.5f, 2, 0.3f, -1, 0.7f}, rule, what), 0);
    for (int t = 0; t < es_graph_n_tensors(g); t++) {
        es_tensor_kind kind = es_tensor_kind_of(g, t);
        if (kind == ES_T_INPUT || (kind == ES_T_PARAM && (what & ES_GRAD_PARAMS))) {
            const float *d = es_tensor_grad(g, t);
            assert_non_null(d);
            for (size_t i = 0; i < es_tensor_size(g, t); i++)
                v[k++] = d[i];
        }
    }
    return k;
}

/* x → BN → Relu → dense, every gradient of the fused pair against finite differences; x is
 * moved so that every BN output (in `mode`'s statistics) is 0.3 or more from the Relu's kink,
 * which the difference steps then never cross. */
static void fused_pair_against_differences(es_mode mode)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 3, (int[]){3, 4, 5}), bn = es_batchnorm(g, "bn", x);
    int y = es_dense(g, "fc", es_relu(g, "r", bn), 3);
    assert_true(y >= 0);
    assert_int_equal(es_graph_set_batch(g, 2), 0);
    es_graph_init(g, ES_INIT_XAVIER, 3);
    float *xv = es_tensor_data(g, x);
    size_t n = es_tensor_size(g, x);
    fill_random(xv, n, 21, 1.0f);
    float *b = es_tensor_data(g, es_tensor_find(g, "bn.bias"));
    b[0] = 0.2f, b[1] = -0.1f, b[2] = 0.05f;
    es_graph_plan(g, ES_GRAD_INPUTS | ES_GRAD_PARAMS);
    es_graph_pin(g, bn, 1); /* to read the BN output while moving x; unpinned below */
    for (int round = 0; round < 8; round++) {
        assert_int_equal(es_forward(g, mode), 0);
        const float *v = es_tensor_data(g, bn);
        for (size_t i = 0; i < n; i++)
            if (fabsf(v[i]) < 0.3f)
                xv[i] += v[i] < 0 ? -0.4f : 0.4f;
    }
    assert_int_equal(es_forward(g, mode), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(es_tensor_data(g, bn)[i]) >= 0.3f);
    es_graph_pin(g, bn, 0);
    assert_int_equal(es_forward(g, mode), 0);
    assert_int_equal(n_fused(g), 1);
    check_all_grads(g, y, mode, 0.05, 2e-3);
    assert_int_equal(n_fused(g), 1);
    es_graph_free(g);
}

/* The fused pair computes what Relu after BN computes, every rule, both modes, to float
 * rounding (elementwise values are the same; only a BN's channel sums may vectorise in
 * another order; plan_gradients holds the DenseNet's input gradients bit for bit) (pinning a BN output unfuses its pair); its gradients match finite differences; a pinned BN
 * output stays readable with its values before the Relu, an unpinned fused one is refused. */
static void batchnorm_relu_fusion(void **s)
{
    int x, bn1, bn2, y;
    es_graph *g = bn_relu_net(&x, &bn1, &bn2, &y);
    float *ref = malloc(4096 * sizeof *ref), *got = malloc(4096 * sizeof *got);
    es_graph_plan(g, ES_GRAD_INPUTS | ES_GRAD_PARAMS);
    for (int mode = 0; mode < 2; mode++)
        for (int rule = 0; rule < 3; rule++)
            for (int what = ES_GRAD_INPUTS; what <= (ES_GRAD_INPUTS | ES_GRAD_PARAMS); what += 2) {
                es_mode m = mode ? ES_TRAIN : ES_TEST;
                es_graph_pin(g, bn1, 1), es_graph_pin(g, bn2, 1);
                size_t n = pass_values(g, y, m, rule, what, ref);
                assert_int_equal(n_fused(g), 0);
                es_graph_pin(g, bn1, 0), es_graph_pin(g, bn2, 0);
                assert_int_equal(pass_values(g, y, m, rule, what, got), n);
                assert_int_equal(n_fused(g), 2);
                for (size_t i = 0; i < n; i++) /* sums may vectorise in another order */
                    if (!(fabsf(got[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i]))))
                        fail_msg("mode %d rule %d what %d: value %zu fused %.9g, apart %.9g", mode,
                                 rule, what, i, got[i], ref[i]);
            }
    assert_int_equal(n_fused(g), 2);
    fused_pair_against_differences(ES_TEST);
    fused_pair_against_differences(ES_TRAIN);
    assert_int_equal(n_fused(g), 2);
    /* a fused BN output holds the Relu's values: refused; pinned, it holds the BN's own */
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_null(es_tensor_data(g, bn1));
    assert_non_null(strstr(es_error(), "pin"));
    es_graph_pin(g, bn1, 1);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(n_fused(g), 1);
    const float *b = es_tensor_data(g, bn1);
    assert_non_null(b);
    int neg = 0;
    for (size_t i = 0; i < es_tensor_size(g, bn1); i++)
        neg += b[i] < 0;
    assert_true(neg > 0);
    /* a gradient wanted at a fused BN output after the forward pass: a new plan is needed */
    es_graph_pin(g, bn1, 0);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    es_graph_want_grad(g, bn2, 1);
    assert_int_equal(es_backward(g, y, NULL, ES_RELU_STANDARD, 0), -1);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_int_equal(n_fused(g), 1);
    assert_int_equal(es_backward(g, y, NULL, ES_RELU_STANDARD, 0), 0);
    assert_non_null(es_tensor_grad(g, bn2));
    es_graph_want_grad(g, bn2, 0);
    free(ref), free(got);
    es_graph_free(g);
}

/* One sample: each layer of a dense block writes straight into its slice of the block's
 * buffer and the Concats copy nothing; a batch (slices not contiguous) keeps the copies. Same
 * numbers either way (bad_densenet_matches_pytorch checks them against PyTorch). */
static void concat_inputs_are_slices(void **s)
{
    int x;
    es_graph *g = densenet_with_input(32, 16, &x);
    int c1 = es_tensor_find(g, "block1.layer1.concat"), c2 = es_tensor_find(g, "block1.layer2.concat");
    int conv = es_tensor_find(g, "block1.layer2.conv"), out = es_tensor_find(g, "softmax");
    float first[2];
    es_graph_plan(g, ES_GRAD_INPUTS);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    memcpy(first, es_tensor_data(g, out), sizeof first);
    assert_ptr_equal(g->t[c1].data, g->t[c2].data);
    assert_ptr_equal(g->t[conv].data, g->t[c2].data + g->t[c1].size);
    assert_int_equal(es_graph_set_batch(g, 2), 0);
    float *xv = es_tensor_data(g, x);
    memcpy(xv + 32 * 16, xv, 32 * 16 * sizeof *xv);
    assert_int_equal(es_forward(g, ES_TEST), 0);
    assert_ptr_not_equal(g->t[c1].data, g->t[c2].data);
    for (int k = 0; k < 2; k++)
        assert_float_equal(es_tensor_data(g, out)[2 + k], first[k], 1e-6);
    es_graph_free(g);
}

static void builder_chain_reports_first_error(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "input", 3, (int[]){3, 32, 32});
    x = es_dense(g, "aff", x, 1000);
    x = es_batchnorm(g, "bn", x);
    x = es_relu(g, "relu", x);
    x = es_dropout(g, "dp", x, 0.5f);
    x = es_softmax(g, "prob", x);
    assert_true(x >= 0);
    assert_int_equal(es_graph_n_params(g), 3 * 32 * 32 * 1000 + 1000 + 2000);
    int bad = es_relu(g, "r2", es_dense(g, "aff", x, 3)); /* "aff.weight" exists */
    assert_int_equal(bad, -1);
    assert_non_null(strstr(es_error(), "aff.weight"));
    es_graph_free(g);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv2d_matches_direct_and_gradients),
        cmocka_unit_test(conv1d_matches_direct_and_gradients),
        cmocka_unit_test(conv_rejects_bad_shapes),
        cmocka_unit_test(gemm_variants),
        cmocka_unit_test(matmul_gradients),
        cmocka_unit_test(matmul_batched),
        cmocka_unit_test(convtranspose_matches_direct_and_gradients),
        cmocka_unit_test(batchnorm_train_and_test),
        cmocka_unit_test(batchnorm_equals_tutorial),
        cmocka_unit_test(batchnorm_precise_statistics),
        cmocka_unit_test(relu_rules),
        cmocka_unit_test(relu_and_leaky_gradients),
        cmocka_unit_test(losses_and_their_gradients),
        cmocka_unit_test(optimizers_match_torch),
        cmocka_unit_test(captum_one_conv_golden),
        cmocka_unit_test(small_cnn_matches_pytorch),
        cmocka_unit_test(bad_densenet_matches_pytorch),
        cmocka_unit_test(training_learns_bars_deterministically),
        cmocka_unit_test(backward_stops_at_wanted_layer),
        cmocka_unit_test(gradients_are_fresh_or_null),
        cmocka_unit_test(plan_pins_and_refuses),
        cmocka_unit_test(plan_arena_near_lower_bound),
        cmocka_unit_test(plan_gradients),
        cmocka_unit_test(batchnorm_relu_fusion),
        cmocka_unit_test(concat_inputs_are_slices),
        cmocka_unit_test(builder_chain_reports_first_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
