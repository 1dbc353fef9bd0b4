/* Shared by the benchmark programs: a clock, medians, and running a peer script (PyTorch,
 * torchaudio, matplotlib) in the same run. Each bench prints "name: earsight X ms, peer Y ms,
 * ratio Y/X" lines, so a ratio above 1 means earsight is faster. */
#ifndef ES_BENCH_H
#define ES_BENCH_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PEER_PYTHON "/usr/bin/python3"

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Times `body` (a statement) `reps` times after one warm-up run; yields the median in ms. */
#define BENCH_MEDIAN(result, reps, body)                      \
    do {                                                      \
        double t_[64];                                        \
        int n_ = (reps) < 64 ? (reps) : 64;                   \
        body;                                                 \
        for (int r_ = 0; r_ < n_; r_++) {                     \
            double t0_ = now_ms();                            \
            body;                                             \
            t_[r_] = now_ms() - t0_;                          \
        }                                                     \
        (result) = median(t_, n_);                            \
    } while (0)

/* Runs `PEER_PYTHON script` when `module` imports; the script prints "name ms" lines.
 * Returns the number of values read into names/values (0: peer not installed). */
static inline int run_peer(const char *module, const char *script, char names[][64],
                           double *values, int max)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, PEER_PYTHON " -c 'import %s' >/dev/null 2>&1", module);
    if (system(cmd) != 0)
        return 0;
    snprintf(cmd, sizeof cmd, PEER_PYTHON " %s", script);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int n = 0;
    while (n < max && fscanf(p, "%63s %lf", names[n], &values[n]) == 2)
        n++;
    pclose(p);
    return n;
}

static inline double peer_value(char names[][64], const double *values, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return values[i];
    return 0;
}

static inline void report(const char *what, double ours, double peer, const char *peer_name)
{
    if (peer > 0)
        printf("%-34s earsight %9.2f ms   %s %9.2f ms   ratio %5.2fx\n", what, ours, peer_name,
               peer, peer / ours);
    else
        printf("%-34s earsight %9.2f ms   (%s not installed)\n", what, ours, peer_name);
}
#endif
