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
    float *f;       /* else: n values, or NULL when they are borrowed (raw) */
    const uint8_t *raw; /* float32 values left where they are (an initializer in the mapped
                     * file, little-endian, perhaps unaligned: read through memcpy or
                     * es_onnx_const_get, never as a float *); NULL when f holds them */
    int tensor;     /* the graph tensor made from it, -1 until a node reads it */
    int initializer; /* it is one of the model's initializers (not a Constant or a fold) */
    int checked;    /* its values were found finite (raw ones are checked as they are copied) */
} es_onnx_const;

void es_onnx_const_clear(es_onnx_const *c);
/* An empty constant of the given type and shape (values zero); 0 or -1. */
int es_onnx_const_alloc(es_onnx_const *c, int is_int, int ndim, const int64_t *dims);
/* The same, its values borrowed from raw (n float32, which outlive c). */
int es_onnx_const_borrow(es_onnx_const *c, int ndim, const int64_t *dims, const uint8_t *raw);
/* Element k as a number, whatever the storage. */
double es_onnx_const_get(const es_onnx_const *c, size_t k);
int64_t es_onnx_const_int(const es_onnx_const *c, size_t k);
/* Sets element k to v, saturating for integers. */
void es_onnx_const_set(es_onnx_const *c, size_t k, double v);
#define ES_ONNX_CONST_MAX (1ul << 30) /* values in one constant: an initializer of 4 GB */

/* Reads an ONNX TensorProto (raw_data or the typed fields) into c, checking sizes. raw (may
 * be NULL) stands for the tensor's raw_data when the skeleton left it in the file
 * (es_onnx_init_raw): float32 values are then borrowed (c->raw), not copied. Messages name
 * the tensor, without the file. */
int es_onnx_tensor_read(const Onnx__TensorProto *t, const ProtobufCBinaryData *raw,
                        es_onnx_const *c);

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

/* Reads and unpacks the file's whole ModelProto (free with onnx__model_proto__free_unpacked);
 * NULL with a message (without the path) on failure. For rewriting a model (annotate). */
Onnx__ModelProto *es_onnx_read_model(const char *path);

/* A model for reading at disk speed: the file mapped read-only (read, when it cannot be
 * mapped), and mp unpacked from a skeleton without the graph initializers' raw_data, which
 * stays in the mapping — protobuf-c would copy each weight, and a 300 MB model then costs
 * seconds. Pointers into data live until es_onnx_close. A file the skeleton walk does not
 * follow (malformed, a graph field given twice) is unpacked whole: protobuf-c judges it. */
typedef struct {
    Onnx__ModelProto *mp;
    const uint8_t *data;      /* the file's bytes */
    size_t len;
    int mapped;
    ProtobufCBinaryData *raw; /* initializer k's raw_data in data (data NULL: it kept its own) */
    size_t n_raw;
} es_onnx_file;
/* 0, or -1 with a message without the path (f is then closed). */
int es_onnx_open(es_onnx_file *f, const char *path);
void es_onnx_close(es_onnx_file *f);
/* The raw_data the skeleton left in the file for graph initializer k, or NULL (none). */
const ProtobufCBinaryData *es_onnx_init_raw(const es_onnx_file *f, size_t k);
/* Done with n bytes at p in f->data for now: their pages leave the process's resident set
 * (they stay in the page cache; reading them again is correct, and cheap). */
void es_onnx_release(const es_onnx_file *f, const void *p, size_t n);
/* Copies n float32 from src (in f->data, perhaps unaligned) to dst, page tables filled in one
 * call rather than a fault a page, src released as it goes. Returns 1 when a copied value
 * is NaN or infinite (then look for it: es_onnx_const_get), else 0. */
int es_onnx_copy_floats(const es_onnx_file *f, float *dst, const uint8_t *src, size_t n);/* Puts "path: " before the message in es_error() and, when meta is not NULL, frees *meta
 * (NULL after); returns -1. Every public ONNX function's failure goes through here. */
int es_onnx_fail_file(const char *path, es_meta **meta);
/* The model's ai.onnx opset (7 or later) into *opset; 0 or -1. */
int es_onnx_model_opset(const Onnx__ModelProto *mp, int *opset);
/* The model's metadata_props into a new *meta (the caller frees it, on failure too); 0 or -1. */
int es_onnx_read_meta(const Onnx__ModelProto *mp, es_meta **meta);

#endif
