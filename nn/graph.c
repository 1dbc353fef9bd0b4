/* The graph: named tensors and nodes in topological order, shape inference, buffers,
 * forward and backward. Ops themselves live in the op table (ops.c and the op files). */
#include "nn/graph.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int es_node_fail(const es_node *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return es_fail("node %s (%s): %s", n->name, es_ops[n->op].name, msg);
}

void es_set_shape(es_tensor *t, int ndim, const int *dims)
{
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->size *= (size_t)dims[i];
    }
}

es_graph *es_graph_new(void)
{
    es_graph *g = calloc(1, sizeof *g);
    if (g) {
        es_graph_seed(g, 0x5eed);
        g->plan_what = ES_GRAD_INPUTS | ES_GRAD_PARAMS;
    }
    return g;
}

void es_graph_free(es_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->nt; i++) {
        free(g->t[i].name);
        if (g->t[i].kind != ES_T_ACT)
            free(g->t[i].data);
        free(g->t[i].gown);
    }
    for (int i = 0; i < g->nn; i++) {
        free(g->n[i].name);
        free(g->n[i].in);
        free(g->n[i].out);
        free(g->n[i].aux);
    }
    free(g->t);
    free(g->n);
    free(g->arena);
    free(g);
}

/* ---- RNG: splitmix64 seeding a xorshift128+ ---------------------------------------------- */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void es_graph_seed(es_graph *g, uint64_t seed)
{
    g->rng[0] = splitmix64(&seed);
    g->rng[1] = splitmix64(&seed);
}

double es_rand_uniform(es_graph *g)
{
    uint64_t s1 = g->rng[0];
    const uint64_t s0 = g->rng[1];
    g->rng[0] = s0;
    s1 ^= s1 << 23;
    g->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return (double)((g->rng[1] + s0) >> 11) * (1.0 / 9007199254740992.0);
}

double es_rand_normal(es_graph *g)
{
    /* Box–Muller; the second variate is dropped to keep the state simple. */
    double u1 = es_rand_uniform(g), u2 = es_rand_uniform(g);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* ---- building ------------------------------------------------------------------------- */
/* Room for one more of n items of `size` in *p (capacity *cap, doubled from 64). */
static int grow_array(void **p, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 0;
    int c = *cap ? 2 * *cap : 64;
    void *q = realloc(*p, c * size);
    if (!q)
        return es_fail("out of memory");
    *p = q, *cap = c;
    return 0;
}

int es_tensor_find(const es_graph *g, const char *name)
{
    for (int i = 0; i < g->nt; i++)
        if (strcmp(g->t[i].name, name) == 0)
            return i;
    return -1;
}

int es_tensor_add(es_graph *g, const char *name, es_tensor_kind kind, int ndim, const int *dims,
                  const float *data)
{
    if (!name || !*name)
        return es_fail("tensor without a name");
    if (es_tensor_find(g, name) >= 0)
        return es_fail("tensor %s: name used twice", name);
    if (ndim < 0 || ndim > ES_MAX_DIMS)
        return es_fail("tensor %s: %d dimensions (at most %d)", name, ndim, ES_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0 || (dims[i] == 0 && kind != ES_T_ACT))
            return es_fail("tensor %s: bad dimension %d", name, dims[i]);
    if (grow_array((void **)&g->t, &g->cap_t, g->nt, sizeof *g->t) != 0)
        return -1;
    es_tensor *t = &g->t[g->nt];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->producer = -1;
    es_set_shape(t, ndim, dims);
    if (!(t->name = strdup(name)))
        return es_fail("out of memory");
    if (kind != ES_T_ACT) {
        t->cap = t->size;
        t->data = calloc(t->size ? t->size : 1, sizeof(float));
        if (!t->data) {
            free(t->name);
            return es_fail("tensor %s: out of memory", name);
        }
        if (data)
            memcpy(t->data, data, t->size * sizeof(float));
    }
    g->forwarded = g->planned = 0;
    return g->nt++;
}

/* Shapes, aux and the node's own workspace (shape() raises g->ws_need, kept as the largest). */
static int infer_node(es_graph *g, es_node *n)
{
    size_t most = g->ws_need;
    n->aux_bytes = g->ws_need = 0;
    int rc = es_ops[n->op].shape(g, n);
    n->ws_need = g->ws_need;
    g->ws_need = most > n->ws_need ? most : n->ws_need;
    g->planned = 0;
    return rc;
}

int es_node_add(es_graph *g, es_op_type op, const char *name, const es_attrs *a, int n_in,
                const int *in, int n_out, const char *const *out_names)
{
    if (op < 0 || op >= ES_OP_COUNT)
        return es_fail("node %s: unknown op", name ? name : "?");
    const es_op *o = &es_ops[op];
    if (!name || !*name)
        return es_fail("%s node without a name", o->name);
    if (n_in < o->min_in || n_in > o->max_in)
        return es_fail("node %s (%s): %d inputs (wants %d to %d)", name, o->name, n_in, o->min_in,
                       o->max_in);
    for (int k = 0; k < n_in; k++)
        if (in[k] < -1 || in[k] >= g->nt || (in[k] == -1 && k < o->min_in))
            return es_fail("node %s (%s): input %d is missing", name, o->name, k);
    if (n_out < 1 || n_out > 2)
        return es_fail("node %s (%s): %d outputs", name, o->name, n_out);
    if (grow_array((void **)&g->n, &g->cap_n, g->nn, sizeof *g->n) != 0)
        return -1;
    es_node *n = &g->n[g->nn];
    memset(n, 0, sizeof *n);
    n->op = op;
    if (a)
        n->a = *a;
    else
        es_op_defaults(op, &n->a);
    n->name = strdup(name);
    n->in = malloc((n_in ? n_in : 1) * sizeof(int));
    n->out = malloc(n_out * sizeof(int));
    if (!n->name || !n->in || !n->out)
        goto oom;
    n->n_in = n_in;
    memcpy(n->in, in, n_in * sizeof(int));
    int first_new = g->nt;
    for (int k = 0; k < n_out; k++) {
        char buf[300];
        const char *on = out_names && out_names[k] ? out_names[k] : buf;
        snprintf(buf, sizeof buf, k ? "%s:%d" : "%s", name, k);
        int t = es_tensor_add(g, on, ES_T_ACT, 0, NULL, NULL);
        if (t < 0)
            goto undo;
        g->t[t].producer = g->nn;
        n->out[n->n_out++] = t;
    }
    if (infer_node(g, n) != 0)
        goto undo;
    g->forwarded = 0;
    return g->nn++;
oom:
    es_fail("out of memory");
undo:
    while (g->nt > first_new)
        free(g->t[--g->nt].name);
    free(n->name);
    free(n->in);
    free(n->out);
    return -1;
}

int es_graph_mark_output(es_graph *g, int t)
{
    if (t < 0 || t >= g->nt)
        return es_fail("no tensor %d to mark as output", t);
    if (!g->t[t].is_output) {
        int last = 0;
        for (int i = 0; i < g->nt; i++)
            last = g->t[i].is_output > last ? g->t[i].is_output : last;
        g->t[t].is_output = last + 1;
    }
    return 0;
}

int es_graph_output_first(es_graph *g, int t)
{
    if (t < 0 || t >= g->nt || !g->t[t].is_output)
        return es_fail("tensor %d is not a graph output", t);
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].is_output && g->t[i].is_output < g->t[t].is_output)
            g->t[i].is_output++;
    g->t[t].is_output = 1;
    return 0;
}

/* ---- looking --------------------------------------------------------------------------- */
int es_graph_n_tensors(const es_graph *g) { return g->nt; }
int es_graph_n_nodes(const es_graph *g) { return g->nn; }
const char *es_tensor_name(const es_graph *g, int t) { return g->t[t].name; }
es_tensor_kind es_tensor_kind_of(const es_graph *g, int t) { return g->t[t].kind; }
size_t es_tensor_size(const es_graph *g, int t) { return g->t[t].size; }
/* An activation only while the plan has not given its memory to another buffer. */
float *es_tensor_data(es_graph *g, int t)
{
    es_tensor *x = &g->t[t];
    if (x->kind != ES_T_ACT) { /* a leaf the caller may write: the activations may go stale */
        es_graph_touched(g);
        return x->data;
    }
    if (!g->planned || g->step < x->producer) {
        es_fail("tensor %s: not computed yet (es_forward first)", x->name);
        return NULL;
    }
    if (x->data_until <= g->step) {
        es_fail("tensor %s: its memory was reused after its last reader; pin it (es_graph_pin) "
                "before the pass", x->name);
        return NULL;
    }
    return x->data;
}

/* Only the last backward pass's gradient: a stale one from an earlier pass (another target,
 * another branch) would look like an answer. */
float *es_tensor_grad(es_graph *g, int t)
{
    es_tensor *x = &g->t[t];
    if (!x->grad_fresh) {
        es_fail("tensor %s: the last backward pass did not reach it", x->name);
        return NULL;
    }
    if (x->grad != x->gown && x->grad_until <= g->step) {
        es_fail("tensor %s: its gradient's memory was reused; ask for it with "
                "es_graph_want_grad before the pass", x->name);
        return NULL;
    }
    return x->grad;
}
es_op_type es_node_op(const es_graph *g, int node) { return g->n[node].op; }
const char *es_node_name(const es_graph *g, int node) { return g->n[node].name; }
const es_attrs *es_node_attrs(const es_graph *g, int node) { return &g->n[node].a; }
int es_node_producing(const es_graph *g, int t) { return g->t[t].producer; }

int es_node_perm(const es_graph *g, int node, int *perm)
{
    const es_node *nd = &g->n[node];
    if (nd->op != ES_OP_TRANSPOSE)
        return -1;
    int r = g->t[nd->in[0]].ndim;
    for (int i = 0; i < r; i++)
        perm[i] = nd->a.dims.n_list ? nd->a.dims.list[i] : r - 1 - i;
    return r;
}

int es_tensor_shape(const es_graph *g, int t, int *dims)
{
    memcpy(dims, g->t[t].dims, g->t[t].ndim * sizeof(int));
    return g->t[t].ndim;
}

int es_node_inputs(const es_graph *g, int node, const int **ids)
{
    *ids = g->n[node].in;
    return g->n[node].n_in;
}

int es_node_outputs(const es_graph *g, int node, const int **ids)
{
    *ids = g->n[node].out;
    return g->n[node].n_out;
}

int es_graph_inputs(const es_graph *g, int *ids, int max)
{
    int k = 0;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].kind == ES_T_INPUT && k < max)
            ids[k++] = i;
    return k;
}

int es_graph_outputs(const es_graph *g, int *ids, int max)
{
    /* in the order they were marked: ONNX's graph.output order, not the tensors' */
    int k = 0;
    for (int rank = 1; k < max; rank++) {
        int found = -1;
        for (int i = 0; i < g->nt && found < 0; i++)
            found = g->t[i].is_output == rank ? i : -1;
        if (found < 0)
            break;
        ids[k++] = found;
    }
    if (k == 0 && g->nn > 0 && max > 0)
        ids[k++] = g->n[g->nn - 1].out[0];
    return k;
}

size_t es_graph_n_params(const es_graph *g)
{
    size_t n = 0;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].kind == ES_T_PARAM)
            n += g->t[i].size;
    return n;
}

size_t es_graph_state_copy(es_graph *g, float *buf, int save)
{
    size_t off = 0;
    for (int i = 0; i < g->nt; i++) {
        es_tensor *t = &g->t[i];
        if (t->kind != ES_T_PARAM && t->kind != ES_T_STATE)
            continue;
        if (buf)
            save ? memcpy(buf + off, t->data, t->size * sizeof *buf)
                 : memcpy(t->data, buf + off, t->size * sizeof *buf);
        off += t->size;
    }
    if (buf && !save)
        es_graph_touched(g);
    return off;
}

/* ---- running ----------------------------------------------------------------------------- */
/* No gradient of the graph is fresh any more (a new shape, a failed pass). */
static void forget_grads(es_graph *g)
{
    for (int i = 0; i < g->nt; i++)
        g->t[i].grad_fresh = 0;
}

int es_graph_set_batch(es_graph *g, int batch)
{
    if (batch < 1)
        return es_fail("batch size %d", batch);
    for (int i = 0; i < g->nt; i++) {
        es_tensor *t = &g->t[i];
        if (t->kind == ES_T_INPUT && t->ndim > 0 && t->dims[0] != batch) {
            t->dims[0] = batch;
            es_set_shape(t, t->ndim, t->dims);
            if (t->size > t->cap) {
                float *d = realloc(t->data, t->size * sizeof(float));
                if (!d)
                    return es_fail("tensor %s: out of memory", t->name);
                t->data = d, t->cap = t->size;
            }
        }
    }
    g->ws_need = 0;
    forget_grads(g);
    for (int i = 0; i < g->nn; i++)
        if (infer_node(g, &g->n[i]) != 0)
            return -1;
    g->forwarded = g->planned = 0;
    return 0;
}

/* Plans the arena for the current shapes (when they, the pins or the mode changed) and
 * sizes every aux. Repeated passes at one batch size allocate nothing. */
static int prepare(es_graph *g, es_mode mode)
{
    if ((!g->planned || g->plan_mode != mode) && es_plan_make(g, mode) != 0)
        return -1;
    for (int i = 0; i < g->nn; i++) {
        es_node *n = &g->n[i];
        if (n->aux_bytes > 0) {
            void *a = realloc(n->aux, n->aux_bytes);
            if (!a)
                return es_fail("node %s: out of memory", n->name);
            n->aux = a;
        }
    }
    g->step = -1;
    return 0;
}

/* Runs node i forward or backward with its workspace in place. */
static void run_node(es_graph *g, int i, int back, const es_pass *p)
{
    es_node *n = &g->n[i];
    g->ws = n->ws_need ? g->arena + n->ws_off[back] : NULL;
    g->ws_size = n->ws_need;
    if (!es_node_absorbed(n)) /* else its BN did its work */
        (back ? es_ops[n->op].backward : es_ops[n->op].forward)(g, n, p);
    g->step = back ? 2 * g->nn - 1 - i : i;
}

int es_forward(es_graph *g, es_mode mode)
{
    g->forwarded = 0;
    if (prepare(g, mode) != 0)
        return -1;
    es_pass p = {.mode = mode, .rule = ES_RELU_STANDARD};
    for (int i = 0; i < g->nt; i++) /* the arena's gradients are overwritten from now on */
        if (g->t[i].grad != g->t[i].gown)
            g->t[i].grad_fresh = 0;
    for (int i = 0; i < g->nn; i++)
        run_node(g, i, 0, &p);
    g->last_mode = mode;
    g->forwarded = 1;
    g->passes++, g->fwd_writes = g->writes;
    return 0;
}

uint64_t es_graph_forward_id(const es_graph *g)
{
    return g->forwarded && g->fwd_writes == g->writes ? g->passes : 0;
}

void es_graph_touched(es_graph *g) { g->writes++; }

/* Marks the tensors whose gradient this pass needs: those downstream of a requested leaf
 * (an input or parameter, by `what`) and upstream of `from`. */
static void mark_needs_grad(es_graph *g, int from, int what)
{
    for (int i = 0; i < g->nt; i++) {
        es_tensor *t = &g->t[i];
        t->needs_grad = (t->kind == ES_T_INPUT && (what & ES_GRAD_INPUTS)) ||
                        (t->kind == ES_T_PARAM && (what & ES_GRAD_PARAMS)) || t->want_grad;
    }
    for (int i = 0; i < g->nn; i++) { /* downstream */
        es_node *n = &g->n[i];
        int any = 0;
        for (int k = 0; k < n->n_in; k++)
            any |= n->in[k] >= 0 && g->t[n->in[k]].needs_grad;
        for (int k = 0; k < n->n_out; k++) /* or-ed: a wanted output is a leaf itself */
            g->t[n->out[k]].needs_grad |= any;
    }
    for (int i = 0; i < g->nt; i++)
        g->t[i].upstream = i == from;
    for (int i = g->nn - 1; i >= 0; i--) { /* upstream */
        es_node *n = &g->n[i];
        int any = 0;
        for (int k = 0; k < n->n_out; k++)
            any |= g->t[n->out[k]].upstream;
        for (int k = 0; any && k < n->n_in; k++)
            if (n->in[k] >= 0)
                g->t[n->in[k]].upstream = 1;
    }
    for (int i = 0; i < g->nt; i++)
        g->t[i].needs_grad &= g->t[i].upstream;
}


int es_graph_want_grad(es_graph *g, int t, int on)
{
    if (t < 0 || t >= g->nt)
        return es_fail("no tensor %d", t);
    /* a fused BN output has no gradient of its own: a new plan, and a new forward pass */
    int p = g->t[t].producer;
    if (on && !g->t[t].want_grad && p >= 0 && g->n[p].op == ES_OP_BATCHNORM && g->n[p].fused_with)
        g->planned = g->forwarded = 0;
    g->t[t].want_grad = on;
    return 0;
}

/* Where t's gradient goes in this pass: the plan's slot, or its own buffer for what the
 * caller reads after the pass (inputs, parameters, wanted tensors) and for the seed. */
static int place_grad(es_graph *g, es_tensor *t, int from_here)
{
    t->zeroed = 0;
    const es_node *p = t->producer >= 0 ? &g->n[t->producer] : NULL;
    if (p && p->op == ES_OP_BATCHNORM && p->fused_with && !from_here) {
        t->grad = NULL; /* the BN reads its Relu's output gradient (batchnorm.c) */
        return 0;
    }
    if (t->grad_slot && t->kind == ES_T_ACT && !t->want_grad && !from_here) {
        t->grad = t->grad_slot;
        return 0;
    }
    if (t->size > t->gcap || !t->gown) {
        float *q = realloc(t->gown, (t->size ? t->size : 1) * sizeof(float));
        if (!q)
            return es_fail("tensor %s: out of memory", t->name);
        t->gown = q, t->gcap = t->size;
    }
    t->grad = t->gown;
    memset(t->grad, 0, t->size * sizeof(float));
    t->zeroed = 1;
    return 0;
}

/* Before node n passes gradients to its inputs: those the pass has not touched yet (a planned
 * slot holds whatever the arena had there) are cleared, or left for n to store whole when its
 * op does (es_op_stores_grad; not an input n reads twice): the mask of es_pass.fresh. */
static unsigned prepare_input_grads(es_graph *g, const es_node *n)
{
    unsigned fresh = 0;
    for (int k = 0; k < n->n_in; k++) {
        es_tensor *t = n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
        if (!t || !t->needs_grad || t->zeroed)
            continue;
        int twice = 0;
        for (int j = 0; j < n->n_in; j++)
            twice |= j != k && n->in[j] == n->in[k];
        if (k < 32 && !twice && es_op_stores_grad(n->op, k))
            fresh |= 1u << k;
        else
            memset(t->grad, 0, t->size * sizeof(float));
        t->zeroed = 1;
    }
    return fresh;
}

int es_backward(es_graph *g, int from, const float *seed, es_relu_rule rule, int what)
{
    if (!g->forwarded)
        return es_fail("backward without a forward pass");
    if (from < 0 || from >= g->nt)
        return es_fail("backward from tensor %d: no such tensor", from);
    int kept = g->plan_what & ES_PLAN_KEEP_ALL ? ~0 : g->plan_what;
    if (!kept || ((what & ES_GRAD_PARAMS) && !(kept & ES_GRAD_PARAMS)))
        return es_fail("backward%s: the memory plan keeps nothing for it (es_graph_plan)",
                       what & ES_GRAD_PARAMS ? " to the parameters" : "");
    forget_grads(g);
    mark_needs_grad(g, from, what);
    g->t[from].needs_grad = 1;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].needs_grad && place_grad(g, &g->t[i], i == from) != 0)
            return -1;
    es_tensor *f = &g->t[from];
    for (size_t i = 0; i < f->size; i++)
        f->grad[i] = seed ? seed[i] : 1.0f;
    es_pass p = {.mode = g->last_mode, .rule = rule, .param_grads = !!(what & ES_GRAD_PARAMS)};
    for (int i = g->nn - 1; i >= 0; i--) {
        es_node *n = &g->n[i];
        int out = 0, in = 0; /* a node runs when it has a gradient to pass and a taker */
        for (int k = 0; k < n->n_out; k++)
            out |= g->t[n->out[k]].needs_grad;
        for (int k = 0; k < n->n_in; k++)
            in |= n->in[k] >= 0 && g->t[n->in[k]].needs_grad;
        if (out && in && !es_node_absorbed(n)) {
            p.fresh = prepare_input_grads(g, n);
            run_node(g, i, 1, &p);
        }
    }
    g->step = 2 * g->nn - 1;
    for (int i = 0; i < g->nt; i++)
        g->t[i].grad_fresh = g->t[i].needs_grad && g->t[i].grad;
    return 0;
}
