/* Constant folding for the ONNX importer. PyTorch's exporter computes shapes and pad amounts
 * with small integer sub-graphs (x.view(x.size(0), -1) becomes Shape→Gather→Unsqueeze→
 * Concat→Reshape; F.pad becomes ConstantOfShape→Concat→Reshape→Slice→Transpose→Cast). With
 * the input shape fixed at import these evaluate to constants, which the importer turns into
 * attributes of the node that consumes them. Mostly small tensors pass through here, so the
 * code favours plain loops over speed; a weight that does (an Identity, a Reshape) keeps its
 * values where they are, borrowed from the file, and only what changes values is copied. */
#include "nn/onnx_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_ELEMS (1u << 24)   /* a folded tensor larger than this is not a shape */

void es_onnx_const_clear(es_onnx_const *c)
{
    free(c->name);
    free(c->i);
    free(c->f);
    memset(c, 0, sizeof *c);
    c->tensor = -1;
}

/* c's shape and type, its old values freed; 0, or -1 for a shape beyond ES_ONNX_CONST_MAX. */
static int const_shape(es_onnx_const *c, int is_int, int ndim, const int64_t *dims)
{
    free(c->i), free(c->f);
    c->i = NULL, c->f = NULL, c->raw = NULL;
    if (ndim < 0 || ndim > ES_MAX_DIMS)
        return es_fail("%d dimensions (at most %d)", ndim, ES_MAX_DIMS);
    size_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] < 0 || (dims[k] > 0 && n > ES_ONNX_CONST_MAX / (size_t)dims[k]))
            return es_fail("bad dimension %lld", (long long)dims[k]);
        n *= (size_t)dims[k];
        c->dims[k] = dims[k];
    }
    c->ndim = ndim, c->n = n, c->is_int = is_int;
    return 0;
}

int es_onnx_const_alloc(es_onnx_const *c, int is_int, int ndim, const int64_t *dims)
{
    if (const_shape(c, is_int, ndim, dims) != 0)
        return -1;
    if (is_int)
        c->i = calloc(c->n ? c->n : 1, sizeof *c->i);
    else
        c->f = calloc(c->n ? c->n : 1, sizeof *c->f);
    if (!c->i && !c->f)
        return es_fail("out of memory (%zu values)", c->n);
    return 0;
}

int es_onnx_const_borrow(es_onnx_const *c, int ndim, const int64_t *dims, const uint8_t *raw)
{
    if (const_shape(c, 0, ndim, dims) != 0)
        return -1;
    c->raw = raw;
    return 0;
}

static float raw_float(const es_onnx_const *c, size_t k)
{
    float v;
    memcpy(&v, c->raw + k * sizeof v, sizeof v);
    return v;
}

double es_onnx_const_get(const es_onnx_const *c, size_t k)
{
    return c->is_int ? (double)c->i[k] : c->raw ? raw_float(c, k) : c->f[k];
}

int64_t es_onnx_const_int(const es_onnx_const *c, size_t k)
{
    if (c->is_int)
        return c->i[k];
    double v = es_onnx_const_get(c, k);
    if (!(v > -9.2e18 && v < 9.2e18)) /* NaN, or beyond int64: clamp like a saturating cast */
        return v > 0 ? INT64_MAX : INT64_MIN;
    return (int64_t)v;
}

void es_onnx_const_set(es_onnx_const *c, size_t k, double v)
{
    if (c->is_int)
        c->i[k] = v > 9.2e18 ? INT64_MAX : v < -9.2e18 ? INT64_MIN : (int64_t)v;
    else
        c->f[k] = (float)v;
}

/* out[o] = x[off], exact for integers. */
static void put(es_onnx_const *out, size_t o, const es_onnx_const *x, size_t off)
{
    if (out->is_int && x->is_int)
        out->i[o] = x->i[off];
    else if (!out->is_int && !x->is_int)
        out->f[o] = x->raw ? raw_float(x, off) : x->f[off];
    else
        es_onnx_const_set(out, o, es_onnx_const_get(x, off));
}

/* ---- the folder --------------------------------------------------------------------------- */
static int is_op(const Onnx__NodeProto *n, const char *op) { return strcmp(n->op_type, op) == 0; }

/* es_onnx_const_alloc for results, refused before allocating when over `max` values. */
static int fold_alloc_max(es_onnx_const *c, int is_int, int ndim, const int64_t *dims, size_t max)
{
    double n = 1;
    for (int k = 0; k < ndim && k < ES_MAX_DIMS; k++)
        n *= dims[k] > 0 ? (double)dims[k] : 1;
    if (n > max)
        return es_fail("folded constant of %.0f values", n);
    return es_onnx_const_alloc(c, is_int, ndim, dims);
}

/* The bound of a result that only rearranges x: as large as x may be. */
static size_t rearranged(const es_onnx_const *x)
{
    return x->n > FOLD_MAX_ELEMS ? x->n : FOLD_MAX_ELEMS;
}

/* The bound of results that can grow beyond their inputs: too large to be a shape. */
static int fold_alloc(es_onnx_const *c, int is_int, int ndim, const int64_t *dims)
{
    return fold_alloc_max(c, is_int, ndim, dims, FOLD_MAX_ELEMS);
}

/* Normalises an axis against rank r (negative counts from the end). */
static int axis_of(int64_t ax, int r, int64_t *out)
{
    *out = 0;
    if (ax < -r || ax >= r)
        return es_fail("axis %lld out of range for rank %d", (long long)ax, r);
    *out = ax < 0 ? ax + r : ax;
    return 0;
}

/* A list of ints given as an attribute (older opsets) or as input k (newer). */
static int int_list(const Onnx__NodeProto *n, const char *attr, es_onnx_const *const *in, int n_in,
                    int k, int64_t *v, int *count)
{
    const int64_t *a;
    size_t na = es_onnx_attr_ints(n, attr, &a);
    const es_onnx_const *c = k < n_in ? in[k] : NULL;
    size_t cnt = c ? c->n : na;
    if (cnt > ES_MAX_DIMS)
        return es_fail("%zu %s (at most %d)", cnt, attr, ES_MAX_DIMS);
    for (size_t j = 0; j < cnt; j++)
        v[j] = c ? es_onnx_const_int(c, j) : a[j];
    *count = (int)cnt;
    return 0;
}

static void strides_of(const int64_t *dims, int ndim, size_t *st)
{
    size_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        st[k] = s;
        s *= (size_t)dims[k];
    }
}

/* numpy broadcasting of inputs against out dims: the offset of output element k in input c. */
static size_t bcast_offset(const es_onnx_const *c, const es_onnx_const *out, size_t k)
{
    size_t st[ES_MAX_DIMS], off = 0;
    strides_of(c->dims, c->ndim, st);
    int shift = out->ndim - c->ndim;
    for (int d = out->ndim - 1; d >= 0; d--) {
        size_t idx = k % (size_t)out->dims[d];
        k /= (size_t)out->dims[d];
        int cd = d - shift;
        if (cd >= 0 && c->dims[cd] != 1)
            off += idx * st[cd];
    }
    return off;
}

static int bcast_shape(es_onnx_const *const *in, int n_in, int64_t *dims, int *ndim)
{
    int r = 0;
    *ndim = 0;
    for (int k = 0; k < n_in; k++)
        if (in[k]->ndim > r)
            r = in[k]->ndim;
    for (int d = 0; d < r; d++) {
        dims[d] = 1;
        for (int k = 0; k < n_in; k++) {
            int cd = d - (r - in[k]->ndim);
            int64_t v = cd >= 0 ? in[k]->dims[cd] : 1;
            if (v != 1 && dims[d] != 1 && v != dims[d])
                return es_fail("shapes do not broadcast");
            if (v != 1)
                dims[d] = v;
        }
    }
    *ndim = r;
    return 0;
}

static double binop(const char *op, double a, double b, int ints)
{
    switch (op[0]) {
    case 'A': return a + b;
    case 'S': return a - b;
    case 'M': return op[1] == 'u' ? a * b : op[1] == 'a' ? (a > b ? a : b) : (a < b ? a : b);
    case 'D':
        if (ints)
            return b == 0 ? 0 : (double)((int64_t)a / (int64_t)b);
        return a / b;
    case 'E': return a == b;
    case 'L': return a < b;
    case 'G': return a > b;
    case 'P': return pow(a, b);
    default: return 0;
    }
}

static int fold_binary(const Onnx__NodeProto *n, es_onnx_const *const *in, es_onnx_const *out)
{
    const char *op = n->op_type;
    int cmp = is_op(n, "Equal") || is_op(n, "Less") || is_op(n, "Greater");
    int ints = in[0]->is_int && in[1]->is_int;
    int64_t dims[ES_MAX_DIMS];
    int r;
    if (bcast_shape(in, 2, dims, &r) != 0 || fold_alloc(out, ints || cmp, r, dims) != 0)
        return -1;
    for (size_t k = 0; k < out->n; k++) {
        size_t a = bcast_offset(in[0], out, k), b = bcast_offset(in[1], out, k);
        if (ints) /* exact integer arithmetic (shapes, INT64_MAX slice ends) */
            switch (op[0]) {
            case 'A': out->i[k] = (int64_t)((uint64_t)in[0]->i[a] + (uint64_t)in[1]->i[b]); continue;
            case 'S': out->i[k] = (int64_t)((uint64_t)in[0]->i[a] - (uint64_t)in[1]->i[b]); continue;
            case 'E': out->i[k] = in[0]->i[a] == in[1]->i[b]; continue;
            case 'D': /* exact too: through double, INT64_MAX would become 2^63 */
                out->i[k] = in[1]->i[b] == 0 ? 0
                            : in[1]->i[b] == -1 ? (int64_t)(0 - (uint64_t)in[0]->i[a])
                                                : in[0]->i[a] / in[1]->i[b];
                continue;
            }
        es_onnx_const_set(out, k, binop(op, es_onnx_const_get(in[0], a), es_onnx_const_get(in[1], b), ints));
    }
    return 1;
}

static int fold_where(es_onnx_const *const *in, es_onnx_const *out)
{
    int64_t dims[ES_MAX_DIMS];
    int r;
    if (bcast_shape(in, 3, dims, &r) != 0 ||
        fold_alloc(out, in[1]->is_int && in[2]->is_int, r, dims) != 0)
        return -1;
    for (size_t k = 0; k < out->n; k++) {
        const es_onnx_const *src = es_onnx_const_get(in[0], bcast_offset(in[0], out, k)) != 0 ? in[1] : in[2];
        put(out, k, src, bcast_offset(src, out, k));
    }
    return 1;
}

/* Reshape, Squeeze, Identity: the same values in another shape. Values borrowed from the
 * file are borrowed again, not copied (a weight behind an Identity costs nothing). */
static int copy_values(es_onnx_const *out, const es_onnx_const *x, int ndim, const int64_t *dims)
{
    double n = 1;
    for (int k = 0; k < ndim && k < ES_MAX_DIMS; k++)
        n *= dims[k] >= 0 ? (double)dims[k] : 1;
    if (n != (double)x->n)
        return es_fail("cannot reshape %zu values into %.0f", x->n, n);
    if (x->raw)
        return es_onnx_const_borrow(out, ndim, dims, x->raw) == 0 ? 1 : -1;
    if (fold_alloc_max(out, x->is_int, ndim, dims, rearranged(x)) != 0)
        return -1;
    if (x->is_int)
        memcpy(out->i, x->i, x->n * sizeof *x->i);
    else
        memcpy(out->f, x->f, x->n * sizeof *x->f);
    return 1;
}

static int fold_unary(const Onnx__NodeProto *n, const es_onnx_const *x, es_onnx_const *out)
{
    int to_int = x->is_int;
    if (is_op(n, "Cast")) {
        int64_t to = es_onnx_attr_int(n, "to", T_F32);
        to_int = to != T_F32 && to != T_F64 && to != 10 && to != 16;
    }
    if (is_op(n, "Identity") || (is_op(n, "Cast") && to_int == x->is_int)) /* values kept */
        return copy_values(out, x, x->ndim, x->dims);
    if (fold_alloc(out, to_int, x->ndim, x->dims) != 0)
        return -1;
    for (size_t k = 0; k < x->n; k++) {
        if (to_int && x->is_int) {
            out->i[k] = is_op(n, "Neg") ? (int64_t)(0 - (uint64_t)x->i[k]) /* wraps at INT64_MIN */
                        : is_op(n, "Not") ? !x->i[k] : x->i[k];
            continue;
        }
        double v = es_onnx_const_get(x, k);
        if (is_op(n, "Neg")) v = -v;
        else if (is_op(n, "Floor")) v = floor(v);
        else if (is_op(n, "Ceil")) v = ceil(v);
        else if (is_op(n, "Sqrt")) v = sqrt(v);
        else if (is_op(n, "Not")) v = v == 0;
        else if (is_op(n, "Cast") && es_onnx_attr_int(n, "to", T_F32) == T_BOOL) v = v != 0;
        es_onnx_const_set(out, k, v);
    }
    return 1;
}

static int fold_reshape(const Onnx__NodeProto *n, es_onnx_const *const *in, es_onnx_const *out)
{
    const es_onnx_const *x = in[0], *s = in[1];
    int64_t dims[ES_MAX_DIMS];
    if (s->n > ES_MAX_DIMS)
        return es_fail("shape of %zu dims", s->n);
    int infer = -1, allowzero = (int)es_onnx_attr_int(n, "allowzero", 0);
    size_t known = 1;
    for (size_t k = 0; k < s->n; k++) {
        dims[k] = es_onnx_const_int(s, k);
        if (dims[k] == 0 && !allowzero)
            dims[k] = (int)k < x->ndim ? x->dims[k] : 0;
        if (dims[k] == -1 && infer < 0)
            infer = (int)k;
        else if (dims[k] < 0)
            return es_fail("bad shape value %lld", (long long)dims[k]);
        else
            known *= (size_t)dims[k];
    }
    if (infer >= 0) {
        if (known == 0 || x->n % known)
            return es_fail("cannot reshape %zu values with a -1", x->n);
        dims[infer] = (int64_t)(x->n / known);
    }
    return copy_values(out, x, (int)s->n, dims);
}

/* Unsqueeze and Squeeze: the output dims from the axes (attribute or input 1). */
static int fold_squeeze(const Onnx__NodeProto *n, es_onnx_const *const *in, int n_in, es_onnx_const *out)
{
    const es_onnx_const *x = in[0];
    int64_t axes[ES_MAX_DIMS], dims[ES_MAX_DIMS];
    int na, r = 0, unsq = is_op(n, "Unsqueeze");
    if (int_list(n, "axes", in, n_in, 1, axes, &na) != 0)
        return -1;
    int out_r = unsq ? x->ndim + na : x->ndim;
    if (out_r > ES_MAX_DIMS)
        return es_fail("rank %d", out_r);
    char mark[ES_MAX_DIMS] = {0};
    for (int k = 0; k < na; k++) {
        int64_t ax;
        if (axis_of(axes[k], out_r, &ax) != 0)
            return -1;
        mark[ax] = 1;
    }
    for (int d = 0, src = 0; d < out_r; d++) {
        if (unsq) {
            dims[r++] = mark[d] ? 1 : x->dims[src++];
        } else if (!(na ? mark[d] : x->dims[d] == 1)) {
            dims[r++] = x->dims[d];
        } else if (x->dims[d] != 1) {
            return es_fail("cannot squeeze axis %d of size %lld", d, (long long)x->dims[d]);
        }
    }
    return copy_values(out, x, r, dims);
}

static int fold_concat(const Onnx__NodeProto *n, es_onnx_const *const *in, int n_in, es_onnx_const *out)
{
    int r = in[0]->ndim, is_int = 1;
    int64_t ax, dims[ES_MAX_DIMS];
    if (axis_of(es_onnx_attr_int(n, "axis", 0), r, &ax) != 0)
        return -1;
    memcpy(dims, in[0]->dims, sizeof dims);
    dims[ax] = 0;
    for (int k = 0; k < n_in; k++) {
        if (!in[k] || in[k]->ndim != r)
            return es_fail("inputs of different ranks");
        for (int d = 0; d < r; d++)
            if (d != ax && in[k]->dims[d] != dims[d])
                return es_fail("inputs of different shapes");
        dims[ax] += in[k]->dims[ax];
        is_int &= in[k]->is_int;
    }
    if (fold_alloc(out, is_int, r, dims) != 0)
        return -1;
    size_t outer = 1, o = 0;
    for (int d = 0; d < ax; d++)
        outer *= (size_t)dims[d];
    for (size_t b = 0; b < outer; b++)
        for (int k = 0; k < n_in; k++) {
            size_t run = in[k]->n / (outer ? outer : 1);
            for (size_t j = 0; j < run; j++)
                put(out, o++, in[k], b * run + j);
        }
    return 1;
}

static int fold_gather(const Onnx__NodeProto *n, es_onnx_const *const *in, es_onnx_const *out)
{
    const es_onnx_const *x = in[0], *idx = in[1];
    int64_t ax, dims[ES_MAX_DIMS];
    if (axis_of(es_onnx_attr_int(n, "axis", 0), x->ndim, &ax) != 0)
        return -1;
    int r = 0;
    for (int d = 0; d < ax; d++)
        dims[r++] = x->dims[d];
    if (r + idx->ndim + (x->ndim - ax - 1) > ES_MAX_DIMS)
        return es_fail("result of too high a rank");
    for (int d = 0; d < idx->ndim; d++)
        dims[r++] = idx->dims[d];
    for (int d = (int)ax + 1; d < x->ndim; d++)
        dims[r++] = x->dims[d];
    if (fold_alloc(out, x->is_int, r, dims) != 0)
        return -1;
    size_t outer = 1, inner = 1, o = 0;
    for (int d = 0; d < ax; d++)
        outer *= (size_t)x->dims[d];
    for (int d = (int)ax + 1; d < x->ndim; d++)
        inner *= (size_t)x->dims[d];
    for (size_t b = 0; b < outer; b++)
        for (size_t j = 0; j < idx->n; j++) {
            int64_t i = es_onnx_const_int(idx, j);
            if (i < 0)
                i += x->dims[ax];
            if (i < 0 || i >= x->dims[ax])
                return es_fail("index %lld out of range", (long long)es_onnx_const_int(idx, j));
            for (size_t e = 0; e < inner; e++)
                put(out, o++, x, (b * x->dims[ax] + i) * inner + e);
        }
    return 1;
}

/* out, of shape dims (allocated here), gathered from x: out's element (i_0, …) is x's element
 * lo[d] + i_d·step[d] along x's dim src[d]. Slice and Transpose are both this walk. */
static int gather_strided(es_onnx_const *out, const es_onnx_const *x, const int64_t *dims,
                          const int64_t *lo, const int64_t *step, const int64_t *src)
{
    if (fold_alloc_max(out, x->is_int, x->ndim, dims, rearranged(x)) != 0)
        return -1;
    size_t xs[ES_MAX_DIMS];
    strides_of(x->dims, x->ndim, xs);
    for (size_t k = 0; k < out->n; k++) {
        size_t rem = k, off = 0;
        for (int d = x->ndim - 1; d >= 0; d--) {
            size_t idx = rem % (size_t)dims[d];
            rem /= (size_t)dims[d];
            off += (size_t)(lo[d] + (int64_t)idx * step[d]) * xs[src[d]];
        }
        put(out, k, x, off);
    }
    return 1;
}

static int fold_slice(const Onnx__NodeProto *n, int opset, es_onnx_const *const *in, int n_in,
                      es_onnx_const *out)
{
    const es_onnx_const *x = in[0];
    int64_t st[ES_MAX_DIMS], en[ES_MAX_DIMS], ax[ES_MAX_DIMS], sp[ES_MAX_DIMS];
    int ns, ne, na = 0, np = 0;
    int old = opset < 10;
    if (int_list(n, "starts", in, old ? 0 : n_in, 1, st, &ns) != 0 ||
        int_list(n, "ends", in, old ? 0 : n_in, 2, en, &ne) != 0 ||
        int_list(n, "axes", in, old ? 0 : n_in, 3, ax, &na) != 0 ||
        (!old && int_list(n, "steps", in, n_in, 4, sp, &np) != 0))
        return -1;
    if (ns != ne || (na && na != ns) || (np && np != ns))
        return es_fail("starts, ends, axes and steps of different lengths");
    int64_t lo[ES_MAX_DIMS], step[ES_MAX_DIMS], dims[ES_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        lo[d] = 0, step[d] = 1, dims[d] = x->dims[d];
    for (int k = 0; k < ns; k++) {
        int64_t a;
        if (axis_of(na ? ax[k] : k, x->ndim, &a) != 0)
            return -1;
        int64_t dim = x->dims[a], s = st[k], e = en[k], p = np ? sp[k] : 1;
        if (p == 0)
            return es_fail("slice step 0");
        s = s < 0 ? (s < -dim ? -dim : s) + dim : s; /* clamp as the spec says */
        e = e < 0 ? (e < -dim ? -dim - 1 : e) + dim : e;
        /* |p| unsigned: a step of INT64_MIN has no int64 negation */
        uint64_t up = p > 0 ? (uint64_t)p : 0 - (uint64_t)p;
        if (p > 0) {
            s = s > dim ? dim : s;
            e = e > dim ? dim : e;
            dims[a] = e > s ? (int64_t)((uint64_t)(e - s - 1) / up + 1) : 0;
        } else {
            s = s > dim - 1 ? dim - 1 : s;
            e = e > dim - 1 ? dim - 1 : e < -1 ? -1 : e;
            dims[a] = s > e ? (int64_t)((uint64_t)(s - e - 1) / up + 1) : 0;
        }
        lo[a] = s, step[a] = p;
    }
    int64_t src[ES_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        src[d] = d;
    return gather_strided(out, x, dims, lo, step, src);
}

static int fold_transpose(const Onnx__NodeProto *n, const es_onnx_const *x, es_onnx_const *out)
{
    const int64_t *perm;
    size_t np = es_onnx_attr_ints(n, "perm", &perm);
    int64_t p[ES_MAX_DIMS], dims[ES_MAX_DIMS];
    if (np && np != (size_t)x->ndim)
        return es_fail("perm of %zu axes for rank %d", np, x->ndim);
    char seen[ES_MAX_DIMS] = {0};
    for (int d = 0; d < x->ndim; d++) {
        p[d] = np ? perm[d] : x->ndim - 1 - d;
        if (p[d] < 0 || p[d] >= x->ndim || seen[p[d]]++)
            return es_fail("bad perm");
        dims[d] = x->dims[p[d]];
    }
    int64_t lo[ES_MAX_DIMS] = {0}, step[ES_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        step[d] = 1;
    return gather_strided(out, x, dims, lo, step, p);
}

static int fold_constant(const Onnx__NodeProto *n, es_onnx_const *out)
{
    const Onnx__AttributeProto *a;
    if ((a = es_onnx_attr(n, "value")) && a->t)
        return es_onnx_tensor_read(a->t, NULL, out) == 0 ? 1 : -1;
    if ((a = es_onnx_attr(n, "value_float")) && a->has_f) {
        if (fold_alloc(out, 0, 0, NULL) != 0)
            return -1;
        out->f[0] = a->f;
    } else if ((a = es_onnx_attr(n, "value_int")) && a->has_i) {
        if (fold_alloc(out, 1, 0, NULL) != 0)
            return -1;
        out->i[0] = a->i;
    } else if ((a = es_onnx_attr(n, "value_floats"))) {
        int64_t len = (int64_t)a->n_floats;
        if (fold_alloc(out, 0, 1, &len) != 0)
            return -1;
        if (a->n_floats) /* an empty list has no array */
            memcpy(out->f, a->floats, a->n_floats * sizeof(float));
    } else if ((a = es_onnx_attr(n, "value_ints"))) {
        int64_t len = (int64_t)a->n_ints;
        if (fold_alloc(out, 1, 1, &len) != 0)
            return -1;
        if (a->n_ints)
            memcpy(out->i, a->ints, a->n_ints * sizeof(int64_t));
    } else {
        return es_fail("Constant without a value this importer reads");
    }
    return 1;
}

static int fold_shape_from(const es_onnx_const *s, int64_t *dims, int *ndim)
{
    if (s->ndim != 1 || s->n > ES_MAX_DIMS)
        return es_fail("shape input is not a short 1-D list");
    for (size_t k = 0; k < s->n; k++)
        if ((dims[k] = es_onnx_const_int(s, k)) < 0)
            return es_fail("negative dimension in a shape");
    *ndim = (int)s->n;
    return 0;
}

static int fold_expand(es_onnx_const *const *in, es_onnx_const *out)
{
    int64_t dims[ES_MAX_DIMS];
    int r;
    es_onnx_const shape = {0};
    if (fold_shape_from(in[1], shape.dims, &shape.ndim) != 0)
        return -1;
    es_onnx_const *pair[2] = {in[0], &shape};
    if (bcast_shape(pair, 2, dims, &r) != 0 || fold_alloc(out, in[0]->is_int, r, dims) != 0)
        return -1;
    for (size_t k = 0; k < out->n; k++) {
        put(out, k, in[0], bcast_offset(in[0], out, k));
    }
    return 1;
}

static int fold_range(es_onnx_const *const *in, es_onnx_const *out)
{
    double s = es_onnx_const_get(in[0], 0), l = es_onnx_const_get(in[1], 0), d = es_onnx_const_get(in[2], 0);
    if (d == 0 || in[0]->n != 1 || in[1]->n != 1 || in[2]->n != 1)
        return es_fail("bad Range");
    double cnt = ceil((l - s) / d);
    if (!(cnt <= FOLD_MAX_ELEMS)) /* checked as a double: a huge count is no int64 */
        return es_fail("Range of %.0f values", cnt);
    int64_t len = cnt > 0 ? (int64_t)cnt : 0;
    if (fold_alloc(out, in[0]->is_int, 1, &len) != 0)
        return -1;
    for (int64_t k = 0; k < len; k++)
        es_onnx_const_set(out, (size_t)k, s + (double)k * d);
    return 1;
}

int es_onnx_fold(const Onnx__NodeProto *n, int opset, es_onnx_const *const *in, int n_in,
              es_onnx_const *out)
{
    static const char *const unary[] = {"Identity", "Cast", "Neg", "Floor", "Ceil", "Sqrt", "Not"};
    static const char *const binary[] = {"Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater",
                                         "Max", "Min", "Pow"};
    int r = 0, known = 0;
    if (is_op(n, "Constant"))
        return fold_constant(n, &out[0]);
    for (int k = 0; k < n_in; k++) /* inputs the op requires must be there */
        if (!in[k] && k == 0)
            return es_fail("input 0 is missing");
    for (size_t k = 0; k < sizeof unary / sizeof *unary; k++)
        if (is_op(n, unary[k]))
            return fold_unary(n, in[0], &out[0]);
    for (size_t k = 0; k < sizeof binary / sizeof *binary; k++)
        known |= is_op(n, binary[k]);
    if (known)
        r = n_in == 2 && in[1] ? fold_binary(n, in, &out[0]) : es_fail("wants 2 inputs");
    else if (is_op(n, "Where"))
        r = n_in == 3 && in[1] && in[2] ? fold_where(in, &out[0]) : es_fail("wants 3 inputs");
    else if (is_op(n, "Reshape"))
        r = n_in >= 2 && in[1] ? fold_reshape(n, in, &out[0]) : es_fail("wants a shape");
    else if (is_op(n, "Unsqueeze") || is_op(n, "Squeeze"))
        r = fold_squeeze(n, in, n_in, &out[0]);
    else if (is_op(n, "Concat"))
        r = fold_concat(n, in, n_in, &out[0]);
    else if (is_op(n, "Gather"))
        r = n_in == 2 && in[1] ? fold_gather(n, in, &out[0]) : es_fail("wants 2 inputs");
    else if (is_op(n, "Slice"))
        r = fold_slice(n, opset, in, n_in, &out[0]);
    else if (is_op(n, "Transpose"))
        r = fold_transpose(n, in[0], &out[0]);
    else if (is_op(n, "Expand"))
        r = n_in == 2 && in[1] ? fold_expand(in, &out[0]) : es_fail("wants 2 inputs");
    else if (is_op(n, "Range"))
        r = n_in == 3 && in[1] && in[2] ? fold_range(in, &out[0]) : es_fail("wants 3 inputs");
    else if (is_op(n, "ConstantOfShape")) {
        int64_t dims[ES_MAX_DIMS];
        int nd = 0; /* set by fold_shape_from (GCC -O2 cannot tell) */
        const Onnx__AttributeProto *a = es_onnx_attr(n, "value");
        es_onnx_const v = {0};
        v.tensor = -1;
        if (fold_shape_from(in[0], dims, &nd) != 0 || (a && a->t && es_onnx_tensor_read(a->t, NULL, &v) != 0)) {
            es_onnx_const_clear(&v);
            return -1;
        }
        r = fold_alloc(out, a && a->t ? v.is_int : 0, nd, dims) == 0 ? 1 : -1;
        if (r == 1 && out->n > FOLD_MAX_ELEMS)
            r = es_fail("ConstantOfShape of %zu values", out->n);
        for (size_t k = 0; r == 1 && v.n > 0 && k < out->n; k++)
            es_onnx_const_set(out, k, es_onnx_const_get(&v, 0));
        es_onnx_const_clear(&v);
    } else if (is_op(n, "Size")) {
        if (fold_alloc(out, 1, 0, NULL) != 0)
            return -1;
        out->i[0] = (int64_t)in[0]->n;
        r = 1;
    } else { /* Shape is the importer's: its input is usually not a constant */
        return 0;
    }
    size_t biggest = 0; /* what only rearranges its input may be as large as it */
    for (int k = 0; k < n_in; k++)
        biggest = in[k] && in[k]->n > biggest ? in[k]->n : biggest;
    if (r == 1 && out->n > FOLD_MAX_ELEMS && out->n > biggest)
        return es_fail("folded constant of %zu values", out->n);
    return r;
}
