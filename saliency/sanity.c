/* Sanity checks for saliency maps (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"):
 * the layers to randomize, the randomization, and the two similarity measures. */
#include "saliency/es_saliency.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int es_sanity_layers(const es_graph *g, int *ids, int max)
{
    int n = 0;
    for (int k = es_graph_n_nodes(g) - 1; k >= 0; k--) {
        const int *in;
        int ni = es_node_inputs(g, k, &in);
        for (int i = 0; i < ni; i++)
            if (in[i] >= 0 && es_tensor_kind_of(g, in[i]) == ES_T_PARAM) {
                if (n < max)
                    ids[n] = k;
                n++;
                break;
            }
    }
    return n < max ? n : max;
}

int es_sanity_randomize(es_graph *g, int node, uint64_t seed)
{
    const int *in;
    int ni = es_node_inputs(g, node, &in);
    for (int i = 0; i < ni; i++) {
        if (in[i] < 0 || es_tensor_kind_of(g, in[i]) != ES_T_PARAM)
            continue;
        float *w = es_tensor_data(g, in[i]);
        size_t n = es_tensor_size(g, in[i]);
        double s = 0, ss = 0;
        for (size_t j = 0; j < n; j++)
            s += w[j], ss += (double)w[j] * w[j];
        double mean = s / n, var = ss / n - mean * mean, sd = var > 1e-20 ? sqrt(var) : 0.01;
        es_sal_noise(seed + 0x9E37ull * (uint64_t)(i + 1), w, n);
        for (size_t j = 0; j < n; j++)
            w[j] = (float)(mean + sd * w[j]);
    }
    return 0;
}

/* Ranks 1..n, ties sharing their average rank (scipy.stats.rankdata). */
static int ranks(const float *v, size_t n, int absolute, double *r)
{
    float *a = calloc(n ? n : 1, sizeof *a);
    size_t *k = malloc((n ? n : 1) * sizeof *k);
    if (!a || !k) {
        free(a), free(k);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = absolute ? fabsf(v[i]) : v[i];
    int rc = es_argsort(a, n, 0, k);
    for (size_t i = 0; rc == 0 && i < n;) {
        size_t j = i;
        while (j + 1 < n && a[k[j + 1]] == a[k[i]])
            j++;
        for (size_t t = i; t <= j; t++)
            r[k[t]] = 0.5 * (i + j) + 1;
        i = j + 1;
    }
    free(a), free(k);
    return rc;
}

double es_spearman(const float *a, const float *b, size_t n, int absolute)
{
    double *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb), c = NAN;
    if (ra && rb && ranks(a, n, absolute, ra) == 0 && ranks(b, n, absolute, rb) == 0) {
        double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
        for (size_t i = 0; i < n; i++)
            ma += ra[i], mb += rb[i];
        ma /= n, mb /= n;
        for (size_t i = 0; i < n; i++) {
            double x = ra[i] - ma, y = rb[i] - mb;
            sab += x * y, saa += x * x, sbb += y * y;
        }
        c = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
    }
    free(ra), free(rb);
    return c;
}

static void unit_abs(const float *a, size_t n, double *o)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(a[i]) > m ? fabs(a[i]) : m;
    for (size_t i = 0; i < n; i++)
        o[i] = m > 0 ? fabs(a[i]) / m : 0;
}

double es_ssim(const float *a, const float *b, int rows, int cols)
{
    int win = 7;
    win = rows < win ? rows : win, win = cols < win ? cols : win;
    if (win % 2 == 0)
        win--;
    size_t n = (size_t)rows * cols;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (!x || !y || win < 1) {
        free(x), free(y);
        return NAN;
    }
    unit_abs(a, n, x), unit_abs(b, n, y);
    const double C1 = 1e-4, C2 = 9e-4, np_ = (double)win * win;
    const double cov = np_ > 1 ? np_ / (np_ - 1) : 1;
    double total = 0;
    long count = 0;
    for (int r = 0; r + win <= rows; r++)
        for (int c = 0; c + win <= cols; c++) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int i = r; i < r + win; i++)
                for (int j = c; j < c + win; j++) {
                    double u = x[(size_t)i * cols + j], v = y[(size_t)i * cols + j];
                    sx += u, sy += v, sxx += u * u, syy += v * v, sxy += u * v;
                }
            double ux = sx / np_, uy = sy / np_;
            double vx = cov * (sxx / np_ - ux * ux), vy = cov * (syy / np_ - uy * uy);
            double vxy = cov * (sxy / np_ - ux * uy);
            total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
            count++;
        }
    free(x), free(y);
    return count ? total / count : NAN;
}
