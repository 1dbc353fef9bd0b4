/* base: .npy round trip and errors, atomic files, error messages. */
#include "tests/testutil.h"
#include <sys/stat.h>
#include <unistd.h>

static void npy_round_trip(void **state)
{
    float x[6] = {1, -2, 3.5f, 0, 1e-8f, 7};
    int dims[2] = {2, 3};
    assert_int_equal(es_npy_save("build/t_base.npy", x, 2, dims), 0);
    es_array a = load_fixture("build/t_base.npy");
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.dims[0], 2);
    assert_int_equal(a.dims[1], 3);
    assert_memory_equal(a.data, x, sizeof x);
    es_array_free(&a);
    struct stat st; /* the mode a plain fopen would give, not mkstemp's 0600 */
    mode_t mask = umask(022);
    assert_int_equal(es_npy_save("build/t_base.npy", x, 2, dims), 0);
    umask(mask);
    assert_int_equal(stat("build/t_base.npy", &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    unlink("build/t_base.npy");
}

static void npy_errors(void **state)
{
    es_array a;
    FILE *f = fopen("build/t_bad.npy", "wb");
    fputs("\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'fortran_order'", f);
    fclose(f);
    assert_int_equal(es_npy_load("build/t_bad.npy", &a), -1);
    assert_non_null(strstr(es_error(), "build/t_bad.npy: "));
    assert_null(a.data);
    assert_int_equal(es_npy_load("build/does-not-exist.npy", &a), -1);
    assert_non_null(strstr(es_error(), "does-not-exist.npy"));
    /* header says 2x3 floats, the file holds 2 */
    float x[6] = {0};
    int dims[2] = {2, 3};
    es_npy_save("build/t_bad.npy", x, 2, dims);
    assert_int_equal(truncate("build/t_bad.npy", 128 + 8), 0);
    assert_int_equal(es_npy_load("build/t_bad.npy", &a), -1);
    assert_non_null(strstr(es_error(), "truncated"));
    unlink("build/t_bad.npy");
}

static void atomic_abort_leaves_nothing(void **state)
{
    es_atomic a;
    assert_int_equal(es_atomic_open(&a, "build/t_atomic.bin"), 0);
    fputs("half", a.f);
    es_atomic_abort(&a);
    struct stat st;
    assert_int_not_equal(stat("build/t_atomic.bin", &st), 0);
    assert_int_equal(es_atomic_open(&a, "no/such/dir/x.bin"), -1);
    assert_non_null(strstr(es_error(), "no/such/dir/x.bin: cannot write"));
}

/* Writes a .npy of `len` header bytes (padded) and `data_len` data bytes. */
static void write_npy(const char *path, const char *header, const void *data, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    size_t h = strlen(header);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)h, 0};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, h, f);
    fwrite(data, 1, data_len, f);
    fclose(f);
}

static void npy_hostile(void **state)
{
    es_array a;
    const char *p = "build/t_hostile.npy";
    /* a header ending right after descr's quote (read one byte past the header before) */
    write_npy(p, "{'shape': (1,), 'fortran_order': False, 'descr': '", "", 0);
    assert_int_equal(es_npy_load(p, &a), -1);
    assert_non_null(strstr(es_error(), "corrupt .npy header"));
    /* a small file whose shape asks for 16 GiB is refused before any allocation */
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", "abcd", 4);
    assert_int_equal(es_npy_load(p, &a), -1);
    assert_non_null(strstr(es_error(), "truncated"));
    write_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647), }", "", 0);
    assert_int_equal(es_npy_load(p, &a), -1);
    assert_non_null(strstr(es_error(), "shape too large"));
    /* NaN and infinities are refused, naming the file and where */
    float v[3] = {1, NAN, 2};
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v);
    assert_int_equal(es_npy_load(p, &a), -1);
    assert_non_null(strstr(es_error(), "build/t_hostile.npy: holds NaN at flat index 1"));
    assert_null(a.data);
    v[1] = 2, v[2] = -INFINITY;
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v);
    assert_int_equal(es_npy_load(p, &a), -1);
    assert_non_null(strstr(es_error(), "infinite value at flat index 2"));
    v[2] = 3;
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v);
    assert_int_equal(es_npy_load(p, &a), 0);
    assert_true(a.data[2] == 3);
    es_array_free(&a);
    unlink(p);
}

/* Outputs never replace a link, a device or a folder; temporaries of dead runs are removed. */
static void atomic_refuses_odd_outputs(void **state)
{
    es_atomic a;
    assert_int_equal(es_atomic_open(&a, "/dev/null"), -1);
    assert_non_null(strstr(es_error(), "/dev/null: not a regular file"));
    assert_int_equal(es_atomic_open(&a, "build"), -1);
    assert_non_null(strstr(es_error(), "build: is a folder"));
    FILE *f = fopen("build/t_target.txt", "w");
    fputs("keep", f);
    fclose(f);
    unlink("build/t_link.txt");
    assert_int_equal(symlink("t_target.txt", "build/t_link.txt"), 0);
    assert_int_equal(es_atomic_open(&a, "build/t_link.txt"), -1);
    assert_non_null(strstr(es_error(), "build/t_link.txt: is a symbolic link"));
    struct stat st;
    assert_int_equal(lstat("build/t_link.txt", &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(es_same_file("build/t_link.txt", "build/t_target.txt"));
    assert_false(es_same_file("build/t_target.txt", "build/nope.txt"));
    /* a stale temporary of a process that is gone (pid 2^22 - 1 is above pid_max's default),
     * and one of a live process (ours is skipped, pid 1 lives) */
    f = fopen("build/t_target.txt.tmp.4194303.abcdef", "w");
    fclose(f);
    f = fopen("build/t_target.txt.tmp.1.abcdef", "w");
    fclose(f);
    assert_int_equal(es_atomic_open(&a, "build/t_target.txt"), 0);
    assert_int_not_equal(stat("build/t_target.txt.tmp.4194303.abcdef", &st), 0);
    assert_int_equal(stat("build/t_target.txt.tmp.1.abcdef", &st), 0);
    /* es_atomic_cleanup (a signal handler's call) removes the open temporary */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", a.tmp);
    assert_int_equal(stat(tmp, &st), 0);
    es_atomic_cleanup();
    assert_int_not_equal(stat(tmp, &st), 0);
    es_atomic_abort(&a);
    unlink("build/t_target.txt.tmp.1.abcdef");
    unlink("build/t_link.txt");
    unlink("build/t_target.txt");
}

/* splitmix64's published sequence from seed 0; uniform, below and the normal fill drawn from it */
static void rng_is_splitmix64(void **state)
{
    es_rng r = {0};
    assert_true(es_rng_next(&r) == 0xE220A8397B1DCDAFull);
    assert_true(es_rng_next(&r) == 0x6E789E6AA1B965F4ull);
    assert_true(es_rng_next(&r) == 0x06C45D188009454Full);
    es_rng a = {42}, b = {42};
    for (int i = 0; i < 1000; i++) {
        double u = es_rng_uniform(&a);
        assert_true(u >= 0 && u < 1 && u == (es_rng_next(&b) >> 11) * 0x1p-53);
        int k = es_rng_below(&a, 7);
        assert_true(k >= 0 && k < 7 && k == (int)(es_rng_uniform(&b) * 7));
    }
    assert_int_equal(es_rng_below(&a, 0), 0);
    /* both Box–Muller variates kept, from mid-cell uniforms; an odd count drops the last sine */
    float z[3];
    es_rng n = {7}, m = {7};
    es_rng_normal(&n, z, 3);
    double v[2], w[2];
    double u1 = ((es_rng_next(&m) >> 11) + 0.5) * 0x1p-53, u2 = ((es_rng_next(&m) >> 11) + 0.5) * 0x1p-53;
    es_box_muller(u1, u2, v);
    assert_true(z[0] == (float)v[0] && z[1] == (float)v[1]);
    assert_float_equal(v[0], sqrt(-2 * log(u1)) * cos(2 * M_PI * u2), 0);
    u1 = ((es_rng_next(&m) >> 11) + 0.5) * 0x1p-53, u2 = ((es_rng_next(&m) >> 11) + 0.5) * 0x1p-53;
    es_box_muller(u1, u2, w);
    assert_true(z[2] == (float)w[0] && n.s == m.s);
    enum { N = 20000 };
    static float g[N];
    es_rng_normal(&n, g, N);
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++)
        mean += g[i] / N, var += (double)g[i] * g[i] / N;
    assert_float_equal(mean, 0, 0.03);
    assert_float_equal(var, 1, 0.05);
}

/* librosa's anchor points, and each scale inverts the other */
static void mel_scales(void **state)
{
    assert_float_equal(es_hz_to_mel(500, ES_MEL_SLANEY), 7.5, 1e-12);
    assert_float_equal(es_hz_to_mel(1000, ES_MEL_SLANEY), 15, 1e-12);
    assert_float_equal(es_hz_to_mel(6400, ES_MEL_SLANEY), 42, 1e-12);
    assert_float_equal(es_hz_to_mel(700, ES_MEL_HTK), 2595 * log10(2), 1e-12);
    for (double hz = 10; hz < 20000; hz *= 1.7) {
        assert_true(fabs(es_mel_to_hz(es_hz_to_mel(hz, ES_MEL_HTK), ES_MEL_HTK) - hz) < 1e-6 * hz);
        assert_true(fabs(es_mel_to_hz(es_hz_to_mel(hz, ES_MEL_SLANEY), ES_MEL_SLANEY) - hz) < 1e-6 * hz);
    }
}

/* a lower layer's reason, then where it happened in front of it */
static void error_prefix(void **state)
{
    es_fail("cannot decode frame %d", 3);
    assert_int_equal(es_error_prefix("%s", "clip.wav"), -1);
    assert_string_equal(es_error(), "clip.wav: cannot decode frame 3");
    assert_int_equal(es_error_prefix("%s: cannot read", "b%s.ogg"), -1);
    assert_string_equal(es_error(), "b%s.ogg: cannot read: clip.wav: cannot decode frame 3");
    char long_path[1000];
    memset(long_path, 'x', sizeof long_path - 1), long_path[sizeof long_path - 1] = 0;
    es_error_prefix("%s", long_path); /* truncated, never overrun */
    assert_true(strlen(es_error()) < 512 && es_error()[0] == 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_round_trip),
        cmocka_unit_test(npy_errors),
        cmocka_unit_test(atomic_abort_leaves_nothing),
        cmocka_unit_test(npy_hostile),
        cmocka_unit_test(atomic_refuses_odd_outputs),
        cmocka_unit_test(rng_is_splitmix64),
        cmocka_unit_test(mel_scales),
        cmocka_unit_test(error_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
