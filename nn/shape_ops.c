/* Ops that move data without arithmetic: Pad (constant), Concat, Transpose, and the views
 * Flatten, Reshape, Identity, Squeeze, Unsqueeze (a copy in C order under a new shape).
 * ONNX semantics; axes may be negative (counted from the end). Tensors are C order, so a
 * view's forward is a memcpy and its backward an elementwise add. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <stdlib.h>
#include <string.h>

/* Axis a of a rank-r tensor, negatives from the end; -1 when out of [-r, r). */
static int norm_axis(int a, int r) { return a < -r || a >= r ? -1 : a < 0 ? a + r : a; }

static size_t prod(const int *d, int from, int to)
{
    size_t s = 1;
    for (int i = from; i < to; i++)
        s *= (size_t)d[i];
    return s;
}

/* ---- views -------------------------------------------------------------------------------- */
static void view_forward(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data;
    if (y != x->data) /* the memory plan makes most views share their input's memory */
        memcpy(y, x->data, x->size * sizeof(float));
}

static void view_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!wants_grad(g, nd, 0, p))
        return;
    es_tensor *x = in_t(g, nd, 0);
    const float *dy = out_t(g, nd, 0)->grad;
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += dy[i];
}

#define VIEW_OP(fam)                                                                            \
    void es_##fam##_forward(es_graph *g, es_node *nd, const es_pass *p) { view_forward(g, nd); } \
    void es_##fam##_backward(es_graph *g, es_node *nd, const es_pass *p) { view_backward(g, nd, p); }

int es_identity_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}
VIEW_OP(identity)

/* Flatten: (d0…d_{axis−1}) and (d_axis…) become the two dims; axis in [−r, r]. */
int es_flatten_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    int ax = nd->a.axis.axis < 0 ? nd->a.axis.axis + x->ndim : nd->a.axis.axis;
    if (ax < 0 || ax > x->ndim)
        return es_node_fail(nd, "axis %d out of range for a %d-D input", nd->a.axis.axis, x->ndim);
    int dims[2] = {(int)prod(x->dims, 0, ax), (int)prod(x->dims, ax, x->ndim)};
    es_set_shape(out_t(g, nd, 0), 2, dims);
    return 0;
}
VIEW_OP(flatten)

/* Reshape to attrs.list: 0 copies the input's dim at that place, −1 (at most one) takes
 * what is left (ONNX, allowzero = 0). */
int es_reshape_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_dims_attrs *a = &nd->a.dims;
    int dims[ES_MAX_DIMS], infer = -1;
    size_t known = 1;
    if (a->n_list < 0 || a->n_list > ES_MAX_DIMS)
        return es_node_fail(nd, "target shape has %d dims", a->n_list);
    for (int i = 0; i < a->n_list; i++) {
        int d = a->list[i];
        if (d == 0) {
            if (i >= x->ndim)
                return es_node_fail(nd, "0 at dim %d copies a dim the %d-D input lacks", i,
                                    x->ndim);
            d = x->dims[i];
        } else if (d == -1) {
            if (infer >= 0)
                return es_node_fail(nd, "more than one -1 in the target shape");
            infer = i;
            d = 1;
        } else if (d < 0) {
            return es_node_fail(nd, "bad target dim %d", d);
        }
        dims[i] = d;
        known *= (size_t)d;
    }
    if (infer >= 0) {
        if (known == 0 || x->size % known)
            return es_node_fail(nd, "cannot infer -1: %zu elements into blocks of %zu", x->size,
                                known);
        dims[infer] = (int)(x->size / known);
        known = x->size;
    }
    if (known != x->size)
        return es_node_fail(nd, "%zu elements cannot take a shape of %zu", x->size, known);
    es_set_shape(out_t(g, nd, 0), a->n_list, dims);
    return 0;
}
VIEW_OP(reshape)

/* Squeeze the dims in attrs.list (each must be 1), or every 1-dim when the list is empty. */
int es_squeeze_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_dims_attrs *a = &nd->a.dims;
    char drop[ES_MAX_DIMS] = {0};
    if (a->n_list < 0 || a->n_list > x->ndim)
        return es_node_fail(nd, "%d axes for a %d-D input", a->n_list, x->ndim);
    for (int i = 0; i < a->n_list; i++) {
        int ax = norm_axis(a->list[i], x->ndim);
        if (ax < 0)
            return es_node_fail(nd, "axis %d out of range for a %d-D input", a->list[i], x->ndim);
        if (x->dims[ax] != 1)
            return es_node_fail(nd, "cannot squeeze dim %d of size %d", ax, x->dims[ax]);
        drop[ax] = 1;
    }
    int dims[ES_MAX_DIMS], r = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!(a->n_list ? drop[i] : x->dims[i] == 1))
            dims[r++] = x->dims[i];
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}
VIEW_OP(squeeze)

/* Unsqueeze: attrs.list names the new 1-dims as places in the output (rank r + n_list). */
int es_unsqueeze_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_dims_attrs *a = &nd->a.dims;
    int r = x->ndim + a->n_list;
    if (a->n_list < 1 || r > ES_MAX_DIMS)
        return es_node_fail(nd, "needs 1 to %d axes, got %d", ES_MAX_DIMS - x->ndim, a->n_list);
    char add[ES_MAX_DIMS] = {0};
    for (int i = 0; i < a->n_list; i++) {
        int ax = norm_axis(a->list[i], r);
        if (ax < 0 || add[ax])
            return es_node_fail(nd, "axis %d out of range or repeated", a->list[i]);
        add[ax] = 1;
    }
    int dims[ES_MAX_DIMS];
    for (int i = 0, k = 0; i < r; i++)
        dims[i] = add[i] ? 1 : x->dims[k++];
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}
VIEW_OP(unsqueeze)

/* ---- Transpose: out dim i is input dim perm[i]; no perm reverses the dims ---------------- */
static void transpose_perm(const es_node *nd, int r, int *perm)
{
    for (int i = 0; i < r; i++)
        perm[i] = nd->a.dims.n_list ? nd->a.dims.list[i] : r - 1 - i;
}

int es_transpose_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    if (nd->a.dims.n_list && nd->a.dims.n_list != x->ndim)
        return es_node_fail(nd, "perm has %d entries for a %d-D input", nd->a.dims.n_list, x->ndim);
    int perm[ES_MAX_DIMS], dims[ES_MAX_DIMS];
    char seen[ES_MAX_DIMS] = {0};
    transpose_perm(nd, x->ndim, perm);
    for (int i = 0; i < x->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]])
            return es_node_fail(nd, "perm is not a permutation of 0..%d", x->ndim - 1);
        seen[perm[i]] = 1;
        dims[i] = x->dims[perm[i]];
    }
    es_set_shape(out_t(g, nd, 0), x->ndim, dims);
    return 0;
}

void es_strided_walk(int r, const int *yd, size_t ny, long off, const long *st, float *x,
                     float *y, int back)
{
    int idx[ES_MAX_DIMS] = {0};
    for (size_t o = 0; o < ny; o++) {
        if (back)
            x[off] += y[o];
        else
            y[o] = x[off];
        for (int i = r - 1; i >= 0; i--) { /* next output index */
            off += st[i];
            if (++idx[i] < yd[i])
                break;
            off -= st[i] * yd[i];
            idx[i] = 0;
        }
    }
}

/* Output dim i steps the input by the stride of its dim perm[i]; `back` adds dy into dx
 * instead of gathering x into y (the same index map, read the other way). */
static void transpose_run(es_graph *g, es_node *nd, int back)
{
    es_tensor *x = in_t(g, nd, 0), *y = out_t(g, nd, 0);
    int r = x->ndim, perm[ES_MAX_DIMS];
    long xs[ES_MAX_DIMS], st[ES_MAX_DIMS]; /* input strides; input stride of output dim i */
    transpose_perm(nd, r, perm);
    for (int i = r - 1; i >= 0; i--)
        xs[i] = i == r - 1 ? 1 : xs[i + 1] * x->dims[i + 1];
    for (int i = 0; i < r; i++)
        st[i] = xs[perm[i]];
    es_strided_walk(r, y->dims, y->size, 0, st, back ? x->grad : x->data, back ? y->grad : y->data, back);
}

void es_transpose_forward(es_graph *g, es_node *nd, const es_pass *p) { transpose_run(g, nd, 0); }

void es_transpose_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (wants_grad(g, nd, 0, p))
        transpose_run(g, nd, 1);
}

/* ---- Pad: constant mode; pads = begins of all dims, then ends (ONNX order) --------------- */
int es_pad_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    int r = x->ndim, dims[ES_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        int b = nd->a.pad.pads[i], e = nd->a.pad.pads[r + i];
        if (b < 0 || e < 0)
            return es_node_fail(nd, "negative pads (cropping) are not supported");
        dims[i] = x->dims[i] + b + e;
    }
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}

/* Rows are the input's last dim: each lands at its padded place in the output. */
static void pad_rows(es_graph *g, es_node *nd, int back)
{
    es_tensor *x = in_t(g, nd, 0), *y = out_t(g, nd, 0);
    int r = x->ndim, idx[ES_MAX_DIMS] = {0};
    const int *pb = nd->a.pad.pads;
    if (r == 0) { /* a scalar pads to itself */
        if (back)
            x->grad[0] += y->grad[0];
        else
            y->data[0] = x->data[0];
        return;
    }
    size_t ys[ES_MAX_DIMS], row = x->dims[r - 1], nrows = row ? x->size / row : 0;
    for (int i = r - 1; i >= 0; i--)
        ys[i] = i == r - 1 ? 1 : ys[i + 1] * y->dims[i + 1];
    for (size_t k = 0; k < nrows; k++) {
        size_t off = 0;
        for (int i = 0; i < r; i++)
            off += (size_t)(idx[i] + pb[i]) * ys[i];
        const float *src = x->data + k * row;
        if (back)
            for (size_t j = 0; j < row; j++)
                x->grad[k * row + j] += y->grad[off + j];
        else
            memcpy(y->data + off, src, row * sizeof(float));
        for (int i = r - 2; i >= 0; i--) {
            if (++idx[i] < x->dims[i])
                break;
            idx[i] = 0;
        }
    }
}

void es_pad_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *y = out_t(g, nd, 0);
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = nd->a.pad.value;
    pad_rows(g, nd, 0);
}

void es_pad_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (wants_grad(g, nd, 0, p))
        pad_rows(g, nd, 1);
}

/* ---- Concat: inputs of one rank, equal but along axis ------------------------------------ */
int es_concat_shape(es_graph *g, es_node *nd)
{
    es_tensor *x0 = in_t(g, nd, 0);
    int r = x0->ndim, ax = norm_axis(nd->a.axis.axis, r);
    if (ax < 0)
        return es_node_fail(nd, "axis %d out of range for %d-D inputs", nd->a.axis.axis, r);
    int dims[ES_MAX_DIMS];
    memcpy(dims, x0->dims, r * sizeof(int));
    for (int k = 1; k < nd->n_in; k++) {
        es_tensor *x = in_t(g, nd, k);
        if (!x)
            return es_node_fail(nd, "input %d is missing", k);
        if (x->ndim != r)
            return es_node_fail(nd, "input %d is %d-D, input 0 is %d-D", k, x->ndim, r);
        for (int i = 0; i < r; i++)
            if (i != ax && x->dims[i] != dims[i])
                return es_node_fail(nd, "input %d has %d at dim %d, input 0 has %d", k,
                                    x->dims[i], i, dims[i]);
        dims[ax] += x->dims[ax];
    }
    es_set_shape(out_t(g, nd, 0), r, dims);
    return 0;
}

/* The output is `outer` blocks; each holds every input's dims[axis]·inner values in turn. */
static void concat_run(es_graph *g, es_node *nd, const es_pass *p, int back)
{
    es_tensor *y = out_t(g, nd, 0);
    int r = y->ndim, ax = norm_axis(nd->a.axis.axis, r);
    size_t outer = prod(y->dims, 0, ax), inner = prod(y->dims, ax + 1, r);
    size_t yrow = (size_t)y->dims[ax] * inner, at = 0;
    for (int k = 0; k < nd->n_in; k++) {
        es_tensor *x = in_t(g, nd, k);
        size_t xrow = (size_t)x->dims[ax] * inner;
        if (!back) {
            for (size_t o = 0; x->data != y->data + at && o < outer; o++) /* else x is its slice */
                memcpy(y->data + o * yrow + at, x->data + o * xrow, xrow * sizeof(float));
        } else if (wants_grad(g, nd, k, p))
            for (size_t o = 0; o < outer; o++) {
                const float *dy = y->grad + o * yrow + at;
                float *dx = x->grad + o * xrow;
                if (es_fresh(p, k))
                    memcpy(dx, dy, xrow * sizeof *dx);
                else
                    for (size_t j = 0; j < xrow; j++)
                        dx[j] += dy[j];
            }
        at += xrow;
    }
}

void es_concat_forward(es_graph *g, es_node *nd, const es_pass *p) { concat_run(g, nd, p, 0); }
void es_concat_backward(es_graph *g, es_node *nd, const es_pass *p) { concat_run(g, nd, p, 1); }

/* ---- the ops' rows: ONNX import and export ------------------------------------------------ *
 * Concat and Flatten take es_axis_defaults and es_axis_export (ops.c); Identity is unary. */
int es_concat_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    if (nd->n_input < 1 || nd->n_input > 4096)
        return es_import_fail(nd, "bad number of inputs", NULL);
    int *in = malloc(nd->n_input * sizeof *in), r = -1;
    if (!in)
        return es_fail("out of memory");
    int n = 0;
    for (size_t k = 0; k < nd->n_input; k++)
        if (es_import_input(m, nd, (int)k, ES_T_STATE, &in[n]) != 0)
            goto done;
        else if (in[n] >= 0)
            n++;
    if (n == 0) {
        r = es_import_fail(nd, "no inputs", NULL);
        goto done;
    }
    es_attrs a = es_axis_defaults;
    if (!es_onnx_attr(nd, "axis")) {
        r = es_import_fail(nd, "no axis", NULL);
        goto done;
    }
    if (es_import_axis(nd, es_onnx_attr_int(nd, "axis", 1), es_import_tensor(m, in[0])->ndim, &a.axis.axis) == 0)
        r = es_import_add(m, nd, NULL, op, &a, n, in, es_import_out(nd));
done:
    free(in);
    return r;
}

int es_flatten_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    es_attrs a = es_axis_defaults;
    int r = es_import_tensor(m, x)->ndim;
    int64_t ax = es_onnx_attr_int(nd, "axis", 1);
    if (ax < -r || ax > r) /* r itself is allowed: Flatten to (N·…, 1) */
        return es_import_fail(nd, "axis out of range", NULL);
    a.axis.axis = (int)(ax < 0 ? ax + r : ax);
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

int es_reshape_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (es_import_data(m, nd, &x) != 0 || es_import_ints(m, nd, 1, "shape", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    if (!present)
        return es_import_fail(nd, "no shape", NULL);
    es_attrs a = es_none_defaults;
    const es_tensor *t = es_import_tensor(m, x);
    int allowzero = es_onnx_attr_int(nd, "allowzero", 0) != 0;
    for (int d = 0; d < n; d++) {
        if (v[d] < -1 || v[d] > ES_ONNX_MAX_INPUT_VALUES || (v[d] == 0 && allowzero))
            return es_import_fail(nd, "unsupported shape value", NULL);
        a.dims.list[d] = (int)v[d];
    }
    a.dims.n_list = n;
    /* A leading size equal to the input's (the batch, folded from Shape or written as 1 by a
     * static export) becomes 0, "copy from the input": the same now, and it follows the batch. */
    if (n > 0 && t->ndim > 0 && a.dims.list[0] == t->dims[0])
        a.dims.list[0] = 0;
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

/* Opset 13 takes the shape as an input. */
int es_reshape_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_input_ints(x, n, "shape", n->a.dims.list, n->a.dims.n_list);
    return 0;
}

int es_transpose_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x;
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    int r = es_import_tensor(m, x)->ndim;
    const int64_t *p;
    size_t np = es_onnx_attr_ints(nd, "perm", &p);
    if (np && np != (size_t)r)
        return es_import_fail(nd, "perm does not match the input rank", NULL);
    es_attrs a = es_none_defaults;
    a.dims.n_list = r;
    for (int d = 0; d < r; d++) {
        int64_t v = np ? p[d] : r - 1 - d;
        if (v < 0 || v >= r)
            return es_import_fail(nd, "bad perm", NULL);
        a.dims.list[d] = (int)v;
    }
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

int es_transpose_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_ints(x, "perm", n->a.dims.list, n->a.dims.n_list);
    return 0;
}

/* Squeeze and Unsqueeze: the axes, sorted, as the ops read them. */
int es_squeeze_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x, n, present;
    int64_t v[ES_MAX_DIMS];
    if (es_import_data(m, nd, &x) != 0 || es_import_ints(m, nd, 1, "axes", v, ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    const es_tensor *t = es_import_tensor(m, x);
    int rank = op == ES_OP_UNSQUEEZE ? t->ndim + n : t->ndim;
    es_attrs a = es_none_defaults;
    es_dims_attrs *ax = &a.dims;
    if (rank > ES_MAX_DIMS)
        return es_import_fail(nd, "result of too high a rank", NULL);
    if (!present && op == ES_OP_UNSQUEEZE)
        return es_import_fail(nd, "no axes", NULL);
    if (!present) /* Squeeze without axes: every dim of size 1, as the shape is now */
        for (int d = 0; d < t->ndim; d++)
            if (t->dims[d] == 1)
                ax->list[ax->n_list++] = d;
    for (int k = 0; k < n; k++)
        if (es_import_axis(nd, v[k], rank, &ax->list[ax->n_list++]) != 0)
            return -1;
    for (int i = 1; i < ax->n_list; i++)
        for (int j = i; j > 0 && ax->list[j - 1] > ax->list[j]; j--) {
            int s = ax->list[j];
            ax->list[j] = ax->list[j - 1], ax->list[j - 1] = s;
        }
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

/* Opset 13 takes the axes as an input; an empty list (Squeeze every 1-dim) is its absent axes. */
int es_axes_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    if (n->a.dims.n_list > 0)
        es_export_input_ints(x, n, "axes", n->a.dims.list, n->a.dims.n_list);
    return 0;
}

int es_pad_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int x, n, present;
    int64_t v[2 * ES_MAX_DIMS];
    char buf[32];
    if (es_import_data(m, nd, &x) != 0)
        return -1;
    const char *mode = es_onnx_attr_str(nd, "mode", buf, sizeof buf, "constant");
    if (strcmp(mode, "constant") != 0)
        return es_import_fail(nd, "only mode=constant is supported, not ", mode);
    if (nd->n_input > 3 && *nd->input[3])
        return es_import_fail(nd, "the axes input is not supported", NULL);
    const char *attr = es_import_opset(m) < 11 ? "paddings" : "pads";
    if (es_import_ints(m, nd, 1, attr, v, 2 * ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    if (!present && es_import_ints(m, nd, 1, "pads", v, 2 * ES_MAX_DIMS, &n, &present) != 0)
        return -1;
    int r = es_import_tensor(m, x)->ndim;
    if (!present || n != 2 * r)
        return es_import_fail(nd, "pads must have two values per dimension", NULL);
    es_attrs a = es_none_defaults;
    for (int k = 0; k < n; k++) {
        if (v[k] < -ES_ONNX_MAX_SPATIAL || v[k] > ES_ONNX_MAX_SPATIAL)
            return es_import_fail(nd, "bad pads", NULL);
        a.pad.pads[k] = (int)v[k];
    }
    a.pad.value = es_onnx_attr_float(nd, "value", 0.0f);
    if (es_import_const_float(m, nd, 2, &a.pad.value, "constant_value is not a constant scalar") != 0)
        return -1;
    return es_import_add(m, nd, NULL, op, &a, 1, &x, es_import_out(nd));
}

/* Opset 13 takes the pads and the constant as inputs; a zero constant is ONNX's default. */
int es_pad_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    const es_tensor *x0 = n->in[0] >= 0 ? &g->t[n->in[0]] : NULL;
    es_export_str(x, "mode", "constant");
    es_export_input_ints(x, n, "pads", n->a.pad.pads, 2 * (x0 ? x0->ndim : 0));
    if (n->a.pad.value != 0.0f)
        es_export_input_float(x, n, "constant_value", n->a.pad.value);
    return 0;
}
