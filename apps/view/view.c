/* earsight view AUDIO|X.npy [-m MODEL] [--method M] — the saliency figure in a window, with
 * keys to change method, overlay, sign, layout, target and zoom, and to hear the sound. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/view/view.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const opt_cmd cmd = {
    "view", "usage: earsight view AUDIO|X.npy|FOLDER|summary.csv… [-m MODEL] [--method M] [options]",
    "A window showing the figure `earsight saliency --png` draws (the same pixels): the\n"
    "spectrogram with time and frequency axes, colorbars, the title with file, class and\n"
    "P(class), the saliency overlay, and P(class) over time for a recording analysed in\n"
    "several windows. Maps are computed once per method and class, then kept.\n"
    "\n"
    "keys (also in the window's bottom bar):\n"
    "  m / M       next / previous method (slow ones say \"computing…\" first)\n"
    "  o / O       overlay: heat, blended, masked, alpha\n"
    "  s / S       sign: absolute, positive, negative, all\n"
    "  q           the four-panel layout (input, |saliency|, positive, negative) on / off\n"
    "  t / T       next / previous target class\n"
    "  + / -       zoom in / out in time (also the wheel, at the mouse);  ← / →  scroll\n"
    "  PgUp / PgDn zoom in / out in frequency (also ctrl+wheel);  ↑ / ↓  scroll;  0: all\n"
    "  drag        with the right or middle button: move the view; shift+wheel: scroll\n"
    "  click       play from there (a red playhead follows the sound);  drag: select\n"
    "  f, F11      fullscreen on / off\n"
    "  p           play the selection, else the shown part of the sound\n"
    "  shift+p     play what the network heard: the most salient tenth of the time-frequency\n"
    "              bins (by the current sign), resynthesised with the sound's own phase\n"
    "  e           export the figure as shown to PNG (-o, default NAME.METHOD.cK.png)\n"
    "  h           hide / show the key bar\n"
    "  n / N       next / previous file (operands: files, folders, an export's summary.csv;\n"
    "              files and folders dropped on the window join the list)\n"
    "  l           the file list (each file's verdict and P once opened) on / off\n"
    "  Tab         the panes: saliency, a layer's activations (for the window at the view's\n"
    "              centre, as `earsight maps` draws them), its filters (as `earsight weights`),\n"
    "              the sanity strip of the method and class (as `earsight sanity --png`: slow,\n"
    "              a map per layer randomised, computed off the UI thread; Esc cancels)\n"
    "  [ / ]       the previous / next layer (its name and shape in the bar)\n"
    "  Esc         cancel the computation running, else drop the selection, else quit\n"
    "  ctrl+q      quit\n"
    "the bar's right side reads out what is under the mouse: time, frequency, the feature's\n"
    "value (dB), the attribution, and P(class) of the window nearest that time.\n"
    "\n"
    "scripts (--script FILE), one step a line, # comments:\n"
    "  key NAME          a key as SDL names it (m, shift+m, Left, Escape, F11, ctrl+q)\n"
    "  click X Y         a left click at window point (X, Y);  move X Y  the mouse there\n"
    "  drag X0 Y0 X1 Y1 [right]  press, move, release;  wheel N [ctrl|shift]  (+N is in)\n"
    "  wait MS           let MS milliseconds pass (frames are drawn, sound plays)\n"
    "  idle              wait until no computation runs\n"
    "  screenshot PATH   the next frame, read back from the renderer, as PNG\n"
    "  print WHAT        a line on stdout: playhead, status, method, view, readout, file, pane\n"
    "  resize W H;  drop PATH;  quit\n"};

/* The overlays a figure can show are viz's from heat on (v->mode counts from there) and its
 * signs; their names, for the option rows, are viz's own (filled by name_lists). */
#define N_MODES (ES_OVERLAY_N - ES_OVERLAY_HEAT)
static const char *modes[N_MODES + 1], *signs[ES_SIGN_N + 1];
static es_overlay_mode overlay_of(int mode) { return (es_overlay_mode)(ES_OVERLAY_HEAT + mode); }
const char *view_mode_name(int m) { return es_overlay_mode_name(overlay_of(m)); }
const char *view_sign_name(int s) { return es_sign_name((es_sign)s); }

static void name_lists(void)
{
    for (int m = 0; m < N_MODES; m++)
        modes[m] = view_mode_name(m);
    for (int s = 0; s < ES_SIGN_N; s++)
        signs[s] = view_sign_name(s);
}

#define MAX_PATHS 4096
typedef struct {
    const char *model, *screenshot, *keys, *layout, *script;
    int w, h, frames, bench, n_paths;
    const char *paths[MAX_PATHS];
} options;

static int parse(int argc, char **argv, options *o, view *v)
{
    name_lists();
    const opt rows[] = {
        OPT_HEADING("options:"), OPT_MODEL(&o->model),
        OPT_SIZE(0, "size", &o->w, &o->h, 64, 16384, "WxH",
                 "the figure's size in pixels (1000x450, as saliency --png; 1920x1040\n"
                 "with --bench); the window adds the 40-pixel key bar below it.\n"
                 "Resizing re-renders"),
        OPT_ENUM(0, "overlay", &v->mode, modes, "MODE", "heat | blended (default) | masked | alpha"),
        OPT_ENUM(0, "sign", &v->sign, signs, "S", "absolute (default) | positive | negative | all"),
        OPT_STRING(0, "cmap", &v->fo.cmap, "NAME", "the overlay's colour map"),
        OPT_STRING(0, "title", &v->fo.title, "T", "the title"),
        OPT_FLOAT(0, "outlier-perc", &v->fo.outlier, 0, 100, "P", "Captum's outlier percentage (2)"),
        OPT_FLOAT(0, "alpha", &v->fo.alpha, 0, 1, "A", "the overlay's opacity (0.5)"),
        OPT_STRING(0, "layout", &o->layout, "quad|single", "the four panels or one (single)"),
        OPT_INPUT(&v->file, "the sound or X.npy (or give it as the operand)"),
        OPT_OUTPUT(&v->export_path, "where e exports (overwritten by each export)"),
        OPT_OUTFILE(0, "screenshot", &o->screenshot, "FILE",
                    "render the first frame in the window, read it back from the\n"
                    "renderer, write it as PNG and exit", 0),
        OPT_INT(0, "frames", &o->frames, 1, 1e9, "N", "exit after N frames (with --screenshot: the last one is written)"),
        OPT_INFILE(0, "script", &o->script, "FILE",
                   "play FILE's lines as a user would, then exit (with --screenshot:\n"
                   "the last frame is written): see \"scripts\" below"),
        OPT_SWITCH(0, "bench", &o->bench,
                   "zoom to 30 s, scroll through the whole recording in 240 frames (or\n"
                   "--frames N), each drawn in full, and print one line of key=value\n"
                   "fields on stdout: wall time (median, p90, max), CPU a frame, the\n"
                   "split (figure, composition, present), the renderer, the load"),
        OPT_STRING(0, "keys", &o->keys, "KEYS",
                   "press these keys before the first frame: m M o O s S q t T + - 0\n"
                   "< > (scroll) h e p P — for scripts and tests"),
        OPT_JOBS, OPT_SALIENCY(&v->a),
        OPT_HEADING("\nNeeds a display (X11 or Wayland; Xvfb will do). Without a sound device the viewer\n"
                    "still runs and says so when p is pressed."),
        OPT_INFILES(0, NULL, o->paths, &o->n_paths, "input", NULL), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!v->file && !o->n_paths)
        return cli_usage("view", "no input (a sound or X.npy)");
    if (o->layout && strcmp(o->layout, "quad") && strcmp(o->layout, "single"))
        return cli_usage("view", "--layout takes quad or single, not '%s'", o->layout);
    v->fo.quad = o->layout && !strcmp(o->layout, "quad");
    if (v->fo.cmap && !es_cmap_get(v->fo.cmap))
        return cli_usage("view", "%s", es_error());
    es_overlay ov = ES_OVERLAY_DEFAULTS;
    if (es_overlay_parse(&ov, modes[v->mode], signs[v->sign]) != 0)
        return cli_usage("view", "%s", es_error());
    if (v->a.method && es_sal_method_find(v->a.method) < 0)
        return cli_usage("view", "unknown method '%s'", v->a.method);
    for (const char *k = o->keys; k && *k; k++)
        if (!strchr("mMoOsSqtT+-0<>hepP ", *k))
            return cli_usage("view", "--keys: no key '%c' (m M o O s S q t T + - 0 < > h e p P)", *k);
    return 0;
}

/* ---- the figure ------------------------------------------------------------------------ */
int view_figure(view *v)
{
    int w, h;
    view_output_size(v, &w, &h);
    int fh = h - (v->show_keys ? VIEW_BAR_H : 0);
    w -= view_list_width(v);
    if (v->file_error[0]) { /* the viewer goes on: n / N to another file */
        es_canvas_free(&v->fig);
        v->area = (es_rect){0}, v->readout[0] = 0;
        return snprintf(v->fig_msg, sizeof v->fig_msg, "%s", v->file_error), 0;
    }
    if (v->pane) { /* activations or filters: drawn again when the layer, window or size changed */
        if (!v->fig_dirty && v->fig.px && v->fig.w == w && v->fig.h == fh)
            return 0;
        es_canvas_free(&v->fig);
        v->fig_dirty = 0, v->readout[0] = 0;
        return view_pane_render(v, w, fh);
    }
    view_map *m = view_current(v);
    if (!m->map && !m->failed && v->fig.px && v->fig.w == w)
        return 0; /* being computed: the last figure stays, the bar says what runs */
    if (!v->fig_dirty && v->fig.px && v->fig.w == w && v->fig.h == fh)
        return 0;
    es_canvas_free(&v->fig);
    v->fig_dirty = 0, v->area = (es_rect){0};
    if (!m->map && !m->failed) /* the first map: the window says what runs */
        return snprintf(v->fig_msg, sizeof v->fig_msg, "%s", v->status), 0;
    if (!m->map)
        return snprintf(v->fig_msg, sizeof v->fig_msg, "%s", m->why), es_fail("%s", m->why);
    v->fo.w = w, v->fo.h = fh;
    v->fo.mode = modes[v->mode], v->fo.sign = signs[v->sign];
    v->fo.c0 = v->c0, v->fo.c1 = v->c0 + v->span, v->fo.area = &v->area;
    v->fo.r0 = v->r0, v->fo.r1 = v->r0 + v->rspan;
    /* a sound's map is its picture, v->base the input's: nothing to stitch per frame */
    v->fo.input_picture = v->in.audio ? v->base : NULL, v->fo.map_picture = v->in.audio ? m->map : NULL;
    v->figl.stale = 1;
    if (es_figure_render(&v->fo, &v->in, v->file, v->method, m->map, &m->info, &v->fig) != 0)
        return snprintf(v->fig_msg, sizeof v->fig_msg, "%s", es_error()), -1;
    view_readout(v); /* the mouse is over other data now */
    return 0;
}

static void export_png(view *v)
{
    char path[4096];
    if (v->export_path) {
        snprintf(path, sizeof path, "%s", v->export_path);
    } else {
        const char *bn = strrchr(v->file, '/') ? strrchr(v->file, '/') + 1 : v->file;
        const char *dot = strrchr(bn, '.');
        snprintf(path, sizeof path, "%.*s.%s.c%d.png", dot ? (int)(dot - bn) : (int)strlen(bn), bn,
                 es_sal_method_name(v->method), v->target);
    }
    view_map *m = view_current(v);
    if (!m->map) {
        snprintf(v->status, sizeof v->status, "export: %s", m->failed ? "no map" : "the map is not ready yet");
        return;
    }
    if (view_figure(v) != 0) {
        snprintf(v->status, sizeof v->status, "export failed: %s", es_error());
        return;
    }
    char tgt[32], score[32], pv[32] = "", win[32] = "";
    snprintf(tgt, sizeof tgt, "%d", m->info.target);
    snprintf(score, sizeof score, "%.9g", m->info.score);
    es_verdict vd; /* the keys saliency --png writes: the same verdict */
    if (es_clip_verdict(&v->in, NULL, &vd) == 0) {
        snprintf(pv, sizeof pv, "%.9g", vd.pc[m->info.target]);
        snprintf(win, sizeof win, "%d", vd.window);
    }
    const char *text[] = {"model", v->in.m.path, "input", v->file, "method",
                          es_sal_method_name(v->method), "target", tgt, "score", score,
                          "p", pv, "window", win, "aggregate", es_aggregate_name(vd.rule), NULL};
    es_png_opts po = {-1, text};
    int rc = es_png_write(path, &v->fig, &po);
    es_verdict_free(&vd);
    if (rc != 0)
        snprintf(v->status, sizeof v->status, "export failed: %s", es_error());
    else
        snprintf(v->status, sizeof v->status, "exported %.200s", path);
}

/* ---- keys ------------------------------------------------------------------------------- */
static int wrap(int i, int n) { return ((i % n) + n) % n; }

/* Pairs viz does not draw (masked or alpha with sign all, as Captum refuses) are skipped. */
static int valid(int mode, int sign) { return es_overlay_allows(overlay_of(mode), (es_sign)sign); }

/* Applies one key; returns 0 to go on, 1 to quit. */
static int key(view *v, SDL_Keycode k, int shift, int ctrl)
{
    int d = shift ? -1 : 1;
    v->status[0] = 0;
    if (v->file_error[0] && k != SDLK_n && k != SDLK_l && k != SDLK_ESCAPE && k != SDLK_q &&
        k != SDLK_h && k != SDLK_f && k != SDLK_F11)
        return 0; /* nothing to act on but the other files */
    switch (k) {
    case SDLK_n: view_browse_open(v, v->cur + d); break;
    case SDLK_l: v->show_list = !v->show_list; break;
    case SDLK_TAB: case SDLK_LEFTBRACKET: case SDLK_RIGHTBRACKET: view_pane_key(v, k, shift); break;
    case SDLK_ESCAPE: /* a computation running stops, a selection goes; else the viewer ends */
        if (view_cancel(v))
            return 0;
        if (v->sel1 > v->sel0)
            return v->sel0 = v->sel1 = 0, 0;
        return 1;
    case SDLK_q:
        if (ctrl)
            return 1;
        v->fo.quad = !v->fo.quad;
        break;
    case SDLK_m: v->method = wrap(v->method + d, ES_SAL_COUNT); break;
    case SDLK_o:
        do
            v->mode = wrap(v->mode + d, N_MODES);
        while (!valid(v->mode, v->sign));
        break;
    case SDLK_s:
        do
            v->sign = wrap(v->sign + d, ES_SIGN_N);
        while (!valid(v->mode, v->sign));
        break;
    case SDLK_t: v->target = wrap(v->target + d, v->in.classes); break;
    case SDLK_PLUS: case SDLK_EQUALS: case SDLK_KP_PLUS: view_zoom_time(v, 1, -1); break;
    case SDLK_MINUS: case SDLK_KP_MINUS: view_zoom_time(v, -1, -1); break;
    case SDLK_0: case SDLK_KP_0: view_zoom_time(v, 0, -1), view_zoom_freq(v, 0, -1); break;
    case SDLK_PAGEUP: view_zoom_freq(v, 1, -1); break;
    case SDLK_PAGEDOWN: view_zoom_freq(v, -1, -1); break;
    case SDLK_LEFT: view_pan(v, -(v->span / 4 > 0 ? v->span / 4 : 1), 0); break;
    case SDLK_RIGHT: view_pan(v, v->span / 4 > 0 ? v->span / 4 : 1, 0); break;
    case SDLK_UP: view_pan(v, 0, v->rspan / 4 > 0 ? v->rspan / 4 : 1); break;
    case SDLK_DOWN: view_pan(v, 0, -(v->rspan / 4 > 0 ? v->rspan / 4 : 1)); break;
    case SDLK_HOME: v->c0 = 0; break;
    case SDLK_END: v->c0 = v->cols; break;
    case SDLK_f: case SDLK_F11: {
        if (!(SDL_GetWindowFlags(v->win) & SDL_WINDOW_FULLSCREEN)) {
            SDL_GetWindowSize(v->win, &v->win_w, &v->win_h);
            SDL_SetWindowFullscreen(v->win, SDL_WINDOW_FULLSCREEN_DESKTOP);
        } else { /* back to the window's size (without a window manager X would not) */
            SDL_SetWindowFullscreen(v->win, 0);
            SDL_SetWindowSize(v->win, v->win_w, v->win_h);
        }
        break;
    }
    case SDLK_h: case SDLK_F1: v->show_keys = !v->show_keys; break;
    case SDLK_e: export_png(v); break;
    case SDLK_p:
        if (shift && !view_current(v)->map)
            snprintf(v->status, sizeof v->status, "shift+p: the map is not ready yet");
        else
            view_play(v, shift, view_current(v)->map);
        return 0;
    default: return 0;
    }
    view_clamp(v);
    v->fig_dirty = 1;
    return 0;
}

/* --keys: one character per key, as typed (upper case is shift). */
static int script_key(view *v, char c)
{
    static const char from[] = "<>+-";
    static const SDL_Keycode to[] = {SDLK_LEFT, SDLK_RIGHT, SDLK_PLUS, SDLK_MINUS};
    const char *p = strchr(from, c);
    if (c == ' ')
        return 0;
    if (p)
        return key(v, to[p - from], 0, 0);
    return key(v, (SDL_Keycode)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c), c >= 'A' && c <= 'Z', 0);
}

/* ---- the loop ----------------------------------------------------------------------------- */
int view_draw(view *v, es_canvas *shot)
{
    /* --screenshot alone: a screenshot of an error is no screenshot (a script shows it) */
    if (view_figure(v) != 0 && shot && v->sync)
        return -1;
    return view_present(v, shot);
}

/* One event; returns 1 to quit. */
static int event(view *v, const SDL_Event *e, int *dirty)
{
    if (e->type == SDL_QUIT)
        return 1;
    if (v->worker && e->type == v->done_event)
        view_publish(v), *dirty = 1;
    if (e->type == SDL_WINDOWEVENT && (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
                                       e->window.event == SDL_WINDOWEVENT_EXPOSED))
        *dirty = 1;
    if (view_mouse(v, e))
        *dirty = 1;
    if (e->type == SDL_DROPFILE) {
        view_browse_drop(v, e->drop.file);
        SDL_free(e->drop.file);
        *dirty = 1;
    }
    if (e->type == SDL_KEYDOWN) {
        int mod = e->key.keysym.mod;
        if (key(v, e->key.keysym.sym, mod & KMOD_SHIFT, mod & KMOD_CTRL))
            return 1;
        *dirty = 1;
    }
    return 0;
}

/* The input as the picture shows it (a sound's windows stitched), for the readout. */
int view_base_picture(view *v)
{
    size_t n = es_clip_map_size(&v->in);
    float *st = v->in.audio ? malloc(n * sizeof *st) : NULL;
    if (v->in.audio && (!st || es_clip_stitch(&v->in, v->in.x.data, st) != 0))
        return free(st), es_fail("out of memory");
    int rc = es_clip_picture(&v->in, st ? st : v->in.x.data, &v->rows, &v->cols, &v->base);
    v->rspan = v->rows;
    if (rc == 0) /* the figure's colour range, once rather than for every part drawn */
        es_figure_range(v->base, (size_t)v->rows * v->cols, &v->fo.input_lo, &v->fo.input_hi);
    free(st);
    return rc;
}

/* Something moves on its own: a computation's progress, the playhead. */
static int animated(view *v) { return v->worker || view_playhead(v) >= 0; }

static int save_shot(es_canvas *shot, const char *path)
{
    int rc = es_png_write(path, shot, NULL);
    es_canvas_free(shot);
    return rc;
}

static int run(view *v, const options *o)
{
    int frames = 0, max = o->frames ? o->frames : o->screenshot && !v->script ? 1 : 0, dirty = 1;
    es_canvas shot = {0};
    for (const char *k = o->keys; k && *k; k++)
        if (script_key(v, *k))
            return 0;
    if (o->bench)
        return view_bench(v, o->frames ? o->frames : 240) != 0 ? cli_lib_fail() : 0;
    for (;;) {
        const char *shot_path = NULL;
        if (v->script) {
            int r = view_script_step(v, &shot_path);
            if (r < 0)
                return cli_lib_fail();
            if (r > 0)
                break;
        }
        SDL_Event e;
        int waited = 0;
        if (!dirty && !max && !shot_path) /* idle: sleep until something happens */
            waited = v->script || animated(v) ? SDL_WaitEventTimeout(&e, 15) : SDL_WaitEvent(&e);
        for (int got = waited; got || SDL_PollEvent(&e); got = 0)
            if (event(v, &e, &dirty))
                return 0;
        if (dirty || max || shot_path || animated(v)) {
            int last = max && frames + 1 == max;
            es_canvas *want = shot_path || (last && o->screenshot) ? &shot : NULL;
            if (view_draw(v, want) != 0 && (want || !v->win))
                return es_canvas_free(&shot), cli_fail("%s", es_error());
            dirty = 0;
            if (shot_path && save_shot(&shot, shot_path) != 0)
                return cli_lib_fail();
            if (++frames == max)
                break;
        }
    }
    if (o->screenshot && (shot.px || view_draw(v, &shot) == 0))
        if (save_shot(&shot, o->screenshot) != 0)
            return cli_lib_fail();
    es_canvas_free(&shot);
    return 0;
}

/* The list from the operands (and -i), and the first file of it that can be read: 0, or 1
 * with the error printed (no file at all can be read, as with one file that cannot). */
static int open_first(view *v, const options *o)
{
    v->model_path = o->model;
    if (v->file && view_browse_add(v, v->file) < 0)
        return cli_lib_fail();
    for (int i = 0; i < o->n_paths; i++)
        if (view_browse_add(v, o->paths[i]) < 0)
            return cli_lib_fail();
    if (v->n_files == 0)
        return cli_fail("%s: no sound files there", o->n_paths ? o->paths[0] : v->file);
    char first_error[512] = "";
    for (int k = 0; k < v->n_files; k++) {
        if (view_browse_open(v, k) == 0)
            break;
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "%s", v->file_error);
    }
    if (!v->in.m.g)
        return cli_fail("%s", first_error);
    v->show_list = v->n_files > 1;
    return 0;
}

int cmd_view(int argc, char **argv)
{
    view v = {0};
    options o = {0};
    v.fo = (es_figure_opts)ES_FIGURE_OPTS_DEFAULTS;
    v.mode = 1, v.show_keys = 1, v.job = -1, v.san.key = -1, v.layer = -1, v.mx = v.my = -1, v.scale = 1, v.fig_dirty = 1;
    sal_args_init(&v.a);
    int rc = parse(argc, argv, &o, &v);
    if (rc)
        return rc;
    if (!o.w) /* --bench measures a 1920×1080 window, the yardstick */
        o.w = o.bench ? 1920 : 1000, o.h = o.bench ? 1080 - VIEW_BAR_H : 450;
    if (!v.a.method) /* the README's first look: sharp, one backward pass per window */
        v.a.method = "guided";
    if (o.script && !(v.script = view_script_load(o.script)))
        return sal_args_free(&v.a), cli_lib_fail();
    if ((rc = open_first(&v, &o)) != 0)
        goto done;
    if ((rc = sal_resolve(&v.a, &v.in, "view")) != 0)
        goto done;
    v.method = v.a.o.method, v.target = v.a.o.target;
    rc = 1;
    if (view_window_open(&v, o.w, o.h + VIEW_BAR_H) != 0) {
        cli_lib_fail();
        goto done;
    }
    /* --screenshot and --frames alone draw every frame complete: maps are computed before
     * they are drawn; a script waits for them as a user would (`idle`) */
    v.sync = ((o.frames > 0 || o.screenshot) && !o.script) || o.bench ||
             (v.done_event = SDL_RegisterEvents(1)) == (Uint32)-1;
    /* the first map: a method that cannot explain this model is an error, not a message */
    if (v.sync && !view_current(&v)->map) {
        cli_fail("%s: %s", v.in.m.path, view_current(&v)->why);
        goto done;
    }
    rc = run(&v, &o);
done:
    view_stop(&v); /* quit during a computation: it stops after its current batch */
    view_sound_close(&v);
    if (v.win || v.ren || v.font)
        view_window_close(&v);
    else
        view_sdl_quit();
    view_work_free(&v);
    view_browse_free(&v);
    free(v.layers);
    free(v.base);
    view_script_free(v.script);
    es_clip_free(&v.in);
    sal_args_free(&v.a);
    es_viz_shutdown();
    return rc;
}
