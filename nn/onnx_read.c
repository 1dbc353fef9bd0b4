/* Reading ONNX files: the ModelProto, its opset and metadata, the declared input shape
 * (es_onnx_peek), TensorProtos (initializers, Constant values) and node attributes. */
#include "nn/onnx_internal.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_fail("cannot open");
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = cap < SIZE_MAX / 2 ? realloc(b, cap *= 2) : NULL;
        if (!nb)
            free(b);
        b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (!b)
        return es_fail("out of memory");
    if (err) {
        free(b);
        return es_fail("read error");
    }
    *buf = b, *len = n;
    return 0;
}

int es_onnx_fail_file(const char *path, es_meta **meta)
{
    char msg[450];
    snprintf(msg, sizeof msg, "%s", es_error());
    es_fail("%s: %s", path, msg);
    if (meta) {
        es_meta_free(*meta);
        *meta = NULL;
    }
    return -1;
}

Onnx__ModelProto *es_onnx_read_model(const char *path)
{
    uint8_t *buf;
    size_t len;
    if (read_file(path, &buf, &len) != 0)
        return NULL;
    Onnx__ModelProto *mp = len ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
    free(buf);
    if (!mp) {
        es_fail(len ? "not an ONNX model (truncated or corrupt)" : "empty file, not an ONNX model");
        return NULL;
    }
    if (!mp->graph) {
        onnx__model_proto__free_unpacked(mp, NULL);
        es_fail("not an ONNX model (no graph)");
        return NULL;
    }
    return mp;
}

int es_onnx_model_opset(const Onnx__ModelProto *mp, int *opset)
{
    *opset = -1;
    for (size_t k = 0; k < mp->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[k];
        if ((!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
            *opset = (int)(o->version > INT_MAX ? INT_MAX : o->version);
    }
    if (*opset < 0)
        return es_fail("no ONNX opset in opset_import");
    if (*opset < 7)
        return es_fail("opset %d is older than 7, which earsight reads", *opset);
    return 0;
}

int es_onnx_read_meta(const Onnx__ModelProto *mp, es_meta **meta)
{
    if (!(*meta = es_meta_new()))
        return es_fail("out of memory");
    for (size_t k = 0; k < mp->n_metadata_props; k++) {
        const Onnx__StringStringEntryProto *p = mp->metadata_props[k];
        if (p->key && es_meta_set(*meta, p->key, p->value ? p->value : "") != 0)
            return -1;
    }
    return 0;
}

int es_onnx_peek(const char *path, es_meta **meta, int *ndim, int *dims)
{
    if (meta)
        *meta = NULL;
    *ndim = 0;
    Onnx__ModelProto *mp = es_onnx_read_model(path);
    int r = mp ? 0 : -1;
    const Onnx__GraphProto *gp = mp ? mp->graph : NULL;
    size_t k = 0;
    for (; gp && k < gp->n_input; k++) { /* the first input that is not an initializer */
        int init = 0;
        for (size_t j = 0; j < gp->n_initializer && !init; j++)
            init = gp->input[k]->name && gp->initializer[j]->name &&
                   strcmp(gp->input[k]->name, gp->initializer[j]->name) == 0;
        if (!init)
            break;
    }
    const Onnx__TypeProto *tp = gp && k < gp->n_input ? gp->input[k]->type : NULL;
    if (r == 0 && (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                   !tp->tensor_type || !tp->tensor_type->shape ||
                   tp->tensor_type->shape->n_dim > ES_MAX_DIMS))
        r = es_fail("the model has no input of a known shape");
    for (size_t d = 0; r == 0 && d < tp->tensor_type->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tp->tensor_type->shape->dim[d];
        int fixed = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                    dm->dim_value > 0 && dm->dim_value <= INT_MAX;
        dims[(*ndim)++] = fixed ? (int)dm->dim_value : -1;
    }
    if (r == 0 && meta)
        r = es_onnx_read_meta(mp, meta);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    return r != 0 ? es_onnx_fail_file(path, meta) : 0;
}

/* ---- reading TensorProto -------------------------------------------------------------- */

static int elem_size(int dt)
{
    switch (dt) {
    case T_U8: case T_I8: case T_BOOL: return 1;
    case T_U16: case T_I16: return 2;
    case T_F32: case T_I32: case T_U32: return 4;
    case T_I64: case T_F64: case T_U64: return 8;
    default: return 0;
    }
}

static double raw_elem(const uint8_t *p, int dt)
{
    union { float f; double d; int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
            uint32_t u32; int64_t i64; uint64_t u64; } u;
    memcpy(&u, p, elem_size(dt)); /* unaligned-safe; ONNX raw_data is little-endian, as we are */
    switch (dt) {
    case T_F32: return u.f;
    case T_F64: return u.d;
    case T_I8: return u.i8;
    case T_U8: case T_BOOL: return u.u8;
    case T_I16: return u.i16;
    case T_U16: return u.u16;
    case T_I32: return u.i32;
    case T_U32: return u.u32;
    case T_U64: return (double)u.u64;
    default: return (double)u.i64;
    }
}

int es_onnx_tensor_read(const Onnx__TensorProto *t, es_onnx_const *c)
{
    const char *name = t->name ? t->name : "(unnamed)";
    int dt = t->has_data_type ? t->data_type : 0;
    if (!elem_size(dt))
        return es_fail("tensor %s: data type %d is not supported (float32/64 and integers are)",
                       name, dt);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return es_fail("tensor %s: external data files are not supported", name);
    if (t->segment)
        return es_fail("tensor %s: segmented tensors are not supported", name);
    if (t->n_dims > ES_MAX_DIMS)
        return es_fail("tensor %s: %zu dimensions (at most %d)", name, t->n_dims, ES_MAX_DIMS);
    int is_int = dt != T_F32 && dt != T_F64;
    size_t have, want = 1; /* the values the file holds must match the dims: checked before */
    for (size_t k = 0; k < t->n_dims; k++) /* allocating, so broken dims cannot ask for much */
        want = t->dims[k] >= 0 && (double)want * (double)t->dims[k] < (double)ES_ONNX_CONST_MAX
                   ? want * (size_t)t->dims[k] : (size_t)-1;
    if (t->has_raw_data)
        have = t->raw_data.len / elem_size(dt);
    else
        switch (dt) {
        case T_F32: have = t->n_float_data; break;
        case T_I64: have = t->n_int64_data; break;
        case T_F64: have = t->n_double_data; break;
        case T_U32: case T_U64: have = t->n_uint64_data; break;
        default: have = t->n_int32_data; break;
        }
    if (want == (size_t)-1 || have != want || (t->has_raw_data && t->raw_data.len != want * elem_size(dt)))
        return es_fail("tensor %s: %zu values stored for its shape of %zu", name, have, want);
    if (es_onnx_const_alloc(c, is_int, (int)t->n_dims, t->dims) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", es_error());
        return es_fail("tensor %s: %s", name, msg);
    }
    size_t n = c->n;
    if (t->has_raw_data) {
        for (size_t k = 0; k < n; k++) {
            const uint8_t *p = t->raw_data.data + k * elem_size(dt);
            if (dt == T_I64 && is_int)
                memcpy(&c->i[k], p, 8); /* exact, beyond 2^53 too */
            else
                es_onnx_const_set(c, k, raw_elem(p, dt));
        }
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        switch (dt) {
        case T_F32: c->f[k] = t->float_data[k]; break;
        case T_I64: c->i[k] = t->int64_data[k]; break;
        case T_F64: es_onnx_const_set(c, k, t->double_data[k]); break;
        case T_U32: case T_U64: es_onnx_const_set(c, k, (double)t->uint64_data[k]); break;
        default: es_onnx_const_set(c, k, t->int32_data[k]); break;
        }
    }
    return 0;
}

/* ---- attributes --------------------------------------------------------------------------- */
const Onnx__AttributeProto *es_onnx_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    return NULL;
}

int64_t es_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = es_onnx_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float es_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = es_onnx_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

size_t es_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, const int64_t **v)
{
    const Onnx__AttributeProto *a = es_onnx_attr(n, name);
    *v = a ? a->ints : NULL;
    return a ? a->n_ints : 0;
}

const char *es_onnx_attr_str(const Onnx__NodeProto *n, const char *name, char *buf, size_t cap,
                          const char *dflt)
{
    const Onnx__AttributeProto *a = es_onnx_attr(n, name);
    if (!a || !a->has_s)
        return dflt;
    size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len) /* an empty string has no data */
        memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}
