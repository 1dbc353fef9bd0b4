/* The inputs of a batch (files, folders, list files) and the names of their outputs. */
#include "pipeline/internal.h"
#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

uint64_t es_path_hash(const char *path)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* The length of the valid UTF-8 character (2..4 bytes) at s, or 0. */
static int utf8_char(const unsigned char *s)
{
    int n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (s[0] >= 0xF8)
        return 0;
    for (int k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

void es_export_stem(const char *path, char *buf)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot > base ? (size_t)(dot - base) : strlen(base), o = 0;
    enum { KEEP = 96 };
    for (size_t i = 0; i < len && o < KEEP;) {
        const unsigned char *c = (const unsigned char *)base + i;
        int u = *c >= 0x80 ? utf8_char(c) : 0;
        if (u && i + u <= len) {
            if (o + u > KEEP)
                break;
            memcpy(buf + o, c, u), o += u, i += u;
            continue;
        }
        int safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || (*c == '.' && o > 0);
        buf[o++] = safe ? (char)*c : '_', i++;
    }
    snprintf(buf + o, ES_STEM_MAX - o, "%s%08x", o ? "-" : "clip-",
             (unsigned)(es_path_hash(path) >> 32));
}

int es_sound_name(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) || !dot[1])
        return 0;
    /* Ogg names beside libsndfile's "oga", and MPEG's usual name (libsndfile reads MP3s) */
    static const char *extra[] = {"ogg", "opus", "oga", "aif", "mp3", NULL};
    for (int k = 0; extra[k]; k++)
        if (strcasecmp(dot + 1, extra[k]) == 0)
            return 1;
    int n = 0;
    sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &n, sizeof n);
    for (int k = 0; k < n; k++) {
        SF_FORMAT_INFO fi = {.format = k};
        if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi) == 0 && fi.extension &&
            strcasecmp(fi.extension, "raw") != 0 && strcasecmp(dot + 1, fi.extension) == 0)
            return 1;
    }
    return 0;
}

double es_sound_duration(const char *path)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return es_fail("%s: %s", path, sf_strerror(NULL)), -1;
    sf_close(f);
    return info.samplerate > 0 ? (double)info.frames / info.samplerate : -1;
}

/* ---- the inputs ---------------------------------------------------------------------- */

void es_inputs_free(es_inputs *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->path[i]), free(l->label[i]);
    free(l->path), free(l->label), free(l->slot);
    memset(l, 0, sizeof *l);
}

/* The slot of `path` in the open-addressing set of indices + 1 (0: empty): where it is, or
 * the empty slot where it goes. The set is kept at most half full. */
static int *find_slot(const es_inputs *l, const char *path)
{
    size_t m = (size_t)l->n_slot - 1, h = es_path_hash(path) & m;
    while (l->slot[h] && strcmp(l->path[l->slot[h] - 1], path) != 0)
        h = (h + 1) & m;
    return &l->slot[h];
}

static int grow_set(es_inputs *l)
{
    int n = l->n_slot ? 2 * l->n_slot : 256, *old = l->slot, old_n = l->n_slot;
    if (!(l->slot = calloc(n, sizeof *l->slot)))
        return l->slot = old, es_fail("out of memory");
    l->n_slot = n;
    for (int i = 0; i < old_n; i++)
        if (old[i])
            *find_slot(l, l->path[old[i] - 1]) = old[i];
    free(old);
    return 0;
}

static int push(es_inputs *l, const char *path, const char *label)
{
    if (2 * (l->n + 1) > l->n_slot && grow_set(l) != 0)
        return -1;
    int *slot = find_slot(l, path);
    if (*slot) /* a file given twice is one input */
        return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->path, cap * sizeof *p), **b = p ? realloc(l->label, cap * sizeof *b) : NULL;
        if (p)
            l->path = p;
        if (!p || !b)
            return es_fail("out of memory");
        l->label = b, l->cap = cap;
    }
    l->path[l->n] = strdup(path);
    l->label[l->n] = label && *label ? strdup(label) : NULL;
    if (!l->path[l->n] || (label && *label && !l->label[l->n]))
        return free(l->path[l->n]), free(l->label[l->n]), es_fail("out of memory");
    *slot = ++l->n;
    return 0;
}

int es_inputs_shard(es_inputs *l, int k, int n)
{
    int kept = 0;
    for (int i = 0; i < l->n; i++) {
        if ((int)(es_path_hash(l->path[i]) % (uint64_t)n) == k - 1) {
            l->path[kept] = l->path[i], l->label[kept++] = l->label[i];
            continue;
        }
        free(l->path[i]), free(l->label[i]);
    }
    l->n = kept;
    memset(l->slot, 0, l->n_slot * sizeof *l->slot);
    for (int i = 0; i < l->n; i++)
        *find_slot(l, l->path[i]) = i + 1;
    return l->n;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int walk(es_inputs *l, const char *dir, int depth)
{
    struct dirent **e;
    if (depth > 64)
        return es_fail("%s: folders nested too deep", dir);
    int n = scandir(dir, &e, NULL, by_name), r = 0;
    if (n < 0)
        return es_fail("%s: cannot read the folder", dir);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(e[i]->d_name) + 2;
        char *p = e[i]->d_name[0] == '.' || r ? NULL : malloc(len);
        struct stat st;
        if (p) {
            snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e[i]->d_name);
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                r = walk(l, p, depth + 1);
            else if (es_sound_name(p) && stat(p, &st) == 0 && S_ISREG(st.st_mode))
                r = push(l, p, NULL);
        } else if (!r && e[i]->d_name[0] != '.') {
            r = es_fail("out of memory");
        }
        free(p), free(e[i]);
    }
    free(e);
    return r;
}

int es_inputs_add(es_inputs *l, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        return walk(l, arg, 0);
    return push(l, arg, NULL); /* a file that is missing fails later, for itself alone */
}

static int find_col(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(f[i], name) == 0)
            return i;
    return -1;
}

/* One listed item: resolved from the list's folder (as it is when that is "."). */
static int push_item(es_inputs *l, const char *root, const char *item, int is_id, const char *lab)
{
    char *p = es_pl_resolve(root, item, is_id);
    if (!p)
        return es_fail("out of memory");
    int r = push(l, strcmp(root, ".") == 0 && strncmp(p, "./", 2) == 0 ? p + 2 : p, lab);
    free(p);
    return r;
}

/* The first line a header with a path or itemid column: that column (*is_id: itemid), the
 * label column (*hasbird: hasbird), else -1 (a plain list). */
static int header(const char *text, int *is_id, int *cl, int *hasbird)
{
    size_t n = strcspn(text, "\n");
    char *line = strndup(text, n), *f[64];
    int nf, ln, cp = -1;
    es_pl_csv c = {line, line + n, 1};
    if (line && es_pl_csv_record(&c, f, 64, &nf, &ln) > 0) {
        *is_id = (cp = find_col(f, nf, "path")) < 0 && (cp = find_col(f, nf, "itemid")) >= 0;
        *hasbird = (*cl = find_col(f, nf, "label")) < 0 && (*cl = find_col(f, nf, "hasbird")) >= 0;
    }
    free(line);
    return cp;
}

static int read_csv(es_inputs *l, const char *list, const char *root, char *text, size_t len,
                    char **classes, int n_classes)
{
    int nf, line, got, r = 0, is_id = 0, cl = -1, hasbird = 0, cp = header(text, &is_id, &cl, &hasbird);
    char *f[64];
    es_pl_csv c = {text, text + len, 1};
    es_pl_csv_record(&c, f, 64, &nf, &line); /* the header */
    while (r == 0 && (got = es_pl_csv_record(&c, f, 64, &nf, &line)) > 0) {
        const char *item = nf > cp ? f[cp] : "", *lab = cl >= 0 && nf > cl ? f[cl] : NULL;
        if (!*item)
            continue;
        if (lab && hasbird && *lab) {
            if (strcmp(lab, "0") && strcmp(lab, "1"))
                return es_fail("%s:%d: hasbird is '%s', not 0 or 1", list, line, lab);
            lab = lab[0] - '0' < n_classes ? classes[lab[0] - '0'] : lab;
        }
        r = push_item(l, root, item, is_id, lab);
    }
    return r == 0 && got < 0 ? es_fail("%s:%d: a quoted field is never closed", list, line) : r;
}

int es_inputs_list(es_inputs *l, const char *list, char **classes, int n_classes)
{
    size_t len, at;
    char *text = es_pl_slurp(list, &len, &at), root[4096];
    if (!text)
        return -1;
    const char *slash = strrchr(list, '/');
    snprintf(root, sizeof root, "%.*s", slash ? (int)(slash - list) : 1, slash ? list : ".");
    if (slash == list)
        snprintf(root, sizeof root, "/");
    int is_id, cl, hasbird, r = 0;
    if (header(text + at, &is_id, &cl, &hasbird) >= 0) {
        r = read_csv(l, list, root, text + at, len - at, classes, n_classes);
    } else { /* one path a line, as it is (commas, quotes and all) */
        for (char *s = text + at, *e; r == 0 && s < text + len; s = e + 1) {
            e = s + strcspn(s, "\n");
            *e = 0;
            if (e > s && e[-1] == '\r')
                e[-1] = 0;
            if (*s && *s != '#')
                r = push_item(l, root, s, 0, NULL);
        }
    }
    free(text);
    return r;
}

/* ---- the most salient span ------------------------------------------------------------ */

int es_map_salient_span(const es_clip *in, const float *map, double t[2])
{
    int rows, cols;
    float *m;
    if (es_clip_picture(in, map, &rows, &cols, &m) != 0)
        return -1;
    double *prof = calloc(cols, sizeof *prof), peak = 0;
    if (!prof)
        return free(m), es_fail("out of memory");
    int at = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            prof[j] += fabsf(m[(size_t)i * cols + j]);
    for (int j = 0; j < cols; j++)
        if (prof[j] > peak)
            peak = prof[j], at = j;
    int a = at, b = at + 1;
    if (peak <= 0)
        a = 0, b = cols;
    while (a > 0 && prof[a - 1] >= peak / 2)
        a--;
    while (b < cols && prof[b] >= peak / 2)
        b++;
    es_figure_opts o = ES_FIGURE_OPTS_DEFAULTS;
    es_axis x, y;
    es_figure_axes(&o, in, &x, &y);
    t[0] = x.lo + (x.hi - x.lo) * a / cols, t[1] = x.lo + (x.hi - x.lo) * b / cols;
    if (in->audio) /* the first frame's half before the sound's start */
        t[0] = t[0] < 0 ? 0 : t[0];
    free(prof), free(m);
    return 0;
}
