/* Element-wise functions of one input: Tanh, Erf, Sqrt, Exp, HardSigmoid, HardSwish and Pow
 * with a constant exponent — what GELU (both of PyTorch's exported forms), the decomposed
 * LayerNorm and MobileNet-V3's activations are made of. Each is a pair f(x), f'(x); backward
 * reads the input only (nn/plan.c). None of them takes the pass's ReLU rule: guided backprop
 * and deconvnet are defined for Relu alone (Captum hooks nn.ReLU only), so these always pass
 * their true gradient. Kinks (HardSigmoid's, HardSwish's corners) take PyTorch's side. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <math.h>

static inline float hsig(float x, float alpha, float beta)
{
    float v = alpha * x + beta;
    return v <= 0 ? 0.0f : v >= 1 ? 1.0f : v;
}

/* torch's hardsigmoid_backward: α inside the open interval where 0 < αx + β < 1, else 0 */
static inline float hsig_d(float x, float alpha, float beta)
{
    float v = alpha * x + beta;
    return v > 0 && v < 1 ? alpha : 0.0f;
}

#define TANH_F(x) tanhf(x)
#define TANH_D(x) (1.0f - tanhf(x) * tanhf(x))
#define ERF_F(x) erff(x)
#define ERF_D(x) (1.1283791670955126f * expf(-(x) * (x))) /* 2/√π e^{−x²} */
#define SQRT_F(x) sqrtf(x)
#define SQRT_D(x) (0.5f / sqrtf(x))
#define EXP_F(x) expf(x)
#define EXP_D(x) expf(x)
#define HARDSIGMOID_F(x) hsig(x, a->hsig.alpha, a->hsig.beta)
#define HARDSIGMOID_D(x) hsig_d(x, a->hsig.alpha, a->hsig.beta)
/* x·hardsigmoid(x, 1/6, 1/2); torch's hardswish_backward: 0 below −3, x/3 + 1/2 up to 3, 1 */
#define HARDSWISH_F(x) ((x) * hsig(x, 1.0f / 6, 0.5f))
#define HARDSWISH_D(x) ((x) < -3 ? 0.0f : (x) <= 3 ? (x) / 3 + 0.5f : 1.0f)
/* x² exactly (the decomposed LayerNorm's variance); d/dx x^0 = 0, also at x = 0 */
static inline float pow_d(float x, float e)
{
    return e == 2 ? 2 * x : e == 0 ? 0.0f : e * powf(x, e - 1);
}
#define POW_F(x) (a->pow.exponent == 2 ? (x) * (x) : powf(x, a->pow.exponent))
#define POW_D(x) pow_d(x, a->pow.exponent)

static int same_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

#define UNARY_OP(fam, F, D)                                                                  \
    int es_##fam##_shape(es_graph *g, es_node *nd) { return same_shape(g, nd); }             \
    void es_##fam##_forward(es_graph *g, es_node *nd, const es_pass *p)                      \
    {                                                                                        \
        const es_tensor *t = in_t(g, nd, 0);                                                 \
        const es_attrs *a = &nd->a;                                                          \
        const float *x = t->data;                                                            \
        float *y = out_t(g, nd, 0)->data;                                                    \
        (void)a;                                                                             \
        _Pragma("omp parallel for schedule(static) if (t->size > 65536)")                    \
        for (size_t i = 0; i < t->size; i++)                                                 \
            y[i] = F(x[i]);                                                                  \
    }                                                                                        \
    void es_##fam##_backward(es_graph *g, es_node *nd, const es_pass *p)                     \
    {                                                                                        \
        if (!wants_grad(g, nd, 0, p))                                                        \
            return;                                                                          \
        es_tensor *t = in_t(g, nd, 0);                                                       \
        const es_attrs *a = &nd->a;                                                          \
        const float *x = t->data, *dy = out_t(g, nd, 0)->grad;                               \
        float *dx = t->grad;                                                                 \
        (void)a;                                                                             \
        _Pragma("omp parallel for schedule(static) if (t->size > 65536)")                    \
        for (size_t i = 0; i < t->size; i++)                                                 \
            dx[i] += dy[i] * D(x[i]);                                                        \
    }
UNARY_OP(tanh, TANH_F, TANH_D)
UNARY_OP(erf, ERF_F, ERF_D)
UNARY_OP(sqrt, SQRT_F, SQRT_D)
UNARY_OP(exp, EXP_F, EXP_D)
UNARY_OP(hardsigmoid, HARDSIGMOID_F, HARDSIGMOID_D)
UNARY_OP(hardswish, HARDSWISH_F, HARDSWISH_D)
UNARY_OP(pow, POW_F, POW_D)

/* ---- HardSigmoid's and Pow's rows: attributes, ONNX ---------------------------------------- */
const es_attrs es_hardsigmoid_defaults = {.hsig = {.alpha = 0.2f, .beta = 0.5f}}; /* ONNX's */
const es_attrs es_pow_defaults = {.pow = {.exponent = 1.0f}};

int es_hardsigmoid_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    es_attrs a = es_hardsigmoid_defaults;
    a.hsig.alpha = es_onnx_attr_float(nd, "alpha", 0.2f);
    a.hsig.beta = es_onnx_attr_float(nd, "beta", 0.5f);
    return es_import_one(m, nd, op, &a);
}

int es_hardsigmoid_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_float(x, "alpha", n->a.hsig.alpha);
    es_export_float(x, "beta", n->a.hsig.beta);
    return 0;
}

/* The exponent becomes an attribute: a computed one (x^y of two activations) has no backward
 * here, so it is refused by name. */
int es_pow_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    static const char *const why =
        "the exponent must be a constant scalar (an initializer or Constant of one element)";
    es_attrs a = es_pow_defaults;
    if (nd->n_input != 2 || !*nd->input[1])
        return es_import_fail(nd, why, NULL);
    if (es_import_const_float(m, nd, 1, &a.pow.exponent, why) != 0)
        return -1;
    return es_import_one(m, nd, op, &a);
}

int es_pow_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_input_float(x, n, "exponent", n->a.pow.exponent);
    return 0;
}
