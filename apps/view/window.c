/* The viewer's window: the figure (pipeline/figure.c, the same pixels `saliency --png` writes),
 * the key bar and the progress box, each an RGBA8 canvas in a streaming texture copied 1:1 —
 * uploaded only when it changed, so a frame that only moves the playhead (SDL rectangles over
 * the image) costs a copy on the GPU side, and a scrolled frame one upload of the figure. */
#include "apps/view/view.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SDL_PIXELFORMAT_RGBA32 is the packed format whose bytes in memory are R, G, B, A on either
 * endianness (ABGR8888 on little-endian machines): the canvas's byte order. */
#define VIEW_FORMAT SDL_PIXELFORMAT_RGBA32

static const char keys_help[] =
    "m/M method   o overlay   s sign   q quad   t/T target   ←/→ scroll   +/− zoom   "
    "p play   ⇧P heard   e export   h keys   Esc cancel/quit";

/* Without a display SDL would fall back to its offscreen driver (and libwayland would print
 * to stderr on the way): a viewer with nothing to show is an error, unless SDL_VIDEODRIVER
 * asks for such a driver on purpose. */
static int no_display(void)
{
#if defined(__APPLE__) || defined(_WIN32)
    return 0;
#else
    return !getenv("SDL_VIDEODRIVER") && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY");
#endif
}

static void drop_textures(view *v)
{
    view_layer *l[] = {&v->figl, &v->bar, &v->box, &v->list};
    for (int i = 0; i < 4; i++) {
        if (l[i]->t)
            SDL_DestroyTexture(l[i]->t);
        l[i]->t = NULL;
    }
}

/* Whether the GL renderer just made rasterises on the CPU (Mesa's llvmpipe, softpipe, swrast:
 * Xvfb, a virtual machine, no GPU driver). Its present draws the window through a shader on
 * the CPU, then copies it to X: 15 ms of CPU a 1920×1080 frame on our machine, where SDL's own
 * renderer blits the canvases and hands X a shared-memory image in 1 ms. */
static int gl_on_cpu(SDL_Renderer *r)
{
    SDL_RendererInfo ri;
    if (SDL_GetRendererInfo(r, &ri) != 0 || !strstr(ri.name, "opengl"))
        return 0;
    const unsigned char *(*get)(unsigned) = (const unsigned char *(*)(unsigned))SDL_GL_GetProcAddress("glGetString");
    const char *s = get ? (const char *)get(0x1F01 /* GL_RENDERER */) : NULL;
    return s && (strstr(s, "llvmpipe") || strstr(s, "softpipe") || strstr(s, "Software Rasterizer"));
}

static SDL_Renderer *software_renderer(SDL_Window *w)
{
    /* the window's pixels go to X as they are (XShm), not through GL again */
    SDL_SetHintWithPriority(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0", SDL_HINT_DEFAULT);
    return SDL_CreateRenderer(w, -1, SDL_RENDERER_SOFTWARE);
}

static int new_renderer(view *v)
{
    drop_textures(v);
    if (v->ren)
        SDL_DestroyRenderer(v->ren);
    const char *asked = SDL_GetHint(SDL_HINT_RENDER_DRIVER);
    asked = asked && *asked ? asked : NULL;
    if (asked && !strcmp(asked, "software"))
        v->ren = software_renderer(v->win);
    else if ((v->ren = SDL_CreateRenderer(v->win, -1, 0)) && !asked && gl_on_cpu(v->ren))
        SDL_DestroyRenderer(v->ren), v->ren = software_renderer(v->win);
    if (!v->ren) /* no GL under some X servers: the software renderer always works */
        v->ren = SDL_CreateRenderer(v->win, -1, SDL_RENDERER_SOFTWARE);
    return v->ren ? 0 : es_fail("no renderer (SDL: %s)", SDL_GetError());
}

int view_window_open(view *v, int w, int h)
{
    if (no_display())
        return es_fail("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    if (SDL_Init(SDL_INIT_VIDEO) != 0)
        return es_fail("no display (SDL: %s)", SDL_GetError());
    const char *drv = SDL_GetCurrentVideoDriver();
    if (!getenv("SDL_VIDEODRIVER") && drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")))
        return es_fail("no display (SDL found only its %s driver)", drv);
    char title[512];
    const char *bn = strrchr(v->file, '/') ? strrchr(v->file, '/') + 1 : v->file;
    snprintf(title, sizeof title, "earsight view: %s", bn);
    /* HiDPI: the renderer's output may have more pixels than the window has points; the
     * canvas is drawn at the output's size (view_output_size), never scaled */
    v->win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w, h,
                              SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    if (!v->win)
        return es_fail("no window (SDL: %s)", SDL_GetError());
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest"); /* a 1:1 copy, never filtered */
    if (new_renderer(v) != 0)
        return -1;
    if (!(v->font = es_font_open(NULL)))
        return -1;
    v->fo.font = v->font;
    return 0;
}

void view_window_close(view *v)
{
    drop_textures(v);
    es_canvas_free(&v->figl.c), es_canvas_free(&v->bar.c), es_canvas_free(&v->box.c);
    es_canvas_free(&v->list.c);
    if (v->ren)
        SDL_DestroyRenderer(v->ren);
    if (v->win)
        SDL_DestroyWindow(v->win);
    es_font_close(v->font);
    es_canvas_free(&v->fig);
    v->ren = NULL, v->win = NULL, v->font = NULL, v->fo.font = NULL;
    view_sdl_quit();
}

void view_sdl_quit(void)
{
    /* SDL_Quit unloads the X libraries SDL opened itself (libXext …); what they keep until
     * exit then looks leaked from an unknown module, which no LeakSanitizer suppression can
     * name. Under the sanitizers the process exit closes the display instead. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang's spelling */
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifndef __SANITIZE_ADDRESS__
    SDL_Quit();
#endif
}

/* The bar under the figure: the state on the left, the message on the right, the keys below. */
static void draw_bar(view *v, es_canvas *c)
{
    es_rgba fg = ES_RGBA(40, 40, 40, 255), dim = ES_RGBA(110, 110, 110, 255);
    es_fill_rect(c, (es_rect){0, 0, c->w, c->h}, ES_RGBA(244, 244, 246, 255));
    es_fill_rect(c, (es_rect){0, 0, c->w, 1}, ES_RGBA(205, 205, 210, 255));
    char state[256], range[64] = "";
    const char *label = es_model_label(&v->in.m, v->target);
    if (v->span < v->cols) {
        if (v->in.audio) { /* the figure's own time axis */
            es_axis x, y;
            es_figure_axes(&v->fo, &v->in, &x, &y);
            snprintf(range, sizeof range, "   %.2f–%.2f s (%.3g×)", x.lo, x.hi,
                     (double)v->cols / v->span);
        } else {
            snprintf(range, sizeof range, "   frames %d–%d (%.3g×)", v->c0, v->c0 + v->span,
                     (double)v->cols / v->span);
        }
    }
    snprintf(state, sizeof state, "%s · %s%s%s · class %d%s%s%s", es_sal_method_name(v->method),
             v->fo.quad ? "quad" : view_mode_name(v->mode), v->fo.quad ? "" : " · ",
             v->fo.quad ? "" : view_sign_name(v->sign), v->target, label ? " " : "",
             label ? label : "", range);
    es_text_draw(c, v->font, 12, 8, 12, v->pane && v->pane_info[0] ? v->pane_info : state, fg,
                 ES_LEFT | ES_MIDDLE);
    if (v->status[0])
        es_text_draw(c, v->font, 12, c->w - 8, 12, v->status, ES_RGBA(170, 60, 20, 255),
                     ES_RIGHT | ES_MIDDLE);
    /* the second line: what is under the mouse, else the keys */
    const char *line = v->readout[0] ? v->readout : keys_help;
    float size = 11; /* the whole line, smaller in a narrow window */
    while (size > 7 && es_text_width(v->font, size, line) > c->w - 16)
        size -= 0.5f;
    es_text_draw(c, v->font, size, 8, 30, line, v->readout[0] ? fg : dim, ES_LEFT | ES_MIDDLE);
}

/* A layer's canvas at w × h (white), its texture kept when the size is the same. */
static int layer_size(view *v, view_layer *l, int w, int h)
{
    if (l->c.px && l->c.w == w && l->c.h == h)
        return 0;
    es_canvas_free(&l->c);
    return es_canvas_init(&l->c, w, h, ES_RGBA(255, 255, 255, 255));
}

/* Uploads a layer's canvas when it changed and copies it to (x, y), 1:1. */
static int layer_show(view *v, view_layer *l, const es_canvas *c, int x, int y)
{
    if (!l->t || l->tw != c->w || l->th != c->h) {
        if (l->t)
            SDL_DestroyTexture(l->t);
        if (!(l->t = SDL_CreateTexture(v->ren, VIEW_FORMAT, SDL_TEXTUREACCESS_STREAMING, c->w, c->h)))
            return es_fail("no texture (SDL: %s)", SDL_GetError());
        /* the figure and the bar are opaque: copied, not blended (4 ms less a frame) */
        SDL_SetTextureBlendMode(l->t, l == &v->figl || l == &v->bar ? SDL_BLENDMODE_NONE
                                                                    : SDL_BLENDMODE_BLEND);
        l->tw = c->w, l->th = c->h, l->stale = 1;
    }
    if (l->stale && SDL_UpdateTexture(l->t, NULL, c->px, c->stride) != 0)
        return es_fail("drawing failed (SDL: %s)", SDL_GetError());
    l->stale = 0;
    if (SDL_RenderCopy(v->ren, l->t, NULL, &(SDL_Rect){x, y, c->w, c->h}) != 0)
        return es_fail("drawing failed (SDL: %s)", SDL_GetError());
    return 0;
}

void view_output_size(view *v, int *w, int *h)
{
    int ww, wh;
    if (!v->ren || SDL_GetRendererOutputSize(v->ren, w, h) != 0)
        *w = v->out_w, *h = v->out_h;
    SDL_GetWindowSize(v->win, &ww, &wh);
    v->scale = ww > 0 && *w > 0 ? (float)*w / ww : 1;
    v->out_w = *w, v->out_h = *h;
}

/* While a map is computed: what, how far (windows done, or a moving block when there is one
 * window), for how long, and that Esc stops it — over the figure, which stays visible. */
static int draw_progress(view *v, int w, int h)
{
    char line[200];
    view_progress_line(v, line, sizeof line);
    int bw = w * 2 / 5 < 560 ? (w * 2 / 5 > 200 ? w * 2 / 5 : 200) : 560, bh = 54;
    int tw = (int)es_text_width(v->font, 13, line) + 24; /* the whole line, when the window has room */
    bw = tw > bw ? (tw < w - 16 ? tw : w - 16) : bw;
    if (layer_size(v, &v->box, bw, bh) != 0)
        return -1;
    es_canvas *c = &v->box.c;
    es_rect box = {0, 0, bw, bh};
    es_fill_rect(c, box, ES_RGBA(250, 248, 240, 255));
    es_stroke_rect(c, box, ES_RGBA(170, 160, 140, 255));
    es_text_draw(c, v->font, 13, 12, 17, line, ES_RGBA(60, 50, 40, 255), ES_LEFT | ES_MIDDLE);
    es_rect track = {12, 32, bw - 24, 10};
    es_fill_rect(c, track, ES_RGBA(225, 220, 210, 255));
    if (v->job_total > 1) {
        es_fill_rect(c, (es_rect){track.x, track.y, (int)(track.w * view_progress(v)), track.h},
                     ES_RGBA(200, 110, 40, 255));
    } else { /* one window: a block going to and fro says it is alive */
        int bwid = track.w / 5, span = track.w - bwid;
        int t = (int)(SDL_GetTicks() / 4 % (2 * (Uint32)span));
        es_fill_rect(c, (es_rect){track.x + (t < span ? t : 2 * span - t), track.y, bwid, track.h},
                     ES_RGBA(200, 110, 40, 255));
    }
    v->box.stale = 1;
    return layer_show(v, &v->box, c, (w - bw) / 2, (h - VIEW_BAR_H - bh) / 2);
}

static void fill(view *v, es_rect r, Uint8 cr, Uint8 cg, Uint8 cb, Uint8 ca)
{
    SDL_SetRenderDrawBlendMode(v->ren, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(v->ren, cr, cg, cb, ca);
    SDL_RenderFillRect(v->ren, &(SDL_Rect){r.x, r.y, r.w, r.h});
}

/* The x of column `col` over the image, or -1 when it is not shown. */
static int col_x(const view *v, double col)
{
    es_rect a = v->area;
    if (a.w <= 0 || col < v->c0 || col > v->c0 + v->span)
        return -1;
    return a.x + (int)((col - v->c0) / v->span * a.w);
}

/* The selection (shaded) and the playhead (a red line with a white edge) over the image. */
static void draw_cursors(view *v)
{
    es_rect a = v->area;
    if (a.w <= 0 || !v->fig.px)
        return;
    if (v->sel1 > v->sel0) {
        double s0 = v->sel0 > v->c0 ? v->sel0 : v->c0, s1 = v->sel1 < v->c0 + v->span ? v->sel1 : v->c0 + v->span;
        if (s1 > s0)
            fill(v, (es_rect){col_x(v, s0), a.y, col_x(v, s1) - col_x(v, s0), a.h}, 255, 220, 60, 70);
    }
    int x = col_x(v, view_playhead(v));
    if (x >= 0) {
        fill(v, (es_rect){x - 1, a.y, 3, a.h}, 255, 255, 255, 200);
        fill(v, (es_rect){x, a.y, 1, a.h}, 220, 30, 30, 255);
    }
}

/* The window's pixels read back from the renderer (not the canvases: this proves the SDL
 * path), opaque as shown. */
static int read_back(view *v, es_canvas *shot, int w, int h)
{
    if (es_canvas_init(shot, w, h, ES_RGBA(0, 0, 0, 0)) != 0)
        return -1;
    if (SDL_RenderReadPixels(v->ren, &(SDL_Rect){0, 0, w, h}, VIEW_FORMAT, shot->px, shot->stride) != 0)
        return es_fail("reading the frame back failed (SDL: %s)", SDL_GetError());
    for (int y = 0; y < shot->h; y++)
        for (int x = 0; x < shot->w; x++)
            es_canvas_row(shot, y)[4 * x + 3] = 255;
    return 0;
}

int view_present(view *v, es_canvas *shot)
{
    int w, h, ow = v->out_w, oh = v->out_h;
    view_output_size(v, &w, &h);
    SDL_Rect vp;
    SDL_RenderGetViewport(v->ren, &vp);
    /* a size the renderer has not taken in yet (it does on SDL's resize event) */
    if ((w != ow || h != oh || vp.w != w || vp.h != h) && SDL_RenderSetViewport(v->ren, NULL) != 0)
        return es_fail("drawing failed (SDL: %s)", SDL_GetError());
    if (SDL_SetRenderDrawColor(v->ren, 255, 255, 255, 255) != 0 || SDL_RenderClear(v->ren) != 0)
        return es_fail("drawing failed (SDL: %s)", SDL_GetError());
    if (v->fig.px) {
        if (layer_show(v, &v->figl, &v->fig, 0, 0) != 0)
            return -1;
    } else { /* no figure (being computed, a window too small): say why where it would be */
        int fw = w - view_list_width(v);
        if (layer_size(v, &v->figl, fw, h - VIEW_BAR_H) != 0)
            return -1;
        es_fill_rect(&v->figl.c, (es_rect){0, 0, fw, h}, ES_RGBA(255, 255, 255, 255));
        /* above the progress box when there is one */
        es_text_draw(&v->figl.c, v->font, 13, fw / 2, (h - VIEW_BAR_H) / 2 - (v->worker ? 60 : 0), v->fig_msg,
                     ES_RGBA(170, 60, 20, 255), ES_CENTER | ES_MIDDLE);
        v->figl.stale = 1;
        if (layer_show(v, &v->figl, &v->figl.c, 0, 0) != 0)
            return -1;
    }
    int lw = view_list_width(v);
    if (lw) { /* the file list, right of the figure */
        if (layer_size(v, &v->list, lw, h - (v->show_keys ? VIEW_BAR_H : 0)) != 0 ||
            view_browse_draw(v, &v->list.c) != 0)
            return -1;
        v->list.stale = 1;
        if (layer_show(v, &v->list, &v->list.c, w - lw, 0) != 0)
            return -1;
    }
    draw_cursors(v);
    if (v->worker && draw_progress(v, w, h) != 0)
        return -1;
    if (v->show_keys) {
        if (layer_size(v, &v->bar, w, VIEW_BAR_H) != 0)
            return -1;
        draw_bar(v, &v->bar.c);
        v->bar.stale = 1;
        if (layer_show(v, &v->bar, &v->bar.c, 0, h - VIEW_BAR_H) != 0)
            return -1;
    }
    if (shot && read_back(v, shot, w, h) != 0)
        return -1;
    v->composed_at = SDL_GetPerformanceCounter(), v->composed_cpu = view_cpu_ms();
    SDL_RenderPresent(v->ren);
    return 0;
}

void view_flash(view *v, const char *msg)
{
    snprintf(v->status, sizeof v->status, "%s", msg);
    if (!v->fig.px)
        snprintf(v->fig_msg, sizeof v->fig_msg, "%s", msg);
    if (v->ren)
        view_present(v, NULL);
}
