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
    "view", "usage: earsight view AUDIO|X.npy [-m MODEL] [--method M] [options]",
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
    "  + / -       zoom in / out in time (also the mouse wheel; 0: all);  ← / →  scroll\n"
    "  p           play the shown part of the sound\n"
    "  shift+p     play what the network heard: the most salient tenth of the time-frequency\n"
    "              bins (by the current sign), resynthesised with the sound's own phase\n"
    "  e           export the figure as shown to PNG (-o, default NAME.METHOD.cK.png)\n"
    "  h           hide / show the key bar\n"
    "  Esc, ctrl+q quit\n"};

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

typedef struct {
    const char *model, *screenshot, *keys, *layout;
    int w, h, frames;
} options;

static int parse(int argc, char **argv, options *o, view *v)
{
    name_lists();
    const opt rows[] = {
        OPT_HEADING("options:"), OPT_MODEL(&o->model),
        OPT_SIZE(0, "size", &o->w, &o->h, 64, 16384, "WxH",
                 "the figure's size in pixels (1000x450, as saliency --png); the\n"
                 "window adds the 40-pixel key bar below it. Resizing re-renders"),
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
        OPT_STRING(0, "keys", &o->keys, "KEYS",
                   "press these keys before the first frame: m M o O s S q t T + - 0\n"
                   "< > (scroll) h e p P — for scripts and tests"),
        OPT_JOBS, OPT_SALIENCY(&v->a),
        OPT_HEADING("\nNeeds a display (X11 or Wayland; Xvfb will do). Without a sound device the viewer\n"
                    "still runs and says so when p is pressed."),
        OPT_OPERAND(&v->file, "input"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!v->file)
        return cli_usage("view", "no input (a sound or X.npy)");
    if (o->layout && strcmp(o->layout, "quad") && strcmp(o->layout, "single"))
        return cli_usage("view", "--layout takes quad or single, not '%s'", o->layout);
    v->fo.quad = o->layout && !strcmp(o->layout, "quad");
    if (v->fo.cmap && !es_cmap_get(v->fo.cmap))
        return cli_usage("view", "%s", es_error());
    es_overlay ov;
    if (es_overlay_parse(&ov, modes[v->mode], signs[v->sign]) != 0)
        return cli_usage("view", "%s", es_error());
    if (v->a.method && es_sal_method_find(v->a.method) < 0)
        return cli_usage("view", "unknown method '%s'", v->a.method);
    for (const char *k = o->keys; k && *k; k++)
        if (!strchr("mMoOsSqtT+-0<>hepP ", *k))
            return cli_usage("view", "--keys: no key '%c' (m M o O s S q t T + - 0 < > h e p P)", *k);
    return 0;
}

/* ---- the maps, computed on demand and kept ------------------------------------------------ */
/* The worker reads the graph and the input while the main thread draws cached maps; drawing
 * touches only the graph's structure (which op ends it), never its tensors. */
static int SDLCALL work(void *user)
{
    view *v = user;
    es_sal_opts o = v->a.o;
    o.method = v->job / v->in.classes, o.target = v->job % v->in.classes;
    float *map = malloc(es_clip_map_size(&v->in) * sizeof *map);
    if (!map || es_clip_saliency(&v->in, &o, map, &v->job_info) != 0) {
        snprintf(v->job_error, sizeof v->job_error, "%s", map ? es_error() : "out of memory");
        free(map), map = NULL;
    }
    v->job_map = map;
    SDL_Event e = {.type = v->done_event};
    SDL_PushEvent(&e);
    return 0;
}

/* The worker's map goes into the cache (on the main thread, after the worker ended). */
static void publish(view *v)
{
    SDL_WaitThread(v->worker, NULL);
    view_map *m = &v->cache[v->job];
    m->map = v->job_map, m->info = v->job_info, m->failed = !m->map;
    if (m->failed)
        snprintf(v->status, sizeof v->status, "%s: %.200s", es_sal_method_name(v->job / v->in.classes),
                 v->job_error);
    else
        v->status[0] = 0;
    v->worker = NULL, v->job = -1, v->job_map = NULL;
}

/* The map of the current method and class: cached, or computed now (sync), or started on the
 * worker (map NULL until it is published). */
static view_map *current(view *v)
{
    int idx = v->method * v->in.classes + v->target;
    view_map *m = &v->cache[idx];
    if (m->map || m->failed)
        return m;
    char msg[128];
    snprintf(msg, sizeof msg, "computing %s for class %d…", es_sal_method_name(v->method), v->target);
    if (!v->sync) {
        if (!v->worker) {
            v->job = idx;
            if ((v->worker = SDL_CreateThread(work, "saliency", v)))
                return snprintf(v->status, sizeof v->status, "%s", msg), m;
            v->job = -1; /* no thread: compute here */
        } else {
            if (v->job != idx)
                snprintf(msg, sizeof msg, "computing %s for class %d… (after %s)",
                         es_sal_method_name(v->method), v->target,
                         es_sal_method_name(v->job / v->in.classes));
            return snprintf(v->status, sizeof v->status, "%s", msg), m;
        }
    }
    view_flash(v, msg);
    es_sal_opts o = v->a.o;
    o.method = v->method, o.target = v->target;
    if (!(m->map = malloc(es_clip_map_size(&v->in) * sizeof *m->map)) ||
        es_clip_saliency(&v->in, &o, m->map, &m->info) != 0) {
        snprintf(v->status, sizeof v->status, "%s: %s", es_sal_method_name(v->method),
                 m->map ? es_error() : "out of memory");
        free(m->map), m->map = NULL, m->failed = 1;
        return m;
    }
    v->status[0] = 0;
    return m;
}

/* The figure for the current state at the window's size into v->fig (empty on failure). */
static int figure(view *v)
{
    int w, h;
    SDL_GetRendererOutputSize(v->ren, &w, &h);
    view_map *m = current(v);
    if (!m->map && !m->failed && v->fig.px && v->fig.w == w)
        return 0; /* being computed: the last figure stays, the bar says what runs */
    es_canvas_free(&v->fig);
    if (!m->map)
        return es_fail("%s", v->status);
    v->fo.w = w, v->fo.h = h - (v->show_keys ? VIEW_BAR_H : 0);
    v->fo.mode = modes[v->mode], v->fo.sign = signs[v->sign];
    v->fo.c0 = v->c0, v->fo.c1 = v->c0 + v->span;
    return es_figure_render(&v->fo, &v->in, v->file, v->method, m->map, &m->info, &v->fig);
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
    view_map *m = current(v);
    if (!m->map) {
        snprintf(v->status, sizeof v->status, "export: %s", m->failed ? "no map" : "the map is not ready yet");
        return;
    }
    if (figure(v) != 0) {
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

static void zoom(view *v, int in)
{
    int lo = v->cols < 8 ? v->cols : 8, centre = v->c0 + v->span / 2;
    v->span = in > 0 ? v->span / 2 : in < 0 ? v->span * 2 : v->cols;
    v->span = v->span < lo ? lo : v->span > v->cols ? v->cols : v->span;
    v->c0 = centre - v->span / 2;
}

static void scroll(view *v, int dir)
{
    int step = v->span / 4 > 0 ? v->span / 4 : 1;
    v->c0 += dir * step;
}

static void clamp(view *v)
{
    v->c0 = v->c0 > v->cols - v->span ? v->cols - v->span : v->c0;
    v->c0 = v->c0 < 0 ? 0 : v->c0;
}

/* Applies one key; returns 0 to go on, 1 to quit. */
static int key(view *v, SDL_Keycode k, int shift, int ctrl)
{
    int d = shift ? -1 : 1;
    v->status[0] = 0;
    switch (k) {
    case SDLK_ESCAPE: return 1;
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
    case SDLK_PLUS: case SDLK_EQUALS: case SDLK_KP_PLUS: zoom(v, 1); break;
    case SDLK_MINUS: case SDLK_KP_MINUS: zoom(v, -1); break;
    case SDLK_0: case SDLK_KP_0: zoom(v, 0); break;
    case SDLK_LEFT: scroll(v, -1); break;
    case SDLK_RIGHT: scroll(v, 1); break;
    case SDLK_HOME: v->c0 = 0; break;
    case SDLK_END: v->c0 = v->cols; break;
    case SDLK_h: case SDLK_F1: v->show_keys = !v->show_keys; break;
    case SDLK_e: export_png(v); break;
    case SDLK_p:
        if (shift && !current(v)->map)
            snprintf(v->status, sizeof v->status, "shift+p: the map is not ready yet");
        else
            view_play(v, shift, current(v)->map);
        break;
    default: break;
    }
    clamp(v);
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
static int draw(view *v, es_canvas *shot)
{
    if (figure(v) != 0 && shot) /* a screenshot of an error is no screenshot */
        return -1;
    return view_present(v, shot);
}

static int run(view *v, const options *o)
{
    int frames = 0, max = o->frames ? o->frames : o->screenshot ? 1 : 0, dirty = 1;
    es_canvas shot = {0};
    for (const char *k = o->keys; k && *k; k++)
        if (script_key(v, *k))
            return 0;
    for (;;) {
        if (dirty || max) {
            int last = max && frames + 1 == max;
            if (draw(v, last && o->screenshot ? &shot : NULL) != 0 && (last || !v->win))
                return es_canvas_free(&shot), cli_fail("%s", es_error());
            dirty = 0;
            if (++frames == max)
                break;
        }
        SDL_Event e;
        if (!(max ? SDL_WaitEventTimeout(&e, 10) : SDL_WaitEvent(&e)))
            continue;
        do {
            if (e.type == SDL_QUIT)
                return 0;
            if (v->worker && e.type == v->done_event)
                publish(v), dirty = 1;
            if (e.type == SDL_WINDOWEVENT && (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
                                              e.window.event == SDL_WINDOWEVENT_EXPOSED))
                dirty = 1;
            if (e.type == SDL_MOUSEWHEEL && e.wheel.y) { /* the wheel zooms in time too */
                zoom(v, e.wheel.y > 0 ? 1 : -1), clamp(v);
                v->status[0] = 0, dirty = 1;
            }
            if (e.type == SDL_KEYDOWN) {
                int mod = e.key.keysym.mod;
                if (key(v, e.key.keysym.sym, mod & KMOD_SHIFT, mod & KMOD_CTRL))
                    return 0;
                dirty = 1;
            }
        } while (SDL_PollEvent(&e));
    }
    if (o->screenshot) {
        int rc = es_png_write(o->screenshot, &shot, NULL);
        es_canvas_free(&shot);
        if (rc != 0)
            return cli_lib_fail();
    }
    return 0;
}

int cmd_view(int argc, char **argv)
{
    view v = {0};
    options o = {.w = 1000, .h = 450};
    v.fo = (es_figure_opts)ES_FIGURE_OPTS_DEFAULTS;
    v.mode = 1, v.show_keys = 1, v.job = -1;
    sal_args_init(&v.a);
    int rc = parse(argc, argv, &o, &v);
    if (rc)
        return rc;
    if (es_clip_load(&v.in, o.model, v.file, v.a.hop_frames) != 0)
        return sal_args_free(&v.a), cli_lib_fail();
    if ((rc = sal_resolve(&v.a, &v.in, "view")) != 0)
        goto done;
    v.method = v.a.o.method, v.target = v.a.o.target;
    v.cols = v.span = es_figure_columns(&v.in);
    rc = 1;
    if (!(v.cache = calloc((size_t)ES_SAL_COUNT * v.in.classes, sizeof *v.cache))) {
        cli_fail("out of memory");
        goto done;
    }
    if (view_window_open(&v, o.w, o.h + VIEW_BAR_H) != 0) {
        cli_lib_fail();
        goto done;
    }
    /* scripted runs draw every frame complete: maps are computed before they are drawn */
    v.sync = o.frames > 0 || o.screenshot || (v.done_event = SDL_RegisterEvents(1)) == (Uint32)-1;
    /* the first map: a method that cannot explain this model is an error, not a message */
    if (v.sync && !current(&v)->map) {
        cli_fail("%s: %s", v.in.m.path, v.status);
        goto done;
    }
    rc = run(&v, &o);
done:
    if (v.worker) { /* quit during a long computation: it cannot be interrupted, so the
                     * process ends without waiting for it (nothing is being written) */
        view_sound_close(&v);
        view_window_close(&v);
        fflush(NULL);
        _exit(rc);
    }
    view_sound_close(&v);
    if (v.win || v.ren || v.font)
        view_window_close(&v);
    else
        view_sdl_quit();
    for (size_t i = 0; v.cache && i < (size_t)ES_SAL_COUNT * v.in.classes; i++)
        free(v.cache[i].map);
    free(v.cache);
    es_clip_free(&v.in);
    sal_args_free(&v.a);
    es_viz_shutdown();
    return rc;
}
