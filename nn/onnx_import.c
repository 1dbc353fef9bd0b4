/* ONNX → graph: the assembly. Initializers and Constant nodes become constants; integer
 * sub-graphs (shapes, pads) are folded (onnx_fold.c); every other node is imported by its op's
 * hook from the op table (nn/ops.def), or by a lowering (onnx_lower.c) for the few ONNX ops
 * earsight writes with others. Constants become tensors only when a node reads them as data,
 * so shape arithmetic leaves no trace in the graph. Nodes that feed no graph output are
 * skipped. The functions an import hook calls (nn/onnx_hooks.h) are here too. */
#include "nn/onnx_hooks.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSOR_VALUES (1UL << 28) /* values in one activation or the workspace (1 GB) */
#define MAX_GRAPH_VALUES (1UL << 29)  /* values in all activations together (2 GB) */

/* A set of names (pointers into the model) by open addressing; cap is a power of two. */
typedef struct {
    const char **slot;
    size_t cap;
} name_set;

struct es_importer {
    const es_onnx_file *file; /* the model, mapped: initializers' values stay in it */
    int opset;
    es_graph *g;
    es_onnx_const *c; /* every constant known so far, by name */
    int nc, cap_c;
    int node;         /* index of the ONNX node being imported, for unnamed nodes */
    size_t values;    /* the activations' values so far: a forward pass allocates them all */
    name_set used;    /* the names a live node reads or the graph outputs (live_nodes) */
};
static int set_has(const name_set *s, const char *name);

/* ---- constants ------------------------------------------------------------------------- */
static es_onnx_const *find_const(es_importer *m, const char *name)
{
    for (int k = m->nc - 1; k >= 0; k--) /* recent first: folds read what was just made */
        if (strcmp(m->c[k].name, name) == 0)
            return &m->c[k];
    return NULL;
}

/* Takes c's storage under `name` (c is left empty, on failure too). */
static int add_const(es_importer *m, es_onnx_const *c, const char *name)
{
    if (m->nc == m->cap_c) {
        int cap = m->cap_c ? 2 * m->cap_c : 64;
        es_onnx_const *p = realloc(m->c, cap * sizeof *p);
        if (!p) {
            es_onnx_const_clear(c);
            return es_fail("out of memory");
        }
        m->c = p, m->cap_c = cap;
    }
    es_onnx_const *d = &m->c[m->nc];
    *d = *c;
    d->tensor = -1, d->initializer = 0;
    free(c->name);
    memset(c, 0, sizeof *c);
    if (!(d->name = strdup(name))) {
        es_onnx_const_clear(d);
        return es_fail("out of memory");
    }
    m->nc++;
    return 0;
}

/* Weights, statistics and constants are numbers: a NaN or an infinity in one would make
 * every answer NaN, or worse, plausible (a NaN turned to 0 by a comparison). Checked once
 * each: values borrowed from the file as they are copied into their tensor (materialize),
 * or before a fold reads them, or at the end for those nothing read. */
static int check_finite(es_onnx_const *c)
{
    for (size_t k = 0; !c->checked && !c->is_int && k < c->n; k++) {
        float v = (float)es_onnx_const_get(c, k);
        if (!isfinite(v))
            return es_fail("%s %s holds %s at index %zu", c->initializer ? "initializer" : "constant",
                           c->name, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", k);
    }
    c->checked = 1;
    return 0;
}

/* A constant whose values are borrowed from the file, checked where it lies (a fold reads it
 * there, or nothing does); its pages then go back to the page cache. */
static int check_in_file(es_importer *m, es_onnx_const *c)
{
    if (!c->raw || c->checked)
        return 0;
    if (check_finite(c) != 0)
        return -1;
    es_onnx_release(m->file, c->raw, c->n * sizeof(float));
    return 0;
}

/* The graph tensor holding constant c, made on first use with the kind its role says. */
static int materialize(es_importer *m, es_onnx_const *c, es_tensor_kind kind)
{
    if (c->tensor >= 0)
        return c->tensor;
    int dims[ES_MAX_DIMS];
    for (int d = 0; d < c->ndim; d++) {
        if (c->dims[d] < 1 || c->dims[d] > INT_MAX)
            return es_fail("tensor %s: dimension %lld", c->name, (long long)c->dims[d]);
        dims[d] = (int)c->dims[d];
    }
    if (c->raw) { /* one copy, from the mapped file into the tensor, checked on the way */
        int id = es_tensor_add(m->g, c->name, kind, c->ndim, dims, NULL);
        if (id < 0)
            return -1;
        int bad = c->n && es_onnx_copy_floats(m->file, es_tensor_data(m->g, id), c->raw, c->n);
        if (bad && check_finite(c) != 0)
            return -1; /* the tensor stays in the graph, which the failed load frees */
        c->checked = 1;
        return c->tensor = id;
    }
    if (check_finite(c) != 0)
        return -1;
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

int es_import_fail(const Onnx__NodeProto *nd, const char *msg, const char *detail)
{
    return es_fail("node %s (%s): %s%s", node_label(nd), nd->op_type, msg, detail ? detail : "");
}

static int node_name_used(const es_graph *g, const char *name)
{
    for (int k = 0; k < g->nn; k++)
        if (strcmp(g->n[k].name, name) == 0)
            return 1;
    return 0;
}

/* A name for a graph node from ONNX node nd (unique; `suffix` for the extra nodes a lowering adds). */
static void make_name(es_importer *m, const Onnx__NodeProto *nd, const char *suffix, char *buf, size_t cap)
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

void es_import_name(es_importer *m, const char *base, const char *suffix, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", base, suffix);
    for (int k = 2; es_tensor_find(m->g, buf) >= 0; k++)
        snprintf(buf, cap, "%s%s_%d", base, suffix, k);
}

int es_import_input(es_importer *m, const Onnx__NodeProto *nd, int k, es_tensor_kind kind, int *id)
{
    *id = -1;
    if (k >= (int)nd->n_input || !nd->input[k] || !*nd->input[k])
        return 0;
    const char *name = nd->input[k];
    if ((*id = es_tensor_find(m->g, name)) >= 0)
        return 0;
    es_onnx_const *c = find_const(m, name);
    if (!c)
        return es_fail("node %s (%s): input '%s' is not defined (a missing initializer?)",
                       node_label(nd), nd->op_type, name);
    if ((*id = materialize(m, c, kind)) < 0)
        return -1;
    return 0;
}

int es_import_add(es_importer *m, const Onnx__NodeProto *nd, const char *suffix, es_op_type op,
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
    /* many tensors each under the limit can still add up to more than a machine holds */
    if ((m->values += m->g->t[out].size) > MAX_GRAPH_VALUES)
        return es_fail("node %s (%s): the activations up to here need %zu values, too many",
                       name, es_op_name(op), m->values);
    return out;
}

const char *es_import_out(const Onnx__NodeProto *nd) { return nd->output[0]; }

int es_import_used(const es_importer *m, const char *name)
{
    return name && *name && m->used.slot && set_has(&m->used, name);
}

const es_tensor *es_import_tensor(es_importer *m, int id) { return &m->g->t[id]; }

int es_import_opset(const es_importer *m) { return m->opset; }

int es_import_axis(const Onnx__NodeProto *nd, int64_t ax, int rank, int *out)
{
    *out = 0;
    if (ax < -rank || ax >= rank)
        return es_import_fail(nd, "axis out of range", NULL);
    *out = (int)(ax < 0 ? ax + rank : ax);
    return 0;
}

/* ---- inputs -------------------------------------------------------------------------------- */
int es_import_one(es_importer *m, const Onnx__NodeProto *nd, es_op_type op, const es_attrs *a)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    return es_import_add(m, nd, NULL, op, a, 1, &x, es_import_out(nd));
}

int es_import_const_float(es_importer *m, const Onnx__NodeProto *nd, int k, float *v,
                          const char *not_scalar)
{
    if (k >= (int)nd->n_input || !*nd->input[k])
        return 0;
    es_onnx_const *c = find_const(m, nd->input[k]);
    if (!c || c->n != 1)
        return es_import_fail(nd, not_scalar, NULL);
    *v = (float)es_onnx_const_get(c, 0);
    return isnan(*v) ? es_import_fail(nd, "a NaN in ", nd->input[k]) : 0;
}

int es_import_data(es_importer *m, const Onnx__NodeProto *nd, int *x)
{
    if (es_import_input(m, nd, 0, ES_T_STATE, x) != 0)
        return -1;
    return *x < 0 ? es_import_fail(nd, "no data input", NULL) : 0;
}

int es_import_xwb(es_importer *m, const Onnx__NodeProto *nd, int *in, const char *no_w)
{
    if (es_import_data(m, nd, &in[0]) != 0 || es_import_input(m, nd, 1, ES_T_PARAM, &in[1]) != 0 ||
        es_import_input(m, nd, 2, ES_T_PARAM, &in[2]) != 0)
        return -1;
    if (in[1] < 0)
        return es_import_fail(nd, no_w, NULL);
    return in[2] >= 0 ? 3 : 2;
}

es_onnx_const *es_import_const(es_importer *m, const Onnx__NodeProto *nd, int k)
{
    return k < (int)nd->n_input && *nd->input[k] ? find_const(m, nd->input[k]) : NULL;
}

int es_import_ints(es_importer *m, const Onnx__NodeProto *nd, int k, const char *attr,
                      int64_t *v, int max, int *n, int *present)
{
    *n = 0, *present = 0;
    if (k < (int)nd->n_input && *nd->input[k]) {
        es_onnx_const *c = find_const(m, nd->input[k]);
        if (!c)
            return es_import_fail(nd, "needs a constant ", attr);
        if (c->n > (size_t)max)
            return es_import_fail(nd, "too many values in ", attr);
        for (size_t j = 0; j < c->n; j++)
            v[j] = es_onnx_const_int(c, j);
        *n = (int)c->n, *present = 1;
        return 0;
    }
    const int64_t *a;
    size_t na = es_onnx_attr_ints(nd, attr, &a);
    if (!es_onnx_attr(nd, attr))
        return 0;
    if (na > (size_t)max)
        return es_import_fail(nd, "too many values in ", attr);
    if (na) /* an attribute without ints has no array */
        memcpy(v, a, na * sizeof *v);
    *n = (int)na, *present = 1;
    return 0;
}

/* A scalar STATE tensor holding v, for the constants a lowering needs. */
int es_import_state(es_importer *m, const char *base, const char *suffix, int ndim,
                    const int *dims, const float *v)
{
    char nm[512];
    es_import_name(m, base, suffix, nm, sizeof nm);
    return es_tensor_add(m->g, nm, ES_T_STATE, ndim, dims, v);
}

int es_import_scalar(es_importer *m, const char *base, const char *suffix, float v)
{
    return es_import_state(m, base, suffix, 0, NULL, &v);
}

/* kernel_shape / strides / dilations / pads (/ auto_pad) of Conv and the pools. */
int es_import_window(es_importer *m, const Onnx__NodeProto *nd, int x, int wk, es_window *a)
{
    const es_tensor *t = es_import_tensor(m, x);
    int s = t->ndim - 2;
    if (s != 1 && s != 2)
        return es_import_fail(nd, "only 1-D and 2-D inputs (N,C,L) / (N,C,H,W) are supported", NULL);
    const int64_t *v;
    size_t nk = es_onnx_attr_ints(nd, "kernel_shape", &v);
    if (nk && nk != (size_t)s)
        return es_import_fail(nd, "kernel_shape does not match the input rank", NULL);
    for (int i = 0; i < s; i++) {
        int64_t k = nk ? v[i] : (wk >= 0 ? es_import_tensor(m, wk)->dims[2 + i] : 0);
        if (k < 1 || k > ES_ONNX_MAX_SPATIAL)
            return es_import_fail(nd, "missing or bad kernel_shape", NULL);
        a->kernel[i] = (int)k;
    }
    static const char *const names[2] = {"strides", "dilations"};
    for (int j = 0; j < 2; j++) {
        size_t n = es_onnx_attr_ints(nd, names[j], &v);
        if (n && n != (size_t)s)
            return es_import_fail(nd, names[j], " does not match the input rank");
        for (int i = 0; i < s; i++) {
            int64_t val = n ? v[i] : 1;
            if (val < 1 || val > ES_ONNX_MAX_SPATIAL)
                return es_import_fail(nd, "bad ", names[j]);
            (j ? a->dilation : a->stride)[i] = (int)val;
        }
    }
    char buf[32];
    const char *ap = es_onnx_attr_str(nd, "auto_pad", buf, sizeof buf, "NOTSET");
    size_t np = es_onnx_attr_ints(nd, "pads", &v);
    if (strcmp(ap, "NOTSET") == 0) {
        if (np && np != (size_t)(2 * s))
            return es_import_fail(nd, "pads does not match the input rank", NULL);
        for (int i = 0; i < 2 * s; i++) {
            if (np && (v[i] < 0 || v[i] > ES_ONNX_MAX_SPATIAL))
                return es_import_fail(nd, "bad pads", NULL);
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
        return es_import_fail(nd, "unknown auto_pad ", ap);
    }
    for (int i = 0; i < s; i++)
        if ((int64_t)(a->kernel[i] - 1) * a->dilation[i] + 1 > ES_ONNX_MAX_SPATIAL)
            return es_import_fail(nd, "dilated kernel too large", NULL);
    return 0;
}

/* ---- the node loop ------------------------------------------------------------------------- */

/* Shape (opset 15: start / end) of a graph tensor or a constant: an integer constant. */
static int op_shape(es_importer *m, const Onnx__NodeProto *nd)
{
    if (nd->n_input < 1 || !*nd->input[0])
        return es_import_fail(nd, "no input", NULL);
    int id = es_tensor_find(m->g, nd->input[0]), r;
    int64_t dims[ES_MAX_DIMS];
    es_onnx_const *c = id < 0 ? find_const(m, nd->input[0]) : NULL;
    if (id >= 0) {
        r = es_import_tensor(m, id)->ndim;
        for (int d = 0; d < r; d++)
            dims[d] = es_import_tensor(m, id)->dims[d];
    } else if (c) {
        r = c->ndim;
        memcpy(dims, c->dims, sizeof dims);
    } else {
        return es_import_fail(nd, "input is not defined: ", nd->input[0]);
    }
    int64_t s = es_onnx_attr_int(nd, "start", 0), e = es_onnx_attr_int(nd, "end", r);
    s = s < 0 ? s + r : s, e = e < 0 ? e + r : e;
    s = s < 0 ? 0 : s > r ? r : s, e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > s ? e - s : 0;
    es_onnx_const out = {0};
    if (es_onnx_const_alloc(&out, 1, 1, &len) != 0)
        return -1;
    for (int64_t k = 0; k < len; k++)
        out.i[k] = dims[s + k];
    return add_const(m, &out, es_import_out(nd));
}

/* A node none of whose inputs is computed: evaluated now when the folder knows the op.
 * Returns 1 when folded, 0 when not (the node is imported as an op), -1 on failure. */
static int fold_node(es_importer *m, const Onnx__NodeProto *nd)
{
    es_onnx_const *ci[16];
    int all_const = nd->n_input <= 16;
    for (size_t k = 0; all_const && k < nd->n_input; k++) {
        ci[k] = *nd->input[k] ? find_const(m, nd->input[k]) : NULL;
        all_const = ci[k] || !*nd->input[k];
    }
    if (!all_const || (nd->n_input == 0 && strcmp(nd->op_type, "Constant") != 0))
        return 0;
    for (size_t k = 0; k < nd->n_input; k++)
        if (ci[k] && check_in_file(m, ci[k]) != 0)
            return -1;
    es_onnx_const out = {0};
    out.tensor = -1;
    int r = es_onnx_fold(nd, m->opset, ci, (int)nd->n_input, &out);
    if (r < 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_onnx_const_clear(&out);
        return es_import_fail(nd, msg, NULL);
    }
    if (r == 1) {
        out.checked = out.raw != NULL; /* borrowed from inputs checked above */
        return add_const(m, &out, es_import_out(nd)) < 0 ? -1 : 1;
    }
    es_onnx_const_clear(&out);
    return 0;
}

/* The op of the table with nd's op_type imports it, else a lowering. */
static int import_op(es_importer *m, const Onnx__NodeProto *nd)
{
    int op = es_op_find(nd->op_type);
    if (op >= 0)
        return es_ops[op].import(m, nd, (es_op_type)op);
    es_lowering lower = es_onnx_lowering(nd->op_type);
    if (lower)
        return lower(m, nd);
    return es_fail("unsupported operator %s (node %s)", nd->op_type, node_label(nd));
}

static int import_node(es_importer *m, const Onnx__NodeProto *nd)
{
    if (!nd->op_type || !*nd->op_type)
        return es_fail("a node without an op_type");
    if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx") != 0)
        return es_fail("unsupported operator %s.%s (node %s)", nd->domain, nd->op_type,
                       node_label(nd));
    size_t named = 0; /* ONNX lets any output be left out (a GRU's Y when only Y_h is used) */
    for (size_t k = 0; k < nd->n_output; k++)
        named += nd->output[k] && *nd->output[k];
    if (!named)
        return es_import_fail(nd, "no output", NULL);
    for (size_t k = 0; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k] &&
            (es_tensor_find(m->g, nd->output[k]) >= 0 || find_const(m, nd->output[k])))
            return es_import_fail(nd, "output name used twice: ", nd->output[k]);
    if (strcmp(nd->op_type, "Shape") == 0)
        return op_shape(m, nd);
    int folded = fold_node(m, nd);
    if (folded != 0)
        return folded < 0 ? -1 : 0;
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

static int add_input(es_importer *m, const Onnx__ValueInfoProto *vi, int ndim_over, const int *over)
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
            if (decl[d] > ES_ONNX_MAX_INPUT_VALUES)
                return es_fail("input '%s': dimension %d is too large", name, d);
            if (decl[d] < 0 && d > 0)
                return es_fail("input '%s' has a symbolic dimension %d ('%s'); earsight needs a "
                               "fixed shape (give an input of the size you want)", name, d, sym[d]);
            dims[d] = decl[d] < 0 ? 1 : (int)decl[d]; /* a symbolic batch: 1 */
        }
    }
    long total = 1;
    for (int d = 0; d < r; d++)
        if ((total *= dims[d]) > ES_ONNX_MAX_INPUT_VALUES)
            return es_fail("input '%s' is too large", name);
    return es_tensor_add(m->g, name, ES_T_INPUT, r, dims, NULL) < 0 ? -1 : 0;
}

/* ---- which nodes matter ------------------------------------------------------------------- */

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
static char *live_nodes(es_importer *m, const Onnx__GraphProto *gp)
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
    m->used = s; /* kept: es_import_used */
    return live;
}

/* ---- which Relus the ReLU rules change ------------------------------------------------------ */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether Relu node nd is a functional relu of a PyTorch export. Captum's GuidedBackprop and
 * Deconvolution hook nn.ReLU modules, so an F.relu called in a module's forward passes its true
 * gradient there. ONNX writes both as Relu, but torch.onnx.export names each node after the
 * module scope that ran it: an nn.ReLU `features.relu0` gives "/features/relu0/Relu" (a module
 * called twice: ".../relu_1/Relu"); F.relu in DenseNet.forward gives "/Relu", and F.relu_ in
 * CNN14's ConvBlock.forward "/conv_block1/Relu" beside "/conv_block1/conv1/Conv". So a Relu
 * named SCOPE/Relu[_k] belongs to an nn.ReLU when no other node lies under SCOPE/ (the module
 * does nothing else), and is functional otherwise. Names of another form (not starting with
 * '/': other exporters, earsight's own files, hand-made graphs) say nothing: the rule stays.
 * sorted: the n node names in strcmp order. */
static int functional_relu(const Onnx__NodeProto *nd, const char *const *sorted, size_t n)
{
    const char *name = nd->name, *last = name ? strrchr(name, '/') : NULL;
    if (!last || name[0] != '/' || strncmp(last + 1, "Relu", 4) != 0)
        return 0;
    const char *k = last + 5;
    if (*k == '_' && k[1] >= '0' && k[1] <= '9')
        for (k++; *k >= '0' && *k <= '9'; k++)
            ;
    if (*k)
        return 0;
    size_t scope = (size_t)(last - name) + 1; /* "SCOPE/": the names under it are one run */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(sorted[mid], name, scope) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo + 1 < n && strncmp(sorted[lo], name, scope) == 0 && strncmp(sorted[lo + 1], name, scope) == 0;
}

/* es_relu_scope MODULES: the functional relus of a PyTorch export become plain Relus. */
static int plain_functional_relus(es_importer *m, const Onnx__GraphProto *gp)
{
    const char **sorted = malloc((gp->n_node ? gp->n_node : 1) * sizeof *sorted);
    if (!sorted)
        return es_fail("out of memory");
    size_t n = 0;
    for (size_t k = 0; k < gp->n_node; k++)
        if (gp->node[k]->name && *gp->node[k]->name)
            sorted[n++] = gp->node[k]->name;
    qsort(sorted, n, sizeof *sorted, cmp_names);
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *nd = gp->node[k];
        if (!nd->op_type || strcmp(nd->op_type, "Relu") != 0 || nd->n_output < 1 ||
            !functional_relu(nd, sorted, n))
            continue;
        int t = es_tensor_find(m->g, nd->output[0]); /* -1: a node that feeds no output */
        int p = t >= 0 ? m->g->t[t].producer : -1;
        if (p >= 0 && m->g->n[p].op == ES_OP_RELU)
            m->g->n[p].a.relu.plain = 1;
    }
    free(sorted);
    return 0;
}

static int import_graph(es_importer *m, const Onnx__GraphProto *gp, int ndim_over, const int *over)
{
    if (gp->n_sparse_initializer)
        return es_fail("sparse initializers are not supported");
    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *t = gp->initializer[k];
        es_onnx_const c = {0};
        c.tensor = -1;
        if (!t->name || !*t->name)
            return es_fail("an initializer without a name");
        if (find_const(m, t->name))
            return es_fail("initializer %s given twice", t->name);
        if (es_onnx_tensor_read(t, es_onnx_init_raw(m->file, k), &c) != 0 ||
            add_const(m, &c, t->name) != 0) {
            es_onnx_const_clear(&c);
            return -1;
        }
        m->c[m->nc - 1].initializer = 1;
        if (!m->c[m->nc - 1].raw && check_finite(&m->c[m->nc - 1]) != 0) /* raw: when copied */
            return -1;
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
    char *live = live_nodes(m, gp);
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
    for (int k = 0; k < m->nc; k++) /* initializers no node read are numbers too */
        if (check_in_file(m, &m->c[k]) != 0)
            return -1;
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

/* over (NULL: as declared): the input's shape, ndim_over dims. */
static int load(const char *path, int ndim_over, const int *over, es_relu_scope relus, es_graph **g,
                es_meta **meta)
{
    *g = NULL;
    if (meta)
        *meta = NULL;
    if (over && (ndim_over < 1 || ndim_over > ES_MAX_DIMS)) {
        es_fail("%s: an input of rank %d", path, ndim_over);
        return -1;
    }
    es_importer m = {0};
    es_onnx_file f;
    int r = -1;
    if (es_onnx_open(&f, path) == 0 && es_onnx_model_opset(f.mp, &m.opset) == 0) {
        m.file = &f;
        if (!(m.g = es_graph_new()))
            es_fail("out of memory");
        else if (import_graph(&m, f.mp->graph, ndim_over, over) == 0 &&
                 (relus == ES_RELUS_ALL || plain_functional_relus(&m, f.mp->graph) == 0) &&
                 (!meta || es_onnx_read_meta(f.mp, meta) == 0))
            r = 0;
    }
    for (int k = 0; k < m.nc; k++) /* before the file closes: constants may borrow from it */
        es_onnx_const_clear(&m.c[k]);
    free(m.c);
    free(m.used.slot);
    es_onnx_close(&f);
    if (r != 0) {
        es_graph_free(m.g);
        return es_onnx_fail_file(path, meta);
    }
    *g = m.g;
    return 0;
}

int es_onnx_load(const char *path, es_graph **g, es_meta **meta)
{
    return load(path, 0, NULL, ES_RELUS_MODULES, g, meta);
}

int es_onnx_load_shaped(const char *path, int ndim, const int *dims, es_graph **g, es_meta **meta)
{
    return load(path, ndim, dims, ES_RELUS_MODULES, g, meta);
}

int es_onnx_load_opts(const char *path, const es_onnx_opts *o, es_graph **g, es_meta **meta)
{
    static const es_onnx_opts none = {0};
    o = o ? o : &none;
    return load(path, o->ndim, o->ndim > 0 ? o->dims : NULL, o->relus, g, meta);
}
