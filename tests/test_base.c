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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_round_trip),
        cmocka_unit_test(npy_errors),
        cmocka_unit_test(atomic_abort_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
