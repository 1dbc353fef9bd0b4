/* earsight annotate -m MODEL --features JSON|FILE --labels a,b -o NEW.onnx — the metadata that
 * lets a model exported elsewhere take sounds and name its classes. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include "audio/es_audio.h"
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "annotate", "usage: earsight annotate -m MODEL [--features JSON|FILE] [--labels a,b,…] -o NEW.onnx",
    "Writes a copy of MODEL (exported by PyTorch or anything else) with earsight's metadata set\n"
    "in its metadata_props; the graph and weights are copied unchanged. -o may name MODEL.\n"};

/* "a,b,c" or a JSON array → a JSON array of strings (malloc'd). */
static char *labels_json(const char *arg, int *count)
{
    cJSON *arr = NULL;
    if (arg[0] == '[') {
        arr = cJSON_Parse(arg);
        int ok = cJSON_IsArray(arr);
        for (int i = 0; ok && i < cJSON_GetArraySize(arr); i++)
            ok = cJSON_IsString(cJSON_GetArrayItem(arr, i));
        if (!ok) {
            cJSON_Delete(arr);
            es_fail("--labels: not a JSON array of strings");
            return NULL;
        }
    } else {
        arr = cJSON_CreateArray();
        const char *p = arg;
        for (;;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            char *s = strndup(p, n);
            if (!s || !*s) {
                free(s);
                cJSON_Delete(arr);
                es_fail("--labels: an empty name in '%s'", arg);
                return NULL;
            }
            cJSON_AddItemToArray(arr, cJSON_CreateString(s));
            free(s);
            if (!e)
                break;
            p = e + 1;
        }
    }
    *count = cJSON_GetArraySize(arr);
    char *out = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!out)
        es_fail("out of memory");
    return out;
}

static char *features_json(const char *arg)
{
    es_feature_config c;
    es_config_default(&c);
    if (es_config_from_arg(&c, arg) != 0 || es_config_validate(&c) != 0)
        return NULL;
    return es_config_to_json(&c);
}

/* The model must load (an annotation earsight cannot use helps no one), and the labels must
 * name every value of one output row. */
static int check_model(const char *path, int n_labels)
{
    es_model m;
    if (es_model_load(&m, path, &opt_model) != 0)
        return -1;
    int d[ES_MAX_DIMS], nd = es_tensor_shape(m.g, m.output, d);
    size_t per_row = es_tensor_size(m.g, m.output) / (nd > 1 ? (size_t)d[0] : 1);
    int r = 0;
    if (n_labels && (size_t)n_labels != per_row)
        r = es_fail("%s: %d labels for an output of %zu values", path, n_labels, per_row);
    es_model_free(&m);
    return r;
}

int cmd_annotate(int argc, char **argv)
{
    const char *model = NULL, *feat = NULL, *labels = NULL, *out = NULL;
    int quiet = 0;
    const opt rows[] = {
        /* not an input row: -o may name the model itself (edited in place: it is read whole
         * before the new one is renamed over it) */
        OPT_STRING('m', "model", &model, "FILE", "the ONNX model to annotate"),
        OPT_INFILE(0, "features", &feat, "JSON|FILE",
                   "the feature pipeline (keys: `earsight help features`) as inline JSON or a JSON file;\n"
                   "stored complete (absent keys take their defaults) as earsight.features"),
        OPT_STRING(0, "labels", &labels, "LIST",
                   "class names, comma-separated (a,b,c) or a JSON array; one per\n"
                   "output value; stored as earsight.labels"),
        OPT_OUTPUT(&out, "the annotated model to write (required)"), OPT_QUIET(&quiet), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!model)
        return cli_usage("annotate", "no model (-m MODEL)");
    if (!out)
        return cli_usage("annotate", "no output (-o NEW.onnx)");
    if (!feat && !labels)
        return cli_usage("annotate", "nothing to attach (--features and/or --labels)");
    char *fj = NULL, *lj = NULL;
    int n_labels = 0, r = 1;
    es_meta *meta = es_meta_new();
    if (!meta)
        return cli_fail("out of memory");
    if (feat && !(fj = features_json(feat))) {
        r = cli_usage("annotate", "--features: %s", es_error());
        goto done;
    }
    if (labels && !(lj = labels_json(labels, &n_labels))) {
        r = cli_usage("annotate", "%s", es_error());
        goto done;
    }
    if (check_model(model, n_labels) != 0 || (fj && es_meta_set(meta, ES_META_FEATURES, fj) != 0) ||
        (lj && es_meta_set(meta, ES_META_LABELS, lj) != 0) || es_onnx_annotate(model, meta, out) != 0) {
        cli_lib_fail();
        goto done;
    }
    if (!quiet)
        printf("%s: %s%s%s\n", out, fj ? "features" : "", fj && lj ? " and " : "",
               lj ? "labels" : "");
    r = 0;
done:
    free(fj);
    free(lj);
    es_meta_free(meta);
    return r;
}
