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
        cmocka_unit_test(rng_is_splitmix64),
        cmocka_unit_test(mel_scales),
        cmocka_unit_test(error_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
