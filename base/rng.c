/* splitmix64 (Steele, Lea & Flood 2014; Vigna's constants) and Box–Muller, written so that a
 * few lines of Python reproduce every draw bit for bit. */
#include "base/es_base.h"
#include <math.h>

uint64_t es_rng_next(es_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double es_rng_uniform(es_rng *r) { return (es_rng_next(r) >> 11) * 0x1p-53; }

int es_rng_below(es_rng *r, int n) { return n > 0 ? (int)(es_rng_uniform(r) * n) : 0; }

void es_box_muller(double u1, double u2, double z[2])
{
    double rad = sqrt(-2 * log(u1));
    z[0] = rad * cos(2 * M_PI * u2);
    z[1] = rad * sin(2 * M_PI * u2);
}

void es_rng_normal(es_rng *r, float *z, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        /* the midpoints of the 2^53 cells: never 0, so the logarithm stays finite */
        double u1 = ((es_rng_next(r) >> 11) + 0.5) * 0x1p-53;
        double u2 = ((es_rng_next(r) >> 11) + 0.5) * 0x1p-53, v[2];
        es_box_muller(u1, u2, v);
        z[i] = (float)v[0];
        if (i + 1 < n)
            z[i + 1] = (float)v[1];
    }
}
