/* GRU and LSTM as ONNX defines them (default activations: sigmoid gates, tanh cell), forward
 * and backpropagation through time. Inputs X, W [D,G·H,I], R [D,G·H,H], B [D,2·G·H],
 * sequence_lens [N], initial_h (and initial_c) [D,N,H] (layout 1: [N,D,H]); G = 3 gates for GRU
 * (z, r, h), 4 for LSTM (i, o, f, c). A node computes one of ONNX's outputs (attribute
 * `output`: Y, Y_h or Y_c); a model that reads two gets two nodes on the same inputs, which
 * costs a second forward but keeps every node single-output (the importer and exporter know
 * only those).
 * Sequence n runs len[n] steps (all T without sequence_lens); in reverse it starts at step
 * len[n]−1. Steps past a sequence's end give zeros in Y and leave the state as it is, so Y_h is
 * the last valid step's (a sequence of length 0 keeps its initial state). Forward keeps in aux
 * every state h (and c) in the order the steps run (index 0 the initial state) and each step's
 * gates; backward reads X (for dW), W and R and the lengths (nn/plan.c), never the output.
 * X·Wᵀ for all steps, dX and dW are one sgemm each per direction; the recurrence is one small
 * product per step over the batch (rows_by). The ReLU rules (GUIDED, DECONVNET) are Relu's:
 * these ops always pass their true gradient. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

typedef struct {
    int T, N, in, H, D, G; /* steps, batch, input size, hidden size, directions, gates */
    int lstm, layout, lbr;
} rnn_dims;

static rnn_dims dims_of(es_graph *g, const es_node *nd)
{
    const es_tensor *x = in_t(g, nd, 0);
    const es_rnn_attrs *a = &nd->a.rnn;
    rnn_dims d = {.H = a->hidden, .D = a->direction == 2 ? 2 : 1, .lstm = nd->op == ES_OP_LSTM,
                  .layout = a->layout, .lbr = a->linear_before_reset};
    d.G = d.lstm ? 4 : 3;
    d.T = x->dims[d.layout ? 1 : 0], d.N = x->dims[d.layout ? 0 : 1], d.in = x->dims[2];
    return d;
}

/* Row of step t, sequence n in X (and in the per-step gradients, laid out as X). */
static size_t xrow(const rnn_dims *d, int t, int n)
{
    return d->layout ? (size_t)n * d->T + t : (size_t)t * d->N + n;
}
/* Offset of (t, direction, n) in Y, and of (direction, n) in Y_h, Y_c and the initial states. */
static size_t yoff(const rnn_dims *d, int t, int dir, int n)
{
    return (d->layout ? ((size_t)n * d->T + t) * d->D + dir : ((size_t)t * d->D + dir) * d->N + n) * d->H;
}
static size_t hoff(const rnn_dims *d, int dir, int n)
{
    return (d->layout ? (size_t)n * d->D + dir : (size_t)dir * d->N + n) * d->H;
}
/* Steps sequence n runs: sequence_lens clamped to 0..T, or T. */
static int seq_len(es_graph *g, const es_node *nd, const rnn_dims *d, int n)
{
    const es_tensor *l = in_t(g, nd, 4);
    if (!l)
        return d->T;
    float v = l->data[n];
    return v >= d->T ? d->T : v > 0 ? (int)v : 0;
}
/* Whether direction dir runs backwards in time. */
static int reversed(const es_node *nd, int dir) { return nd->a.rnn.direction == 1 || dir == 1; }
static float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

/* aux: states [D][T+1][N][H] for h (and c), then gates [D][T][N][4·H]. */
typedef struct {
    float *h, *c, *gates;
} rnn_aux;
static rnn_aux aux_of(const es_node *nd, const rnn_dims *d)
{
    size_t states = (size_t)d->D * (d->T + 1) * d->N * d->H;
    float *a = nd->aux;
    return (rnn_aux){a, d->lstm ? a + states : NULL, a + (d->lstm ? 2 : 1) * states};
}
static float *state(float *s, const rnn_dims *d, int dir, int k)
{
    return s + ((size_t)dir * (d->T + 1) + k) * d->N * d->H;
}
static float *gates(const rnn_aux *a, const rnn_dims *d, int dir, int k, int n)
{
    return a->gates + (((size_t)dir * d->T + k) * d->N + n) * 4 * d->H;
}

/* The per-step products over the batch's N rows. Below SMALL_BATCH rows they are plain loops:
 * sgemm would pack R again on every step (most of a one-sample pass), and BLAS's threads would
 * meet for every one of the T small products. */
#define SMALL_BATCH 8
/* y[n] = β·y[n] + R·x[n] (rt: R is [M,K]) or Rᵀ·x[n] (R is [K,M]), n < N. */
static void rows_by(int rt, int N, int M, int K, const float *x, int ldx, const float *R, int ldr,
                    float beta, float *y, int ldy)
{
    if (N >= SMALL_BATCH) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, rt ? CblasTrans : CblasNoTrans, N, M, K, 1.0f, x, ldx,
                    R, ldr, beta, y, ldy);
        return;
    }
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * ldx;
        float *yn = y + (size_t)n * ldy;
        for (int m = 0; m < M; m++)
            yn[m] = beta != 0.0f ? beta * yn[m] : 0.0f;
        for (int m = 0; rt && m < M; m++) {
            const float *r = R + (size_t)m * ldr;
            float acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int k = 0; k < K; k++)
                acc += r[k] * xn[k];
            yn[m] += acc;
        }
        for (int k = 0; !rt && k < K; k++) {
            const float *r = R + (size_t)k * ldr;
#pragma omp simd
            for (int m = 0; m < M; m++)
                yn[m] += xn[k] * r[m];
        }
    }
}
/* dR[M,K] += Σ_n a[n]ᵀ·b[n]. */
static void add_outer(int N, int M, int K, const float *a, int lda, const float *b, int ldb,
                      float *dr, int ldr)
{
    if (N >= SMALL_BATCH) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, N, 1.0f, a, lda, b, ldb, 1.0f, dr, ldr);
        return;
    }
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            float am = a[(size_t)n * lda + m], *row = dr + (size_t)m * ldr;
            const float *bn = b + (size_t)n * ldb;
#pragma omp simd
            for (int k = 0; k < K; k++)
                row[k] += am * bn[k];
        }
}

static int check_param(es_node *nd, const es_tensor *t, const char *what, int n, const int *want)
{
    int ok = t->ndim == n;
    for (int i = 0; ok && i < n; i++)
        ok = t->dims[i] == want[i];
    if (ok)
        return 0;
    if (n == 3)
        return es_node_fail(nd, "%s must be [%d,%d,%d]", what, want[0], want[1], want[2]);
    return es_node_fail(nd, "%s must be [%d,%d]", what, want[0], want[1]);
}

static int rnn_shape(es_graph *g, es_node *nd)
{
    es_tensor *x = in_t(g, nd, 0), *l = in_t(g, nd, 4);
    const es_rnn_attrs *a = &nd->a.rnn;
    if (x->ndim != 3)
        return es_node_fail(nd, "wants a rank-3 input, got rank %d", x->ndim);
    if (a->hidden < 1 || a->direction < 0 || a->direction > 2 || a->layout < 0 || a->layout > 1 ||
        a->output < 0 || a->output > (nd->op == ES_OP_LSTM ? 2 : 1))
        return es_node_fail(nd, "bad hidden_size, direction, layout or output");
    rnn_dims d = dims_of(g, nd);
    int gh = d.G * d.H;
    if (check_param(nd, in_t(g, nd, 1), "W", 3, (int[]){d.D, gh, d.in}) ||
        check_param(nd, in_t(g, nd, 2), "R", 3, (int[]){d.D, gh, d.H}) ||
        (in_t(g, nd, 3) && check_param(nd, in_t(g, nd, 3), "B", 2, (int[]){d.D, 2 * gh})))
        return -1;
    if (l && l->size != (size_t)d.N)
        return es_node_fail(nd, "sequence_lens must have the batch's %d values", d.N);
    int hd[3] = {d.layout ? d.N : d.D, d.layout ? d.D : d.N, d.H};
    for (int k = 5; k < nd->n_in; k++)
        if (in_t(g, nd, k) && check_param(nd, in_t(g, nd, k), k == 5 ? "initial_h" : "initial_c", 3, hd))
            return -1;
    size_t states = (size_t)d.D * (d.T + 1) * d.N * d.H;
    nd->aux_bytes = ((d.lstm ? 2 : 1) * states + (size_t)d.D * d.T * d.N * 4 * d.H) * sizeof(float);
    size_t ws = (size_t)d.T * d.N * gh + (size_t)d.N * gh + 4 * (size_t)d.N * d.H;
    if (ws > g->ws_need)
        g->ws_need = ws;
    int yd[4] = {d.T, d.D, d.N, d.H};
    if (d.layout)
        yd[0] = d.N, yd[1] = d.T, yd[2] = d.D;
    if (a->output == 0)
        es_set_shape(out_t(g, nd, 0), 4, yd);
    else
        es_set_shape(out_t(g, nd, 0), 3, hd);
    return 0;
}

/* The initial state of direction dir: the input's, or zeros. */
static void initial(const es_tensor *t, const rnn_dims *d, int dir, float *s)
{
    for (int n = 0; n < d->N; n++)
        if (t)
            memcpy(s + (size_t)n * d->H, t->data + hoff(d, dir, n), d->H * sizeof(float));
        else
            memset(s + (size_t)n * d->H, 0, d->H * sizeof(float));
}

/* One GRU step of sequence n, its z and r known (gk[0..2H)): the candidate n and the new state.
 * hr: the recurrent pre-activations (for linear_before_reset 0 the h part is (r⊙h)·Rhᵀ). */
static void gru_state(const rnn_dims *d, const float *xr, const float *hr, const float *bw,
                      const float *br, const float *hp, float *gk, float *h)
{
    int H = d->H;
    for (int j = 0; j < H; j++) {
        float z = gk[j], r = gk[H + j], q = hr[2 * H + j] + (br ? br[2 * H + j] : 0.0f);
        float c = tanhf(xr[2 * H + j] + (bw ? bw[2 * H + j] : 0.0f) + (d->lbr ? r * q : q));
        gk[2 * H + j] = c, gk[3 * H + j] = q;
        h[j] = (1 - z) * c + z * hp[j];
    }
}

static void lstm_step(const rnn_dims *d, const float *xr, const float *hr, const float *bw,
                      const float *br, const float *cp, float *gk, float *c, float *h)
{
    int H = d->H;
    for (int j = 0; j < 4 * H; j++) {
        float v = xr[j] + hr[j] + (bw ? bw[j] + br[j] : 0.0f);
        gk[j] = j < 3 * H ? sigm(v) : tanhf(v);
    }
    for (int j = 0; j < H; j++) {
        c[j] = gk[2 * H + j] * cp[j] + gk[j] * gk[3 * H + j];
        h[j] = gk[H + j] * tanhf(c[j]);
    }
}

/* Runs direction dir, filling aux; ws: [T·N, G·H] for X·Wᵀ, then [N, G·H], then [N, H]. */
static void run_direction(es_graph *g, const es_node *nd, const rnn_dims *d, int dir, const rnn_aux *a)
{
    int H = d->H, gh = d->G * H;
    const float *W = in_t(g, nd, 1)->data + (size_t)dir * gh * d->in;
    const float *R = in_t(g, nd, 2)->data + (size_t)dir * gh * H;
    const es_tensor *B = in_t(g, nd, 3);
    const float *bw = B ? B->data + (size_t)dir * 2 * gh : NULL, *br = bw ? bw + gh : NULL;
    float *xw = g->ws, *hr = xw + (size_t)d->T * d->N * gh, *rh = hr + (size_t)d->N * gh;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->T * d->N, gh, d->in, 1.0f,
                in_t(g, nd, 0)->data, d->in, W, d->in, 0.0f, xw, gh);
    initial(in_t(g, nd, 5), d, dir, state(a->h, d, dir, 0));
    if (d->lstm)
        initial(in_t(g, nd, 6), d, dir, state(a->c, d, dir, 0));
    for (int k = 0; k < d->T; k++) {
        float *hp = state(a->h, d, dir, k), *hn = state(a->h, d, dir, k + 1);
        rows_by(1, d->N, gh, H, hp, H, R, H, 0.0f, hr, gh);
        if (!d->lstm) { /* z and r, then (linear_before_reset 0) the h part from r⊙h */
            for (int n = 0; n < d->N; n++) {
                int len = seq_len(g, nd, d, n), t = reversed(nd, dir) ? len - 1 - k : k;
                float *gk = gates(a, d, dir, k, n);
                for (int j = 0; k < len && j < 2 * H; j++)
                    gk[j] = sigm(xw[xrow(d, t, n) * gh + j] + hr[(size_t)n * gh + j] +
                                 (bw ? bw[j] + br[j] : 0.0f));
                for (int j = 0; j < H; j++)
                    rh[(size_t)n * H + j] = k < len ? gk[H + j] * hp[(size_t)n * H + j] : 0.0f;
            }
            if (!d->lbr)
                rows_by(1, d->N, H, H, rh, H, R + (size_t)2 * H * H, H, 0.0f, hr + 2 * H, gh);
        }
        for (int n = 0; n < d->N; n++) {
            int len = seq_len(g, nd, d, n), t = reversed(nd, dir) ? len - 1 - k : k;
            size_t o = (size_t)n * H;
            if (k >= len) { /* past the end: the state stays */
                memcpy(hn + o, hp + o, H * sizeof(float));
                if (d->lstm)
                    memcpy(state(a->c, d, dir, k + 1) + o, state(a->c, d, dir, k) + o, H * sizeof(float));
                continue;
            }
            const float *xr = xw + xrow(d, t, n) * gh;
            if (d->lstm)
                lstm_step(d, xr, hr + n * gh, bw, br, state(a->c, d, dir, k) + o, gates(a, d, dir, k, n),
                          state(a->c, d, dir, k + 1) + o, hn + o);
            else
                gru_state(d, xr, hr + n * gh, bw, br, hp + o, gates(a, d, dir, k, n), hn + o);
        }
    }
}

static void rnn_forward(es_graph *g, es_node *nd)
{
    rnn_dims d = dims_of(g, nd);
    rnn_aux a = aux_of(nd, &d);
    es_tensor *y = out_t(g, nd, 0);
    int which = nd->a.rnn.output, H = d.H;
    if (which == 0)
        memset(y->data, 0, y->size * sizeof(float));
    for (int dir = 0; dir < d.D; dir++) {
        run_direction(g, nd, &d, dir, &a);
        for (int n = 0; n < d.N; n++) {
            int len = seq_len(g, nd, &d, n);
            for (int k = 0; which == 0 && k < len; k++) {
                int t = reversed(nd, dir) ? len - 1 - k : k;
                memcpy(y->data + yoff(&d, t, dir, n), state(a.h, &d, dir, k + 1) + (size_t)n * H,
                       H * sizeof(float));
            }
            if (which > 0)
                memcpy(y->data + hoff(&d, dir, n),
                       state(which == 1 ? a.h : a.c, &d, dir, d.T) + (size_t)n * H, H * sizeof(float));
        }
    }
}

/* ---- backward ----------------------------------------------------------------------------- */
/* Gradients of one direction's step k for sequence n, dh (and dc) the state's gradient: writes
 * the gate pre-activations' gradients dg (as X·Wᵀ sees them) and da (as h·Rᵀ + Rb sees them),
 * and leaves in dh, dc the previous state's gradient apart from the path through R. GRU with
 * linear_before_reset 0 leaves r's to backward_gru_reset. */
static void step_back(const rnn_dims *d, const float *gk, const float *hp, const float *cp,
                      const float *c, float *dg, float *da, float *dh, float *dc)
{
    int H = d->H;
    for (int j = 0; j < H; j++) {
        float dp[4];
        if (d->lstm) {
            float i = gk[j], o = gk[H + j], f = gk[2 * H + j], u = gk[3 * H + j], tc = tanhf(c[j]);
            float dct = dc[j] + dh[j] * o * (1 - tc * tc);
            dp[0] = dct * u * i * (1 - i), dp[1] = dh[j] * tc * o * (1 - o);
            dp[2] = dct * cp[j] * f * (1 - f), dp[3] = dct * i * (1 - u * u);
            dc[j] = dct * f, dh[j] = 0;
            for (int q = 0; q < 4; q++)
                dg[q * H + j] = da[q * H + j] = dp[q];
        } else {
            float z = gk[j], r = gk[H + j], u = gk[2 * H + j], q = gk[3 * H + j];
            float dnp = dh[j] * (1 - z) * (1 - u * u);
            dg[j] = da[j] = dh[j] * (hp[j] - u) * z * (1 - z);
            dg[H + j] = da[H + j] = d->lbr ? dnp * q * r * (1 - r) : 0.0f;
            dg[2 * H + j] = dnp, da[2 * H + j] = d->lbr ? dnp * r : dnp;
            dh[j] *= z;
        }
    }
}

static void add_rows(float *sum, const float *rows, int nrows, int width)
{
    for (int i = 0; i < nrows; i++)
        for (int j = 0; j < width; j++)
            sum[j] += rows[(size_t)i * width + j];
}

typedef struct {
    float *dx, *dw, *dr, *db, *dh0, *dc0; /* NULL: not wanted */
} rnn_grads;

/* GRU, linear_before_reset 0: the h candidate saw (r⊙h)·Rhᵀ, so r's gradient and h's through
 * it come from da's h part times Rh (tmp); dRh takes the r⊙h rows (rh). */
static void gru_reset_back(es_graph *g, const es_node *nd, const rnn_dims *d, int dir, int k,
                           const rnn_aux *a, const float *R, float *dg, float *da, float *dh,
                           float *tmp, float *rh, float *dr)
{
    int H = d->H, gh = 3 * H;
    const float *hp = state(a->h, d, dir, k);
    rows_by(0, d->N, H, H, da + 2 * H, gh, R + (size_t)2 * H * H, H, 0.0f, tmp, H);
    for (int n = 0; n < d->N; n++) {
        int len = seq_len(g, nd, d, n), t = reversed(nd, dir) ? len - 1 - k : k;
        const float *gk = gates(a, d, dir, k, n);
        for (int j = 0; j < H; j++) {
            size_t o = (size_t)n * H + j;
            float r = gk[H + j], v = k < len ? tmp[o] * hp[o] * r * (1 - r) : 0.0f;
            rh[o] = k < len ? r * hp[o] : 0.0f;
            dh[o] += k < len ? tmp[o] * r : 0.0f;
            da[(size_t)n * gh + H + j] = v;
            if (k < len)
                dg[xrow(d, t, n) * gh + H + j] = v;
        }
    }
    if (dr)
        add_outer(d->N, H, H, da + 2 * H, gh, rh, H, dr + (size_t)2 * H * H, H);
}

/* Backpropagation through time of direction dir; ws as run_direction's: dg [T·N, G·H], da
 * [N, G·H], dh, dc, tmp, rh [N, H]. */
static void back_direction(es_graph *g, const es_node *nd, const rnn_dims *d, int dir,
                           const rnn_aux *a, const rnn_grads *gr)
{
    int H = d->H, gh = d->G * H, which = nd->a.rnn.output;
    const float *R = in_t(g, nd, 2)->data + (size_t)dir * gh * H, *dy = out_t(g, nd, 0)->grad;
    float *dg = g->ws, *da = dg + (size_t)d->T * d->N * gh, *dh = da + (size_t)d->N * gh;
    float *dc = dh + (size_t)d->N * H, *tmp = dc + (size_t)d->N * H, *rh = tmp + (size_t)d->N * H;
    float *dr = gr->dr ? gr->dr + (size_t)dir * gh * H : NULL;
    float *dbr = gr->db ? gr->db + (size_t)dir * 2 * gh + gh : NULL;
    memset(dg, 0, (size_t)d->T * d->N * gh * sizeof(float));
    memset(dh, 0, 2 * (size_t)d->N * H * sizeof(float));
    for (int n = 0; n < d->N && which > 0; n++)
        memcpy((which == 1 ? dh : dc) + (size_t)n * H, dy + hoff(d, dir, n), H * sizeof(float));
    for (int k = d->T - 1; k >= 0; k--) {
        const float *hp = state(a->h, d, dir, k);
        for (int n = 0; n < d->N; n++) {
            int len = seq_len(g, nd, d, n), t = reversed(nd, dir) ? len - 1 - k : k;
            size_t o = (size_t)n * H;
            memset(da + (size_t)n * gh, 0, gh * sizeof(float));
            if (k >= len)
                continue;
            for (int j = 0; which == 0 && j < H; j++)
                dh[o + j] += dy[yoff(d, t, dir, n) + j];
            step_back(d, gates(a, d, dir, k, n), hp + o, d->lstm ? state(a->c, d, dir, k) + o : NULL,
                      d->lstm ? state(a->c, d, dir, k + 1) + o : NULL, dg + xrow(d, t, n) * gh,
                      da + (size_t)n * gh, dh + o, dc + o);
        }
        int rec = d->lstm || d->lbr ? gh : 2 * H; /* the columns whose recurrent input is h */
        if (rec < gh)
            gru_reset_back(g, nd, d, dir, k, a, R, dg, da, dh, tmp, rh, dr);
        rows_by(0, d->N, H, rec, da, gh, R, H, 1.0f, dh, H);
        if (dr)
            add_outer(d->N, rec, H, da, gh, hp, H, dr, H);
        if (dbr)
            add_rows(dbr, da, d->N, gh);
    }
    for (int n = 0; n < d->N; n++)
        for (int j = 0; j < H; j++) {
            if (gr->dh0)
                gr->dh0[hoff(d, dir, n) + j] += dh[(size_t)n * H + j];
            if (gr->dc0)
                gr->dc0[hoff(d, dir, n) + j] += dc[(size_t)n * H + j];
        }
    int rows = d->T * d->N;
    if (gr->dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d->in, gh, 1.0f, dg, gh,
                    in_t(g, nd, 1)->data + (size_t)dir * gh * d->in, d->in, 1.0f, gr->dx, d->in);
    if (gr->dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, gh, d->in, rows, 1.0f, dg, gh,
                    in_t(g, nd, 0)->data, d->in, 1.0f, gr->dw + (size_t)dir * gh * d->in, d->in);
    if (gr->db)
        add_rows(gr->db + (size_t)dir * 2 * gh, dg, rows, gh);
}

static void rnn_backward(es_graph *g, es_node *nd, const es_pass *p)
{
    if (!out_t(g, nd, 0)->needs_grad)
        return;
    rnn_dims d = dims_of(g, nd);
    rnn_aux a = aux_of(nd, &d);
    float *gp[7] = {0};
    for (int k = 0; k < nd->n_in && k < 7; k++)
        if (k != 4 && wants_grad(g, nd, k, p))
            gp[k] = in_t(g, nd, k)->grad;
    rnn_grads gr = {gp[0], gp[1], gp[2], gp[3], gp[5], gp[6]};
    for (int dir = 0; dir < d.D; dir++)
        back_direction(g, nd, &d, dir, &a, &gr);
}

int es_gru_shape(es_graph *g, es_node *nd) { return rnn_shape(g, nd); }
void es_gru_forward(es_graph *g, es_node *nd, const es_pass *p) { rnn_forward(g, nd); }
void es_gru_backward(es_graph *g, es_node *nd, const es_pass *p) { rnn_backward(g, nd, p); }
int es_lstm_shape(es_graph *g, es_node *nd) { return rnn_shape(g, nd); }
void es_lstm_forward(es_graph *g, es_node *nd, const es_pass *p) { rnn_forward(g, nd); }
void es_lstm_backward(es_graph *g, es_node *nd, const es_pass *p) { rnn_backward(g, nd, p); }

/* ---- the rows of GRU and LSTM: attributes, ONNX, init ------------------------------------- */
const es_attrs es_rnn_defaults = {.rnn = {0}};

static const char *const directions[3] = {"forward", "reverse", "bidirectional"};

/* Refuses what earsight does not compute: other activations, clip, input_forget, peepholes. */
static int refuse_extras(es_importer *m, const Onnx__NodeProto *nd, int lstm)
{
    static const char *const want[3] = {"Sigmoid", "Tanh", "Tanh"};
    const Onnx__AttributeProto *act = es_onnx_attr(nd, "activations");
    for (size_t k = 0; act && k < act->n_strings; k++) {
        const char *w = want[k % (lstm ? 3 : 2)];
        if (act->strings[k].len != strlen(w) || memcmp(act->strings[k].data, w, act->strings[k].len) != 0)
            return es_import_fail(nd, "only the default activations (sigmoid, tanh) are supported", NULL);
    }
    if (es_onnx_attr(nd, "clip") || es_onnx_attr(nd, "activation_alpha") ||
        es_onnx_attr(nd, "activation_beta"))
        return es_import_fail(nd, "clip and activation_alpha/beta are not supported", NULL);
    if (lstm && es_onnx_attr_int(nd, "input_forget", 0) != 0)
        return es_import_fail(nd, "input_forget is not supported", NULL);
    if (lstm && nd->n_input > 7 && *nd->input[7])
        return es_import_fail(nd, "peepholes (input P) are not supported", NULL);
    return 0;
}

/* One graph node per ONNX output a live node reads: output k of the same recurrence. */
static int rnn_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    int lstm = op == ES_OP_LSTM, n_in = lstm ? 7 : 6, in[7], last = -1;
    char buf[32];
    es_attrs a = es_rnn_defaults;
    const char *dir = es_onnx_attr_str(nd, "direction", buf, sizeof buf, "forward");
    a.rnn.direction = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(dir, directions[k]) == 0)
            a.rnn.direction = k;
    a.rnn.layout = (int)es_onnx_attr_int(nd, "layout", 0);
    a.rnn.linear_before_reset = !lstm && es_onnx_attr_int(nd, "linear_before_reset", 0) != 0;
    if (a.rnn.direction < 0 || a.rnn.layout < 0 || a.rnn.layout > 1)
        return es_import_fail(nd, "bad direction or layout", NULL);
    if (refuse_extras(m, nd, lstm) != 0 || es_import_xwb(m, nd, in, "no W") < 0)
        return -1;
    if (es_import_input(m, nd, 3, ES_T_PARAM, &in[3]) != 0) /* xwb took R as its "B" */
        return -1;
    for (int k = 4; k < n_in; k++)
        if (es_import_input(m, nd, k, ES_T_STATE, &in[k]) != 0)
            return -1;
    if (in[2] < 0)
        return es_import_fail(nd, "no R", NULL);
    const es_tensor *r = es_import_tensor(m, in[2]);
    a.rnn.hidden = (int)es_onnx_attr_int(nd, "hidden_size", r->ndim == 3 ? r->dims[2] : 0);
    static const char *const suffix[3] = {NULL, "/Y_h", "/Y_c"};
    for (int k = 0; k < (lstm ? 3 : 2) && k < (int)nd->n_output; k++) {
        if (!es_import_used(m, nd->output[k]))
            continue;
        a.rnn.output = k;
        if ((last = es_import_add(m, nd, suffix[k], op, &a, n_in, in, nd->output[k])) < 0)
            return -1;
    }
    return last;
}

int es_gru_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op) { return rnn_import(m, nd, op); }
int es_lstm_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op) { return rnn_import(m, nd, op); }

int es_rnn_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_int(x, "hidden_size", n->a.rnn.hidden);
    es_export_str(x, "direction", directions[n->a.rnn.direction]);
    if (n->a.rnn.layout)
        es_export_int(x, "layout", n->a.rnn.layout);
    if (n->op == ES_OP_GRU)
        es_export_int(x, "linear_before_reset", n->a.rnn.linear_before_reset);
    es_export_output_slot(x, n->a.rnn.output);
    return 0;
}

/* PyTorch's nn.GRU / nn.LSTM: W, R and B uniform in ±1/√hidden. */
void es_rnn_init(es_graph *g, es_node *n, es_init kind)
{
    double s = 1.0 / sqrt((double)n->a.rnn.hidden);
    for (int k = 1; k <= 3; k++) {
        es_tensor *t = in_t(g, n, k);
        for (size_t i = 0; t && t->kind == ES_T_PARAM && i < t->size; i++)
            t->data[i] = (float)((2 * es_rand_uniform(g) - 1) * s);
    }
}
