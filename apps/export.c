/* earsight export [-m MODEL] INPUTS… | --list FILE -o OUTDIR — a corpus at once: every clip's
 * spectrogram with P(class) over time, one saliency picture per method, a summary.csv and a
 * gallery page; resumable, sharded by a hash of the path, merged with --merge. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/progress.h"
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const opt_cmd cmd = {
    "export",
    "usage: earsight export [-m MODEL] INPUT… | --list FILE -o OUTDIR [options]\n"
    "       earsight export --merge OUTDIR… [-o OUTDIR]",
    "Exports a corpus: for each sound (files, folders searched recursively for the formats\n"
    "libsndfile reads, or the paths of a list), OUTDIR/clips/ gets the spectrogram with\n"
    "P(class) over time (STEM.spec.png) and one saliency picture per method (STEM.METHOD.png);\n"
    "OUTDIR gets summary.csv (one row per clip) and index.html, a page that opens from disk.\n"
    "STEM is the file's name and a hash of its path. A clip whose outputs are newer than the\n"
    "clip and the model is not done again (--force does); a clip that fails is one line and\n"
    "a summary row, and the rest go on (exit 1, \"N of M files failed\"). --shard K/N exports\n"
    "the inputs whose path hashes to K of N (summary.K-of-N.csv, index.K-of-N.html);\n"
    "--merge joins the summaries of shards (or of several OUTDIRs) into one.\n"};

#define MAX_METHODS 16
#define MAX_MAPS 16

typedef struct {
    const char *model, *out, *list, *methods, *layout, *maps, *target;
    const char **inputs, *target_name; /* --target as the summary names it */
    int n_inputs, save_npy, force, quiet, merge, jobs, shard[2], w, h, sonify;
    int aggregate; /* -1: the model's rule */
    float keep; /* --sonify: the fraction of STFT bins kept */
    /* resolved */
    int method[MAX_METHODS], n_methods, n_maps;
    char *map_names[MAX_MAPS];
    char clips[4096], summary[4096], html[4096];
} options;

static int parse_shard(const opt *row, const char *v, char *why, size_t cap)
{
    int *s = row->dest, k, n, end = 0;
    if (sscanf(v, "%d/%d%n", &k, &n, &end) != 2 || v[end] || n < 1 || k < 1 || k > n)
        return snprintf(why, cap, "--shard takes K/N with 1 <= K <= N, not '%s'", v), -1;
    s[0] = k, s[1] = n;
    return 0;
}

/* "a,b,c" into at most max strdup'd names; the count, or -1 (too many, an empty name). */
static int split(const char *list, char **out, int max)
{
    int n = 0;
    for (const char *p = list; p && *p; n++) {
        size_t len = strcspn(p, ",");
        if (!len || n == max || !(out[n] = strndup(p, len)))
            return -1;
        p += len + (p[len] == ',');
    }
    return n;
}

static int parse(int argc, char **argv, options *o)
{
    static const char *inputs[65536];
    o->inputs = inputs;
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INFILES(0, NULL, inputs, &o->n_inputs, "input", NULL),
        OPT_INFILE(0, "list", &o->list, "FILE", "the inputs: one path a line, or a CSV with a path or itemid column\n"
                                               "(and label or hasbird); paths relative to the list's folder"),
        OPT_OUTFILE('o', "output", &o->out, "OUTDIR", "the export folder (made when missing)", OPT_OUT_DIR),
        OPT_STRING(0, "method", &o->methods, "M,…", "saliency methods, one picture each (guided,gradcam);\n"
                                                   "`earsight saliency --help` lists them"),
        OPT_RELU_RULE,
        OPT_STRING(0, "layout", &o->layout, "L", "single (default) | quad: input, |map|, positive, negative"),
        OPT_STRING(0, "maps", &o->maps, "LAYER,…", "also each layer's activation maps for the deciding window\n"
                                                  "(STEM.maps-LAYER.png)"),
        OPT_SWITCH(0, "save-npy", &o->save_npy, "also each map as .npy (STEM.METHOD.npy)"),
        OPT_SWITCH(0, "sonify", &o->sonify, "also what the network heard, by the first method's map, as\n"
                   "STEM.heard.wav (as `earsight sonify` makes it); the gallery plays it"),
        OPT_FLOAT(0, "keep", &o->keep, 0, 1, "F", "with --sonify: the top fraction F of the bins kept (0.1)"),
        OPT_STRING(0, "target", &o->target, "K|NAME", "the class explained (default: each clip's verdict)"),
        OPT_AGGREGATE(&o->aggregate),
        OPT_SIZE(0, "size", &o->w, &o->h, 64, 16384, "WxH", "picture size in pixels (1000x450)"),
        OPT_INT('j', "jobs", &o->jobs, 1, OPT_JOBS_MAX, "N",
                "N worker processes sharing the loaded model, one thread each\n"
                "(default: one process on OMP_NUM_THREADS or all cores)"),
        OPT_CALL(0, "shard", o->shard, parse_shard, "K/N", "only the inputs whose path hashes to shard K of N"),
        OPT_SWITCH(0, "force", &o->force, "export every clip again, even when its outputs are newer"),
        OPT_SWITCH(0, "merge", &o->merge, "the operands are export folders: join their summaries\n"
                                         "and pages into OUTDIR (default: the first)"),
        OPT_QUIET(&o->quiet), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (o->merge)
        return o->n_inputs ? 0 : cli_usage("export", "--merge needs the export folders to join");
    if (!o->n_inputs && !o->list)
        return cli_usage("export", "no input (sound files, folders or --list FILE)");
    if (!o->out)
        return cli_usage("export", "no output folder (-o OUTDIR)");
    if (o->layout && strcmp(o->layout, "quad") && strcmp(o->layout, "single"))
        return cli_usage("export", "--layout takes single or quad, not '%s'", o->layout);
    char *names[MAX_METHODS];
    int n = split(o->methods ? o->methods : "guided,gradcam", names, MAX_METHODS), bad = n < 0;
    for (int k = 0; k < n; k++) {
        if (!bad && (o->method[k] = es_sal_method_find(names[k])) < 0)
            bad = cli_usage("export", "unknown method '%s'", names[k]);
        for (int j = 0; !bad && j < k; j++)
            if (o->method[j] == o->method[k])
                bad = cli_usage("export", "--method names %s twice", names[k]);
        free(names[k]);
    }
    if (n < 0)
        return cli_usage("export", "--method takes 1 to %d names separated by commas", MAX_METHODS);
    if (bad)
        return 2;
    o->n_methods = n;
    if (opt_given("keep") && !o->sonify)
        return cli_usage("export", "--keep goes with --sonify");
    if (o->maps && (o->n_maps = split(o->maps, o->map_names, MAX_MAPS)) < 0)
        return cli_usage("export", "--maps takes 1 to %d layer names separated by commas", MAX_MAPS);
    return 0;
}

/* ---- names --------------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* OUTDIR/clips/STEM.WHAT.EXT */
static void clip_file(const options *o, const char *path, const char *what, const char *ext,
                      char *buf, size_t cap)
{
    char stem[ES_STEM_MAX];
    es_export_stem(path, stem);
    snprintf(buf, cap, "%s/%s%s%s.%s", o->clips, stem, *what ? "." : "", what, ext);
}

/* A layer name as a file-name part: anything but letters, digits, '-', '_' made '_'. */
static void layer_part(const char *layer, char *buf, size_t cap)
{
    snprintf(buf, cap, "maps-%.60s", layer);
    for (char *p = buf + 5; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            *p = '_';
}

/* The summary's columns, the span of each method among them. */
static int summary_columns(const options *o, const char **cols)
{
    static char span[MAX_METHODS][48];
    int n = 0;
    const char *head[] = {"path", "duration_s", "windows", "predicted", "p", "window", "window_s",
                          "p_max", "p_mean", "target"};
    for (int k = 0; k < 10; k++)
        cols[n++] = head[k];
    for (int k = 0; k < o->n_methods; k++) {
        snprintf(span[k], sizeof span[k], "span_%s", es_sal_method_name(o->method[k]));
        cols[n++] = span[k];
    }
    if (o->sonify)
        cols[n++] = "heard"; /* the method whose map made STEM.heard.wav */
    cols[n++] = "label", cols[n++] = "status", cols[n++] = "seconds";
    return n;
}

/* ---- one clip ------------------------------------------------------------------------------ */

typedef struct {
    const options *o;
    es_model model; /* loaded once; each clip borrows it (es_clip_next) */
    es_clip in, own; /* own: an input whose shape needs the model loaded anew */
    int have_clip;
    es_font *font;
    es_table row; /* the record being made */
    const char *path;
} worker;

static int set_num(es_table *t, const char *col, const char *fmt, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    return es_table_set(t, 0, col, buf);
}

/* The input in the model already loaded: the worker's clip (its model borrowed), or a clip
 * of its own when the input's shape needs the model loaded anew. */
static int open_clip(worker *w, es_clip **c)
{
    if (!w->have_clip) {
        memset(&w->in, 0, sizeof w->in);
        w->in.m = w->model, w->have_clip = 1;
        w->in.aggregate = w->o->aggregate; /* (0 would be max whatever the model says) */
        for (int k = 0; k < w->o->n_methods; k++) /* their maps from the scoring pass */
            w->in.keep |= es_sal_single_pass(w->o->method[k]);
    }
    int r = es_clip_next(&w->in, w->path, 0);
    if (r < 0 && !w->in.m.g) { /* the clip freed the model it borrowed: load it again */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", es_error());
        memset(&w->model, 0, sizeof w->model);
        es_model_load(&w->model, w->o->model, &opt_model);
        w->in.m = w->model;
        es_fail("%s", msg);
    }
    if (r <= 0) {
        *c = &w->in;
        return r;
    }
    es_clip_free(&w->own);
    *c = &w->own;
    if (es_clip_load(&w->own, w->o->model, &opt_model, w->path, 0) != 0)
        return -1;
    w->own.aggregate = w->o->aggregate;
    return 0;
}

static int write_png(const options *o, const es_canvas *cv, const char *file, const char *path,
                     const char *what, const es_clip *in)
{
    const char *text[] = {"model", in->m.path, "input", path, "picture", what, NULL};
    es_png_opts po = {-1, text};
    return es_png_write(file, cv, &po);
}

/* The figure for one map (NULL: the input alone, the verdict in the title). */
static int figure(worker *w, es_clip *in, const float *map, int method, const es_sal_info *info,
                  const char *what, const es_verdict *v)
{
    const options *o = w->o;
    es_figure_opts f = ES_FIGURE_OPTS_DEFAULTS;
    es_canvas cv = {0};
    char file[4400], title[512];
    f.w = o->w, f.h = o->h, f.font = w->font;
    f.quad = map && o->layout && !strcmp(o->layout, "quad");
    if (!map) {
        const char *bn = strrchr(w->path, '/') ? strrchr(w->path, '/') + 1 : w->path;
        const char *l = es_model_label(&in->m, v->cls);
        snprintf(title, sizeof title, "%s — %s P %.3f (window %d of %d)", bn, l ? l : "class",
                 v->p, v->window + 1, v->windows);
        f.title = title;
    }
    clip_file(o, w->path, what, "png", file, sizeof file);
    int rc = es_figure_render(&f, in, w->path, method, map, info, &cv) != 0 ||
             write_png(o, &cv, file, w->path, what, in) != 0 ? -1 : 0;
    es_canvas_free(&cv);
    return rc;
}

/* STEM.heard.wav: the clip through the bins of the map that --keep keeps (es_resynth). */
static int heard(worker *w, es_clip *in, const float *map, int method)
{
    float *x = NULL, *y = NULL;
    long n = 0;
    int rate = 0, rc = -1;
    char file[4400];
    clip_file(w->o, w->path, "heard", "wav", file, sizeof file);
    if (es_audio_load(w->path, 0, &x, &n, &rate) == 0 && (y = malloc(n * sizeof *y)) &&
        es_resynth(&in->cfg, map, in->bands, in->frames, x, n, rate, w->o->keep, 0, 0, y, NULL,
                   w->path) == 0 &&
        es_audio_save(file, y, n, rate) == 0)
        rc = es_table_set(&w->row, 0, "heard", es_sal_method_name(method));
    else if (x && !y)
        es_fail("out of memory");
    free(x), free(y);
    return rc;
}

static int one_method(worker *w, es_clip *in, int method, int target)
{
    const options *o = w->o;
    es_sal_opts so;
    es_sal_defaults(&so);
    so.method = method, so.target = target, so.layer = -1;
    size_t n = es_clip_map_size(in);
    float *map = malloc(n * sizeof *map);
    es_sal_info *info = calloc(in->x.dims[0], sizeof *info);
    const char *name = es_sal_method_name(method);
    int rc = -1;
    double span[2];
    if (!map || !info)
        es_fail("out of memory");
    else if (es_clip_saliency_rows(in, &so, map, info) == 0 &&
             figure(w, in, map, method, info, name, NULL) == 0 &&
             es_map_salient_span(in, map, span) == 0) {
        char col[64], val[64], npy[4400];
        int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
        snprintf(col, sizeof col, "span_%s", name);
        snprintf(val, sizeof val, "%.3f-%.3f", span[0], span[1]);
        clip_file(o, w->path, name, "npy", npy, sizeof npy);
        rc = es_table_set(&w->row, 0, col, val) != 0 ||
             (o->save_npy && es_npy_save(npy, map, nd, d) != 0) ||
             (o->sonify && method == o->method[0] && heard(w, in, map, method) != 0) ? -1 : 0;
    }
    free(map), free(info);
    return rc;
}

static int one_layer(worker *w, es_clip *in, const char *layer, int window)
{
    int t = es_clip_layer(in, layer);
    es_array a = {0};
    if (t < 0 || es_clip_layer_maps(in, t, window, &a) != 0)
        return -1;
    char what[80], file[4400], title[512];
    layer_part(layer, what, sizeof what);
    clip_file(w->o, w->path, what, "png", file, sizeof file);
    snprintf(title, sizeof title, "%s — %s, window %d: %d maps", w->path, layer, window + 1, a.dims[0]);
    es_grid_plot p = {a.data, a.dims[0], a.dims[1], a.dims[2], {0}, {0}, NULL, 1, title};
    es_clip_axes(in, window, &p.x, &p.y, a.dims[1], a.dims[2]);
    es_canvas cv = {0};
    es_style st = {w->font};
    int rc = es_canvas_init(&cv, 1200, 900, ES_RGBA(255, 255, 255, 255)) != 0 ||
             es_plot_activations(&cv, (es_rect){0, 0, 1200, 900}, &st, &p) != 0 ||
             write_png(w->o, &cv, file, w->path, what, in) != 0 ? -1 : 0;
    es_canvas_free(&cv);
    es_array_free(&a);
    return rc;
}

/* The verdict's columns, and P(target) over the windows. */
static int verdict_columns(worker *w, es_clip *in, es_verdict *v, int target)
{
    float *pr = malloc(in->classes * sizeof *pr);
    if (!pr)
        return es_fail("out of memory");
    int W = in->x.dims[0];
    double mx = 0, sum = 0;
    for (int k = 0; k < W; k++) {
        es_clip_probabilities(in, in->scores + (size_t)k * in->classes, pr);
        mx = k == 0 || pr[target] > mx ? pr[target] : mx, sum += pr[target];
    }
    free(pr);
    const char *l = es_model_label(&in->m, v->cls), *lt = es_model_label(&in->m, target);
    char num[32];
    snprintf(num, sizeof num, "%d", v->cls);
    es_table *t = &w->row;
    double dur = in->audio ? es_sound_duration(w->path) : -1;
    if (in->audio && dur >= 0)
        set_num(t, "duration_s", "%.3f", dur);
    set_num(t, "windows", "%.0f", W);
    es_table_set(t, 0, "predicted", l ? l : num);
    set_num(t, "p", "%.6f", v->p), set_num(t, "p_max", "%.4f", mx);
    set_num(t, "window", "%.0f", v->window); /* the deciding one of the verdict's windows */
    if (v->F > 0) {
        char span[64];
        snprintf(span, sizeof span, "%.3f-%.3f", v->t0, v->t1);
        es_table_set(t, 0, "window_s", span);
    }
    set_num(t, "p_mean", "%.4f", sum / W);
    snprintf(num, sizeof num, "%d", target);
    return es_table_set(t, 0, "target", lt ? lt : num);
}

/* Everything of one clip but its record. */
static int export_clip(worker *w)
{
    const options *o = w->o;
    es_clip *in;
    es_verdict v = {0};
    if (open_clip(w, &in) != 0 || es_clip_verdict(in, NULL, &v) != 0)
        return -1;
    int rc = -1, target = o->target ? es_clip_target(in, o->target) : v.cls;
    if (target >= 0 && verdict_columns(w, in, &v, target) == 0) {
        es_sal_info info = {.target = target};
        rc = figure(w, in, NULL, 0, &info, "spec", &v);
        for (int k = 0; rc == 0 && k < o->n_methods; k++)
            rc = one_method(w, in, o->method[k], target);
        for (int k = 0; rc == 0 && k < o->n_maps; k++)
            rc = one_layer(w, in, o->map_names[k], v.window);
    }
    es_verdict_free(&v);
    return rc;
}

/* Exports the clip and writes its record (STEM.csv) last: a record says the clip is done. */
static void do_clip(worker *w, const char *path, const char *label)
{
    const char *cols[MAX_METHODS + 16];
    int n = summary_columns(w->o, cols);
    double t0 = now();
    char rec[4400], status[1024] = "ok";
    w->path = path;
    if (es_table_init(&w->row, cols, n) != 0 || es_table_add(&w->row) < 0)
        return; /* out of memory: no record, the clip is done again next time */
    es_table_set(&w->row, 0, "path", path);
    es_table_set(&w->row, 0, "label", label);
    if (export_clip(w) != 0)
        snprintf(status, sizeof status, "error: %s", es_error());
    es_table_set(&w->row, 0, "status", status);
    set_num(&w->row, "seconds", "%.2f", now() - t0);
    clip_file(w->o, path, "", "csv", rec, sizeof rec);
    es_table_write(&w->row, rec);
    es_table_free(&w->row);
}

/* ---- resuming ------------------------------------------------------------------------------ */

static int newer(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec >= b->st_mtim.tv_nsec);
}

/* Whether `file` exists and is no older than `since`. */
static int fresh(const char *file, const struct stat *since)
{
    struct stat st;
    return stat(file, &st) == 0 && newer(&st, since);
}

/* A clip is done when its record says ok and it and every output this run asks for are no
 * older than the clip and the model. */
static int done_before(const options *o, const char *path, const struct stat *model)
{
    struct stat clip;
    char f[4400], what[80];
    if (o->force || stat(path, &clip) != 0)
        return 0;
    const struct stat *since = newer(&clip, model) ? &clip : model;
    clip_file(o, path, "", "csv", f, sizeof f);
    if (!fresh(f, since))
        return 0;
    es_table t;
    if (es_table_read(&t, f) != 0)
        return 0;
    const char *s = es_table_get(&t, 0, "status"), *tg = es_table_get(&t, 0, "target");
    const char *want = o->target_name ? o->target_name : es_table_get(&t, 0, "predicted");
    int ok = s && !strcmp(s, "ok") && tg && want && !strcmp(tg, want); /* the class explained */
    es_table_free(&t);
    clip_file(o, path, "spec", "png", f, sizeof f);
    ok = ok && fresh(f, since);
    for (int k = 0; ok && k < o->n_methods; k++) {
        const char *m = es_sal_method_name(o->method[k]);
        clip_file(o, path, m, "png", f, sizeof f);
        ok = fresh(f, since);
        clip_file(o, path, m, "npy", f, sizeof f);
        ok = ok && (!o->save_npy || fresh(f, since));
    }
    clip_file(o, path, "heard", "wav", f, sizeof f);
    ok = ok && (!o->sonify || fresh(f, since));
    for (int k = 0; ok && k < o->n_maps; k++) {
        layer_part(o->map_names[k], what, sizeof what);
        clip_file(o, path, what, "png", f, sizeof f);
        ok = fresh(f, since);
    }
    return ok;
}

/* ---- the batch ----------------------------------------------------------------------------- */

typedef struct {
    int next, stop;
    unsigned char done[]; /* 1: clip k finished (a record or not) */
} shared;

typedef struct {
    const options *o;
    es_inputs *in;
    const int *todo;
    int n_todo, reported, failed;
    progress bar;
} batch;

/* The outcome of todo[k], once: its error on stderr, the bar moved. */
static void report(batch *b, int k)
{
    const char *path = b->in->path[b->todo[k]];
    char rec[4400];
    es_table t;
    clip_file(b->o, path, "", "csv", rec, sizeof rec);
    if (es_table_read(&t, rec) == 0) {
        const char *s = es_table_get(&t, 0, "status");
        if (s && strncmp(s, "error: ", 7) == 0) {
            b->failed++;
            s += 7;
            if (strncmp(s, path, strlen(path)) == 0)
                cli_fail("%s", s);
            else
                cli_fail("%s: %s", path, s);
        }
        es_table_free(&t);
    }
    progress_set(&b->bar, ++b->reported);
}

static void worker_loop(worker *w, batch *b, shared *sh)
{
    for (;;) {
        int k = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST);
        if (k >= b->n_todo || __atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST) || cli_interrupted)
            break;
        int i = b->todo[k];
        do_clip(w, b->in->path[i], b->in->label[i]);
        __atomic_store_n(&sh->done[k], 1, __ATOMIC_SEQ_CST);
    }
}

static void worker_end(worker *w)
{
    if (w->have_clip && w->in.m.g == w->model.g) /* borrowed: the model is freed once */
        memset(&w->in.m, 0, sizeof w->in.m);
    es_clip_free(&w->in);
    es_clip_free(&w->own);
    if (w->font)
        es_font_close(w->font);
}

/* Forked workers: the model's pages are shared (copy on write), each worker runs one thread
 * (OpenMP's pool does not survive fork: the parent never starts it), clips are handed out by
 * a counter in shared memory, the parent reports them as they finish. Returns the workers
 * that died of something else than their work's end. */
static int run_forked(worker *w, batch *b, shared *sh, int jobs)
{
    pid_t pid[OPT_JOBS_MAX];
    int started = 0, died = 0;
    fflush(NULL);
    for (; started < jobs; started++) {
        if ((pid[started] = fork()) < 0)
            break;
        if (pid[started] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed export leaves no worker behind */
            if (getppid() == 1)
                _exit(1);
            w->font = es_font_open(NULL);
            worker_loop(w, b, sh);
            worker_end(w);
            _exit(0);
        }
    }
    int alive = started, k = 0;
    while (alive > 0) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            alive--;
            died += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
            continue;
        }
        if (cli_interrupted)
            __atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
        for (; k < b->n_todo && __atomic_load_n(&sh->done[k], __ATOMIC_SEQ_CST); k++)
            report(b, k);
        if (p < 0 && errno != EINTR)
            break;
        usleep(50000);
    }
    for (; k < b->n_todo; k++)
        if (sh->done[k])
            report(b, k);
    return died + (started < jobs && started == 0);
}

static int run_batch(worker *w, batch *b, int jobs)
{
    size_t size = sizeof(shared) + b->n_todo + 1;
    shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return cli_fail("cannot share memory between workers: %s", strerror(errno));
    memset(sh, 0, size);
    int died = 0;
    if (jobs > 1 && b->n_todo > 1) {
        died = run_forked(w, b, sh, jobs < b->n_todo ? jobs : b->n_todo);
    } else {
        w->font = es_font_open(NULL);
        for (int k = 0; k < b->n_todo && !cli_interrupted; k++) {
            int i = b->todo[k];
            do_clip(w, b->in->path[i], b->in->label[i]);
            report(b, k);
        }
    }
    munmap(sh, size);
    if (died)
        cli_fail("%d worker(s) died; their clips are done on the next run", died);
    return died ? 1 : 0;
}

/* ---- the summary --------------------------------------------------------------------------- */

/* summary.csv (or the shard's) from the records of every input done, in path order. */
static int write_summary(const options *o, const es_inputs *in)
{
    const char *cols[MAX_METHODS + 16];
    es_table s, r;
    if (es_table_init(&s, cols, summary_columns(o, cols)) != 0)
        return cli_lib_fail();
    char rec[4400];
    for (int i = 0; i < in->n; i++) {
        clip_file(o, in->path[i], "", "csv", rec, sizeof rec);
        if (access(rec, F_OK) != 0 || es_table_read(&r, rec) != 0)
            continue; /* not done (interrupted) */
        const char *p = es_table_get(&r, 0, "path");
        int k = p && !strcmp(p, in->path[i]) ? es_table_add_row(&s, &r, 0) : -2;
        es_table_free(&r);
        if (k >= 0 && in->label[i]) /* the list's label, whichever run exported the clip */
            k = es_table_set(&s, k, "label", in->label[i]) != 0 ? -1 : k;
        if (k == -1)
            return es_table_free(&s), cli_lib_fail();
    }
    char title[4200];
    snprintf(title, sizeof title, "earsight export: %s", o->out);
    int rc = es_table_sort(&s, "path", NULL) != 0 || es_table_write(&s, o->summary) != 0 ||
             es_gallery_html(o->html, &s, NULL, title) != 0 ? cli_lib_fail() : 0;
    es_table_free(&s);
    return rc;
}

static int make_dirs(options *o)
{
    snprintf(o->clips, sizeof o->clips, "%s/clips", o->out);
    if ((mkdir(o->out, 0777) != 0 && errno != EEXIST) || (mkdir(o->clips, 0777) != 0 && errno != EEXIST))
        return cli_fail("%s: cannot make the folder: %s", errno == EEXIST ? o->out : o->clips,
                        strerror(errno));
    struct stat st;
    if (stat(o->clips, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail("%s: not a folder", o->clips);
    char part[32] = "";
    if (o->shard[1])
        snprintf(part, sizeof part, ".%d-of-%d", o->shard[0], o->shard[1]);
    snprintf(o->summary, sizeof o->summary, "%s/summary%s.csv", o->out, part);
    snprintf(o->html, sizeof o->html, "%s/index%s.html", o->out, part);
    return 0;
}

/* The inputs of this run: operands and --list, then the shard's part. */
static int gather(const options *o, const es_model *m, es_inputs *in)
{
    for (int i = 0; i < o->n_inputs; i++)
        if (es_inputs_add(in, o->inputs[i]) != 0)
            return cli_lib_fail();
    if (o->list && es_inputs_list(in, o->list, m->labels, m->n_labels) != 0)
        return cli_lib_fail();
    if (o->shard[1])
        es_inputs_shard(in, o->shard[0], o->shard[1]);
    return 0;
}

/* --target against the model's labels, before any clip: a name it has, or an index (a label
 * when it has one, as the summary writes it). */
static int check_target(options *o, const es_model *m)
{
    char *end;
    if (!o->target)
        return 0;
    long k = strtol(o->target, &end, 10);
    if (end != o->target && !*end && k >= 0) {
        o->target_name = k < m->n_labels ? m->labels[k] : o->target;
        return 0;
    }
    for (int i = 0; i < m->n_labels; i++)
        if (!strcmp(m->labels[i], o->target))
            return o->target_name = m->labels[i], 0;
    return cli_usage("export", "--target: %s has no class named '%s'", m->path, o->target);
}

static int export_all(options *o)
{
    es_inputs in = {0};
    worker w = {.o = o};
    batch b = {.o = o, .in = &in};
    int *todo = NULL, rc = 1, skipped = 0;
    struct stat mst;
    if (o->jobs > 1)
        omp_set_num_threads(1); /* before any parallel region: workers are processes */
    if (es_model_load(&w.model, o->model, &opt_model) != 0)
        return cli_lib_fail();
    if (o->sonify && es_model_resynth_fits(&w.model) != 0) {
        rc = cli_lib_fail();
        goto done;
    }
    if ((rc = check_target(o, &w.model)) != 0 || (rc = gather(o, &w.model, &in)) != 0 ||
        (rc = make_dirs(o)) != 0)
        goto done;
    rc = 1;
    if (stat(w.model.path, &mst) != 0 || !(todo = malloc((in.n + 1) * sizeof *todo))) {
        cli_fail("%s: %s", w.model.path, strerror(errno));
        goto done;
    }
    for (int i = 0; i < in.n; i++)
        if (done_before(o, in.path[i], &mst))
            skipped++;
        else
            todo[b.n_todo++] = i;
    b.todo = todo;
    progress_start(&b.bar, "export", "clips", b.n_todo, o->quiet);
    int died = run_batch(&w, &b, o->jobs);
    progress_end(&b.bar);
    if (write_summary(o, &in) != 0)
        goto done;
    if (!o->quiet)
        printf("export: %d clips (%d done before, %d failed): %s\n", in.n, skipped, b.failed,
               o->html);
    rc = cli_interrupted ? batch_interrupted(b.reported + skipped, in.n)
                         : died ? 1 : batch_end(b.failed, in.n);
done:
    worker_end(&w);
    es_model_free(&w.model);
    es_inputs_free(&in);
    free(todo);
    es_viz_shutdown();
    return rc;
}

/* ---- --merge ------------------------------------------------------------------------------- */

/* "summary.csv" or "summary.K-of-N.csv" */
static int is_summary(const struct dirent *e)
{
    int k, n, end = 0;
    return !strcmp(e->d_name, "summary.csv") ||
           (sscanf(e->d_name, "summary.%d-of-%d.csv%n", &k, &n, &end) == 2 && !e->d_name[end]);
}

/* The rows of every summary in one export folder (summary.csv and the shards'), their
 * folder in (*dirs)[row]. */
static int merge_folder(const char *dir, es_table *all, const char ***dirs)
{
    struct dirent **e;
    int n = scandir(dir, &e, is_summary, alphasort), rc = 0;
    if (n < 0)
        return cli_fail("%s: cannot read the folder: %s", dir, strerror(errno));
    if (n == 0)
        rc = cli_fail("%s: no summary.csv nor shard summaries in it", dir);
    for (int f = 0; f < n; f++) {
        char file[4400];
        es_table t = {0};
        snprintf(file, sizeof file, "%s/%s", dir, e[f]->d_name);
        if (rc == 0 && es_table_read(&t, file) != 0)
            rc = cli_lib_fail();
        else if (rc == 0 && !all->cols && es_table_init(all, (const char *const *)t.col, t.cols) != 0)
            rc = cli_lib_fail();
        else if (rc == 0 && (t.cols != all->cols || es_table_find(&t, "path") < 0))
            rc = cli_fail("%s: its columns are not those of %s's", file, *dirs ? (*dirs)[0] : dir);
        for (int c = 0; rc == 0 && c < t.cols; c++)
            if (es_table_find(all, t.col[c]) < 0)
                rc = cli_fail("%s: its columns are not those of the other summaries", file);
        const char **d = rc ? NULL : realloc(*dirs, (all->n + t.n + 1) * sizeof *d);
        if (d)
            *dirs = d;
        for (int i = 0; d && i < t.n; i++) {
            int r = es_table_add_row(all, &t, i);
            if (r < 0) {
                rc = cli_lib_fail();
                break;
            }
            d[r] = dir;
        }
        if (rc == 0 && !d)
            rc = cli_fail("out of memory");
        es_table_free(&t);
        free(e[f]);
    }
    free(e);
    return rc;
}

/* The rows in path order, each path once (an ok row before an error, else the last). */
static int unique_rows(es_table *all, const char **dirs, es_table *out, const char ***odirs)
{
    int *order = malloc((all->n + 1) * sizeof *order);
    *odirs = malloc((all->n + 1) * sizeof **odirs);
    if (!order || !*odirs || es_table_sort(all, "path", order) != 0 ||
        es_table_init(out, (const char *const *)all->col, all->cols) != 0)
        return free(order), es_fail("out of memory");
    for (int i = 0, j; i < all->n; i = j) {
        int pick = i;
        for (j = i; j < all->n && !strcmp(es_table_get(all, j, "path"), es_table_get(all, i, "path")); j++)
            if (!strcmp(es_table_get(all, j, "status"), "ok") ||
                strcmp(es_table_get(all, pick, "status"), "ok"))
                pick = j;
        int r = es_table_add_row(out, all, pick);
        if (r < 0)
            return free(order), -1;
        (*odirs)[r] = dirs[order[pick]];
    }
    free(order);
    return 0;
}

static int merge(options *o)
{
    es_table all = {0}, u = {0};
    const char **dirs = NULL, **udirs = NULL;
    int rc = 0, failed = 0;
    const char *out = o->out ? o->out : o->inputs[0];
    for (int i = 0; i < o->n_inputs && rc == 0; i++)
        rc = merge_folder(o->inputs[i], &all, &dirs);
    char sum[4200], html[4200], title[4200];
    snprintf(sum, sizeof sum, "%s/summary.csv", out);
    snprintf(html, sizeof html, "%s/index.html", out);
    snprintf(title, sizeof title, "earsight export: %s", out);
    if (rc == 0 && unique_rows(&all, dirs, &u, &udirs) != 0)
        rc = cli_lib_fail();
    if (rc == 0 && mkdir(out, 0777) != 0 && errno != EEXIST)
        rc = cli_fail("%s: cannot make the folder: %s", out, strerror(errno));
    if (rc == 0 && (es_table_write(&u, sum) != 0 || es_gallery_html(html, &u, udirs, title) != 0))
        rc = cli_lib_fail();
    for (int i = 0; i < u.n; i++)
        failed += strcmp(es_table_get(&u, i, "status"), "ok") != 0;
    if (rc == 0 && !o->quiet)
        printf("export: %d clips merged (%d failed): %s\n", u.n, failed, html);
    es_table_free(&all), es_table_free(&u);
    free(dirs), free(udirs);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    options o = {.w = 1000, .h = 450, .keep = 0.1f, .aggregate = -1};
    int rc = parse(argc, argv, &o);
    if (rc == 0)
        rc = o.merge ? merge(&o) : export_all(&o);
    for (int k = 0; k < o.n_maps; k++)
        free(o.map_names[k]);
    return rc;
}
