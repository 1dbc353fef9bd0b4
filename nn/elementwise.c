/* Add, Sub, Mul, Div with NumPy broadcasting, PRelu (x > 0 ? x : slope·x, the slope broadcast
 * to x, e.g. (C,1,1) per channel) on the same walk, and Sigmoid.
 * Broadcasting aligns the shapes at the right; each dim pair is equal or one of them is 1.
 * An input's stride is 0 along a dim it is broadcast over, so one walk over the output
 * serves forward (gather) and backward (scatter-add, which sums the gradient over the
 * broadcast dims, e.g. a (C,1,1) bias added to (N,C,H,W)). Dims whose strides chain are
 * merged first, so equal shapes become one flat loop. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <math.h>

typedef struct {
    int r;                        /* merged rank (>= 1) */
    size_t d[ES_MAX_DIMS];        /* merged output dims */
    size_t sa[ES_MAX_DIMS], sb[ES_MAX_DIMS]; /* strides of A and B, 0 where broadcast */
} bcast;

/* Output shape of A op B, or -1 when they do not broadcast. */
static int bcast_shape(const es_tensor *a, const es_tensor *b, int *dims)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        dims[i] = da == 1 ? db : da;
    }
    return r;
}

void es_bcast_strides(const es_tensor *t, int r, const int *dims, size_t *s)
{
    size_t st = 1;
    for (int i = r - 1; i >= 0; i--) {
        int it = i - (r - t->ndim);
        int dt = it >= 0 ? t->dims[it] : 1;
        s[i] = dt == 1 && dims[i] != 1 ? 0 : st;
        st *= (size_t)dt;
    }
}

static void bcast_plan(es_graph *g, const es_node *nd, bcast *q)
{
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    int dims[ES_MAX_DIMS];
    int r = bcast_shape(a, b, dims);
    size_t sa[ES_MAX_DIMS], sb[ES_MAX_DIMS];
    es_bcast_strides(a, r, dims, sa);
    es_bcast_strides(b, r, dims, sb);
    q->r = 1, q->d[0] = 1, q->sa[0] = q->sb[0] = 0;
    int k = -1; /* merged dim being built */
    for (int i = 0; i < r; i++) {
        if (dims[i] == 1)
            continue; /* a 1-dim moves nothing */
        if (k >= 0 && q->sa[k] == sa[i] * dims[i] && q->sb[k] == sb[i] * dims[i]) {
            q->d[k] *= (size_t)dims[i]; /* dim k then dim i are one longer dim */
            q->sa[k] = sa[i], q->sb[k] = sb[i];
            continue;
        }
        k++;
        q->d[k] = (size_t)dims[i], q->sa[k] = sa[i], q->sb[k] = sb[i];
    }
    if (k >= 0)
        q->r = k + 1;
}

static int binary_shape(es_graph *g, es_node *nd)
{
    es_tensor *a = in_t(g, nd, 0), *b = in_t(g, nd, 1);
    int dims[ES_MAX_DIMS];
    int r = bcast_shape(a, b, dims);
    if (r < 0) {
        char sa[96] = "", sb[96] = "";
        for (int i = 0, o = 0; i < a->ndim && o < 80; i++)
            o += snprintf(sa + o, sizeof sa - o, i ? ",%d" : "%d", a->dims[i]);
        for (int i = 0, o = 0; i < b->ndim && o < 80; i++)
            o += snprintf(sb + o, sizeof sb - o, i ? ",%d" : "%d", b->dims[i]);
        return es_node_fail(nd, "shapes (%s) and (%s) do not broadcast", sa, sb);
    }
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}

typedef enum { ADD, SUB, MUL, DIV, PRELU } binop;

/* Offsets of A and B for every output element in C order, the last merged dim innermost:
 * calls body(o, ia, ib, n, sa, sb) once per run of the last dim. */
#define BCAST_WALK(q, body)                                                                  \
    do {                                                                                     \
        int r_ = (q)->r;                                                                     \
        size_t n_ = (q)->d[r_ - 1], sa_ = (q)->sa[r_ - 1], sb_ = (q)->sb[r_ - 1];            \
        size_t rows_ = 1, idx_[ES_MAX_DIMS] = {0}, ia_ = 0, ib_ = 0;                         \
        for (int i_ = 0; i_ < r_ - 1; i_++)                                                  \
            rows_ *= (q)->d[i_];                                                             \
        for (size_t row_ = 0; row_ < rows_; row_++) {                                        \
            size_t o_ = row_ * n_;                                                           \
            body(o_, ia_, ib_, n_, sa_, sb_);                                                \
            for (int i_ = r_ - 2; i_ >= 0; i_--) {                                           \
                ia_ += (q)->sa[i_], ib_ += (q)->sb[i_];                                      \
                if (++idx_[i_] < (q)->d[i_])                                                 \
                    break;                                                                   \
                ia_ -= (q)->sa[i_] * (q)->d[i_], ib_ -= (q)->sb[i_] * (q)->d[i_];            \
                idx_[i_] = 0;                                                                \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void binary_forward(es_graph *g, es_node *nd, binop op)
{
    bcast q;
    bcast_plan(g, nd, &q);
    const float *a = in_t(g, nd, 0)->data, *b = in_t(g, nd, 1)->data;
    float *y = out_t(g, nd, 0)->data;
#define FWD_ROW(o, ia, ib, n, sa, sb)                                                        \
    {                                                                                        \
        float *yr = y + (o);                                                                 \
        const float *ar = a + (ia), *br = b + (ib);                                          \
        switch (op) {                                                                        \
        case ADD: for (size_t j = 0; j < (n); j++) yr[j] = ar[j * (sa)] + br[j * (sb)]; break; \
        case SUB: for (size_t j = 0; j < (n); j++) yr[j] = ar[j * (sa)] - br[j * (sb)]; break; \
        case MUL: for (size_t j = 0; j < (n); j++) yr[j] = ar[j * (sa)] * br[j * (sb)]; break; \
        case DIV: for (size_t j = 0; j < (n); j++) yr[j] = ar[j * (sa)] / br[j * (sb)]; break; \
        case PRELU:                                                                          \
            for (size_t j = 0; j < (n); j++)                                                 \
                yr[j] = ar[j * (sa)] > 0 ? ar[j * (sa)] : br[j * (sb)] * ar[j * (sa)];       \
            break;                                                                           \
        }                                                                                    \
    }
    BCAST_WALK(&q, FWD_ROW);
#undef FWD_ROW
}

/* d(A op B)/dA and /dB at one element, times dy (PRelu: torch's prelu_backward, x > 0). */
static inline float dfa(binop op, float dy, float a, float b)
{
    return op == MUL ? dy * b : op == DIV ? dy / b : op == PRELU && !(a > 0) ? dy * b : dy;
}
static inline float dfb(binop op, float dy, float a, float b)
{
    if (op == PRELU)
        return a > 0 ? 0.0f : dy * a;
    return op == ADD ? dy : op == SUB ? -dy : op == MUL ? dy * a : -dy * a / (b * b);
}

/* One row's gradient of operand `second` (d: its grad, NULL when not wanted) at d[off + j·s].
 * Along a broadcast last dim (s = 0) the row's terms sum in double, then land once. */
static inline void row_grad(binop op, int second, float *d, size_t off, size_t s, const float *dyr,
                            const float *ar, size_t sa, const float *br, size_t sb, size_t n)
{
    if (!d)
        return;
    if (s) {
        for (size_t j = 0; j < n; j++)
            d[off + j * s] += second ? dfb(op, dyr[j], ar[j * sa], br[j * sb])
                                     : dfa(op, dyr[j], ar[j * sa], br[j * sb]);
        return;
    }
    double acc = 0;
    for (size_t j = 0; j < n; j++)
        acc += second ? dfb(op, dyr[j], ar[j * sa], br[j * sb]) : dfa(op, dyr[j], ar[j * sa], br[j * sb]);
    d[off] += (float)acc;
}

static void binary_backward(es_graph *g, es_node *nd, const es_pass *p, binop op)
{
    bcast q;
    bcast_plan(g, nd, &q);
    es_tensor *ta = in_t(g, nd, 0), *tb = in_t(g, nd, 1);
    const float *a = ta->data, *b = tb->data, *dy = out_t(g, nd, 0)->grad;
    int want_a = wants_grad(g, nd, 0, p), want_b = wants_grad(g, nd, 1, p);
    float *da = want_a ? ta->grad : NULL, *db = want_b ? tb->grad : NULL;
#define BWD_ROW(o, ia, ib, n, sa, sb)                                                        \
    {                                                                                        \
        const float *dyr = dy + (o), *ar = a + (ia), *br = b + (ib);                         \
        row_grad(op, 0, da, ia, sa, dyr, ar, sa, br, sb, n);                                 \
        row_grad(op, 1, db, ib, sb, dyr, ar, sa, br, sb, n);                                 \
    }
    BCAST_WALK(&q, BWD_ROW);
#undef BWD_ROW
}

#define BINARY_OP(fam, OP)                                                                     \
    int es_##fam##_shape(es_graph *g, es_node *nd) { return binary_shape(g, nd); }                \
    void es_##fam##_forward(es_graph *g, es_node *nd, const es_pass *p) { binary_forward(g, nd, OP); } \
    void es_##fam##_backward(es_graph *g, es_node *nd, const es_pass *p) { binary_backward(g, nd, p, OP); }
BINARY_OP(add, ADD)
BINARY_OP(sub, SUB)
BINARY_OP(mul, MUL)
BINARY_OP(div, DIV)

/* PRelu: the slope broadcasts to x (ONNX's unidirectional broadcasting), never x to it. */
int es_prelu_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0), *y = out_t(g, nd, 0);
    if (binary_shape(g, nd) != 0)
        return -1;
    int same = y->ndim == x->ndim;
    for (int i = 0; same && i < x->ndim; i++)
        same = y->dims[i] == x->dims[i];
    return same ? 0 : es_node_fail(nd, "the slope does not broadcast to the input's shape");
}
void es_prelu_forward(es_graph *g, es_node *nd, const es_pass *p) { binary_forward(g, nd, PRELU); }
void es_prelu_backward(es_graph *g, es_node *nd, const es_pass *p) { binary_backward(g, nd, p, PRELU); }

/* ---- Sigmoid: 1/(1+e^−x), written so that neither branch overflows --------------------- */
int es_sigmoid_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

void es_sigmoid_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data;
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (size_t i = 0; i < x->size; i++) {
        float v = x->data[i];
        if (v >= 0) {
            y[i] = 1.0f / (1.0f + expf(-v));
        } else {
            float e = expf(v);
            y[i] = e / (1.0f + e);
        }
    }
}

void es_sigmoid_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0), *t = out_t(g, nd, 0);
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += t->grad[i] * t->data[i] * (1.0f - t->data[i]);
}

/* ---- the binary ops' import --------------------------------------------------------------- */
/* An operand's kind: a vector initializer is most likely a trained bias or scale (the bias of
 * a Linear on (N, T, C) is MatMul + Add), so PARAM; scalars and constants that Constant nodes
 * or folds made (0.5, 2.0, a normalisation) are STATE. */
static es_tensor_kind operand_kind(es_importer *m, const Onnx__NodeProto *nd, int k)
{
    es_onnx_const *c = es_import_const(m, nd, k);
    return c && c->initializer && c->n > 1 ? ES_T_PARAM : ES_T_STATE;
}

int es_binary_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[2];
    if (nd->n_input != 2)
        return es_import_fail(nd, "wants 2 inputs", NULL);
    if (es_import_input(m, nd, 0, operand_kind(m, nd, 0), &in[0]) != 0 ||
        es_import_input(m, nd, 1, operand_kind(m, nd, 1), &in[1]) != 0)
        return -1;
    if (in[0] < 0 || in[1] < 0)
        return es_import_fail(nd, "wants 2 inputs", NULL);
    return es_import_add(m, nd, NULL, op, NULL, 2, in, es_import_out(nd));
}

/* PRelu: the data and its slope, a trained PARAM (an initializer, (C,1,1) from PyTorch). */
int es_prelu_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[3]; /* ONNX's PRelu has no third input: in[2] stays -1 */
    if (es_import_xwb(m, nd, in, "no slope") < 0)
        return -1;
    return es_import_add(m, nd, NULL, op, NULL, 2, in, es_import_out(nd));
}

/* PyTorch's nn.PReLU starts at 0.25. */
void es_prelu_init(es_graph *g, es_node *n, es_init kind)
{
    es_tensor *s = in_t(g, n, 1);
    for (size_t i = 0; s->kind == ES_T_PARAM && i < s->size; i++)
        s->data[i] = 0.25f;
}
