/* ONNX ops earsight writes with its own (lowerings): Cast to float → Identity, GlobalMaxPool →
 * a whole-extent MaxPool, ReduceMean / ReduceMax / ReduceSum → pools (with Transpose, Reshape
 * and a Mul around them), Clip → ReLUs, Split and Gather (constant indices) → Slices, Expand
 * and Where (constant condition) → Muls. They are not ops of the table: they have no backward
 * of their own, and the graph they import to exports as the ops they became. */
#include "nn/onnx_hooks.h"
#include <limits.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int lower_cast(es_importer *m, const Onnx__NodeProto *nd)
{
    int64_t to = es_onnx_attr_int(nd, "to", 1);
    if (to != 1)
        return es_import_fail(nd, "casting a float tensor to another type is not supported", NULL);
    return es_unary_import(m, nd, ES_OP_IDENTITY);
}

/* GlobalMaxPool is a MaxPool whose kernel covers the whole (static) spatial extent. */
static int lower_global_max(es_importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, x);
    if (t->ndim != 3 && t->ndim != 4)
        return es_import_fail(nd, "only 1-D and 2-D inputs are supported", NULL);
    es_attrs a = es_pool_defaults;
    for (int i = 0; i < t->ndim - 2; i++)
        a.pool.w.kernel[i] = t->dims[2 + i];
    return es_import_add(m, nd, NULL, ES_OP_MAXPOOL, &a, 1, &x, es_import_out(nd));
}

/* ---- Reduce* ------------------------------------------------------------------------------ */
/* One reduction: over the dims red[d] of x (N, dims[1..r)), into `res`, whose node takes
 * suffix `last`; the mean or the max by `pool` (GlobalAveragePool or MaxPool). */
typedef struct {
    int x, r, dims[ES_MAX_DIMS], keep;
    char red[ES_MAX_DIMS];
    long count; /* values reduced into each output */
    es_op_type pool;
    const char *res, *last;
} reduction;

/* The axes (an input, or an attribute before opset 18) into red; 1 when the node is a no-op. */
static int reduce_axes(es_importer *m, const Onnx__NodeProto *nd, reduction *q)
{
    int n, present;
    int64_t v[ES_MAX_DIMS];
    if (es_import_ints(m, nd, 1, "axes", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    if (!present || n == 0) {
        if (es_onnx_attr_int(nd, "noop_with_empty_axes", 0))
            return 1;
        for (int d = 0; d < q->r; d++)
            q->red[d] = 1;
    }
    for (int k = 0; k < n; k++) {
        int ax;
        if (es_import_axis(nd, v[k], q->r, &ax) != 0)
            return -1;
        q->red[ax] = 1;
    }
    if (q->red[0])
        return es_import_fail(nd, "reducing over the batch dimension is not supported", NULL);
    q->count = 1;
    for (int d = 1; d < q->r; d++)
        q->count *= q->red[d] ? q->dims[d] : 1;
    return 0;
}

/* Over all spatial dims of (N,C,L) or (N,C,H,W): one pool (and a Flatten without keepdims). */
static int reduce_spatial(es_importer *m, const Onnx__NodeProto *nd, const reduction *q)
{
    char nm[512];
    es_attrs a = es_pool_defaults;
    for (int d = 2; d < q->r; d++)
        a.pool.w.kernel[d - 2] = q->dims[d];
    es_import_name(m, es_import_out(nd), "/pooled", nm, sizeof nm);
    int y = es_import_add(m, nd, q->keep ? q->last : "/pool", q->pool, &a, 1, &q->x,
                          q->keep ? q->res : nm);
    if (y >= 0 && !q->keep)
        y = es_import_add(m, nd, q->last, ES_OP_FLATTEN, NULL, 1, &y, q->res);
    return y;
}

/* Any other dims: (N, kept..., reduced...) → (N, K, R) → pooled (N, K, 1) → the output shape. */
static int reduce_general(es_importer *m, const Onnx__NodeProto *nd, const reduction *q)
{
    int perm[ES_MAX_DIMS], np = 0, identity = 1, r = q->r, y = q->x;
    long kk = 1;
    perm[np++] = 0;
    for (int d = 1; d < r; d++)
        if (!q->red[d])
            perm[np++] = d, kk *= q->dims[d];
    for (int d = 1; d < r; d++)
        if (q->red[d])
            perm[np++] = d;
    for (int d = 0; d < r; d++)
        identity &= perm[d] == d;
    if (q->count > INT_MAX || kk > INT_MAX)
        return es_import_fail(nd, "too large", NULL);
    char nm[512];
    es_attrs a = es_none_defaults;
    if (!identity) {
        a.dims.n_list = r;
        memcpy(a.dims.list, perm, r * sizeof *perm);
        es_import_name(m, es_import_out(nd), "/moved", nm, sizeof nm);
        if ((y = es_import_add(m, nd, "/transpose", ES_OP_TRANSPOSE, &a, 1, &y, nm)) < 0)
            return -1;
    }
    a = es_none_defaults;
    a.dims.n_list = 3;
    a.dims.list[0] = 0, a.dims.list[1] = (int)kk, a.dims.list[2] = (int)q->count;
    es_import_name(m, es_import_out(nd), "/merged", nm, sizeof nm);
    if ((y = es_import_add(m, nd, "/merge", ES_OP_RESHAPE, &a, 1, &y, nm)) < 0)
        return -1;
    a = es_pool_defaults;
    a.pool.w.kernel[0] = (int)q->count;
    es_import_name(m, es_import_out(nd), "/pooled", nm, sizeof nm);
    if ((y = es_import_add(m, nd, "/pool", q->pool, &a, 1, &y, nm)) < 0)
        return -1;
    a = es_none_defaults;
    a.dims.list[a.dims.n_list++] = 0;
    for (int d = 1; d < r; d++)
        if (!q->red[d] || q->keep)
            a.dims.list[a.dims.n_list++] = q->red[d] ? 1 : q->dims[d];
    return es_import_add(m, nd, q->last, ES_OP_RESHAPE, &a, 1, &y, q->res);
}

/* ReduceMean / ReduceMax / ReduceSum over dims other than the batch: GlobalAveragePool or a
 * MaxPool over the reduced dims. A sum is the mean times the count. */
static int lower_reduce(es_importer *m, const Onnx__NodeProto *nd)
{
    reduction q = {0};
    if (es_import_data(m, nd, &q.x) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, q.x);
    q.r = t->ndim;
    memcpy(q.dims, t->dims, sizeof q.dims);
    int noop = reduce_axes(m, nd, &q);
    if (noop != 0)
        return noop < 0 ? -1 : es_unary_import(m, nd, ES_OP_IDENTITY);
    int is_sum = strcmp(nd->op_type, "ReduceSum") == 0;
    q.keep = es_onnx_attr_int(nd, "keepdims", 1) != 0;
    q.pool = strcmp(nd->op_type, "ReduceMax") == 0 ? ES_OP_MAXPOOL : ES_OP_GAP;
    /* the mean / max lands in `res`: the node's output, or a step before the sum's Mul */
    char res[512];
    if (is_sum)
        es_import_name(m, es_import_out(nd), "/mean", res, sizeof res);
    else
        snprintf(res, sizeof res, "%s", es_import_out(nd));
    q.res = res;
    q.last = is_sum ? "/mean" : NULL;
    int all_spatial = q.r == 3 || q.r == 4;
    for (int d = 1; d < q.r; d++)
        all_spatial &= q.red[d] == (d >= 2);
    int y = all_spatial ? reduce_spatial(m, nd, &q) : reduce_general(m, nd, &q);
    if (y < 0 || !is_sum)
        return y;
    int c = es_import_scalar(m, es_import_out(nd), "/count", (float)q.count);
    return c < 0 ? -1 : es_import_add(m, nd, NULL, ES_OP_MUL, NULL, 2, (int[]){y, c}, es_import_out(nd));
}

/* ---- Clip --------------------------------------------------------------------------------- */
/* Clip(lo, hi) with ReLUs: Relu(x − lo) + lo below, x − Relu(x − hi) above, and
 * Relu(x − lo) − Relu(x − hi) + lo for both; terms with a zero bound are left out, so
 * Clip(0, ∞) is one Relu and ReLU rules (guided backprop) still see it as one. A bound beyond
 * ±1e30 (older opsets write ±FLT_MAX for "none") counts as absent. */
static int lower_clip(es_importer *m, const Onnx__NodeProto *nd)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    float lo = es_onnx_attr_float(nd, "min", -INFINITY), hi = es_onnx_attr_float(nd, "max", INFINITY);
    for (int k = 1; k < 3; k++)
        if (es_import_const_float(m, nd, k, k == 1 ? &lo : &hi, "min and max must be constant scalars") != 0)
            return -1;
    if (isnan(lo) || isnan(hi)) /* a NaN bound would read as none */
        return es_import_fail(nd, "a NaN min or max", NULL);
    int has_lo = lo > -1e30f, has_hi = hi < 1e30f;
    if (!has_lo && !has_hi)
        return es_unary_import(m, nd, ES_OP_IDENTITY);
    const char *o = es_import_out(nd);
    char nm[512];
    int y = -1, c, t;
    /* each step: its own tensor name, or the ONNX output name when it is the last */
    /* its Relus pass the true gradient under every rule (es_relu_attrs) */
    const es_attrs plain = {.relu = {.plain = 1}};
#define STEP(suffix, op, last, ...)                                                           \
    (es_import_name(m, o, suffix, nm, sizeof nm),                                             \
     es_import_add(m, nd, (last) ? NULL : suffix, op, (op) == ES_OP_RELU ? &plain : NULL,     \
                   sizeof((int[]){__VA_ARGS__}) / sizeof(int), (int[]){__VA_ARGS__}, (last) ? o : nm))
    if (has_lo) { /* y = Relu(x − lo) [+ lo, unless the upper part follows] */
        t = x;
        if (lo != 0.0f && ((c = es_import_scalar(m, o, "/min", -lo)) < 0 ||
                           (t = STEP("/sub_min", ES_OP_ADD, 0, x, c)) < 0))
            return -1;
        int last = !has_hi && lo == 0.0f;
        if ((y = STEP("/relu_min", ES_OP_RELU, last, t)) < 0 || last)
            return y;
    }
    if (has_hi) { /* y = (has_lo ? y : x) − Relu(x − hi) */
        if ((c = es_import_scalar(m, o, "/max", -hi)) < 0 || (t = STEP("/sub_max", ES_OP_ADD, 0, x, c)) < 0 ||
            (t = STEP("/relu_max", ES_OP_RELU, 0, t)) < 0)
            return -1;
        int last = !has_lo || lo == 0.0f;
        if ((y = STEP("/diff", ES_OP_SUB, last, has_lo ? y : x, t)) < 0 || last)
            return y;
    }
    if ((c = es_import_scalar(m, o, "/offset", lo)) < 0)
        return -1;
    return STEP("/add_min", ES_OP_ADD, 1, y, c);
#undef STEP
}

/* ---- Split, Gather, Expand, Where: slices and broadcasts ---------------------------------- */
/* Split: one Slice per output; the sizes from the `split` input (opset 13) or attribute, else
 * num_outputs (opset 18) or the outputs' count, ceil-divided as opset 18 does. */
static int lower_split(es_importer *m, const Onnx__NodeProto *nd)
{
    int x, n, present, ax;
    int64_t v[256];
    if (es_import_data(m, nd, &x) != 0 || es_import_ints(m, nd, 1, "split", v, 256, &n, &present) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, x);
    if (es_import_axis(nd, es_onnx_attr_int(nd, "axis", 0), t->ndim, &ax) != 0)
        return -1;
    int64_t dim = t->dims[ax], parts = nd->n_output, at = 0, y = 0;
    if (parts < 1 || parts > 256 || (present && n != parts))
        return es_import_fail(nd, "the split sizes do not match the outputs", NULL);
    for (int k = 0; present && k < n; k++)
        at += v[k] >= 0 && v[k] <= dim ? v[k] : dim + 1;
    if (present && at != dim)
        return es_import_fail(nd, "the split sizes do not add up to the dim", NULL);
    at = 0;
    for (int k = 0; k < parts; k++) {
        int64_t len = present ? v[k] : (dim + parts - 1) / parts; /* the last may be short */
        char suffix[32];
        snprintf(suffix, sizeof suffix, "/%d", k);
        if (*nd->output[k] && (y = es_import_slice(m, nd, suffix, x, ax, at, at + len, nd->output[k])) < 0)
            return -1;
        at += len;
    }
    return (int)y;
}

/* Gather on an activation with constant indices: a scalar index is a Slice whose axis a
 * Squeeze drops (x[:, 0]); a run of consecutive indices one Slice; others one Slice per index,
 * concatenated. (A constant data tensor with constant indices is folded before this.) */
static int lower_gather(es_importer *m, const Onnx__NodeProto *nd)
{
    int x, ax;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    const es_onnx_const *ix = es_import_const(m, nd, 1);
    const es_tensor *t = es_import_tensor(m, x);
    if (!ix || ix->ndim > 1 || ix->n < 1 || ix->n > 4096)
        return es_import_fail(nd, "wants a constant scalar or 1-D index on an activation", NULL);
    if (es_import_axis(nd, es_onnx_attr_int(nd, "axis", 0), t->ndim, &ax) != 0)
        return -1;
    int dim = t->dims[ax], run = 1, ids[4096];
    const char *o = es_import_out(nd);
    for (size_t k = 0; k < ix->n; k++) {
        int64_t i = es_onnx_const_int(ix, k);
        if (i < -dim || i >= dim)
            return es_import_fail(nd, "index out of range", NULL);
        ids[k] = (int)(i < 0 ? i + dim : i);
        run &= k == 0 || ids[k] == ids[k - 1] + 1;
    }
    char nm[512];
    es_import_name(m, o, "/slice", nm, sizeof nm);
    if (ix->ndim == 0) {
        int s = es_import_slice(m, nd, "/slice", x, ax, ids[0], ids[0] + 1, nm);
        es_attrs a = es_none_defaults;
        a.dims.n_list = 1, a.dims.list[0] = ax;
        return s < 0 ? -1 : es_import_add(m, nd, NULL, ES_OP_SQUEEZE, &a, 1, &s, o);
    }
    if (run)
        return es_import_slice(m, nd, NULL, x, ax, ids[0], ids[0] + (int)ix->n, o);
    for (size_t k = 0; k < ix->n; k++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "/%zu", k);
        es_import_name(m, o, suffix, nm, sizeof nm);
        if ((ids[k] = es_import_slice(m, nd, suffix, x, ax, ids[k], ids[k] + 1, nm)) < 0)
            return -1;
    }
    es_attrs a = es_axis_defaults;
    a.axis.axis = ax;
    return es_import_add(m, nd, NULL, ES_OP_CONCAT, &a, (int)ix->n, ids, o);
}

/* Expand to a constant shape: x times ones that carry the dims x is broadcast along (the Mul's
 * backward sums the gradient over them). */
static int lower_expand(es_importer *m, const Onnx__NodeProto *nd)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (es_import_data(m, nd, &x) != 0 || es_import_ints(m, nd, 1, "shape", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, x);
    if (!present)
        return es_import_fail(nd, "no shape", NULL);
    int r = n > t->ndim ? n : t->ndim, dims[ES_MAX_DIMS];
    size_t cnt = 1;
    for (int i = 0; i < r; i++) {
        int it = i - (r - t->ndim), is = i - (r - n);
        int64_t dx = it >= 0 ? t->dims[it] : 1, ds = is >= 0 ? v[is] : 1;
        if (ds < 1 || ds > ES_ONNX_MAX_INPUT_VALUES || (dx != ds && dx != 1 && ds != 1))
            return es_import_fail(nd, "the shape does not broadcast with the input", NULL);
        dims[i] = dx == 1 ? (int)ds : 1;
        cnt *= (size_t)dims[i];
    }
    if (cnt > ES_ONNX_MAX_INPUT_VALUES)
        return es_import_fail(nd, "expands too far", NULL);
    float *ones = malloc(cnt * sizeof *ones);
    if (!ones)
        return es_fail("out of memory");
    for (size_t k = 0; k < cnt; k++)
        ones[k] = 1.0f;
    int c = es_import_state(m, es_import_out(nd), "/ones", r, dims, ones);
    free(ones);
    return c < 0 ? -1 : es_import_add(m, nd, NULL, ES_OP_MUL, NULL, 2, (int[]){x, c}, es_import_out(nd));
}

/* Where on a constant condition: X·c + Y·(1 − c), c as 0/1 floats (constant X and Y are
 * finite: the importer refuses others). */
static int lower_where(es_importer *m, const Onnx__NodeProto *nd)
{
    const es_onnx_const *c = es_import_const(m, nd, 0);
    int in[2];
    if (!c)
        return es_import_fail(nd, "the condition must be constant", NULL);
    for (int k = 0; k < 2; k++)
        if (es_import_input(m, nd, k + 1, ES_T_STATE, &in[k]) != 0)
            return -1;
        else if (in[k] < 0)
            return es_import_fail(nd, "X and Y are required", NULL);
    int dims[ES_MAX_DIMS];
    float *mask = malloc(2 * (c->n ? c->n : 1) * sizeof *mask);
    if (!mask)
        return es_fail("out of memory");
    for (int d = 0; d < c->ndim; d++)
        dims[d] = (int)c->dims[d];
    for (size_t k = 0; k < c->n; k++)
        mask[k] = es_onnx_const_get(c, k) != 0, mask[c->n + k] = 1.0f - mask[k];
    const char *o = es_import_out(nd);
    int mx = es_import_state(m, o, "/cond", c->ndim, dims, mask);
    int my = es_import_state(m, o, "/not_cond", c->ndim, dims, mask + c->n);
    free(mask);
    char n1[512], n2[512];
    es_import_name(m, o, "/x", n1, sizeof n1);
    es_import_name(m, o, "/y", n2, sizeof n2);
    int tx = mx < 0 ? -1 : es_import_add(m, nd, "/x", ES_OP_MUL, NULL, 2, (int[]){in[0], mx}, n1);
    int ty = my < 0 || tx < 0 ? -1 : es_import_add(m, nd, "/y", ES_OP_MUL, NULL, 2, (int[]){in[1], my}, n2);
    return ty < 0 ? -1 : es_import_add(m, nd, NULL, ES_OP_ADD, NULL, 2, (int[]){tx, ty}, o);
}

/* The lowering for an ONNX op_type that is not an op of the table, or NULL. */
es_lowering es_onnx_lowering(const char *op_type)
{
    static const struct {
        const char *op_type;
        es_lowering lower;
    } lowerings[] = {
        {"Cast", lower_cast},         {"GlobalMaxPool", lower_global_max},
        {"ReduceMean", lower_reduce}, {"ReduceMax", lower_reduce},
        {"ReduceSum", lower_reduce},  {"Clip", lower_clip},
        {"Split", lower_split},       {"Gather", lower_gather},
        {"Expand", lower_expand},     {"Where", lower_where},
    };
    for (size_t k = 0; k < sizeof lowerings / sizeof *lowerings; k++)
        if (strcmp(lowerings[k].op_type, op_type) == 0)
            return lowerings[k].lower;
    return NULL;
}
