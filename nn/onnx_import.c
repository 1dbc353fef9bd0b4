/* ONNX → graph. Reads the model with protobuf-c, turns initializers and Constant nodes into
 * constants, evaluates the integer sub-graphs the exporter writes for shapes and pads
 * (onnx_fold.c), and adds one graph node per ONNX node — or a short sequence for the few
 * ONNX ops earsight expresses with others (ReduceMean → GlobalAveragePool, GlobalMaxPool →
 * MaxPool, old-opset Softmax on N-D → Flatten/Softmax/Reshape). Constants become tensors
 * only when a node reads them as data, so shape arithmetic leaves no trace in the graph. */
#include "nn/graph.h"
#include "nn/onnx_internal.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep every size the ops compute in int range: no real audio network comes near. */
#define MAX_SPATIAL (1 << 24)   /* a kernel extent, stride, dilation or pad */
#define MAX_INPUT_VALUES (1L << 28)    /* values in one model input */
#define MAX_TENSOR_VALUES (1UL << 28)  /* values in one activation or the workspace (1 GB) */

typedef struct {
    const char *path;
    int opset;
    es_graph *g;
    onnx_const *c; /* every constant known so far, by name */
    int nc, cap_c;
    int node;      /* index of the ONNX node being imported, for unnamed nodes */
} importer;

/* ---- constants ------------------------------------------------------------------------- */
static onnx_const *find_const(importer *m, const char *name)
{
    for (int k = m->nc - 1; k >= 0; k--) /* recent first: folds read what was just made */
        if (strcmp(m->c[k].name, name) == 0)
            return &m->c[k];
    return NULL;
}

/* Takes c's storage under `name` (c is left empty, on failure too). */
static int add_const(importer *m, onnx_const *c, const char *name)
{
    if (m->nc == m->cap_c) {
        int cap = m->cap_c ? 2 * m->cap_c : 64;
        onnx_const *p = realloc(m->c, cap * sizeof *p);
        if (!p) {
            onnx_const_clear(c);
            return es_fail("out of memory");
        }
        m->c = p, m->cap_c = cap;
    }
    onnx_const *d = &m->c[m->nc];
    *d = *c;
    d->tensor = -1, d->initializer = 0;
    free(c->name);
    memset(c, 0, sizeof *c);
    if (!(d->name = strdup(name))) {
        onnx_const_clear(d);
        return es_fail("out of memory");
    }
    m->nc++;
    return 0;
}

/* The graph tensor holding constant c, made on first use with the kind its role says. */
static int materialize(importer *m, onnx_const *c, es_tensor_kind kind)
{
    if (c->tensor >= 0)
        return c->tensor;
    int dims[ES_MAX_DIMS];
    for (int d = 0; d < c->ndim; d++) {
        if (c->dims[d] < 1 || c->dims[d] > INT_MAX)
            return es_fail("tensor %s: dimension %lld", c->name, (long long)c->dims[d]);
        dims[d] = (int)c->dims[d];
    }
    float *data = c->f;
    if (c->is_int) { /* an integer tensor read as data: convert (rare: an index used as a value) */
        if (!(data = malloc((c->n ? c->n : 1) * sizeof *data)))
            return es_fail("out of memory");
        for (size_t k = 0; k < c->n; k++)
            data[k] = (float)c->i[k];
    }
    c->tensor = es_tensor_add(m->g, c->name, kind, c->ndim, dims, data);
    if (data != c->f)
        free(data);
    return c->tensor;
}

/* ---- names and nodes ----------------------------------------------------------------------- */
static const char *node_label(const Onnx__NodeProto *nd)
{
    if (nd->name && *nd->name)
        return nd->name;
    return nd->n_output && nd->output[0] && *nd->output[0] ? nd->output[0] : "(unnamed)";
}

static int fail_node(const Onnx__NodeProto *nd, const char *fmt, const char *detail)
{
    return es_fail("node %s (%s): %s%s", node_label(nd), nd->op_type, fmt, detail ? detail : "");
}

static int node_name_used(const es_graph *g, const char *name)
{
    for (int k = 0; k < g->nn; k++)
        if (strcmp(g->n[k].name, name) == 0)
            return 1;
    return 0;
}

/* A name for a graph node from ONNX node nd (unique; `suffix` for the extra nodes a lowering adds). */
static void make_name(importer *m, const Onnx__NodeProto *nd, const char *suffix, char *buf, size_t cap)
{
    const char *base = nd->name && *nd->name ? nd->name : NULL;
    char tmp[64];
    if (!base) {
        snprintf(tmp, sizeof tmp, "%s_%d", nd->op_type, m->node);
        base = tmp;
    }
    snprintf(buf, cap, "%s%s", base, suffix ? suffix : "");
    for (int k = 2; node_name_used(m->g, buf) || es_tensor_find(m->g, buf) >= 0; k++)
        snprintf(buf, cap, "%s%s_%d", base, suffix ? suffix : "", k);
}

/* A tensor name for an intermediate result of a lowering. */
static void make_tensor_name(importer *m, const char *base, const char *suffix, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", base, suffix);
    for (int k = 2; es_tensor_find(m->g, buf) >= 0; k++)
        snprintf(buf, cap, "%s%s_%d", base, suffix, k);
}

/* The graph tensor for input k of nd: -1 in *id for an omitted optional input. */
static int input_id(importer *m, const Onnx__NodeProto *nd, int k, es_tensor_kind kind, int *id)
{
    *id = -1;
    if (k >= (int)nd->n_input || !nd->input[k] || !*nd->input[k])
        return 0;
    const char *name = nd->input[k];
    if ((*id = es_tensor_find(m->g, name)) >= 0)
        return 0;
    onnx_const *c = find_const(m, name);
    if (!c)
        return es_fail("node %s (%s): input '%s' is not defined (a missing initializer?)",
                       node_label(nd), nd->op_type, name);
    if ((*id = materialize(m, c, kind)) < 0)
        return -1;
    return 0;
}

/* Adds graph node `op` for ONNX node nd, its output named out_name; returns the output id. */
static int add_node(importer *m, const Onnx__NodeProto *nd, const char *suffix, es_op_type op,
                    const es_attrs *a, int n_in, const int *in, const char *out_name)
{
    char name[512];
    make_name(m, nd, suffix, name, sizeof name);
    int id = es_node_add(m->g, op, name, a, n_in, in, 1, (const char *const[]){out_name});
    if (id < 0)
        return -1;
    int out = m->g->n[id].out[0];
    /* a broken model is refused here, before a forward pass tries to allocate it */
    if (m->g->t[out].size > MAX_TENSOR_VALUES || m->g->ws_need > MAX_TENSOR_VALUES)
        return es_fail("node %s (%s): needs %zu values, too many", name, es_op_name(op),
                       m->g->t[out].size > m->g->ws_need ? m->g->t[out].size : m->g->ws_need);
    return out;
}

/* The ONNX node's own first output name (the last node of a lowering takes it). */
static const char *out0(const Onnx__NodeProto *nd) { return nd->output[0]; }

static const es_tensor *tensor(importer *m, int id) { return &m->g->t[id]; }

static int axis_norm(const Onnx__NodeProto *nd, int64_t ax, int rank, int *out)
{
    *out = 0;
    if (ax < -rank || ax >= rank)
        return fail_node(nd, "axis out of range", NULL);
    *out = (int)(ax < 0 ? ax + rank : ax);
    return 0;
}

/* ---- ops ------------------------------------------------------------------------------------ */
/* The data input (input 0), which must be a graph tensor or a constant used as data. */
static int data_in(importer *m, const Onnx__NodeProto *nd, int *x)
{
    if (input_id(m, nd, 0, ES_T_STATE, x) != 0)
        return -1;
    return *x < 0 ? fail_node(nd, "no data input", NULL) : 0;
}

/* kernel_shape / strides / dilations / pads (/ auto_pad) of Conv and the pools. */
static int spatial_attrs(importer *m, const Onnx__NodeProto *nd, int x, int wk, es_attrs *a)
{
    const es_tensor *t = tensor(m, x);
    int s = t->ndim - 2;
    if (s != 1 && s != 2)
        return fail_node(nd, "only 1-D and 2-D inputs (N,C,L) / (N,C,H,W) are supported", NULL);
    const int64_t *v;
    size_t nk = onnx_attr_ints(nd, "kernel_shape", &v);
    if (nk && nk != (size_t)s)
        return fail_node(nd, "kernel_shape does not match the input rank", NULL);
    for (int i = 0; i < s; i++) {
        int64_t k = nk ? v[i] : (wk >= 0 ? tensor(m, wk)->dims[2 + i] : 0);
        if (k < 1 || k > MAX_SPATIAL)
            return fail_node(nd, "missing or bad kernel_shape", NULL);
        a->kernel[i] = (int)k;
    }
    static const char *const names[2] = {"strides", "dilations"};
    for (int j = 0; j < 2; j++) {
        size_t n = onnx_attr_ints(nd, names[j], &v);
        if (n && n != (size_t)s)
            return fail_node(nd, names[j], " does not match the input rank");
        for (int i = 0; i < s; i++) {
            int64_t val = n ? v[i] : 1;
            if (val < 1 || val > MAX_SPATIAL)
                return fail_node(nd, "bad ", names[j]);
            (j ? a->dilation : a->stride)[i] = (int)val;
        }
    }
    char buf[32];
    const char *ap = onnx_attr_str(nd, "auto_pad", buf, sizeof buf, "NOTSET");
    size_t np = onnx_attr_ints(nd, "pads", &v);
    if (strcmp(ap, "NOTSET") == 0) {
        if (np && np != (size_t)(2 * s))
            return fail_node(nd, "pads does not match the input rank", NULL);
        for (int i = 0; i < 2 * s; i++) {
            if (np && (v[i] < 0 || v[i] > MAX_SPATIAL))
                return fail_node(nd, "bad pads", NULL);
            a->pads[i] = np ? (int)v[i] : 0;
        }
    } else if (strcmp(ap, "VALID") == 0) {
        for (int i = 0; i < 2 * s; i++)
            a->pads[i] = 0;
    } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        for (int i = 0; i < s; i++) {
            long in = t->dims[2 + i], st = a->stride[i];
            long eff = (long)(a->kernel[i] - 1) * a->dilation[i] + 1;
            long total = ((in + st - 1) / st - 1) * st + eff - in;
            total = total > 0 ? total : 0;
            int small = (int)(total / 2), big = (int)(total - total / 2);
            a->pads[i] = ap[5] == 'U' ? small : big;
            a->pads[s + i] = ap[5] == 'U' ? big : small;
        }
    } else {
        return fail_node(nd, "unknown auto_pad ", ap);
    }
    for (int i = 0; i < s; i++)
        if ((int64_t)(a->kernel[i] - 1) * a->dilation[i] + 1 > MAX_SPATIAL)
            return fail_node(nd, "dilated kernel too large", NULL);
    return 0;
}

static int op_conv(importer *m, const Onnx__NodeProto *nd)
{
    int in[3];
    if (data_in(m, nd, &in[0]) != 0 || input_id(m, nd, 1, ES_T_PARAM, &in[1]) != 0 ||
        input_id(m, nd, 2, ES_T_PARAM, &in[2]) != 0)
        return -1;
    if (in[1] < 0)
        return fail_node(nd, "no weight", NULL);
    es_attrs a;
    es_attrs_default(&a);
    if (tensor(m, in[1])->ndim != tensor(m, in[0])->ndim)
        return fail_node(nd, "weight rank differs from the input rank", NULL);
    if (spatial_attrs(m, nd, in[0], in[1], &a) != 0)
        return -1;
    int64_t grp = onnx_attr_int(nd, "group", 1);
    if (grp < 1 || grp > INT_MAX)
        return fail_node(nd, "bad group", NULL);
    a.group = (int)grp;
    return add_node(m, nd, NULL, ES_OP_CONV, &a, in[2] >= 0 ? 3 : 2, in, out0(nd));
}

static int op_pool(importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    if (nd->n_output > 1 && nd->output[1] && *nd->output[1])
        return fail_node(nd, "the Indices output is not supported", NULL);
    es_attrs a;
    es_attrs_default(&a);
    if (!onnx_attr(nd, "kernel_shape"))
        return fail_node(nd, "no kernel_shape", NULL);
    if (spatial_attrs(m, nd, x, -1, &a) != 0)
        return -1;
    a.ceil_mode = onnx_attr_int(nd, "ceil_mode", 0) != 0;
    a.count_include_pad = onnx_attr_int(nd, "count_include_pad", 0) != 0;
    return add_node(m, nd, NULL, op, &a, 1, &x, out0(nd));
}

/* GlobalMaxPool is a MaxPool whose kernel covers the whole (static) spatial extent. */
static int op_global(importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    if (strcmp(nd->op_type, "GlobalAveragePool") == 0)
        return add_node(m, nd, NULL, ES_OP_GAP, NULL, 1, &x, out0(nd));
    const es_tensor *t = tensor(m, x);
    if (t->ndim != 3 && t->ndim != 4)
        return fail_node(nd, "only 1-D and 2-D inputs are supported", NULL);
    es_attrs a;
    es_attrs_default(&a);
    for (int i = 0; i < t->ndim - 2; i++)
        a.kernel[i] = t->dims[2 + i];
    return add_node(m, nd, NULL, ES_OP_MAXPOOL, &a, 1, &x, out0(nd));
}

static int op_gemm(importer *m, const Onnx__NodeProto *nd)
{
    int in[3];
    if (data_in(m, nd, &in[0]) != 0 || input_id(m, nd, 1, ES_T_PARAM, &in[1]) != 0 ||
        input_id(m, nd, 2, ES_T_PARAM, &in[2]) != 0)
        return -1;
    if (in[1] < 0)
        return fail_node(nd, "no B input", NULL);
    es_attrs a;
    es_attrs_default(&a);
    a.alpha = onnx_attr_float(nd, "alpha", 1.0f);
    a.beta = onnx_attr_float(nd, "beta", 1.0f);
    a.trans_a = onnx_attr_int(nd, "transA", 0) != 0;
    a.trans_b = onnx_attr_int(nd, "transB", 0) != 0;
    return add_node(m, nd, NULL, ES_OP_GEMM, &a, in[2] >= 0 ? 3 : 2, in, out0(nd));
}

static int op_matmul(importer *m, const Onnx__NodeProto *nd)
{
    int in[2];
    if (data_in(m, nd, &in[0]) != 0 || input_id(m, nd, 1, ES_T_PARAM, &in[1]) != 0)
        return -1;
    if (in[1] < 0)
        return fail_node(nd, "no B input", NULL);
    return add_node(m, nd, NULL, ES_OP_MATMUL, NULL, 2, in, out0(nd));
}

static int op_batchnorm(importer *m, const Onnx__NodeProto *nd)
{
    int in[5];
    if (data_in(m, nd, &in[0]) != 0)
        return -1;
    for (int k = 1; k < 5; k++) {
        if (input_id(m, nd, k, k < 3 ? ES_T_PARAM : ES_T_STATE, &in[k]) != 0)
            return -1;
        if (in[k] < 0)
            return fail_node(nd, "wants scale, B, mean and var", NULL);
    }
    for (size_t k = 1; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k])
            return fail_node(nd, "training-mode outputs are not supported", NULL);
    if (onnx_attr_int(nd, "spatial", 1) != 1)
        return fail_node(nd, "spatial=0 is not supported", NULL);
    es_attrs a;
    es_attrs_default(&a);
    a.epsilon = onnx_attr_float(nd, "epsilon", 1e-5f);
    a.momentum = onnx_attr_float(nd, "momentum", 0.9f);
    return add_node(m, nd, NULL, ES_OP_BATCHNORM, &a, 5, in, out0(nd));
}

/* Softmax / LogSoftmax. Before opset 13 the op flattened the input to 2-D at `axis` (default 1)
 * and normalised the rows; on the last axis that is the same as opset 13's per-axis rule, other
 * axes become Flatten → Softmax(axis 1) → Reshape. */
static int op_softmax(importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    const es_tensor *t = tensor(m, x);
    int r = t->ndim, ax;
    if (axis_norm(nd, onnx_attr_int(nd, "axis", m->opset < 13 ? 1 : -1), r, &ax) != 0)
        return -1;
    es_attrs a;
    es_attrs_default(&a);
    if (m->opset >= 13 || ax == r - 1) {
        a.axis = ax;
        return add_node(m, nd, NULL, op, &a, 1, &x, out0(nd));
    }
    int dims[ES_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    char n1[512], n2[512];
    make_tensor_name(m, out0(nd), "/flat", n1, sizeof n1);
    make_tensor_name(m, out0(nd), "/rows", n2, sizeof n2);
    a.axis = ax;
    int f = add_node(m, nd, "/flatten", ES_OP_FLATTEN, &a, 1, &x, n1);
    a.axis = 1;
    int s = f < 0 ? -1 : add_node(m, nd, "/rows", op, &a, 1, &f, n2);
    if (s < 0)
        return -1;
    es_attrs_default(&a);
    a.n_list = r;
    for (int d = 0; d < r; d++)
        a.list[d] = d == 0 ? -1 : dims[d]; /* -1: the batch, whatever it becomes */
    return add_node(m, nd, "/reshape", ES_OP_RESHAPE, &a, 1, &s, out0(nd));
}

static int op_unary(importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    es_attrs a;
    es_attrs_default(&a);
    if (op == ES_OP_LEAKYRELU)
        a.alpha = onnx_attr_float(nd, "alpha", 0.01f);
    return add_node(m, nd, NULL, op, &a, 1, &x, out0(nd));
}

static int op_cast(importer *m, const Onnx__NodeProto *nd)
{
    int64_t to = onnx_attr_int(nd, "to", 1);
    if (to != 1)
        return fail_node(nd, "casting a float tensor to another type is not supported", NULL);
    return op_unary(m, nd, ES_OP_IDENTITY);
}

static int op_dropout(importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    es_attrs a;
    es_attrs_default(&a);
    a.ratio = onnx_attr_float(nd, "ratio", 0.5f);
    if (nd->n_input > 1 && *nd->input[1]) {
        onnx_const *r = find_const(m, nd->input[1]);
        if (!r || r->n != 1)
            return fail_node(nd, "ratio is not a constant", NULL);
        a.ratio = (float)onnx_const_get(r, 0);
    }
    return add_node(m, nd, NULL, ES_OP_DROPOUT, &a, 1, &x, out0(nd));
}

/* An operand of Add/Sub/Mul/Div: a vector initializer is most likely a trained bias or scale
 * (the bias of a Linear on (N, T, C) is MatMul + Add), so PARAM; scalars and constants that
 * Constant nodes or folds made (0.5, 2.0, a normalisation) are STATE. */
static es_tensor_kind operand_kind(importer *m, const Onnx__NodeProto *nd, int k)
{
    onnx_const *c = k < (int)nd->n_input && *nd->input[k] ? find_const(m, nd->input[k]) : NULL;
    return c && c->initializer && c->n > 1 ? ES_T_PARAM : ES_T_STATE;
}

static int op_binary(importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[2];
    if (nd->n_input != 2)
        return fail_node(nd, "wants 2 inputs", NULL);
    if (input_id(m, nd, 0, operand_kind(m, nd, 0), &in[0]) != 0 ||
        input_id(m, nd, 1, operand_kind(m, nd, 1), &in[1]) != 0)
        return -1;
    if (in[0] < 0 || in[1] < 0)
        return fail_node(nd, "wants 2 inputs", NULL);
    return add_node(m, nd, NULL, op, NULL, 2, in, out0(nd));
}

static int op_concat(importer *m, const Onnx__NodeProto *nd)
{
    if (nd->n_input < 1 || nd->n_input > 4096)
        return fail_node(nd, "bad number of inputs", NULL);
    int *in = malloc(nd->n_input * sizeof *in), r = -1;
    if (!in)
        return es_fail("out of memory");
    int n = 0;
    for (size_t k = 0; k < nd->n_input; k++)
        if (input_id(m, nd, (int)k, ES_T_STATE, &in[n]) != 0)
            goto done;
        else if (in[n] >= 0)
            n++;
    if (n == 0) {
        r = fail_node(nd, "no inputs", NULL);
        goto done;
    }
    es_attrs a;
    es_attrs_default(&a);
    if (!onnx_attr(nd, "axis")) {
        r = fail_node(nd, "no axis", NULL);
        goto done;
    }
    if (axis_norm(nd, onnx_attr_int(nd, "axis", 1), tensor(m, in[0])->ndim, &a.axis) == 0)
        r = add_node(m, nd, NULL, ES_OP_CONCAT, &a, n, in, out0(nd));
done:
    free(in);
    return r;
}

static int op_flatten(importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    es_attrs a;
    es_attrs_default(&a);
    int r = tensor(m, x)->ndim;
    int64_t ax = onnx_attr_int(nd, "axis", 1);
    if (ax < -r || ax > r)
        return fail_node(nd, "axis out of range", NULL);
    a.axis = (int)(ax < 0 ? ax + r : ax);
    return add_node(m, nd, NULL, ES_OP_FLATTEN, &a, 1, &x, out0(nd));
}

/* A constant input k (or attribute `attr` in older opsets) as a list of ints. present = 0
 * when neither is there. */
static int const_ints(importer *m, const Onnx__NodeProto *nd, int k, const char *attr,
                      int64_t *v, int max, int *n, int *present)
{
    *n = 0, *present = 0;
    if (k < (int)nd->n_input && *nd->input[k]) {
        onnx_const *c = find_const(m, nd->input[k]);
        if (!c)
            return fail_node(nd, "needs a constant ", attr);
        if (c->n > (size_t)max)
            return fail_node(nd, "too many values in ", attr);
        for (size_t j = 0; j < c->n; j++)
            v[j] = onnx_const_int(c, j);
        *n = (int)c->n, *present = 1;
        return 0;
    }
    const int64_t *a;
    size_t na = onnx_attr_ints(nd, attr, &a);
    if (!onnx_attr(nd, attr))
        return 0;
    if (na > (size_t)max)
        return fail_node(nd, "too many values in ", attr);
    memcpy(v, a, na * sizeof *v);
    *n = (int)na, *present = 1;
    return 0;
}

static int op_reshape(importer *m, const Onnx__NodeProto *nd)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (data_in(m, nd, &x) != 0 || const_ints(m, nd, 1, "shape", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    if (!present)
        return fail_node(nd, "no shape", NULL);
    es_attrs a;
    es_attrs_default(&a);
    const es_tensor *t = tensor(m, x);
    int allowzero = onnx_attr_int(nd, "allowzero", 0) != 0;
    for (int d = 0; d < n; d++) {
        if (v[d] < -1 || v[d] > MAX_INPUT_VALUES || (v[d] == 0 && allowzero))
            return fail_node(nd, "unsupported shape value", NULL);
        a.list[d] = (int)v[d];
    }
    a.n_list = n;
    /* A leading size equal to the input's (the batch, folded from Shape or written as 1 by a
     * static export) becomes 0, "copy from the input": the same now, and it follows the batch. */
    if (n > 0 && t->ndim > 0 && a.list[0] == t->dims[0])
        a.list[0] = 0;
    return add_node(m, nd, NULL, ES_OP_RESHAPE, &a, 1, &x, out0(nd));
}

static int op_transpose(importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    int r = tensor(m, x)->ndim;
    const int64_t *p;
    size_t np = onnx_attr_ints(nd, "perm", &p);
    if (np && np != (size_t)r)
        return fail_node(nd, "perm does not match the input rank", NULL);
    es_attrs a;
    es_attrs_default(&a);
    a.n_list = r;
    for (int d = 0; d < r; d++) {
        int64_t v = np ? p[d] : r - 1 - d;
        if (v < 0 || v >= r)
            return fail_node(nd, "bad perm", NULL);
        a.list[d] = (int)v;
    }
    return add_node(m, nd, NULL, ES_OP_TRANSPOSE, &a, 1, &x, out0(nd));
}

static int op_squeeze(importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (data_in(m, nd, &x) != 0 || const_ints(m, nd, 1, "axes", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    const es_tensor *t = tensor(m, x);
    int rank = op == ES_OP_UNSQUEEZE ? t->ndim + n : t->ndim;
    es_attrs a;
    es_attrs_default(&a);
    if (rank > ES_MAX_DIMS)
        return fail_node(nd, "result of too high a rank", NULL);
    if (!present && op == ES_OP_UNSQUEEZE)
        return fail_node(nd, "no axes", NULL);
    if (!present) /* Squeeze without axes: every dim of size 1, as the shape is now */
        for (int d = 0; d < t->ndim; d++)
            if (t->dims[d] == 1)
                a.list[a.n_list++] = d;
    for (int k = 0; k < n; k++)
        if (axis_norm(nd, v[k], rank, &a.list[a.n_list++]) != 0)
            return -1;
    for (int i = 1; i < a.n_list; i++) /* sorted, as the op reads them */
        for (int j = i; j > 0 && a.list[j - 1] > a.list[j]; j--) {
            int s = a.list[j];
            a.list[j] = a.list[j - 1], a.list[j - 1] = s;
        }
    return add_node(m, nd, NULL, op, &a, 1, &x, out0(nd));
}

static int op_pad(importer *m, const Onnx__NodeProto *nd)
{
    int x, n, present;
    int64_t v[2 * ES_MAX_DIMS];
    char buf[32];
    if (data_in(m, nd, &x) != 0)
        return -1;
    const char *mode = onnx_attr_str(nd, "mode", buf, sizeof buf, "constant");
    if (strcmp(mode, "constant") != 0)
        return fail_node(nd, "only mode=constant is supported, not ", mode);
    if (nd->n_input > 3 && *nd->input[3])
        return fail_node(nd, "the axes input is not supported", NULL);
    if (const_ints(m, nd, 1, m->opset < 11 ? "paddings" : "pads", v, 2 * ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    if (!present && const_ints(m, nd, 1, "pads", v, 2 * ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    int r = tensor(m, x)->ndim;
    if (!present || n != 2 * r)
        return fail_node(nd, "pads must have two values per dimension", NULL);
    es_attrs a;
    es_attrs_default(&a);
    for (int k = 0; k < n; k++) {
        if (v[k] < -MAX_SPATIAL || v[k] > MAX_SPATIAL)
            return fail_node(nd, "bad pads", NULL);
        a.pads[k] = (int)v[k];
    }
    a.value = onnx_attr_float(nd, "value", 0.0f);
    if (nd->n_input > 2 && *nd->input[2]) {
        onnx_const *c = find_const(m, nd->input[2]);
        if (!c || c->n != 1)
            return fail_node(nd, "constant_value is not a constant scalar", NULL);
        a.value = (float)onnx_const_get(c, 0);
    }
    return add_node(m, nd, NULL, ES_OP_PAD, &a, 1, &x, out0(nd));
}

/* A scalar STATE tensor holding v, for the constants a lowering needs. */
static int scalar_tensor(importer *m, const char *base, const char *suffix, float v)
{
    char nm[512];
    make_tensor_name(m, base, suffix, nm, sizeof nm);
    return es_tensor_add(m->g, nm, ES_T_STATE, 0, NULL, &v);
}

/* ReduceMean / ReduceMax / ReduceSum over dims other than the batch. Over all spatial dims of
 * (N,C,L) or (N,C,H,W) it is GlobalAveragePool / a whole-extent MaxPool; otherwise the reduced
 * dims are moved last (Transpose), merged (Reshape to (N, kept, reduced)), pooled in 1-D and
 * reshaped. A sum is the mean times the count. */
static int op_reduce(importer *m, const Onnx__NodeProto *nd)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (data_in(m, nd, &x) != 0 || const_ints(m, nd, 1, "axes", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    int is_max = strcmp(nd->op_type, "ReduceMax") == 0, is_sum = strcmp(nd->op_type, "ReduceSum") == 0;
    int keep = onnx_attr_int(nd, "keepdims", 1) != 0;
    const es_tensor *t = tensor(m, x);
    int r = t->ndim, dims[ES_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    char red[ES_MAX_DIMS] = {0};
    if (!present || n == 0) {
        if (onnx_attr_int(nd, "noop_with_empty_axes", 0))
            return op_unary(m, nd, ES_OP_IDENTITY);
        for (int d = 0; d < r; d++)
            red[d] = 1;
    }
    for (int k = 0; k < n; k++) {
        int ax;
        if (axis_norm(nd, v[k], r, &ax) != 0)
            return -1;
        red[ax] = 1;
    }
    if (red[0])
        return fail_node(nd, "reducing over the batch dimension is not supported", NULL);
    long count = 1;
    for (int d = 1; d < r; d++)
        count *= red[d] ? dims[d] : 1;
    /* the mean / max lands in `res`: the node's output, or a step before the sum's Mul */
    char res[512], nm[512];
    if (is_sum)
        make_tensor_name(m, out0(nd), "/mean", res, sizeof res);
    else
        snprintf(res, sizeof res, "%s", out0(nd));
    const char *last = is_sum ? "/mean" : NULL; /* suffix of the node that makes res */
    es_op_type pool = is_max ? ES_OP_MAXPOOL : ES_OP_GAP;
    int all_spatial = r == 3 || r == 4, y;
    for (int d = 1; d < r; d++)
        all_spatial &= red[d] == (d >= 2);
    es_attrs a;
    es_attrs_default(&a);
    if (all_spatial) {
        for (int d = 2; d < r; d++)
            a.kernel[d - 2] = dims[d];
        make_tensor_name(m, out0(nd), "/pooled", nm, sizeof nm);
        y = add_node(m, nd, keep ? last : "/pool", pool, &a, 1, &x, keep ? res : nm);
        es_attrs_default(&a);
        if (y >= 0 && !keep)
            y = add_node(m, nd, last, ES_OP_FLATTEN, &a, 1, &y, res);
    } else { /* (N, kept..., reduced...) → (N, K, R) → pooled (N, K, 1) → the output shape */
        int perm[ES_MAX_DIMS], np = 0, identity = 1;
        long kk = 1;
        perm[np++] = 0;
        for (int d = 1; d < r; d++)
            if (!red[d])
                perm[np++] = d, kk *= dims[d];
        for (int d = 1; d < r; d++)
            if (red[d])
                perm[np++] = d;
        for (int d = 0; d < r; d++)
            identity &= perm[d] == d;
        if (count > INT_MAX || kk > INT_MAX)
            return fail_node(nd, "too large", NULL);
        y = x;
        if (!identity) {
            a.n_list = r;
            memcpy(a.list, perm, r * sizeof *perm);
            make_tensor_name(m, out0(nd), "/moved", nm, sizeof nm);
            if ((y = add_node(m, nd, "/transpose", ES_OP_TRANSPOSE, &a, 1, &y, nm)) < 0)
                return -1;
        }
        es_attrs_default(&a);
        a.n_list = 3;
        a.list[0] = 0, a.list[1] = (int)kk, a.list[2] = (int)count;
        make_tensor_name(m, out0(nd), "/merged", nm, sizeof nm);
        if ((y = add_node(m, nd, "/merge", ES_OP_RESHAPE, &a, 1, &y, nm)) < 0)
            return -1;
        es_attrs_default(&a);
        a.kernel[0] = (int)count;
        make_tensor_name(m, out0(nd), "/pooled", nm, sizeof nm);
        if ((y = add_node(m, nd, "/pool", pool, &a, 1, &y, nm)) < 0)
            return -1;
        es_attrs_default(&a);
        a.list[a.n_list++] = 0;
        for (int d = 1; d < r; d++)
            if (!red[d] || keep)
                a.list[a.n_list++] = red[d] ? 1 : dims[d];
        y = add_node(m, nd, last, ES_OP_RESHAPE, &a, 1, &y, res);
    }
    if (y < 0 || !is_sum)
        return y;
    int c = scalar_tensor(m, out0(nd), "/count", (float)count);
    return c < 0 ? -1 : add_node(m, nd, NULL, ES_OP_MUL, NULL, 2, (int[]){y, c}, out0(nd));
}

/* Clip(lo, hi) with ReLUs: Relu(x − lo) + lo below, x − Relu(x − hi) above, and
 * Relu(x − lo) − Relu(x − hi) + lo for both; terms with a zero bound are left out, so
 * Clip(0, ∞) is one Relu and ReLU rules (guided backprop) still see it as one. A bound beyond
 * ±1e30 (older opsets write ±FLT_MAX for "none") counts as absent. */
static int op_clip(importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (data_in(m, nd, &x) != 0)
        return -1;
    float lo = onnx_attr_float(nd, "min", -INFINITY), hi = onnx_attr_float(nd, "max", INFINITY);
    for (int k = 1; k < 3; k++)
        if (k < (int)nd->n_input && *nd->input[k]) {
            onnx_const *c = find_const(m, nd->input[k]);
            if (!c || c->n != 1)
                return fail_node(nd, "min and max must be constant scalars", NULL);
            *(k == 1 ? &lo : &hi) = (float)onnx_const_get(c, 0);
        }
    int has_lo = lo > -1e30f, has_hi = hi < 1e30f;
    if (!has_lo && !has_hi)
        return op_unary(m, nd, ES_OP_IDENTITY);
    const char *o = out0(nd);
    char nm[512];
    int y = -1, c, t;
    /* each step: its own tensor name, or the ONNX output name when it is the last */
#define STEP(suffix, op, last, ...)                                                           \
    (make_tensor_name(m, o, suffix, nm, sizeof nm),                                          \
     add_node(m, nd, (last) ? NULL : suffix, op, NULL, sizeof((int[]){__VA_ARGS__}) / sizeof(int), \
              (int[]){__VA_ARGS__}, (last) ? o : nm))
    if (has_lo) { /* y = Relu(x − lo) [+ lo, unless the upper part follows] */
        t = x;
        if (lo != 0.0f && ((c = scalar_tensor(m, o, "/min", -lo)) < 0 ||
                           (t = STEP("/sub_min", ES_OP_ADD, 0, x, c)) < 0))
            return -1;
        int last = !has_hi && lo == 0.0f;
        if ((y = STEP("/relu_min", ES_OP_RELU, last, t)) < 0 || last)
            return y;
    }
    if (has_hi) { /* y = (has_lo ? y : x) − Relu(x − hi) */
        if ((c = scalar_tensor(m, o, "/max", -hi)) < 0 || (t = STEP("/sub_max", ES_OP_ADD, 0, x, c)) < 0 ||
            (t = STEP("/relu_max", ES_OP_RELU, 0, t)) < 0)
            return -1;
        int last = !has_lo || lo == 0.0f;
        if ((y = STEP("/diff", ES_OP_SUB, last, has_lo ? y : x, t)) < 0 || last)
            return y;
    }
    if ((c = scalar_tensor(m, o, "/offset", lo)) < 0)
        return -1;
    return STEP("/add_min", ES_OP_ADD, 1, y, c);
#undef STEP
}

/* Shape (opset 15: start / end) of a graph tensor or a constant: an integer constant. */
static int op_shape(importer *m, const Onnx__NodeProto *nd)
{
    if (nd->n_input < 1 || !*nd->input[0])
        return fail_node(nd, "no input", NULL);
    int id = es_tensor_find(m->g, nd->input[0]), r;
    int64_t dims[ES_MAX_DIMS];
    onnx_const *c = id < 0 ? find_const(m, nd->input[0]) : NULL;
    if (id >= 0) {
        r = tensor(m, id)->ndim;
        for (int d = 0; d < r; d++)
            dims[d] = tensor(m, id)->dims[d];
    } else if (c) {
        r = c->ndim;
        memcpy(dims, c->dims, sizeof dims);
    } else {
        return fail_node(nd, "input is not defined: ", nd->input[0]);
    }
    int64_t s = onnx_attr_int(nd, "start", 0), e = onnx_attr_int(nd, "end", r);
    s = s < 0 ? s + r : s, e = e < 0 ? e + r : e;
    s = s < 0 ? 0 : s > r ? r : s, e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > s ? e - s : 0;
    onnx_const out = {0};
    if (onnx_const_alloc(&out, 1, 1, &len) != 0)
        return -1;
    for (int64_t k = 0; k < len; k++)
        out.i[k] = dims[s + k];
    return add_const(m, &out, out0(nd));
}

/* ---- the node loop ------------------------------------------------------------------------- */
static int import_op(importer *m, const Onnx__NodeProto *nd)
{
    const char *op = nd->op_type;
#define IS(s) (strcmp(op, s) == 0)
    if (IS("Conv")) return op_conv(m, nd);
    if (IS("MaxPool")) return op_pool(m, nd, ES_OP_MAXPOOL);
    if (IS("AveragePool")) return op_pool(m, nd, ES_OP_AVGPOOL);
    if (IS("GlobalAveragePool") || IS("GlobalMaxPool")) return op_global(m, nd);
    if (IS("Gemm")) return op_gemm(m, nd);
    if (IS("MatMul")) return op_matmul(m, nd);
    if (IS("BatchNormalization")) return op_batchnorm(m, nd);
    if (IS("Relu")) return op_unary(m, nd, ES_OP_RELU);
    if (IS("LeakyRelu")) return op_unary(m, nd, ES_OP_LEAKYRELU);
    if (IS("Sigmoid")) return op_unary(m, nd, ES_OP_SIGMOID);
    if (IS("Identity")) return op_unary(m, nd, ES_OP_IDENTITY);
    if (IS("Cast")) return op_cast(m, nd);
    if (IS("Softmax")) return op_softmax(m, nd, ES_OP_SOFTMAX);
    if (IS("LogSoftmax")) return op_softmax(m, nd, ES_OP_LOGSOFTMAX);
    if (IS("Dropout")) return op_dropout(m, nd);
    if (IS("Add")) return op_binary(m, nd, ES_OP_ADD);
    if (IS("Sub")) return op_binary(m, nd, ES_OP_SUB);
    if (IS("Mul")) return op_binary(m, nd, ES_OP_MUL);
    if (IS("Div")) return op_binary(m, nd, ES_OP_DIV);
    if (IS("Concat")) return op_concat(m, nd);
    if (IS("Flatten")) return op_flatten(m, nd);
    if (IS("Reshape")) return op_reshape(m, nd);
    if (IS("Transpose")) return op_transpose(m, nd);
    if (IS("Squeeze")) return op_squeeze(m, nd, ES_OP_SQUEEZE);
    if (IS("Unsqueeze")) return op_squeeze(m, nd, ES_OP_UNSQUEEZE);
    if (IS("Pad")) return op_pad(m, nd);
    if (IS("ReduceMean") || IS("ReduceMax") || IS("ReduceSum")) return op_reduce(m, nd);
    if (IS("Clip")) return op_clip(m, nd);
#undef IS
    return es_fail("unsupported operator %s (node %s)", op, node_label(nd));
}

static int import_node(importer *m, const Onnx__NodeProto *nd)
{
    if (!nd->op_type || !*nd->op_type)
        return es_fail("a node without an op_type");
    if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx") != 0)
        return es_fail("unsupported operator %s.%s (node %s)", nd->domain, nd->op_type,
                       node_label(nd));
    if (nd->n_output < 1 || !nd->output[0] || !*nd->output[0])
        return fail_node(nd, "no output", NULL);
    for (size_t k = 0; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k] &&
            (es_tensor_find(m->g, nd->output[k]) >= 0 || find_const(m, nd->output[k])))
            return fail_node(nd, "output name used twice: ", nd->output[k]);
    if (strcmp(nd->op_type, "Shape") == 0)
        return op_shape(m, nd);
    /* All inputs constant: evaluate now if the folder knows the op. */
    onnx_const *ci[16];
    int all_const = nd->n_input <= 16;
    for (size_t k = 0; all_const && k < nd->n_input; k++) {
        ci[k] = *nd->input[k] ? find_const(m, nd->input[k]) : NULL;
        all_const = ci[k] || !*nd->input[k];
    }
    if (all_const && (nd->n_input > 0 || strcmp(nd->op_type, "Constant") == 0)) {
        onnx_const out = {0};
        out.tensor = -1;
        int r = onnx_fold(nd, m->opset, ci, (int)nd->n_input, &out);
        if (r < 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", es_error());
            onnx_const_clear(&out);
            return fail_node(nd, msg, NULL);
        }
        if (r == 1)
            return add_const(m, &out, out0(nd));
        onnx_const_clear(&out);
    }
    return import_op(m, nd) < 0 ? -1 : 0;
}

/* ---- inputs, outputs, model ------------------------------------------------------------- */
static void shape_str(char *buf, size_t cap, int n, const int64_t *d, const char *const *sym)
{
    size_t o = snprintf(buf, cap, "(");
    for (int k = 0; k < n && o < cap; k++)
        o += sym && sym[k] ? snprintf(buf + o, cap - o, "%s%s", k ? "," : "", sym[k])
                           : snprintf(buf + o, cap - o, "%s%lld", k ? "," : "", (long long)d[k]);
    if (o < cap)
        snprintf(buf + o, cap - o, ")");
}

static int add_input(importer *m, const Onnx__ValueInfoProto *vi, int ndim_over, const int *over)
{
    const char *name = vi->name;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return es_fail("input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != 1)
        return es_fail("input '%s' is not float32 (element type %d)", name, tt->elem_type);
    if (!tt->shape)
        return es_fail("input '%s' has no shape", name);
    int r = (int)tt->shape->n_dim;
    if (r < 1 || r > ES_MAX_DIMS)
        return es_fail("input '%s' has rank %d", name, r);
    int64_t decl[ES_MAX_DIMS];
    const char *sym[ES_MAX_DIMS];
    int dims[ES_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
        int fixed = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                    dm->dim_value > 0;
        decl[d] = fixed ? dm->dim_value : -1;
        sym[d] = fixed ? NULL
                 : dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dm->dim_param && *dm->dim_param
                     ? dm->dim_param : "?";
        if (fixed && dm->dim_value > INT_MAX)
            return es_fail("input '%s': dimension %d is too large", name, d);
    }
    if (over) {
        int shift = ndim_over == r - 1; /* the batch dim left out: 1 */
        char want[200], got[200];
        int64_t g64[ES_MAX_DIMS];
        for (int d = 0; d < ndim_over && d < ES_MAX_DIMS; d++)
            g64[d] = over[d];
        shape_str(want, sizeof want, r, decl, sym);
        shape_str(got, sizeof got, ndim_over < ES_MAX_DIMS ? ndim_over : ES_MAX_DIMS, g64, NULL);
        if (ndim_over != r && !shift)
            return es_fail("input '%s' is %s; cannot take an array of shape %s", name, want, got);
        for (int d = 0; d < r; d++) {
            int v = shift ? (d ? over[d - 1] : 1) : over[d];
            /* the batch (dim 0) may differ even when fixed: shapes are re-inferred for it */
            if (v < 1 || (d > 0 && decl[d] > 0 && decl[d] != v))
                return es_fail("input '%s' is %s; cannot take an array of shape %s", name, want, got);
            dims[d] = v;
        }
    } else {
        for (int d = 0; d < r; d++) {
            if (decl[d] > MAX_INPUT_VALUES)
                return es_fail("input '%s': dimension %d is too large", name, d);
            if (decl[d] < 0 && d > 0)
                return es_fail("input '%s' has a symbolic dimension %d ('%s'); earsight needs a "
                               "fixed shape (give an input of the size you want)", name, d, sym[d]);
            dims[d] = decl[d] < 0 ? 1 : (int)decl[d]; /* a symbolic batch: 1 */
        }
    }
    long total = 1;
    for (int d = 0; d < r; d++)
        if ((total *= dims[d]) > MAX_INPUT_VALUES)
            return es_fail("input '%s' is too large", name);
    return es_tensor_add(m->g, name, ES_T_INPUT, r, dims, NULL) < 0 ? -1 : 0;
}

/* ---- which nodes matter ------------------------------------------------------------------- */
/* A set of names (pointers into the model) by open addressing; cap is a power of two. */
typedef struct {
    const char **slot;
    size_t cap;
} name_set;

static size_t fnv1a(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int set_has(const name_set *s, const char *name)
{
    for (size_t i = fnv1a(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slot[i])
            return 0;
        if (strcmp(s->slot[i], name) == 0)
            return 1;
    }
}

static void set_add(name_set *s, const char *name)
{
    size_t i = fnv1a(name) & (s->cap - 1);
    while (s->slot[i] && strcmp(s->slot[i], name) != 0)
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = name;
}

/* live[k] = 1 when node k contributes to a graph output. Exporters leave dead branches (the
 * indices of torch.max(x, dim), unused shape arithmetic); skipping them means an op earsight
 * does not know cannot fail a model that never uses it. */
static char *live_nodes(const Onnx__GraphProto *gp)
{
    size_t names = gp->n_output + 1;
    for (size_t k = 0; k < gp->n_node; k++)
        names += gp->node[k]->n_input;
    name_set s = {NULL, 16};
    while (s.cap < 2 * names)
        s.cap *= 2;
    char *live = calloc(gp->n_node ? gp->n_node : 1, 1);
    s.slot = calloc(s.cap, sizeof *s.slot);
    if (!live || !s.slot) {
        free(live);
        free(s.slot);
        return NULL;
    }
    for (size_t k = 0; k < gp->n_output; k++)
        if (gp->output[k]->name)
            set_add(&s, gp->output[k]->name);
    for (size_t k = gp->n_node; k-- > 0;) {
        const Onnx__NodeProto *nd = gp->node[k];
        for (size_t j = 0; j < nd->n_output && !live[k]; j++)
            live[k] = nd->output[j] && *nd->output[j] && set_has(&s, nd->output[j]);
        for (size_t j = 0; live[k] && j < nd->n_input; j++)
            if (nd->input[j] && *nd->input[j])
                set_add(&s, nd->input[j]);
    }
    free(s.slot);
    return live;
}

static int import_graph(importer *m, const Onnx__GraphProto *gp, int ndim_over, const int *over)
{
    if (gp->n_sparse_initializer)
        return es_fail("sparse initializers are not supported");
    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *t = gp->initializer[k];
        onnx_const c = {0};
        c.tensor = -1;
        if (!t->name || !*t->name)
            return es_fail("an initializer without a name");
        if (find_const(m, t->name))
            return es_fail("initializer %s given twice", t->name);
        if (onnx_tensor_read(t, &c) != 0 || add_const(m, &c, t->name) != 0) {
            onnx_const_clear(&c);
            return -1;
        }
        m->c[m->nc - 1].initializer = 1;
    }
    int n_inputs = 0;
    for (size_t k = 0; k < gp->n_input; k++)
        if (gp->input[k]->name && !find_const(m, gp->input[k]->name)) /* older exporters list */
            n_inputs++;                                                /* initializers as inputs */
    if (n_inputs == 0)
        return es_fail("the model has no input");
    if (over && n_inputs != 1)
        return es_fail("the model has %d inputs; earsight feeds one", n_inputs);
    for (size_t k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];
        if (!vi->name || !*vi->name)
            return es_fail("an input without a name");
        if (!find_const(m, vi->name) && add_input(m, vi, ndim_over, over) != 0)
            return -1;
    }
    char *live = live_nodes(gp);
    if (!live)
        return es_fail("out of memory");
    for (size_t k = 0; k < gp->n_node; k++) {
        m->node = (int)k;
        if (live[k] && import_node(m, gp->node[k]) != 0) {
            free(live);
            return -1;
        }
    }
    free(live);
    if (gp->n_output == 0)
        return es_fail("the model has no output");
    for (size_t k = 0; k < gp->n_output; k++) {
        const char *name = gp->output[k]->name ? gp->output[k]->name : "";
        int id = es_tensor_find(m->g, name);
        if (id < 0 && find_const(m, name))
            return es_fail("output '%s' is a constant, not computed from the input", name);
        if (id < 0)
            return es_fail("output '%s' is not produced by any node", name);
        if (es_tensor_kind_of(m->g, id) != ES_T_ACT)
            return es_fail("output '%s' is not computed by a node", name);
        es_graph_mark_output(m->g, id);
    }
    return 0;
}

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

Onnx__ModelProto *onnx_read_model(const char *path)
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

static int model_opset(const Onnx__ModelProto *mp, int *opset)
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
        return es_fail("opset %d is too old (7 or later)", *opset);
    return 0;
}

static int read_meta(const Onnx__ModelProto *mp, es_meta **meta)
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

static int load(const char *path, int ndim_over, const int *over, es_graph **g, es_meta **meta)
{
    *g = NULL;
    if (meta)
        *meta = NULL;
    if (over && (ndim_over < 1 || ndim_over > ES_MAX_DIMS)) {
        es_fail("%s: an input of rank %d", path, ndim_over);
        return -1;
    }
    importer m = {.path = path};
    Onnx__ModelProto *mp = onnx_read_model(path);
    int r = -1;
    if (mp && model_opset(mp, &m.opset) == 0 && (m.g = es_graph_new()) &&
        import_graph(&m, mp->graph, ndim_over, over) == 0 && (!meta || read_meta(mp, meta) == 0))
        r = 0;
    else if (mp && !m.g && m.opset > 0)
        es_fail("out of memory");
    for (int k = 0; k < m.nc; k++)
        onnx_const_clear(&m.c[k]);
    free(m.c);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    if (r != 0) {
        char msg[450];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_fail("%s: %s", path, msg);
        es_graph_free(m.g);
        if (meta) {
            es_meta_free(*meta);
            *meta = NULL;
        }
        return -1;
    }
    *g = m.g;
    return 0;
}

int es_onnx_peek(const char *path, es_meta **meta, int *ndim, int *dims)
{
    if (meta)
        *meta = NULL;
    *ndim = 0;
    Onnx__ModelProto *mp = onnx_read_model(path);
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
        r = read_meta(mp, meta);
    if (mp)
        onnx__model_proto__free_unpacked(mp, NULL);
    if (r != 0) {
        char msg[450];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_fail("%s: %s", path, msg);
        if (meta) {
            es_meta_free(*meta);
            *meta = NULL;
        }
    }
    return r;
}

int es_onnx_load(const char *path, es_graph **g, es_meta **meta)
{
    return load(path, 0, NULL, g, meta);
}

int es_onnx_load_shaped(const char *path, int ndim, const int *dims, es_graph **g, es_meta **meta)
{
    return load(path, ndim, dims, g, meta);
}
