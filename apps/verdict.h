/* What the verbs that decide (predict, eval, saliency, view, export) share: the rule the
 * --aggregate flag gives, and a verdict (pipeline/es_pipeline.h's es_verdict) as JSON. */
#ifndef ES_APP_VERDICT_H
#define ES_APP_VERDICT_H
#include "pipeline/es_pipeline.h"

typedef struct cJSON cJSON;
/* The rule of --aggregate (flag: OPT_AGGREGATE's int, -1 when not given) in *buf: buf, or NULL
 * (the model's own, es_model_aggregate). */
const es_aggregate *verdict_rule(int flag, es_aggregate *buf);
/* {rule, index, label, p, probabilities, window, windows, start_frame, end_frame, start_s,
 * end_s, window_p: [P(index) of each window], window_flags: [null | "silent" | …], unjudged:
 * the number of windows flagged, note: the sentence es_verdict_note gives (or absent)}; a
 * tensor's verdict has no frames, seconds or flags. */
cJSON *verdict_json(const es_verdict *v, const es_model *m);

#endif
