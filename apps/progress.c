/* Progress bars and the batch contract of the verbs (apps/progress.h). */
#include "apps/progress.h"
#include "apps/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static progress *shown; /* the bar on the terminal, erased before a message */

static void clear_shown(void)
{
    if (shown)
        progress_clear(shown);
}

void progress_start(progress *p, const char *verb, const char *what, long n, int quiet)
{
    const char *e = getenv("EARSIGHT_PROGRESS_SECONDS");
    *p = (progress){.verb = verb, .what = what, .n = n, .on = !quiet, .tty = isatty(2)};
    p->every = e && *e ? atof(e) : 5.0;
    if (p->tty && !(e && *e))
        p->every = 0.25; /* a bar redraws often, but not for every item */
    p->t0 = p->last = now();
}

/* "1:05" or "1:02:05" */
static void clock_text(char *buf, size_t cap, double s)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void draw(progress *p, double t)
{
    double el = t - p->t0, rate = el > 0 ? p->done / el : 0;
    char eta[32] = "?";
    if (rate > 0)
        clock_text(eta, sizeof eta, (p->n - p->done) / rate);
    if (p->tty) {
        enum { W = 24 };
        char bar[W + 1];
        int fill = p->n > 0 ? (int)(W * p->done / p->n) : 0;
        for (int k = 0; k < W; k++)
            bar[k] = k < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(stderr, "\r\033[K%s [%s] %ld/%ld %s, %.2f/s, ETA %s", p->verb, bar, p->done, p->n,
                p->what, rate, eta);
        p->drawn = 1;
        shown = p, cli_before_message = clear_shown;
    } else {
        fprintf(stderr, "earsight %s: %ld of %ld %s, %.2f/s, ETA %s\n", p->verb, p->done, p->n,
                p->what, rate, eta);
    }
    fflush(stderr);
}

void progress_set(progress *p, long done)
{
    p->done = done;
    if (!p->on)
        return;
    double t = now();
    if (t - p->last < p->every || (p->tty && t - p->t0 < 0.5)) /* short work draws nothing */
        return;
    p->last = t;
    draw(p, t);
}

void progress_clear(progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        p->drawn = 0;
    }
}

void progress_end(progress *p)
{
    progress_clear(p);
    p->on = 0;
    if (shown == p)
        shown = NULL;
}

/* ---- the batch contract ------------------------------------------------------------------ */

typedef struct {
    progress bar;
    int strict, done;
} watch;

static int on_file(void *ctx, int i, const char *error)
{
    (void)i;
    watch *w = ctx;
    progress_set(&w->bar, ++w->done);
    return cli_interrupted || (w->strict && error);
}

int batch_features(es_dataset *d, const char *csv, const es_feature_config *c, es_array **feat,
                   const char *verb, int strict, int quiet, int *total, int *failed)
{
    *total = d->n, *failed = 0;
    if (d->merged > 0 && !quiet)
        fprintf(stderr, "earsight: %s: %d repeated row%s merged (same file, same label)\n", csv,
                d->merged, d->merged == 1 ? "" : "s");
    watch w = {.strict = strict};
    progress_start(&w.bar, verb, "files", d->n, quiet);
    char **err = NULL;
    int done = 0, nf = es_dataset_features_watch(d, c, feat, &err, on_file, &w, &done);
    progress_end(&w.bar);
    if (nf < 0)
        return cli_lib_fail();
    for (int i = 0; i < d->n; i++)
        if (err[i]) {
            cli_fail("%s", err[i]);
            if (strict)
                break; /* the first bad file only */
        }
    int stop = cli_interrupted ? batch_interrupted(done, d->n) : strict && nf ? 1 : 0;
    if (stop) {
        for (int i = 0; i < d->n; i++)
            free(err[i]);
        free(err);
        es_dataset_features_free(*feat, d->n);
        *feat = NULL;
        return stop;
    }
    es_dataset_drop_failed(d, *feat, err);
    *failed = nf;
    return 0;
}

int batch_end(int failed, int total)
{
    if (!failed)
        return 0;
    return cli_fail("%d of %d files failed", failed, total);
}

int batch_interrupted(int done, int total)
{
    if (!cli_interrupted)
        return 0;
    cli_fail("interrupted after %d of %d files", done, total);
    return 130;
}

static int window_done(void *ctx, int done, int rows)
{
    progress_set(ctx, done);
    return cli_interrupted != 0;
}

void progress_watch(progress *p, es_clip *in)
{
    in->each = window_done, in->each_ctx = p;
}

int progress_fail(void)
{
    int rc = cli_lib_fail();
    return cli_interrupted ? 130 : rc;
}
