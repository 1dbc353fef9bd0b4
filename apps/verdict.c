/* The verdict as the verbs print it (apps/verdict.h). */
#include "apps/verdict.h"
#include "apps/opt.h"
#include <cJSON.h>

const char *const opt_aggregate_names[] = {"max", "mean", NULL};

const es_aggregate *verdict_rule(int flag, es_aggregate *buf)
{
    if (flag < 0)
        return NULL;
    *buf = flag == 1 ? ES_AGGREGATE_MEAN : ES_AGGREGATE_MAX;
    return buf;
}

cJSON *verdict_json(const es_verdict *v, const es_model *m)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rule", es_aggregate_name(v->rule));
    cJSON_AddNumberToObject(j, "index", v->cls);
    if (es_model_label(m, v->cls))
        cJSON_AddStringToObject(j, "label", es_model_label(m, v->cls));
    cJSON_AddNumberToObject(j, "p", v->p);
    cJSON_AddItemToObject(j, "probabilities", cJSON_CreateFloatArray(v->pc, v->classes));
    cJSON_AddNumberToObject(j, "window", v->window);
    cJSON_AddNumberToObject(j, "windows", v->windows);
    if (v->F > 0) {
        cJSON_AddNumberToObject(j, "start_frame", v->frame0);
        cJSON_AddNumberToObject(j, "end_frame", v->frame1);
        cJSON_AddNumberToObject(j, "start_s", v->t0);
        cJSON_AddNumberToObject(j, "end_s", v->t1);
    }
    cJSON *wp = cJSON_AddArrayToObject(j, "window_p");
    for (int w = 0; w < v->windows; w++)
        cJSON_AddItemToArray(wp, cJSON_CreateNumber(v->pw[(size_t)w * v->classes + v->cls]));
    if (v->flags) {
        cJSON *wf = cJSON_AddArrayToObject(j, "window_flags");
        for (int w = 0; w < v->windows; w++) {
            const char *t = es_window_flags_text(v->flags[w]);
            cJSON_AddItemToArray(wf, t ? cJSON_CreateString(t) : cJSON_CreateNull());
        }
        cJSON_AddNumberToObject(j, "unjudged", v->flagged);
    }
    char note[512];
    if (es_verdict_note(v, note, sizeof note) > 0)
        cJSON_AddStringToObject(j, "note", note);
    return j;
}
