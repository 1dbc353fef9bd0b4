/* What an op's ONNX hooks (the import / export columns of nn/ops.def) may call. An import hook
 * reads ONNX node nd — its attributes with es_onnx_attr*, its inputs with es_import_* — and
 * adds the graph node(s) with es_import_add; an export hook writes the node's attributes (and
 * the attributes ONNX takes as constant inputs) with es_export_*. Errors: -1 and es_fail(),
 * messages without the file (the importer prefixes it). */
#ifndef ES_NN_ONNX_HOOKS_H
#define ES_NN_ONNX_HOOKS_H
#include "nn/graph.h"
#include "nn/onnx_internal.h"

/* Limits that keep every size the ops compute in int range: no real audio network comes near. */
#define ES_ONNX_MAX_SPATIAL (1 << 24)     /* a kernel extent, stride, dilation or pad */
#define ES_ONNX_MAX_INPUT_VALUES (1L << 28) /* values in one model input or one shape entry */

/* ---- import ------------------------------------------------------------------------------ */
/* The graph tensor for input k of nd, made from a constant on first use with `kind`; -1 in
 * *id for an omitted optional input. */
int es_import_input(es_importer *m, const Onnx__NodeProto *nd, int k, es_tensor_kind kind, int *id);
/* The data input (input 0), which must be there. */
int es_import_data(es_importer *m, const Onnx__NodeProto *nd, int *x);
/* Input X, weight W (a PARAM, which must be there; else fails with `no_w`) and an optional
 * bias B (a PARAM) into in[0..3); returns the count of inputs (2 or 3) or -1. */
int es_import_xwb(es_importer *m, const Onnx__NodeProto *nd, int *in, const char *no_w);
/* Optional input k, a constant scalar, into *v (left as it is when the input is absent);
 * fails with `not_scalar` when it is something else. */
int es_import_const_float(es_importer *m, const Onnx__NodeProto *nd, int k, float *v,
                          const char *not_scalar);
/* Op `op` on nd's data input with attributes a (NULL: the op's defaults): the output id or -1. */
int es_import_one(es_importer *m, const Onnx__NodeProto *nd, es_op_type op, const es_attrs *a);
/* Input k when it is known at import (an initializer, a Constant, a fold); NULL when it is
 * absent or computed. */
es_onnx_const *es_import_const(es_importer *m, const Onnx__NodeProto *nd, int k);
/* A constant input k (or attribute `attr` in older opsets) as at most max ints; *present = 0
 * when neither is there. */
int es_import_ints(es_importer *m, const Onnx__NodeProto *nd, int k, const char *attr,
                   int64_t *v, int max, int *n, int *present);
/* kernel_shape / strides / dilations / pads (/ auto_pad) of Conv and the pools over input x;
 * wk: the weight, whose dims give a kernel_shape left out (-1: none). */
int es_import_window(es_importer *m, const Onnx__NodeProto *nd, int x, int wk, es_window *w);
const es_tensor *es_import_tensor(es_importer *m, int id);
int es_import_opset(const es_importer *m);
/* Adds graph node `op` for nd (named after it, plus `suffix` for the extra nodes a lowering
 * adds) with attributes a (NULL: the op's defaults), its output named out_name; returns the
 * output tensor id or -1. */
int es_import_add(es_importer *m, const Onnx__NodeProto *nd, const char *suffix, es_op_type op,
                  const es_attrs *a, int n_in, const int *in, const char *out_name);
/* Whether a live node reads tensor `name` or the graph outputs it (0 for NULL or ""). */
int es_import_used(const es_importer *m, const char *name);
/* nd's own first output name (the last node of a lowering takes it). */
const char *es_import_out(const Onnx__NodeProto *nd);
/* A tensor name base+suffix not used yet, for the intermediate results of a lowering. */
void es_import_name(es_importer *m, const char *base, const char *suffix, char *buf, size_t cap);
/* A STATE tensor of the given shape holding v (copied), named base+suffix; its id or -1. */
int es_import_state(es_importer *m, const char *base, const char *suffix, int ndim,
                    const int *dims, const float *v);
/* A scalar one. */
int es_import_scalar(es_importer *m, const char *base, const char *suffix, float v);
/* Fails with "node NAME (OpType): msg detail". */
int es_import_fail(const Onnx__NodeProto *nd, const char *msg, const char *detail);
/* Axis ax of a rank-`rank` tensor as 0..rank-1 in *out; fails when out of range. */
int es_import_axis(const Onnx__NodeProto *nd, int64_t ax, int rank, int *out);

/* A Slice node for nd (suffix as es_import_add's) keeping start..end (ONNX's rules) of dim
 * `axis` of x, the output named out; its id or -1 (nn/slice.c). */
int es_import_slice(es_importer *m, const Onnx__NodeProto *nd, const char *suffix, int x,
                    int64_t axis, int64_t start, int64_t end, const char *out);

/* The ONNX ops earsight imports as others (nn/onnx_lower.c): the lowering for op_type, or NULL. */
typedef int (*es_lowering)(es_importer *m, const Onnx__NodeProto *nd);
es_lowering es_onnx_lowering(const char *op_type);

/* ---- export ------------------------------------------------------------------------------ */
void es_export_int(es_exporter *x, const char *name, int64_t v);
void es_export_float(es_exporter *x, const char *name, float v);
void es_export_ints(es_exporter *x, const char *name, const int *v, int n);
void es_export_str(es_exporter *x, const char *name, const char *s);
/* The node's output is ONNX's output k (a GRU's Y_h is 1), the ones before it left out. */
void es_export_output_slot(es_exporter *x, int k);
/* The node is written as ONNX op `op_type` (a static string), not its own op's. */
void es_export_op_type(es_exporter *x, const char *op_type);
/* An input after the node's own: an int64 vector / a float scalar initializer named
 * NODE.what (made unique), as opset 13 takes Reshape's shape or Dropout's ratio. */
void es_export_input_ints(es_exporter *x, const es_node *n, const char *what, const int *v, int cnt);
void es_export_input_float(es_exporter *x, const es_node *n, const char *what, float v);

#endif
