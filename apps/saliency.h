/* What the saliency, sanity, sonify and view verbs share: the method settings, and turning
 * them into es_sal_opts for an input (pipeline/es_pipeline.h's es_clip). */
#ifndef ES_APP_SALIENCY_H
#define ES_APP_SALIENCY_H
#include "pipeline/es_pipeline.h"

/* The method settings; their flags are OPT_SALIENCY (apps/opt.h). */
typedef struct {
    es_sal_opts o;
    const char *method, *target, *layer, *upsample, *ig_method, *baseline;
    int hop_frames;
    es_array base; /* --baseline FILE.npy */
} sal_args;
void sal_args_init(sal_args *a);
void sal_args_free(sal_args *a);

/* Resolves --method, --layer, --target, --baseline, --upsample, --ig-method into a->o.
 * Returns 0, 1 (runtime error printed, e.g. an unknown layer) or 2 (usage error printed). */
int sal_resolve(sal_args *a, es_clip *in, const char *verb);

#endif
