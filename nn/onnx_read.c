/* Reading ONNX files: the ModelProto, its opset and metadata, the declared input shape
 * (es_onnx_peek), TensorProtos (initializers, Constant values) and node attributes. */
#include "nn/onnx_internal.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file read into memory from fd (closed here), for what cannot be mapped: a pipe
 * is read through the descriptor already open, never opened twice (its writer would be gone). */
static int read_fd(int fd, uint8_t **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return es_fail("cannot open");
    }
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

/* The file's bytes: mapped read-only when it is a regular file (the page cache is the only
 * copy), else read. f->data stays NULL for an empty file. */
static int map_file(es_onnx_file *f, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return es_fail("cannot open");
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            madvise(p, (size_t)st.st_size, MADV_WILLNEED); /* read ahead while we parse */
            f->data = p, f->len = (size_t)st.st_size, f->mapped = 1;
            return 0;
        }
    }
    uint8_t *b;
    if (read_fd(fd, &b, &f->len) != 0)
        return -1;
    f->data = b;
    return 0;
}

/* ---- the wire format, for the skeleton -------------------------------------------------- */
/* A model's size is its initializers: protobuf-c's unpack would copy every raw_data into a
 * buffer of its own. The skeleton is the model with the graph initializers' raw_data left
 * out (lengths of the enclosing messages re-encoded); what was left out is recorded, in
 * initializer order, as a pointer into the file. Every read is checked against the end. */
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };
enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *o++ = (uint8_t)(v | 0x80);
    *o++ = (uint8_t)v;
    return o;
}

/* The field at *p (moved past it): its number, and for a length-delimited one its payload. */
typedef struct {
    uint32_t num;
    int type;
    const uint8_t *start, *pay; /* the whole field; the payload (WIRE_LEN) */
    size_t len;
} wire_field;

static int next_field(const uint8_t **p, const uint8_t *end, wire_field *w)
{
    uint64_t key, v;
    w->start = *p, w->pay = NULL, w->len = 0;
    if (get_varint(p, end, &key) != 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -1;
    w->num = (uint32_t)(key >> 3), w->type = (int)(key & 7);
    switch (w->type) {
    case WIRE_VARINT: return get_varint(p, end, &v);
    case WIRE_I64: return end - *p < 8 ? -1 : (*p += 8, 0);
    case WIRE_I32: return end - *p < 4 ? -1 : (*p += 4, 0);
    case WIRE_LEN:
        if (get_varint(p, end, &v) != 0 || v > (uint64_t)(end - *p))
            return -1;
        w->pay = *p, w->len = (size_t)v;
        *p += v;
        return 0;
    default: return -1; /* groups: not in ONNX */
    }
}

typedef struct {
    uint8_t *o;              /* where the skeleton is written */
    ProtobufCBinaryData *raw;
    size_t n_raw, cap_raw;
} skeleton;

typedef int (*strip_fn)(skeleton *s, const uint8_t *p, const uint8_t *end);

/* Writes field w as a message whose payload `strip` rewrites: the tag, then the payload
 * written 10 bytes on (the longest length varint) and moved back behind its length. */
static int put_message(skeleton *s, const wire_field *w, strip_fn strip)
{
    uint8_t *o = put_varint(s->o, (uint64_t)w->num << 3 | WIRE_LEN), *body = o + 10;
    s->o = body;
    if (strip(s, w->pay, w->pay + w->len) != 0)
        return -1;
    size_t len = (size_t)(s->o - body);
    o = put_varint(o, len);
    memmove(o, body, len);
    s->o = o + len;
    return 0;
}

static void put_field(skeleton *s, const wire_field *w, const uint8_t *after)
{
    memcpy(s->o, w->start, (size_t)(after - w->start));
    s->o += after - w->start;
}

static int strip_tensor(skeleton *s, const uint8_t *p, const uint8_t *end)
{
    ProtobufCBinaryData *r = &s->raw[s->n_raw - 1];
    wire_field w;
    while (p < end) {
        if (next_field(&p, end, &w) != 0)
            return -1;
        if (w.num == TENSOR_RAW_DATA && w.type == WIRE_LEN)
            r->data = (uint8_t *)w.pay, r->len = w.len; /* the last one counts, as in protobuf */
        else
            put_field(s, &w, p);
    }
    return 0;
}

static int strip_graph(skeleton *s, const uint8_t *p, const uint8_t *end)
{
    wire_field w;
    while (p < end) {
        if (next_field(&p, end, &w) != 0)
            return -1;
        if (w.num != GRAPH_INITIALIZER || w.type != WIRE_LEN) {
            put_field(s, &w, p);
            continue;
        }
        if (s->n_raw == s->cap_raw) {
            size_t cap = s->cap_raw ? 2 * s->cap_raw : 64;
            ProtobufCBinaryData *nr = realloc(s->raw, cap * sizeof *nr);
            if (!nr)
                return -1;
            s->raw = nr, s->cap_raw = cap;
        }
        s->raw[s->n_raw++] = (ProtobufCBinaryData){0, NULL};
        if (put_message(s, &w, strip_tensor) != 0)
            return -1;
    }
    return 0;
}

/* The model's skeleton into buf (room for len + 32 bytes). -1 when the bytes are not what a
 * skeleton can be made of (malformed, or a graph given twice, which protobuf would merge):
 * the caller unpacks the file as it is, and protobuf-c judges it. */
static int strip_model(skeleton *s, const uint8_t *p, const uint8_t *end)
{
    wire_field w;
    int graphs = 0;
    while (p < end) {
        if (next_field(&p, end, &w) != 0)
            return -1;
        if (w.num != MODEL_GRAPH || w.type != WIRE_LEN)
            put_field(s, &w, p);
        else if (graphs++ || put_message(s, &w, strip_graph) != 0)
            return -1;
    }
    return 0;
}

static Onnx__ModelProto *unpack_skeleton(es_onnx_file *f)
{
    uint8_t *buf = malloc(f->len + 32);
    skeleton s = {buf, NULL, 0, 0};
    Onnx__ModelProto *mp = NULL;
    if (buf && strip_model(&s, f->data, f->data + f->len) == 0 &&
        (mp = onnx__model_proto__unpack(NULL, (size_t)(s.o - buf), buf)) && mp->graph &&
        mp->graph->n_initializer == s.n_raw) {
        f->raw = s.raw, f->n_raw = s.n_raw;
        s.raw = NULL;
    } else if (mp) { /* not as the walk saw it: unpack the file itself */
        onnx__model_proto__free_unpacked(mp, NULL);
        mp = NULL;
    }
    free(s.raw);
    free(buf);
    return mp;
}

static Onnx__ModelProto *check_model(Onnx__ModelProto *mp, size_t len)
{
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

int es_onnx_open(es_onnx_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (map_file(f, path) != 0)
        return -1;
    Onnx__ModelProto *mp = f->len ? unpack_skeleton(f) : NULL;
    if (!mp && f->len)
        mp = onnx__model_proto__unpack(NULL, f->len, f->data);
    if (!(f->mp = check_model(mp, f->len))) {
        es_onnx_close(f);
        return -1;
    }
    return 0;
}

void es_onnx_close(es_onnx_file *f)
{
    if (f->mp)
        onnx__model_proto__free_unpacked(f->mp, NULL);
    if (f->mapped)
        munmap((void *)f->data, f->len);
    else
        free((void *)f->data);
    free(f->raw);
    memset(f, 0, sizeof *f);
}

const ProtobufCBinaryData *es_onnx_init_raw(const es_onnx_file *f, size_t k)
{
    return k < f->n_raw && f->raw[k].data ? &f->raw[k] : NULL;
}

/* madvise over the whole pages inside [p, p + n). */
static void advise_pages(const void *p, size_t n, int advice)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || n < (size_t)page)
        return;
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, advice);
}

void es_onnx_release(const es_onnx_file *f, const void *p, size_t n)
{
    if (f->mapped) /* file pages: they stay in the page cache */
        advise_pages(p, n, MADV_DONTNEED);
}

/* 1 when a float32 among n words at p has the exponent of NaN / Inf: a loop the compiler
 * vectorises, so checking a weight costs no more than reading it. */
static int nonfinite_bits(const float *p, size_t n)
{
    uint32_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t u;
        memcpy(&u, p + k, 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return bad != 0;
}

int es_onnx_copy_floats(const es_onnx_file *f, float *dst, const uint8_t *src, size_t n)
{
    enum { CHUNK = 2 << 20, PIECE = 16 << 10 }; /* floats: 8 MB of file pages at a time, checked
                                                  * in 64 KB pieces while they are in cache */
    int bad = 0;
    for (size_t o = 0; o < n; o += CHUNK) {
        size_t len = n - o < CHUNK ? n - o : CHUNK;
#ifdef MADV_POPULATE_WRITE /* Linux 5.14: the page tables in one call, not a fault a page */
        if (f->mapped)
            advise_pages(src + 4 * o, 4 * len, MADV_POPULATE_READ);
        advise_pages(dst + o, 4 * len, MADV_POPULATE_WRITE);
#endif
        for (size_t q = o; q < o + len; q += PIECE) {
            size_t m = o + len - q < PIECE ? o + len - q : PIECE;
            memcpy(dst + q, src + 4 * q, 4 * m);
            bad |= nonfinite_bits(dst + q, m);
        }
        es_onnx_release(f, src + 4 * o, 4 * len);
    }
    return bad;
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
    es_onnx_file f = {0};
    if (map_file(&f, path) != 0)
        return NULL;
    size_t len = f.len;
    Onnx__ModelProto *mp = len ? onnx__model_proto__unpack(NULL, len, f.data) : NULL;
    es_onnx_close(&f);
    return check_model(mp, len);
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
    es_onnx_file f;
    int r = es_onnx_open(&f, path);
    const Onnx__ModelProto *mp = r == 0 ? f.mp : NULL;
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
    es_onnx_close(&f);
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

int es_onnx_tensor_read(const Onnx__TensorProto *t, const ProtobufCBinaryData *raw,
                        es_onnx_const *c)
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
    if (!raw && t->has_raw_data)
        raw = &t->raw_data;
    int is_int = dt != T_F32 && dt != T_F64;
    size_t have, want = 1; /* the values the file holds must match the dims: checked before */
    for (size_t k = 0; k < t->n_dims; k++) /* allocating, so broken dims cannot ask for much */
        want = t->dims[k] >= 0 && (double)want * (double)t->dims[k] < (double)ES_ONNX_CONST_MAX
                   ? want * (size_t)t->dims[k] : (size_t)-1;
    if (raw)
        have = raw->len / elem_size(dt);
    else
        switch (dt) {
        case T_F32: have = t->n_float_data; break;
        case T_I64: have = t->n_int64_data; break;
        case T_F64: have = t->n_double_data; break;
        case T_U32: case T_U64: have = t->n_uint64_data; break;
        default: have = t->n_int32_data; break;
        }
    if (want == (size_t)-1 || have != want || (raw && raw->len != want * elem_size(dt)))
        return es_fail("tensor %s: %zu values stored for its shape of %zu", name, have, want);
    if (raw && dt == T_F32 && raw != &t->raw_data) /* the weights: left in the file */
        return es_onnx_const_borrow(c, (int)t->n_dims, t->dims, raw->data);
    if (es_onnx_const_alloc(c, is_int, (int)t->n_dims, t->dims) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", es_error());
        return es_fail("tensor %s: %s", name, msg);
    }
    size_t n = c->n;
    if (n == 0) /* no values: the lists may have no array */
        return 0;
    if (raw && dt == T_F32) {
        memcpy(c->f, raw->data, n * sizeof *c->f);
        return 0;
    }
    if (raw) {
        for (size_t k = 0; k < n; k++) {
            const uint8_t *p = raw->data + k * elem_size(dt);
            if (dt == T_I64 && is_int)
                memcpy(&c->i[k], p, 8); /* exact, beyond 2^53 too */
            else
                es_onnx_const_set(c, k, raw_elem(p, dt));
        }
        return 0;
    }
    switch (dt) { /* whole arrays where the types agree */
    case T_F32: memcpy(c->f, t->float_data, n * sizeof *c->f); return 0;
    case T_I64: memcpy(c->i, t->int64_data, n * sizeof *c->i); return 0;
    }
    for (size_t k = 0; k < n; k++) {
        switch (dt) {
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
