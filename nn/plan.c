/* The memory plan: every activation, activation gradient and op workspace is a buffer with a
 * lifetime on one timeline — forward of node i is step i, backward of node i is step
 * 2·nn−1−i — and all of them share one arena at offsets fixed before the pass. Two buffers
 * may share memory when their lifetimes do not meet, so a dead activation's memory is reused
 * at once. The lifetimes say what each pass keeps:
 * - an activation lives from its producer to its last forward reader, or to the end when a
 *   backward pass will read it (what the op's backward reads: backward_reads below), when it
 *   is a graph output, or when the caller pinned it;
 * - a gradient lives from the backward step of its last reader (the first to add into it) to
 *   that of its producer (the last to read it); inputs, parameters, wanted tensors and the
 *   tensor backward starts from keep their gradients in their own buffers (graph.c);
 * - a workspace lives for its node's step only.
 * Views (Flatten, Reshape, Squeeze, Unsqueeze, Identity) take no buffer: their output is their
 * input's memory, which then lives as long as either is needed. The inputs of a one-sample
 * Concat take none either: each is its slice of the Concat's output (share() below).
 * Offsets: largest buffer first, each at the lowest offset clear of every buffer placed so far
 * whose lifetime meets its own (a greedy first fit, as TensorFlow Lite's arena planner does).
 * The plan also reports the lower bound no placement can beat: the most bytes live at one
 * step. */
#include "nn/graph.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16 /* floats: each buffer starts on a 64-byte line */

enum { DATA, GRAD, WS_FWD, WS_BWD };
typedef struct {
    int kind, id;   /* what the buffer is for: kind's tensor or node id */
    int start, end; /* steps, both included */
    size_t size, off; /* floats */
} buffer;

static int is_view(es_op_type op)
{
    return op == ES_OP_FLATTEN || op == ES_OP_RESHAPE || op == ES_OP_SQUEEZE ||
           op == ES_OP_UNSQUEEZE || op == ES_OP_IDENTITY;
}

/* Whether node n's backward reads the data of its input k (k >= 0) or of its output (k < 0),
 * as the op files' backward functions do; `params`: parameter gradients are computed too.
 * An op not named here keeps everything (safe, and true of Gemm, MatMul, Mul, Div). */
static int backward_reads(const es_node *n, int k, es_mode mode, int params)
{
    switch (n->op) {
    case ES_OP_CONV: case ES_OP_CONVTRANSPOSE: /* dX needs W only; dW needs X */
        return k == 1 || (k == 0 && params);
    case ES_OP_BATCHNORM: /* TEST without parameter gradients: dx = γ/σ·dy */
        return k > 0 || (k == 0 && (mode == ES_TRAIN || params));
    case ES_OP_LEAKYRELU: /* (Relu keeps a bit mask in its aux) */
        return k == 0;
    case ES_OP_SIGMOID: case ES_OP_SOFTMAX: case ES_OP_LOGSOFTMAX:
        return k < 0;
    case ES_OP_TANH: case ES_OP_ERF: case ES_OP_SQRT: case ES_OP_EXP: case ES_OP_HARDSIGMOID:
    case ES_OP_HARDSWISH: case ES_OP_POW: /* f'(x) */
        return k == 0;
    case ES_OP_PRELU: /* dx needs the slope, dslope x */
        return k >= 0;
    case ES_OP_LAYERNORM: case ES_OP_INSTANCENORM: /* x, the scale; rows' mean, 1/σ in aux */
        return k == 0 || k == 1;
    case ES_OP_GRU: case ES_OP_LSTM: /* dX needs W, dh R, dW X; states and gates are in aux */
        return k == 1 || k == 2 || k == 4 || (k == 0 && params);
    case ES_OP_RELU: case ES_OP_MAXPOOL: case ES_OP_AVGPOOL: case ES_OP_GAP: case ES_OP_PAD: case ES_OP_CONCAT:
    case ES_OP_DROPOUT: case ES_OP_TRANSPOSE: case ES_OP_FLATTEN: case ES_OP_RESHAPE:
    case ES_OP_IDENTITY: case ES_OP_SQUEEZE: case ES_OP_UNSQUEEZE: case ES_OP_SLICE:
        return 0; /* masks and indices they need are in the node's aux */
    default:
        return 1;
    }
}

static size_t aligned(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static int meets(const buffer *a, const buffer *b) { return a->start <= b->end && b->start <= a->end; }

static int by_size(const void *pa, const void *pb)
{
    const buffer *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size < b->size ? 1 : -1;
    return a->start - b->start;
}

static int by_off(const void *pa, const void *pb)
{
    const buffer *a = *(const buffer *const *)pa, *b = *(const buffer *const *)pb;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* Offsets for bufs (sorted largest first); returns the arena's floats. */
static size_t place(buffer *bufs, int nb, const buffer **near)
{
    size_t top = 0;
    for (int i = 0; i < nb; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (meets(&bufs[i], &bufs[j]))
                near[k++] = &bufs[j];
        qsort(near, k, sizeof *near, by_off);
        size_t off = 0, need = aligned(bufs[i].size);
        for (int j = 0; j < k && near[j]->off < off + need; j++) {
            size_t end = near[j]->off + aligned(near[j]->size);
            off = end > off ? end : off;
        }
        bufs[i].off = off;
        top = off + need > top ? off + need : top;
    }
    return top;
}

/* The most floats live at one step of steps [0, end). */
static size_t lower_bound(const buffer *bufs, int nb, int end)
{
    size_t best = 0;
    for (int s = 0; s < end; s++) {
        size_t live = 0;
        for (int i = 0; i < nb; i++)
            live += bufs[i].start <= s && s <= bufs[i].end ? bufs[i].size : 0;
        best = live > best ? live : best;
    }
    return best;
}

/* The first step after buffer b's lifetime at which another buffer takes any of its memory
 * (INT_MAX: never): until then what b holds can still be read. */
static int clobbered_at(const buffer *bufs, int nb, const buffer *b)
{
    int at = INT_MAX;
    for (int i = 0; i < nb; i++) {
        const buffer *c = &bufs[i];
        if (c->start > b->end && c->start < at && c->off < b->off + b->size &&
            b->off < c->off + c->size)
            at = c->start;
    }
    return at;
}

/* Pairs each BatchNormalization with the Relu after it (a plain one too: batchnorm.c reads its
 * flag) when the Relu is its output's only reader and nobody else may read that output: not
 * pinned, not wanted, not an output of the graph, and not ES_PLAN_KEEP_ALL (es_node.fused_with
 * says what the pair then does). */
static void fuse(es_graph *g)
{
    int outs[64], no = es_graph_outputs(g, outs, 64);
    for (int i = 0; i < g->nn; i++)
        g->n[i].fused_with = 0;
    if (g->plan_what & ES_PLAN_KEEP_ALL)
        return;
    for (int i = 0; i < g->nn; i++) {
        es_node *b = &g->n[i];
        if (b->op != ES_OP_BATCHNORM)
            continue;
        int t = b->out[0], readers = 0, relu = -1;
        const es_tensor *y = &g->t[t];
        if (y->pinned || y->want_grad || y->is_output)
            continue;
        for (int k = 0; k < no; k++)
            readers += outs[k] == t;
        for (int j = i + 1; j < g->nn; j++)
            for (int k = 0; k < g->n[j].n_in; k++)
                if (g->n[j].in[k] == t)
                    readers++, relu = j;
        if (readers == 1 && relu >= 0 && g->n[relu].op == ES_OP_RELU)
            b->fused_with = relu + 1, g->n[relu].fused_with = i + 1;
    }
}

/* Which tensors live inside another's memory: up[t] (−1: none) at floats at[t] into it.
 * - a view's output, and a fused Relu's, is its input's memory;
 * - an input of a Concat whose slices are contiguous (nothing but 1s before the axis: one
 *   sample) is its slice of the Concat's output: its producer writes it there and the Concat
 *   copies nothing (the memory-efficient DenseNet layout: a dense block is one buffer each
 *   layer appends to). Only an activation made by a real op (not a view), in one Concat. */
static void share(es_graph *g, int *up, size_t *at)
{
    for (int t = 0; t < g->nt; t++)
        up[t] = -1, at[t] = 0;
    for (int i = 0; i < g->nn; i++) {
        const es_node *n = &g->n[i];
        if ((is_view(n->op) || es_node_absorbed(n)) && g->t[n->in[0]].kind == ES_T_ACT) {
            up[n->out[0]] = n->in[0];
            continue;
        }
        if (n->op != ES_OP_CONCAT)
            continue;
        const es_tensor *y = &g->t[n->out[0]];
        int ax = n->a.axis.axis < 0 ? n->a.axis.axis + y->ndim : n->a.axis.axis;
        size_t outer = 1, off = 0;
        for (int d = 0; d < ax; d++)
            outer *= y->dims[d];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k], once = 1;
            for (int j = 0; j < n->n_in; j++)
                once &= j == k || n->in[j] != t;
            const es_tensor *x = &g->t[t];
            const es_node *pn = x->producer >= 0 ? &g->n[x->producer] : NULL;
            if (outer == 1 && once && x->kind == ES_T_ACT && pn && up[t] < 0 &&
                !is_view(pn->op) && !es_node_absorbed(pn))
                up[t] = n->out[0], at[t] = off;
            off += x->size;
        }
    }
}

/* The lifetimes of this graph's buffers into bufs (room for 2·nt + 2·nn); returns how many.
 * root[t] is the tensor whose buffer t uses (itself, or one share() puts t in), at floats
 * at[t] into it. */
static int lifetimes(es_graph *g, es_mode mode, int *root, size_t *at, buffer *bufs)
{
    const int nn = g->nn, what = g->plan_what, all = what & ES_PLAN_KEEP_ALL;
    const int bwd = all || (what & (ES_GRAD_INPUTS | ES_GRAD_PARAMS));
    const int params = all || (what & ES_GRAD_PARAMS);
    const int end = bwd ? 2 * nn : nn; /* "to the end": past every step */
    int *last = malloc(g->nt * sizeof *last), *first = malloc(g->nt * sizeof *first);
    int *buf_of = malloc(g->nt * sizeof *buf_of), *up = malloc(g->nt * sizeof *up), outs[64], nb = -1;
    size_t *up_at = malloc(g->nt * sizeof *up_at);
    if (!last || !first || !buf_of || !up || !up_at) {
        es_fail("out of memory");
        goto done;
    }
    share(g, up, up_at);
    for (int t = 0; t < g->nt; t++) { /* follow t's chain to its root, adding the offsets */
        int r = t;
        size_t off = 0;
        for (; up[r] >= 0; r = up[r])
            off += up_at[r];
        root[t] = r, at[t] = off;
        last[t] = g->t[t].producer, first[t] = -1; /* last forward reader; first grad writer */
    }
    for (int i = 0, no = es_graph_outputs(g, outs, 64); i < no; i++)
        last[outs[i]] = end;
    for (int i = 0; i < nn; i++) {
        const es_node *n = &g->n[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) {
                int t = n->in[k], keep = bwd && backward_reads(n, k, mode, params);
                last[t] = keep ? end : last[t] > i ? last[t] : i;
                first[t] = i;
            }
        if (bwd && backward_reads(n, -1, mode, params))
            for (int k = 0; k < n->n_out; k++)
                last[n->out[k]] = end;
    }
    nb = 0;
    for (int t = 0; t < g->nt; t++) {
        const es_tensor *x = &g->t[t];
        if (x->kind != ES_T_ACT)
            continue;
        if (root[t] == t)
            bufs[buf_of[t] = nb++] = (buffer){DATA, t, x->producer > 0 ? x->producer : 0,
                                              x->pinned || all ? end : last[t], x->size, 0};
        /* a fused BN output has no gradient; its Relu's output gradient is read by the BN */
        const es_node *pn = x->producer >= 0 ? &g->n[x->producer] : NULL;
        int reader = pn && es_node_absorbed(pn) ? pn->fused_with - 1 : x->producer;
        if (bwd && first[t] >= 0 && !(pn && pn->op == ES_OP_BATCHNORM && pn->fused_with))
            bufs[nb++] = (buffer){GRAD, t, 2 * nn - 1 - first[t],
                                  all ? end : 2 * nn - 1 - reader, x->size, 0};
    }
    for (int t = 0; t < g->nt; t++) { /* a root lives as long as anything in it is needed */
        const es_tensor *x = &g->t[t];
        if (x->kind != ES_T_ACT || root[t] == t)
            continue;
        buffer *r = &bufs[buf_of[root[t]]];
        int from = x->producer > 0 ? x->producer : 0, till = x->pinned || all ? end : last[t];
        r->start = from < r->start ? from : r->start;
        r->end = till > r->end ? till : r->end;
    }
    for (int i = 0; i < nn; i++) {
        if (!g->n[i].ws_need)
            continue;
        bufs[nb++] = (buffer){WS_FWD, i, i, i, g->n[i].ws_need, 0};
        if (bwd)
            bufs[nb++] = (buffer){WS_BWD, i, 2 * nn - 1 - i, 2 * nn - 1 - i, g->n[i].ws_need, 0};
    }
done:
    free(last), free(first), free(buf_of), free(up), free(up_at);
    return nb;
}

/* Points every planned tensor, gradient and workspace into the arena and records until when
 * each tensor's memory stays readable. */
static void assign(es_graph *g, const buffer *bufs, int nb, const int *root, const size_t *at)
{
    for (int t = 0; t < g->nt; t++)
        g->t[t].grad_slot = NULL;
    for (int i = 0; i < nb; i++) {
        const buffer *b = &bufs[i];
        es_tensor *x = &g->t[b->id];
        if (b->kind == DATA) {
            x->data = g->arena + b->off;
            x->data_until = clobbered_at(bufs, nb, b);
        } else if (b->kind == GRAD) {
            x->grad_slot = g->arena + b->off;
            x->grad_until = clobbered_at(bufs, nb, b);
        } else {
            g->n[b->id].ws_off[b->kind == WS_BWD] = b->off;
        }
    }
    for (int t = 0; t < g->nt; t++)
        if (root[t] != t && g->t[t].kind == ES_T_ACT)
            g->t[t].data = g->t[root[t]].data + at[t], g->t[t].data_until = g->t[root[t]].data_until;
    for (int i = 0; i < g->nn; i++) /* a fused BN output holds the Relu's values at once */
        if (g->n[i].op == ES_OP_BATCHNORM && g->n[i].fused_with)
            g->t[g->n[i].out[0]].data_until = i;
}

/* The plan for the current shapes; dry: only its size into *bytes, the graph untouched. */
static int make(es_graph *g, es_mode mode, int dry, size_t *bytes)
{
    int *root = malloc((g->nt + 1) * sizeof *root), nb = -1;
    size_t *at = malloc((g->nt + 1) * sizeof *at);
    buffer *bufs = malloc((2 * g->nt + 2 * g->nn + 1) * sizeof *bufs);
    const buffer **near = malloc((2 * g->nt + 2 * g->nn + 1) * sizeof *near);
    if (!root || !at || !bufs || !near) {
        es_fail("out of memory");
        goto done;
    }
    fuse(g);
    if ((nb = lifetimes(g, mode, root, at, bufs)) < 0)
        goto done;
    qsort(bufs, nb, sizeof *bufs, by_size);
    size_t floats = place(bufs, nb, near);
    *bytes = floats * sizeof(float);
    if (dry)
        goto done;
    int bwd = g->plan_what & (ES_GRAD_INPUTS | ES_GRAD_PARAMS | ES_PLAN_KEEP_ALL);
    g->plan_lower = lower_bound(bufs, nb, bwd ? 2 * g->nn : g->nn) * sizeof(float);
    if (floats > g->arena_cap) {
        float *a = realloc(g->arena, floats * sizeof(float));
        if (!a) {
            nb = es_fail("arena: out of memory (%zu MB)", (floats * sizeof(float)) >> 20);
            goto done;
        }
        g->arena = a, g->arena_cap = floats;
    }
    g->plan_bytes = floats * sizeof(float);
    assign(g, bufs, nb, root, at);
    g->plan_mode = mode, g->planned = 1;
done:
    free(root), free(at), free(bufs), free(near);
    return nb < 0 ? -1 : 0;
}

int es_plan_make(es_graph *g, es_mode mode)
{
    size_t bytes;
    return make(g, mode, 0, &bytes);
}

/* ---- the public face ------------------------------------------------------------------ */
int es_graph_plan(es_graph *g, int what)
{
    int was = g->plan_what;
    if (what & ~(ES_GRAD_INPUTS | ES_GRAD_PARAMS | ES_PLAN_KEEP_ALL))
        return es_fail("memory plan: unknown flags %#x", what);
    if (what != was)
        g->plan_what = what, g->planned = g->forwarded = 0;
    return was;
}

int es_graph_pin(es_graph *g, int t, int on)
{
    if (t < 0 || t >= g->nt)
        return es_fail("no tensor %d to pin", t);
    int was = g->t[t].pinned;
    if (was != !!on)
        g->t[t].pinned = !!on, g->planned = g->forwarded = 0;
    return was;
}

static int planned(es_graph *g)
{
    if (g->planned)
        return 0;
    g->step = -1, g->forwarded = 0; /* a new plan: nothing computed is where it was */
    return es_plan_make(g, ES_TEST);
}

size_t es_graph_arena_bytes(es_graph *g) { return planned(g) == 0 ? g->plan_bytes : 0; }

size_t es_graph_arena_lower_bound(es_graph *g) { return planned(g) == 0 ? g->plan_lower : 0; }

size_t es_graph_bytes_per_sample(es_graph *g, int what)
{
    int in[16], ni = es_graph_inputs(g, in, 16), keep = g->plan_what, batch = 1;
    size_t a[2] = {0, 0}, io = 0;
    for (int i = 0; i < ni; i++)
        if (g->t[in[i]].ndim > 0)
            batch = g->t[in[i]].dims[0];
    g->plan_what = what;
    for (int k = 0; k < 2; k++) /* batch 2 and 3: both past the single-sample workspaces */
        if (es_graph_set_batch(g, 2 + k) != 0 || make(g, ES_TEST, 1, &a[k]) != 0)
            break;
    for (int i = 0; i < ni; i++)
        io += g->t[in[i]].size / 3 * sizeof(float) * (what ? 2 : 1);
    g->plan_what = keep;
    if (es_graph_set_batch(g, batch) != 0 || !a[1])
        return 0;
    return (a[1] > a[0] ? a[1] - a[0] : 0) + io;
}
