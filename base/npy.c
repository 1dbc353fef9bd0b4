/* NumPy .npy reader/writer (format 1.0–3.0). Reads any plain numeric dtype into float32. */
#include "base/es_base.h"
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t es_array_size(const es_array *a)
{
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= (size_t)a->dims[i];
    return n;
}

void es_array_free(es_array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Finds 'key': in the header dict and returns a pointer just after the colon. */
static const char *dict_value(const char *hdr, const char *key)
{
    const char *p = strstr(hdr, key);
    if (!p)
        return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p)
        return NULL;
    for (p++; *p == ' '; p++)
        ;
    return p;
}

static int parse_shape(const char *p, es_array *out)
{
    if (*p++ != '(')
        return -1;
    out->ndim = 0;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            return 0;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX || out->ndim == ES_MAX_DIMS)
            return -1;
        out->dims[out->ndim++] = (int)v;
        p = end;
        if (*p == 'L')
            p++;
    }
}

/* Converts n little/big-endian elements of kind ('f','i','u','b') and size to float. */
static int convert(const unsigned char *src, size_t n, char kind, int size, int swap, float *dst)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b[8];
        for (int k = 0; k < size; k++)
            b[k] = src[i * size + (swap ? size - 1 - k : k)];
        double v;
        if (kind == 'f' && size == 4) { float f; memcpy(&f, b, 4); v = f; }
        else if (kind == 'f' && size == 8) { memcpy(&v, b, 8); }
        else if (kind == 'i' && size == 1) { v = (int8_t)b[0]; }
        else if (kind == 'i' && size == 2) { int16_t t; memcpy(&t, b, 2); v = t; }
        else if (kind == 'i' && size == 4) { int32_t t; memcpy(&t, b, 4); v = t; }
        else if (kind == 'i' && size == 8) { int64_t t; memcpy(&t, b, 8); v = (double)t; }
        else if ((kind == 'u' || kind == 'b') && size == 1) { v = b[0]; }
        else if (kind == 'u' && size == 2) { uint16_t t; memcpy(&t, b, 2); v = t; }
        else if (kind == 'u' && size == 4) { uint32_t t; memcpy(&t, b, 4); v = t; }
        else return -1;
        dst[i] = (float)v;
    }
    return 0;
}

static int npy_load(const char *path, es_array *out, int finite)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return es_fail("%s: %s", path, strerror(errno));
    unsigned char pre[12];
    char *hdr = NULL;
    unsigned char *raw = NULL;
    const char *why = "not a .npy file";
    char bad[96];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        goto fail;
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2)
            goto fail;
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    why = "corrupt .npy header";
    if (hlen > (1u << 20) || !(hdr = calloc(hlen + 1, 1)) || fread(hdr, 1, hlen, f) != hlen)
        goto fail;
    const char *d = dict_value(hdr, "'descr'"), *fo = dict_value(hdr, "'fortran_order'");
    const char *sh = dict_value(hdr, "'shape'");
    if (!d || !fo || !sh || d[0] != '\'' || parse_shape(sh, out) != 0)
        goto fail;
    if (strncmp(fo, "True", 4) == 0) {
        why = "Fortran-order arrays are not supported (save with C order)";
        goto fail;
    }
    if (strlen(d) < 4) /* '<f4' needs three characters after the quote */
        goto fail;
    char order = d[1], kind = d[2];
    int size = atoi(d + 3);
    int swap = order == '>' && size > 1;
    why = "unsupported dtype (want float, int, uint or bool)";
    if (!strchr("<>|=", order) || !strchr("fiub", kind) || size < 1 || size > 8)
        goto fail;
    /* the shape is checked against the bytes the file holds before anything is allocated:
     * a small file must not be able to ask for gigabytes */
    size_t n = 1;
    for (int i = 0; i < out->ndim; i++)
        if (out->dims[i] && n > SIZE_MAX / 8 / (size_t)out->dims[i]) {
            why = "shape too large";
            goto fail;
        } else {
            n *= (size_t)out->dims[i];
        }
    long at = ftell(f);
    struct stat st;
    why = "file is truncated";
    if (at >= 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)(st.st_size - at) < n * (uint64_t)size)
        goto fail;
    why = "out of memory";
    if (!(out->data = malloc((n ? n : 1) * sizeof(float))) || !(raw = malloc(n * size + 1)))
        goto fail;
    why = "file is truncated";
    if (fread(raw, (size_t)size, n, f) != n)
        goto fail;
    why = "unsupported dtype (want float, int, uint or bool)";
    if (convert(raw, n, kind, size, swap, out->data) != 0)
        goto fail;
    for (size_t i = 0; finite && i < n; i++)
        if (!isfinite(out->data[i])) {
            snprintf(bad, sizeof bad, "holds %s at flat index %zu (only finite values are accepted)",
                     isnan(out->data[i]) ? "NaN" : "an infinite value", i);
            why = bad;
            goto fail;
        }
    free(raw);
    free(hdr);
    fclose(f);
    return 0;
fail:
    free(raw);
    free(hdr);
    fclose(f);
    es_array_free(out);
    return es_fail("%s: %s", path, why);
}

int es_npy_load(const char *path, es_array *out) { return npy_load(path, out, 1); }

int es_npy_load_nonfinite(const char *path, es_array *out) { return npy_load(path, out, 0); }

int es_npy_save(const char *path, const float *data, int ndim, const int *dims)
{
    char shape[256] = "", hdr[384];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        size_t len = strlen(shape);
        snprintf(shape + len, sizeof shape - len, "%d,%s", dims[i], ndim > 1 && i < ndim - 1 ? " " : "");
        n *= (size_t)dims[i];
    }
    if (ndim > 1) /* Python writes (3,) for one dim and (3, 4) for more */
        shape[strlen(shape) - 1] = '\0';
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
    int total = (10 + len + 1 + 63) / 64 * 64; /* header padded with spaces, ends in \n */
    memset(hdr + len, ' ', total - 10 - len);
    hdr[total - 10 - 1] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    pre[8] = (unsigned char)((total - 10) & 0xff);
    pre[9] = (unsigned char)((total - 10) >> 8);
    es_atomic a;
    if (es_atomic_open(&a, path) != 0)
        return -1;
    fwrite(pre, 1, 10, a.f);
    fwrite(hdr, 1, total - 10, a.f);
    fwrite(data, sizeof(float), n, a.f); /* x86/ARM: little-endian already */
    return es_atomic_commit(&a);
}
