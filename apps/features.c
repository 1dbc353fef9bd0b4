/* earsight features IN [flags] [--config JSON|FILE] -o OUT.npy — the model's-ear view of a sound:
 * a float32 (n_mels × frames) matrix, or (n_mfcc × frames) with --mfcc N. */
#include "apps/cli.h"
#include "audio/es_audio.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char usage_features[] =
    "usage: earsight features IN [flags] [--config JSON|FILE] -o OUT.npy\n"
    "\n"
    "Reads any sound libsndfile reads (WAV, FLAC, OGG/Vorbis, …), averages its channels,\n"
    "resamples it to --sr (as torchaudio.functional.resample), and writes its features as a float32 .npy matrix\n"
    "(n_mels × frames, or n_mfcc × frames with --mfcc). Long files are streamed.\n"
    "Defaults are DESIGN.md §4: log-mel power in dB, 80 slaney bands, n_fft 1024, hop 315, 22.05 kHz;\n"
    "they match torchaudio MelSpectrogram + AmplitudeToDB(top_db) with the same settings.\n"
    "\n"
    "  -o, --output FILE   the .npy to write (required)\n"
    "  -j, --jobs N        threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --json              print {input, output, rows, frames, config} as JSON on stdout\n"
    "  -q, --quiet         print nothing on success\n"
    "feature flags (applied after --config and --kaldi, whatever their order):\n" ES_CONFIG_FLAGS_HELP;

typedef struct {
    const char *in, *out;
    int json, jobs;
} options;

/* Pass 1: the whole-configuration sources, so that later flags override them. */
static int base_config(int argc, char **argv, es_feature_config *c)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--kaldi") && es_config_flag(c, "--kaldi", NULL) < 0)
            return cli_usage("features", "%s", es_error());
        const char *v = !strcmp(argv[i], "--config") ? (i + 1 < argc ? argv[++i] : NULL)
                        : !strncmp(argv[i], "--config=", 9) ? argv[i] + 9 : "";
        if (!v)
            return cli_usage("features", "--config needs a JSON object or a file");
        if (*v && es_config_from_arg(c, v) != 0)
            return cli_usage("features", "%s", es_error());
    }
    return 0;
}

/* Pass 2: everything else. */
static int parse(int argc, char **argv, es_feature_config *c, options *o)
{
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (only_files || a[0] != '-' || !a[1]) {
            if (o->in)
                return cli_usage("features", "one input file only ('%s' and '%s')", o->in, a);
            o->in = a;
        } else if (!strcmp(a, "--")) {
            only_files = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(o->out = next))
                return cli_usage("features", "%s needs a file name", a);
            i++;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            if (!next || (o->jobs = atoi(next)) < 1)
                return cli_usage("features", "%s needs a positive number", a);
            i++;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
        } else if (!strcmp(a, "--kaldi") || !strncmp(a, "--config", 8)) {
            i += !strcmp(a, "--config"); /* done in pass 1 */
        } else {
            int used = es_config_flag(c, a, next);
            if (used < 0)
                return cli_usage("features", "%s", es_error());
            if (used == 0)
                return cli_usage("features", "unknown option '%s'", a);
            i += used == 2;
        }
    }
    if (!o->in)
        return cli_usage("features", "no input sound file");
    if (!o->out)
        return cli_usage("features", "no output file (-o OUT.npy)");
    return 0;
}

static void print_json(const options *o, const es_array *a, const es_feature_config *c)
{
    char *cj = es_config_to_json(c);
    printf("{\"input\": \"%s\", \"output\": \"%s\", \"rows\": %d, \"frames\": %d, \"config\": %s}\n",
           o->in, o->out, a->dims[0], a->dims[1], cj ? cj : "null");
    free(cj);
}

int cmd_features(int argc, char **argv)
{
    es_feature_config c;
    es_config_default(&c);
    options o = {0};
    int rc = base_config(argc, argv, &c);
    if (rc == 0)
        rc = parse(argc, argv, &c, &o);
    if (rc)
        return rc;
    if (o.jobs)
        omp_set_num_threads(o.jobs);
    es_features *f = es_features_new(&c);
    if (!f)
        return cli_usage("features", "%s", es_error());
    es_array a;
    rc = es_features_file(f, o.in, &a);
    es_features_free(f);
    if (rc != 0)
        return cli_lib_fail();
    if (es_npy_save(o.out, a.data, a.ndim, a.dims) != 0) {
        es_array_free(&a);
        return cli_lib_fail();
    }
    if (o.json)
        print_json(&o, &a, &c);
    es_array_free(&a);
    return 0;
}
