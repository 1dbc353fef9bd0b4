/* The saliency figure (pipeline/es_pipeline.h): the one composition both the PNG writer and the SDL
 * viewer draw. */
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a tensor input is time-first (frames_mels), so its picture is turned to
 * (mels × frames) (as es_clip_picture does). */
static int turned(const es_clip *in)
{
    const char *js = es_meta_get(in->m.meta, ES_META_FEATURES);
    es_feature_config cfg;
    es_config_default(&cfg);
    return !in->audio && js && es_config_from_json(&cfg, js, "") == 0 &&
           cfg.layout == ES_LAYOUT_FRAMES_MELS;
}

int es_figure_columns(const es_clip *in)
{
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    return turned(in) && nd >= 2 ? d[nd - 2] : d[nd - 1];
}

/* Keeps columns [c0, c1) of a rows × cols matrix, in place. */
static void crop_cols(float *m, int rows, int cols, int c0, int c1)
{
    int n = c1 - c0;
    for (int i = 0; i < rows; i++)
        memmove(m + (size_t)i * n, m + (size_t)i * cols + c0, (size_t)n * sizeof *m);
}

/* The P(class) curve over the shown part: the strip draws prob[k] at the centre of the k-th
 * of n equal slices, joined by lines; sampling that line finely over [f0, f1) (fractions of
 * the whole) draws the same curve on the part. */
static float *prob_part(const float *prob, int n, double f0, double f1, int *len)
{
    int m = (int)ceil(n * (f1 - f0)) * 8 + 2;
    float *out = malloc((size_t)m * sizeof *out);
    if (!out)
        return NULL;
    for (int j = 0; j < m; j++) {
        double f = (f0 + (f1 - f0) * (j + 0.5) / m) * n - 0.5;
        int k = (int)floor(f);
        int a = k < 0 ? 0 : k >= n ? n - 1 : k, b = k + 1 < 0 ? 0 : k + 1 >= n ? n - 1 : k + 1;
        out[j] = (float)(prob[a] + (prob[b] - prob[a]) * (f - k));
    }
    *len = m;
    return out;
}

/* P(target) per window of a sound (NULL for a single row), and the mean in *mean. */
static float *window_probs(const es_clip *in, int target, float *mean)
{
    int W = in->x.dims[0];
    float *pr = malloc((size_t)in->classes * sizeof *pr), *prob = malloc((size_t)W * sizeof *prob);
    if (!pr || !prob) {
        free(pr), free(prob);
        return NULL;
    }
    double s = 0;
    for (int w = 0; w < W; w++) {
        es_clip_probabilities(in, in->scores + (size_t)w * in->classes, pr);
        s += prob[w] = pr[target];
    }
    *mean = (float)(s / W);
    free(pr);
    return prob;
}

int es_figure_render(const es_figure_opts *o, const es_clip *in, const char *file, es_sal_method method,
               const float *map, const es_sal_info *info, es_canvas *cv)
{
    size_t n = es_clip_map_size(in);
    float *base = NULL, *sal = NULL, *stitched = NULL, *prob = NULL, *part = NULL, pmean = NAN;
    int rows, cols, rc = -1;
    const float *inp = in->x.data;
    if (in->audio) {
        if (!(stitched = malloc(n * sizeof *stitched)) || es_clip_stitch(in, in->x.data, stitched) != 0)
            goto done;
        inp = stitched;
    }
    if (es_clip_picture(in, inp, &rows, &cols, &base) != 0 ||
        es_clip_picture(in, map, &rows, &cols, &sal) != 0)
        goto done;
    es_spec_plot p = {0};
    p.overlay = (es_overlay)ES_OVERLAY_DEFAULTS;
    if (o->mode || o->sign)
        es_overlay_parse(&p.overlay, o->mode, o->sign);
    p.overlay.outlier_perc = o->outlier, p.overlay.alpha = o->alpha, p.overlay.cmap = o->cmap;
    int c0 = o->c0 > 0 ? o->c0 : 0, c1 = o->c1 > 0 && o->c1 <= cols ? o->c1 : cols;
    if (c0 >= c1)
        c0 = 0, c1 = cols;
    double f0 = (double)c0 / cols, f1 = (double)c1 / cols;
    if (c1 - c0 < cols) { /* a part: the whole input's colour range, then the columns */
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (isfinite(base[i]))
                lo = fminf(lo, base[i]), hi = fmaxf(hi, base[i]);
        if (lo < hi)
            p.vmin = lo, p.vmax = hi;
        crop_cols(base, rows, cols, c0, c1), crop_cols(sal, rows, cols, c0, c1);
    }
    p.data = base, p.rows = rows, p.cols = c1 - c0, p.saliency = sal;
    prob = window_probs(in, info->target, &pmean);
    if (in->audio) {
        double secs = (double)in->frames * in->cfg.hop_length / in->cfg.sample_rate;
        double fmax = in->cfg.f_max > 0 ? in->cfg.f_max : in->cfg.sample_rate / 2.0 + in->cfg.f_max;
        p.x = (es_axis){secs * f0, secs * f1, ES_SCALE_LINEAR, "Time (s)"};
        p.y = (es_axis){in->cfg.f_min, fmax, in->cfg.mel_scale == ES_MEL_HTK ? ES_SCALE_MEL_HTK : ES_SCALE_MEL_SLANEY,
                        "Frequency (Hz)"};
        if (in->cfg.n_mfcc > 0 || in->cfg.n_mels <= 0)
            p.y = (es_axis){0, rows, ES_SCALE_LINEAR, "bin", 1};
        /* what the model sees: standardised features are no longer dB */
        p.cbar_label = in->cfg.standardize != ES_STANDARDIZE_NONE ? "standardised"
                       : in->cfg.log == ES_LOG_DB                 ? "dB"
                                                                  : "value";
        int W = in->x.dims[0];
        if (W > 1 && prob) { /* P(target) per window */
            p.prob = prob, p.prob_len = W;
            if (c1 - c0 < cols && (part = prob_part(prob, W, f0, f1, &p.prob_len)))
                p.prob = part;
            p.prob_label = es_model_label(&in->m, info->target);
        }
    } else {
        p.x = (es_axis){c0, c1, ES_SCALE_LINEAR, "frame", 1};
        p.y = (es_axis){0, rows, ES_SCALE_LINEAR, "bin", 1};
        p.cbar_label = "value";
    }
    char title[512], pstr[32] = "";
    const char *label = es_model_label(&in->m, info->target);
    const char *bn = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (isfinite(pmean))
        snprintf(pstr, sizeof pstr, ", %s %.2f", in->x.dims[0] > 1 ? "mean P" : "P", pmean);
    snprintf(title, sizeof title, "%s — %s, class %d%s%s (score %.3g%s)", bn,
             es_sal_method_name(method), info->target, label ? " " : "", label ? label : "",
             info->score, pstr);
    p.title = o->title ? o->title : title;
    es_font *font = o->font ? o->font : es_font_open(NULL);
    if (!font)
        goto done;
    es_style st = {font};
    es_rect all = {0, 0, o->w, o->h};
    if (es_canvas_init(cv, o->w, o->h, ES_RGBA(255, 255, 255, 255)) == 0)
        rc = o->quad ? es_plot_saliency_quad(cv, all, &st, &p) : es_plot_spectrogram(cv, all, &st, &p);
    if (font != o->font)
        es_font_close(font);
done:
    free(base), free(sal), free(stitched), free(prob), free(part);
    return rc;
}
