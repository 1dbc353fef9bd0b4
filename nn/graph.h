/* nn internals: the graph's structs and the op table. Only the files in nn/ include this; everything
 * outside nn/ uses es_nn.h. */
#ifndef ES_NN_GRAPH_H
#define ES_NN_GRAPH_H
#include "nn/es_nn.h"
#include <stddef.h>

typedef struct {
    char *name;
    es_tensor_kind kind;
    int ndim, dims[ES_MAX_DIMS];
    size_t size, cap;  /* elements now / allocated for data and grad */
    float *data, *grad;
    int producer;      /* node id for activations, else -1 */
    int needs_grad;    /* set by es_backward: on the path of the current pass */
    int upstream;      /* scratch of es_backward: feeds the tensor it starts from */
    int want_grad;     /* es_graph_want_grad: a leaf of every backward pass */
    int is_output;
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
} es_node;

/* What one forward/backward pass is asked to do. */
typedef struct {
    es_mode mode;
    es_relu_rule rule;
    int param_grads; /* compute gradients of PARAM tensors too */
} es_pass;

struct es_graph {
    es_tensor *t;
    int nt, cap_t;
    es_node *n;
    int nn, cap_n;
    float *ws;          /* shared workspace (im2col columns), ws_size floats */
    size_t ws_size, ws_need;
    uint64_t rng[2];    /* xorshift128+ state */
    es_mode last_mode;
    int forwarded;      /* a forward has run since the last change */
};

/* The op table (kann's kad_op_list, ONNX-named). shape() checks the inputs, sets output
 * dims and node->aux_bytes, and raises g->ws_need; it is the only place an op may fail.
 * forward/backward cannot fail and allocate nothing. backward adds (+=) into the grad of
 * each input whose needs_grad is set; grads of PARAMs only when pass->param_grads. */
typedef struct {
    const char *name;
    int min_in, max_in;
    int (*shape)(es_graph *g, es_node *n);
    void (*forward)(es_graph *g, es_node *n, const es_pass *p);
    void (*backward)(es_graph *g, es_node *n, const es_pass *p);
} es_op;

extern const es_op es_ops[ES_OP_COUNT];

/* Per-family op functions, defined in their own files and listed in ops.c. */
#define ES_DECLARE_OP(fam)                                                  \
    int fam##_shape(es_graph *g, es_node *n);                               \
    void fam##_forward(es_graph *g, es_node *n, const es_pass *p);          \
    void fam##_backward(es_graph *g, es_node *n, const es_pass *p);
ES_DECLARE_OP(conv) ES_DECLARE_OP(gemm) ES_DECLARE_OP(matmul) ES_DECLARE_OP(batchnorm)
ES_DECLARE_OP(relu) ES_DECLARE_OP(leakyrelu) ES_DECLARE_OP(sigmoid) ES_DECLARE_OP(softmax)
ES_DECLARE_OP(logsoftmax) ES_DECLARE_OP(maxpool) ES_DECLARE_OP(avgpool) ES_DECLARE_OP(gap)
ES_DECLARE_OP(pad) ES_DECLARE_OP(concat) ES_DECLARE_OP(add) ES_DECLARE_OP(sub)
ES_DECLARE_OP(mul) ES_DECLARE_OP(div) ES_DECLARE_OP(dropout) ES_DECLARE_OP(flatten)
ES_DECLARE_OP(reshape) ES_DECLARE_OP(identity) ES_DECLARE_OP(transpose)
ES_DECLARE_OP(squeeze) ES_DECLARE_OP(unsqueeze)

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
/* Sets an output's shape (the graph sizes its buffers later). */
void es_set_shape(es_tensor *t, int ndim, const int *dims);
/* Fails with "node NAME (Op): message". */
int es_node_fail(const es_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Uniform in [0,1) from the graph's RNG; standard normal. */
double es_rand_uniform(es_graph *g);
double es_rand_normal(es_graph *g);

#endif
