/* earsight view — the desktop viewer, shared by its three files:
 *   view.c    the verb: flags, the state (method, overlay, sign, target, zoom), keys, the loop
 *   window.c  SDL: the window, the figure plus the key bar on one canvas, the texture upload,
 *             the read-back for --screenshot
 *   sound.c   SDL audio: the original sound, and what the network heard (the salient part
 *             resynthesised with its own phase) */
#ifndef ES_APP_VIEW_H
#define ES_APP_VIEW_H
#include "apps/saliency.h"
#include <SDL.h>

#define VIEW_BAR_H 40 /* the key bar under the figure: two lines of text */

typedef struct {
    float *map;       /* es_clip_map_size floats; NULL until computed */
    es_sal_info info;
    int failed;       /* the method cannot explain this model (message shown once) */
} view_map;

typedef struct {
    /* what is shown */
    sal_args a;
    es_clip in;
    const char *file, *export_path;
    es_figure_opts fo;
    int method, target, mode, sign; /* mode: index into heat, blended, masked, alpha */
    int cols, c0, span;             /* time columns: all, first shown, shown */
    int show_keys;
    view_map *cache;                /* ES_SAL_COUNT × classes, computed on demand */
    char status[256];               /* the bar's message (computing, exported, an error) */
    /* maps are computed on a worker thread so the window stays alive (occlusion can take
     * minutes); --frames and --screenshot compute on the main thread (sync) */
    int sync, job;                  /* job: the cache index being computed, -1 none */
    SDL_Thread *worker;
    Uint32 done_event;              /* pushed by the worker when its map is ready */
    float *job_map;                 /* the worker's result, published by the main thread */
    es_sal_info job_info;
    char job_error[256];
    /* SDL */
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tex_w, tex_h;
    es_canvas fig, screen;          /* the figure alone (exports), the window's pixels */
    es_font *font;
    /* sound */
    SDL_AudioDeviceID dev;
    float *wave;                    /* the original, mono at the features' rate */
    long wave_n;
    float *play;                    /* what the device plays (owned; swapped under its lock) */
    long play_n, play_pos;
    int audio_failed;
} view;

/* window.c */
int view_window_open(view *v, int w, int h);       /* -1 with es_error() */
void view_window_close(view *v);
void view_sdl_quit(void); /* SDL_Quit (see window.c for the sanitizer builds) */
/* Renders the figure for the current state into v->fig, composes the window canvas and
 * presents it; with `shot`, reads the frame back from the renderer into *shot first. */
int view_present(view *v, es_canvas *shot);
/* Shows `msg` in the bar at once, over the last frame (before a slow computation). */
void view_flash(view *v, const char *msg);

/* sound.c */
/* Plays the shown part of the sound: the original, or with `heard` what the network heard
 * under the current map and sign. Sets v->status; never fails the viewer. */
void view_play(view *v, int heard, const float *map);
void view_sound_close(view *v);

/* view.c */
const char *view_mode_name(int mode);
const char *view_sign_name(int sign);

#endif
