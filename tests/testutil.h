/* Shared by the cmocka test programs: includes, fixture paths, array comparisons. */
#ifndef ES_TESTUTIL_H
#define ES_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/es_base.h"
#include <unistd.h>

/* Tests run from the repository root (make test). */
#define FIXTURE(rel) ("tests/fixtures/" rel)

/* max |a-b| / max(max|b|, floor): the "relative to the map's maximum" error of the issues. */
static inline double rel_err_max(const float *a, const float *b, size_t n, double floor)
{
    double e = 0, m = floor;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > e || d != d)
            e = d;
        if (fabs(b[i]) > m)
            m = fabs(b[i]);
    }
    return e / m;
}

static inline double abs_err_max(const float *a, const float *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > e || d != d)
            e = d;
    }
    return e;
}

/* Loads a fixture array (NaN allowed: some fixtures probe it) or fails the test with the
 * library's message. */
static inline es_array load_fixture(const char *path)
{
    es_array a;
    if (es_npy_load_nonfinite(path, &a) != 0)
        fail_msg("%s", es_error());
    return a;
}

#define assert_close_rel(got, want, n, tol)                                               \
    do {                                                                                  \
        double e_ = rel_err_max((got), (want), (n), 1e-30);                               \
        if (!(e_ <= (tol)))                                                               \
            fail_msg("%s vs %s: relative error %.3g > %.3g", #got, #want, e_, (double)(tol)); \
    } while (0)

/* A scratch folder for a test program: tmp_setup("NAME") makes /tmp/es_test_NAME_XXXXXX,
 * tmp_path("file") names a file in it (four names live at once), tmp_teardown() removes it. */
static inline char *tmp_dir(void)
{
    static char dir[64];
    return dir;
}

static inline int tmp_setup(const char *name)
{
    snprintf(tmp_dir(), 64, "/tmp/es_test_%s_XXXXXX", name);
    return mkdtemp(tmp_dir()) ? 0 : -1;
}

static inline int tmp_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir());
    return system(cmd) == 0 ? 0 : -1;
}

static inline const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir(), name);
    return buf[k];
}

#endif
