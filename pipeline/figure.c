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

/* P(target) of each of the verdict's windows (the P strip), malloc'd. */
static float *window_probs(const es_verdict *v, int target)
{
    float *prob = malloc((size_t)v->windows * sizeof *prob);
    for (int w = 0; prob && w < v->windows; w++)
        prob[w] = v->pw[(size_t)w * v->classes + target];
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

void es_figure_range(const float *picture, size_t n, float *lo, float *hi)
{
    float l = INFINITY, h = -INFINITY;
    /* no fminf / fmaxf calls (3 ms for 10 minutes); NaN compares false and ±inf are skipped */
    for (size_t i = 0; i < n; i++) {
        float b = picture[i];
        l = b < l && b > -INFINITY ? b : l;
        h = b > h && b < INFINITY ? b : h;
    }
    *lo = l, *hi = h;
}

/* A part: the whole input's colour range (so scrolling does not flicker; the caller's when
 * it keeps one), then rows [r0, r1) of columns [c0, c1) of base and sal into *pb and *ps (new
 * arrays). */
static int crop_part(const es_figure_opts *o, es_spec_plot *p, const float *base, const float *sal,
                     int rows, int cols, int c0, int c1, int r0, int r1, float **pb, float **ps)
{
    float lo = o->input_lo, hi = o->input_hi;
    if (!(o->input_picture == base && lo < hi))
        es_figure_range(base, (size_t)rows * cols, &lo, &hi);
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

/* "FILE — METHOD, LABEL P p: window W of N (T0–T1 s, RULE), score S" into buf (class K
 * without a label): the file's P of the class under the verdict's rule, the window that
 * decided, the class's score there. Short enough for the default 1000 pixels. */
static void title(const es_clip *in, const char *file, es_sal_method method,
                  const es_verdict *v, int target, char *buf, size_t cap)
{
    const char *label = es_model_label(&in->m, target);
    const char *bn = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    float score = in->vscores[(size_t)v->window * in->classes + target];
    char cls[32], where[96] = "";
    snprintf(cls, sizeof cls, "class %d", target);
    if (v->windows > 1 && v->F > 0)
        snprintf(where, sizeof where, ": window %d of %d (%.2f–%.2f s, %s)", v->window,
                 v->windows, v->t0, v->t1, es_aggregate_name(v->rule));
    else if (v->windows > 1)
        snprintf(where, sizeof where, ": row %d of %d (%s)", v->window, v->windows,
                 es_aggregate_name(v->rule));
    snprintf(buf, cap, "%s — %s, %s P %.2f%s, score %.3g", bn, es_sal_method_name(method),
             label ? label : cls, v->pc[target], where, score);
}

/* The lines under the picture: what the map is of, IG's baseline against the input, the
 * windows the model cannot judge. Their number. */
static int caption(const es_figure_opts *o, const es_clip *in, es_sal_method method,
                   const es_sal_info *info, const es_verdict *v, char lines[3][256])
{
    int n = 0;
    if (o->decisive && v->F > 0)
        snprintf(lines[n++], 256, "the map of window %d (%.2f–%.2f s) alone", v->window, v->t0,
                 v->t1);
    if (method == ES_SAL_IG) {
        const char *label = es_model_label(&in->m, info->target);
        snprintf(lines[n++], 256, "IG baseline scores %.3g for %s, the input %.3g%s",
                 info->base_score, label ? label : "the class", info->score,
                 info->base_score >= info->score
                     ? ": not below it — the baseline is not neutral for this class"
                     : "");
    }
    if (es_verdict_note(v, lines[n], 256) > 0)
        n++;
    return n;
}

static int draw(const es_figure_opts *o, const es_spec_plot *p, char lines[3][256], int n,
                es_canvas *cv)
{
    es_font *font = o->font ? o->font : es_font_open(NULL);
    if (!font)
        return -1;
    es_style st = {font};
    float px = o->h / 36.0f < 11 ? 11 : o->h / 36.0f > 16 ? 16 : o->h / 36.0f;
    int line = (int)(px * 1.4f), cap = n * line + (n ? line / 2 : 0);
    es_rect all = {0, 0, o->w, o->h - cap > o->h / 2 ? o->h - cap : o->h / 2};
    int rc = -1;
    if (es_canvas_init(cv, o->w, o->h, ES_RGBA(255, 255, 255, 255)) == 0)
        rc = o->quad ? es_plot_saliency_quad(cv, all, &st, p) : es_plot_spectrogram(cv, all, &st, p);
    for (int i = 0; rc == 0 && i < n; i++) /* red: the lines say what to distrust */
        es_text_draw(cv, font, px, (int)px, all.h + i * line + line / 4, lines[i],
                     ES_RGBA(160, 20, 20, 255), ES_LEFT | ES_TOP);
    if (font != o->font)
        es_font_close(font);
    return rc;
}

int es_figure_render(const es_figure_opts *o, const es_clip *in, const char *file,
                     es_sal_method method, const float *map, const es_sal_info *info,
                     es_canvas *cv)
{
    float *base = NULL, *sal = NULL, *prob = NULL, *part = NULL, *pb = NULL, *ps = NULL;
    int rows, cols, c0, c1, r0, r1, rc = -1;
    es_verdict v = {0};
    const float *wb = o->input_picture, *ws = o->map_picture; /* the whole pictures */
    if (es_clip_verdict(in, NULL, &v) != 0)
        goto done;
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
        crop_part(o, &p, wb, ws, rows, cols, c0, c1, r0, r1, &pb, &ps) != 0)
        goto done;
    p.data = pb ? pb : wb, p.rows = r1 - r0, p.cols = c1 - c0, p.saliency = pb ? ps : ws;
    p.area = o->area;
    es_figure_axes(o, in, &p.x, &p.y);
    prob = window_probs(&v, info->target);
    /* what the model sees: standardised features are no longer dB */
    p.cbar_label = !in->audio                                   ? "value"
                   : in->cfg.standardize != ES_STANDARDIZE_NONE ? "standardised"
                   : in->cfg.n_mfcc > 0                         ? "coefficient"
                   : in->cfg.log == ES_LOG_DB                   ? "dB"
                                                                : "value";
    int W = v.windows;
    if (in->audio && W > 1 && prob) { /* P(target) per window of the verdict */
        p.prob = prob, p.prob_len = W;
        if (c1 - c0 < cols &&
            (part = prob_part(prob, W, (double)c0 / cols, (double)c1 / cols, &p.prob_len)))
            p.prob = part;
        p.prob_label = es_model_label(&in->m, info->target);
    }
    char t[512], lines[3][256];
    title(in, file, method, &v, info->target, t, sizeof t);
    p.title = o->title ? o->title : t;
    rc = draw(o, &p, lines, caption(o, in, method, info, &v, lines), cv);
done:
    es_verdict_free(&v);
    free(base), free(sal), free(pb), free(ps), free(prob), free(part);
    return rc;
}
