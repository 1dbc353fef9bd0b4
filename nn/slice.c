/* Slice (ONNX, opset ≥ 10): every dim d keeps start[d], start[d] + step[d], … up to end[d]
 * (excluded), negatives counted from the end and both clamped to the dim as ONNX says; a dim
 * the node does not slice has start 0, end INT_MAX, step 1. The bounds are resolved in shape()
 * against the dims of the moment (a batch that changes keeps its slice right). Split and
 * Gather on a constant index import as Slices (nn/onnx_lower.c). */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <limits.h>

/* Dim d's first index into *first and count into *cnt (ONNX's clamping). */
static void slice_range(const es_slice_attrs *a, int d, int dim, int *first, int *cnt)
{
    long s = a->start[d], e = a->end[d], st = a->step[d];
    s += s < 0 ? dim : 0, e += e < 0 ? dim : 0;
    if (st > 0) {
        s = s < 0 ? 0 : s > dim ? dim : s;
        e = e < 0 ? 0 : e > dim ? dim : e;
        *cnt = e > s ? (int)((e - s + st - 1) / st) : 0;
    } else {
        s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
        e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        *cnt = s > e ? (int)((s - e - st - 1) / -st) : 0;
    }
    *first = (int)s;
}

int es_slice_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    int dims[ES_MAX_DIMS], first;
    for (int d = 0; d < x->ndim; d++) {
        if (nd->a.slice.step[d] == 0)
            return es_node_fail(nd, "step 0 at dim %d", d);
        slice_range(&nd->a.slice, d, x->dims[d], &first, &dims[d]);
    }
    es_set_shape(out_t(g, nd, 0), x->ndim, dims);
    return 0;
}

/* Output dim i steps the input by step[i] of its strides, from the first kept element; `back`
 * adds dy into dx instead of gathering x into y. */
static void slice_run(es_graph *g, es_node *nd, int back)
{
    es_tensor *x = in_t(g, nd, 0), *y = out_t(g, nd, 0);
    int r = x->ndim;
    long xs[ES_MAX_DIMS], st[ES_MAX_DIMS], off = 0; /* input strides; a step's stride */
    for (int i = r - 1; i >= 0; i--)
        xs[i] = i == r - 1 ? 1 : xs[i + 1] * x->dims[i + 1];
    for (int i = 0; i < r; i++) {
        int first, cnt;
        slice_range(&nd->a.slice, i, x->dims[i], &first, &cnt);
        off += first * xs[i];
        st[i] = nd->a.slice.step[i] * xs[i];
    }
    es_strided_walk(r, y->dims, y->size, off, st, back ? x->grad : x->data, back ? y->grad : y->data, back);
}

void es_slice_forward(es_graph *g, es_node *nd, const es_pass *p) { slice_run(g, nd, 0); }

void es_slice_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (wants_grad(g, nd, 0, p))
        slice_run(g, nd, 1);
}

/* ---- the op's row ------------------------------------------------------------------------- */
const es_attrs es_slice_defaults = {.slice = {
    .end = {[0 ... ES_MAX_DIMS - 1] = INT_MAX}, .step = {[0 ... ES_MAX_DIMS - 1] = 1}}};

static int clamp_int(int64_t v) { return v > INT_MAX ? INT_MAX : v < -INT_MAX ? -INT_MAX : (int)v; }

/* Dim ax of a rank-r input sliced start:end:step into a. */
static int slice_set(const Onnx__NodeProto *nd, es_slice_attrs *a, int r, int64_t ax, int64_t start,
                 int64_t end, int64_t step)
{
    int d;
    if (es_import_axis(nd, ax, r, &d) != 0)
        return -1;
    if (step == 0 || step < -INT_MAX || step > INT_MAX)
        return es_import_fail(nd, "bad step", NULL);
    a->start[d] = clamp_int(start), a->end[d] = clamp_int(end), a->step[d] = (int)step;
    return 0;
}

int es_import_slice(es_importer *m, const Onnx__NodeProto *nd, const char *suffix, int x,
                    int64_t axis, int64_t start, int64_t end, const char *out)
{
    es_attrs a = es_slice_defaults;
    if (slice_set(nd, &a.slice, es_import_tensor(m, x)->ndim, axis, start, end, 1) != 0)
        return -1;
    return es_import_add(m, nd, suffix, ES_OP_SLICE, &a, 1, &x, out);
}

/* starts, ends (and axes, steps) are inputs from opset 10, attributes before. */
int es_slice_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x, n[4], present[4];
    int64_t v[4][ES_MAX_DIMS];
    static const char *const names[4] = {"starts", "ends", "axes", "steps"};
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    for (int k = 0; k < 4; k++)
        if (es_import_ints(m, nd, k + 1, names[k], v[k], ES_MAX_DIMS, &n[k], &present[k]) != 0)
            return -1;
    if (!present[0] || !present[1] || n[0] != n[1] || (present[2] && n[2] != n[0]) ||
        (present[3] && n[3] != n[0]))
        return es_import_fail(nd, "starts, ends, axes and steps do not match", NULL);
    int r = es_import_tensor(m, x)->ndim;
    es_attrs a = es_slice_defaults;
    for (int k = 0; k < n[0]; k++)
        if (slice_set(nd, &a.slice, r, present[2] ? v[2][k] : k, v[0][k], v[1][k],
                         present[3] ? v[3][k] : 1) != 0)
            return -1;
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

/* Every dim, as inputs (opset 10 on). */
int es_slice_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    int r = g->t[n->in[0]].ndim, axes[ES_MAX_DIMS];
    for (int d = 0; d < r; d++)
        axes[d] = d;
    es_export_input_ints(x, n, "starts", n->a.slice.start, r);
    es_export_input_ints(x, n, "ends", n->a.slice.end, r);
    es_export_input_ints(x, n, "axes", axes, r);
    es_export_input_ints(x, n, "steps", n->a.slice.step, r);
    return 0;
}
