/* earsight nn: a trained-network core — float32 NCHW tensors in a graph of named nodes
 * (a DAG in topological order, shaped like ONNX), forward, backward with a ReLU rule for
 * explanations, losses, initialisation and optimizers.
 *
 * Ownership: the graph owns every tensor and node; pointers returned by accessors stay
 * valid until the graph is changed (a node added, the batch resized, a pin or the memory
 * plan changed) or freed; an activation's or its gradient's contents, until the next pass.
 * Errors: functions return -1 (or NULL) and leave a one-line message in es_error().
 * Threads: one graph is used by one thread at a time; ops use OpenMP / OpenBLAS inside. */
#ifndef ES_NN_H
#define ES_NN_H
#include "base/es_base.h"
#include <stdint.h>

typedef struct es_graph es_graph;

typedef enum {
    ES_T_INPUT, /* fed by the caller (first dim is the batch) */
    ES_T_PARAM, /* trainable initializer: weights, biases, batch-norm scale and shift */
    ES_T_STATE, /* non-trainable initializer: batch-norm running mean and variance */
    ES_T_ACT,   /* produced by a node */
} es_tensor_kind;

/* How backward passes through ReLU (DESIGN.md §2). With d_out the incoming gradient:
 * STANDARD  d_in = d_out·[x>0]            — the true gradient
 * GUIDED    d_in = d_out·[x>0]·[d_out>0]  — guided backprop (Springenberg et al.)
 * DECONVNET d_in = max(d_out, 0)          — deconvnet (Zeiler & Fergus)
 * NaN as PyTorch and captum: relu(NaN) = NaN, [x>0] is read "not x <= 0" (so a NaN x passes
 * d_out) and max(NaN, 0) = NaN. */
typedef enum { ES_RELU_STANDARD, ES_RELU_GUIDED, ES_RELU_DECONVNET } es_relu_rule;

typedef enum { ES_TEST = 0, ES_TRAIN = 1 } es_mode;

/* Every operator, named as ONNX names it (one row each in nn/ops.def). */
typedef enum {
#define ES_OP(id, ...) ES_OP_##id,
#include "nn/ops.def"
#undef ES_OP
    ES_OP_COUNT
} es_op_type;

/* The op for an ONNX op_type ("Conv"), or -1. */
int es_op_find(const char *onnx_name);
const char *es_op_name(es_op_type op);

/* ---- building a graph ---------------------------------------------------------------- */
es_graph *es_graph_new(void);
void es_graph_free(es_graph *g);

/* Adds a tensor; dims include the batch for inputs. data is copied (NULL: zeros).
 * Returns the tensor id (>= 0) or -1 (duplicate name, bad shape). */
int es_tensor_add(es_graph *g, const char *name, es_tensor_kind kind, int ndim, const int *dims,
                  const float *data);
/* Marks a tensor as a graph output (ONNX graph.output), after those marked before. */
int es_graph_mark_output(es_graph *g, int tensor);
/* Makes an output the first (the one predicted and explained); the others keep their order. */
int es_graph_output_first(es_graph *g, int tensor);

/* ---- the builder: one line a layer, in the spirit of Lasagne -------------------------- *
 * Each takes the id of the tensor to build on and returns the new layer's output id, or -1;
 * given -1 it returns -1 at once, so a chain can be checked once at its end. Weights start
 * at zero: call es_graph_init after building. Names must be unique. */
int es_input(es_graph *g, const char *name, int ndim, const int *dims); /* dims without batch */
int es_dense(es_graph *g, const char *name, int x, int units);          /* flattens if needed */
/* Conv over (N,C,L) when k[1] is 0 or x is 3-D, else (N,C,H,W). pad < 0: "same" padding. */
int es_conv(es_graph *g, const char *name, int x, int maps, int kh, int kw, int stride, int pad,
            int bias);
int es_batchnorm(es_graph *g, const char *name, int x);
int es_relu(es_graph *g, const char *name, int x);
int es_dropout(es_graph *g, const char *name, int x, float ratio);
int es_maxpool(es_graph *g, const char *name, int x, int kh, int kw);
int es_avgpool(es_graph *g, const char *name, int x, int kh, int kw);
int es_global_avgpool(es_graph *g, const char *name, int x); /* (N,C,…) -> (N,C) */
int es_concat(es_graph *g, const char *name, int a, int b);  /* along channels */
int es_add(es_graph *g, const char *name, int a, int b);
int es_softmax(es_graph *g, const char *name, int x);
int es_sigmoid(es_graph *g, const char *name, int x);

/* The Bird Audio Detection 2017 DenseNet (Pellegrini): depth 19, 32 first maps, growth 15,
 * 3 blocks of 5 BN-ReLU-Conv3x3, transitions BN-ReLU-Conv1x1 + 2x2 average pooling,
 * BN-ReLU, global average pooling, dense to n_classes. Input 1 x frames x mels (200 x 56 in
 * the study). With softmax, a Softmax node follows the logits. 328,004 parameters. */
es_graph *es_build_bad_densenet(int frames, int mels, int n_classes, int softmax);

/* ---- looking at a graph ---------------------------------------------------------------- */
int es_graph_n_tensors(const es_graph *g);
int es_graph_n_nodes(const es_graph *g);
int es_tensor_find(const es_graph *g, const char *name); /* id or -1 (no error set) */
const char *es_tensor_name(const es_graph *g, int t);
es_tensor_kind es_tensor_kind_of(const es_graph *g, int t);
int es_tensor_shape(const es_graph *g, int t, int *dims); /* returns ndim, fills dims */
size_t es_tensor_size(const es_graph *g, int t);
float *es_tensor_data(es_graph *g, int t);
/* The gradient the last es_backward computed for t; NULL (and es_error) when that pass did not
 * reach t, even if an earlier one did: a gradient is never stale. */
float *es_tensor_grad(es_graph *g, int t);
/* Graph inputs (kind INPUT) and outputs (in the order marked, or the last node's first
 * output when none is). */
int es_graph_inputs(const es_graph *g, int *ids, int max);
int es_graph_outputs(const es_graph *g, int *ids, int max);
es_op_type es_node_op(const es_graph *g, int node);
/* A Transpose node's permutation (out dim i is input dim perm[i]; ONNX's default reverses the
 * dims): fills perm, returns the rank; -1 for another op. */
int es_node_perm(const es_graph *g, int node, int *perm);
const char *es_node_name(const es_graph *g, int node);
int es_node_inputs(const es_graph *g, int node, const int **ids);  /* returns the count */
int es_node_outputs(const es_graph *g, int node, const int **ids); /* returns the count */
int es_node_producing(const es_graph *g, int tensor); /* node id, or -1 for non-activations */
/* Number of trainable parameters (the elements of all PARAM tensors). */
size_t es_graph_n_params(const es_graph *g);
/* Every parameter and running statistic (PARAM and STATE tensors, in graph order — a PyTorch
 * state_dict's order for an imported model) copied into buf (save) or from buf into the graph
 * (!save). buf NULL only counts. Returns the count of values. */
size_t es_graph_state_copy(es_graph *g, float *buf, int save);

/* ---- running ------------------------------------------------------------------------ */
/* Sets the batch size (first dim of every input); re-infers shapes. */
int es_graph_set_batch(es_graph *g, int n);
/* Computes every node in order. TRAIN: batch statistics (and running averages updated),
 * dropout active with the graph's RNG. TEST: running statistics, dropout is identity. */
int es_forward(es_graph *g, es_mode mode);
/* Which pass the activations the graph holds are from: 0 when none is (no forward since the
 * last change of batch, plan, pins or nodes, or since an input, parameter or running statistic
 * may have been written: es_tensor_data of one, a state copy in, an optimizer step,
 * initialisation), else a number every es_forward changes. A caller that notes it after its
 * forward pass can tell later whether they are still its pass's, and run more backward passes
 * from them without a forward of its own. */
uint64_t es_graph_forward_id(const es_graph *g);
/* Says that the graph's inputs, parameters or state were written other than through the
 * calls above (es_graph_forward_id becomes 0 until the next forward). */
void es_graph_touched(es_graph *g);

enum {
    ES_GRAD_INPUTS = 1, /* gradients of the graph inputs (saliency) */
    ES_GRAD_PARAMS = 2, /* gradients of the parameters (training) */
};
/* Backward from tensor `from`, whose gradient is seeded with `seed` (es_tensor_size floats;
 * NULL: all ones). Follows the last es_forward, with its mode. Gradients of every tensor on
 * the way are recomputed from zero. `what` says which leaves need gradients. */
int es_backward(es_graph *g, int from, const float *seed, es_relu_rule rule, int what);

/* Asks backward passes for the gradient of tensor t as well (on = 1) or no more (on = 0).
 * Such a tensor is a leaf like the inputs: with what = 0, es_backward computes the
 * gradients from `from` down to t and stops there (Grad-CAM's layer). */
int es_graph_want_grad(es_graph *g, int t, int on);

/* ---- the memory plan (nn/plan.c) -------------------------------------------------------- *
 * Activations, their gradients and the ops' workspaces share one arena whose offsets come from
 * liveness: a buffer is reused as soon as its last reader has run. What the plan keeps decides
 * which passes the graph can run:
 *   0                 forward only (inference): nothing is kept for backward;
 *   ES_GRAD_INPUTS    forward, then backward to the inputs or wanted tensors (saliency);
 *   ES_GRAD_PARAMS    forward, then any backward (training) — the default;
 *   ES_PLAN_KEEP_ALL  nothing reused: every activation and gradient stays readable.
 * After a pass, es_tensor_data of an activation whose memory was reused is NULL with an
 * es_error: pin (before the pass) every inner tensor you read after it. Graph outputs are
 * always kept. Changing the plan or a pin takes effect at the next pass. */
enum { ES_PLAN_KEEP_ALL = 4 };
/* Both return the previous setting (what, or 0/1 for a pin), so a caller can restore it; -1 on
 * a bad argument. Pin on = 1: keep t's data readable after every pass; 0: no more. */
int es_graph_plan(es_graph *g, int what);
int es_graph_pin(es_graph *g, int t, int on);
/* Bytes of the arena and the liveness lower bound (the most bytes live at one step, which no
 * placement can beat) of the plan for the current batch: the last pass's, or one made now for
 * ES_TEST. 0 on failure (es_error). */
size_t es_graph_arena_bytes(es_graph *g);
size_t es_graph_arena_lower_bound(es_graph *g);
/* Bytes one more sample of the batch costs under plan `what` in ES_TEST: the arena's growth
 * from batch 2 to 3, plus the sample's input (and its gradient). Leaves the batch as it was.
 * 0 on failure (es_error). */
size_t es_graph_bytes_per_sample(es_graph *g, int what);

/* Seeds the graph's RNG (dropout masks, initialisation). */
void es_graph_seed(es_graph *g, uint64_t seed);

/* Checks backward against central finite differences (kann's kad_check_grad): the gradient
 * of L = Σ seed·out (seed: fixed pseudo-random ±, so no gradient cancels by symmetry) with
 * respect to tensor `wrt` (an input or a parameter), at up to max_checks of its elements,
 * with step h by a five-point stencil; L is accumulated in double. The RNG is re-seeded before every forward, so
 * dropout masks repeat. Returns the largest |analytic − numeric| / max(|analytic|,
 * |numeric|, 0.01) — the floor keeps float32 rounding in near-zero gradients from reading
 * as error — or -1 on failure. Linear ops are exact for any h: use a large one (0.5). */
double es_grad_check(es_graph *g, int wrt, int out, es_mode mode, int max_checks, double h);

/* ---- training ------------------------------------------------------------------------ */
/* Initialises parameters: conv/dense weights He-normal (fan in, ReLU gain) or Xavier-
 * uniform, biases 0, batch-norm scale 1 / shift 0, running mean 0 / variance 1. */
typedef enum { ES_INIT_HE, ES_INIT_XAVIER } es_init;
int es_graph_init(es_graph *g, es_init kind, uint64_t seed);

/* Mean softmax cross-entropy over n rows of c logits; dlogits (may be NULL) gets its
 * gradient, (softmax − onehot)/n. */
float es_softmax_xent(const float *logits, const int *labels, int n, int c, float *dlogits);
/* Mean sigmoid binary cross-entropy of n logits against targets in [0,1], stable for large
 * |logit|; dlogits (may be NULL) gets (sigmoid − target)/n. */
float es_sigmoid_bce(const float *logits, const float *targets, int n, float *dlogits);

typedef enum { ES_SGD, ES_ADAM } es_optim_kind;
typedef struct {
    es_optim_kind kind;
    float lr;
    float momentum;     /* SGD; 0 = plain SGD */
    int nesterov;       /* SGD: Nesterov momentum, as torch.optim.SGD(nesterov=True) */
    float beta1, beta2, eps; /* Adam */
    float weight_decay; /* L2: adds weight_decay·w to each weight's gradient (torch's rule) */
    /* es_train_step forwards in TEST mode: batch norm normalises with its running statistics
     * and leaves them as they are, dropout is off (torch's model.eval() while fine-tuning).
     * A trained model then keeps the function it has on the first step, which TRAIN mode's
     * batch statistics of a new data mix would change at once. */
    int frozen_stats;
} es_optim_config;
typedef struct es_optimizer es_optimizer;
/* Defaults: SGD lr 0.01 momentum 0.9 Nesterov; Adam lr 1e-3, betas 0.9/0.999, eps 1e-8. */
es_optim_config es_optim_default(es_optim_kind kind);
es_optimizer *es_optimizer_new(es_graph *g, const es_optim_config *c);
void es_optimizer_free(es_optimizer *o);
/* One update of every parameter from its gradient (after es_backward with ES_GRAD_PARAMS). */
int es_optimizer_step(es_optimizer *o);
/* The learning rate of the next steps (a schedule sets it before each step); the moments are
 * kept, as when torch's schedulers change a param group's lr. */
void es_optimizer_set_lr(es_optimizer *o, float lr);

/* One mini-batch: forward in TRAIN mode (TEST with frozen_stats) on x (batch n), softmax
 * cross-entropy on the `logits` tensor against labels, backward, optimizer step. Returns 0,
 * the mean loss in *loss and the number of correct argmax predictions in *correct (either may
 * be NULL). */
int es_train_step(es_graph *g, es_optimizer *o, int input, const float *x, int n, int logits,
                  const int *labels, float *loss, int *correct);

/* Precise batch-norm statistics: a forward pass in TRAIN mode on x (batch n) after which every
 * batch-norm node's running mean and variance are the mean of this batch's statistics and those
 * of the k−1 batches passed before it with k = 1, 2, … (k = 1 starts over). The running
 * averages of training follow the last few hundred windows of weights that kept changing;
 * these follow the weights as they are. Parameters are not touched. Returns 0 or -1. */
int es_bn_precise(es_graph *g, int input, const float *x, int n, int k);

/* ---- metrics ------------------------------------------------------------------------- */
/* ROC of scores against 0/1 truths (ties move the curve diagonally; sklearn's roc_auc_score).
 * fpr, tpr (may be NULL) get up to n+1 points from (0,0) to (1,1); *auc (may be NULL) the
 * area. Returns the number of points, or -1 when there are no positives or no negatives. */
int es_roc_curve(const float *score, const int *positive, int n, float *fpr, float *tpr,
                 double *auc);
/* The area under the ROC curve, or -1 (no positives or no negatives). */
double es_roc_auc(const float *score, const int *positive, int n);

#endif
