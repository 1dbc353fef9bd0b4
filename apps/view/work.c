/* The viewer's maps: computed once per method and class, on a worker thread so that the window
 * stays alive while occlusion or IG run for minutes; Esc stops the worker before its next
 * batch (es_sal_opts.cancel) or window, and the bar shows how far it got. */
#include "apps/view/view.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int view_method_slow(const view *v, int method)
{
    return method == ES_SAL_IG || method == ES_SAL_SMOOTHGRAD || method == ES_SAL_SMOOTHGRAD_SQ ||
           method == ES_SAL_VARGRAD || method == ES_SAL_OCCLUSION;
}

/* Told of every window done: the progress box counts them, Esc stops between windows (and
 * inside IG, SmoothGrad and occlusion through es_sal_opts.cancel). */
static int window_done(void *user, int done, int rows)
{
    view *v = user;
    v->job_rows = v->job_base + done;
    return v->cancel;
}

/* Told of every map of the sanity checks done. */
static int sanity_map_done(void *user, int done, int total)
{
    view *v = user;
    v->job_base = done * v->in.x.dims[0];
    return v->cancel;
}

/* The layers the sanity checks randomise (all: the verb's default). */
static int sanity_layers(const view *v)
{
    int ids[1024];
    return es_sanity_layers(v->in.m.g, ids, 1024);
}

/* The map of cache entry `idx` for every window, stitched, with the deciding window's info
 * (es_clip_saliency, as saliency --png). 0, or -1 with *why set. */
static int compute(view *v, int idx, float *map, es_sal_info *info, char *why, size_t cap)
{
    es_sal_opts o = v->a.o;
    o.method = idx / v->in.classes, o.target = idx % v->in.classes, o.cancel = &v->cancel;
    v->in.each = window_done, v->in.each_ctx = v;
    int rc = v->cancel ? es_fail("cancelled") : es_clip_saliency(&v->in, &o, map, info);
    v->in.each = NULL;
    if (rc != 0)
        snprintf(why, cap, "%s", v->cancel ? "cancelled" : es_error());
    return rc;
}

/* The sanity checks of cache entry `idx`: cascading from the top, every layer, seed 1 (as
 * `sanity --png` with its defaults). 0, or -1 with *why set (*s freed). */
static int compute_sanity(view *v, int idx, es_sanity *s, char *why, size_t cap)
{
    es_sal_opts o = v->a.o;
    o.method = idx / v->in.classes, o.target = idx % v->in.classes, o.cancel = &v->cancel;
    es_sanity_opts so = {0, 1, 1, 0, sanity_map_done, v};
    v->in.each = window_done, v->in.each_ctx = v;
    int rc = v->cancel ? es_fail("cancelled") : es_clip_sanity(&v->in, &o, &so, s);
    v->in.each = NULL;
    if (rc != 0) {
        snprintf(why, cap, "%s", v->cancel ? "cancelled" : es_error());
        es_sanity_free(s);
    }
    return rc;
}

static int SDLCALL work(void *user)
{
    view *v = user;
    if (v->job_sanity) {
        compute_sanity(v, v->job, &v->job_checks, v->job_error, sizeof v->job_error);
        SDL_PushEvent(&(SDL_Event){.type = v->done_event});
        return 0;
    }
    float *map = malloc(es_clip_map_size(&v->in) * sizeof *map);
    if (!map)
        snprintf(v->job_error, sizeof v->job_error, "out of memory");
    else if (compute(v, v->job, map, &v->job_info, v->job_error, sizeof v->job_error) != 0)
        free(map), map = NULL;
    v->job_map = map;
    SDL_Event e = {.type = v->done_event};
    SDL_PushEvent(&e);
    return 0;
}

/* The worker's sanity checks into v->san. */
static void publish_sanity(view *v)
{
    view_sanity *s = &v->san;
    es_sanity_free(&s->s);
    s->s = v->job_checks, s->key = v->job, s->failed = !s->s.maps;
    memset(&v->job_checks, 0, sizeof v->job_checks);
    if (s->failed && v->cancel)
        snprintf(s->why, sizeof s->why, "sanity checks cancelled (Tab, m or t to try again)");
    else if (s->failed)
        snprintf(s->why, sizeof s->why, "sanity checks: %.140s", v->job_error);
    snprintf(v->status, sizeof v->status, "%s", s->failed ? s->why : "");
    v->worker = NULL, v->job = -1, v->job_sanity = 0, v->cancel = 0;
    v->fig_dirty = 1;
}

void view_publish(view *v)
{
    if (!v->worker)
        return;
    SDL_WaitThread(v->worker, NULL);
    if (v->job_sanity)
        return publish_sanity(v);
    view_map *m = &v->cache[v->job];
    m->map = v->job_map, m->info = v->job_info, m->failed = !m->map;
    const char *name = es_sal_method_name(v->job / v->in.classes);
    if (m->failed && v->cancel) {
        snprintf(m->why, sizeof m->why, "cancelled (m or t to try again)");
        snprintf(v->status, sizeof v->status, "%s cancelled", name);
    } else if (m->failed) {
        snprintf(m->why, sizeof m->why, "%.150s", v->job_error);
        snprintf(v->status, sizeof v->status, "%s: %.200s", name, v->job_error);
    } else {
        v->status[0] = 0;
    }
    v->worker = NULL, v->job = -1, v->job_map = NULL, v->cancel = 0;
    v->fig_dirty = 1;
}

int view_cancel(view *v)
{
    if (!v->worker)
        return 0;
    v->cancel = 1;
    snprintf(v->status, sizeof v->status, "cancelling %s%s…", v->job_sanity ? "the sanity checks of " : "",
             es_sal_method_name(v->job / v->in.classes));
    return 1;
}

void view_stop(view *v)
{
    if (!v->worker)
        return;
    v->cancel = 1;
    SDL_WaitThread(v->worker, NULL);
    free(v->job_map), es_sanity_free(&v->job_checks);
    v->worker = NULL, v->job = -1, v->job_sanity = 0, v->job_map = NULL, v->cancel = 0;
}

double view_progress(const view *v)
{
    return v->worker && v->job_total > 0 ? (double)v->job_rows / v->job_total : 0;
}

void view_progress_line(const view *v, char *line, size_t cap)
{
    int rows = v->in.x.dims[0], n = rows > 0 ? v->job_total / rows : 0, done = v->job_rows;
    double secs = (SDL_GetTicks() - v->job_t0) / 1000.0;
    const char *name = es_sal_method_name(v->job / v->in.classes), *what = v->cancel ? "cancelling " : "";
    if (v->job_sanity) /* maps (each every window) */
        snprintf(line, cap, "%ssanity checks of %s · map %d/%d · %.0f s · Esc cancels", what, name,
                 done / rows + 1 < n ? done / rows + 1 : n, n, secs);
    else
        snprintf(line, cap, "%s%s · %d/%d window%s · %.0f s · Esc cancels", what, name,
                 done < rows ? done : rows, rows, rows > 1 ? "s" : "", secs);
}

/* "computing M for class K…", and for slow methods how many passes each window takes. */
static void computing(const view *v, int method, char *msg, size_t cap)
{
    const es_sal_opts *o = &v->a.o;
    int passes = method == ES_SAL_IG ? o->steps
                 : method == ES_SAL_OCCLUSION ? 0
                 : view_method_slow(v, method) ? o->samples : 1;
    int n = snprintf(msg, cap, "computing %s for class %d", es_sal_method_name(method), v->target);
    if (view_method_slow(v, method) && n > 0 && (size_t)n < cap) {
        if (passes)
            snprintf(msg + n, cap - n, " — slow: %d passes × %d windows (Esc cancels)", passes,
                     v->in.x.dims[0]);
        else
            snprintf(msg + n, cap - n, " — slow: a pass per position × %d windows (Esc cancels)",
                     v->in.x.dims[0]);
    }
}

/* Starts the worker on cache entry idx (its sanity checks with `sanity`): 1, or 0 when the
 * job must run here (--screenshot alone, or no thread). */
static int start(view *v, int idx, int sanity)
{
    if (v->sync)
        return 0;
    v->job = idx, v->job_sanity = sanity, v->job_rows = v->job_base = 0, v->cancel = 0;
    v->job_total = v->in.x.dims[0] * (sanity ? 1 + sanity_layers(v) : 1);
    v->job_t0 = SDL_GetTicks();
    if ((v->worker = SDL_CreateThread(work, sanity ? "sanity" : "saliency", v)))
        return 1;
    v->job = -1, v->job_sanity = 0;
    return 0;
}

view_map *view_current(view *v)
{
    int idx = v->method * v->in.classes + v->target;
    view_map *m = &v->cache[idx];
    if (m->map || m->failed)
        return m;
    char msg[200];
    computing(v, v->method, msg, sizeof msg);
    if (v->worker) {
        if (v->job != idx)
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (after %s)",
                     es_sal_method_name(v->job / v->in.classes));
        snprintf(v->status, sizeof v->status, "%s", msg);
        return m;
    }
    if (start(v, idx, 0)) {
        snprintf(v->status, sizeof v->status, "%s", msg);
        return m;
    }
    view_flash(v, msg);
    if (!(m->map = malloc(es_clip_map_size(&v->in) * sizeof *m->map)))
        snprintf(m->why, sizeof m->why, "out of memory");
    else if (compute(v, idx, m->map, &m->info, m->why, sizeof m->why) != 0)
        free(m->map), m->map = NULL;
    m->failed = !m->map;
    if (m->failed)
        snprintf(v->status, sizeof v->status, "%s: %s", es_sal_method_name(v->method), m->why);
    else
        v->status[0] = 0;
    return m;
}

const view_sanity *view_sanity_current(view *v)
{
    int idx = v->method * v->in.classes + v->target;
    view_sanity *s = &v->san;
    if (s->key == idx && (s->s.maps || s->failed))
        return s;
    char msg[240], slow[120];
    int n = snprintf(slow, sizeof slow, "slow: %d maps × %d windows (Esc cancels)",
                     1 + sanity_layers(v), v->in.x.dims[0]);
    if (v->worker && !(v->job_sanity && v->job == idx) && n > 0 && (size_t)n < sizeof slow)
        snprintf(slow + n, sizeof slow - n, " after %s", es_sal_method_name(v->job / v->in.classes));
    snprintf(msg, sizeof msg, "computing the sanity checks of %s for class %d — %s",
             es_sal_method_name(v->method), v->target, slow);
    if (v->worker || start(v, idx, 1)) { /* the bar's line short: the state is on its left */
        snprintf(v->fig_msg, sizeof v->fig_msg, "%s", msg);
        snprintf(v->status, sizeof v->status, "sanity checks — %s", slow);
        return NULL;
    }
    view_flash(v, msg);
    es_sanity_free(&s->s);
    s->key = idx;
    s->failed = compute_sanity(v, idx, &s->s, s->why, sizeof s->why) != 0;
    snprintf(v->status, sizeof v->status, "%s", s->failed ? s->why : "");
    return s;
}

int view_busy(view *v)
{
    if (v->worker)
        return 1;
    if (v->pane == VIEW_PANE_SANITY)
        return !(v->san.key == v->method * v->in.classes + v->target && (v->san.s.maps || v->san.failed));
    const view_map *m = &v->cache[v->method * v->in.classes + v->target];
    return v->pane == 0 && !(m->map || m->failed);
}

void view_work_free(view *v)
{
    es_sanity_free(&v->san.s);
    v->san.key = -1, v->san.failed = 0;
    for (size_t i = 0; v->cache && i < (size_t)ES_SAL_COUNT * v->in.classes; i++)
        free(v->cache[i].map);
    free(v->cache);
    v->cache = NULL;
}
