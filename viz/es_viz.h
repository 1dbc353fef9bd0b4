/* earsight viz: draws float matrices (spectrograms, saliency maps, activations, weights) as
 * pictures with axes, colorbars and labels, into one plain RGBA8 canvas that the PNG writer
 * and the SDL viewer both show (one rendering path). viz knows nothing of networks or audio:
 * it draws matrices with axis descriptions.
 *
 * Errors: functions return 0 (or a pointer) on success and -1 (or NULL) on failure, with a
 * one-line message in es_error() (base/es_base.h). Nothing here prints or exits.
 * Ownership: the caller owns every canvas, font and array it passes; viz keeps no pointer to
 * them after a call returns. Colormaps are static tables, never freed.
 * Threads: canvases and colormaps have no hidden state; an es_font holds a glyph cache and a
 * FreeType face, so use one font per thread (or a lock). es_font_open itself is thread-safe.
 * Plot functions allocate scratch memory per call (never per pixel); very large images use
 * OpenMP threads, a plot of ordinary size runs on the calling thread.
 *
 * Coordinates: pixels, x to the right, y down, (0,0) the top-left corner. Matrices are
 * row-major (rows × cols); a spectrogram is (frequency × time) with row 0 the lowest
 * frequency, and is drawn with low frequencies at the bottom and time running left to right. */
#ifndef ES_VIZ_H
#define ES_VIZ_H
#include <stddef.h>
#include <stdint.h>

/* ---- canvas (viz/canvas.c) ---- */
typedef struct {
    uint8_t r, g, b, a; /* straight (not premultiplied) alpha */
} es_rgba;
#define ES_RGBA(r, g, b, a) ((es_rgba){(r), (g), (b), (a)})

typedef struct {
    int w, h;    /* pixels */
    int stride;  /* bytes from one row to the next (>= 4 w) */
    uint8_t *px; /* RGBA8, row 0 at the top; owned by the canvas. Bytes R, G, B, A in memory:
                  * SDL_PIXELFORMAT_RGBA32 for SDL_UpdateTexture(tex, NULL, px, stride). */
} es_canvas;

typedef struct {
    int x, y, w, h;
} es_rect;

/* Allocates a w × h canvas filled with `fill`. -1 for a size <= 0 or too large. */
int es_canvas_init(es_canvas *c, int w, int h, es_rgba fill);
void es_canvas_free(es_canvas *c); /* frees the pixels; the struct becomes empty */
static inline uint8_t *es_canvas_row(const es_canvas *c, int y)
{
    return c->px + (size_t)y * (size_t)c->stride;
}
/* All drawing is clipped to the canvas and alpha-blended ("over"). */
void es_fill_rect(es_canvas *c, es_rect r, es_rgba col);
void es_stroke_rect(es_canvas *c, es_rect r, es_rgba col); /* 1-pixel outline inside r */
/* An anti-aliased line of `width` pixels between pixel-centre coordinates. */
void es_draw_line(es_canvas *c, float x0, float y0, float x1, float y1, float width, es_rgba col);
/* Scales `src` to fill `to` on `dst` and blends it over. */
typedef enum { ES_NEAREST, ES_BILINEAR } es_filter;
void es_blit(es_canvas *dst, es_rect to, const es_canvas *src, es_filter filter);

/* ---- text (viz/text.c): FreeType, the font found through fontconfig ---- */
typedef struct es_font es_font; /* a face and its glyph cache; opaque */
/* Opens the font fontconfig matches for `family` (NULL = "DejaVu Sans"). NULL on failure. */
es_font *es_font_open(const char *family);
void es_font_close(es_font *f);
/* Releases fontconfig's process-wide caches; call once at exit, after closing every font
 * (optional: it only keeps leak checkers quiet). */
void es_viz_shutdown(void);

/* Alignment of the anchor point: one horizontal | one vertical flag. */
enum {
    ES_LEFT = 0, ES_CENTER = 1, ES_RIGHT = 2,
    ES_BASELINE = 0, ES_TOP = 4, ES_MIDDLE = 8, ES_BOTTOM = 12
};
/* Width in pixels of a UTF-8 string at `size` pixels per em. */
int es_text_width(es_font *f, float size, const char *utf8);
/* Line ascent and descent (both >= 0) in pixels at `size`. */
void es_text_metrics(es_font *f, float size, int *ascent, int *descent);
/* Draws anti-aliased text at (x, y) aligned as `align` says. 0, or -1 if a glyph fails. */
int es_text_draw(es_canvas *c, es_font *f, float size, int x, int y, const char *utf8,
                 es_rgba col, int align);
/* The same text turned 90° counter-clockwise (reading upwards, as a y-axis label);
 * `align` refers to the turned text's own left/right/top/bottom. */
int es_text_draw_up(es_canvas *c, es_font *f, float size, int x, int y, const char *utf8,
                    es_rgba col, int align);

/* ---- colormaps (viz/colormap.c): matplotlib's tables, 256 entries ---- */
typedef struct es_cmap es_cmap;
/* viridis magma inferno plasma cividis gray RdBu_r bwr Greens Reds Blues RdWhGn (Captum's
 * red-white-green). NULL and an error for an unknown name. */
const es_cmap *es_cmap_get(const char *name);
const char *es_cmap_list(void); /* the names, space-separated */
/* matplotlib's bin for v in [0, 1]: int(v·256) with v = 1 → 255; below 0 → 0, above 1 →
 * 255 (the under/over colours are the end colours); NaN → -1 (transparent). */
int es_cmap_index(float v);
es_rgba es_cmap_entry(const es_cmap *m, int i); /* i in 0..255; -1 gives transparent */
static inline es_rgba es_cmap_color(const es_cmap *m, float v)
{
    return es_cmap_entry(m, es_cmap_index(v));
}

/* ---- matrices as images (viz/image.c) ---- */
enum {
    ES_ORIGIN_LOWER = 1, /* row 0 at the bottom (spectrograms) */
    ES_SMOOTH = 2        /* bilinear when enlarging (default: nearest, crisp bins) */
};
/* Draws a rows × cols matrix into r with colours cmap((x - vmin) / (vmax - vmin)), blended
 * with opacity alpha (0..1). Shrinking averages the cells a pixel covers. NaN cells are
 * transparent. -1 on bad arguments or no memory. */
int es_draw_matrix(es_canvas *c, es_rect r, const float *m, int rows, int cols,
                   const es_cmap *cmap, float vmin, float vmax, float alpha, int flags);

/* ---- axes (viz/axes.c) ---- */
typedef enum { ES_SCALE_LINEAR, ES_SCALE_MEL_HTK, ES_SCALE_MEL_SLANEY } es_scale;
typedef struct {
    double lo, hi;     /* the values at the two ends (seconds, Hz, bins …); lo != hi */
    es_scale scale;    /* mel: values are placed evenly in mel (ticks stay in Hz) */
    const char *label; /* e.g. "Time (s)"; NULL for none */
    int integer;       /* 1: ticks on whole numbers only (bins, indices) */
} es_axis;
/* Hz → mel by base's es_hz_to_mel (HTK or Slaney); the identity for ES_SCALE_LINEAR. */
double es_scale_apply(double hz, es_scale s);
double es_scale_invert(double mel, es_scale s); /* mel → Hz */
/* Position of value v along the axis as a fraction 0 (lo) … 1 (hi). */
double es_axis_frac(const es_axis *a, double v);
/* Chooses readable tick values for an axis `length` pixels long, at least `gap` pixels
 * apart: 1-2-2.5-5 steps on linear axes, 100 200 500 1k 2k 4k 8k … on mel axes.
 * Returns the count (<= max) and the label of each in labels[i] (16 bytes each). */
int es_axis_ticks(const es_axis *a, int length, int gap, double *ticks, char (*labels)[16],
                  int max);

/* ---- plots: each draws into a region r of a canvas ---- */
typedef struct {
    es_font *font;    /* required */
    float font_px;    /* tick-label size; 0 = chosen from the region's size */
    es_rgba fg, bg;   /* text and axes, background; both zero = black on white */
} es_style;

/* Saliency overlays with Captum's conventions (captum.attr.visualization). */
typedef enum {
    ES_OVERLAY_NONE,
    ES_OVERLAY_HEAT,    /* heat_map: the normalised map alone */
    ES_OVERLAY_BLENDED, /* blended_heat_map: base in gray, the heat map over it at alpha */
    ES_OVERLAY_MASKED,  /* masked_image: base colours × map (not for sign all) */
    ES_OVERLAY_ALPHA,   /* alpha_scaling: base colours with opacity = map (not sign all) */
    ES_OVERLAY_N        /* the count, not a mode */
} es_overlay_mode;
typedef enum { ES_SIGN_ABSOLUTE, ES_SIGN_POSITIVE, ES_SIGN_NEGATIVE, ES_SIGN_ALL, ES_SIGN_N } es_sign;
typedef struct {
    es_overlay_mode mode;
    es_sign sign;
    float outlier_perc; /* Captum: 2 */
    float alpha;        /* blended overlay opacity, Captum's alpha_overlay: 0.5 */
    const char *cmap;   /* NULL = Captum's for the sign: Blues, Greens, Reds, RdWhGn */
    const char *base_cmap; /* the plots' base under blended; NULL = gray (Captum) */
} es_overlay;
#define ES_OVERLAY_DEFAULTS {ES_OVERLAY_BLENDED, ES_SIGN_ABSOLUTE, 2.0f, 0.5f, NULL, NULL}
int es_overlay_parse(es_overlay *o, const char *mode, const char *sign); /* names as above */
/* The names es_overlay_parse takes, by value ("none", "heat", "blended", "masked", "alpha";
 * "absolute", "positive", "negative", "all"), NULL out of range; the values run from 0 to
 * ES_OVERLAY_N − 1 and ES_SIGN_N − 1, so a picker can step through them. */
const char *es_overlay_mode_name(es_overlay_mode m);
const char *es_sign_name(es_sign s);
/* 0 for the pairs Captum refuses (masked or alpha with sign all), else 1. */
int es_overlay_allows(es_overlay_mode m, es_sign s);

/* Captum's _cumulative_sum_threshold: the sorted value at which the running sum of the
 * (non-negative) values first reaches percentile % of their total. */
float es_cumsum_threshold(const float *v, size_t n, float percentile);
/* Captum's _normalize_attr: keeps the sign's part (negative → its magnitude), divides by the
 * threshold at 100 - outlier_perc and clips to [-1, 1] (sign all) or [0, 1]. A map that is
 * all zero for that sign gives zeros (Captum would fail); NaN gives 0 and ±inf the clip
 * limit, neither moves the threshold. out may equal attr. */
int es_saliency_normalize(const float *attr, size_t n, es_sign sign, float outlier_perc,
                          float *out);
/* Draws a base matrix with a saliency overlay (both rows × cols, same layout) into r, as
 * Captum would, without axes: attr is normalised here (es_saliency_normalize), the base is
 * coloured with base_cmap on base_vmin … base_vmax (the plots pass gray for blended, the
 * spectrogram's own map for masked and alpha). */
int es_draw_overlay(es_canvas *c, es_rect r, const float *base, const float *attr, int rows,
                    int cols, const es_cmap *base_cmap, float base_vmin, float base_vmax,
                    const es_overlay *o, int flags);

/* A spectrogram (frequency × time, row 0 the lowest frequency) with axes, colorbar and
 * title; optionally a waveform strip above, a P(class)-over-time strip below, a saliency
 * overlay. (x is the time axis, y the frequency axis; for raw tensors use bins.) */
typedef struct {
    const float *data;
    int rows, cols;
    es_axis x, y;
    const char *cmap;       /* NULL = "magma" */
    float vmin, vmax;       /* colour range; vmin == vmax = the data's min … max */
    const char *title;      /* NULL = none */
    const char *cbar_label; /* NULL = "dB" */
    const float *wave;      /* optional samples spanning x.lo … x.hi */
    size_t wave_len;
    const float *prob;      /* optional probabilities in [0,1] spanning x.lo … x.hi */
    int prob_len;
    const char *prob_label; /* NULL = "P(class)" */
    const float *saliency;  /* optional, rows × cols */
    es_overlay overlay;
    es_rect *area;          /* optional: gets where the image went (the quad: the first panel),
                             * so a viewer can place a cursor on it */
} es_spec_plot;
int es_plot_spectrogram(es_canvas *c, es_rect r, const es_style *s, const es_spec_plot *p);
/* The reference study's panels stacked on one time axis: input, |saliency|, positive,
 * negative (p->saliency required; p->overlay's outlier_perc is used). */
int es_plot_saliency_quad(es_canvas *c, es_rect r, const es_style *s, const es_spec_plot *p);

/* All channels of an activation (channels × rows × cols) as a labelled grid, each map
 * normalised to its own min … max, stretched over the input's extent x, y. */
typedef struct {
    const float *data;
    int channels, rows, cols;
    es_axis x, y;
    const char *cmap;  /* NULL = "viridis" */
    int sort;          /* 1: order by mean activation, largest first */
    const char *title;
} es_grid_plot;
int es_plot_activations(es_canvas *c, es_rect r, const es_style *s, const es_grid_plot *p);

/* Conv filters (out × in × kh × kw) as tiles, each filter on its own symmetric scale
 * ±max|w| with a signed map (NULL = "RdBu_r"): one tile per input channel (rows = filters),
 * or with mean_inputs = 1 one tile per filter (the mean over inputs). */
int es_plot_conv_filters(es_canvas *c, es_rect r, const es_style *s, const float *w, int out_c,
                         int in_c, int kh, int kw, int mean_inputs, const char *cmap,
                         const char *title);
/* A layer's weights of shape dims (nd dims): conv filters (nd >= 3: (out, in, kh, kw) or
 * (out, in, k)) by es_plot_conv_filters, with mean_inputs < 0 meaning "when out × in exceeds
 * 1024 tiles"; a matrix by es_plot_dense_weights. (viz/weights_any.c) */
int es_plot_weights(es_canvas *c, es_rect r, const es_style *s, const float *w, const int *dims,
                    int nd, int mean_inputs, const char *cmap, const char *title);
/* Dense weights (rows × cols) as a signed image with colorbar, beside their histogram. */
int es_plot_dense_weights(es_canvas *c, es_rect r, const es_style *s, const float *w, int rows,
                          int cols, const char *cmap, const char *title);
/* A histogram of n values in `bins` bins with axes. */
int es_plot_histogram(es_canvas *c, es_rect r, const es_style *s, const float *v, size_t n,
                      int bins, const char *xlabel, const char *title);

/* Sanity check (Adebayo et al.): the map after each randomized layer, one tile each, with
 * "ρ 0.12  SSIM 0.34" in the caption (NaN = no numbers, e.g. the original). Maps are
 * rows × cols, shown as |map| normalised as Captum does (outlier 2 %). */
int es_plot_sanity_strip(es_canvas *c, es_rect r, const es_style *s, const float *const *maps,
                         const char *const *names, const float *spearman, const float *ssim,
                         int n, int rows, int cols, const char *cmap, const char *title);

/* ---- PNG (viz/png.c, libpng) ---- */
typedef struct {
    int level;               /* zlib level 0..9; < 0: ISA-L's igzip level 1 (fastest, default) */
    const char *const *text; /* tEXt pairs: key, value, key, value, …, NULL; may be NULL */
} es_png_opts;
/* Writes the canvas atomically (temporary file + rename: nothing under `path` on failure).
 * Opaque canvases are stored as RGB. A tEXt "earsight" = ES_VERSION is always added.
 * opts may be NULL. */
int es_png_write(const char *path, const es_canvas *c, const es_png_opts *opts);
/* Reads any PNG as RGBA8 into a new canvas (free with es_canvas_free). */
int es_png_read(const char *path, es_canvas *out);

#endif
