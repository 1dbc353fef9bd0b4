/* earsight view — the desktop viewer, shared by its files:
 *   view.c    the verb: flags, the state (method, overlay, sign, target, zoom), keys, the loop
 *   work.c    the maps: computed on a worker thread, cached, cancelled with Esc, progress
 *   window.c  SDL: the window, the figure plus the key bar on one canvas, the texture upload,
 *             the read-back for screenshots; the playhead, selection and progress over it
 *   sound.c   SDL audio: the original sound, and what the network heard (the salient part
 *             resynthesised with its own phase); the playhead's clock
 *   script.c  --script (keys, clicks, waits, screenshots as a user would) and --bench
 * Coordinates: the canvas is in the renderer's output pixels (HiDPI: more than the window's
 * points); mouse events come in points and are scaled by v->scale on arrival. */
#ifndef ES_APP_VIEW_H
#define ES_APP_VIEW_H
#include "apps/saliency.h"
#include <SDL.h>

#define VIEW_BAR_H 40 /* the key bar under the figure: two lines of text */
#define VIEW_PANES 4  /* the saliency figure, a layer's activations, its filters, the sanity strip */
#define VIEW_PANE_SANITY 3

typedef struct {
    float *map;       /* es_clip_map_size floats; NULL until computed */
    es_sal_info info;
    int failed;       /* the method cannot explain this model, or it was cancelled */
    char why[160];    /* why it failed */
} view_map;

/* The sanity checks (cascading, as `sanity --png` draws them) of one method and class. */
typedef struct {
    es_sanity s;      /* s.maps NULL until computed */
    int key;          /* the cache index (method × classes + target) they are of; -1 none */
    int failed;       /* cancelled, or the model has no layer to randomise */
    char why[160];
} view_sanity;

typedef struct view_script view_script;

typedef struct {
    char *path;
    char verdict[48]; /* "bird 0.93" once opened, "error" when it could not be */
    float key;        /* a summary.csv's P, the order the gallery shows */
} view_file;

/* A canvas shown through its own texture, uploaded when stale. */
typedef struct {
    es_canvas c;
    SDL_Texture *t;
    int tw, th, stale;
} view_layer;

typedef struct {
    /* what is shown */
    sal_args a;
    es_clip in;
    const char *file, *export_path;
    es_figure_opts fo;
    int method, target, mode, sign; /* mode: index into heat, blended, masked, alpha */
    int cols, c0, span;             /* time columns: all, first shown, shown */
    int rows, r0, rspan;            /* frequency rows (row 0 the lowest): all, first, shown */
    float *base;                    /* the input as the picture shows it (rows × cols) */
    int show_keys;
    view_map *cache;                /* ES_SAL_COUNT × classes, computed on demand */
    view_sanity san;                /* the sanity pane's checks, computed on demand */
    char status[256];               /* the bar's message (computing, exported, an error) */
    /* maps are computed on a worker thread so the window stays alive (occlusion can take
     * minutes); --screenshot alone computes on the main thread (sync) */
    int sync, job;                  /* job: the cache index being computed, -1 none */
    int job_sanity;                 /* the job is the sanity checks of that index, not its map */
    es_sanity job_checks;           /* the worker's sanity checks, published by the main thread */
    SDL_Thread *worker;
    Uint32 done_event;              /* pushed by the worker when its map is ready */
    float *job_map;                 /* the worker's result, published by the main thread */
    es_sal_info job_info;
    char job_error[256];
    volatile int cancel;            /* Esc: the worker stops before its next batch or window */
    volatile int job_rows;          /* windows the worker has finished (of every map) */
    volatile int job_base;          /* windows of the maps finished before the current one */
    int job_total;                  /* windows the job computes in all */
    Uint32 job_t0;                  /* SDL_GetTicks when it started */
    /* SDL */
    SDL_Window *win;
    SDL_Renderer *ren;
    es_canvas fig;                  /* the figure (exports; the window shows it through figl) */
    view_layer figl, bar, box;      /* the figure's texture, the key bar, the progress box */
    int out_w, out_h;               /* the renderer's output size at the last frame */
    char readout[256];              /* what is under the mouse (the bar's right side) */
    int fig_dirty;                  /* the figure must be rendered again (state changed) */
    char fig_msg[256];              /* shown instead of a figure that is not there */
    es_font *font;
    float scale;                    /* output pixels per window point (HiDPI) */
    int win_w, win_h;               /* the window's size before fullscreen, in points */
    int mx, my;                     /* the mouse in output pixels; -1 outside */
    es_rect area;                   /* where the figure's image is (w 0: none) */
    double sel0, sel1;              /* the selection in columns (sel1 <= sel0: none) */
    int drag, press_x;              /* the button held (0 none), where it was pressed */
    double press_col;               /* the column pressed on the image, -1 elsewhere */
    /* sound */
    SDL_AudioDeviceID dev;
    float *wave;                    /* the original, mono at the features' rate */
    long wave_n;
    float *play;                    /* what the device plays (owned; swapped under its lock) */
    long play_n;
    volatile long play_pos;         /* samples the device has taken: the audio clock */
    long play_from;                 /* the recording's sample under play[0] */
    int dev_samples;                /* the device's buffer: what it took but has not played */
    int audio_failed;
    /* panes */
    int pane, layer, n_layers;      /* layer: index into layers */
    int *layers;                    /* tensors with spatial maps, in graph order */
    char pane_info[256];            /* the layer's name and shape, for the bar */
    /* browsing */
    view_file *files;
    int n_files, cap_files, cur;
    const char *model_path;         /* -m, for the next file */
    char file_error[256];           /* the file shown could not be read: why */
    int show_list;                  /* the file list panel (with more than one file) */
    view_layer list;
    /* scripts and benchmarks */
    view_script *script;
    Uint64 composed_at;             /* SDL_GetPerformanceCounter before the last present */
    double composed_cpu;            /* the process's CPU time then, ms (view_cpu_ms) */
} view;

/* window.c */
int view_window_open(view *v, int w, int h);       /* -1 with es_error() */
void view_window_close(view *v);
void view_sdl_quit(void); /* SDL_Quit (see window.c for the sanity builds) */
/* Composes the window canvas from v->fig and the bar, and presents it; with `shot`, reads
 * the frame back from the renderer into *shot first. */
int view_present(view *v, es_canvas *shot);
/* Shows `msg` in the bar at once, over the last frame (before a slow computation). */
void view_flash(view *v, const char *msg);
/* The renderer's output size, and v->scale from it (output pixels per window point). */
void view_output_size(view *v, int *w, int *h);

/* work.c */
/* The map of the current method and class: cached, computed now (v->sync), or started on
 * the worker (map NULL until published, v->status says what runs). */
view_map *view_current(view *v);
/* The worker's map into the cache: on its done event, on the main thread. */
void view_publish(view *v);
/* Esc while a map is computed: the worker stops; returns 0 when nothing was running. */
int view_cancel(view *v);
/* Whether a method runs many passes per window (IG, SmoothGrad, occlusion): it is marked
 * slow in the bar before it starts. */
int view_method_slow(const view *v, int method);
/* What the worker did so far, 0 … 1 (windows finished), for the progress bar. */
double view_progress(const view *v);
/* The progress box's line: what runs, how far, for how long, that Esc stops it. */
void view_progress_line(const view *v, char *line, size_t cap);
/* The sanity checks of the current method and class: computed (s.maps set or failed), or
 * started on the worker / computed now as view_current does. NULL while they are computed
 * (v->fig_msg says so). */
const view_sanity *view_sanity_current(view *v);
/* Whether a computation runs, or the pane shown waits for one that starts at the next frame
 * (a script's `idle` waits while so). */
int view_busy(view *v);
/* Stops the worker (Esc, another file, quitting) and drops what it computed. */
void view_stop(view *v);
void view_work_free(view *v);

/* sound.c */
/* Plays the selection, else the shown part of the sound: the original, or with `heard` what the network heard
 * under the current map and sign. Sets v->status; never fails the viewer. */
void view_play(view *v, int heard, const float *map);
/* The same for columns [c0, c1) of the recording (c1 >= cols: to its end). */
void view_play_cols(view *v, int heard, const float *map, double c0, double c1);
/* The playhead: the column being heard (the audio clock), or -1 when nothing plays. */
double view_playhead(view *v);
void view_sound_close(view *v);

/* nav.c */
void view_clamp(view *v);
/* Zooms in (in > 0), out (< 0) or to all (0) around a column / row (-1: the middle). */
void view_zoom_time(view *v, int in, double anchor);
void view_zoom_freq(view *v, int in, double anchor);
void view_pan(view *v, int dcols, int drows);
/* A mouse event (points scaled to pixels): readout, click to play, select, drag, wheel.
 * 1 when the frame must be drawn again. */
int view_mouse(view *v, const SDL_Event *e);
/* The window whose centre is nearest column `col` (0 for a single input). */
int view_window_at(const view *v, int col);
/* v->readout for the pixel under the mouse (empty when it is not over the image). */
void view_readout(view *v);

/* panes.c */
extern const char *const view_pane_names[VIEW_PANES];
int view_panes_init(view *v); /* the layers of the model loaded: 0, or -1 */
/* The pane v->pane (not the figure) into v->fig at w × h; v->fig_msg says why not. 0. */
int view_pane_render(view *v, int w, int h);
void view_pane_key(view *v, SDL_Keycode k, int shift); /* Tab, [ and ] */

/* browse.c */
/* Adds a file, a folder's sound files (recursive, sorted) or a summary.csv's paths (sorted by
 * P, largest first) to the list: how many, or -1 with es_error(). */
int view_browse_add(view *v, const char *path);
/* Opens file k of the list (wrapping): 0; -1 when it cannot be read (v->file_error says why,
 * the clip shown before stays loaded but hidden). */
int view_browse_open(view *v, int k);
void view_browse_drop(view *v, const char *path);
void view_browse_free(view *v);
int view_browse_draw(view *v, es_canvas *c);
int view_list_width(const view *v); /* the panel's width in pixels, 0 when hidden */

/* script.c */
/* Reads a script (see view.c's help for its lines): NULL with es_error() "FILE:LINE: why". */
view_script *view_script_load(const char *path);
void view_script_free(view_script *s);
/* Runs the script's lines that are due; *shot gets a screenshot path when the next frame
 * must be read back (the loop draws it, then calls view_script_shot). Returns 0 to go on,
 * 1 at the end of the script (or `quit`), -1 with es_error(). */
int view_script_step(view *v, const char **shot);
/* Frame times while scrolling the whole recording, printed on stdout: 0, or -1. */
int view_bench(view *v, int frames);
double view_cpu_ms(void); /* the process's CPU time (all threads), ms */

/* view.c */
const char *view_mode_name(int mode);
const char *view_sign_name(int sign);
/* v->base, v->rows, v->cols: the input as the picture shows it. 0, or -1 with es_error(). */
int view_base_picture(view *v);
/* Renders the figure for the current state into v->fig when the state changed. */
int view_figure(view *v);
/* One frame: the figure (when needed) and the window; `shot` as view_present. */
int view_draw(view *v, es_canvas *shot);

#endif
