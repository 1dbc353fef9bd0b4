/* The verbs' option parser (apps/opt.c) on any argv: the input split at NUL and newline bytes
 * into at most MAX_ARGS arguments, parsed against a table with a row of every type, as the
 * verbs write them. The first byte picks the operand row: one operand (OPT_OPERAND, as in
 * features) or a list that a flag appends to as well (as in saliency). A parse that succeeds
 * must leave every value in its row's range. The parser's messages go to /dev/null. */
#include "apps/opt.h"
#include "audio/es_audio.h"
#include "fuzz/fuzz.h"
#include <math.h>

#define MAX_ARGS 64

static int snr_range(const opt *row, const char *v, char *why, size_t cap)
{
    double *r = row->dest;
    char extra;
    if (sscanf(v, "%lf:%lf%c", &r[0], &r[1], &extra) != 2 || !isfinite(r[0]) || !isfinite(r[1]) || r[1] < r[0])
        return snprintf(why, cap, "--snr needs LO:HI in dB, not '%s'", v), -1;
    return 0;
}

static const char *const optimizers[] = {"sgd-nesterov", "adam", "sgd", NULL};

typedef struct {
    const char *model, *out, *in, *label, *inputs[8];
    int n_inputs, quiet, json, mean, steps, optimizer, w, h, win[2];
    uint64_t seed;
    float keep, threshold, occ;
    double wd, split, snr[2];
    es_feature_config c;
} values;

static int parse(values *v, int list_operands, int argc, char **argv)
{
    static const opt_cmd cmd = {"fuzz", "usage: earsight fuzz [options] FILE", "Fuzzes the parser.\n"};
    const opt operand = list_operands ? (opt)OPT_APPEND(0, NULL, v->inputs, &v->n_inputs, "input", NULL)
                                      : (opt)OPT_OPERAND(&v->in, "input");
    const opt rows[] = {
        OPT_MODEL(&v->model), OPT_OUTPUT(&v->out, "the output"), OPT_JOBS, OPT_QUIET(&v->quiet),
        OPT_JSON(&v->json, "JSON on stdout"),
        OPT_APPEND('i', "input", v->inputs, &v->n_inputs, "FILE", "an input"),
        OPT_SET(0, "mean-inputs", &v->mean, 1, "one tile per filter"),
        OPT_SET(0, "per-input", &v->mean, 0, "one tile per filter and input channel"),
        OPT_HEADING("method options:"),
        OPT_INT('n', "steps", &v->steps, 1, 1000, "N", "steps (50)"),
        OPT_U64(0, "seed", &v->seed, 0, 9e18, "N", "seed (1)"),
        OPT_FLOAT(0, "keep", &v->keep, 0, 1, "F", "fraction kept (0.1)"),
        OPT_FLOAT(0, "threshold", &v->threshold, 0, INFINITY, "T", "threshold"),
        {OPT_T_FLOAT, 0, "occlusion-value", &v->occ, "V", "any value, nan too", -1e30, 1e30,
         .flags = OPT_NONFINITE},
        OPT_DOUBLE(0, "weight-decay", &v->wd, 0, INFINITY, "X", "weight decay (1e-4)"),
        {OPT_T_DOUBLE, 0, "val-split", &v->split, "F", "held out (0.2)", 0, 1,
         .flags = OPT_OPEN_LO | OPT_OPEN_HI},
        OPT_STRING('l', "label", &v->label, "NAME", "a class"),
        OPT_ENUM(0, "optimizer", &v->optimizer, optimizers, "O", "optimizer"),
        OPT_SIZE(0, "size", &v->w, &v->h, 1, 16384, "WxH", "picture size"),
        OPT_SIZE(0, "window", &v->win[0], &v->win[1], 1, 1e9, "HxW", "occlusion window"),
        {OPT_T_CALL, 0, "snr", v->snr, "LO:HI", "SNR range", .flags = OPT_EARLY, .fn = snr_range},
        OPT_HEADING("feature flags:"), OPT_FEATURES(&v->c), operand, OPT_END};
    return opt_parse_status(&cmd, rows, argc, argv);
}

/* What a successful parse promises: every value in its row's range. */
static void check(const values *v)
{
    if (v->steps < 1 || v->steps > 1000 || v->seed > 9000000000000000000u || !(v->keep >= 0 && v->keep <= 1) ||
        !(v->threshold >= 0) || !(v->wd >= 0) || !(v->split > 0 && v->split < 1) || v->optimizer < 0 ||
        v->optimizer > 2 || v->w < 1 || v->w > 16384 || v->h < 1 || v->h > 16384 || v->win[0] < 1 ||
        v->win[1] < 1 || !(v->snr[0] <= v->snr[1]) || v->n_inputs < 0 || v->n_inputs > 8 ||
        opt_jobs < 0 || opt_jobs > OPT_JOBS_MAX)
        abort();
    for (int i = 0; i < v->n_inputs; i++)
        if (!v->inputs[i])
            abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* libFuzzer and the sanitizers write to fd 2 through their own handles */
    FILE *null = fopen("/dev/null", "w");
    if (!null)
        abort();
    stdout = stderr = null;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n == 0)
        return 0;
    char *text = fuzz_text(data + 1, n - 1), *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "fuzz";
    for (char *s = text, *end = text + n - 1; s <= end && argc <= MAX_ARGS; s += strlen(s) + 1) {
        s[strcspn(s, "\n")] = 0; /* a newline ends an argument as a NUL does */
        argv[argc++] = s;
    }
    argv[argc] = NULL;
    values v = {.steps = 50, .seed = 1, .keep = 0.1f, .wd = 1e-4, .split = 0.2, .w = 1000, .h = 450,
                .win = {3, 3}, .snr = {-5, 15}};
    es_config_default(&v.c);
    int rc = parse(&v, data[0] & 1, argc, argv);
    if (rc == 0)
        check(&v);
    else if (rc != 1 && rc != 2 && rc != 3) /* 1: an output's folder is missing */
        abort();
    free(text);
    return 0;
}
