/* What the pipeline's files share and its users do not see. */
#ifndef ES_PIPELINE_INTERNAL_H
#define ES_PIPELINE_INTERNAL_H
#include "pipeline/es_pipeline.h"

/* x (bands × T, row-major) standardised in place as `how` says: over the whole matrix, or per
 * band (ES_STANDARDIZE_NONE: untouched). */
void es_pl_standardize(float *x, int bands, int T, es_standardize how);
/* Frames [start, start + F) of x (bands × T; F = c->frames, or T) into `out` in the model's
 * layout (c->layout), the frames past the end repeated from the window's own (fit
 * pad_repeat) or zero; bands shifted up by `shift` (edge bands repeated). */
void es_pl_window(const es_feature_config *c, const float *x, int bands, int T, int start,
                  int shift, float *out);

/* The softmax of n scores into p (max subtracted, sums in double). */
void es_pl_softmax(const float *s, int n, float *p);

#endif
