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
#include <sys/wait.h>
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

/* ---- running the earsight binary from a test ---- */
/* A shell command line's exit status (-1 when it did not exit). */
static inline int run_status(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first n − 1 bytes of a (small) text file in buf, NUL-terminated; "" when unreadable. */
static inline void read_text(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = 0;
    if (f)
        fclose(f);
}

/* The CLI's error contract: one line on stderr, starting as given. */
static inline void assert_one_line(const char *err, const char *start)
{
    if (strncmp(err, start, strlen(start)) != 0 || strchr(err, '\n') != err + strlen(err) - 1)
        fail_msg("stderr '%s' should be one line starting '%s'", err, start);
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
