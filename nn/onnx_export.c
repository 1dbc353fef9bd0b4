/* Graph → ONNX (opset 13, or 17 when an op needs it). Every graph node is one ONNX node of the same op_type, its
 * attributes written by its op's export hook (nn/ops.def); attributes that opset 13 takes as
 * inputs (Reshape's shape, Pad's pads, (Un)Squeeze's axes, Dropout's ratio) become int64 /
 * float initializers named after the node. PARAM and STATE tensors are written as float32
 * raw_data initializers. All protobuf-c structs of one export live in one arena, freed
 * together after packing. */
#include "nn/onnx_hooks.h"
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#define OPSET 13
#define IR_VERSION 7 /* the IR of opset 13; opset 17's is 8 */

/* 17 when the graph has HardSwish (opset 14), LayerNormalization (17) or a batch-first GRU /
 * LSTM (layout, 14), else 13: every op
 * earsight writes means the same at 13 and 17 (Reshape's allowzero 0, BatchNormalization's
 * one output), so older runtimes still read the models without them. */
static int opset_of(const es_graph *g)
{
    for (int k = 0; k < g->nn; k++)
        if (g->n[k].op == ES_OP_HARDSWISH || g->n[k].op == ES_OP_LAYERNORM ||
            ((g->n[k].op == ES_OP_GRU || g->n[k].op == ES_OP_LSTM) && g->n[k].a.rnn.layout))
            return 17;
    return OPSET;
}

typedef struct {
    void **p;
    int n, cap;
    int failed;
} arena;

static void *alloc(arena *a, size_t size)
{
    if (a->failed)
        return NULL;
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 256;
        void **p = realloc(a->p, cap * sizeof *p);
        if (!p) {
            a->failed = 1;
            return NULL;
        }
        a->p = p, a->cap = cap;
    }
    void *q = calloc(1, size ? size : 1);
    if (!q)
        a->failed = 1;
    else
        a->p[a->n++] = q;
    return q;
}

static char *str(arena *a, const char *s)
{
    char *d = alloc(a, strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static void arena_free(arena *a)
{
    for (int k = 0; k < a->n; k++)
        free(a->p[k]);
    free(a->p);
}

/* A growable array of message pointers inside the arena. */
typedef struct {
    void **v;
    size_t n, cap;
} list;

static void push(arena *a, list *l, void *item)
{
    if (!item)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void **v = alloc(a, cap * sizeof *v);
        if (!v)
            return;
        if (l->n)
            memcpy(v, l->v, l->n * sizeof *v);
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = item;
}

struct es_exporter {
    arena a;
    const es_graph *g;
    list nodes, inits, names; /* names: every initializer name added (for uniqueness) */
    list in, at;              /* the inputs and attributes of the node being written */
    int out_slot;             /* which ONNX output the node's output is (es_export_output_slot) */
    const char *op_type;      /* NULL, or the ONNX op the node is written as (es_export_op_type) */
};
typedef es_exporter exporter;

/* ---- messages -------------------------------------------------------------------------- */
static Onnx__AttributeProto *attr(exporter *x, const char *name, Onnx__AttributeProto__AttributeType t)
{
    Onnx__AttributeProto *at = alloc(&x->a, sizeof *at);
    if (!at)
        return NULL;
    onnx__attribute_proto__init(at);
    at->name = str(&x->a, name);
    at->has_type = 1;
    at->type = t;
    return at;
}

static Onnx__AttributeProto *attr_int(exporter *x, const char *name, int64_t v)
{
    Onnx__AttributeProto *at = attr(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (at)
        at->has_i = 1, at->i = v;
    return at;
}

static Onnx__AttributeProto *attr_float(exporter *x, const char *name, float v)
{
    Onnx__AttributeProto *at = attr(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (at)
        at->has_f = 1, at->f = v;
    return at;
}

static Onnx__AttributeProto *attr_ints(exporter *x, const char *name, const int *v, int n)
{
    Onnx__AttributeProto *at = attr(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *d = alloc(&x->a, n * sizeof *d);
    if (!at || !d)
        return NULL;
    for (int k = 0; k < n; k++)
        d[k] = v[k];
    at->n_ints = n, at->ints = d;
    return at;
}

static Onnx__AttributeProto *attr_str(exporter *x, const char *name, const char *s)
{
    Onnx__AttributeProto *at = attr(x, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *d = str(&x->a, s);
    if (at && d)
        at->has_s = 1, at->s.data = (uint8_t *)d, at->s.len = strlen(s);
    return at;
}

static int name_taken(exporter *x, const char *name)
{
    if (es_tensor_find(x->g, name) >= 0)
        return 1;
    for (size_t k = 0; k < x->names.n; k++)
        if (strcmp(x->names.v[k], name) == 0)
            return 1;
    return 0;
}

/* An initializer: float32 (f) or int64 (i) values, dims; returns its name — `want` for a graph
 * tensor (own), else `want` made unique. */
static const char *initializer(exporter *x, const char *want, int own, int ndim, const int *dims,
                               const float *f, const int64_t *i)
{
    char name[640];
    snprintf(name, sizeof name, "%.600s", want);
    for (int k = 2; !own && name_taken(x, name); k++)
        snprintf(name, sizeof name, "%.600s_%d", want, k);
    Onnx__TensorProto *t = alloc(&x->a, sizeof *t);
    int64_t *d = alloc(&x->a, (ndim ? ndim : 1) * sizeof *d);
    if (!t || !d)
        return NULL;
    onnx__tensor_proto__init(t);
    size_t n = 1;
    for (int k = 0; k < ndim; k++)
        d[k] = dims[k], n *= (size_t)dims[k];
    size_t bytes = n * (f ? sizeof(float) : sizeof(int64_t));
    uint8_t *raw = alloc(&x->a, bytes);
    if (!raw)
        return NULL;
    memcpy(raw, f ? (const void *)f : (const void *)i, bytes); /* little-endian, as ONNX */
    t->name = str(&x->a, name);
    t->n_dims = ndim, t->dims = d;
    t->has_data_type = 1;
    t->data_type = f ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT : ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->has_raw_data = 1, t->raw_data.data = raw, t->raw_data.len = bytes;
    push(&x->a, &x->inits, t);
    push(&x->a, &x->names, t->name);
    return t->name;
}

static const char *int_init(exporter *x, const es_node *n, const char *what, const int *v, int cnt)
{
    char want[600];
    int64_t vals[2 * ES_MAX_DIMS];
    for (int k = 0; k < cnt; k++)
        vals[k] = v[k];
    snprintf(want, sizeof want, "%s.%s", n->name, what);
    return initializer(x, want, 0, 1, &cnt, NULL, vals);
}

static Onnx__ValueInfoProto *value_info(exporter *x, const es_tensor *t, int batch_sym)
{
    Onnx__ValueInfoProto *vi = alloc(&x->a, sizeof *vi);
    Onnx__TypeProto *tp = alloc(&x->a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = alloc(&x->a, sizeof *tt);
    Onnx__TensorShapeProto *sh = alloc(&x->a, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = alloc(&x->a, (t->ndim ? t->ndim : 1) * sizeof *dims);
    if (!vi || !tp || !tt || !sh || !dims)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int k = 0; k < t->ndim; k++) {
        Onnx__TensorShapeProto__Dimension *d = alloc(&x->a, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (k == 0 && batch_sym) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = str(&x->a, "batch");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = t->dims[k];
        }
        dims[k] = d;
    }
    sh->n_dim = t->ndim, sh->dim = dims;
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
    vi->name = str(&x->a, t->name), vi->type = tp;
    return vi;
}

/* ---- what the export hooks call ------------------------------------------------------------ */
void es_export_int(es_exporter *x, const char *name, int64_t v) { push(&x->a, &x->at, attr_int(x, name, v)); }
void es_export_float(es_exporter *x, const char *name, float v) { push(&x->a, &x->at, attr_float(x, name, v)); }
void es_export_str(es_exporter *x, const char *name, const char *s) { push(&x->a, &x->at, attr_str(x, name, s)); }
void es_export_output_slot(es_exporter *x, int k) { x->out_slot = k; }
void es_export_op_type(es_exporter *x, const char *op_type) { x->op_type = op_type; }

void es_export_ints(es_exporter *x, const char *name, const int *v, int n)
{
    push(&x->a, &x->at, attr_ints(x, name, v, n));
}

void es_export_input_ints(es_exporter *x, const es_node *n, const char *what, const int *v, int cnt)
{
    push(&x->a, &x->in, (void *)int_init(x, n, what, v, cnt));
}

void es_export_input_float(es_exporter *x, const es_node *n, const char *what, float v)
{
    char want[600];
    snprintf(want, sizeof want, "%s.%s", n->name, what);
    push(&x->a, &x->in, (void *)initializer(x, want, 0, 0, NULL, &v, NULL));
}

/* ---- nodes ------------------------------------------------------------------------------- */
static int export_node(exporter *x, const es_node *n)
{
    const es_graph *g = x->g;
    Onnx__NodeProto *nd = alloc(&x->a, sizeof *nd);
    if (!nd)
        return -1;
    onnx__node_proto__init(nd);
    nd->name = str(&x->a, n->name);
    nd->op_type = str(&x->a, es_op_name(n->op));
    x->in = (list){0}, x->at = (list){0}, x->out_slot = 0, x->op_type = NULL;
    for (int k = 0; k < n->n_in; k++)
        push(&x->a, &x->in, str(&x->a, n->in[k] >= 0 ? g->t[n->in[k]].name : ""));
    if (es_ops[n->op].export(x, g, n) != 0)
        return -1;
    if (x->op_type)
        nd->op_type = str(&x->a, x->op_type);
    /* Only the first output: the second of Dropout (the mask) is a training detail. It is
     * ONNX's output out_slot, those before it left out (""). */
    char **out = alloc(&x->a, (x->out_slot + 1) * sizeof *out);
    for (int k = 0; out && k <= x->out_slot; k++)
        out[k] = str(&x->a, k == x->out_slot ? g->t[n->out[0]].name : "");
    nd->n_input = x->in.n, nd->input = (char **)x->in.v;
    nd->n_output = x->out_slot + 1, nd->output = out;
    nd->n_attribute = x->at.n, nd->attribute = (Onnx__AttributeProto **)x->at.v;
    push(&x->a, &x->nodes, nd);
    return x->a.failed ? es_fail("out of memory") : 0;
}

static int build(exporter *x, const es_meta *meta, Onnx__ModelProto *mp, Onnx__GraphProto *gp)
{
    const es_graph *g = x->g;
    list inputs = {0}, outputs = {0}, props = {0}, opsets = {0};
    int out_ids[256];
    int n_out = es_graph_outputs(g, out_ids, 256);
    int batch = -1;
    if (g->nn == 0)
        return es_fail("the graph has no nodes");
    for (int k = 0; k < g->nt; k++) {
        const es_tensor *t = &g->t[k];
        if (t->kind == ES_T_INPUT) {
            push(&x->a, &inputs, value_info(x, t, 1));
            if (batch < 0 && t->ndim > 0)
                batch = t->dims[0];
        } else if (t->kind == ES_T_PARAM || t->kind == ES_T_STATE) {
            initializer(x, t->name, 1, t->ndim, t->dims, t->data, NULL);
        }
    }
    for (int k = 0; k < g->nn; k++)
        if (export_node(x, &g->n[k]) != 0)
            return -1;
    for (int k = 0; k < n_out; k++) {
        const es_tensor *t = &g->t[out_ids[k]];
        push(&x->a, &outputs, value_info(x, t, t->ndim > 0 && t->dims[0] == batch));
    }
    for (int k = 0; k < es_meta_count(meta); k++) {
        Onnx__StringStringEntryProto *p = alloc(&x->a, sizeof *p);
        if (!p)
            break;
        onnx__string_string_entry_proto__init(p);
        p->key = str(&x->a, es_meta_key(meta, k));
        p->value = str(&x->a, es_meta_value(meta, k));
        push(&x->a, &props, p);
    }
    Onnx__OperatorSetIdProto *os = alloc(&x->a, sizeof *os);
    if (os) {
        onnx__operator_set_id_proto__init(os);
        os->domain = str(&x->a, "");
        os->has_version = 1, os->version = opset_of(g);
        push(&x->a, &opsets, os);
    }
    gp->name = str(&x->a, "earsight");
    gp->n_node = x->nodes.n, gp->node = (Onnx__NodeProto **)x->nodes.v;
    gp->n_initializer = x->inits.n, gp->initializer = (Onnx__TensorProto **)x->inits.v;
    gp->n_input = inputs.n, gp->input = (Onnx__ValueInfoProto **)inputs.v;
    gp->n_output = outputs.n, gp->output = (Onnx__ValueInfoProto **)outputs.v;
    mp->has_ir_version = 1, mp->ir_version = opset_of(g) > OPSET ? 8 : IR_VERSION;
    mp->n_opset_import = opsets.n, mp->opset_import = (Onnx__OperatorSetIdProto **)opsets.v;
    mp->producer_name = str(&x->a, "earsight");
    mp->producer_version = str(&x->a, ES_VERSION);
    mp->graph = gp;
    mp->n_metadata_props = props.n;
    mp->metadata_props = (Onnx__StringStringEntryProto **)props.v;
    return x->a.failed ? es_fail("out of memory") : 0;
}

/* Packs mp and writes it to path atomically. */
static int write_model(const Onnx__ModelProto *mp, const char *path)
{
    size_t len = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return es_fail("%s: out of memory", path);
    onnx__model_proto__pack(mp, buf);
    es_atomic f;
    int r = es_atomic_open(&f, path);
    if (r == 0) {
        if (fwrite(buf, 1, len, f.f) != len) {
            int e = errno; /* EFBIG, ENOSPC: said, before the abort's calls change it */
            es_atomic_abort(&f);
            r = es_fail("%s: write failed: %s", path, strerror(e ? e : EIO));
        } else {
            r = es_atomic_commit(&f);
        }
    }
    free(buf);
    return r;
}

int es_onnx_save(const es_graph *g, const es_meta *meta, const char *path)
{
    exporter x = {.g = g};
    Onnx__ModelProto mp;
    Onnx__GraphProto gp;
    onnx__model_proto__init(&mp);
    onnx__graph_proto__init(&gp);
    int r = build(&x, meta, &mp, &gp);
    r = r != 0 ? es_onnx_fail_file(path, NULL) : write_model(&mp, path);
    arena_free(&x.a);
    return r;
}

/* ---- annotate: metadata into a model written elsewhere -------------------------------------- */
static int set_prop(Onnx__ModelProto *mp, const char *key, const char *value)
{
    for (size_t k = 0; k < mp->n_metadata_props; k++) {
        Onnx__StringStringEntryProto *p = mp->metadata_props[k];
        if (p->key && strcmp(p->key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return es_fail("out of memory");
            free(p->value); /* protobuf-c's default allocator is malloc */
            p->value = v;
            return 0;
        }
    }
    Onnx__StringStringEntryProto **arr =
        realloc(mp->metadata_props, (mp->n_metadata_props + 1) * sizeof *arr);
    if (!arr)
        return es_fail("out of memory");
    mp->metadata_props = arr;
    Onnx__StringStringEntryProto *p = malloc(sizeof *p);
    if (!p)
        return es_fail("out of memory");
    onnx__string_string_entry_proto__init(p);
    p->key = strdup(key);
    p->value = strdup(value);
    arr[mp->n_metadata_props++] = p; /* free_unpacked frees it with the rest */
    if (!p->key || !p->value)
        return es_fail("out of memory");
    return 0;
}

int es_onnx_annotate(const char *in, const es_meta *meta, const char *out)
{
    Onnx__ModelProto *mp = es_onnx_read_model(in);
    if (!mp)
        return es_onnx_fail_file(in, NULL);
    int r = 0;
    for (int k = 0; r == 0 && k < es_meta_count(meta); k++)
        r = set_prop(mp, es_meta_key(meta, k), es_meta_value(meta, k));
    r = r != 0 ? es_onnx_fail_file(out, NULL) : write_model(mp, out);
    onnx__model_proto__free_unpacked(mp, NULL);
    return r;
}
