/* Ranking metrics of a binary detector: the ROC curve and the area under it. */
#include "nn/es_nn.h"
#include <stdlib.h>

typedef struct {
    float s;
    int pos;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? 1 : x > y ? -1 : 0;
}

static scored *sorted(const float *score, const int *positive, int n, int *np, int *nn)
{
    scored *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    *np = *nn = 0;
    for (int i = 0; i < n; i++) {
        v[i].s = score[i], v[i].pos = positive[i] != 0;
        *np += v[i].pos;
    }
    *nn = n - *np;
    qsort(v, n, sizeof *v, by_score_desc);
    return v;
}

/* Walks the scores from the highest down; tied scores move the curve diagonally, which is
 * the Mann–Whitney statistic with ties counted half (sklearn's roc_auc_score). */
int es_roc_curve(const float *score, const int *positive, int n, float *fpr, float *tpr,
                 double *auc)
{
    int np, nn;
    scored *v = sorted(score, positive, n, &np, &nn);
    if (!v)
        return es_fail("out of memory");
    if (np == 0 || nn == 0) {
        free(v);
        return es_fail("ROC AUC needs positives and negatives (%d and %d)", np, nn);
    }
    double area = 0;
    int tp = 0, fp = 0, k = 0;
    if (fpr)
        fpr[0] = tpr[0] = 0;
    k = 1;
    for (int i = 0; i < n;) {
        int tp0 = tp, fp0 = fp;
        float s = v[i].s;
        for (; i < n && v[i].s == s; i++)
            v[i].pos ? tp++ : fp++;
        area += (double)(fp - fp0) * (tp + tp0) / 2.0;
        if (fpr)
            fpr[k] = (float)fp / nn, tpr[k] = (float)tp / np;
        k++;
    }
    free(v);
    if (auc)
        *auc = area / ((double)np * nn);
    return k;
}

double es_roc_auc(const float *score, const int *positive, int n)
{
    double auc = -1;
    return es_roc_curve(score, positive, n, NULL, NULL, &auc) < 0 ? -1 : auc;
}
