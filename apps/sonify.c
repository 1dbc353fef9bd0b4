/* earsight sonify -m MODEL --input SOUND --keep F -o OUT.wav — "listen to what the network
 * heard": the salient time-frequency bins of the sound, resynthesised with its own phase. */
#include "apps/cli.h"
#include "apps/progress.h"
#include "apps/opt.h"
#include "apps/saliency.h"
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "sonify",
    "usage: earsight sonify [-m MODEL] --input SOUND (--keep F | --threshold T) [--invert]\n"
    "                       [--method M | --saliency S.npy] [options] -o OUT.wav",
    "Computes a saliency map of the sound (mels × frames; or takes one from `earsight saliency`),\n"
    "maps it back to STFT bins through the mel filter bank (each bin: the filter-weighted mean\n"
    "of the mel rows touching it), keeps the most salient bins, and resynthesises them with\n"
    "the sound's own phase by inverse STFT. The WAV has the input's rate and length (mono).\n"};

typedef struct {
    sal_args a;
    const char *model, *input, *out, *sal;
    float keep, threshold;
    int invert, json, quiet, keep_given, thr_given;
} options;

static int parse(int argc, char **argv, options *o)
{
    const opt rows[] = {
        OPT_MODEL_AS(&o->model, "FILE", "ONNX model with earsight.features (default: the shipped bird detector)"),
        OPT_INPUT(&o->input, "the sound"),
        OPT_FLOAT(0, "keep", &o->keep, 0, 1, "F", "keep the top fraction F in [0, 1] of the bins by saliency (0.1)"),
        OPT_FLOAT(0, "threshold", &o->threshold, 0, INFINITY, "T", "instead: keep bins whose saliency >= T · max|map|"),
        OPT_SWITCH(0, "invert", &o->invert, "keep the rest instead (what the network did not use)"),
        OPT_INFILE(0, "saliency", &o->sal, "S.npy", "use this (mels × frames) map instead of computing one"),
        OPT_OUTPUT(&o->out, "the WAV to write (written whole or not at all)"),
        OPT_JSON(&o->json, "{input, output, method, target, kept, sample_rate, samples}"),
        OPT_JOBS, OPT_QUIET(&o->quiet),
        OPT_SALIENCY(&o->a), OPT_OPERAND(&o->input, "input"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    o->keep_given = opt_given("keep"), o->thr_given = opt_given("threshold");
    if (!o->input)
        return cli_usage("sonify", "no input sound (--input SOUND)");
    if (!es_is_sound(o->input))
        return cli_usage("sonify", "the input must be a sound, not a .npy");
    if (!o->out)
        return cli_usage("sonify", "no output file (-o OUT.wav)");
    if (o->keep_given && o->thr_given)
        return cli_usage("sonify", "give --keep or --threshold, not both");
    if (!o->a.method)
        o->a.method = "gradcam";
    if (es_sal_method_find(o->a.method) < 0)
        return cli_usage("sonify", "unknown method '%s'", o->a.method);
    return 0;
}

/* The (mels × frames) map at the model's rate, from --saliency or computed. */
static int get_map(options *o, es_clip *in, es_array *map, int *target)
{
    *target = -1;
    if (o->sal) {
        if (es_npy_load(o->sal, map) != 0)
            return cli_lib_fail();
        if (map->ndim != 2 || map->dims[0] != in->bands || map->dims[1] != in->frames)
            return cli_fail("%s: the map must be (%d mels × %d frames), as `earsight saliency` "
                            "writes it for this sound", o->sal, in->bands, in->frames);
        return 0;
    }
    int rc = sal_resolve(&o->a, in, "sonify");
    if (rc)
        return rc;
    map->ndim = 2, map->dims[0] = in->bands, map->dims[1] = in->frames;
    if (!(map->data = malloc(es_array_size(map) * sizeof(float))))
        return cli_fail("out of memory");
    es_sal_info info;
    progress bar;
    progress_start(&bar, "sonify", "windows", in->x.dims[0], o->quiet);
    progress_watch(&bar, in);
    int bad = es_clip_saliency(in, &o->a.o, map->data, &info) != 0;
    progress_end(&bar);
    in->each = NULL;
    if (bad)
        return progress_fail();
    *target = info.target;
    return 0;
}

int cmd_sonify(int argc, char **argv)
{
    options o = {.keep = 0.1f};
    sal_args_init(&o.a);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    es_clip in;
    es_array map = {0};
    float *x = NULL, *y = NULL;
    long n = 0;
    int rate = 0, target = -1;
    double kept = 0;
    if (es_clip_load(&in, o.model, &opt_model, o.input, o.a.hop_frames) != 0)
        return cli_lib_fail();
    if (es_model_resynth_fits(&in.m) != 0) {
        rc = cli_lib_fail();
        goto done;
    }
    if ((rc = get_map(&o, &in, &map, &target)) != 0)
        goto done;
    rc = 1;
    if (es_audio_load(o.input, 0, &x, &n, &rate) != 0) {
        cli_lib_fail();
        goto done;
    }
    if (!(y = malloc(n * sizeof *y))) {
        cli_fail("out of memory");
        goto done;
    }
    if (es_resynth(&in.cfg, map.data, map.dims[0], map.dims[1], x, n, rate, o.thr_given ? -1 : o.keep,
                    o.threshold, o.invert, y, &kept, o.input) != 0 ||
        es_audio_save(o.out, y, n, rate) != 0) {
        cli_lib_fail();
        goto done;
    }
    if (o.json)
        printf("{\"input\": \"%s\", \"output\": \"%s\", \"method\": \"%s\", \"target\": %d, "
               "\"kept\": %.6g, \"sample_rate\": %d, \"samples\": %ld}\n",
               o.input, o.out, o.sal ? "file" : es_sal_method_name(o.a.o.method), target, kept, rate, n);
    rc = 0;
done:
    es_clip_free(&in);
    sal_args_free(&o.a);
    es_array_free(&map);
    free(x), free(y);
    return rc;
}
