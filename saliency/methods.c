/* The attribution methods: one batched "scores and gradients" pass underneath all of them. */
#include "saliency/es_saliency.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[ES_SAL_COUNT] = {
    "grad", "input-x-grad", "deconvnet", "guided", "gradcam", "guided-gradcam",
    "ig", "smoothgrad", "smoothgrad-sq", "vargrad", "occlusion"};
static const char *const ig_names[] = {"gausslegendre", "riemann-trapezoid", "riemann-left",
                                       "riemann-right", "riemann-middle"};

int es_sal_method_find(const char *name)
{
    for (int i = 0; i < ES_SAL_COUNT; i++)
        if (strcmp(name, method_names[i]) == 0)
            return i;
    return -1;
}

const char *es_sal_method_name(es_sal_method m)
{
    return m >= 0 && m < ES_SAL_COUNT ? method_names[m] : "?";
}

int es_ig_rule_find(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(name, ig_names[i]) == 0)
            return i;
    return -1;
}

void es_sal_defaults(es_sal_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = ES_SAL_GRAD;
    o->target = -1, o->layer = -1;
    o->steps = 50, o->ig_rule = ES_IG_GAUSSLEGENDRE;
    o->samples = 25, o->sigma = 0.15f, o->seed = 0;
    o->window[0] = o->window[1] = 3, o->stride[0] = o->stride[1] = 1;
    o->batch = 16;
}

/* ---- graph queries ---------------------------------------------------------------------- */
static int first_input(const es_graph *g, int node)
{
    const int *in;
    es_node_inputs(g, node, &in);
    return in[0];
}

/* Ops that move no element in C order: the score row reads the same through them. */
static int keeps_order(const es_graph *g, int node)
{
    if (node < 0)
        return 0;
    es_op_type op = es_node_op(g, node);
    return op == ES_OP_RESHAPE || op == ES_OP_FLATTEN || op == ES_OP_SQUEEZE ||
           op == ES_OP_UNSQUEEZE || op == ES_OP_IDENTITY || op == ES_OP_DROPOUT;
}

static int squashes(const es_graph *g, int node)
{
    if (node < 0)
        return 0;
    es_op_type op = es_node_op(g, node);
    return op == ES_OP_SOFTMAX || op == ES_OP_SIGMOID || op == ES_OP_LOGSOFTMAX;
}

/* t, or what it is a Transpose of when that Transpose's perm undoes `after`'s (rank r);
 * -1 when it does not. */
static int undo_transpose(const es_graph *g, int t, const int *after, int r)
{
    int p[ES_MAX_DIMS], node = es_node_producing(g, t);
    if (node < 0 || es_node_perm(g, node, p) != r)
        return -1;
    for (int i = 0; i < r; i++)
        if (p[after[i]] != i)
            return -1;
    return first_input(g, node);
}

/* Older opsets cannot squash over an inner axis, so exporters wrap the squashing:
 * Transpose → LogSoftmax → Transpose (log_softmax over dim 1 of a 3-D tensor at opset 11),
 * Flatten / Reshape → Softmax → Reshape. Walking back through order-keeping ops and one
 * Transpose pair that cancels finds the same pre-squash tensor, element for element in the
 * output's order, as a newer opset's single node has. */
int es_sal_score_tensor(const es_graph *g)
{
    int out;
    if (es_graph_outputs(g, &out, 1) < 1)
        return -1;
    int t = out, perm[ES_MAX_DIMS], r = -1;
    while (keeps_order(g, es_node_producing(g, t)))
        t = first_input(g, es_node_producing(g, t));
    if (es_node_producing(g, t) >= 0 && (r = es_node_perm(g, es_node_producing(g, t), perm)) > 0)
        t = first_input(g, es_node_producing(g, t));
    if (!squashes(g, es_node_producing(g, t)))
        return out;
    t = first_input(g, es_node_producing(g, t));
    if (r > 0 && (t = undo_transpose(g, t, perm, r)) < 0)
        return out; /* the Transposes do not cancel: the output's order is not the scores' */
    /* of the same-order tensors before the squashing, the one shaped as the output */
    int dims[ES_MAX_DIMS], want[ES_MAX_DIMS], nw = es_tensor_shape(g, out, want);
    for (int u = t;; u = first_input(g, es_node_producing(g, u))) {
        if (es_tensor_shape(g, u, dims) == nw && memcmp(dims, want, nw * sizeof *dims) == 0)
            return u;
        if (!keeps_order(g, es_node_producing(g, u)))
            return t;
    }
}

static size_t spatial_size(const es_graph *g, int t, int *ndim)
{
    int d[ES_MAX_DIMS];
    *ndim = es_tensor_shape(g, t, d);
    size_t s = 1;
    for (int k = 2; k < *ndim; k++)
        s *= d[k];
    return s;
}

/* The axes besides the batch that hold more than one value. */
static int long_axes(const es_graph *g, int t)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(g, t, d), n = 0;
    for (int k = 1; k < nd; k++)
        n += d[k] > 1;
    return n;
}

static int computed(const es_graph *g, int t)
{
    es_tensor_kind k = es_tensor_kind_of(g, t);
    return k == ES_T_ACT || k == ES_T_INPUT;
}

/* A step after which a map no longer has its time / space axes: it runs a recurrence over
 * them (LSTM, GRU, RNN: known here by name), attends (a MatMul of two activations) or is a
 * Gemm (1), or it pools or flattens one away (global pooling, a mean over frequency, Flatten:
 * 2). Local pooling and strided convolutions keep every axis. 0: not such a step. */
static int ends_maps(const es_graph *g, int node)
{
    static const char *const recurrent[] = {"LSTM", "GRU", "RNN"};
    es_op_type op = es_node_op(g, node);
    const int *in, *out;
    int n_in = es_node_inputs(g, node, &in);
    es_node_outputs(g, node, &out);
    if (op == ES_OP_GEMM || (op == ES_OP_MATMUL && n_in == 2 && computed(g, in[0]) &&
                             computed(g, in[1])))
        return 1;
    for (size_t k = 0; k < sizeof recurrent / sizeof *recurrent; k++)
        if (strcmp(es_op_name(op), recurrent[k]) == 0)
            return 1;
    /* a convolution to one map (C → 1) drops no time / space axis, nor a reshape that keeps
     * the last two (ShuffleNet's channel shuffle: (N, g, C/g, H, W) back to (N, C, H, W)) */
    int di[ES_MAX_DIMS], dout[ES_MAX_DIMS], ni, no;
    if (op == ES_OP_RESHAPE && in[0] >= 0 && (ni = es_tensor_shape(g, in[0], di)) >= 3 &&
        (no = es_tensor_shape(g, out[0], dout)) >= 3 && di[ni - 1] == dout[no - 1] &&
        di[ni - 2] == dout[no - 2])
        return 0;
    return op != ES_OP_CONV && in[0] >= 0 && computed(g, in[0]) &&
                   long_axes(g, out[0]) < long_axes(g, in[0])
               ? 2
               : 0;
}

/* Whether the maps come back after node k, which pooled them away on its branch: a later node
 * on the way to the scores (before `last`) has k's input's time / space axes (its last two, or
 * last one) — k pooled a side branch (a squeeze-and-excitation gate) that is multiplied back
 * into the maps. */
static int maps_come_back(const es_graph *g, const char *on, int k, int last)
{
    const int *in, *out;
    int d[ES_MAX_DIMS], e[ES_MAX_DIMS];
    es_node_inputs(g, k, &in);
    int nd = es_tensor_shape(g, in[0], d), axes = nd >= 4 ? 2 : 1;
    for (int j = k + 1; nd >= 3 && j < last; j++) {
        if (!on[j])
            continue;
        es_node_outputs(g, j, &out);
        int ne = es_tensor_shape(g, out[0], e);
        if (ne == nd && memcmp(d + nd - axes, e + ne - axes, axes * sizeof *d) == 0)
            return 1;
    }
    return 0;
}

/* Copies, views and permutations of a map are not layers: Grad-CAM reads the map itself (a
 * Transpose before a recurrence has time where the channels were). */
static int is_layer_op(es_op_type op)
{
    return op != ES_OP_PAD && op != ES_OP_IDENTITY && op != ES_OP_DROPOUT && op != ES_OP_TRANSPOSE &&
           op != ES_OP_RESHAPE && op != ES_OP_FLATTEN && op != ES_OP_SQUEEZE &&
           op != ES_OP_UNSQUEEZE;
}

/* on[k]: node k is on the way from the input to tensor t (t's ancestors). */
static char *ancestors(const es_graph *g, int t)
{
    int nn = es_graph_n_nodes(g), *stack = malloc((es_graph_n_tensors(g) + 1) * sizeof *stack);
    char *on = calloc(nn ? nn : 1, 1), *seen = calloc(es_graph_n_tensors(g) + 1, 1);
    int sp = 0;
    if (stack && on && seen)
        stack[sp++] = t, seen[t] = 1;
    while (sp > 0) {
        int node = es_node_producing(g, stack[--sp]);
        if (node < 0 || on[node])
            continue;
        on[node] = 1;
        const int *in;
        for (int k = 0, n = es_node_inputs(g, node, &in); k < n; k++)
            if (in[k] >= 0 && !seen[in[k]])
                seen[in[k]] = 1, stack[sp++] = in[k];
    }
    if (!stack || !seen)
        free(on), on = NULL;
    free(stack), free(seen);
    return on;
}

/* The default layer, and in *stop the node that ends the maps (-1: none before the scores). */
static int default_layer(const es_graph *g, int *stop)
{
    int st = es_sal_score_tensor(g), best = -1;
    int last = st >= 0 ? es_node_producing(g, st) : -1;
    char *on = last >= 0 ? ancestors(g, st) : NULL;
    *stop = -1;
    for (int k = 0; on && k < last && *stop < 0; k++) {
        if (!on[k])
            continue;
        int end = ends_maps(g, k);
        if (end == 1 || (end == 2 && !maps_come_back(g, on, k, last))) {
            *stop = k;
            break;
        }
        const int *out;
        es_node_outputs(g, k, &out);
        int nd;
        size_t sp = spatial_size(g, out[0], &nd);
        if (nd >= 3 && nd <= 4 && sp > 1 && is_layer_op(es_node_op(g, k)))
            best = out[0];
    }
    free(on);
    return best;
}

int es_sal_default_layer(const es_graph *g)
{
    int stop;
    return default_layer(g, &stop);
}

int es_sal_default_layer_stop(const es_graph *g)
{
    int stop;
    default_layer(g, &stop);
    return stop;
}

int es_sal_layer_find(const es_graph *g, const char *name)
{
    int t = es_tensor_find(g, name);
    if (t >= 0 && es_tensor_kind_of(g, t) == ES_T_ACT)
        return t;
    for (int k = 0; k < es_graph_n_nodes(g); k++)
        if (strcmp(es_node_name(g, k), name) == 0) {
            const int *out;
            es_node_outputs(g, k, &out);
            return out[0];
        }
    return es_fail("no layer '%s' (a node or activation tensor name; see `earsight info`)", name);
}

/* ---- the one pass underneath ------------------------------------------------------------ */
typedef struct {
    es_graph *g;
    int input, st, batch0; /* the caller's batch size, restored at the end */
    int plan0, pin0;       /* the caller's memory plan and pin of st, restored at the end */
    size_t per;            /* input floats per sample */
    int chunk, classes;
    volatile int *cancel;  /* es_sal_opts's */
} pass;

static int pass_open(pass *p, es_graph *g, int input, int chunk)
{
    int d[ES_MAX_DIMS];
    memset(p, 0, sizeof *p);
    p->g = g, p->input = input, p->chunk = chunk > 0 ? chunk : 1;
    p->plan0 = p->pin0 = -1;
    if (es_tensor_shape(g, input, d) < 1)
        return es_fail("the input tensor has no batch dim");
    p->batch0 = d[0];
    if ((p->st = es_sal_score_tensor(g)) < 0)
        return es_fail("the model has no output");
    /* backward to the input only, and the scores read after every pass */
    p->plan0 = es_graph_plan(g, ES_GRAD_INPUTS), p->pin0 = es_graph_pin(g, p->st, 1);
    if (es_graph_set_batch(g, 1) != 0)
        return -1;
    p->per = es_tensor_size(g, input);
    p->classes = (int)es_tensor_size(g, p->st);
    /* a batch's arena stays within ES_SAL_BATCH_BYTES */
    size_t bytes = es_graph_bytes_per_sample(g, ES_GRAD_INPUTS);
    size_t fit = bytes ? ES_SAL_BATCH_BYTES / bytes : 1;
    if ((size_t)p->chunk > fit)
        p->chunk = fit > 1 ? (int)fit : 1;
    return 0;
}

static int pass_close(pass *p, int rc)
{
    if (p->pin0 == 0)
        es_graph_pin(p->g, p->st, 0);
    if (p->plan0 >= 0)
        es_graph_plan(p->g, p->plan0);
    if (es_graph_set_batch(p->g, p->batch0) != 0)
        return -1;
    return rc;
}

static int check_target(const pass *p, int target)
{
    if (target < 0 || target >= p->classes)
        return es_fail("target %d is out of range (the model scores %d classes)", target, p->classes);
    return 0;
}

/* n samples xs (n × per): the target's score of each into score (may be NULL) and, when
 * grad is not NULL, its gradient with `rule` into grad (n × per). Chunks of p->chunk rows;
 * a graph that cannot change its batch runs one row at a time. */
static int run(pass *p, const float *xs, int n, int target, es_relu_rule rule, float *score,
               float *grad)
{
    float *seed = NULL;
    int rc = 0;
    for (int i = 0; i < n && rc == 0;) {
        if (p->cancel && *p->cancel) {
            rc = es_fail("cancelled");
            break;
        }
        int b = n - i < p->chunk ? n - i : p->chunk;
        if (es_graph_set_batch(p->g, b) != 0) {
            if (b == 1 || es_graph_set_batch(p->g, b = 1) != 0)
                return -1;
            p->chunk = 1;
        }
        memcpy(es_tensor_data(p->g, p->input), xs + (size_t)i * p->per, b * p->per * sizeof(float));
        if ((rc = es_forward(p->g, ES_TEST)) != 0)
            break;
        const float *s = es_tensor_data(p->g, p->st);
        for (int r = 0; score && r < b; r++)
            score[i + r] = s[(size_t)r * p->classes + target];
        if (grad) {
            free(seed);
            if (!(seed = calloc((size_t)b * p->classes, sizeof *seed)))
                return es_fail("out of memory");
            for (int r = 0; r < b; r++)
                seed[(size_t)r * p->classes + target] = 1;
            if ((rc = es_backward(p->g, p->st, seed, rule, ES_GRAD_INPUTS)) != 0)
                break;
            const float *gx = es_tensor_grad(p->g, p->input);
            if (!gx) {
                rc = es_fail("the scores do not depend on the input");
                break;
            }
            memcpy(grad + (size_t)i * p->per, gx, b * p->per * sizeof(float));
        }
        i += b;
    }
    free(seed);
    return rc;
}

/* A seed of b rows that picks each row's target score. */
static float *target_seed(const pass *p, const int *targets, int b)
{
    float *seed = calloc((size_t)b * p->classes, sizeof *seed);
    if (!seed)
        return es_fail("out of memory"), NULL;
    for (int r = 0; r < b; r++)
        seed[(size_t)r * p->classes + targets[r]] = 1;
    return seed;
}

/* The gradients for the b rows already forwarded (row r of targets[r]) with `rule` into grad
 * (b × per): no second forward pass. */
static int backward_rows(pass *p, const int *targets, int b, es_relu_rule rule, float *grad)
{
    float *seed = target_seed(p, targets, b);
    if (!seed)
        return -1;
    int rc = es_backward(p->g, p->st, seed, rule, ES_GRAD_INPUTS);
    free(seed);
    const float *gx = rc == 0 ? es_tensor_grad(p->g, p->input) : NULL;
    if (rc == 0 && !gx)
        return es_fail("the scores do not depend on the input");
    if (gx)
        memcpy(grad, gx, (size_t)b * p->per * sizeof(float));
    return rc;
}

/* ---- Grad-CAM ----------------------------------------------------------------------------- */
/* The layer's true gradient for the b rows already forwarded: the backward pass stops at the
 * layer instead of going down to the input (half the work on a DenseNet). */
static int backward_to_layer(pass *p, const int *targets, int b, int layer)
{
    float *seed = target_seed(p, targets, b);
    if (!seed)
        return -1;
    es_graph_want_grad(p->g, layer, 1);
    int rc = es_backward(p->g, p->st, seed, ES_RELU_STANDARD, 0);
    es_graph_want_grad(p->g, layer, 0);
    free(seed);
    return rc;
}

void es_sal_resize(const float *src, int h, int w, float *dst, int oh, int ow, int bilinear)
{
    float sh = (float)h / oh, sw = (float)w / ow; /* torch: scale = in / out */
    for (int y = 0; y < oh; y++) {
        float fy = bilinear ? fmaxf((y + 0.5f) * sh - 0.5f, 0) : floorf(y * sh);
        int y0 = (int)fy < h - 1 ? (int)fy : h - 1, y1 = y0 + (y0 < h - 1);
        float ly = bilinear ? fy - y0 : 0;
        for (int x = 0; x < ow; x++) {
            float fx = bilinear ? fmaxf((x + 0.5f) * sw - 0.5f, 0) : floorf(x * sw);
            int x0 = (int)fx < w - 1 ? (int)fx : w - 1, x1 = x0 + (x0 < w - 1);
            float lx = bilinear ? fx - x0 : 0;
            const float *r0 = src + (size_t)y0 * w, *r1 = src + (size_t)y1 * w;
            dst[(size_t)y * ow + x] = (1 - ly) * ((1 - lx) * r0[x0] + lx * r0[x1]) +
                                      ly * ((1 - lx) * r1[x0] + lx * r1[x1]);
        }
    }
}

/* The axis of the input that a 1-D layer's (N, C, L) axis L came from, followed back through
 * the ops on its first inputs: a Transpose moves it (perm), a Reshape / Flatten / Squeeze /
 * Unsqueeze keeps its place in C order (its stride within the sample), an op of the same rank
 * keeps it. -1 when the way back loses it (a MatMul over it, a reshape that mixes it). */
static int map_axis(const es_graph *g, int layer, int input)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(g, layer, d);
    int a = nd - 1, len = d[a], t = layer;
    size_t sub = 1; /* the tracked axis is `len` steps of `sub` within axis a */
    while (t != input) {
        int node = es_node_producing(g, t), p[ES_MAX_DIMS], e[ES_MAX_DIMS];
        if (node < 0)
            return -1;
        int from = first_input(g, node), ne = es_tensor_shape(g, from, e);
        es_op_type op = es_node_op(g, node);
        if (es_node_perm(g, node, p) == nd) {
            a = p[a];
        } else if (keeps_order(g, node)) {
            size_t stride = sub; /* the tracked steps' stride in the sample, then in `from` */
            for (int k = a + 1; k < nd; k++)
                stride *= d[k];
            size_t inner = 1;
            a = -1;
            for (int k = ne - 1; k >= 1 && a < 0; inner *= e[k--])
                if (stride >= inner && stride % inner == 0 && stride / inner * len <= (size_t)e[k])
                    a = k, sub = stride / inner;
            if (a < 0)
                return -1;
        } else if (ne != nd || op == ES_OP_MATMUL || op == ES_OP_GEMM) {
            return -1;
        } else if (e[a] != d[a]) { /* pooled or strided along it: the whole axis, resized */
            if (sub != 1 || len != d[a])
                return -1;
            len = e[a];
        }
        t = from, nd = es_tensor_shape(g, t, d);
    }
    return sub == 1 && len == d[a] ? a : -1;
}

/* Grad-CAM at `layer` for the b rows already forwarded and back-propagated (standard rule),
 * each upsampled to the input sample's last two dims (a 2-D layer) or to the input axis a
 * 1-D layer's axis came from (the last when that is lost), and repeated over the others. */
static int gradcam(pass *p, int layer, int b, int bilinear, float *out)
{
    int ld[ES_MAX_DIMS], xd[ES_MAX_DIMS];
    int lnd = es_tensor_shape(p->g, layer, ld), xnd = es_tensor_shape(p->g, p->input, xd);
    const float *A = es_tensor_data(p->g, layer), *G = es_tensor_grad(p->g, layer);
    if (lnd < 3 || lnd > 4)
        return es_fail("layer %s has shape rank %d; Grad-CAM needs (N, C, L) or (N, C, H, W)",
                       es_tensor_name(p->g, layer), lnd);
    if (!G)
        return es_fail("layer %s does not lead to the scores", es_tensor_name(p->g, layer));
    if (!A)
        return -1;
    int k = lnd - 2;
    if (xnd - 1 < k)
        return es_fail("layer %s has %d spatial dims, the input only %d",
                       es_tensor_name(p->g, layer), k, xnd - 1);
    int ax = k == 1 ? map_axis(p->g, layer, p->input) : -1;
    ax = ax >= 1 ? ax : xnd - 1;
    int C = ld[1], h = k == 2 ? ld[2] : 1, w = ld[lnd - 1];
    int oh = k == 2 ? xd[xnd - 2] : 1, ow = k == 2 ? xd[xnd - 1] : xd[ax];
    size_t hw = (size_t)h * w, plane = (size_t)oh * ow, inner = 1; /* inner: below ax */
    for (int i = ax + 1; k == 1 && i < xnd; i++)
        inner *= xd[i];
    float *cam = malloc(hw * sizeof *cam), *up = malloc(plane * sizeof *up);
    if (!cam || !up) {
        free(cam), free(up);
        return es_fail("out of memory");
    }
    for (int r = 0; r < b; r++) {
        const float *Ar = A + (size_t)r * C * hw, *Gr = G + (size_t)r * C * hw;
        memset(cam, 0, hw * sizeof *cam);
        for (int c = 0; c < C; c++) {
            double m = 0;
            for (size_t i = 0; i < hw; i++)
                m += Gr[c * hw + i];
            float wc = (float)(m / hw);
            for (size_t i = 0; i < hw; i++)
                cam[i] += wc * Ar[c * hw + i];
        }
        for (size_t i = 0; i < hw; i++)
            cam[i] = cam[i] > 0 ? cam[i] : 0;
        es_sal_resize(cam, h, w, up, oh, ow, bilinear);
        for (size_t i = 0; i < p->per; i++)
            out[(size_t)r * p->per + i] = up[i / inner % plane];
    }
    free(cam), free(up);
    return 0;
}

/* ---- integrated gradients ----------------------------------------------------------------- */
/* Gauss–Legendre nodes on [-1, 1] by Newton's method on P_n (numpy's leggauss). */
static void leggauss(int n, double *x, double *w)
{
    for (int i = 0; i < n; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), pp = 1;
        for (int it = 0; it < 100; it++) {
            double p1 = 1, p2 = 0;
            for (int j = 1; j <= n; j++) {
                double p3 = p2;
                p2 = p1;
                p1 = ((2.0 * j - 1) * z * p2 - (j - 1.0) * p3) / j;
            }
            pp = n * (z * p1 - p2) / (z * z - 1);
            double dz = p1 / pp;
            z -= dz;
            if (fabs(dz) < 1e-15)
                break;
        }
        x[n - 1 - i] = z; /* ascending */
        w[n - 1 - i] = 2 / ((1 - z * z) * pp * pp);
    }
}

/* Captum's approximation_methods: alphas in [0,1] and their step sizes. */
static void ig_points(es_ig_rule rule, int n, double *a, double *w)
{
    if (rule == ES_IG_GAUSSLEGENDRE) {
        leggauss(n, a, w);
        for (int i = 0; i < n; i++)
            a[i] = 0.5 * (a[i] + 1), w[i] *= 0.5;
        return;
    }
    for (int i = 0; i < n; i++) {
        w[i] = 1.0 / n;
        switch (rule) {
        case ES_IG_TRAPEZOID: a[i] = n > 1 ? (double)i / (n - 1) : 0; break;
        case ES_IG_LEFT: a[i] = (double)i / n; break;
        case ES_IG_RIGHT: a[i] = (double)(i + 1) / n; break;
        default: a[i] = (i + 0.5) / n; break;
        }
    }
    if (rule == ES_IG_TRAPEZOID && n > 1)
        for (int i = 0; i < n; i++)
            w[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);
}

static int integrated_gradients(pass *p, const float *x, const es_sal_opts *o, int target,
                                float *out, es_sal_info *info)
{
    int n = o->steps;
    if (n < 1 || (o->ig_rule == ES_IG_TRAPEZOID && n < 2))
        return es_fail("steps %d: integrated gradients need at least %d", n,
                       o->ig_rule == ES_IG_TRAPEZOID ? 2 : 1);
    if (o->baseline == ES_BASE_ARRAY && !o->baseline_data)
        return es_fail("no baseline array given");
    /* xs holds the n path points, and afterwards the input and the baseline: two rows at least */
    size_t rows = n < 2 ? 2 : (size_t)n;
    double *a = malloc(n * sizeof *a), *w = malloc(n * sizeof *w);
    float *base = malloc(p->per * sizeof *base), *xs = malloc(rows * p->per * sizeof *xs);
    float *gr = malloc(n * p->per * sizeof *gr);
    int rc = -1;
    if (!a || !w || !base || !xs || !gr) {
        es_fail("out of memory");
        goto done;
    }
    float mn = FLT_MAX;
    for (size_t i = 0; i < p->per; i++)
        mn = x[i] < mn ? x[i] : mn;
    for (size_t i = 0; i < p->per; i++)
        base[i] = o->baseline == ES_BASE_ARRAY ? o->baseline_data[i]
                  : o->baseline == ES_BASE_MIN ? mn : 0;
    ig_points(o->ig_rule, n, a, w);
    for (int s = 0; s < n; s++)
        for (size_t i = 0; i < p->per; i++)
            xs[s * p->per + i] = base[i] + (float)a[s] * (x[i] - base[i]);
    if (run(p, xs, n, target, ES_RELU_STANDARD, NULL, gr) != 0)
        goto done;
    double total = 0;
    for (size_t i = 0; i < p->per; i++) {
        double acc = 0;
        for (int s = 0; s < n; s++)
            acc += w[s] * gr[s * p->per + i];
        out[i] = (float)(acc * (x[i] - base[i]));
        total += out[i];
    }
    if (info) {
        memcpy(xs, x, p->per * sizeof *xs);
        memcpy(xs + p->per, base, p->per * sizeof *xs);
        float sc[2];
        if (run(p, xs, 2, target, ES_RELU_STANDARD, sc, NULL) != 0)
            goto done;
        info->base_score = sc[1];
        info->delta = (float)(total - ((double)sc[0] - sc[1]));
    }
    rc = 0;
done:
    free(a), free(w), free(base), free(xs), free(gr);
    return rc;
}

/* ---- SmoothGrad ------------------------------------------------------------------------- */
void es_sal_noise(uint64_t seed, float *z, size_t n)
{
    es_rng r = {seed};
    es_rng_normal(&r, z, n);
}

static int smoothgrad(pass *p, const float *x, const es_sal_opts *o, int target, float *out)
{
    int n = o->samples;
    if (n < 1)
        return es_fail("samples %d: SmoothGrad needs at least 1", n);
    float *xs = malloc(n * p->per * sizeof *xs), *gr = malloc(n * p->per * sizeof *gr);
    if (!xs || !gr) {
        free(xs), free(gr);
        return es_fail("out of memory");
    }
    float mn = FLT_MAX, mx = -FLT_MAX;
    for (size_t i = 0; i < p->per; i++)
        mn = x[i] < mn ? x[i] : mn, mx = x[i] > mx ? x[i] : mx;
    float sd = o->sigma * (mx - mn);
    es_sal_noise(o->seed, xs, n * p->per);
    for (int s = 0; s < n; s++)
        for (size_t i = 0; i < p->per; i++)
            xs[s * p->per + i] = x[i] + sd * xs[s * p->per + i];
    int rc = run(p, xs, n, target, ES_RELU_STANDARD, NULL, gr);
    for (size_t i = 0; rc == 0 && i < p->per; i++) {
        double m = 0, m2 = 0;
        for (int s = 0; s < n; s++) {
            double v = gr[s * p->per + i];
            m += v, m2 += v * v;
        }
        m /= n, m2 /= n;
        out[i] = (float)(o->method == ES_SAL_SMOOTHGRAD ? m : o->method == ES_SAL_SMOOTHGRAD_SQ ? m2 : m2 - m * m);
    }
    free(xs), free(gr);
    return rc;
}

/* ---- occlusion ------------------------------------------------------------------------------ */
/* Captum's Occlusion with a window spanning every leading dim: each window position costs one
 * forward; each element gets the mean score drop of the windows that cover it (0 if none). */
static int occlusion(pass *p, const float *x, const es_sal_opts *o, int target, float *out)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(p->g, p->input, d) - 1, *sd = d + 1;
    int H = nd >= 2 ? sd[nd - 2] : 1, W = nd >= 1 ? sd[nd - 1] : 1;
    int wh = nd >= 2 ? o->window[0] : 1, ww = o->window[1], sh = nd >= 2 ? o->stride[0] : 1,
        sw = o->stride[1]; /* a 1-D sample slides the W of HxW */
    if (wh < 1 || ww < 1 || sh < 1 || sw < 1 || wh > H || ww > W)
        return es_fail("occlusion window %dx%d (stride %dx%d) does not fit the input's %dx%d",
                       wh, ww, sh, sw, H, W);
    int ny = (H - wh) / sh + 1, nx = (W - ww) / sw + 1, n = ny * nx;
    size_t plane = (size_t)H * W, planes = p->per / plane;
    float *xs = malloc(((size_t)p->chunk + 1) * p->per * sizeof *xs), *sc = malloc((n + 1) * sizeof *sc);
    float *cnt = calloc(p->per, sizeof *cnt);
    int rc = -1;
    if (!xs || !sc || !cnt) {
        es_fail("out of memory");
        goto done;
    }
    if (run(p, x, 1, target, ES_RELU_STANDARD, sc + n, NULL) != 0)
        goto done;
    for (int i0 = 0; i0 < n; i0 += p->chunk) {
        int b = n - i0 < p->chunk ? n - i0 : p->chunk;
        for (int r = 0; r < b; r++) {
            int y0 = (i0 + r) / nx * sh, x0 = (i0 + r) % nx * sw;
            float *xr = xs + (size_t)r * p->per;
            memcpy(xr, x, p->per * sizeof *xr);
            for (size_t c = 0; c < planes; c++)
                for (int y = y0; y < y0 + wh; y++)
                    for (int xx = x0; xx < x0 + ww; xx++)
                        xr[c * plane + (size_t)y * W + xx] = o->occ_value;
        }
        if (run(p, xs, b, target, ES_RELU_STANDARD, sc + i0, NULL) != 0)
            goto done;
    }
    memset(out, 0, p->per * sizeof *out);
    for (int i = 0; i < n; i++) {
        int y0 = i / nx * sh, x0 = i % nx * sw;
        float diff = sc[n] - sc[i];
        for (int y = y0; y < y0 + wh; y++)
            for (int xx = x0; xx < x0 + ww; xx++)
                out[(size_t)y * W + xx] += diff, cnt[(size_t)y * W + xx] += 1;
    }
    for (size_t i = 0; i < plane; i++)
        out[i] = cnt[i] > 0 ? out[i] / cnt[i] : 0;
    for (size_t c = 1; c < planes; c++)
        memcpy(out + c * plane, out, plane * sizeof *out);
    rc = 0;
done:
    free(xs), free(sc), free(cnt);
    return rc;
}

/* ---- the entry points ------------------------------------------------------------------------ */
int es_sal_scores(es_graph *g, int input, const float *x, float *scores, int max, int *n)
{
    pass p;
    if (pass_open(&p, g, input, 1) != 0)
        return -1;
    memcpy(es_tensor_data(g, input), x, p.per * sizeof(float));
    int rc = es_forward(g, ES_TEST);
    if (rc == 0) {
        *n = p.classes;
        memcpy(scores, es_tensor_data(g, p.st), (p.classes < max ? p.classes : max) * sizeof(float));
    }
    return pass_close(&p, rc);
}

int es_sal_single_pass(es_sal_method m)
{
    return m == ES_SAL_GRAD || m == ES_SAL_INPUT_X_GRAD || m == ES_SAL_DECONVNET ||
           m == ES_SAL_GUIDED || m == ES_SAL_GRADCAM || m == ES_SAL_GUIDED_GRADCAM;
}

/* Each of the b rows already forwarded: its target (o->target, or its best class) and score
 * into info[r]. */
static int row_targets(const pass *p, int b, const es_sal_opts *o, int *targets, es_sal_info *info)
{
    const float *s = es_tensor_data(p->g, p->st);
    for (int r = 0; r < b; r++, s += p->classes) {
        int t = o->target;
        if (t < 0) /* the predicted class */
            for (int c = t = 0; c < p->classes; c++)
                t = s[c] > s[t] ? c : t;
        if (check_target(p, t) != 0)
            return -1;
        targets[r] = t, info[r].target = t, info[r].score = s[t];
    }
    return 0;
}

/* A single-pass method (es_sal_single_pass) for the b rows xs already forwarded: backward
 * passes only. */
static int explain_rows(pass *p, const float *xs, int b, const es_sal_opts *o, const int *targets,
                        float *out)
{
    static const es_relu_rule rule[ES_SAL_COUNT] = {
        [ES_SAL_DECONVNET] = ES_RELU_DECONVNET, [ES_SAL_GUIDED] = ES_RELU_GUIDED};
    size_t n = (size_t)b * p->per;
    if (o->method != ES_SAL_GRADCAM && o->method != ES_SAL_GUIDED_GRADCAM) {
        if (backward_rows(p, targets, b, rule[o->method], out) != 0)
            return -1;
        for (size_t i = 0; o->method == ES_SAL_INPUT_X_GRAD && i < n; i++)
            out[i] *= xs[i];
        return 0;
    }
    int layer = o->layer >= 0 ? o->layer : es_sal_default_layer(p->g);
    if (layer < 0)
        return es_fail("the model has no spatial layer for Grad-CAM (name a layer)");
    float *gb = NULL;
    if (o->method == ES_SAL_GUIDED_GRADCAM) {
        if (!(gb = malloc(n * sizeof *gb)))
            return es_fail("out of memory");
        if (backward_rows(p, targets, b, ES_RELU_GUIDED, gb) != 0) {
            free(gb);
            return -1;
        }
    }
    int rc = backward_to_layer(p, targets, b, layer);
    if (rc == 0)
        rc = gradcam(p, layer, b, o->bilinear, out);
    for (size_t i = 0; rc == 0 && gb && i < n; i++)
        out[i] *= gb[i];
    free(gb);
    return rc;
}

static int explain(pass *p, const float *x, const es_sal_opts *o, float *out, es_sal_info *info)
{
    memcpy(es_tensor_data(p->g, p->input), x, p->per * sizeof(float));
    int target;
    if (es_forward(p->g, ES_TEST) != 0 || row_targets(p, 1, o, &target, info) != 0)
        return -1;
    switch (o->method) {
    case ES_SAL_IG: return integrated_gradients(p, x, o, target, out, info);
    case ES_SAL_SMOOTHGRAD: case ES_SAL_SMOOTHGRAD_SQ: case ES_SAL_VARGRAD:
        return smoothgrad(p, x, o, target, out);
    case ES_SAL_OCCLUSION: return occlusion(p, x, o, target, out);
    default:
        return es_sal_single_pass(o->method) ? explain_rows(p, x, 1, o, &target, out)
                                             : es_fail("unknown method %d", (int)o->method);
    }
}

int es_saliency(es_graph *g, int input, const float *x, const es_sal_opts *o, float *out,
                es_sal_info *info)
{
    es_sal_info tmp;
    pass p;
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    if (pass_open(&p, g, input, o->batch) != 0)
        return -1;
    /* Grad-CAM reads its layer after the backward pass: keep it */
    int cam = o->method == ES_SAL_GRADCAM || o->method == ES_SAL_GUIDED_GRADCAM;
    int layer = cam ? (o->layer >= 0 ? o->layer : es_sal_default_layer(g)) : -1;
    p.cancel = o->cancel;
    int pinned = layer >= 0 ? es_graph_pin(g, layer, 1) : 1;
    int rc = explain(&p, x, o, out, info);
    if (pinned == 0)
        es_graph_pin(g, layer, 0);
    return pass_close(&p, rc);
}

int es_saliency_forwarded(es_graph *g, int input, const float *xs, int n, const es_sal_opts *o,
                          float *out, es_sal_info *info)
{
    int d[ES_MAX_DIMS];
    pass p = {.g = g, .input = input, .st = es_sal_score_tensor(g)};
    if (!es_sal_single_pass(o->method))
        return es_fail("%s needs forward passes of its own", es_sal_method_name(o->method));
    if (es_tensor_shape(g, input, d) < 1 || d[0] != n || !es_graph_forward_id(g))
        return es_fail("the graph holds no forward pass of these %d rows", n);
    if (p.st < 0)
        return es_fail("the model has no output");
    p.per = es_tensor_size(g, input) / n, p.classes = (int)(es_tensor_size(g, p.st) / n);
    int *targets = malloc((size_t)n * sizeof *targets);
    if (!targets)
        return es_fail("out of memory");
    int rc = row_targets(&p, n, o, targets, info) != 0 ? -1 : explain_rows(&p, xs, n, o, targets, out);
    free(targets);
    return rc;
}
