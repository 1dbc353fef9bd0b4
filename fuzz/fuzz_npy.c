/* .npy files: any bytes must load or fail with a message, never crash, leak or over-allocate. */
#include "base/es_base.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "npy");
    es_array a;
    if (es_npy_load(path, &a) == 0)
        es_array_free(&a);
    else if (!*es_error())
        abort(); /* a failure always says why */
    return 0;
}
