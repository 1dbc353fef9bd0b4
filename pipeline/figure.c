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

/* The picture's rows and columns (es_clip_picture's orientation). */
static void picture_size(const es_clip *in, int *rows, int *cols)
{
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    int r = nd >= 2 ? d[nd - 2] : 1, c = d[nd - 1];
    *rows = turned(in) && nd >= 2 ? c : r, *cols = turned(in) && nd >= 2 ? r : c;
}

int es_figure_columns(const es_clip *in)
{
    int rows, cols;
    picture_size(in, &rows, &cols);
    return cols;
}

/* The columns shown, [*c0, *c1) of cols: all when o asks for none or an empty part. */
static void shown(const es_figure_opts *o, int cols, int *c0, int *c1)
{
    *c0 = o->c0 > 0 ? o->c0 : 0, *c1 = o->c1 > 0 && o->c1 <= cols ? o->c1 : cols;
    if (*c0 >= *c1)
        *c0 = 0, *c1 = cols;
}

/* The rows shown, [*r0, *r1) of rows (a frequency zoom): all when o asks for none. */
static void shown_rows(const es_figure_opts *o, int rows, int *r0, int *r1)
{
    *r0 = o->r0 > 0 ? o->r0 : 0, *r1 = o->r1 > 0 && o->r1 <= rows ? o->r1 : rows;
    if (*r0 >= *r1)
        *r0 = 0, *r1 = rows;
}

void es_figure_axes(const es_figure_opts *o, const es_clip *in, es_axis *x, es_axis *y)
{
    int rows, cols, c0, c1, r0, r1;
    picture_size(in, &rows, &cols);
    shown(o, cols, &c0, &c1);
    if (in->audio) {
        es_feature_axes(&in->cfg, rows, c0, c1 - c0, ES_AXES_TIME | ES_AXES_FREQ, x, y);
    } else {
        *x = (es_axis){c0, c1, ES_SCALE_LINEAR, "frame", 1};
        *y = (es_axis){0, rows, ES_SCALE_LINEAR, "bin", 1};
    }
    shown_rows(o, rows, &r0, &r1);
    if (r1 - r0 < rows) { /* rows are evenly spaced in the axis's scale (mel or linear) */
        double lo = es_scale_apply(y->lo, y->scale), hi = es_scale_apply(y->hi, y->scale);
        y->lo = es_scale_invert(lo + (hi - lo) * r0 / rows, y->scale);
        y->hi = es_scale_invert(lo + (hi - lo) * r1 / rows, y->scale);
    }
}

/* The input (a sound's windows stitched) and the map as picture matrices (new arrays). */
static int matrices(const es_clip *in, const float *map, float **base, float **sal, int *rows,
                    int *cols)
{
    float *stitched = NULL;
    const float *inp = in->x.data;
    if (in->audio) {
        size_t n = es_clip_map_size(in);
        if (!(stitched = malloc(n * sizeof *stitched)))
            return es_fail("out of memory");
        if (es_clip_stitch(in, in->x.data, stitched) != 0)
            return free(stitched), -1;
        inp = stitched;
    }
    int rc = es_clip_picture(in, inp, rows, cols, base) != 0 ||
             (map && es_clip_picture(in, map, rows, cols, sal) != 0) ? -1 : 0;
    free(stitched);
    return rc;
}

/* A part: the whole input's colour range (so scrolling does not flicker), then rows [r0, r1)
 * of columns [c0, c1) of base and sal into *pb and *ps (new arrays). */
static int crop_part(es_spec_plot *p, const float *base, const float *sal, int rows, int cols,
                     int c0, int c1, int r0, int r1, float **pb, float **ps)
{
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (isfinite(base[i]))
            lo = fminf(lo, base[i]), hi = fmaxf(hi, base[i]);
    if (lo < hi)
        p->vmin = lo, p->vmax = hi;
    size_t w = (size_t)(c1 - c0), n = (size_t)(r1 - r0) * w;
    if (!(*pb = malloc(n * sizeof **pb)) || (sal && !(*ps = malloc(n * sizeof **ps))))
        return free(*pb), *pb = NULL, es_fail("out of memory");
    for (int i = r0; i < r1; i++) {
        memcpy(*pb + (i - r0) * w, base + (size_t)i * cols + c0, w * sizeof **pb);
        if (sal) /* NULL: the input alone */
            memcpy(*ps + (i - r0) * w, sal + (size_t)i * cols + c0, w * sizeof **ps);
    }
    return 0;
}

/* "FILE — METHOD, class K LABEL (score S, P p)" into buf. */
static void title(const es_clip *in, const char *file, es_sal_method method,
                  const es_sal_info *info, float pmean, char *buf, size_t cap)
{
    char pstr[32] = "";
    const char *label = es_model_label(&in->m, info->target);
    const char *bn = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (isfinite(pmean))
        snprintf(pstr, sizeof pstr, ", %s %.2f", in->x.dims[0] > 1 ? "mean P" : "P", pmean);
    snprintf(buf, cap, "%s — %s, class %d%s%s (score %.3g%s)", bn, es_sal_method_name(method),
             info->target, label ? " " : "", label ? label : "", info->score, pstr);
}

static int draw(const es_figure_opts *o, const es_spec_plot *p, es_canvas *cv)
{
    es_font *font = o->font ? o->font : es_font_open(NULL);
    if (!font)
        return -1;
    es_style st = {font};
    es_rect all = {0, 0, o->w, o->h};
    int rc = -1;
    if (es_canvas_init(cv, o->w, o->h, ES_RGBA(255, 255, 255, 255)) == 0)
        rc = o->quad ? es_plot_saliency_quad(cv, all, &st, p) : es_plot_spectrogram(cv, all, &st, p);
    if (font != o->font)
        es_font_close(font);
    return rc;
}

int es_figure_render(const es_figure_opts *o, const es_clip *in, const char *file,
                     es_sal_method method, const float *map, const es_sal_info *info,
                     es_canvas *cv)
{
    float *base = NULL, *sal = NULL, *prob = NULL, *part = NULL, *pb = NULL, *ps = NULL, pmean = NAN;
    int rows, cols, c0, c1, r0, r1, rc = -1;
    const float *wb = o->input_picture, *ws = o->map_picture; /* the whole pictures */
    if (wb && ws) /* kept by the caller: no stitching for every part shown */
        picture_size(in, &rows, &cols);
    else if (matrices(in, map, &base, &sal, &rows, &cols) != 0)
        goto done;
    else
        wb = base, ws = sal;
    es_spec_plot p = {0};
    p.overlay = (es_overlay)ES_OVERLAY_DEFAULTS;
    if (o->mode || o->sign)
        es_overlay_parse(&p.overlay, o->mode, o->sign);
    p.overlay.outlier_perc = o->outlier, p.overlay.alpha = o->alpha, p.overlay.cmap = o->cmap;
    shown(o, cols, &c0, &c1);
    shown_rows(o, rows, &r0, &r1);
    if ((c1 - c0 < cols || r1 - r0 < rows) &&
        crop_part(&p, wb, ws, rows, cols, c0, c1, r0, r1, &pb, &ps) != 0)
        goto done;
    p.data = pb ? pb : wb, p.rows = r1 - r0, p.cols = c1 - c0, p.saliency = pb ? ps : ws;
    p.area = o->area;
    es_figure_axes(o, in, &p.x, &p.y);
    prob = window_probs(in, info->target, &pmean);
    /* what the model sees: standardised features are no longer dB */
    p.cbar_label = !in->audio                                   ? "value"
                   : in->cfg.standardize != ES_STANDARDIZE_NONE ? "standardised"
                   : in->cfg.n_mfcc > 0                         ? "coefficient"
                   : in->cfg.log == ES_LOG_DB                   ? "dB"
                                                                : "value";
    int W = in->x.dims[0];
    if (in->audio && W > 1 && prob) { /* P(target) per window */
        p.prob = prob, p.prob_len = W;
        if (c1 - c0 < cols &&
            (part = prob_part(prob, W, (double)c0 / cols, (double)c1 / cols, &p.prob_len)))
            p.prob = part;
        p.prob_label = es_model_label(&in->m, info->target);
    }
    char t[512];
    title(in, file, method, info, pmean, t, sizeof t);
    p.title = o->title ? o->title : t;
    rc = draw(o, &p, cv);
done:
    free(base), free(sal), free(pb), free(ps), free(prob), free(part);
    return rc;
}
