/* earsight features IN [flags] [--config JSON|FILE] -o OUT.npy — the model's-ear view of a sound:
 * a float32 (n_mels × frames) matrix, or (n_mfcc × frames) with --mfcc N. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "audio/es_audio.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "features", "usage: earsight features IN [flags] [--config JSON|FILE] -o OUT.npy",
    "Reads any sound libsndfile reads (WAV, FLAC, OGG/Vorbis, …), averages its channels,\n"
    "resamples it to --sr (as torchaudio.functional.resample), and writes its features as a float32 .npy matrix\n"
    "(n_mels × frames, or n_mfcc × frames with --mfcc). Long files are streamed.\n"
    "Defaults: log-mel power in dB, 80 slaney bands, n_fft 1024, hop 315, 22.05 kHz;\n"
    "they match torchaudio MelSpectrogram + AmplitudeToDB(top_db) with the same settings.\n"};

typedef struct {
    const char *in, *out;
    int json, quiet;
} options;

static int config_arg(const opt *row, const char *value, char *why, size_t cap)
{
    if (es_config_from_arg(row->dest, value) == 0)
        return 0;
    return snprintf(why, cap, "%s", es_error()), -1;
}

static int parse(int argc, char **argv, es_feature_config *c, options *o)
{
    const opt rows[] = {
        OPT_OUTPUT(&o->out, "the .npy to write (required)"), OPT_JOBS,
        OPT_JSON(&o->json, "print {input, output, rows, frames, config} as JSON on stdout"),
        OPT_QUIET(&o->quiet),
        {OPT_T_CALL, 0, "config", c, "JSON|FILE", "a whole configuration: JSON whose keys are the flags below\n(n_fft, hop_length, …; README \"Feature configuration\")",
         .flags = OPT_EARLY, .fn = config_arg},
        OPT_HEADING("feature flags (applied after --config and --kaldi, whatever their order):"),
        OPT_FEATURES(c), OPT_OPERAND(&o->in, "input"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
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
    int rc = parse(argc, argv, &c, &o);
    if (rc)
        return rc;
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
