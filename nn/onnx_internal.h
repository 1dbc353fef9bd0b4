/* Shared by the ONNX importer and exporter (nn/onnx_*.c): constants known at import time,
 * attribute look-ups, the constant folder. */
#ifndef ES_NN_ONNX_INTERNAL_H
#define ES_NN_ONNX_INTERNAL_H
#include "nn/onnx.h"
#include "onnx.pb-c.h"
#include <stdint.h>

/* TensorProto.DataType values earsight reads. */
typedef enum { T_F32 = 1, T_U8 = 2, T_I8 = 3, T_U16 = 4, T_I16 = 5, T_I32 = 6, T_I64 = 7,
               T_BOOL = 9, T_F64 = 11, T_U32 = 12, T_U64 = 13 } es_onnx_dtype;

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
} es_onnx_const;

void es_onnx_const_clear(es_onnx_const *c);
/* An empty constant of the given type and shape (values zero); 0 or -1. */
int es_onnx_const_alloc(es_onnx_const *c, int is_int, int ndim, const int64_t *dims);
/* Element k as a number, whatever the storage. */
double es_onnx_const_get(const es_onnx_const *c, size_t k);
int64_t es_onnx_const_int(const es_onnx_const *c, size_t k);
/* Sets element k to v, saturating for integers. */
void es_onnx_const_set(es_onnx_const *c, size_t k, double v);
#define ES_ONNX_CONST_MAX (1ul << 30) /* values in one constant: an initializer of 4 GB */

/* Reads an ONNX TensorProto (raw_data or the typed fields) into c, checking sizes.
 * Messages name the tensor, without the file. */
int es_onnx_tensor_read(const Onnx__TensorProto *t, es_onnx_const *c);

/* Attributes by name (NULL when absent). */
const Onnx__AttributeProto *es_onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t es_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float es_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* The ints of an attribute: count (0 when absent), values in *v. */
size_t es_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, const int64_t **v);
/* A string attribute, or dflt. */
const char *es_onnx_attr_str(const Onnx__NodeProto *n, const char *name, char *buf, size_t cap,
                          const char *dflt);

/* Evaluates node n from constant inputs in[0..n_in) (NULL for an omitted input) into
 * out[0..n->n_output), which the caller clears afterwards. Returns 1 when done, 0 when the
 * op is not one the folder evaluates, -1 on failure (message without the file). */
int es_onnx_fold(const Onnx__NodeProto *n, int opset, es_onnx_const *const *in, int n_in,
              es_onnx_const *out);

/* Reads and unpacks the file's ModelProto (free with onnx__model_proto__free_unpacked);
 * NULL with a message (without the path) on failure. */
Onnx__ModelProto *es_onnx_read_model(const char *path);
/* Puts "path: " before the message in es_error() and, when meta is not NULL, frees *meta
 * (NULL after); returns -1. Every public ONNX function's failure goes through here. */
int es_onnx_fail_file(const char *path, es_meta **meta);
/* The model's ai.onnx opset (7 or later) into *opset; 0 or -1. */
int es_onnx_model_opset(const Onnx__ModelProto *mp, int *opset);
/* The model's metadata_props into a new *meta (the caller frees it, on failure too); 0 or -1. */
int es_onnx_read_meta(const Onnx__ModelProto *mp, es_meta **meta);

#endif
