/* A CSV table of strings (es_table): read, look up, add rows, write atomically. */
#define _GNU_SOURCE /* qsort_r */
#include "pipeline/internal.h"
#include <stdlib.h>
#include <string.h>

void es_table_free(es_table *t)
{
    for (int i = 0; i < t->n * t->cols; i++)
        free(t->cell[i]);
    for (int j = 0; j < t->cols; j++)
        free(t->col[j]);
    free(t->cell), free(t->col);
    memset(t, 0, sizeof *t);
}

int es_table_init(es_table *t, const char *const *cols, int n)
{
    memset(t, 0, sizeof *t);
    if (!(t->col = calloc(n ? n : 1, sizeof *t->col)))
        return es_fail("out of memory");
    for (int j = 0; j < n; j++)
        if (!(t->col[t->cols++] = strdup(cols[j])))
            return es_table_free(t), es_fail("out of memory");
    return 0;
}

int es_table_find(const es_table *t, const char *name)
{
    for (int j = 0; j < t->cols; j++)
        if (strcmp(t->col[j], name) == 0)
            return j;
    return -1;
}

const char *es_table_get(const es_table *t, int i, const char *name)
{
    int j = es_table_find(t, name);
    return j < 0 || i < 0 || i >= t->n ? NULL : t->cell[(size_t)i * t->cols + j];
}

/* A new empty row (every cell ""): its index, or -1. */
static int new_row(es_table *t)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cell, (size_t)cap * t->cols * sizeof *c);
        if (!c)
            return es_fail("out of memory");
        t->cell = c, t->cap = cap;
    }
    char **row = t->cell + (size_t)t->n * t->cols;
    for (int j = 0; j < t->cols; j++)
        if (!(row[j] = strdup(""))) {
            while (j--)
                free(row[j]);
            return es_fail("out of memory");
        }
    return t->n++;
}

int es_table_set(es_table *t, int i, const char *name, const char *value)
{
    int j = es_table_find(t, name);
    if (j < 0)
        return es_fail("no column %s", name);
    char *v = strdup(value ? value : "");
    if (!v)
        return es_fail("out of memory");
    free(t->cell[(size_t)i * t->cols + j]);
    t->cell[(size_t)i * t->cols + j] = v;
    return 0;
}

int es_table_add_row(es_table *t, const es_table *from, int i)
{
    int k = new_row(t);
    for (int j = 0; k >= 0 && j < from->cols; j++)
        if (es_table_find(t, from->col[j]) >= 0 &&
            es_table_set(t, k, from->col[j], from->cell[(size_t)i * from->cols + j]) != 0)
            return -1;
    return k;
}

int es_table_add(es_table *t) { return new_row(t); }

int es_table_read(es_table *t, const char *path)
{
    size_t len, at;
    memset(t, 0, sizeof *t);
    char *text = es_pl_slurp(path, &len, &at), *f[256];
    if (!text)
        return -1;
    es_pl_csv c = {text + at, text + len, 1};
    int nf, line, got, r = -1;
    if ((got = es_pl_csv_record(&c, f, 256, &nf, &line)) <= 0) {
        es_fail("%s: %s", path, got < 0 ? "a quoted field is never closed" : "empty file");
        goto done;
    }
    if (es_table_init(t, (const char *const *)f, nf) != 0)
        goto done;
    while ((got = es_pl_csv_record(&c, f, 256, &nf, &line)) > 0) {
        if (nf == 1 && !f[0][0])
            continue; /* a blank line */
        int k = new_row(t);
        for (int j = 0; k >= 0 && j < nf && j < t->cols; j++)
            if (es_table_set(t, k, t->col[j], f[j]) != 0)
                k = -1;
        if (k < 0)
            goto done;
    }
    if (got < 0) {
        es_fail("%s:%d: a quoted field is never closed", path, line);
        goto done;
    }
    r = 0;
done:
    free(text);
    if (r)
        es_table_free(t);
    return r;
}

/* RFC 4180: quoted when it holds a comma, a quote, a line break or blanks at either end. */
static void put_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    int q = strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
                                              s[n - 1] == '\t'));
    if (!q) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_row(FILE *f, char *const *cells, int n)
{
    for (int j = 0; j < n; j++) {
        if (j)
            fputc(',', f);
        put_field(f, cells[j]);
    }
    fputc('\n', f);
}

int es_table_write(const es_table *t, const char *path)
{
    es_atomic a;
    if (es_atomic_open(&a, path) != 0)
        return -1;
    put_row(a.f, t->col, t->cols);
    for (int i = 0; i < t->n; i++)
        put_row(a.f, t->cell + (size_t)i * t->cols, t->cols);
    return es_atomic_commit(&a);
}

static int by_col(const void *a, const void *b, void *ctx)
{
    const es_table *t = ctx;
    int i = *(const int *)a, k = *(const int *)b, j = t->sort_col;
    int c = strcmp(t->cell[(size_t)i * t->cols + j], t->cell[(size_t)k * t->cols + j]);
    return c ? c : (i > k) - (i < k);
}

int es_table_sort(es_table *t, const char *name, int *order)
{
    if (t->n == 0) /* an empty shard */
        return es_table_find(t, name) < 0 ? es_fail("no column %s", name) : 0;
    int j = es_table_find(t, name), *ord = malloc((t->n ? t->n : 1) * sizeof *ord);
    char **cells = malloc(((size_t)t->n * t->cols + 1) * sizeof *cells);
    if (j < 0 || !ord || !cells) {
        free(ord), free(cells);
        return j < 0 ? es_fail("no column %s", name) : es_fail("out of memory");
    }
    for (int i = 0; i < t->n; i++)
        ord[i] = i;
    t->sort_col = j;
    qsort_r(ord, t->n, sizeof *ord, by_col, t);
    for (int i = 0; i < t->n; i++)
        memcpy(cells + (size_t)i * t->cols, t->cell + (size_t)ord[i] * t->cols,
               t->cols * sizeof *cells);
    memcpy(t->cell, cells, (size_t)t->n * t->cols * sizeof *cells);
    if (order)
        memcpy(order, ord, t->n * sizeof *ord);
    free(ord), free(cells);
    return 0;
}
