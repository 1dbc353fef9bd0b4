/* nn internals: the graph's structs, the op attributes and the op table. Only the files in nn/
 * (and white-box tests) include this; everything else uses es_nn.h. */
#ifndef ES_NN_GRAPH_H
#define ES_NN_GRAPH_H
#include "nn/es_nn.h"
#include <stddef.h>
#include <stdint.h>

/* ---- op attributes: each family's own, ONNX's names ------------------------------------ */
/* Conv and the pools (conv.c, pool.c): one entry per spatial dim (1 for 1-D, 2 for 2-D); 0 in
 * kernel means "from the weight"; pads: the begin of each spatial dim, then the end of each. */
typedef struct {
    int kernel[3], stride[3], dilation[3];
    int pads[6];
} es_window;
typedef struct { es_window w; int group, out_pad[3]; } es_conv_attrs; /* out_pad: ConvTranspose */
typedef struct { es_window w; int ceil_mode, count_include_pad; } es_pool_attrs;
typedef struct { int trans_a, trans_b; float alpha, beta; } es_gemm_attrs; /* gemm.c */
/* batchnorm.c: running = running·momentum + batch·(1−momentum) */
typedef struct { float epsilon, momentum; } es_batchnorm_attrs;
typedef struct { float alpha; } es_leakyrelu_attrs;      /* relu.c: the slope below 0 */
/* relu.c: plain = 1: the true gradient under every ReLU rule — the Relus a Clip (ReLU6) is
 * lowered to, and a PyTorch export's functional relus (onnx_import.c, functional_relu), which
 * Captum's rules (hooks on nn.ReLU only) leave alone */
typedef struct { int plain; } es_relu_attrs;
typedef struct { int axis; } es_axis_attrs;              /* Softmax, LogSoftmax, Concat, Flatten */
typedef struct { float ratio; } es_dropout_attrs;        /* dropout.c: P(a unit is dropped) */
typedef struct { int pads[2 * ES_MAX_DIMS]; float value; } es_pad_attrs; /* all dims; the constant */
/* shape_ops.c: Reshape's shape, Transpose's perm, (Un)Squeeze's axes */
typedef struct { int list[ES_MAX_DIMS], n_list; } es_dims_attrs;
typedef struct { float alpha, beta; } es_hardsigmoid_attrs; /* activation.c: max(0, min(1, αx + β)) */
typedef struct { float exponent; } es_pow_attrs;            /* activation.c: x^exponent */
typedef struct { int axis; float epsilon; } es_layernorm_attrs; /* layernorm.c: over dims axis.. */
/* slice.c: per dim, ONNX's start, end and step before clamping */
typedef struct { int start[ES_MAX_DIMS], end[ES_MAX_DIMS], step[ES_MAX_DIMS]; } es_slice_attrs;
/* rnn.c (GRU, LSTM): direction 0 forward, 1 reverse, 2 bidirectional; layout 0 [T,N,I], 1
 * [N,T,I]; output: which ONNX output the node computes (0 Y, 1 Y_h, 2 Y_c) */
typedef struct { int hidden, direction, layout, linear_before_reset, output; } es_rnn_attrs;

/* A node's attributes: the member of its op's family. */
typedef union {
    es_conv_attrs conv;
    es_pool_attrs pool;
    es_gemm_attrs gemm;
    es_batchnorm_attrs bn;
    es_leakyrelu_attrs leaky;
    es_relu_attrs relu;
    es_axis_attrs axis;
    es_dropout_attrs dropout;
    es_pad_attrs pad;
    es_dims_attrs dims;
    es_hardsigmoid_attrs hsig;
    es_pow_attrs pow;
    es_layernorm_attrs ln;
    es_slice_attrs slice;
    es_rnn_attrs rnn;
} es_attrs;

typedef struct {
    char *name;
    es_tensor_kind kind;
    int ndim, dims[ES_MAX_DIMS];
    size_t size, cap;  /* elements now / allocated in data (not activations: the arena's) */
    float *data, *grad; /* an activation's data, and any grad, may be in the arena (plan.c) */
    float *grad_slot;  /* the plan's place for the gradient (NULL: gown is used) */
    float *gown;       /* a gradient's own buffer (inputs, parameters, wanted, the seed), gcap */
    size_t gcap;
    int pinned;        /* es_graph_pin: the data stays readable after a pass */
    int data_until, grad_until; /* the step at which the plan reuses data's / grad_slot's memory */
    int zeroed;        /* scratch of es_backward: the gradient holds this pass's sums (cleared or
                        * stored whole by its first writer, es_pass.fresh) */
    int producer;      /* node id for activations, else -1 */
    int needs_grad;    /* set by es_backward: on the path of the current pass */
    int upstream;      /* scratch of es_backward: feeds the tensor it starts from */
    int want_grad;     /* es_graph_want_grad: a leaf of every backward pass */
    int grad_fresh;    /* grad holds the last backward pass's gradient (it reached t) */
    int is_output;     /* 0, or its place among the graph outputs from 1 (ONNX's order) */
} es_tensor;

typedef struct {
    char *name;
    es_op_type op;
    es_attrs a;
    int n_in, n_out;
    int *in, *out;     /* tensor ids; in[k] == -1 for an omitted optional input */
    /* What backward needs from forward (max-pool argmax, dropout mask, batch-norm batch
     * mean / inverse std). Sized by the op's shape(); allocated once by the graph. */
    size_t aux_bytes;
    void *aux;
    size_t ws_need;    /* workspace floats its op asks for (shape() raises g->ws_need) */
    size_t ws_off[2];  /* the workspace's place in the arena, forward and backward */
    /* plan.c: 1 + the node this one is fused with, 0 none. A BatchNormalization whose output
     * only a Relu reads (and nobody pinned, wants or outputs) computes that Relu too, forward
     * (writing the Relu's bit mask) and backward (applying the pass's rule, or the true
     * gradient for a plain Relu); the Relu's output is the BN output's memory and the Relu
     * node itself does nothing. */
    int fused_with;
} es_node;

/* What one forward/backward pass is asked to do. */
typedef struct {
    es_mode mode;
    es_relu_rule rule;
    int param_grads; /* compute gradients of PARAM tensors too */
    /* Backward: bit k set = input k's gradient holds nothing of this pass yet (an arena slot
     * not cleared); the op stores every element of it instead of adding. Only ops that
     * es_op_stores_grad names get bits. */
    unsigned fresh;
} es_pass;

/* Whether op's backward honours es_pass.fresh for input k (a gradient it writes whole). */
int es_op_stores_grad(es_op_type op, int k);

/* The ReLU rule a Relu node applies in pass p: the pass's, but the true gradient for a plain
 * Relu (es_relu_attrs) — relu.c, and batchnorm.c for the Relu fused into it. */
static inline es_relu_rule es_relu_node_rule(const es_node *relu, const es_pass *p)
{
    return relu->a.relu.plain ? ES_RELU_STANDARD : p->rule;
}

static inline int es_fresh(const es_pass *p, int k) { return k < 32 && (p->fresh >> k & 1); }

/* dst = v when storing (es_pass.fresh), dst += v else; `store` is the same for a whole loop,
 * which the compiler then splits in two. */
static inline void es_put_grad(float *dst, float v, int store) { *dst = store ? v : *dst + v; }

struct es_graph {
    es_tensor *t;
    int nt, cap_t;
    es_node *n;
    int nn, cap_n;
    float *ws;          /* the running node's workspace (im2col columns), ws_size floats */
    size_t ws_size, ws_need; /* ws_need: the largest of any node's */
    /* the memory plan (plan.c): what it keeps (es_graph_plan), whether it fits the current
     * shapes, pins and mode, its arena; step: the last step run (forward of node i is step i,
     * backward of node i step 2·nn−1−i; -1: none since the plan was made) */
    int plan_what, planned, step;
    es_mode plan_mode;
    float *arena;
    size_t arena_cap, plan_bytes, plan_lower;
    uint64_t rng[2];    /* xorshift128+ state */
    es_mode last_mode;
    int forwarded;      /* a forward has run since the last change */
    uint64_t passes;    /* es_forward calls so far (es_graph_forward_id) */
    uint64_t writes, fwd_writes; /* times inputs, parameters or state may have been written
                                  * (es_graph_touched), and that count at the last forward */
};

/* The op table (kann's kad_op_list), made from nn/ops.def. shape() checks the inputs, sets
 * output dims and node->aux_bytes, and raises g->ws_need; it is the only place an op may fail.
 * forward/backward cannot fail and allocate nothing. backward adds (+=) into the grad of
 * each input whose needs_grad is set; grads of PARAMs only when pass->param_grads.
 * The ONNX hooks (nn/onnx_hooks.h) and init are the op's own too: import turns an ONNX node
 * into the op's attributes and inputs (adding the node), export writes the attributes back. */
typedef struct es_importer es_importer;
typedef struct es_exporter es_exporter;
struct Onnx__NodeProto;
typedef struct {
    const char *name; /* the ONNX op_type */
    int min_in, max_in;
    int (*shape)(es_graph *g, es_node *n);
    void (*forward)(es_graph *g, es_node *n, const es_pass *p);
    void (*backward)(es_graph *g, es_node *n, const es_pass *p);
    const es_attrs *defaults;
    int (*import)(es_importer *m, const struct Onnx__NodeProto *nd, es_op_type op);
    int (*export)(es_exporter *x, const es_graph *g, const es_node *n);
    void (*init)(es_graph *g, es_node *n, es_init kind);
} es_op;

extern const es_op es_ops[ES_OP_COUNT];

/* Each row's functions, defined in the op's own file (the hooks several ops share in ops.c). */
#define ES_OP(id, fam, onnx, lo, hi, at, im, ex, ini)                                       \
    int es_##fam##_shape(es_graph *g, es_node *n);                                        \
    void es_##fam##_forward(es_graph *g, es_node *n, const es_pass *p);                   \
    void es_##fam##_backward(es_graph *g, es_node *n, const es_pass *p);                  \
    extern const es_attrs es_##at##_defaults;                                             \
    int es_##im##_import(es_importer *m, const struct Onnx__NodeProto *nd, es_op_type op);\
    int es_##ex##_export(es_exporter *x, const es_graph *g, const es_node *n);            \
    void es_##ini##_init(es_graph *g, es_node *n, es_init kind);
#include "nn/ops.def"
#undef ES_OP

/* The ReLU rule (es_nn.h) for one element: the gradient Relu passes down, given dy and
 * whether the unit passed forward (relu.c's loops, one element at a time). */
static inline float es_relu_rule_grad(es_relu_rule r, int on, float dy)
{
    if (r == ES_RELU_STANDARD)
        return on ? dy : 0.0f;
    if (r == ES_RELU_GUIDED)
        return !on || dy <= 0 ? 0.0f : dy;
    return dy <= 0 ? 0.0f : dy;
}
/* y[0..n) = relu(y) in place, setting the bits of elements off..off+n of mask (zeroed by the
 * caller): words shared with a neighbouring span are or-ed atomically, so spans may run in
 * parallel. */
void es_relu_span(float *y, size_t off, size_t n, uint32_t *mask);
/* conv_direct.c: a stride-1 conv of thin layers on zero-padded planes, in registers.
 * y[m][p] = Σ_c Σ_t w[m][c][t] · x[c·plane + p + off[t]] for p < n rounded up to
 * ES_CONV_DIRECT_BLOCK, rows of y ys >= that apart; x readable ES_CONV_DIRECT_BLOCK floats
 * past its last plane. wk: the kernel (m, c, taps) as es_conv_direct_pack lays it out
 * (m·c·taps floats). */
#ifdef __AVX512F__ /* pixels a block of the kernel computes: 4 vectors of 16, or 2 of 8 */
#define ES_CONV_DIRECT_BLOCK 64
#else
#define ES_CONV_DIRECT_BLOCK 16
#endif
void es_conv_direct_pack(const float *w, int m, int c, int taps, float *wk);
void es_conv_direct(const float *x, size_t plane, int c, int taps, const int *off,
                    const float *wk, int m, float *y, size_t ys, int n);
/* Whether node n is a Relu that the BatchNormalization before it computes (plan.c). */
static inline int es_node_absorbed(const es_node *n) { return n->op == ES_OP_RELU && n->fused_with; }

/* Makes the memory plan (plan.c) for the current shapes, pins and es_graph_plan, for passes in
 * `mode`: points activations, planned gradients and workspaces into the arena. */
int es_plan_make(es_graph *g, es_mode mode);

/* ---- building nodes --------------------------------------------------------------------- */
/* The defaults of op's attributes (ONNX's). */
void es_op_defaults(es_op_type op, es_attrs *a);
/* Adds a node of `op` reading tensors in[0..n_in) (an id of -1 is an omitted optional
 * input) and producing n_out new activation tensors named out_names[k] (NULL: derived from
 * the node name). a: the op's attributes (NULL: its defaults). Shapes are inferred at once.
 * Returns the node id or -1. */
int es_node_add(es_graph *g, es_op_type op, const char *name, const es_attrs *a, int n_in,
                const int *in, int n_out, const char *const *out_names);
const es_attrs *es_node_attrs(const es_graph *g, int node);

/* Helpers for ops. */
static inline es_tensor *in_t(es_graph *g, const es_node *n, int k)
{
    return k < n->n_in && n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
}
static inline es_tensor *out_t(es_graph *g, const es_node *n, int k) { return &g->t[n->out[k]]; }
/* Whether backward must produce the gradient of input k. */
static inline int wants_grad(es_graph *g, const es_node *n, int k, const es_pass *p)
{
    es_tensor *t = in_t(g, n, k);
    return t && t->needs_grad && (t->kind != ES_T_PARAM || p->param_grads);
}
/* Walks y (rank r, dims yd, ny values) in C order, the element of x it maps to at off plus
 * Σ index[i]·st[i]: y = x there, or with back x += y there (shape_ops.c; Transpose, Slice). */
void es_strided_walk(int r, const int *yd, size_t ny, long off, const long *st, float *x,
                     float *y, int back);
/* Element strides of t (rank <= r) read as shape dims (rank r, NumPy broadcasting: 0 along a
 * dim t is broadcast over) (elementwise.c; the binary ops, MatMul's batch dims). */
void es_bcast_strides(const es_tensor *t, int r, const int *dims, size_t *s);
/* Sets an output's shape (the graph sizes its buffers later). */
void es_set_shape(es_tensor *t, int ndim, const int *dims);
/* Fails with "node NAME (Op): message". */
int es_node_fail(const es_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Uniform in [0,1) from the graph's RNG; standard normal. */
double es_rand_uniform(es_graph *g);
double es_rand_normal(es_graph *g);
/* For the init hooks: fills weight w (when it is a PARAM) He-normal or Xavier-uniform from the
 * graph's RNG, dims[out_dim] its outputs and the other of its first two dims its inputs, and
 * zeroes bias b (may be NULL) when it is a PARAM. */
void es_init_weight(es_graph *g, es_tensor *w, es_tensor *b, int out_dim, es_init kind);

#endif
