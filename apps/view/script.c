/* --script: the viewer driven as a user drives it. Keys, clicks, drags, the wheel and dropped
 * files are pushed as SDL events, so they take the very path real ones take (the loop's event
 * handler); waits let the clock run (frames drawn, sound played, the worker working); `idle`
 * waits for the worker; screenshots read the frame back from the renderer. And --bench. */
#include "apps/view/view.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <time.h>

typedef enum { S_KEY, S_CLICK, S_MOVE, S_DRAG, S_WHEEL, S_WAIT, S_IDLE, S_SHOT, S_PRINT,
               S_RESIZE, S_DROP, S_QUIT } step_kind;
static const char *const names[] = {"key", "click", "move", "drag", "wheel", "wait", "idle",
                                    "screenshot", "print", "resize", "drop", "quit", NULL};
static const int nargs[] = {1, 2, 2, 4, -1, 1, 0, 1, 1, 2, 1, 0}; /* -1: 1 or 2 */

typedef struct {
    step_kind kind;
    int n[4];
    SDL_Keycode key;
    Uint16 mod;
    char *text; /* screenshot, print, drop: the rest of the line */
    int line;
} step;

struct view_script {
    char *path;
    step *s;
    int n, next;
    Uint32 until;    /* a wait's end (SDL_GetTicks) */
    int waiting;
    int mod_pending; /* a wheel's modifier, cleared once its event was handled */
};

void view_script_free(view_script *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->s[i].text);
    free(s->s), free(s->path), free(s);
}

/* "shift+m", "ctrl+q", "Left", "F11", "M" (a capital: shift). 0, or -1. */
static int parse_key(const char *name, SDL_Keycode *k, Uint16 *mod)
{
    *mod = 0;
    for (;;) {
        if (!strncasecmp(name, "shift+", 6))
            *mod |= KMOD_LSHIFT, name += 6;
        else if (!strncasecmp(name, "ctrl+", 5))
            *mod |= KMOD_LCTRL, name += 5;
        else if (!strncasecmp(name, "alt+", 4))
            *mod |= KMOD_LALT, name += 4;
        else
            break;
    }
    if (name[0] >= 'A' && name[0] <= 'Z' && !name[1])
        *mod |= KMOD_LSHIFT;
    *k = SDL_GetKeyFromName(name);
    return *k == SDLK_UNKNOWN ? -1 : 0;
}

/* One line into *st: 0, 1 for a blank or comment line, -1 with es_error(). */
static int parse_line(char *line, step *st, const char *path, int no)
{
    char *cmd = strtok(line, " \t\r\n");
    if (!cmd || cmd[0] == '#')
        return 1;
    int k = 0;
    while (names[k] && strcmp(names[k], cmd))
        k++;
    if (!names[k])
        return es_fail("%s:%d: no step '%s' (key click move drag wheel wait idle screenshot "
                       "print resize drop quit)", path, no, cmd);
    *st = (step){.kind = (step_kind)k, .line = no};
    char *rest = strtok(NULL, "\r\n"), *end;
    while (rest && (*rest == ' ' || *rest == '\t'))
        rest++;
    if (k == S_KEY)
        return rest && parse_key(rest, &st->key, &st->mod) == 0
                   ? 0 : es_fail("%s:%d: no key '%s'", path, no, rest ? rest : "");
    if (k == S_SHOT || k == S_PRINT || k == S_DROP)
        return rest && *rest && (st->text = strdup(rest)) ? 0 : es_fail("%s:%d: %s needs a value", path, no, cmd);
    int want = nargs[k] < 0 ? 1 : nargs[k], got = 0;
    for (char *p = rest; got < 4 && p && *p; got++) {
        st->n[got] = (int)strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
    }
    if (k == S_DRAG && rest && strstr(rest, "right"))
        st->mod = SDL_BUTTON_RIGHT; /* the button, for a drag */
    if (k == S_WHEEL && rest && strstr(rest, "ctrl"))
        st->mod = KMOD_LCTRL;
    if (k == S_WHEEL && rest && strstr(rest, "shift"))
        st->mod = KMOD_LSHIFT;
    if (got < want)
        return es_fail("%s:%d: %s needs %d number%s", path, no, cmd, want, want > 1 ? "s" : "");
    return 0;
}

view_script *view_script_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return es_fail("%s: %s", path, strerror(errno)), NULL;
    view_script *s = calloc(1, sizeof *s);
    char line[4096];
    int no = 0, cap = 0, rc = s ? 0 : -1;
    if (!s || !(s->path = strdup(path)))
        rc = es_fail("out of memory");
    while (rc == 0 && fgets(line, sizeof line, f)) {
        no++;
        if (s->n == cap) {
            step *ns = realloc(s->s, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *ns);
            if (!ns) {
                rc = es_fail("out of memory");
                break;
            }
            s->s = ns;
        }
        int r = parse_line(line, &s->s[s->n], path, no);
        rc = r < 0 ? -1 : 0;
        s->n += r == 0;
    }
    fclose(f);
    if (rc != 0)
        return view_script_free(s), NULL;
    return s;
}

static void push_mouse(view *v, Uint32 type, int x, int y, int buttons, int button)
{
    SDL_Event e = {.type = type};
    Uint32 id = SDL_GetWindowID(v->win);
    if (type == SDL_MOUSEMOTION)
        e.motion.windowID = id, e.motion.x = x, e.motion.y = y, e.motion.state = buttons;
    else
        e.button.windowID = id, e.button.x = x, e.button.y = y, e.button.button = (Uint8)button,
        e.button.state = type == SDL_MOUSEBUTTONDOWN, e.button.clicks = 1;
    SDL_PushEvent(&e);
}

static void push_key(view *v, SDL_Keycode k, Uint16 mod)
{
    SDL_Event e = {.type = SDL_KEYDOWN};
    e.key.windowID = SDL_GetWindowID(v->win), e.key.state = SDL_PRESSED;
    e.key.keysym.sym = k, e.key.keysym.mod = mod, e.key.keysym.scancode = SDL_GetScancodeFromKey(k);
    SDL_PushEvent(&e);
    e.type = SDL_KEYUP, e.key.state = SDL_RELEASED;
    SDL_PushEvent(&e);
}

static void print_state(view *v, const char *what)
{
    if (!strcmp(what, "playhead")) {
        double col = view_playhead(v);
        if (col < 0) {
            printf("playhead none\n");
        } else {
            es_axis x, y;
            es_feature_axes(&v->in.cfg, v->in.bands, 0, v->cols, ES_AXES_TIME, &x, &y);
            printf("playhead %.3f s (column %.1f)\n", x.lo + (x.hi - x.lo) * col / v->cols, col);
        }
    } else if (!strcmp(what, "status")) {
        printf("status %s\n", v->status);
    } else if (!strcmp(what, "method")) {
        printf("method %s class %d\n", es_sal_method_name(v->method), v->target);
    } else if (!strcmp(what, "view")) {
        printf("view columns %d+%d of %d, rows %d+%d of %d, output %dx%d, scale %.2f, "
               "selection %.1f-%.1f\n", v->c0, v->span, v->cols, v->r0, v->rspan, v->rows,
               v->out_w, v->out_h, v->scale, v->sel0, v->sel1);
    } else if (!strcmp(what, "file")) {
        const view_file *f = &v->files[v->cur];
        printf("file %d/%d %s %s%s%s\n", v->cur + 1, v->n_files, f->path,
               f->verdict[0] ? f->verdict : "-", v->file_error[0] ? ": " : "", v->file_error);
    } else if (!strcmp(what, "pane")) {
        printf("pane %s %s\n", view_pane_names[v->pane], v->pane ? v->pane_info : "");
    } else if (!strcmp(what, "readout")) {
        printf("readout %s\n", v->readout);
    } else {
        printf("%s ?\n", what);
    }
    fflush(stdout);
}

int view_script_step(view *v, const char **shot)
{
    view_script *s = v->script;
    int defer = 0;
    if (s->mod_pending)
        SDL_SetModState(KMOD_NONE), s->mod_pending = 0;
    while (s->next < s->n) {
        step *st = &s->s[s->next];
        if (st->kind == S_WAIT && !s->waiting)
            s->until = SDL_GetTicks() + (Uint32)st->n[0], s->waiting = 1;
        if (st->kind == S_WAIT && !SDL_TICKS_PASSED(SDL_GetTicks(), s->until))
            return 0;
        if (st->kind == S_IDLE && view_busy(v))
            return 0; /* computing, or about to start at the next frame */
        s->waiting = 0, s->next++;
        if (st->kind <= S_WHEEL || st->kind == S_RESIZE || st->kind == S_DROP)
            defer = 1; /* what it pushed is handled before the next step */
        switch (st->kind) {
        case S_KEY: push_key(v, st->key, st->mod); break;
        case S_MOVE: push_mouse(v, SDL_MOUSEMOTION, st->n[0], st->n[1], 0, 0); break;
        case S_CLICK:
            push_mouse(v, SDL_MOUSEMOTION, st->n[0], st->n[1], 0, 0);
            push_mouse(v, SDL_MOUSEBUTTONDOWN, st->n[0], st->n[1], 0, SDL_BUTTON_LEFT);
            push_mouse(v, SDL_MOUSEBUTTONUP, st->n[0], st->n[1], 0, SDL_BUTTON_LEFT);
            break;
        case S_DRAG: {
            int b = st->mod ? st->mod : SDL_BUTTON_LEFT, mask = SDL_BUTTON(b);
            push_mouse(v, SDL_MOUSEMOTION, st->n[0], st->n[1], 0, 0);
            push_mouse(v, SDL_MOUSEBUTTONDOWN, st->n[0], st->n[1], 0, b);
            push_mouse(v, SDL_MOUSEMOTION, (st->n[0] + st->n[2]) / 2, (st->n[1] + st->n[3]) / 2, mask, 0);
            push_mouse(v, SDL_MOUSEMOTION, st->n[2], st->n[3], mask, 0);
            push_mouse(v, SDL_MOUSEBUTTONUP, st->n[2], st->n[3], 0, b);
            break;
        }
        case S_WHEEL: {
            SDL_Event e = {.type = SDL_MOUSEWHEEL};
            e.wheel.windowID = SDL_GetWindowID(v->win), e.wheel.y = st->n[0];
            if (st->mod)
                SDL_SetModState((SDL_Keymod)st->mod), s->mod_pending = 1;
            SDL_PushEvent(&e);
            break;
        }
        case S_WAIT: case S_IDLE: break;
        case S_SHOT: *shot = st->text; return 0;
        case S_PRINT: print_state(v, st->text); break;
        case S_RESIZE: SDL_SetWindowSize(v->win, st->n[0], st->n[1]); break;
        case S_DROP: {
            SDL_Event e = {.type = SDL_DROPFILE};
            e.drop.file = SDL_strdup(st->text), e.drop.windowID = SDL_GetWindowID(v->win);
            SDL_PushEvent(&e);
            break;
        }
        case S_QUIT: return 1;
        }
        if (defer)
            return 0;
    }
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double view_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A stage of a frame: its wall times (sorted for the median) and its CPU time, summed. */
typedef struct {
    double *wall, cpu;
} stage;

static double median(stage *s, int n)
{
    qsort(s->wall, n, sizeof *s->wall, cmp_double);
    return s->wall[n / 2];
}

/* The columns shown in a frame: 30 s of a sound (a quarter of a tensor), at least 8. */
static void bench_view(view *v, double *secs)
{
    es_axis x, y;
    es_figure_opts all = v->fo;
    all.c0 = all.c1 = 0;
    es_figure_axes(&all, &v->in, &x, &y);
    *secs = v->in.audio ? x.hi - x.lo : 0;
    int span = v->in.audio ? (int)(v->cols * 30.0 / *secs) : v->cols / 4;
    v->span = span < 8 ? (v->cols < 8 ? v->cols : 8) : span > v->cols ? v->cols : span;
    v->c0 = 0, v->fig_dirty = 1;
}

/* Scrolls from the start to the end of the recording in `frames` steps, each frame drawn in
 * full (the figure, the window's composition, the present), and prints one line of
 * key=value fields: wall times (median, p90, max), CPU per frame, and the split by stage. On
 * a busy machine the wall time also counts waiting for a core; the CPU time says what a
 * frame costs this process (the X server's share is not in it). */
int view_bench(view *v, int frames)
{
    double secs;
    bench_view(v, &secs);
    if (view_draw(v, NULL) != 0) /* the first frame: fonts and caches warm */
        return -1;
    stage st[4] = {{0}}; /* the frame, the figure, the composition, the present */
    double *mem = malloc(4 * (size_t)frames * sizeof *mem);
    if (!mem)
        return es_fail("out of memory");
    for (int k = 0; k < 4; k++)
        st[k].wall = mem + (size_t)k * frames;
    int step = (v->cols - v->span) / frames > 1 ? (v->cols - v->span) / frames : 1;
    double f = (double)SDL_GetPerformanceFrequency() / 1000;
    for (int i = 0; i < frames; i++) {
        v->c0 = (v->c0 + step) % (v->cols - v->span + 1), v->fig_dirty = 1;
        double c0 = view_cpu_ms();
        Uint64 t0 = SDL_GetPerformanceCounter();
        if (view_figure(v) != 0)
            return free(mem), -1;
        Uint64 t1 = SDL_GetPerformanceCounter();
        double c1 = view_cpu_ms();
        if (view_present(v, NULL) != 0)
            return free(mem), -1;
        Uint64 t3 = SDL_GetPerformanceCounter();
        double c3 = view_cpu_ms();
        st[0].wall[i] = (t3 - t0) / f, st[0].cpu += c3 - c0;
        st[1].wall[i] = (t1 - t0) / f, st[1].cpu += c1 - c0;
        st[2].wall[i] = (v->composed_at - t1) / f, st[2].cpu += v->composed_cpu - c1;
        st[3].wall[i] = (t3 - v->composed_at) / f, st[3].cpu += c3 - v->composed_cpu;
        SDL_PumpEvents();
    }
    double load[3] = {-1, -1, -1};
    getloadavg(load, 3);
    SDL_RendererInfo ri = {0};
    SDL_GetRendererInfo(v->ren, &ri);
    double p90 = (qsort(st[0].wall, frames, sizeof *st[0].wall, cmp_double), st[0].wall[frames * 9 / 10]);
    double mx = st[0].wall[frames - 1], med = median(&st[0], frames);
    printf("bench frames=%d output=%dx%d renderer=%s seconds=%.1f shown_seconds=%.1f columns=%d "
           "shown_columns=%d step_columns=%d wall_median_ms=%.2f wall_p90_ms=%.2f "
           "wall_max_ms=%.2f cpu_ms=%.2f figure_median_ms=%.2f figure_cpu_ms=%.2f "
           "compose_median_ms=%.2f compose_cpu_ms=%.2f present_median_ms=%.2f "
           "present_cpu_ms=%.2f load1=%.2f\n",
           frames, v->out_w, v->out_h, ri.name ? ri.name : "?", secs, secs * v->span / v->cols,
           v->cols, v->span, step, med, p90, mx, st[0].cpu / frames, median(&st[1], frames),
           st[1].cpu / frames, median(&st[2], frames), st[2].cpu / frames,
           median(&st[3], frames), st[3].cpu / frames, load[0]);
    free(mem);
    return 0;
}
