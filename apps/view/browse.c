/* Browsing: the viewer's files come from its operands — sound files, folders (recursive, sound
 * extensions) and an export's summary.csv (sorted as the gallery sorts: P(class) max, largest
 * first) — and from files and folders dropped on the window. n / N open the next / previous
 * one; a file that cannot be read shows its error in the window and the viewer goes on. */
#define _GNU_SOURCE /* strcasestr */
#include "apps/view/view.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define LIST_W 280 /* the file list panel, right of the figure */

static int add(view *v, const char *path, float sort_key)
{
    if (v->n_files == v->cap_files) {
        int cap = v->cap_files ? 2 * v->cap_files : 64;
        view_file *f = realloc(v->files, (size_t)cap * sizeof *f);
        if (!f)
            return es_fail("out of memory");
        v->files = f, v->cap_files = cap;
    }
    view_file *f = &v->files[v->n_files];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path)))
        return es_fail("out of memory");
    f->key = sort_key;
    v->n_files++;
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const view_file *)a)->path, ((const view_file *)b)->path);
}

static int by_key(const void *a, const void *b)
{
    float x = ((const view_file *)a)->key, y = ((const view_file *)b)->key;
    return (x < y) - (x > y); /* largest first; NaN (no P) last by position */
}

/* The sound files under a folder, recursively. */
static int walk(view *v, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return es_fail("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    char path[4096];
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(v, path);
        else if (es_sound_name(e->d_name))
            rc = add(v, path, NAN);
    }
    closedir(d);
    return rc;
}

/* One CSV line split in place into at most `max` fields (quotes as RFC 4180). */
static int csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *w = p, *out = p;
        int q = *p == '"';
        p += q;
        for (; *p && (q || (*p != ',' && *p != '\n' && *p != '\r')); p++) {
            if (q && *p == '"' && p[1] == '"')
                *out++ = '"', p++;
            else if (q && *p == '"')
                q = 0;
            else
                *out++ = *p;
        }
        int end = *p != ',';
        *out = 0, f[n++] = w;
        if (end)
            break;
        p++;
    }
    return n;
}

/* An export's summary.csv: its `path` column (relative to the CSV's folder), sorted by the P
 * column (the first whose name has "max", else "p") as the gallery sorts, largest first. */
static int summary(view *v, const char *csv)
{
    FILE *fp = fopen(csv, "r");
    if (!fp)
        return es_fail("%s: %s", csv, strerror(errno));
    char line[8192], *f[64], path[4096];
    int pcol = -1, kcol = -1, first = v->n_files, rc = 0;
    const char *slash = strrchr(csv, '/');
    int dlen = slash ? (int)(slash - csv) : 0;
    if (fgets(line, sizeof line, fp)) {
        int n = csv_fields(line + (strncmp(line, "\xEF\xBB\xBF", 3) ? 0 : 3), f, 64);
        for (int i = 0; i < n; i++) {
            if (!strcasecmp(f[i], "path"))
                pcol = i;
            else if (kcol < 0 && strcasestr(f[i], "max"))
                kcol = i;
        }
        for (int i = 0; kcol < 0 && i < n; i++)
            if (tolower((unsigned char)f[i][0]) == 'p' && i != pcol)
                kcol = i;
    }
    if (pcol < 0)
        rc = es_fail("%s: no `path` column (an export's summary.csv has one)", csv);
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        int n = csv_fields(line, f, 64);
        if (n <= pcol || !f[pcol][0])
            continue;
        if (f[pcol][0] == '/' || !dlen)
            snprintf(path, sizeof path, "%s", f[pcol]);
        else
            snprintf(path, sizeof path, "%.*s/%s", dlen, csv, f[pcol]);
        char *end;
        float key = kcol >= 0 && kcol < n ? strtof(f[kcol], &end) : NAN;
        rc = add(v, path, kcol >= 0 && kcol < n && end != f[kcol] ? key : NAN);
    }
    fclose(fp);
    if (rc == 0)
        qsort(v->files + first, v->n_files - first, sizeof *v->files, by_key);
    return rc;
}

int view_browse_add(view *v, const char *path)
{
    struct stat st;
    int first = v->n_files, rc;
    const char *bn = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((rc = walk(v, path)) == 0) /* a folder's files in path order */
            qsort(v->files + first, v->n_files - first, sizeof *v->files, by_path);
    } else if (strlen(bn) > 4 && !strcasecmp(bn + strlen(bn) - 4, ".csv")) {
        rc = summary(v, path);
    } else {
        rc = add(v, path, NAN); /* a file that is not there fails when it is opened */
    }
    return rc == 0 ? v->n_files - first : -1;
}

void view_browse_free(view *v)
{
    for (int i = 0; i < v->n_files; i++)
        free(v->files[i].path);
    free(v->files);
    v->files = NULL, v->n_files = v->cap_files = 0;
}

/* The verdict of the clip just opened, for the list: "LABEL P". */
static void note_verdict(view *v, view_file *f)
{
    es_verdict vd = {0};
    if (es_clip_verdict(&v->in, NULL, &vd) != 0) {
        snprintf(f->verdict, sizeof f->verdict, "?");
        return;
    }
    const char *label = es_model_label(&v->in.m, vd.cls);
    if (label)
        snprintf(f->verdict, sizeof f->verdict, "%s %.2f", label, vd.p);
    else
        snprintf(f->verdict, sizeof f->verdict, "class %d %.2f", vd.cls, vd.p);
    es_verdict_free(&vd);
}

/* Forgets what belonged to the file shown: maps, the figure, the sound, the view. */
static void forget(view *v)
{
    view_stop(v); /* what it computes is of the old file */
    view_work_free(v);
    free(v->base), free(v->wave);
    v->base = NULL, v->wave = NULL, v->wave_n = 0;
    if (v->dev) { /* the old sound stops */
        SDL_LockAudioDevice(v->dev);
        v->play_n = 0;
        SDL_UnlockAudioDevice(v->dev);
    }
    es_canvas_free(&v->fig);
    v->sel0 = v->sel1 = 0, v->fig_dirty = 1, v->readout[0] = 0, v->status[0] = 0;
}

int view_browse_open(view *v, int k)
{
    if (v->n_files == 0)
        return 0;
    k = ((k % v->n_files) + v->n_files) % v->n_files;
    view_file *f = &v->files[k];
    es_clip next = {0};
    char title[512];
    v->cur = k;
    const char *bn = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
    snprintf(title, sizeof title, "earsight view: %s (%d/%d)", bn, k + 1, v->n_files);
    if (v->win)
        SDL_SetWindowTitle(v->win, title);
    if (es_clip_load(&next, v->model_path, &opt_model, f->path, v->a.hop_frames) != 0) {
        snprintf(f->verdict, sizeof f->verdict, "error");
        snprintf(v->file_error, sizeof v->file_error, "%s", es_error());
        es_clip_free(&next);
        v->fig_dirty = 1;
        es_canvas_free(&v->fig);
        return -1; /* the clip shown before stays loaded, behind the message */
    }
    if (v->in.m.g)
        forget(v);
    es_clip_free(&v->in);
    v->in = next, v->file = f->path, v->file_error[0] = 0;
    v->cols = v->span = es_figure_columns(&v->in), v->c0 = 0;
    if (!(v->cache = calloc((size_t)ES_SAL_COUNT * v->in.classes, sizeof *v->cache)))
        return es_fail("out of memory");
    if (view_base_picture(v) != 0)
        return -1;
    v->r0 = 0, v->rspan = v->rows;
    if (view_panes_init(v) != 0)
        return -1;
    v->in.aggregate = v->a.aggregate; /* --aggregate, as for the first file */
    v->target = v->a.target ? (v->a.o.target < v->in.classes ? v->a.o.target : 0)
                            : es_clip_default_target(&v->in, NULL);
    note_verdict(v, f);
    return 0;
}

/* The panel: one line a file, the one shown marked, its verdict once it was opened. */
int view_browse_draw(view *v, es_canvas *c)
{
    es_fill_rect(c, (es_rect){0, 0, c->w, c->h}, ES_RGBA(248, 248, 250, 255));
    es_fill_rect(c, (es_rect){0, 0, 1, c->h}, ES_RGBA(205, 205, 210, 255));
    char head[64];
    snprintf(head, sizeof head, "%d files   n / N: next / previous", v->n_files);
    es_text_draw(c, v->font, 12, 10, 14, head, ES_RGBA(90, 90, 90, 255), ES_LEFT | ES_MIDDLE);
    int line = 18, rows = (c->h - 30) / line;
    int first = v->cur - rows / 2 < 0 ? 0 : v->cur - rows / 2;
    first = first + rows > v->n_files ? (v->n_files - rows > 0 ? v->n_files - rows : 0) : first;
    for (int i = first; i < v->n_files && i < first + rows; i++) {
        int y = 30 + (i - first) * line;
        const view_file *f = &v->files[i];
        if (i == v->cur)
            es_fill_rect(c, (es_rect){1, y, c->w - 1, line}, ES_RGBA(220, 230, 245, 255));
        char name[96];
        const char *bn = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
        snprintf(name, sizeof name, "%.40s", bn);
        while (strlen(name) > 4 && es_text_width(v->font, 11, name) > c->w - 100)
            name[strlen(name) - 1] = 0;
        int err = !strcmp(f->verdict, "error");
        es_text_draw(c, v->font, 11, 10, y + line / 2, name, ES_RGBA(40, 40, 40, 255),
                     ES_LEFT | ES_MIDDLE);
        es_text_draw(c, v->font, 11, c->w - 8, y + line / 2, f->verdict[0] ? f->verdict : "…",
                     err ? ES_RGBA(190, 40, 30, 255) : ES_RGBA(60, 90, 140, 255), ES_RIGHT | ES_MIDDLE);
    }
    return 0;
}

int view_list_width(const view *v)
{
    return v->show_list && v->n_files > 1 ? LIST_W : 0;
}

/* A file or folder dropped on the window: added to the list, the first of it opened. */
void view_browse_drop(view *v, const char *path)
{
    int first = v->n_files, n = view_browse_add(v, path);
    if (n < 0) {
        snprintf(v->status, sizeof v->status, "%.250s", es_error());
    } else if (n == 0) {
        snprintf(v->status, sizeof v->status, "no sound files in %.200s", path);
    } else {
        view_browse_open(v, first);
        snprintf(v->status, sizeof v->status, "added %d file%s", n, n > 1 ? "s" : "");
    }
}
