/* Relu and LeakyRelu. Relu's backward follows the pass's rule (es_nn.h): the true gradient,
 * guided backprop, or deconvnet — the one switch all gradient explanations turn — except a
 * plain Relu (es_relu_attrs: half of a lowered Clip, or a functional relu of a PyTorch export,
 * nn/onnx.h es_relu_scope), which, like LeakyRelu, always passes its true gradient.
 * A NaN goes through as in PyTorch: relu(NaN) = NaN (a comparison `x > 0` would make it 0, a
 * plausible activation from garbage), and relu's backward keeps the gradient where x is not
 * <= 0 (torch's threshold_backward), so at a NaN too. Guided backprop and deconvnet clip the
 * incoming gradient with that same relu (captum's rules), so a NaN gradient stays NaN. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <stdint.h>
#include <immintrin.h>

static int same_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

/* y[0..n) = relu(x[0..n)) (x == y allowed), and their bits from bit `first` of a word:
 * "not x <= 0", true at NaN too. The loop of a part of a word. */
static uint32_t relu_bits(const float *x, float *y, size_t n, unsigned first)
{
    uint32_t m = 0;
    for (size_t k = 0; k < n; k++) {
        int on = !(x[k] <= 0);
        y[k] = on ? x[k] : 0.0f;
        m |= (uint32_t)on << (first + k);
    }
    return m;
}

/* y[0..32) = relu(x[0..32)) (x == y allowed), and the word of their bits: compare-to-mask
 * instructions where the CPU has them (the bit loop does not vectorise). */
static inline uint32_t relu_word(const float *x, float *y)
{
#if defined __AVX512F__
    __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
    __mmask16 ka = _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NLE_UQ);
    __mmask16 kb = _mm512_cmp_ps_mask(b, _mm512_setzero_ps(), _CMP_NLE_UQ);
    _mm512_storeu_ps(y, _mm512_maskz_mov_ps(ka, a));
    _mm512_storeu_ps(y + 16, _mm512_maskz_mov_ps(kb, b));
    return (uint32_t)ka | (uint32_t)kb << 16;
#elif defined __AVX__
    uint32_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m256 a = _mm256_loadu_ps(x + 8 * k);
        __m256 on = _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NLE_UQ);
        _mm256_storeu_ps(y + 8 * k, _mm256_and_ps(a, on));
        m |= (uint32_t)_mm256_movemask_ps(on) << (8 * k);
    }
    return m;
#else
    return relu_bits(x, y, 32, 0);
#endif
}

/* Forward keeps which units passed, one bit each, in aux: backward needs nothing else, so
 * the memory plan keeps no activation for it (a 32nd of the input's bytes). A bit is
 * "not x <= 0", true at NaN too. */
int es_relu_shape(es_graph *g, es_node *nd)
{
    nd->aux_bytes = (in_t(g, nd, 0)->size + 31) / 32 * sizeof(uint32_t);
    return same_shape(g, nd);
}

void es_relu_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    const float *xv = x->data;
    float *y = out_t(g, nd, 0)->data;
    uint32_t *pass = nd->aux;
    size_t n = x->size, words = (n + 31) / 32;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t w = 0; w < words; w++) {
        size_t end = w * 32 + 32 < n ? w * 32 + 32 : n;
        pass[w] = end - w * 32 == 32 ? relu_word(xv + w * 32, y + w * 32)
                                     : relu_bits(xv + w * 32, y + w * 32, end - w * 32, 0);
    }
}

void es_relu_span(float *y, size_t off, size_t n, uint32_t *mask)
{
    size_t i = 0;
    while (i < n) {
        size_t e = off + i, w = e / 32, stop = (w + 1) * 32 - off; /* this word's end in y */
        stop = stop < n ? stop : n;
        if (e % 32 == 0 && stop - i == 32)
            mask[w] = relu_word(y + i, y + i);
        else
            __atomic_fetch_or(&mask[w], relu_bits(y + i, y + i, stop - i, e % 32), __ATOMIC_RELAXED);
        i = stop;
    }
}

void es_relu_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    const uint32_t *pass = nd->aux;
    float *dx = x->grad;
    size_t n = x->size;
    es_relu_rule rule = es_relu_node_rule(nd, p);
    /* a word of the mask at a time: the 32 units' bits by a shift each, which vectorises */
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t w = 0; w < (n + 31) / 32; w++) {
        uint32_t m = pass[w];
        size_t i0 = w * 32;
        int e = n - i0 < 32 ? (int)(n - i0) : 32;
        float *d = dx + i0;
        const float *s = dy + i0;
        if (e == 32)
            for (int j = 0; j < 32; j++)
                d[j] += es_relu_rule_grad(rule, m >> j & 1, s[j]);
        else
            for (int j = 0; j < e; j++)
                d[j] += es_relu_rule_grad(rule, m >> j & 1, s[j]);
    }
}

int es_leakyrelu_shape(es_graph *g, es_node *nd) { return same_shape(g, nd); }

void es_leakyrelu_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data, a = nd->a.leaky.alpha;
    for (size_t i = 0; i < x->size; i++)
        y[i] = x->data[i] > 0 ? x->data[i] : a * x->data[i];
}

void es_leakyrelu_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    float a = nd->a.leaky.alpha;
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += x->data[i] > 0 ? dy[i] : a * dy[i];
}

/* ---- LeakyRelu's row: attributes, ONNX ---------------------------------------------------- */
const es_attrs es_leakyrelu_defaults = {.leaky = {.alpha = 0.01f}}; /* ONNX's, PyTorch's */

int es_leakyrelu_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    es_attrs a = es_leakyrelu_defaults;
    a.leaky.alpha = es_onnx_attr_float(nd, "alpha", 0.01f);
    return es_import_one(m, nd, op, &a);
}

/* A plain Relu is written as Clip(min 0), which import lowers to one plain Relu of the same
 * name and output: a saved model keeps which units guided backprop and deconvnet change. */
int es_relu_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    if (n->a.relu.plain) {
        es_export_op_type(x, "Clip");
        es_export_input_float(x, n, "min", 0.0f);
    }
    return 0;
}

int es_leakyrelu_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_float(x, "alpha", n->a.leaky.alpha);
    return 0;
}
