/* Saliency overlays with Captum's conventions (captum/attr/_utils/visualization.py):
 * _cumulative_sum_threshold, _normalize_attr and the four image methods of
 * visualize_image_attr, drawn at display resolution over a base matrix. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Captum sorts the values and takes the first whose running sum reaches the target. The
 * same element is found here by quickselect with sums (expected O(n), no full sort): the
 * answer lies among the smaller values when their sum alone reaches the target. */
static float select_cumsum(float *v, size_t n, double target)
{
    double before = 0; /* sum of the values known to lie below the current range */
    size_t lo = 0, hi = n;
    while (hi > lo) {
        float p = v[lo + (hi - lo) / 2];
        size_t lt = lo, gt = hi, i = lo; /* three-way partition: [lo,lt) < p, [gt,hi) > p */
        double s_lt = 0, s_eq = 0;
        while (i < gt) {
            float x = v[i];
            if (x < p) {
                v[i++] = v[lt], v[lt++] = x, s_lt += x;
            } else if (x > p) {
                v[i] = v[--gt], v[gt] = x;
            } else {
                i++, s_eq += x;
            }
        }
        if (lt > lo && before + s_lt >= target) {
            hi = lt;
        } else if (before + s_lt + s_eq >= target || gt == hi) {
            return p; /* also when rounding leaves the total a hair below the target */
        } else {
            before += s_lt + s_eq;
            lo = gt;
        }
    }
    return 0;
}

float es_cumsum_threshold(const float *v, size_t n, float percentile)
{
    if (n == 0)
        return 0;
    float *w = malloc(sizeof(float) * n);
    if (!w) {
        es_fail("saliency: out of memory");
        return NAN;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = isnan(v[i]) ? 0 : v[i];
        total += w[i];
    }
    float t = select_cumsum(w, n, total * 0.01 * percentile);
    free(w);
    return t;
}

/* The part of x a sign keeps, as Captum's _normalize_attr selects it. */
static inline float sign_part(float x, es_sign s)
{
    switch (s) {
    case ES_SIGN_POSITIVE: return x > 0 ? x : 0;
    case ES_SIGN_NEGATIVE: return x < 0 ? x : 0;
    case ES_SIGN_ABSOLUTE: return fabsf(x);
    default: return x;
    }
}

int es_saliency_normalize(const float *attr, size_t n, es_sign sign, float outlier_perc,
                          float *out)
{
    if ((unsigned)sign >= ES_SIGN_N)
        return es_fail("saliency: invalid sign %d", (int)sign);
    if (outlier_perc < 0 || outlier_perc > 100)
        return es_fail("saliency: outlier percentage %g is outside 0..100", outlier_perc);
    float *mag = malloc(sizeof(float) * (n ? n : 1));
    if (!mag)
        return es_fail("saliency: out of memory");
    for (size_t i = 0; i < n; i++) /* ±inf and NaN do not set the scale; they clip below */
        mag[i] = isfinite(attr[i]) ? fabsf(sign_part(attr[i], sign)) : 0;
    float t = es_cumsum_threshold(mag, n, 100 - outlier_perc);
    free(mag);
    if (isnan(t))
        return -1;
    /* negative: Captum divides the negative part by −threshold, giving magnitudes */
    float scale = t > 0 ? (sign == ES_SIGN_NEGATIVE ? -1 / t : 1 / t) : 0;
    for (size_t i = 0; i < n; i++) {
        float x = sign_part(attr[i], sign) * scale;
        out[i] = x < -1 ? -1 : x > 1 ? 1 : x == x ? x : 0; /* NaN shows as 0 */
    }
    return 0;
}

static const char *const mode_names[ES_OVERLAY_N] = {"none", "heat", "blended", "masked", "alpha"};
static const char *const sign_names[ES_SIGN_N] = {"absolute", "positive", "negative", "all"};

const char *es_overlay_mode_name(es_overlay_mode m)
{
    return (unsigned)m < ES_OVERLAY_N ? mode_names[m] : NULL;
}

const char *es_sign_name(es_sign s) { return (unsigned)s < ES_SIGN_N ? sign_names[s] : NULL; }

int es_overlay_allows(es_overlay_mode m, es_sign s)
{
    return !((m == ES_OVERLAY_MASKED || m == ES_OVERLAY_ALPHA) && s == ES_SIGN_ALL);
}

int es_overlay_parse(es_overlay *o, const char *mode, const char *sign)
{
    for (int i = 0; mode && i < ES_OVERLAY_N; i++)
        if (strcmp(mode, mode_names[i]) == 0)
            o->mode = (es_overlay_mode)i, mode = NULL;
    for (int i = 0; sign && i < ES_SIGN_N; i++)
        if (strcmp(sign, sign_names[i]) == 0)
            o->sign = (es_sign)i, sign = NULL;
    if (mode)
        return es_fail("unknown overlay mode '%s' (heat, blended, masked, alpha, none)", mode);
    if (sign)
        return es_fail("unknown sign '%s' (positive, negative, absolute, all)", sign);
    if (!es_overlay_allows(o->mode, o->sign))
        return es_fail("overlay %s cannot show sign all (Captum refuses it too): choose "
                       "positive, negative or absolute", mode_names[o->mode]);
    return 0;
}

/* Captum's default colormap for each sign. */
const es_cmap *es_viz_overlay_cmap(const es_overlay *o)
{
    static const char *names[] = {"Blues", "Greens", "Reds", "RdWhGn"};
    if ((unsigned)o->sign >= ES_SIGN_N || (unsigned)o->mode >= ES_OVERLAY_N) {
        es_fail("overlay: invalid mode %d or sign %d", (int)o->mode, (int)o->sign);
        return NULL;
    }
    return es_cmap_get(o->cmap ? o->cmap : names[o->sign]);
}

typedef struct {
    const uint8_t (*base)[4], (*heat)[4];
    float lo, scale;
    es_overlay_mode mode;
    int all, heat_alpha;
} overlay_ctx;

/* One pixel of each method, as the colour to put over the canvas: n is the normalised map
 * value, b the base colour. */
static inline es_rgba overlay_px(const overlay_ctx *o, es_rgba b, float n)
{
    switch (o->mode) {
    case ES_OVERLAY_HEAT:
    case ES_OVERLAY_BLENDED: {
        es_rgba h = lut_colour(o->heat, o->all ? (n + 1) * 0.5f : n);
        if (o->mode == ES_OVERLAY_HEAT)
            return h;
        uint8_t px[4] = {b.r, b.g, b.b, b.a}; /* the heat map over the base */
        blend_px(px, h, cover_alpha(h, o->heat_alpha));
        return (es_rgba){px[0], px[1], px[2], px[3]};
    }
    case ES_OVERLAY_MASKED: { /* _prepare_image: int(rgb · n), clipped to 0..255 */
        float m = n < 0 ? 0 : n;
        return (es_rgba){(uint8_t)(b.r * m), (uint8_t)(b.g * m), (uint8_t)(b.b * m), b.a};
    }
    case ES_OVERLAY_ALPHA: /* the base with alpha = int(n · 255) */
        b.a = (uint8_t)cover_alpha(b, (int)((n < 0 ? 0 : n) * 255));
        return b;
    default:
        return b;
    }
}

static void overlay_colours(const void *ctx, const float *base, const float *norm, int n,
                            es_rgba *out)
{
    const overlay_ctx *o = ctx;
    for (int i = 0; i < n; i++)
        out[i] = overlay_px(o, lut_colour(o->base, (base[i] - o->lo) * o->scale), norm[i]);
}

int es_draw_overlay(es_canvas *c, es_rect r, const float *base, const float *attr, int rows,
                    int cols, const es_cmap *base_cmap, float base_vmin, float base_vmax,
                    const es_overlay *o, int flags)
{
    if (!base || !attr || rows <= 0 || cols <= 0 || r.w <= 0 || r.h <= 0 || !base_cmap)
        return es_fail("overlay: empty matrix (%dx%d) or region (%dx%d)", rows, cols, r.w, r.h);
    if (!es_overlay_allows(o->mode, o->sign))
        return es_fail("overlay: masked and alpha cannot show sign all");
    const es_cmap *heat = es_viz_overlay_cmap(o);
    if (!heat)
        return -1;
    size_t n = (size_t)rows * cols;
    float *norm = malloc(sizeof(float) * n);
    if (!norm)
        return es_fail("overlay: out of memory");
    resampled rb = {0}, ra = {0};
    int rc = es_saliency_normalize(attr, n, o->sign, o->outlier_perc, norm);
    if (rc == 0 && (es_viz_resample_init(&rb, base, rows, cols, r.w, r.h, flags) != 0 ||
                    es_viz_resample_init(&ra, norm, rows, cols, r.w, r.h, flags) != 0))
        rc = -1;
    free(norm);
    overlay_ctx ctx = {es_viz_cmap_lut(base_cmap), es_viz_cmap_lut(heat), base_vmin,
                       base_vmax != base_vmin ? 1.0f / (base_vmax - base_vmin) : 0, o->mode,
                       o->sign == ES_SIGN_ALL,
                       o->mode == ES_OVERLAY_BLENDED ? (int)lroundf(o->alpha * 255) : 255};
    if (rc == 0)
        rc = es_viz_draw_resampled(c, r, &rb, &ra, overlay_colours, &ctx);
    es_viz_resample_free(&rb), es_viz_resample_free(&ra);
    return rc;
}
