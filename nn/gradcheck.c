/* Finite-difference gradient checking, for tests and for anyone adding an op. */
#include "nn/graph.h"
#include <math.h>
#include <stdlib.h>

static uint64_t check_seed = 0xc0ffee;

/* L = Σ seed·out in double after a forward with a fixed RNG state. */
static int loss(es_graph *g, int out, es_mode mode, const float *seed, double *l)
{
    es_graph_seed(g, check_seed);
    if (es_forward(g, mode) != 0)
        return -1;
    const es_tensor *t = &g->t[out];
    double s = 0;
    for (size_t i = 0; i < t->size; i++)
        s += (double)seed[i] * t->data[i];
    *l = s;
    return 0;
}

double es_grad_check(es_graph *g, int wrt, int out, es_mode mode, int max_checks, double h)
{
    if (es_forward(g, mode) != 0) /* sizes the buffers */
        return -1;
    es_tensor *o = &g->t[out], *w = &g->t[wrt];
    float *seed = malloc(o->size * sizeof(float)), *ana = malloc(w->size * sizeof(float));
    double worst = -1, l0;
    if (!seed || !ana) {
        es_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < o->size; i++) /* fixed, uneven weights: 1, -0.7, 1.3, -0.4, ... */
        seed[i] = (float)(((i * 7919) % 13) / 6.0 - 1.0 + (i % 2 ? 0.05 : -0.05));
    int what = w->kind == ES_T_PARAM ? ES_GRAD_PARAMS : ES_GRAD_INPUTS;
    if (loss(g, out, mode, seed, &l0) != 0 ||
        es_backward(g, out, seed, ES_RELU_STANDARD, what) != 0)
        goto done;
    for (size_t i = 0; i < w->size; i++)
        ana[i] = w->grad_fresh ? w->grad[i] : 0.0f;
    worst = 0;
    size_t step = w->size > (size_t)max_checks ? w->size / max_checks : 1;
    for (size_t i = step / 2; i < w->size; i += step) {
        /* five-point stencil, (−L₂ + 8L₁ − 8L₋₁ + L₋₂) / 12h: its O(h⁴) truncation allows a
         * step large enough that float32 rounding in the forward pass stays small */
        static const int at[4] = {2, 1, -1, -2};
        static const double wt[4] = {-1, 8, -8, 1};
        float keep = w->data[i];
        double num = 0;
        for (int k = 0; k < 4; k++) {
            double l;
            w->data[i] = (float)(keep + at[k] * h);
            int bad = loss(g, out, mode, seed, &l);
            w->data[i] = keep;
            if (bad) {
                worst = -1;
                goto done;
            }
            num += wt[k] * l;
        }
        num /= 12 * h;
        double a = ana[i], den = fmax(fmax(fabs(a), fabs(num)), 1e-2);
        worst = fmax(worst, fabs(a - num) / den);
    }
done:
    free(seed);
    free(ana);
    return worst;
}
