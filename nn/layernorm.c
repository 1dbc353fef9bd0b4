/* LayerNormalization (opset 17) and InstanceNormalization: each row of x — the dims from
 * `axis` on, D values — becomes (x − mean) / √(var + ε) · scale + bias, scale and bias of that
 * row shape (D values). Mean and variance in double; forward keeps each row's mean and 1/σ in aux, so backward reads x
 * and the scale (nn/plan.c) and recomputes x̂. The decomposed opset-11/13 form (ReduceMean,
 * Sub, Pow, Sqrt, Div) imports as those ops. InstanceNormalization's rows are (n, c) over
 * the spatial dims (axis 2 on), its scale and bias one value per channel. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <math.h>

/* Rows and their length for node nd's input; -1 rows when the axis is out of range. */
static long rows_of(const es_tensor *x, int axis, size_t *d)
{
    int ax = axis < 0 ? axis + x->ndim : axis;
    if (ax < 0 || ax >= x->ndim)
        return -1;
    *d = 1;
    for (int i = ax; i < x->ndim; i++)
        *d *= (size_t)x->dims[i];
    return *d ? (long)(x->size / *d) : 0;
}

/* Row r's scale and bias: LayerNorm's are the row's shape (a stride of 1 along it), an
 * InstanceNorm row (n, c) has its channel's one value (stride 0). */
typedef struct {
    const float *s, *b; /* at the row's first element */
    size_t step;        /* 1 or 0 */
} affine;

static affine row_affine(const es_graph *g, const es_node *nd, long r)
{
    const es_tensor *x = &g->t[nd->in[0]];
    const es_tensor *bt = nd->n_in > 2 && nd->in[2] >= 0 ? &g->t[nd->in[2]] : NULL;
    const float *s = g->t[nd->in[1]].data, *b = bt ? bt->data : NULL;
    if (nd->op == ES_OP_LAYERNORM)
        return (affine){s, b, 1};
    long c = r % x->dims[1];
    return (affine){s + c, b ? b + c : NULL, 0};
}

static int norm_shape(es_graph *g, es_node *nd, size_t want)
{
    es_tensor *x = in_t(g, nd, 0), *s = in_t(g, nd, 1), *b = in_t(g, nd, 2);
    size_t d;
    long rows = rows_of(x, nd->a.ln.axis, &d);
    if (rows < 0)
        return es_node_fail(nd, "axis %d is out of range for a rank-%d input", nd->a.ln.axis, x->ndim);
    want = want ? want : d;
    if (s->size != want || (b && b->size != want))
        return es_node_fail(nd, "scale and bias must have %zu values", want);
    nd->aux_bytes = 2 * (size_t)rows * sizeof(float);
    es_set_shape(out_t(g, nd, 0), x->ndim, x->dims);
    return 0;
}

int es_layernorm_shape(es_graph *g, es_node *nd) { return norm_shape(g, nd, 0); }

void es_layernorm_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0);
    float *y = out_t(g, nd, 0)->data, *stat = nd->aux, eps = nd->a.ln.epsilon;
    size_t d;
    long rows = rows_of(x, nd->a.ln.axis, &d);
#pragma omp parallel for schedule(static) if (x->size > 65536)
    for (long r = 0; r < rows; r++) {
        const float *xr = x->data + r * d;
        affine a = row_affine(g, nd, r);
        double mean = 0, var = 0;
        for (size_t i = 0; i < d; i++)
            mean += xr[i];
        mean /= (double)d;
        for (size_t i = 0; i < d; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        double inv = 1.0 / sqrt(var / (double)d + eps);
        for (size_t i = 0; i < d; i++)
            y[r * d + i] = (float)((xr[i] - mean) * inv * a.s[i * a.step] + (a.b ? a.b[i * a.step] : 0.0));
        stat[2 * r] = (float)mean, stat[2 * r + 1] = (float)inv;
    }
}

/* dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = dy·scale; dscale = Σ dy·x̂, dbias = Σ dy
 * over the rows (and over the row too, for InstanceNorm's one value per row). */
void es_layernorm_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_tensor *x = in_t(g, nd, 0), *st = in_t(g, nd, 1), *bt = in_t(g, nd, 2);
    const float *dy = out_t(g, nd, 0)->grad, *stat = nd->aux;
    float *dx = wants_grad(g, nd, 0, p) ? x->grad : NULL;
    float *ds = wants_grad(g, nd, 1, p) ? st->grad : NULL, *db = wants_grad(g, nd, 2, p) ? bt->grad : NULL;
    size_t d;
    long rows = rows_of(x, nd->a.ln.axis, &d);
    for (long r = 0; r < rows; r++) {
        const float *xr = x->data + r * d, *dyr = dy + r * d;
        affine a = row_affine(g, nd, r);
        size_t off = (size_t)(a.s - st->data); /* the row's first scale / bias value */
        double mean = stat[2 * r], inv = stat[2 * r + 1], sg = 0, sgx = 0, sx = 0, sb = 0;
        for (size_t i = 0; i < d; i++) {
            double xh = (xr[i] - mean) * inv, gi = (double)dyr[i] * a.s[i * a.step];
            sg += gi, sgx += gi * xh;
            if (a.step) {
                if (ds)
                    ds[i] += (float)(dyr[i] * xh);
                if (db)
                    db[i] += dyr[i];
            } else {
                sx += dyr[i] * xh, sb += dyr[i];
            }
        }
        if (!a.step && ds)
            ds[off] += (float)sx;
        if (!a.step && db)
            db[off] += (float)sb;
        for (size_t i = 0; dx && i < d; i++) {
            double xh = (xr[i] - mean) * inv;
            dx[r * d + i] += (float)(inv * ((double)dyr[i] * a.s[i * a.step] - sg / d - xh * sgx / d));
        }
    }
}

/* InstanceNormalization: rows (n, c) over the spatial dims, scale and bias per channel. */
int es_instancenorm_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0);
    if (x->ndim < 3 || !in_t(g, nd, 2))
        return es_node_fail(nd, "wants an (N, C, …) input, a scale and a bias");
    return norm_shape(g, nd, (size_t)x->dims[1]);
}

void es_instancenorm_forward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_layernorm_forward(g, nd, p);
}

void es_instancenorm_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    es_layernorm_backward(g, nd, p);
}

/* ---- LayerNormalization's row: attributes, ONNX, init ------------------------------------- */
const es_attrs es_layernorm_defaults = {.ln = {.axis = -1, .epsilon = 1e-5f}}; /* ONNX's */

int es_layernorm_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[3];
    es_attrs a = es_layernorm_defaults;
    a.ln.axis = (int)es_onnx_attr_int(nd, "axis", -1);
    a.ln.epsilon = es_onnx_attr_float(nd, "epsilon", 1e-5f);
    if (!(a.ln.epsilon >= 0))
        return es_import_fail(nd, "a negative or NaN epsilon", NULL);
    for (size_t k = 1; k < nd->n_output; k++)
        if (nd->output[k] && *nd->output[k])
            return es_import_fail(nd, "the Mean and InvStdDev outputs are not supported", NULL);
    int n = es_import_xwb(m, nd, in, "no scale");
    return n < 0 ? -1 : es_import_add(m, nd, NULL, op, &a, n, in, es_import_out(nd));
}

int es_layernorm_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_int(x, "axis", n->a.ln.axis);
    es_export_float(x, "epsilon", n->a.ln.epsilon);
    return 0;
}

const es_attrs es_instancenorm_defaults = {.ln = {.axis = 2, .epsilon = 1e-5f}}; /* ONNX's */

int es_instancenorm_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int in[3];
    es_attrs a = es_instancenorm_defaults;
    a.ln.epsilon = es_onnx_attr_float(nd, "epsilon", 1e-5f);
    if (!(a.ln.epsilon >= 0))
        return es_import_fail(nd, "a negative or NaN epsilon", NULL);
    int n = es_import_xwb(m, nd, in, "no scale");
    if (n != 3)
        return n < 0 ? -1 : es_import_fail(nd, "no bias", NULL);
    return es_import_add(m, nd, NULL, op, &a, 3, in, es_import_out(nd));
}

int es_instancenorm_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_float(x, "epsilon", n->a.ln.epsilon);
    return 0;
}

/* PyTorch's nn.LayerNorm and nn.InstanceNorm (affine) start as the identity: scale 1, bias 0. */
void es_layernorm_init(es_graph *g, es_node *n, es_init kind)
{
    for (int k = 1; k < n->n_in; k++) {
        es_tensor *t = in_t(g, n, k);
        for (size_t i = 0; t && t->kind == ES_T_PARAM && i < t->size; i++)
            t->data[i] = k == 1 ? 1.0f : 0.0f;
    }
}
