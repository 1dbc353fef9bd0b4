/* Model metadata: ONNX metadata_props as an ordered list of unique keys. */
#include "nn/onnx.h"
#include <stdlib.h>
#include <string.h>

struct es_meta {
    int n, cap;
    char **key, **value;
};

es_meta *es_meta_new(void) { return calloc(1, sizeof(es_meta)); }

void es_meta_free(es_meta *m)
{
    if (!m)
        return;
    for (int k = 0; k < m->n; k++) {
        free(m->key[k]);
        free(m->value[k]);
    }
    free(m->key);
    free(m->value);
    free(m);
}

static int find(const es_meta *m, const char *key)
{
    for (int k = 0; m && k < m->n; k++)
        if (strcmp(m->key[k], key) == 0)
            return k;
    return -1;
}

const char *es_meta_get(const es_meta *m, const char *key)
{
    int k = find(m, key);
    return k < 0 ? NULL : m->value[k];
}

int es_meta_set(es_meta *m, const char *key, const char *value)
{
    int k = find(m, key);
    if (!value) {
        if (k >= 0) {
            free(m->key[k]);
            free(m->value[k]);
            memmove(m->key + k, m->key + k + 1, (m->n - k - 1) * sizeof *m->key);
            memmove(m->value + k, m->value + k + 1, (m->n - k - 1) * sizeof *m->value);
            m->n--;
        }
        return 0;
    }
    char *v = strdup(value);
    if (!v)
        return es_fail("out of memory");
    if (k >= 0) {
        free(m->value[k]);
        m->value[k] = v;
        return 0;
    }
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        char **nk = realloc(m->key, cap * sizeof *nk);
        if (nk)
            m->key = nk;
        char **nv = nk ? realloc(m->value, cap * sizeof *nv) : NULL;
        if (!nv) {
            free(v);
            return es_fail("out of memory");
        }
        m->value = nv, m->cap = cap;
    }
    if (!(m->key[m->n] = strdup(key))) {
        free(v);
        return es_fail("out of memory");
    }
    m->value[m->n++] = v;
    return 0;
}

int es_meta_count(const es_meta *m) { return m ? m->n : 0; }
const char *es_meta_key(const es_meta *m, int i) { return m->key[i]; }
const char *es_meta_value(const es_meta *m, int i) { return m->value[i]; }
