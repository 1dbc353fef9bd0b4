/* The RGBA8 canvas and its primitives: rectangles, anti-aliased lines, scaled blits. */
#include "base/es_base.h"
#include "viz/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int es_canvas_init(es_canvas *c, int w, int h, es_rgba fill)
{
    memset(c, 0, sizeof *c);
    if (w <= 0 || h <= 0)
        return es_fail("canvas: size %dx%d is empty", w, h);
    if (w > 32768 || h > 32768)
        return es_fail("canvas: size %dx%d is too large (at most 32768 a side)", w, h);
    c->px = malloc((size_t)w * h * 4);
    if (!c->px)
        return es_fail("canvas: out of memory for %dx%d", w, h);
    c->w = w, c->h = h, c->stride = 4 * w;
    uint8_t *row = c->px;
    for (int x = 0; x < w; x++)
        memcpy(row + 4 * x, &fill, 4);
    for (int y = 1; y < h; y++)
        memcpy(es_canvas_row(c, y), row, (size_t)4 * w);
    return 0;
}

void es_canvas_free(es_canvas *c)
{
    free(c->px);
    memset(c, 0, sizeof *c);
}

void es_fill_rect(es_canvas *c, es_rect r, es_rgba col)
{
    if (!clip_rect(c, &r) || col.a == 0)
        return;
    if (col.a == 255) { /* opaque (a plot's background, every frame the viewer draws): copied */
        uint8_t *first = es_canvas_row(c, r.y) + 4 * r.x, px[4] = {col.r, col.g, col.b, 255};
        for (int x = 0; x < r.w; x++)
            memcpy(first + 4 * x, px, 4);
        for (int y = r.y + 1; y < r.y + r.h; y++)
            memcpy(es_canvas_row(c, y) + 4 * r.x, first, (size_t)4 * r.w);
        return;
    }
    for (int y = r.y; y < r.y + r.h; y++) {
        uint8_t *p = es_canvas_row(c, y) + 4 * r.x;
        for (int x = 0; x < r.w; x++, p += 4)
            blend_px(p, col, col.a);
    }
}

void es_stroke_rect(es_canvas *c, es_rect r, es_rgba col)
{
    if (r.w <= 0 || r.h <= 0)
        return;
    es_fill_rect(c, (es_rect){r.x, r.y, r.w, 1}, col);
    if (r.h > 1)
        es_fill_rect(c, (es_rect){r.x, r.y + r.h - 1, r.w, 1}, col);
    es_fill_rect(c, (es_rect){r.x, r.y + 1, 1, r.h - 2}, col);
    if (r.w > 1)
        es_fill_rect(c, (es_rect){r.x + r.w - 1, r.y + 1, 1, r.h - 2}, col);
}

/* Coverage of each pixel in the line's bounding box from its distance to the segment: a
 * pixel whose centre is within width/2 - 0.5 is fully covered, beyond width/2 + 0.5 not at
 * all, linear between. Simple, exact for axis-aligned lines, and smooth for curves. */
void es_draw_line(es_canvas *c, float x0, float y0, float x1, float y1, float width, es_rgba col)
{
    float hw = width * 0.5f;
    int bx0 = (int)floorf(fminf(x0, x1) - hw - 1), bx1 = (int)ceilf(fmaxf(x0, x1) + hw + 1);
    int by0 = (int)floorf(fminf(y0, y1) - hw - 1), by1 = (int)ceilf(fmaxf(y0, y1) + hw + 1);
    es_rect box = {bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1};
    if (!clip_rect(c, &box))
        return;
    float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = box.y; y < box.y + box.h; y++) {
        uint8_t *p = es_canvas_row(c, y) + 4 * box.x;
        for (int x = box.x; x < box.x + box.w; x++, p += 4) {
            float t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = x0 + t * dx - x, ey = y0 + t * dy - y;
            float cov = hw + 0.5f - sqrtf(ex * ex + ey * ey);
            if (cov <= 0)
                continue;
            if (cov > 1)
                cov = 1;
            if (width < 1)
                cov *= width; /* hairlines fade instead of vanishing */
            blend_px(p, col, cover_alpha(col, (int)(cov * 255 + 0.5f)));
        }
    }
}

/* Source coordinate of destination pixel i when n source pixels span m destination ones:
 * pixel centres map onto each other, (i + 0.5)·n/m − 0.5. */
static float src_coord(int i, int n, int m) { return (i + 0.5f) * n / m - 0.5f; }

static es_rgba sample_bilinear(const es_canvas *s, float fx, float fy)
{
    fx = fx < 0 ? 0 : fx > s->w - 1 ? s->w - 1 : fx;
    fy = fy < 0 ? 0 : fy > s->h - 1 ? s->h - 1 : fy;
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < s->w ? x0 + 1 : x0, y1 = y0 + 1 < s->h ? y0 + 1 : y0;
    float ax = fx - x0, ay = fy - y0;
    const uint8_t *a = es_canvas_row(s, y0) + 4 * x0, *b = es_canvas_row(s, y0) + 4 * x1;
    const uint8_t *cc = es_canvas_row(s, y1) + 4 * x0, *d = es_canvas_row(s, y1) + 4 * x1;
    uint8_t o[4];
    for (int k = 0; k < 4; k++) {
        float top = a[k] + (b[k] - a[k]) * ax, bot = cc[k] + (d[k] - cc[k]) * ax;
        o[k] = (uint8_t)(top + (bot - top) * ay + 0.5f);
    }
    return (es_rgba){o[0], o[1], o[2], o[3]};
}

void es_blit(es_canvas *dst, es_rect to, const es_canvas *src, es_filter filter)
{
    es_rect vis = to;
    if (to.w <= 0 || to.h <= 0 || !src->px || !clip_rect(dst, &vis))
        return;
    for (int y = vis.y; y < vis.y + vis.h; y++) {
        uint8_t *p = es_canvas_row(dst, y) + 4 * vis.x;
        float fy = src_coord(y - to.y, src->h, to.h);
        int sy = (int)((long)(y - to.y) * src->h / to.h);
        for (int x = vis.x; x < vis.x + vis.w; x++, p += 4) {
            es_rgba s;
            if (filter == ES_BILINEAR) {
                s = sample_bilinear(src, src_coord(x - to.x, src->w, to.w), fy);
            } else {
                int sx = (int)((long)(x - to.x) * src->w / to.w);
                memcpy(&s, es_canvas_row(src, sy) + 4 * sx, 4);
            }
            blend_px(p, s, s.a);
        }
    }
}
