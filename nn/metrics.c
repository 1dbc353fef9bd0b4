/* Ranking metrics of a binary detector: the ROC curve and the area under it. */
#include "nn/es_nn.h"
#include <stdlib.h>

/* Walks the scores from the highest down; tied scores move the curve diagonally, which is
 * the Mann–Whitney statistic with ties counted half (sklearn's roc_auc_score). */
int es_roc_curve(const float *score, const int *positive, int n, float *fpr, float *tpr,
                 double *auc)
{
    int np = 0, nn;
    for (int i = 0; i < n; i++)
        np += positive[i] != 0;
    nn = n - np;
    if (np == 0 || nn == 0)
        return es_fail("ROC AUC needs positives and negatives (%d and %d)", np, nn);
    size_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v || es_argsort(score, (size_t)n, 1, v) != 0) {
        free(v);
        return es_fail("out of memory");
    }
    double area = 0;
    int tp = 0, fp = 0, k = 0;
    if (fpr)
        fpr[0] = tpr[0] = 0;
    k = 1;
    for (int i = 0; i < n;) {
        int tp0 = tp, fp0 = fp;
        float s = score[v[i]];
        for (; i < n && score[v[i]] == s; i++)
            positive[v[i]] ? tp++ : fp++;
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
