/* Labelled sound files: CSV, features once, augmented training windows, file-level scores. */
#include "pipeline/internal.h"
#include <cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the CSV --------------------------------------------------------------------------- */

/* RFC 4180 records (pipeline/internal.h). */
int es_pl_csv_record(es_pl_csv *t, char **f, int max, int *nf, int *line)
{
    if (t->at >= t->end)
        return 0;
    *line = t->line, *nf = 0;
    char *s = t->at;
    for (;;) {
        char *w = s, *start = s, *kept = s; /* blanks before `kept` stay (a quoted field's) */
        while (s < t->end && (*s == ' ' || *s == '\t'))
            s++;
        if (s < t->end && *s == '"') {
            for (s++;; s++) {
                if (s >= t->end)
                    return -1;
                if (*s == '"' && (s + 1 >= t->end || s[1] != '"'))
                    break;
                t->line += *s == '\n';
                *w++ = *s == '"' ? *++s : *s; /* "" is one quote */
            }
            s++, kept = w;
        }
        while (s < t->end && *s != ',' && *s != '\n' && *s != '\r')
            *w++ = *s++;
        while (w > kept && (w[-1] == ' ' || w[-1] == '\t'))
            w--;
        char sep = s < t->end ? *s : '\n';
        *w = '\0'; /* may land on the separator: read above */
        if (*nf < max)
            f[(*nf)++] = start;
        s++;
        if (sep == ',')
            continue;
        if (sep == '\r' && s < t->end && *s == '\n')
            s++;
        t->line++, t->at = s;
        return 1;
    }
}

static int find_col(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(f[i], name) == 0)
            return i;
    return -1;
}

/* The file an item names: ROOT/ITEM (an absolute item as it is), an itemid with the first
 * extension that exists. A file that does not exist keeps the plain name: reading it fails
 * later, for that file alone. */
char *es_pl_resolve(const char *root, const char *item, int is_id)
{
    static const char *ext[] = {".wav", ".flac", ".ogg"};
    size_t len = strlen(root) + strlen(item) + 8;
    char *p = malloc(len);
    for (int e = 0; p && is_id && e < 3; e++) {
        snprintf(p, len, "%s%s%s%s", item[0] == '/' ? "" : root, item[0] == '/' ? "" : "/", item,
                 ext[e]);
        if (access(p, F_OK) == 0)
            return p;
    }
    if (p)
        snprintf(p, len, "%s%s%s", item[0] == '/' ? "" : root, item[0] == '/' ? "" : "/", item);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int class_index(char **classes, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(classes[i], name) == 0)
            return i;
    return -1;
}

void es_dataset_free(es_dataset *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->item[i]);
        free(d->path[i]);
    }
    for (int i = 0; i < d->n_classes; i++)
        free(d->classes[i]);
    free(d->item);
    free(d->path);
    free(d->label);
    free(d->classes);
    memset(d, 0, sizeof *d);
}

/* The header: the item column (path or itemid) and the label column (label or hasbird). */
static int read_header(es_dataset *d, const char *csv, char **fld, int nf, int *c_path, int *c_lab)
{
    *c_path = find_col(fld, nf, "path");
    if (*c_path < 0 && (*c_path = find_col(fld, nf, "itemid")) >= 0)
        d->is_id = 1;
    *c_lab = find_col(fld, nf, "label");
    d->hasbird = *c_lab < 0;
    if (*c_lab < 0)
        *c_lab = find_col(fld, nf, "hasbird");
    if (*c_path < 0 || *c_lab < 0)
        return es_fail("%s: no %s column (the header needs path or itemid, and hasbird or label)",
                       csv, *c_path < 0 ? "path/itemid" : "hasbird/label");
    return 0;
}

/* Room for one more row (the arrays grow by doubling). */
static int grow(es_dataset *d, char ***names, int **lines, int *cap)
{
    if (d->n < *cap)
        return 0;
    *cap = *cap ? 2 * *cap : 256;
    char **item = realloc(d->item, *cap * sizeof *item);
    d->item = item ? item : d->item;
    char **path = realloc(d->path, *cap * sizeof *path);
    d->path = path ? path : d->path;
    int *label = realloc(d->label, *cap * sizeof *label);
    d->label = label ? label : d->label;
    char **nm = realloc(*names, *cap * sizeof *nm);
    *names = nm ? nm : *names;
    int *ln = realloc(*lines, *cap * sizeof *ln);
    *lines = ln ? ln : *lines;
    return item && path && label && nm && ln ? 0 : es_fail("out of memory");
}

/* One row: its file resolved under root, its class index (hasbird) or name (label). */
static int add_row(es_dataset *d, const char *csv, int lineno, const char *root,
                   const char *item, const char *lab, char **name)
{
    int i = d->n;
    *name = NULL;
    d->item[i] = strdup(item);
    d->path[i] = es_pl_resolve(root, item, d->is_id);
    d->n++;
    if (!d->item[i] || !d->path[i])
        return es_fail("out of memory");
    if (!d->hasbird)
        return (*name = strdup(lab)) ? 0 : es_fail("out of memory");
    char *end;
    double v = strtod(lab, &end);
    if (*end || (v != 0 && v != 1))
        return es_fail("%s:%d: hasbird is '%s', not 0 or 1", csv, lineno, lab);
    d->label[i] = (int)v;
    return 0;
}

/* The whole file, NUL-terminated, a UTF-8 byte-order mark left out (*at). */
char *es_pl_slurp(const char *csv, size_t *len, size_t *at)
{
    FILE *f = fopen(csv, "rb");
    if (!f)
        return es_fail("%s: cannot open", csv), NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap) {
            char *t = realloc(buf, (cap *= 2) + 1);
            if (!t)
                free(buf);
            buf = t;
        }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return es_fail("%s: %s", csv, buf ? "read error" : "out of memory"), NULL;
    }
    buf[n] = '\0';
    *len = n, *at = n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    return buf;
}

/* Reads the rows; class names go to names[i] (label column) or label[i] (hasbird); the
 * first line of each row to lines[i]. */
static int read_rows(es_dataset *d, const char *csv, const char *root, char ***names, int **lines)
{
    size_t len, at;
    char *text = es_pl_slurp(csv, &len, &at), *fld[64], rootbuf[4096];
    if (!text)
        return -1;
    es_pl_csv t = {text + at, text + len, 1};
    int lineno = 0, nf, c_path = -1, c_lab = -1, cap_rows = 0, r = 0, got, first = 1;
    if (!root) {
        const char *slash = strrchr(csv, '/');
        snprintf(rootbuf, sizeof rootbuf, "%.*s", slash ? (int)(slash - csv) : 1,
                 slash ? csv : ".");
        root = rootbuf;
    }
    while (r == 0 && (got = es_pl_csv_record(&t, fld, 64, &nf, &lineno)) > 0) {
        if (first)
            r = read_header(d, csv, fld, nf, &c_path, &c_lab), first = 0;
        else if (nf == 1 && fld[0][0] == 0)
            continue; /* a blank line */
        else if (nf <= c_path || nf <= c_lab || !fld[c_path][0] || !fld[c_lab][0])
            r = es_fail("%s:%d: missing %s", csv, lineno,
                        nf <= c_path || !fld[c_path][0] ? "path" : "label");
        else if ((r = grow(d, names, lines, &cap_rows)) == 0) {
            (*lines)[d->n] = lineno;
            r = add_row(d, csv, lineno, root, fld[c_path], fld[c_lab], &(*names)[d->n]);
        }
    }
    if (got < 0)
        r = es_fail("%s:%d: a quoted field is never closed", csv, lineno);
    if (r == 0 && first)
        r = es_fail("%s: empty file", csv);
    else if (r == 0 && d->n == 0)
        r = es_fail("%s: no rows after the header", csv);
    free(text);
    return r;
}

/* A file listed twice is one file: rows naming the same file (the same device and inode, or
 * the same path when it does not exist) are merged into the first when their labels agree,
 * refused when they do not. So a file is counted once and cannot fall on both sides of a
 * split. */
typedef struct {
    dev_t dev;
    ino_t ino;
    int row;
} file_id;

static int cmp_file(const void *a, const void *b)
{
    const file_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return x->row - y->row;
}

static int same_file(const es_dataset *d, const file_id *a, const file_id *b)
{
    return a->dev || a->ino ? a->dev == b->dev && a->ino == b->ino
                            : !b->dev && !b->ino && strcmp(d->path[a->row], d->path[b->row]) == 0;
}

static int merge_duplicates(es_dataset *d, const char *csv, char **names, const int *lines)
{
    file_id *id = malloc((size_t)d->n * sizeof *id);
    int *drop = calloc((size_t)d->n, sizeof *drop), r = 0;
    if (!id || !drop) {
        free(id), free(drop);
        return es_fail("out of memory");
    }
    for (int i = 0; i < d->n; i++) {
        struct stat st;
        int ok = stat(d->path[i], &st) == 0;
        id[i] = (file_id){ok ? st.st_dev : 0, ok ? st.st_ino : 0, i};
    }
    qsort(id, (size_t)d->n, sizeof *id, cmp_file);
    for (int i = 1; i < d->n && r == 0; i++) {
        int j = i; /* the group's first row: rows of one file sort together, in CSV order */
        while (j > 0 && same_file(d, &id[j - 1], &id[i]))
            j--;
        if (j == i)
            continue;
        int a = id[j].row, b = id[i].row;
        int differ = names ? strcmp(names[a], names[b]) != 0 : d->label[a] != d->label[b];
        if (differ)
            r = es_fail("%s:%d: %s is listed again with another label (line %d: %s, line %d: %s)",
                        csv, lines[b], d->item[b], lines[a], names ? names[a] : d->label[a] ? "1" : "0",
                        lines[b], names ? names[b] : d->label[b] ? "1" : "0");
        drop[b] = 1;
    }
    int k = 0;
    for (int i = 0; i < d->n && r == 0; i++) {
        if (drop[i]) {
            free(d->item[i]), free(d->path[i]);
            if (names)
                free(names[i]);
            d->merged++;
            continue;
        }
        d->item[k] = d->item[i], d->path[k] = d->path[i], d->label[k] = d->label[i];
        if (names)
            names[k] = names[i];
        k++;
    }
    if (r == 0)
        d->n = k;
    free(id), free(drop);
    return r;
}

int es_dataset_read_for(es_dataset *d, const char *csv, const char *root, char **classes, int n)
{
    memset(d, 0, sizeof *d);
    char **names = NULL;
    int *lines = NULL;
    int r = read_rows(d, csv, root, &names, &lines);
    if (r == 0)
        r = merge_duplicates(d, csv, d->hasbird ? NULL : names, lines);
    free(lines);
    if (r == 0 && classes) {
        d->classes = calloc(n, sizeof *d->classes);
        for (int k = 0; k < n; k++)
            d->classes[k] = strdup(classes[k]);
        d->n_classes = n;
        for (int i = 0; i < d->n && r == 0; i++) {
            if (d->hasbird && d->label[i] >= n)
                r = es_fail("%s: hasbird 1 needs a model of two classes or more", csv);
            else if (!d->hasbird && (d->label[i] = class_index(classes, n, names[i])) < 0)
                r = es_fail("%s: label '%s' is not one of the model's classes", csv, names[i]);
        }
    } else if (r == 0 && d->hasbird) {
        d->n_classes = 2;
        d->classes = calloc(2, sizeof *d->classes);
        d->classes[0] = strdup("nobird"), d->classes[1] = strdup("bird");
    } else if (r == 0) {
        char **s = malloc(d->n * sizeof *s);
        memcpy(s, names, d->n * sizeof *s);
        qsort(s, d->n, sizeof *s, cmp_str);
        d->classes = calloc(d->n, sizeof *d->classes);
        for (int i = 0; i < d->n; i++)
            if (i == 0 || strcmp(s[i], s[i - 1]) != 0)
                d->classes[d->n_classes++] = strdup(s[i]);
        free(s);
        for (int i = 0; i < d->n; i++)
            d->label[i] = class_index(d->classes, d->n_classes, names[i]);
        if (d->n_classes < 2)
            r = es_fail("%s: one class only ('%s'); training needs two or more", csv,
                        d->classes[0]);
    }
    for (int i = 0; names && i < d->n; i++)
        free(names[i]);
    free(names);
    if (r != 0)
        es_dataset_free(d);
    return r;
}

int es_dataset_read(es_dataset *d, const char *csv, const char *root)
{
    return es_dataset_read_for(d, csv, root, NULL, 0);
}

char *es_dataset_classes_json(const es_dataset *d)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < d->n_classes; k++)
        cJSON_AddItemToArray(a, cJSON_CreateString(d->classes[k]));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* ---- features, once -------------------------------------------------------------------- */

void es_dataset_features_free(es_array *feat, int n)
{
    for (int i = 0; feat && i < n; i++)
        es_array_free(&feat[i]);
    free(feat);
}

int es_dataset_features_watch(const es_dataset *d, const es_feature_config *c, es_array **out,
                              char ***errors, es_dataset_each_fn each, void *ctx, int *done)
{
    *out = NULL, *errors = NULL;
    if (done)
        *done = 0;
    es_feature_config fc = *c;
    fc.standardize = ES_STANDARDIZE_NONE;
    es_features *f = es_features_new(&fc);
    if (!f)
        return -1;
    es_array *feat = calloc((size_t)d->n, sizeof *feat);
    char **err = calloc((size_t)d->n, sizeof *err);
    if (!feat || !err) {
        es_features_free(f), free(feat), free(err);
        return es_fail("out of memory");
    }
    int failed = 0, n_done = 0, stop = 0;
    /* files in parallel, each on one thread; every failure kept with its file */
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : failed)
    for (int i = 0; i < d->n; i++) {
        int halt;
#pragma omp atomic read
        halt = stop;
        if (halt)
            continue; /* a parallel loop cannot break: the files left are skipped */
        if (es_features_file(f, d->path[i], &feat[i]) != 0) {
            err[i] = strdup(es_error());
            failed++;
        }
#pragma omp critical(es_dataset_each)
        {
            n_done++;
            if (each && each(ctx, i, err[i] ? err[i] : NULL) != 0) {
#pragma omp atomic write
                stop = 1;
            }
        }
    }
    es_features_free(f);
    if (done)
        *done = n_done;
    *out = feat, *errors = err;
    return failed;
}

int es_dataset_features_each(const es_dataset *d, const es_feature_config *c, es_array **out,
                             char ***errors)
{
    return es_dataset_features_watch(d, c, out, errors, NULL, NULL, NULL);
}

void es_dataset_drop_failed(es_dataset *d, es_array *feat, char **errors)
{
    int k = 0;
    for (int i = 0; i < d->n; i++) {
        if (errors[i]) {
            free(d->item[i]), free(d->path[i]), free(errors[i]);
            es_array_free(&feat[i]);
            continue;
        }
        d->item[k] = d->item[i], d->path[k] = d->path[i], d->label[k] = d->label[i];
        feat[k++] = feat[i];
    }
    d->n = k;
    free(errors);
}

int es_dataset_features(const es_dataset *d, const es_feature_config *c, es_array **out)
{
    char **err;
    int failed = es_dataset_features_each(d, c, out, &err);
    if (failed <= 0)
        return free(err), failed;
    char msg[512];
    for (int i = 0; i < d->n; i++)
        if (err[i]) {
            snprintf(msg, sizeof msg, "%s", err[i]);
            break;
        }
    for (int i = 0; i < d->n; i++)
        free(err[i]);
    free(err);
    es_dataset_features_free(*out, d->n);
    *out = NULL;
    return es_fail("%s", msg);
}

/* ---- the split ------------------------------------------------------------------------- */

void es_dataset_split(const es_dataset *d, double frac, uint64_t seed, int *is_val)
{
    es_rng r = {seed ^ 0x5EED5EED5EEDull};
    int *idx = malloc((d->n ? d->n : 1) * sizeof *idx);
    memset(is_val, 0, d->n * sizeof *is_val);
    for (int k = 0; idx && k < d->n_classes; k++) {
        int m = 0;
        for (int i = 0; i < d->n; i++)
            if (d->label[i] == k)
                idx[m++] = i;
        for (int i = m - 1; i > 0; i--) { /* Fisher–Yates */
            int j = es_rng_below(&r, i + 1), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
        int nv = (int)floor(frac * m + 0.5);
        if (nv < 1 && m >= 2 && frac > 0)
            nv = 1;
        if (nv >= m && m >= 2)
            nv = m - 1;
        for (int i = 0; i < nv; i++)
            is_val[idx[i]] = 1;
    }
    free(idx);
}

/* ---- training windows ------------------------------------------------------------------ */

/* A feature value as power, and back (the features' log: dB, ln or none). */
static double to_power(double v, const es_feature_config *c)
{
    return c->log == ES_LOG_DB ? pow(10.0, v / 10.0) : c->log == ES_LOG_LN ? exp(v) : v;
}

static double from_power(double p, const es_feature_config *c)
{
    return c->log == ES_LOG_DB ? 10.0 * log10(p > c->amin ? p : c->amin)
         : c->log == ES_LOG_LN ? log(p + c->amin) : p;
}

/* A mixture's own floor, as its features would have it: top_db below its largest value. */
static void clip_top_db(const es_feature_config *c, float *x, size_t n)
{
    if (c->log != ES_LOG_DB || c->top_db <= 0 || n == 0)
        return;
    float mx = x[0];
    for (size_t j = 1; j < n; j++)
        mx = x[j] > mx ? x[j] : mx;
    for (size_t j = 0; j < n; j++)
        x[j] = x[j] < mx - c->top_db ? (float)(mx - c->top_db) : x[j];
}

static double mean_power(const es_feature_config *c, const float *x, int bands, int T, int t0,
                         int t1)
{
    double s = 0;
    for (int b = 0; b < bands; b++)
        for (int t = t0; t < t1; t++)
            s += to_power(x[(size_t)b * T + t], c);
    return s / ((double)bands * (t1 - t0 > 0 ? t1 - t0 : 1));
}

/* A synthetic sound's features, its kind (from `first` on) and level drawn from the ranges.
 * Digital silence, when it may be drawn, comes with probability p_silence (0: as often as
 * any other kind). */
static int synth_features(const es_augment *a, es_synth_kind first, const double level[2],
                          int frames, es_rng *r, es_array *out)
{
    es_synth_kind kind;
    if (first == ES_SYNTH_SILENCE && a->p_silence > 0)
        kind = es_rng_uniform(r) < a->p_silence
                 ? ES_SYNTH_SILENCE
                 : ES_SYNTH_SILENCE + 1 + es_rng_below(r, ES_SYNTH_KINDS - 1);
    else
        kind = first + es_rng_below(r, ES_SYNTH_KINDS - first);
    double db = level[0] + (level[1] - level[0]) * es_rng_uniform(r);
    return es_synth_features(a->synth, kind, db, frames, r, out);
}

/* The background file file i is mixed into this time (-1: none), drawn from the training
 * files of the background class other than i. */
static int pick_background(const es_augment *a, int i, const es_dataset *d, const int *train,
                           int n_train, es_rng *r)
{
    int bg = -1;
    double p_mix = d->label[i] != a->background ? a->p_mix : a->p_mix_bg;
    if (a->background >= 0 && p_mix > 0 && es_rng_uniform(r) < p_mix) {
        int m = 0;
        for (int k = 0; k < n_train; k++)
            m += d->label[train[k]] == a->background && train[k] != i;
        int pick = es_rng_below(r, m);
        for (int k = 0; k < n_train && bg < 0 && m > 0; k++)
            if (d->label[train[k]] == a->background && train[k] != i && pick-- == 0)
                bg = train[k];
    }
    return bg;
}

static int loudest_start(const es_feature_config *c, const float *x, int bands, int T, int lo,
                         int hi, int F, int tries, es_rng *r);

/* x (bands × bg's frames) = the mixture of src into bg; *cs, *off, *len: where src's crop
 * came from and went.
 * The crop is the loudest of `tries` random ones (1: any), so that a positive clip brings its
 * sound and not the silence around it. */
static void mix(const es_feature_config *c, const es_augment *a, const es_array *src,
                const es_array *bg, int tries, es_rng *r, float *x, int *cs_out, int *off_out,
                int *len_out)
{
    /* The clip's power added to the background's (phases ignored): a crop of the clip at
     * a random place, scaled to a random SNR over the background's mean power. */
    int bands = src->dims[0], T = src->dims[1], TT = bg->dims[1];
    const float *b = bg->data, *s = src->data;
    int len = T < TT ? T : TT, cs = loudest_start(c, s, bands, T, 0, T - len, len, tries, r);
    int off = es_rng_below(r, TT - len + 1);
    double snr = a->snr_min + (a->snr_max - a->snr_min) * es_rng_uniform(r);
    double pb = mean_power(c, b, bands, TT, 0, TT);
    double ps = mean_power(c, s, bands, T, cs, cs + len);
    double k = ps > 0 ? pb / ps * pow(10.0, snr / 10.0) : 0;
    for (int q = 0; q < bands; q++)
        for (int t = 0; t < TT; t++) {
            double p = to_power(b[(size_t)q * TT + t], c);
            if (t >= off && t < off + len)
                p += k * to_power(s[(size_t)q * T + cs + t - off], c);
            x[(size_t)q * TT + t] = (float)from_power(p, c);
        }
    clip_top_db(c, x, (size_t)bands * TT);
    *cs_out = cs, *off_out = off, *len_out = len;
}

/* x (bands × T) gained down by up to a->quiet_db, onto a synthetic noise floor (its power
 * added), never less than 6 dB over it: so that a quiet clip keeps its class, and what
 * standardisation leaves of a level (how far it stands over the floor) is no cue. */
static int quiet(const es_feature_config *c, const es_augment *a, float *x, int bands, int T,
                 es_rng *r)
{
    es_array fl = {0};
    if (synth_features(a, ES_SYNTH_WHITE, a->floor_db, T, r, &fl) != 0)
        return -1;
    int TF = fl.dims[1];
    double ps = mean_power(c, x, bands, T, 0, T), pf = mean_power(c, fl.data, bands, TF, 0, T);
    /* 6 dB over the floor at least; a clip that is not, at full level, lowers the floor */
    double g = fmax(-a->quiet_db * es_rng_uniform(r), 10.0 * log10(pf / ps) + 6);
    double k = pow(10.0, fmin(g, 0) / 10.0), kf = pow(10.0, -fmax(g, 0) / 10.0);
    for (int q = 0; q < bands; q++)
        for (int t = 0; t < T; t++) {
            double p = k * to_power(x[(size_t)q * T + t], c) +
                       kf * to_power(fl.data[(size_t)q * TF + t], c);
            x[(size_t)q * T + t] = (float)from_power(p, c);
        }
    clip_top_db(c, x, (size_t)bands * T);
    es_array_free(&fl);
    return 0;
}

/* Of `tries` random window starts in [lo, hi] of x (bands × T frames, F a window), the loudest
 * one's. */
static int loudest_start(const es_feature_config *c, const float *x, int bands, int T, int lo,
                         int hi, int F, int tries, es_rng *r)
{
    int best = lo;
    double most = -1;
    for (int k = 0; k < tries; k++) {
        int s = lo + es_rng_below(r, hi - lo + 1);
        double p = mean_power(c, x, bands, T, s, s + F);
        if (p > most)
            most = p, best = s;
    }
    return best;
}

/* x (bands × T, owned) gained, standardised, cropped to a window that overlaps frames
 * [focus0, focus1) (the window [focus0, focus0 + F) when focus1 is -1), shifted in
 * frequency, into out. */
static void finish(const es_feature_config *c, const es_augment *a, float *x, int bands, int T,
                   int focus0, int focus1, es_rng *r, float *out)
{
    int F = c->frames > 0 ? c->frames : T;
    if (a->gain_db > 0 && c->log != ES_LOG_NONE) {
        double gdb = a->gain_db * (2 * es_rng_uniform(r) - 1);
        float add = (float)(c->log == ES_LOG_DB ? gdb : gdb * log(10.0) / 10.0);
        for (size_t j = 0; j < (size_t)bands * T; j++)
            x[j] += add;
    }
    es_pl_standardize(x, bands, T, c->standardize);
    int start = focus1 < 0 ? focus0 : 0;
    if (T > F && focus1 >= 0) {
        int lo = focus0 - F + 1, hi = focus1 - 1;
        lo = lo < 0 ? 0 : lo;
        hi = hi > T - F ? T - F : hi;
        start = hi >= lo ? lo + es_rng_below(r, hi - lo + 1) : es_rng_below(r, T - F + 1);
    }
    int shift = a->band_shift > 0 ? es_rng_below(r, 2 * a->band_shift + 1) - a->band_shift : 0;
    es_pl_window(c, x, bands, T, start, shift, out);
    free(x);
}

/* A synthetic sound of half a window to three windows, any kind, as a training window. */
static int synth_example(const es_feature_config *c, const es_augment *a, es_rng *r, float *out)
{
    int F = c->frames > 0 ? c->frames : 64;
    es_array s = {0};
    if (synth_features(a, ES_SYNTH_SILENCE, a->synth_db, F / 2 + es_rng_below(r, 5 * F / 2),
                       r, &s) != 0)
        return -1;
    float *x = s.data; /* finish owns it */
    int bands = s.dims[0], T = s.dims[1];
    s.data = NULL;
    es_array_free(&s);
    finish(c, a, x, bands, T, 0, T, r, out);
    return 0;
}

int es_dataset_example(const es_feature_config *c, const es_augment *a, es_array *feat, int i,
                       const es_dataset *d, const int *train, int n_train, es_rng *r, float *out)
{
    int synth = a->synth && a->p_synth > 0 && c->log != ES_LOG_NONE;
    int quieter = a->synth && a->p_quiet > 0 && c->log != ES_LOG_NONE;
    if (synth && d->label[i] == a->background && es_rng_uniform(r) < a->p_synth)
        return synth_example(c, a, r, out);
    const es_array *src = &feat[i], *bga = NULL;
    es_array sb = {0};
    int bands = src->dims[0], T = src->dims[1], bg = pick_background(a, i, d, train, n_train, r);
    /* a positive window holds its class's sound, not the silence around it */
    int positive = a->crop_tries > 1 && a->background >= 0 && d->label[i] != a->background;
    if (bg >= 0 && synth && es_rng_uniform(r) < a->p_synth) { /* a noise, hum or clicks */
        if (synth_features(a, ES_SYNTH_WHITE, a->synth_db, feat[bg].dims[1], r, &sb) != 0)
            return -1;
        bga = &sb;
    } else if (bg >= 0) {
        bga = &feat[bg];
    }
    int TT = bga ? bga->dims[1] : T, focus0 = 0, focus1 = TT, rc = 0;
    float *x = malloc((size_t)bands * TT * sizeof *x);
    if (!x)
        rc = es_fail("out of memory");
    else if (bga) {
        int cs, off, len, F = c->frames > 0 ? c->frames : TT;
        mix(c, a, src, bga, positive ? a->crop_tries : 1, r, x, &cs, &off, &len);
        focus0 = off, focus1 = off + len; /* the window must overlap the mixed-in clip */
        if (positive && len >= F) /* or hold its loudest part, not a frame of it */
            focus0 = off - cs + loudest_start(c, src->data, bands, T, cs, cs + len - F, F,
                                              a->crop_tries, r), focus1 = -1;
    } else {
        memcpy(x, src->data, (size_t)bands * T * sizeof *x);
        int F = c->frames > 0 ? c->frames : T;
        if (positive && T > F)
            focus0 = loudest_start(c, x, bands, T, 0, T - F, F, a->crop_tries, r), focus1 = -1;
    }
    if (rc == 0 && quieter && es_rng_uniform(r) < a->p_quiet)
        rc = quiet(c, a, x, bands, TT, r);
    es_array_free(&sb);
    if (rc != 0)
        return free(x), -1;
    finish(c, a, x, bands, TT, focus0, focus1, r, out);
    return 0;
}

int es_dataset_windows(const es_feature_config *c, const es_array *feat, float **xout, int *nw)
{
    int bands = feat->dims[0], T = feat->dims[1];
    int F = c->frames > 0 ? c->frames : T;
    int n = c->frames > 0 ? (T + F - 1) / F : 1;
    n = n < 1 ? 1 : n;
    size_t per = (size_t)F * bands;
    float *x = malloc((size_t)bands * T * sizeof *x), *w = malloc(per * n * sizeof *w);
    if (!x || !w) {
        free(x), free(w);
        return es_fail("out of memory");
    }
    memcpy(x, feat->data, (size_t)bands * T * sizeof *x);
    es_pl_standardize(x, bands, T, c->standardize);
    for (int k = 0; k < n; k++)
        es_pl_window(c, x, bands, T, k * F, 0, w + k * per);
    free(x);
    *xout = w, *nw = n;
    return 0;
}

/* ---- scoring files ----------------------------------------------------------------------- */

int es_dataset_score(es_graph *g, int input, int output, const es_feature_config *c, es_array *feat,
             const int *idx, int n_idx, int n_classes, float *probs)
{
    es_verdict *v = calloc(n_idx, sizeof *v);
    if (!v)
        return es_fail("out of memory");
    int r = es_dataset_verdicts(g, input, output, c, feat, idx, n_idx, n_classes, NULL, v);
    for (int j = 0; j < n_idx; j++) {
        if (r == 0)
            memcpy(probs + (size_t)j * n_classes, v[j].pc, n_classes * sizeof *probs);
        es_verdict_free(&v[j]);
    }
    free(v);
    return r;
}

double es_dataset_auc(const float *probs, const int *labels, int n, int n_classes)
{
    float *s = malloc((n ? n : 1) * sizeof *s);
    int *pos = malloc((n ? n : 1) * sizeof *pos);
    double sum = 0;
    int used = 0;
    for (int k = n_classes == 2 ? 1 : 0; s && pos && k < n_classes; k++) {
        for (int i = 0; i < n; i++)
            s[i] = probs[(size_t)i * n_classes + k], pos[i] = labels[i] == k;
        double a = es_roc_auc(s, pos, n);
        if (a >= 0)
            sum += a, used++;
    }
    free(s), free(pos);
    return used ? sum / used : -1;
}
