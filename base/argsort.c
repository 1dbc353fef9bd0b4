/* The order that sorts a float array: one sort for ranks, top fractions and ROC curves. */
#include "base/es_base.h"
#include <stdlib.h>

typedef struct {
    float v;
    size_t i;
} keyed;

static int ascending(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return (x->v > y->v) - (x->v < y->v);
    return (x->i > y->i) - (x->i < y->i);
}

static int descending(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return (x->v < y->v) - (x->v > y->v);
    return (x->i > y->i) - (x->i < y->i);
}

int es_argsort(const float *v, size_t n, int descend, size_t *order)
{
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return es_fail("out of memory");
    for (size_t i = 0; i < n; i++)
        k[i].v = v[i], k[i].i = i;
    qsort(k, n, sizeof *k, descend ? descending : ascending);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].i;
    free(k);
    return 0;
}
