/* The viewer's window: the figure (pipeline/figure.c, the same pixels `saliency --png` writes) and
 * the key bar on one RGBA8 canvas, uploaded as a streaming texture and copied 1:1. */
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
    v->ren = SDL_CreateRenderer(v->win, -1, 0);
    if (!v->ren) /* no GL under some X servers: the software renderer always works */
        v->ren = SDL_CreateRenderer(v->win, -1, SDL_RENDERER_SOFTWARE);
    if (!v->ren)
        return es_fail("no renderer (SDL: %s)", SDL_GetError());
    if (!(v->font = es_font_open(NULL)))
        return -1;
    v->fo.font = v->font;
    return 0;
}

void view_window_close(view *v)
{
    if (v->tex)
        SDL_DestroyTexture(v->tex);
    if (v->ren)
        SDL_DestroyRenderer(v->ren);
    if (v->win)
        SDL_DestroyWindow(v->win);
    es_font_close(v->font);
    es_canvas_free(&v->fig);
    es_canvas_free(&v->screen);
    v->tex = NULL, v->ren = NULL, v->win = NULL, v->font = NULL, v->fo.font = NULL;
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
static void draw_bar(view *v, int y)
{
    es_canvas *c = &v->screen;
    es_rgba fg = ES_RGBA(40, 40, 40, 255), dim = ES_RGBA(110, 110, 110, 255);
    es_fill_rect(c, (es_rect){0, y, c->w, c->h - y}, ES_RGBA(244, 244, 246, 255));
    es_fill_rect(c, (es_rect){0, y, c->w, 1}, ES_RGBA(205, 205, 210, 255));
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
    es_text_draw(c, v->font, 12, 8, y + 12, state, fg, ES_LEFT | ES_MIDDLE);
    if (v->status[0])
        es_text_draw(c, v->font, 12, c->w - 8, y + 12, v->status, ES_RGBA(170, 60, 20, 255),
                     ES_RIGHT | ES_MIDDLE);
    float size = 11; /* the whole line, smaller in a narrow window */
    while (size > 7 && es_text_width(v->font, size, keys_help) > c->w - 16)
        size -= 0.5f;
    es_text_draw(c, v->font, size, 8, y + 30, keys_help, dim, ES_LEFT | ES_MIDDLE);
}

/* Uploads v->screen and shows it; with `shot`, reads the frame back before presenting. */
static int upload(view *v, es_canvas *shot)
{
    es_canvas *c = &v->screen;
    if (!v->tex || v->tex_w != c->w || v->tex_h != c->h) {
        if (v->tex)
            SDL_DestroyTexture(v->tex);
        v->tex = SDL_CreateTexture(v->ren, VIEW_FORMAT, SDL_TEXTUREACCESS_STREAMING, c->w, c->h);
        if (!v->tex)
            return es_fail("no texture (SDL: %s)", SDL_GetError());
        v->tex_w = c->w, v->tex_h = c->h;
    }
    if (SDL_UpdateTexture(v->tex, NULL, c->px, c->stride) != 0 ||
        SDL_SetRenderDrawColor(v->ren, 255, 255, 255, 255) != 0 || SDL_RenderClear(v->ren) != 0 ||
        SDL_RenderCopy(v->ren, v->tex, NULL, &(SDL_Rect){0, 0, c->w, c->h}) != 0)
        return es_fail("drawing failed (SDL: %s)", SDL_GetError());
    if (shot) { /* what the renderer holds, not the canvas: this proves the SDL path */
        if (es_canvas_init(shot, c->w, c->h, ES_RGBA(0, 0, 0, 0)) != 0)
            return -1;
        if (SDL_RenderReadPixels(v->ren, &(SDL_Rect){0, 0, c->w, c->h}, VIEW_FORMAT, shot->px,
                                 shot->stride) != 0)
            return es_fail("reading the frame back failed (SDL: %s)", SDL_GetError());
        for (int y = 0; y < shot->h; y++) /* the window has no alpha: opaque, as shown */
            for (int x = 0; x < shot->w; x++)
                es_canvas_row(shot, y)[4 * x + 3] = 255;
    }
    SDL_RenderPresent(v->ren);
    return 0;
}

void view_output_size(view *v, int *w, int *h)
{
    int ww, wh;
    if (!v->ren || SDL_GetRendererOutputSize(v->ren, w, h) != 0)
        *w = v->screen.w, *h = v->screen.h;
    SDL_GetWindowSize(v->win, &ww, &wh);
    v->scale = ww > 0 && *w > 0 ? (float)*w / ww : 1;
}

/* While a map is computed: what, how far (windows done, or a moving block when there is one
 * window), for how long, and that Esc stops it — over the figure, which stays visible. */
static void draw_progress(view *v)
{
    es_canvas *c = &v->screen;
    int bw = c->w * 2 / 5 < 560 ? (c->w * 2 / 5 > 200 ? c->w * 2 / 5 : 200) : 560, bh = 54;
    es_rect box = {(c->w - bw) / 2, (c->h - VIEW_BAR_H - bh) / 2, bw, bh};
    es_fill_rect(c, box, ES_RGBA(250, 248, 240, 235));
    es_stroke_rect(c, box, ES_RGBA(170, 160, 140, 255));
    char line[200];
    int rows = v->in.x.dims[0];
    double secs = (SDL_GetTicks() - v->job_t0) / 1000.0;
    snprintf(line, sizeof line, "%s%s · %d/%d window%s · %.0f s · Esc cancels",
             v->cancel ? "cancelling " : "", es_sal_method_name(v->job / v->in.classes),
             v->job_rows < rows ? v->job_rows : rows, rows, rows > 1 ? "s" : "", secs);
    es_text_draw(c, v->font, 13, box.x + 12, box.y + 17, line, ES_RGBA(60, 50, 40, 255),
                 ES_LEFT | ES_MIDDLE);
    es_rect track = {box.x + 12, box.y + 32, box.w - 24, 10};
    es_fill_rect(c, track, ES_RGBA(225, 220, 210, 255));
    double f = view_progress(v);
    if (rows > 1) {
        es_fill_rect(c, (es_rect){track.x, track.y, (int)(track.w * f), track.h},
                     ES_RGBA(200, 110, 40, 255));
    } else { /* one window: a block going to and fro says it is alive */
        int bwid = track.w / 5, span = track.w - bwid;
        int t = (int)(SDL_GetTicks() / 4 % (2 * (Uint32)span));
        es_fill_rect(c, (es_rect){track.x + (t < span ? t : 2 * span - t), track.y, bwid, track.h},
                     ES_RGBA(200, 110, 40, 255));
    }
}

/* The playhead: a line over the image where the sound being played is, when it is shown. */
static void draw_playhead(view *v)
{
    double col = view_playhead(v);
    es_rect a = v->area;
    if (col < 0 || a.w <= 0 || col < v->c0 || col >= v->c0 + v->span || !v->fig.px)
        return;
    int x = a.x + (int)((col - v->c0) / v->span * a.w);
    es_fill_rect(&v->screen, (es_rect){x - 1, a.y, 3, a.h}, ES_RGBA(255, 255, 255, 200));
    es_fill_rect(&v->screen, (es_rect){x, a.y, 1, a.h}, ES_RGBA(220, 30, 30, 255));
}

int view_present(view *v, es_canvas *shot)
{
    int w, h;
    view_output_size(v, &w, &h);
    if (!v->screen.px || v->screen.w != w || v->screen.h != h) {
        es_canvas_free(&v->screen);
        if (es_canvas_init(&v->screen, w, h, ES_RGBA(255, 255, 255, 255)) != 0)
            return -1;
    }
    int fh = v->fig.px ? (v->fig.h < h ? v->fig.h : h) : 0;
    int fw = v->fig.px ? (v->fig.w < w ? v->fig.w : w) : 0;
    for (int y = 0; y < h; y++) { /* the figure, white around it */
        uint8_t *row = es_canvas_row(&v->screen, y);
        if (y < fh)
            memcpy(row, es_canvas_row(&v->fig, y), (size_t)fw * 4);
        memset(row + (y < fh ? fw : 0) * 4, 255, (size_t)(w - (y < fh ? fw : 0)) * 4);
    }
    if (!v->fig.px) /* the figure failed (a window too small): say why where it would be */
        es_text_draw(&v->screen, v->font, 13, w / 2, (h - VIEW_BAR_H) / 2, v->fig_msg,
                     ES_RGBA(170, 60, 20, 255), ES_CENTER | ES_MIDDLE);
    draw_playhead(v);
    if (v->worker)
        draw_progress(v);
    if (v->show_keys)
        draw_bar(v, h - VIEW_BAR_H);
    return upload(v, shot);
}

void view_flash(view *v, const char *msg)
{
    snprintf(v->status, sizeof v->status, "%s", msg);
    int w, h;
    if (!v->ren || SDL_GetRendererOutputSize(v->ren, &w, &h) != 0)
        return;
    if (!v->screen.px || v->screen.w != w || v->screen.h != h) {
        es_canvas_free(&v->screen);
        if (es_canvas_init(&v->screen, w, h, ES_RGBA(255, 255, 255, 255)) != 0)
            return;
        es_text_draw(&v->screen, v->font, 15, w / 2, h / 2, msg, ES_RGBA(60, 60, 60, 255),
                     ES_CENTER | ES_MIDDLE);
    }
    if (v->show_keys) {
        draw_bar(v, h - VIEW_BAR_H);
    } else {
        int tw = es_text_width(v->font, 13, msg);
        es_fill_rect(&v->screen, (es_rect){8, 8, tw + 16, 24}, ES_RGBA(250, 246, 230, 240));
        es_text_draw(&v->screen, v->font, 13, 16, 20, msg, ES_RGBA(170, 60, 20, 255),
                     ES_LEFT | ES_MIDDLE);
    }
    upload(v, NULL);
}
