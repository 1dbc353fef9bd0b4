/* earsight ONNX: models in and out.
 *
 *   es_onnx_load   reads an ONNX model of ai.onnx opset 7 or later into a graph (older opsets
 *                  are refused; there is no upper bound). Where opsets differ for an op earsight
 *                  reads, it follows the model's own opset: Softmax / LogSoftmax before 13
 *                  (flatten at axis), Pad before 11 and Slice before 10 (attributes, not
 *                  inputs), axes as attributes or inputs. Checked against what
 *                  torch.onnx.export writes at opsets 9–17. Constant sub-graphs
 *                  (Shape→Gather→Unsqueeze→Concat for view(), the Pad amounts F.pad computes,
 *                  Constant nodes) are evaluated at import and become attributes; a symbolic
 *                  batch dim becomes 1.
 *   es_onnx_save   writes a graph as an opset-13 model that onnx.checker accepts (opset 17
 *                  when it holds HardSwish, LayerNormalization or a batch-first GRU / LSTM);
 *                  a plain Relu (es_relu_scope) is written as Clip(min 0), which loads back
 *                  as the same plain Relu.
 *   es_meta        the model's metadata_props (key/value strings), where the feature
 *                  pipeline and the class labels travel (DESIGN.md §2, §4).
 *
 * Operators: Conv (1-D and 2-D, groups, auto_pad), ConvTranspose (1-D and 2-D, group 1,
 * output_padding; no output_shape or auto_pad), Gemm, MatMul (batched, NumPy broadcasting),
 * BatchNormalization, Relu, LeakyRelu, Sigmoid, Softmax, LogSoftmax, MaxPool, AveragePool
 * (ceil_mode, count_include_pad), GlobalAveragePool, Pad (constant), Concat, Add, Sub, Mul, Div,
 * Dropout, Flatten, Reshape, Identity, Cast (to float), Transpose, Squeeze, Unsqueeze, Slice
 * (constant bounds, steps ±), Tanh, Erf, Sqrt, Exp, HardSigmoid, HardSwish, Pow (a constant
 * scalar exponent), PRelu, LayerNormalization (opset 17; GELU and the opset-11/13 LayerNorm are
 * these ops), InstanceNormalization (and GroupNorm(1, C) as PyTorch writes it), GRU and LSTM
 * (every direction, both layouts, sequence_lens, initial states; default activations only, no
 * clip, input_forget or peepholes; each output a node reads becomes a node of its own); and,
 * written with those: GlobalMaxPool, ReduceMean / ReduceMax / ReduceSum (not over the batch),
 * Clip (ReLU6, hardtanh, clamp), Split, Gather on data with constant indices (a scalar or 1-D
 * index tensor), Expand (constant shape), Where (constant condition). Integer shape arithmetic
 * (Shape, Gather, Slice, Concat, Constant(OfShape), Range, Where, Equal, Expand, Cast, …) is
 * evaluated at import. Nodes that feed no graph output are skipped. Not supported: other Pad
 * modes, Gather with computed or 2-D and larger indices, Resize.
 * Tensor names are the ONNX names, so a layer can be named as Netron shows it.
 * Initializers become PARAM tensors (weights, biases, batch-norm scale and shift, vector
 * operands of Add/Sub/Mul/Div) or STATE tensors (batch-norm running statistics, scalar and
 * Constant-node operands).
 * Refused at load: initializers and constants holding NaN or ±Inf, batch-norm running
 * variances below 0, activations past 2^28 values one or 2^29 all (the message names the
 * tensor and index, or the node).
 * Errors: -1 (or NULL) and a one-line es_error() that starts with the file's path; an
 * unsupported operator names the op and the node. Nothing is printed. */
#ifndef ES_ONNX_H
#define ES_ONNX_H
#include "nn/es_nn.h"

#define ES_META_FEATURES "earsight.features" /* JSON object, DESIGN.md §4 */
#define ES_META_LABELS "earsight.labels"     /* JSON array of class names */
/* How a file's windows make its verdict: "max" (a detector: the most confident window) or
 * "mean" (a classifier: the mean over windows). Written by `earsight train`. */
#define ES_META_AGGREGATE "earsight.aggregate"

/* ---- metadata: ordered key/value pairs; keys unique ---------------------------------- */
typedef struct es_meta es_meta;
es_meta *es_meta_new(void);
void es_meta_free(es_meta *m);
const char *es_meta_get(const es_meta *m, const char *key); /* NULL when absent */
/* Copies key and value; replaces an existing key; value NULL removes the key. */
int es_meta_set(es_meta *m, const char *key, const char *value);
int es_meta_count(const es_meta *m);
const char *es_meta_key(const es_meta *m, int i);
const char *es_meta_value(const es_meta *m, int i);

/* ---- import ------------------------------------------------------------------------ */
/* Which Relu nodes guided backprop and deconvnet change (es_relu_rule); the others are plain,
 * passing their true gradient under every rule, as clipped activations (Clip, ReLU6) always do.
 * MODULES  Captum's convention (GuidedBackprop and Deconvolution hook nn.ReLU modules): in a
 *          model torch.onnx.export wrote (node names carry module scopes, "/features/relu0/Relu"),
 *          a Relu that a functional F.relu made inside a module's forward is plain (the rule in
 *          onnx_import.c, functional_relu); a model without torch scopes keeps every Relu.
 * ALL      every Relu node, as Springenberg et al. apply the rule in their all-ReLU nets. */
typedef enum { ES_RELUS_MODULES, ES_RELUS_ALL } es_relu_scope;
/* How es_onnx_load_opts reads a model; {0} is es_onnx_load's. */
typedef struct {
    int ndim;          /* > 0: the (single) input shaped dims, as es_onnx_load_shaped */
    const int *dims;
    es_relu_scope relus;
} es_onnx_opts;
/* Loads `path` into a new graph (*g, freed with es_graph_free) and, when meta is not NULL,
 * its metadata (*meta, freed with es_meta_free). The graph's input has its declared shape,
 * a symbolic batch dim set to 1 (other symbolic dims fail: use es_onnx_load_shaped). 0 or -1. */
int es_onnx_load(const char *path, es_graph **g, es_meta **meta);
/* The same with the model's (single) input shaped `dims`: ndim as declared (batch included)
 * or one less (batch 1 prepended). Symbolic dims take the given sizes, fixed dims must agree. */
int es_onnx_load_shaped(const char *path, int ndim, const int *dims, es_graph **g,
                        es_meta **meta);
/* Either of the two with the choices of o (NULL: {0}). */
int es_onnx_load_opts(const char *path, const es_onnx_opts *o, es_graph **g, es_meta **meta);

/* Without building the graph: the metadata (*meta, may be NULL) and the declared shape of the
 * first model input (*ndim, dims; -1 for a symbolic dim such as the batch). 0 or -1. */
int es_onnx_peek(const char *path, es_meta **meta, int *ndim, int *dims);

/* ---- export ------------------------------------------------------------------------ */
/* Writes g (weights and running statistics as they are now) with meta (may be NULL) as an
 * opset-13 ONNX model, atomically. The inputs' first dim is written as the symbol "batch". */
int es_onnx_save(const es_graph *g, const es_meta *meta, const char *path);
/* Copies the model at `in` to `out` (atomically; may be the same path) with each key of
 * `meta` set in its metadata_props; everything else is kept byte for byte as protobuf
 * re-encodes it. For models earsight did not write ("annotate"). */
int es_onnx_annotate(const char *in, const es_meta *meta, const char *out);

#endif
