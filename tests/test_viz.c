/* viz: colormaps against matplotlib's bytes, pixel-level golden checks of the primitives,
 * overlays (Captum's rules worked by hand) and every plot kind, PNG round trips and errors.
 * The plots are checked by reading colours back: runs of known colours along a row or a
 * column prove position and orientation (low frequencies at the bottom, time to the right). */
#include "tests/testutil.h"
#include "viz/es_viz.h"
#include <dirent.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cmap_names[] = {"viridis", "magma", "inferno", "plasma", "cividis", "gray",
                                   "RdBu_r", "bwr", "Greens", "Reds", "Blues", "RdWhGn"};
#define NMAPS 12
static const es_rgba WHITE = {255, 255, 255, 255};
static es_font *font;

static es_rgba px(const es_canvas *c, int x, int y)
{
    const uint8_t *p = es_canvas_row(c, y) + 4 * x;
    return (es_rgba){p[0], p[1], p[2], p[3]};
}
static int same(es_rgba a, es_rgba b) { return !memcmp(&a, &b, 4); }
#define assert_px(c, x, y, R, G, B, A)                                                       \
    do {                                                                                     \
        es_rgba p_ = px((c), (x), (y));                                                      \
        if (p_.r != (R) || p_.g != (G) || p_.b != (B) || p_.a != (A))                        \
            fail_msg("pixel (%d,%d) = %d,%d,%d,%d, want %d,%d,%d,%d", (x), (y), p_.r, p_.g, \
                     p_.b, p_.a, (R), (G), (B), (A));                                        \
    } while (0)
#define assert_color(got, want) assert_px_rgba(got, want, __LINE__)
static void assert_px_rgba(es_rgba g, es_rgba w, int line)
{
    if (!same(g, w))
        fail_msg("line %d: colour %d,%d,%d,%d, want %d,%d,%d,%d", line, g.r, g.g, g.b, g.a, w.r,
                 w.g, w.b, w.a);
}

/* The sequence of colours from `want` met along a line (row y, or column x when vertical),
 * each run counted once, and the run lengths. */
static int runs(const es_canvas *c, int fixed, int vertical, const es_rgba *want, int nwant,
                int *seq, int *len, int max)
{
    int n = 0, prev = -1, end = vertical ? c->h : c->w;
    for (int i = 0; i < end; i++) {
        es_rgba p = vertical ? px(c, fixed, i) : px(c, i, fixed);
        int k = -1;
        for (int j = 0; j < nwant; j++)
            if (same(p, want[j]))
                k = j;
        if (k >= 0 && k == prev) {
            len[n - 1]++;
        } else if (k >= 0 && n < max) {
            seq[n] = k, len[n] = 1, n++;
        }
        prev = k;
    }
    return n;
}

/* Bounding box and count of the pixels of one colour that lie in horizontal runs of at least
 * min_run pixels (image cells are wide; a colorbar row or a glyph edge is not). */
static int bbox_runs(const es_canvas *c, es_rgba col, es_rect *b, int min_run)
{
    int n = 0, x0 = c->w, y0 = c->h, x1 = -1, y1 = -1;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w;) {
            int e = x;
            while (e < c->w && same(px(c, e, y), col))
                e++;
            if (e - x >= min_run) {
                n += e - x;
                x0 = x < x0 ? x : x0, x1 = e - 1 > x1 ? e - 1 : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
            x = e > x ? e : x + 1;
        }
    *b = (es_rect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    return n;
}
static int bbox(const es_canvas *c, es_rgba col, es_rect *b) { return bbox_runs(c, col, b, 1); }

/* Two tiles side by side, {lo, hi} then {hi, lo}: across the middle of hi's bounding box the
 * colours run lo, hi, hi, lo. The four run lengths go to len (8 ints). */
static void assert_lo_hi_hi_lo(const es_canvas *c, es_rgba lo, es_rgba hi, int *len)
{
    es_rgba k[2] = {lo, hi};
    es_rect b;
    bbox(c, hi, &b);
    int seq[8];
    assert_int_equal(runs(c, b.y + b.h / 2, 0, k, 2, seq, len, 8), 4);
    assert_true(seq[0] == 0 && seq[1] == 1 && seq[2] == 1 && seq[3] == 0);
}

/* Every plot test leaves its canvas in build/viz_png/ for a look. */
static void save(const es_canvas *c, const char *name)
{
    char path[256];
    mkdir("build/viz_png", 0777);
    snprintf(path, sizeof path, "build/viz_png/%s.png", name);
    if (es_png_write(path, c, NULL) != 0)
        fail_msg("%s", es_error());
}

static es_rgba entry(const char *map, int i) { return es_cmap_entry(es_cmap_get(map), i); }

/* ---- colormaps ---- */

static void cmaps_equal_matplotlib(void **state)
{
    es_array a = load_fixture(FIXTURE("viz/cmaps.npy"));
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.dims[0], NMAPS);
    assert_int_equal(a.dims[1], 256);
    for (int m = 0; m < NMAPS; m++) {
        const es_cmap *cm = es_cmap_get(cmap_names[m]);
        assert_non_null(cm);
        for (int i = 0; i < 256; i++) {
            es_rgba e = es_cmap_entry(cm, i);
            const float *w = a.data + ((size_t)m * 256 + i) * 4;
            if (e.r != w[0] || e.g != w[1] || e.b != w[2] || e.a != w[3])
                fail_msg("%s[%d] = %d,%d,%d,%d, matplotlib %g,%g,%g,%g", cmap_names[m], i, e.r,
                         e.g, e.b, e.a, w[0], w[1], w[2], w[3]);
        }
    }
    es_array_free(&a);
    assert_null(es_cmap_get("jet"));
    assert_non_null(strstr(es_error(), "unknown colormap 'jet'"));
}

static void cmap_float_rule_equals_matplotlib(void **state)
{
    es_array probe = load_fixture(FIXTURE("viz/probe.npy"));
    es_array want = load_fixture(FIXTURE("viz/cmap_probe.npy"));
    int np = probe.dims[0];
    for (int m = 0; m < NMAPS; m++) {
        const es_cmap *cm = es_cmap_get(cmap_names[m]);
        for (int k = 0; k < np; k++) {
            es_rgba e = es_cmap_color(cm, probe.data[k]);
            const float *w = want.data + ((size_t)m * np + k) * 4;
            if (e.r != w[0] || e.g != w[1] || e.b != w[2] || e.a != w[3])
                fail_msg("%s(%g) = %d,%d,%d,%d, matplotlib %g,%g,%g,%g", cmap_names[m],
                         probe.data[k], e.r, e.g, e.b, e.a, w[0], w[1], w[2], w[3]);
        }
    }
    assert_int_equal(es_cmap_index(1.0f), 255);
    assert_int_equal(es_cmap_index(0.5f), 128);
    assert_int_equal(es_cmap_index(NAN), -1);
    es_array_free(&probe), es_array_free(&want);
}

/* ---- canvas primitives ---- */

static void canvas_blend_and_errors(void **state)
{
    es_canvas c;
    assert_int_equal(es_canvas_init(&c, 0, 10, WHITE), -1);
    assert_non_null(strstr(es_error(), "0x10"));
    assert_null(c.px);
    assert_int_equal(es_canvas_init(&c, 4, 3, WHITE), 0);
    assert_int_equal(c.stride, 16);
    /* 50 % red over white: (255·128 + 255·127 + 127)/255 = 255, (0 + 255·127 + 127)/255 = 127 */
    es_fill_rect(&c, (es_rect){1, 1, 2, 1}, ES_RGBA(255, 0, 0, 128));
    assert_px(&c, 1, 1, 255, 127, 127, 255);
    assert_px(&c, 2, 1, 255, 127, 127, 255);
    assert_px(&c, 0, 1, 255, 255, 255, 255);
    assert_px(&c, 1, 0, 255, 255, 255, 255);
    es_fill_rect(&c, (es_rect){-5, -5, 100, 100}, ES_RGBA(0, 0, 255, 255)); /* clipped */
    assert_px(&c, 3, 2, 0, 0, 255, 255);
    es_canvas_free(&c);
    /* onto transparent: the colour stays, alpha adds up */
    assert_int_equal(es_canvas_init(&c, 1, 1, ES_RGBA(0, 0, 0, 0)), 0);
    es_fill_rect(&c, (es_rect){0, 0, 1, 1}, ES_RGBA(200, 100, 50, 128));
    assert_px(&c, 0, 0, 200, 100, 50, 128);
    es_canvas_free(&c);
}

static void line_coverage(void **state)
{
    es_canvas c;
    es_canvas_init(&c, 8, 5, WHITE);
    /* width 1 along y = 2: the centre row is covered fully, its neighbours not at all */
    es_draw_line(&c, 1, 2, 5, 2, 1, ES_RGBA(0, 0, 0, 255));
    for (int x = 1; x <= 5; x++)
        assert_px(&c, x, 2, 0, 0, 0, 255);
    assert_px(&c, 3, 1, 255, 255, 255, 255);
    assert_px(&c, 3, 3, 255, 255, 255, 255);
    assert_px(&c, 7, 2, 255, 255, 255, 255);
    /* width 2 between rows: centre distance 0.5 from both rows → coverage 1 + 0.5 - 0.5 = 1 */
    es_draw_line(&c, 0, 0.5f, 7, 0.5f, 2, ES_RGBA(0, 0, 0, 255));
    assert_px(&c, 6, 0, 0, 0, 0, 255);
    assert_px(&c, 6, 1, 0, 0, 0, 255);
    es_canvas_free(&c);
}

static void blit_nearest_bilinear(void **state)
{
    es_canvas s, d;
    es_canvas_init(&s, 2, 1, ES_RGBA(0, 0, 0, 255));
    memset(s.px + 4, 255, 4);
    es_canvas_init(&d, 4, 1, WHITE);
    es_blit(&d, (es_rect){0, 0, 4, 1}, &s, ES_NEAREST);
    assert_px(&d, 0, 0, 0, 0, 0, 255);
    assert_px(&d, 1, 0, 0, 0, 0, 255);
    assert_px(&d, 2, 0, 255, 255, 255, 255);
    /* bilinear: centres at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) → 0, 64, 191, 255 */
    es_blit(&d, (es_rect){0, 0, 4, 1}, &s, ES_BILINEAR);
    assert_px(&d, 0, 0, 0, 0, 0, 255);
    assert_px(&d, 1, 0, 64, 64, 64, 255);
    assert_px(&d, 2, 0, 191, 191, 191, 255);
    assert_px(&d, 3, 0, 255, 255, 255, 255);
    es_canvas_free(&s), es_canvas_free(&d);
}

static void matrix_orientation_and_scaling(void **state)
{
    es_canvas c;
    es_canvas_init(&c, 2, 2, WHITE);
    const es_cmap *g = es_cmap_get("viridis");
    float m[4] = {0, 1, 2, 3}; /* row 0 = {0, 1}: with origin lower it is the bottom row */
    assert_int_equal(es_draw_matrix(&c, (es_rect){0, 0, 2, 2}, m, 2, 2, g, 0, 3, 1, ES_ORIGIN_LOWER), 0);
    assert_color(px(&c, 0, 1), es_cmap_entry(g, 0));   /* 0 */
    assert_color(px(&c, 1, 1), es_cmap_entry(g, 85));  /* 1/3·256 = 85.3 */
    assert_color(px(&c, 0, 0), es_cmap_entry(g, 170)); /* 2/3·256 = 170.7 */
    assert_color(px(&c, 1, 0), es_cmap_entry(g, 255)); /* 1 → N−1 */
    es_canvas_free(&c);
    /* shrinking averages: {0, 2, 4, 6} in two pixels → 1, 5 → 1/8·256 = 32, 5/8·256 = 160 */
    es_canvas_init(&c, 2, 1, WHITE);
    float r[4] = {0, 2, 4, 6};
    es_draw_matrix(&c, (es_rect){0, 0, 2, 1}, r, 1, 4, g, 0, 8, 1, 0);
    assert_color(px(&c, 0, 0), es_cmap_entry(g, 32));
    assert_color(px(&c, 1, 0), es_cmap_entry(g, 160));
    es_canvas_free(&c);
    /* enlarging is nearest; alpha 0.5 blends over white; NaN stays transparent */
    es_canvas_init(&c, 4, 1, WHITE);
    float e[2] = {0, NAN};
    es_draw_matrix(&c, (es_rect){0, 0, 4, 1}, e, 1, 2, g, 0, 1, 0.5f, 0);
    es_rgba v0 = es_cmap_entry(g, 0);
    for (int x = 0; x < 2; x++)
        assert_px(&c, x, 0, (v0.r * 128 + 255 * 127 + 127) / 255, (v0.g * 128 + 255 * 127 + 127) / 255,
                  (v0.b * 128 + 255 * 127 + 127) / 255, 255);
    assert_px(&c, 2, 0, 255, 255, 255, 255);
    assert_px(&c, 3, 0, 255, 255, 255, 255);
    assert_int_equal(es_draw_matrix(&c, (es_rect){0, 0, 4, 1}, e, 0, 2, g, 0, 1, 1, 0), -1);
    es_canvas_free(&c);
}

/* ---- Captum's normalisation and the overlay methods ---- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Captum's code, literally: sort, cumsum, first index reaching the target. */
static float captum_threshold(const float *v, size_t n, float perc)
{
    float *s = malloc(sizeof(float) * n);
    memcpy(s, v, sizeof(float) * n);
    qsort(s, n, sizeof(float), cmp_float);
    double total = 0, cum = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i];
    float t = s[n - 1];
    for (size_t i = 0; i < n; i++) {
        cum += s[i];
        if (cum >= total * 0.01 * perc) {
            t = s[i];
            break;
        }
    }
    free(s);
    return t;
}

static void cumsum_threshold_as_captum(void **state)
{
    float v[4] = {4, 1, 3, 2};
    assert_float_equal(es_cumsum_threshold(v, 4, 50), 3, 0); /* cumsum 1 3 6 10, target 5 */
    assert_float_equal(es_cumsum_threshold(v, 4, 98), 4, 0);
    assert_float_equal(es_cumsum_threshold(v, 4, 0), 1, 0);
    assert_float_equal(es_cumsum_threshold(v, 4, 100), 4, 0);
    srand(7);
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + rand() % 300;
        float *x = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++) /* small integers make many ties */
            x[i] = trial % 2 ? (float)(rand() % 7) : (float)rand() / RAND_MAX;
        float p = (float)(rand() % 101);
        assert_float_equal(es_cumsum_threshold(x, n, p), captum_threshold(x, n, p), 0);
        free(x);
    }
}

static void normalize_as_captum(void **state)
{
    float a[101], out[101];
    for (int i = 0; i < 100; i++)
        a[i] = 1;
    a[100] = 1.5f; /* 2 % of the total (2.03) is more than 1.5: it is the outlier, clipped */
    assert_int_equal(es_saliency_normalize(a, 101, ES_SIGN_ABSOLUTE, 2, out), 0);
    assert_float_equal(out[0], 1, 0);
    assert_float_equal(out[100], 1, 0);
    float b[3] = {-2, 1, 0}, o[3];
    es_saliency_normalize(b, 3, ES_SIGN_NEGATIVE, 0, o); /* −2 / −2 = 1: magnitudes */
    assert_float_equal(o[0], 1, 0);
    assert_float_equal(o[1], 0, 0);
    es_saliency_normalize(b, 3, ES_SIGN_ALL, 0, o); /* |.| threshold 2 */
    assert_float_equal(o[0], -1, 0);
    assert_float_equal(o[1], 0.5f, 0);
    es_saliency_normalize(b, 3, ES_SIGN_POSITIVE, 0, o);
    assert_float_equal(o[0], 0, 0);
    assert_float_equal(o[1], 1, 0);
    float z[2] = {0, 0};
    assert_int_equal(es_saliency_normalize(z, 2, ES_SIGN_ALL, 2, o), 0); /* Captum would fail */
    assert_float_equal(o[0], 0, 0);
    assert_int_equal(es_saliency_normalize(b, 3, ES_SIGN_ALL, 120, o), -1);
    float bad[4] = {NAN, INFINITY, 1, 2}, ob[4]; /* threshold from {0, 0, 1, 2}: 2 */
    assert_int_equal(es_saliency_normalize(bad, 4, ES_SIGN_ABSOLUTE, 0, ob), 0);
    assert_float_equal(ob[0], 0, 0);
    assert_float_equal(ob[1], 1, 0);
    assert_float_equal(ob[2], 0.5f, 0);
}

/* One 1 × 2 overlay on a 2 × 1 canvas, base gray 0 … 1. */
static void overlay_1x2(es_canvas *c, const float *base, const float *attr, const char *mode,
                        const char *sign)
{
    es_overlay o = ES_OVERLAY_DEFAULTS;
    o.outlier_perc = 0;
    assert_int_equal(es_overlay_parse(&o, mode, sign), 0);
    es_canvas_init(c, 2, 1, WHITE);
    assert_int_equal(es_draw_overlay(c, (es_rect){0, 0, 2, 1}, base, attr, 1, 2,
                                     es_cmap_get("gray"), 0, 1, &o, 0), 0);
}

static void overlay_modes_golden(void **state)
{
    es_canvas c;
    float base[2] = {0, 1}, attr[2] = {1, -3};
    /* sign all: threshold max|a| = 3 → {1/3, −1}; RdWhGn at (n + 1)/2 → bins 170, 0 */
    overlay_1x2(&c, base, attr, "heat", "all");
    assert_color(px(&c, 0, 0), entry("RdWhGn", 170));
    assert_color(px(&c, 1, 0), entry("RdWhGn", 0));
    es_canvas_free(&c);
    /* blended: the gray base, then the heat colour at alpha 0.5 (128/255) */
    overlay_1x2(&c, base, attr, "blended", "all");
    es_rgba h = entry("RdWhGn", 0), g = entry("gray", 255);
    assert_px(&c, 1, 0, (h.r * 128 + g.r * 127 + 127) / 255, (h.g * 128 + g.g * 127 + 127) / 255,
              (h.b * 128 + g.b * 127 + 127) / 255, 255);
    es_canvas_free(&c);
    /* negative: Reds, the magnitude of the negative part: {0, 1} → bins 0, 255 */
    overlay_1x2(&c, base, attr, "heat", "negative");
    assert_color(px(&c, 0, 0), entry("Reds", 0));
    assert_color(px(&c, 1, 0), entry("Reds", 255));
    es_canvas_free(&c);
    /* absolute: Blues {1/3, 1} → 85, 255 */
    overlay_1x2(&c, base, attr, "heat", "absolute");
    assert_color(px(&c, 0, 0), entry("Blues", 85));
    assert_color(px(&c, 1, 0), entry("Blues", 255));
    es_canvas_free(&c);
    /* masked, positive {0.5, 1} of threshold 1: white base × n, truncated: 127, 255 */
    float white[2] = {1, 1}, pos[2] = {0.5f, 1};
    overlay_1x2(&c, white, pos, "masked", "positive");
    assert_px(&c, 0, 0, 127, 127, 127, 255);
    assert_px(&c, 1, 0, 255, 255, 255, 255);
    es_canvas_free(&c);
    /* alpha scaling: black base with alpha int(0.5·255) = 127 over white → 128 */
    float black[2] = {0, 0};
    overlay_1x2(&c, black, pos, "alpha", "positive");
    assert_px(&c, 0, 0, 128, 128, 128, 255);
    assert_px(&c, 1, 0, 0, 0, 0, 255);
    es_canvas_free(&c);
    es_overlay o = ES_OVERLAY_DEFAULTS;
    assert_int_equal(es_overlay_parse(&o, "masked", "all"), -1);
    assert_int_equal(es_overlay_parse(&o, "sparkle", "all"), -1);
    assert_non_null(strstr(es_error(), "sparkle"));
    /* every name parses back to its value; the refused pairs are exactly the ones parse refuses */
    assert_null(es_overlay_mode_name(ES_OVERLAY_N));
    assert_null(es_sign_name(ES_SIGN_N));
    assert_string_equal(es_overlay_mode_name(ES_OVERLAY_BLENDED), "blended");
    for (int m = 0; m < ES_OVERLAY_N; m++)
        for (int s = 0; s < ES_SIGN_N; s++) {
            es_overlay p = ES_OVERLAY_DEFAULTS;
            int rc = es_overlay_parse(&p, es_overlay_mode_name(m), es_sign_name(s));
            assert_int_equal(rc, es_overlay_allows(m, s) ? 0 : -1);
            assert_true(rc != 0 || (p.mode == (es_overlay_mode)m && p.sign == (es_sign)s));
        }
    assert_false(es_overlay_allows(ES_OVERLAY_ALPHA, ES_SIGN_ALL));
}

/* ---- text ---- */

static void text_metrics_and_placement(void **state)
{
    assert_int_equal(es_text_width(font, 20, ""), 0);
    int w1 = es_text_width(font, 20, "H"), w4 = es_text_width(font, 20, "HHHH");
    assert_true(w1 > 8 && w1 < 20);
    assert_true(w4 >= 4 * w1 - 2 && w4 <= 4 * w1 + 2);
    assert_true(es_text_width(font, 40, "HHHH") > w4 * 19 / 10);
    int asc, desc;
    es_text_metrics(font, 20, &asc, &desc);
    assert_true(asc >= 15 && asc <= 22 && desc >= 3 && desc <= 7);
    es_canvas c;
    es_canvas_init(&c, 80, 40, WHITE);
    es_text_draw(&c, font, 20, 10, 30, "H", ES_RGBA(0, 0, 0, 255), ES_LEFT | ES_BASELINE);
    es_rgba dark = {0, 0, 0, 255};
    es_rect b;
    assert_true(bbox(&c, dark, &b) > 20); /* stems are solid black */
    /* "H" stands on the baseline (y = 30 is the first row below it), cap height ~0.73 em */
    assert_int_equal(b.y + b.h, 30);
    assert_true(b.h >= 13 && b.h <= 16);
    assert_true(b.x >= 10 && b.x <= 13);
    es_canvas_free(&c);
    /* turned text is tall and narrow, and reads upwards */
    es_canvas_init(&c, 40, 120, WHITE);
    es_text_draw_up(&c, font, 20, 20, 60, "HHHH", dark, ES_CENTER | ES_MIDDLE);
    assert_true(bbox(&c, dark, &b) > 40);
    assert_true(b.h > 3 * b.w);
    assert_true(abs(b.y + b.h / 2 - 60) <= 2);
    es_canvas_free(&c);
}

/* ---- plots ---- */

static es_style style(void) { return (es_style){font, 10}; }
/* A white w × h canvas for one plot, and the style the plots are drawn in. */
static es_style plot_canvas(es_canvas *c, int w, int h)
{
    es_canvas_init(c, w, h, WHITE);
    return style();
}

static void spectrogram_plot_golden(void **state)
{
    es_canvas c;
    es_style st = plot_canvas(&c, 320, 200);
    float d[4] = {0, 1, 2, 3}; /* rows = frequency (row 0 lowest), cols = time */
    es_spec_plot p = {d, 2, 2, {0, 2, ES_SCALE_LINEAR, "Time (s)"},
                      {0, 8000, ES_SCALE_MEL_SLANEY, "Hz"}, "viridis", 0, 3, "t"};
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 320, 200}, &st, &p), 0);
    save(&c, "spectrogram");
    es_rgba k[4] = {entry("viridis", 0), entry("viridis", 85), entry("viridis", 170),
                    entry("viridis", 255)};
    es_rect b[4];
    for (int i = 0; i < 4; i++)
        assert_true(bbox_runs(&c, k[i], &b[i], 30) > 500); /* colorbar rows are narrower */
    /* low frequency (row 0) at the bottom, time left to right */
    assert_true(b[2].y + b[2].h <= b[0].y + 1 && b[3].y + b[3].h <= b[1].y + 1);
    assert_true(b[0].x + b[0].w <= b[1].x + 1 && b[2].x + b[2].w <= b[3].x + 1);
    assert_true(abs(b[0].w - b[1].w) <= 1); /* halves of an odd size differ by one */
    assert_true(abs(b[0].h - b[2].h) <= 1);
    /* the image cells are solid: a row through the top half shows cell (1,0) then (1,1) */
    int seq[8], len[8];
    int n = runs(&c, b[2].y + 2, 0, k, 4, seq, len, 8);
    assert_true(n >= 2);
    assert_int_equal(seq[0], 2);
    assert_int_equal(seq[1], 3);
    assert_int_equal(len[0], b[2].w);
    /* the colorbar: a column right of the image whose bins fall from 255 at the top to 0 */
    int found = 0;
    for (int x = b[3].x + b[3].w + 2; x < c.w && !found; x++) {
        int top = -1, bottom = -1, mono = 1, prev = 256;
        for (int y = 0; y < c.h; y++)
            for (int i = 0; i < 256; i++)
                if (same(px(&c, x, y), entry("viridis", i))) {
                    top = top < 0 ? i : top, bottom = i;
                    mono &= i <= prev, prev = i;
                    break;
                }
        found = top >= 250 && bottom <= 5 && mono;
    }
    assert_true(found);
    es_canvas_free(&c);
}

static void spectrogram_strips_and_overlay(void **state)
{
    es_canvas c;
    es_style st = plot_canvas(&c, 400, 300);
    float d[4] = {0, 0, 0, 0}, sal[4] = {0, 0, 0, 1}, wave[64], prob[4] = {0, 1, 0, 1};
    for (int i = 0; i < 64; i++)
        wave[i] = (i % 2) ? 1 : -1;
    es_spec_plot p = {d, 2, 2, {0, 1, ES_SCALE_LINEAR, "Time (s)"},
                      {0, 1, ES_SCALE_LINEAR, "bin"}, NULL, 0, 1, NULL};
    p.wave = wave, p.wave_len = 64, p.prob = prob, p.prob_len = 4;
    p.saliency = sal;
    p.overlay = (es_overlay)ES_OVERLAY_DEFAULTS; /* blended, absolute, Blues over gray */
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 400, 300}, &st, &p), 0);
    save(&c, "strips_overlay");
    /* the salient cell is high frequency (top), late (right): gray 0 + Blues 255 at 0.5 */
    es_rgba h = entry("Blues", 255), g = entry("gray", 0), z = entry("Blues", 0);
    es_rgba hot = {(h.r * 128 + g.r * 127 + 127) / 255, (h.g * 128 + g.g * 127 + 127) / 255,
                   (h.b * 128 + g.b * 127 + 127) / 255, 255};
    es_rgba cold = {(z.r * 128 + g.r * 127 + 127) / 255, (z.g * 128 + g.g * 127 + 127) / 255,
                    (z.b * 128 + g.b * 127 + 127) / 255, 255};
    es_rect bh, bc;
    int nh = bbox(&c, hot, &bh), nc = bbox(&c, cold, &bc);
    assert_true(nh > 100);
    assert_int_equal(nc, 3 * nh);
    assert_int_equal(bh.x + bh.w, bc.x + bc.w); /* right column */
    assert_int_equal(bh.y, bc.y);               /* top row */
    /* the waveform (matplotlib's blue, anti-aliased) above the image, P(class) below */
    int above = 0, below = 0;
    for (int y = 0; y < c.h; y++)
        for (int x = bc.x; x < bc.x + bc.w; x++) {
            es_rgba q = px(&c, x, y);
            if (q.b > q.r + 60) /* blue, not gray */
                above += y < bc.y, below += y > bc.y + bc.h;
        }
    assert_true(above > 200);
    assert_true(below > 200);
    es_canvas_free(&c);
}

static void saliency_quad_golden(void **state)
{
    es_canvas c;
    es_style st = plot_canvas(&c, 300, 400);
    float d[2] = {0, 1}, sal[2] = {2, -1}; /* 1 × 2: early positive, late negative */
    es_spec_plot p = {d, 1, 2, {0, 1, ES_SCALE_LINEAR, "s"}, {0, 1, ES_SCALE_LINEAR, "bin"}};
    p.saliency = sal, p.overlay.outlier_perc = 0;
    assert_int_equal(es_plot_saliency_quad(&c, (es_rect){0, 0, 300, 400}, &st, &p), 0);
    save(&c, "quad");
    es_rect in, ab, po, ne;
    assert_true(bbox(&c, entry("magma", 255), &in) > 100);  /* input: late cell bright */
    assert_true(bbox(&c, entry("Blues", 255), &ab) > 100);  /* |saliency|: early cell */
    assert_true(bbox(&c, entry("Greens", 255), &po) > 100); /* positive: early */
    assert_true(bbox(&c, entry("Reds", 255), &ne) > 100);   /* negative: late */
    assert_true(in.y < ab.y && ab.y < po.y && po.y < ne.y);  /* stacked in the study's order */
    assert_true(in.x > ab.x && ne.x > po.x && ab.x == po.x);
    es_canvas_free(&c);
}

static void activations_grid_golden(void **state)
{
    es_canvas c;
    es_style st = plot_canvas(&c, 400, 200);
    float a[4] = {5, -5, 0, 1}; /* channel 0: mean 0, channel 1: mean 0.5 */
    es_grid_plot p = {a, 2, 1, 2, {0, 1, ES_SCALE_LINEAR, "s"}, {0, 1, ES_SCALE_LINEAR, "Hz"},
                      NULL, 1, "layer"};
    assert_int_equal(es_plot_activations(&c, (es_rect){0, 0, 400, 200}, &st, &p), 0);
    save(&c, "activations");
    /* sorted: channel 1 first ({0,1} → low, high), then channel 0 ({5,−5} → high, low) */
    int len[8];
    assert_lo_hi_hi_lo(&c, entry("viridis", 0), entry("viridis", 255), len);
    assert_int_equal(len[0], len[1]);
    es_canvas_free(&c);
}

static void weights_golden(void **state)
{
    es_canvas c;
    es_style st = style();
    /* two 1×2 filters of one input: {−1, 0.5} on ±1 → bins 0, 192; {2, 4} on ±4 → 192, 255 */
    float w[4] = {-1, 0.5f, 2, 4};
    es_canvas_init(&c, 300, 200, WHITE);
    assert_int_equal(es_plot_conv_filters(&c, (es_rect){0, 0, 300, 200}, &st, w, 2, 1, 1, 2, 0,
                                          NULL, "conv1"), 0);
    save(&c, "conv_filters");
    es_rgba k[3] = {entry("RdBu_r", 0), entry("RdBu_r", 192), entry("RdBu_r", 255)};
    es_rect b0, b2;
    assert_true(bbox_runs(&c, k[0], &b0, 30) > 50); /* colorbar rows are narrower */
    assert_true(bbox_runs(&c, k[2], &b2, 30) > 50);
    assert_true(b2.y > b0.y);     /* filter 1 below filter 0 */
    assert_int_equal(b2.x, b0.x + b0.w); /* its second tap on the right */
    int seq[8], len[8];
    assert_int_equal(runs(&c, b0.y + 1, 0, k, 3, seq, len, 8), 2);
    assert_int_equal(seq[0], 0);
    assert_int_equal(seq[1], 1);
    es_canvas_free(&c);
    /* dense 2×2, row 0 at the top: {1, −1; 0, 0.5} on ±1 → 255, 0; 128, 192 */
    float dw[4] = {1, -1, 0, 0.5f};
    es_canvas_init(&c, 500, 250, WHITE);
    assert_int_equal(es_plot_dense_weights(&c, (es_rect){0, 0, 500, 250}, &st, dw, 2, 2, NULL, "fc"), 0);
    save(&c, "dense");
    es_rect t0, t1, u0;
    assert_true(bbox(&c, entry("RdBu_r", 255), &t0) > 100);
    assert_true(bbox(&c, entry("RdBu_r", 0), &t1) > 100);
    assert_true(bbox(&c, entry("RdBu_r", 128), &u0) > 100);
    assert_int_equal(t0.y, t1.y);
    assert_true(t0.x < t1.x && u0.y > t0.y && u0.x == t0.x);
    es_canvas_free(&c);
    /* histogram of {0, 0, 1} in two bins: the left bar twice the height of the right one */
    float v[3] = {0, 0, 1};
    es_canvas_init(&c, 300, 200, WHITE);
    assert_int_equal(es_plot_histogram(&c, (es_rect){0, 0, 300, 200}, &st, v, 3, 2, "w", NULL), 0);
    save(&c, "histogram");
    es_rgba c0 = {31, 119, 180, 255};
    es_rect hb;
    assert_true(bbox(&c, c0, &hb) > 100);
    int hl = 0, hr = 0;
    for (int y = 0; y < c.h; y++)
        hl += same(px(&c, hb.x + 2, y), c0), hr += same(px(&c, hb.x + hb.w - 3, y), c0);
    assert_true(abs(hl - 2 * hr) <= 1);
    es_canvas_free(&c);
}

static void sanity_strip_golden(void **state)
{
    es_canvas c;
    es_style st = plot_canvas(&c, 400, 200);
    float m0[2] = {0, 1}, m1[2] = {-1, 0};
    const float *maps[2] = {m0, m1};
    const char *names[2] = {"original", "dense"};
    float rho[2] = {NAN, 0.25f}, ss[2] = {NAN, 0.5f};
    assert_int_equal(es_plot_sanity_strip(&c, (es_rect){0, 0, 400, 200}, &st, maps, names, rho, ss,
                                          2, 1, 2, NULL, "sanity"), 0);
    save(&c, "sanity");
    int len[8];
    assert_lo_hi_hi_lo(&c, entry("Blues", 0), entry("Blues", 255), len); /* |map| normalised */
    es_canvas_free(&c);
}

static void plot_errors(void **state)
{
    es_canvas c;
    es_canvas_init(&c, 100, 100, WHITE);
    es_style st = style(), nofont = {0};
    float d[1] = {0};
    es_spec_plot p = {d, 1, 1, {0, 1}, {0, 1}};
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 100, 100}, &nofont, &p), -1);
    assert_non_null(strstr(es_error(), "font"));
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 10, 10}, &st, &p), -1);
    assert_non_null(strstr(es_error(), "too small"));
    p.rows = 0;
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 100, 100}, &st, &p), -1);
    p.rows = 1, p.cmap = "nope";
    assert_int_equal(es_plot_spectrogram(&c, (es_rect){0, 0, 100, 100}, &st, &p), -1);
    assert_non_null(strstr(es_error(), "nope"));
    es_canvas_free(&c);
}

static void ticks_are_readable(void **state)
{
    double t[32];
    char lab[32][16];
    es_axis time = {0, 5.7, ES_SCALE_LINEAR, NULL};
    int n = es_axis_ticks(&time, 600, 100, t, lab, 32);
    assert_int_equal(n, 6);
    assert_string_equal(lab[0], "0");
    assert_string_equal(lab[5], "5");
    es_axis db = {-80, 0, ES_SCALE_LINEAR, NULL};
    n = es_axis_ticks(&db, 300, 60, t, lab, 32);
    assert_string_equal(lab[0], "\xe2\x88\x92" "80");
    assert_string_equal(lab[n - 1], "0");
    es_axis mel = {0, 11025, ES_SCALE_MEL_SLANEY, NULL};
    n = es_axis_ticks(&mel, 400, 30, t, lab, 32);
    int has1k = 0, has8k = 0;
    for (int i = 0; i < n; i++) {
        has1k |= !strcmp(lab[i], "1k"), has8k |= !strcmp(lab[i], "8k");
        assert_true(i == 0 || t[i] > t[i - 1]);
        assert_true(i == 0 || (es_axis_frac(&mel, t[i]) - es_axis_frac(&mel, t[i - 1])) * 400 >= 30);
    }
    assert_true(has1k && has8k);
    /* Slaney: 1 kHz is 15 mel; HTK: 1 kHz is 999.99 mel */
    assert_float_equal(es_scale_apply(1000, ES_SCALE_MEL_SLANEY), 15, 1e-9);
    assert_float_equal(es_scale_apply(1000, ES_SCALE_MEL_HTK), 999.99, 0.01);
    assert_float_equal(es_scale_invert(es_scale_apply(4321, ES_SCALE_MEL_HTK), ES_SCALE_MEL_HTK), 4321, 1e-6);
    assert_float_equal(es_scale_invert(es_scale_apply(4321, ES_SCALE_MEL_SLANEY), ES_SCALE_MEL_SLANEY), 4321, 1e-6);
}

/* ---- PNG ---- */

static int tmp_files_left(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Every pixel back as written: RGB and RGBA, through igzip (the default) and zlib, small, and
 * large and noisy enough for many IDAT chunks and several batches of rows. */
static void png_round_trip(void **state)
{
    mkdir("build/viz_png", 0777);
    es_canvas c, back;
    const int sizes[][2] = {{37, 11}, {1203, 517}};
    unsigned seed = 7;
    for (int k = 0; k < 8; k++) {
        int opaque = k & 1, level = k & 2 ? 9 : -1, big = k >> 2;
        int w = sizes[big][0], h = sizes[big][1];
        es_canvas_init(&c, w, h, WHITE);
        for (int y = 0; y < c.h; y++)
            for (int x = 0; x < c.w; x++) {
                uint8_t *p = es_canvas_row(&c, y) + 4 * x;
                seed = seed * 1664525u + 1013904223u;
                uint8_t r = big ? (uint8_t)(seed >> 24) : 0;
                p[0] = (uint8_t)(x * 7 + r), p[1] = (uint8_t)(y * 23), p[2] = (uint8_t)(x * y - r);
                p[3] = opaque ? 255 : (uint8_t)(x * 5 + y + r);
            }
        const char *text[] = {"model", "bird.onnx", "method", "saliency", "score", "0.93", NULL};
        es_png_opts o = {level, text};
        assert_int_equal(es_png_write("build/viz_png/rt.png", &c, &o), 0);
        assert_int_equal(es_png_read("build/viz_png/rt.png", &back), 0);
        assert_int_equal(back.w, w);
        assert_int_equal(back.h, h);
        for (int y = 0; y < c.h; y++)
            assert_memory_equal(es_canvas_row(&back, y), es_canvas_row(&c, y), 4 * c.w);
        es_canvas_free(&back), es_canvas_free(&c);
    }
    /* the tEXt chunks, read with libpng's own reader */
    FILE *f = fopen("build/viz_png/rt.png", "rb");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_read_info(png, info);
    png_textp t;
    int nt = png_get_text(png, info, &t, NULL), got = 0;
    for (int i = 0; i < nt; i++) {
        got += !strcmp(t[i].key, "earsight") && !strcmp(t[i].text, ES_VERSION);
        got += !strcmp(t[i].key, "score") && !strcmp(t[i].text, "0.93");
    }
    assert_int_equal(nt, 4);
    assert_int_equal(got, 2);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
}

static void png_errors_leave_nothing(void **state)
{
    es_canvas c = {0};
    assert_int_equal(es_png_write("build/viz_png/empty.png", &c, NULL), -1);
    assert_non_null(strstr(es_error(), "empty canvas"));
    es_canvas_init(&c, 4, 4, WHITE);
    assert_int_equal(es_png_write("no/such/dir/x.png", &c, NULL), -1);
    assert_non_null(strstr(es_error(), "no/such/dir/x.png"));
    const char *bad[] = {"", "value", NULL};
    es_png_opts o = {1, bad};
    assert_int_equal(es_png_write("build/viz_png/bad.png", &c, &o), -1);
    o = (es_png_opts){12, NULL};
    assert_int_equal(es_png_write("build/viz_png/bad.png", &c, &o), -1);
    struct stat st;
    assert_int_not_equal(stat("build/viz_png/bad.png", &st), 0);
    assert_int_not_equal(stat("build/viz_png/empty.png", &st), 0);
    assert_int_equal(tmp_files_left("build/viz_png"), 0);
    es_canvas_free(&c);
    assert_int_equal(es_png_read("build/viz_png/none.png", &c), -1);
    assert_null(c.px);
}

/* ---- a gallery of realistic pictures, for the eye (build/viz_gallery/) and for ASan ---- */

static float noise(unsigned *seed) /* uniform in [-1, 1), deterministic */
{
    *seed = *seed * 1664525u + 1013904223u;
    return (float)(*seed >> 8) / (1u << 23) - 1.0f;
}

static void gallery_save(const es_canvas *c, const char *name)
{
    char path[256];
    mkdir("build/viz_gallery", 0777);
    snprintf(path, sizeof path, "build/viz_gallery/%s.png", name);
    const char *text[] = {"method", name, NULL};
    es_png_opts o = {9, text}; /* small files for docs/img */
    if (es_png_write(path, c, &o) != 0)
        fail_msg("%s", es_error());
    es_canvas back; /* what libpng reads back is the canvas, pixel for pixel */
    assert_int_equal(es_png_read(path, &back), 0);
    assert_int_equal(back.w, c->w);
    assert_int_equal(back.h, c->h);
    for (int y = 0; y < c->h; y++)
        assert_memory_equal(es_canvas_row(&back, y), es_canvas_row(c, y), 4 * (size_t)c->w);
    es_canvas_free(&back);
}

static void gallery(void **state)
{
    es_style st = {font};
    unsigned seed = 1;
    es_canvas c;
    /* a layer's activations: 12 channels of 20 × 60, each a blob, a stripe or noise */
    int C = 12, H = 20, W = 60;
    float *act = malloc(sizeof(float) * C * H * W);
    for (int k = 0; k < C; k++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float blob = expf(-powf((i - 3 - k) / 3.0f, 2) - powf((j - 5 * k) / 6.0f, 2));
                float stripe = (k % 3 == 0) ? 0.5f * (sinf(j * 0.3f + k) > 0.7f) : 0;
                act[(k * H + i) * W + j] = fmaxf(0, 2 * blob + stripe + 0.15f * noise(&seed)) * (1 + k % 4);
            }
    es_grid_plot gp = {act, C, H, W, {0, 4, ES_SCALE_LINEAR, "Time (s)"},
                       {50, 11025, ES_SCALE_MEL_SLANEY, "Hz"}, NULL, 1, "conv2 activations (12 channels, sorted by mean)"};
    es_canvas_init(&c, 760, 440, WHITE);
    assert_int_equal(es_plot_activations(&c, (es_rect){0, 0, 760, 440}, &st, &gp), 0);
    gallery_save(&c, "activations");
    es_canvas_free(&c);
    free(act);
    /* conv filters: 8 filters of 3 inputs, 3 × 3; and 32 filters 5 × 5 as means */
    float *w = malloc(sizeof(float) * 32 * 3 * 25);
    for (int i = 0; i < 32 * 3 * 25; i++)
        w[i] = noise(&seed) + 0.5f * sinf(i * 0.7f);
    es_canvas_init(&c, 420, 480, WHITE);
    assert_int_equal(es_plot_conv_filters(&c, (es_rect){0, 0, 420, 480}, &st, w, 8, 3, 3, 3, 0, NULL,
                                          "conv1 filters (8 × 3 inputs, 3×3)"), 0);
    gallery_save(&c, "conv_filters");
    es_canvas_free(&c);
    es_canvas_init(&c, 600, 340, WHITE);
    assert_int_equal(es_plot_conv_filters(&c, (es_rect){0, 0, 600, 340}, &st, w, 32, 3, 5, 5, 1, NULL,
                                          "conv2 filters, mean over inputs"), 0);
    gallery_save(&c, "conv_filters_mean");
    es_canvas_free(&c);
    /* dense weights 10 × 64, roughly normal */
    float *d = malloc(sizeof(float) * 640);
    for (int i = 0; i < 640; i++)
        d[i] = 0.1f * (noise(&seed) + noise(&seed) + noise(&seed) + noise(&seed));
    es_canvas_init(&c, 760, 300, WHITE);
    assert_int_equal(es_plot_dense_weights(&c, (es_rect){0, 0, 760, 300}, &st, d, 10, 64, NULL,
                                           "fc weights (10 × 64)"), 0);
    gallery_save(&c, "dense");
    es_canvas_free(&c);
    /* a sanity-check strip: the map fades into noise as layers are randomized */
    int R = 20, F = 50, N = 5;
    float *maps = malloc(sizeof(float) * N * R * F);
    const float *mp[5];
    const char *names[5] = {"original", "fc", "conv4", "conv3", "conv1"};
    float rho[5] = {NAN, 0.81f, 0.52f, 0.23f, 0.04f}, ss[5] = {NAN, 0.77f, 0.41f, 0.18f, 0.06f};
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < R * F; i++) {
            int r = i / F, f = i % F;
            float blob = expf(-powf((r - 14) / 2.5f, 2) - powf((f - 15) / 6.0f, 2));
            maps[n * R * F + i] = (1 - 0.22f * n) * blob + 0.3f * n * fabsf(noise(&seed)) * 0.5f;
        }
        mp[n] = maps + n * R * F;
    }
    es_canvas_init(&c, 800, 160, WHITE);
    assert_int_equal(es_plot_sanity_strip(&c, (es_rect){0, 0, 800, 160}, &st, mp, names, rho, ss, N, R,
                                          F, NULL, "cascading randomization: gradient saliency"), 0);
    gallery_save(&c, "sanity");
    es_canvas_free(&c);
    free(w), free(d), free(maps);
}

static int setup(void **state)
{
    font = es_font_open(NULL);
    return font ? 0 : -1;
}

static int teardown(void **state)
{
    es_font_close(font);
    es_viz_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cmaps_equal_matplotlib),
        cmocka_unit_test(cmap_float_rule_equals_matplotlib),
        cmocka_unit_test(canvas_blend_and_errors),
        cmocka_unit_test(line_coverage),
        cmocka_unit_test(blit_nearest_bilinear),
        cmocka_unit_test(matrix_orientation_and_scaling),
        cmocka_unit_test(cumsum_threshold_as_captum),
        cmocka_unit_test(normalize_as_captum),
        cmocka_unit_test(overlay_modes_golden),
        cmocka_unit_test(text_metrics_and_placement),
        cmocka_unit_test(ticks_are_readable),
        cmocka_unit_test(spectrogram_plot_golden),
        cmocka_unit_test(spectrogram_strips_and_overlay),
        cmocka_unit_test(saliency_quad_golden),
        cmocka_unit_test(activations_grid_golden),
        cmocka_unit_test(weights_golden),
        cmocka_unit_test(sanity_strip_golden),
        cmocka_unit_test(plot_errors),
        cmocka_unit_test(png_round_trip),
        cmocka_unit_test(png_errors_leave_nothing),
        cmocka_unit_test(gallery),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
