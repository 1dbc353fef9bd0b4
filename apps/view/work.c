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
    v->job_rows = done;
    return v->cancel;
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

static int SDLCALL work(void *user)
{
    view *v = user;
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

void view_publish(view *v)
{
    if (!v->worker)
        return;
    SDL_WaitThread(v->worker, NULL);
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
    snprintf(v->status, sizeof v->status, "cancelling %s…", es_sal_method_name(v->job / v->in.classes));
    return 1;
}

double view_progress(const view *v)
{
    return v->worker ? (double)v->job_rows / v->in.x.dims[0] : 0;
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
    if (!v->sync) {
        v->job = idx, v->job_rows = 0, v->cancel = 0, v->job_t0 = SDL_GetTicks();
        if ((v->worker = SDL_CreateThread(work, "saliency", v))) {
            snprintf(v->status, sizeof v->status, "%s", msg);
            return m;
        }
        v->job = -1; /* no thread: compute here */
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

void view_work_free(view *v)
{
    for (size_t i = 0; v->cache && i < (size_t)ES_SAL_COUNT * v->in.classes; i++)
        free(v->cache[i].map);
    free(v->cache);
    v->cache = NULL;
}
