/* A sound's features as the model takes them: standardised, cut into windows in its layout.
 * The one copy es_model_load_for (a file's windows) and the datasets (training crops, file
 * scores) share, so a model sees in eval what it saw in training. */
#include "pipeline/internal.h"
#include <math.h>

/* Mean and variance in double over the group, in the order the model's windows read it. */
void es_pl_standardize(float *x, int bands, int T, es_standardize how)
{
    if (how == ES_STANDARDIZE_NONE)
        return;
    int groups = how == ES_STANDARDIZE_GLOBAL ? 1 : bands;
    for (int gi = 0; gi < groups; gi++) {
        int b0 = groups == 1 ? 0 : gi, b1 = groups == 1 ? bands : gi + 1;
        double s = 0, ss = 0;
        long cnt = 0;
        for (int b = b0; b < b1; b++)
            for (int t = 0; t < T; t++) {
                double v = x[(size_t)b * T + t];
                s += v, ss += v * v, cnt++;
            }
        double mean = s / cnt, var = ss / cnt - mean * mean;
        double inv = 1.0 / sqrt(var > 1e-12 ? var : 1e-12);
        for (int b = b0; b < b1; b++)
            for (int t = 0; t < T; t++)
                x[(size_t)b * T + t] = (float)((x[(size_t)b * T + t] - mean) * inv);
    }
}

/* Frames [start, start+F) of x (bands × T) into the model's layout, the frames past the end
 * repeated from the window's own (fit pad_repeat) or zero; bands shifted by `shift` (edge
 * bands repeated). */
void es_pl_window(const es_feature_config *c, const float *x, int bands, int T, int start,
                  int shift, float *out)
{
    int F = c->frames > 0 ? c->frames : T;
    int have = T - start < F ? T - start : F;
    int time_first = c->layout == ES_LAYOUT_FRAMES_MELS;
    for (int t = 0; t < F; t++) {
        int src = t < have ? t : c->fit == ES_FIT_PAD_REPEAT && have > 0 ? t % have : -1;
        for (int b = 0; b < bands; b++) {
            int sb = b - shift < 0 ? 0 : b - shift >= bands ? bands - 1 : b - shift;
            float v = src < 0 ? 0.0f : x[(size_t)sb * T + start + src];
            out[time_first ? (size_t)t * bands + b : (size_t)b * F + t] = v;
        }
    }
}
