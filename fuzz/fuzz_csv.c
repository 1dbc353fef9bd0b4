/* Labels CSVs (train, eval): any bytes must read or fail with a message, never crash or leak;
 * a read dataset's labels lie among its classes. Read twice: with the CSV's own classes (its
 * folder as root) and with a model's fixed class list (a root that does not exist). */
#include "pipeline/es_pipeline.h"
#include "fuzz/fuzz.h"

static void check(const es_dataset *d)
{
    if (d->n < 0 || d->n_classes < 1 || d->merged < 0)
        abort();
    for (int i = 0; i < d->n; i++)
        if (d->label[i] < 0 || d->label[i] >= d->n_classes || !d->item[i] || !d->path[i])
            abort();
    free(es_dataset_classes_json(d));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static char *classes[] = {"nobird", "bird", "crow"};
    const char *path = fuzz_file(data, n, "csv");
    es_dataset d;
    if (es_dataset_read(&d, path, NULL) == 0) {
        check(&d);
        es_dataset_free(&d);
    } else if (!*es_error())
        abort(); /* a failure always says why */
    if (es_dataset_read_for(&d, path, "/nonexistent-es-fuzz", classes, 3) == 0) {
        check(&d);
        es_dataset_free(&d);
    } else if (!*es_error())
        abort();
    return 0;
}
