/* Text: the font fontconfig finds, rendered anti-aliased by FreeType, glyphs cached per size.
 * Each es_font owns its FT_Library, so fonts on different threads never share state. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHED_CODEPOINTS 1024 /* Latin, Greek (ρ μ), general punctuation is rendered uncached */
#define SIZES 8

typedef struct {
    int w, h, left, top; /* bitmap size; offset of its top-left from the pen on the baseline */
    int advance;         /* 26.6 fixed point */
    unsigned index;      /* glyph index, for kerning */
    uint8_t *bits;       /* w·h coverage, owned */
} glyph;

typedef struct {
    int size64; /* size in 26.6 pixels; 0 = slot unused */
    int ascent, descent;
    glyph *g[CACHED_CODEPOINTS];
} size_cache;

struct es_font {
    FT_Library lib;
    FT_Face face;
    int has_kerning;
    size_cache sizes[SIZES];
    int next_evict;
    int current_size64;
};

static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER;

/* fontconfig's configuration is process-wide; FcFontMatch is guarded so es_font_open may be
 * called from several threads. */
static char *find_font_file(const char *family)
{
    char *path = NULL;
    pthread_mutex_lock(&fc_lock);
    if (!FcInit()) {
        pthread_mutex_unlock(&fc_lock);
        return NULL;
    }
    FcPattern *pat = FcNameParse((const FcChar8 *)family);
    if (pat) {
        FcConfigSubstitute(NULL, pat, FcMatchPattern);
        FcDefaultSubstitute(pat);
        FcResult res;
        FcPattern *m = FcFontMatch(NULL, pat, &res);
        FcChar8 *file = NULL;
        if (m && FcPatternGetString(m, FC_FILE, 0, &file) == FcResultMatch)
            path = strdup((const char *)file);
        if (m)
            FcPatternDestroy(m);
        FcPatternDestroy(pat);
    }
    pthread_mutex_unlock(&fc_lock);
    return path;
}

es_font *es_font_open(const char *family)
{
    if (!family)
        family = "DejaVu Sans";
    char *path = find_font_file(family);
    if (!path) {
        es_fail("font '%s': fontconfig found no match (install fonts-dejavu-core)", family);
        return NULL;
    }
    es_font *f = calloc(1, sizeof *f);
    if (!f || FT_Init_FreeType(&f->lib) != 0) {
        free(f), free(path);
        es_fail("font '%s': cannot start FreeType", family);
        return NULL;
    }
    if (FT_New_Face(f->lib, path, 0, &f->face) != 0 || !FT_IS_SCALABLE(f->face)) {
        es_fail("%s: cannot load font for '%s'", path, family);
        free(path);
        es_font_close(f);
        return NULL;
    }
    free(path);
    f->has_kerning = FT_HAS_KERNING(f->face) != 0;
    return f;
}

static void drop_size(size_cache *s)
{
    for (int i = 0; i < CACHED_CODEPOINTS; i++)
        if (s->g[i])
            free(s->g[i]->bits), free(s->g[i]);
    memset(s, 0, sizeof *s);
}

void es_font_close(es_font *f)
{
    if (!f)
        return;
    for (int i = 0; i < SIZES; i++)
        drop_size(&f->sizes[i]);
    if (f->face)
        FT_Done_Face(f->face);
    if (f->lib)
        FT_Done_FreeType(f->lib);
    free(f);
}

void es_viz_shutdown(void)
{
    pthread_mutex_lock(&fc_lock);
    FcFini();
    pthread_mutex_unlock(&fc_lock);
}

static int set_size(es_font *f, int size64)
{
    if (f->current_size64 == size64)
        return 0;
    if (FT_Set_Char_Size(f->face, 0, size64, 72, 72) != 0) /* 72 dpi: points = pixels */
        return es_fail("font: cannot set size %.2f px", size64 / 64.0);
    f->current_size64 = size64;
    return 0;
}

static size_cache *get_size(es_font *f, float size)
{
    int size64 = (int)lroundf(size * 4) * 16; /* quarter-pixel steps keep the cache small */
    if (size64 < 64)
        size64 = 64;
    for (int i = 0; i < SIZES; i++)
        if (f->sizes[i].size64 == size64)
            return &f->sizes[i];
    if (set_size(f, size64) != 0)
        return NULL;
    size_cache *s = &f->sizes[f->next_evict];
    f->next_evict = (f->next_evict + 1) % SIZES;
    drop_size(s);
    s->size64 = size64;
    s->ascent = (int)((f->face->size->metrics.ascender + 63) >> 6);
    s->descent = (int)((-f->face->size->metrics.descender + 63) >> 6);
    return s;
}

static glyph *render_glyph(es_font *f, int size64, unsigned cp)
{
    if (set_size(f, size64) != 0)
        return NULL;
    unsigned idx = FT_Get_Char_Index(f->face, cp);
    /* light hinting: crisp horizontal stems, glyph shapes and spacing as designed */
    if (FT_Load_Glyph(f->face, idx, FT_LOAD_DEFAULT | FT_LOAD_TARGET_LIGHT) != 0 ||
        FT_Render_Glyph(f->face->glyph, FT_RENDER_MODE_LIGHT) != 0) {
        es_fail("font: cannot render U+%04X", cp);
        return NULL;
    }
    FT_GlyphSlot sl = f->face->glyph;
    glyph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->w = (int)sl->bitmap.width, g->h = (int)sl->bitmap.rows;
    g->left = sl->bitmap_left, g->top = sl->bitmap_top;
    g->advance = (int)sl->advance.x, g->index = idx;
    g->bits = malloc((size_t)g->w * g->h + 1);
    if (!g->bits) {
        free(g);
        return NULL;
    }
    for (int y = 0; y < g->h; y++)
        memcpy(g->bits + (size_t)y * g->w, sl->bitmap.buffer + (ptrdiff_t)y * sl->bitmap.pitch,
               (size_t)g->w);
    return g;
}

/* The glyph for cp at this size: from the cache, or rendered now. `tmp` is set when the
 * caller must free it (codepoints beyond the cache). */
static glyph *get_glyph(es_font *f, size_cache *s, unsigned cp, int *tmp)
{
    *tmp = 0;
    if (cp < CACHED_CODEPOINTS) {
        if (!s->g[cp])
            s->g[cp] = render_glyph(f, s->size64, cp);
        return s->g[cp];
    }
    *tmp = 1;
    return render_glyph(f, s->size64, cp);
}

static void free_tmp(glyph *g, int tmp)
{
    if (tmp && g)
        free(g->bits), free(g);
}

/* Next codepoint of a UTF-8 string; malformed bytes read as U+FFFD. */
static unsigned next_cp(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    unsigned c = s[0];
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0) {
        *p += 1;
        return 0xFFFD;
    }
    unsigned cp = n == 0 ? c : c & (0x3F >> n);
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p += i;
            return 0xFFFD;
        }
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *p += n + 1;
    return cp;
}

/* Lays out the string and calls `emit` for each glyph at its pen position (26.6). */
typedef void (*emit_fn)(void *ctx, const glyph *g, long pen64);
static int layout(es_font *f, float size, const char *s, emit_fn emit, void *ctx, long *width64)
{
    size_cache *sc = get_size(f, size);
    if (!sc)
        return -1;
    long pen = 0;
    unsigned prev = 0;
    int rc = 0;
    while (*s) {
        int tmp;
        glyph *g = get_glyph(f, sc, next_cp(&s), &tmp);
        if (!g) {
            rc = -1;
            continue;
        }
        if (f->has_kerning && prev) {
            FT_Vector k;
            set_size(f, sc->size64);
            if (FT_Get_Kerning(f->face, prev, g->index, FT_KERNING_DEFAULT, &k) == 0)
                pen += k.x;
        }
        if (emit)
            emit(ctx, g, pen);
        pen += g->advance;
        prev = g->index;
        free_tmp(g, tmp);
    }
    *width64 = pen;
    return rc;
}

int es_text_width(es_font *f, float size, const char *utf8)
{
    long w = 0;
    layout(f, size, utf8, NULL, NULL, &w);
    return (int)((w + 32) >> 6);
}

void es_text_metrics(es_font *f, float size, int *ascent, int *descent)
{
    size_cache *s = get_size(f, size);
    *ascent = s ? s->ascent : (int)size;
    *descent = s ? s->descent : 0;
}

/* Glyphs are painted into a coverage mask (one byte per pixel) first, so the same code
 * draws upright and turned text; then the mask is blended onto the canvas. */
typedef struct {
    uint8_t *mask;
    int w, h, base_x, base_y; /* mask size; pen origin inside the mask */
} mask_ctx;

static void emit_mask(void *ctx, const glyph *g, long pen64)
{
    mask_ctx *m = ctx;
    int ox = m->base_x + (int)((pen64 + 32) >> 6) + g->left, oy = m->base_y - g->top;
    for (int y = 0; y < g->h; y++) {
        int my = oy + y;
        if (my < 0 || my >= m->h)
            continue;
        for (int x = 0; x < g->w; x++) {
            int mx = ox + x;
            if (mx < 0 || mx >= m->w)
                continue;
            int v = m->mask[(size_t)my * m->w + mx] + g->bits[(size_t)y * g->w + x];
            m->mask[(size_t)my * m->w + mx] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

/* Renders the string into a fresh mask with the ascent box: returns width, height, baseline. */
static uint8_t *text_mask(es_font *f, float size, const char *s, int *w, int *h, int *asc)
{
    int ascent, descent;
    es_text_metrics(f, size, &ascent, &descent);
    long w64;
    if (layout(f, size, s, NULL, NULL, &w64) != 0)
        return NULL;
    int pad = (int)(size / 4) + 2; /* glyphs may overhang their advance box a little */
    mask_ctx m = {NULL, (int)((w64 + 63) >> 6) + 2 * pad, ascent + descent, pad, ascent};
    m.mask = calloc((size_t)m.w * m.h + 1, 1);
    if (!m.mask) {
        es_fail("text: out of memory");
        return NULL;
    }
    layout(f, size, s, emit_mask, &m, &w64);
    *w = m.w, *h = m.h, *asc = ascent;
    return m.mask;
}

static void blend_mask(es_canvas *c, const uint8_t *mask, int mw, int mh, int x0, int y0,
                       int turned, es_rgba col)
{
    int ow = turned ? mh : mw, oh = turned ? mw : mh; /* size on the canvas */
    es_rect r = {x0, y0, ow, oh};
    if (!clip_rect(c, &r))
        return;
    for (int y = r.y; y < r.y + r.h; y++) {
        uint8_t *p = es_canvas_row(c, y) + 4 * r.x;
        for (int x = r.x; x < r.x + r.w; x++, p += 4) {
            int u = x - x0, v = y - y0;
            /* turned 90° counter-clockwise: canvas (u, v) shows mask (mw-1-v, u) */
            uint8_t cov = turned ? mask[(size_t)u * mw + (mw - 1 - v)] : mask[(size_t)v * mw + u];
            if (cov)
                blend_px(p, col, cover_alpha(col, cov));
        }
    }
}

/* Offsets of the anchor for the alignment flags, for a box w wide with the given ascent and
 * descent: returns the left edge and the top of the box. */
static void anchor(int align, int x, int y, int w, int asc, int desc, int *left, int *top)
{
    int h = align & 3, v = align & 12;
    *left = h == ES_CENTER ? x - w / 2 : h == ES_RIGHT ? x - w : x;
    *top = v == ES_TOP ? y : v == ES_MIDDLE ? y - (asc + desc) / 2 : v == ES_BOTTOM ? y - asc - desc
                                                                                    : y - asc;
}

/* Text along x (turned = 0) or up along −y (turned = 1), anchored by the alignment flags. */
static int text_draw(es_canvas *c, es_font *f, float size, int x, int y, const char *utf8,
                     es_rgba col, int align, int turned)
{
    int mw, mh, asc;
    uint8_t *mask = text_mask(f, size, utf8, &mw, &mh, &asc);
    if (!mask)
        return -1;
    int pad = (int)(size / 4) + 2, w = mw - 2 * pad, along, top;
    if (!turned) {
        anchor(align, x, y, w, asc, mh - asc, &along, &top);
        blend_mask(c, mask, mw, mh, along - pad, top, 0, col);
    } else { /* the text runs up from the canvas bottom (−y grows along it); its top is the left */
        anchor(align, -y, x, w, asc, mh - asc, &along, &top);
        blend_mask(c, mask, mw, mh, top, -along - w - pad, 1, col);
    }
    free(mask);
    return 0;
}

int es_text_draw(es_canvas *c, es_font *f, float size, int x, int y, const char *utf8,
                 es_rgba col, int align)
{
    return text_draw(c, f, size, x, y, utf8, col, align, 0);
}

int es_text_draw_up(es_canvas *c, es_font *f, float size, int x, int y, const char *utf8,
                    es_rgba col, int align)
{
    return text_draw(c, f, size, x, y, utf8, col, align, 1);
}
