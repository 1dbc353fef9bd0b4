/* Ops that move data without arithmetic: Pad (constant), Concat, Transpose, and the views
 * Flatten, Reshape, Identity, Squeeze, Unsqueeze (a copy in C order under a new shape).
 * ONNX semantics; axes may be negative (counted from the end). Tensors are C order, so a
 * view's forward is a memcpy and its backward an elementwise add. */
#include "nn/graph.h"
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
    memcpy(out_t(g, nd, 0)->data, x->data, x->size * sizeof(float));
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
    void fam##_forward(es_graph *g, es_node *nd, const es_pass *p) { view_forward(g, nd); }  \
    void fam##_backward(es_graph *g, es_node *nd, const es_pass *p) { view_backward(g, nd, p); }

int identity_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}
VIEW_OP(identity)

/* Flatten: (d0…d_{axis−1}) and (d_axis…) become the two dims; axis in [−r, r]. */
int flatten_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    int ax = nd->a.axis < 0 ? nd->a.axis + x->ndim : nd->a.axis;
    if (ax < 0 || ax > x->ndim)
        return es_node_fail(nd, "axis %d out of range for a %d-D input", nd->a.axis, x->ndim);
    int dims[2] = {(int)prod(x->dims, 0, ax), (int)prod(x->dims, ax, x->ndim)};
    es_set_shape(out_t(g, nd, 0), 2, dims);
    return 0;
}
VIEW_OP(flatten)

/* Reshape to attrs.list: 0 copies the input's dim at that place, −1 (at most one) takes
 * what is left (ONNX, allowzero = 0). */
int reshape_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_attrs *a = &nd->a;
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
int squeeze_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_attrs *a = &nd->a;
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
int unsqueeze_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    const es_attrs *a = &nd->a;
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
        perm[i] = nd->a.n_list ? nd->a.list[i] : r - 1 - i;
}

int transpose_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    if (nd->a.n_list && nd->a.n_list != x->ndim)
        return es_node_fail(nd, "perm has %d entries for a %d-D input", nd->a.n_list, x->ndim);
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

/* Walks the output in C order with an odometer; `back` adds dy into dx instead of
 * gathering x into y (the same index map, read the other way). */
static void transpose_run(es_graph *g, es_node *nd, int back)
{
    es_tensor *x = in_t(g, nd, 0), *y = out_t(g, nd, 0);
    int r = x->ndim, perm[ES_MAX_DIMS], idx[ES_MAX_DIMS] = {0};
    size_t xs[ES_MAX_DIMS], st[ES_MAX_DIMS]; /* input strides; input stride of output dim i */
    transpose_perm(nd, r, perm);
    for (int i = r - 1; i >= 0; i--)
        xs[i] = i == r - 1 ? 1 : xs[i + 1] * x->dims[i + 1];
    for (int i = 0; i < r; i++)
        st[i] = xs[perm[i]];
    size_t off = 0;
    for (size_t o = 0; o < y->size; o++) {
        if (back)
            x->grad[off] += y->grad[o];
        else
            y->data[o] = x->data[off];
        for (int i = r - 1; i >= 0; i--) { /* next output index */
            off += st[i];
            if (++idx[i] < y->dims[i])
                break;
            off -= st[i] * y->dims[i];
            idx[i] = 0;
        }
    }
}

void transpose_forward(es_graph *g, es_node *nd, const es_pass *p) { transpose_run(g, nd, 0); }

void transpose_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (wants_grad(g, nd, 0, p))
        transpose_run(g, nd, 1);
}

/* ---- Pad: constant mode; pads = begins of all dims, then ends (ONNX order) --------------- */
int pad_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    int r = x->ndim, dims[ES_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        int b = nd->a.pads[i], e = nd->a.pads[r + i];
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
    const int *pb = nd->a.pads;
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

void pad_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *y = out_t(g, nd, 0);
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = nd->a.value;
    pad_rows(g, nd, 0);
}

void pad_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (wants_grad(g, nd, 0, p))
        pad_rows(g, nd, 1);
}

/* ---- Concat: inputs of one rank, equal but along axis ------------------------------------ */
int concat_shape(es_graph *g, es_node *nd)
{
    es_tensor *x0 = in_t(g, nd, 0);
    int r = x0->ndim, ax = norm_axis(nd->a.axis, r);
    if (ax < 0)
        return es_node_fail(nd, "axis %d out of range for %d-D inputs", nd->a.axis, r);
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
    int r = y->ndim, ax = norm_axis(nd->a.axis, r);
    size_t outer = prod(y->dims, 0, ax), inner = prod(y->dims, ax + 1, r);
    size_t yrow = (size_t)y->dims[ax] * inner, at = 0;
    for (int k = 0; k < nd->n_in; k++) {
        es_tensor *x = in_t(g, nd, k);
        size_t xrow = (size_t)x->dims[ax] * inner;
        if (!back)
            for (size_t o = 0; o < outer; o++)
                memcpy(y->data + o * yrow + at, x->data + o * xrow, xrow * sizeof(float));
        else if (wants_grad(g, nd, k, p))
            for (size_t o = 0; o < outer; o++) {
                const float *dy = y->grad + o * yrow + at;
                float *dx = x->grad + o * xrow;
                for (size_t j = 0; j < xrow; j++)
                    dx[j] += dy[j];
            }
        at += xrow;
    }
}

void concat_forward(es_graph *g, es_node *nd, const es_pass *p) { concat_run(g, nd, p, 0); }
void concat_backward(es_graph *g, es_node *nd, const es_pass *p) { concat_run(g, nd, p, 1); }
