/* Shared by the ONNX importer and exporter (nn/onnx_*.c): constants known at import time,
 * attribute look-ups, the constant folder. */
#ifndef ES_NN_ONNX_INTERNAL_H
#define ES_NN_ONNX_INTERNAL_H
#include "nn/onnx.h"
#include "onnx.pb-c.h"
#include <stdint.h>

/* A tensor whose value is known while importing: an initializer, a Constant node's output,
 * or a folded result. Integers (shapes, pads, axes, indices, booleans) are int64; everything
 * else float32. */
typedef struct {
    char *name;
    int is_int;
    int ndim;
    int64_t dims[ES_MAX_DIMS];
    size_t n;       /* product of dims */
    int64_t *i;     /* is_int: n values */
    float *f;       /* else: n values */
    int tensor;     /* the graph tensor made from it, -1 until a node reads it */
    int initializer; /* it is one of the model's initializers (not a Constant or a fold) */
} onnx_const;

void onnx_const_clear(onnx_const *c);
/* An empty constant of the given type and shape (values zero); 0 or -1. */
int onnx_const_alloc(onnx_const *c, int is_int, int ndim, const int64_t *dims);
/* Element k as a number, whatever the storage. */
double onnx_const_get(const onnx_const *c, size_t k);
int64_t onnx_const_int(const onnx_const *c, size_t k);

/* Reads an ONNX TensorProto (raw_data or the typed fields) into c, checking sizes.
 * Messages name the tensor, without the file. */
int onnx_tensor_read(const Onnx__TensorProto *t, onnx_const *c);

/* Attributes by name (NULL when absent). */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* The ints of an attribute: count (0 when absent), values in *v. */
size_t onnx_attr_ints(const Onnx__NodeProto *n, const char *name, const int64_t **v);
/* A string attribute, or dflt. */
const char *onnx_attr_str(const Onnx__NodeProto *n, const char *name, char *buf, size_t cap,
                          const char *dflt);

/* Evaluates node n from constant inputs in[0..n_in) (NULL for an omitted input) into
 * out[0..n->n_output), which the caller clears afterwards. Returns 1 when done, 0 when the
 * op is not one the folder evaluates, -1 on failure (message without the file). */
int onnx_fold(const Onnx__NodeProto *n, int opset, onnx_const *const *in, int n_in,
              onnx_const *out);

/* Reads and unpacks the file's ModelProto (free with onnx__model_proto__free_unpacked);
 * NULL with a message (without the path) on failure. */
Onnx__ModelProto *onnx_read_model(const char *path);

#endif
