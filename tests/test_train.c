/* earsight train / eval end to end on a small synthetic set (tone bursts in noise against noise
 * with a low hum): the validation AUC, determinism, the CSV errors; and es_roc_auc itself. */
#include "testutil.h"
#include "audio/es_audio.h"
#include "nn/es_nn.h"
#include "nn/onnx.h"
#include <omp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char earsight[512]; /* B/earsight, beside this test's folder */
static char dir[512];      /* B/t_train: the synthetic set */

#define FEATURES "'{\"sample_rate\":8000,\"n_fft\":256,\"hop_length\":128,\"n_mels\":16,\"f_min\":50," \
                 "\"frames\":16,\"layout\":\"frames_mels\",\"standardize\":\"global\"}'"

static uint64_t rng = 88172645463325252ull;
static double uni(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (rng >> 11) * (1.0 / 9007199254740992.0);
}

/* 24 files a class, 0.4-0.9 s at 8 kHz: class 1 has a 1.5-2.5 kHz tone burst, class 0 a
 * 200-400 Hz hum; both in white noise of random level. */
static void make_set(void)
{
    char path[700];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *csv = fopen(path, "w");
    assert_non_null(csv);
    fprintf(csv, "itemid,hasbird\n");
    for (int i = 0; i < 48; i++) {
        int pos = i % 2;
        long n = (long)(8000 * (0.4 + 0.5 * uni()));
        float *x = malloc(n * sizeof *x);
        double f = pos ? 1500 + 1000 * uni() : 200 + 200 * uni(), noise = 0.05 + 0.2 * uni();
        long b0 = (long)(uni() * n / 2), b1 = b0 + n / 3;
        for (long t = 0; t < n; t++) {
            double s = (2 * uni() - 1) * noise;
            if (!pos || (t >= b0 && t < b1))
                s += 0.3 * sin(2 * M_PI * f * t / 8000.0);
            x[t] = (float)s;
        }
        snprintf(path, sizeof path, "%s/clip%02d.wav", dir, i);
        assert_int_equal(es_audio_save(path, x, n, 8000), 0);
        free(x);
        fprintf(csv, "clip%02d,%d\n", i, pos);
    }
    fclose(csv);
}

/* Runs `earsight ARGS`; exit status, stdout and stderr in out/err (may be NULL). */
static int run(const char *args, char *out, size_t on, char *err, size_t en)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s >%s/out.txt 2>%s/err.txt", earsight, args,
             dir, dir);
    int st = system(cmd);
    const char *names[2] = {"out.txt", "err.txt"};
    char *bufs[2] = {out, err};
    size_t ns[2] = {on, en};
    for (int k = 0; k < 2; k++) {
        if (!bufs[k])
            continue;
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        FILE *f = fopen(p, "r");
        size_t got = f ? fread(bufs[k], 1, ns[k] - 1, f) : 0;
        bufs[k][got] = 0;
        if (f)
            fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void train_separable(void **state)
{
    char args[4096], out[4096], err[8192];
    double t0 = omp_get_wtime();
    snprintf(args, sizeof args,
             "train --data %s/labels.csv --arch small-cnn --features " FEATURES
             " --epochs 6 --batch 16 --steps 6 --lr 0.003 --val-split 0.25 --seed 3 -q"
             " --val-csv %s/val.csv -o %s/a.onnx", dir, dir, dir);
    if (run(args, out, sizeof out, err, sizeof err) != 0)
        fail_msg("train failed: %s", err);
    double secs = omp_get_wtime() - t0;
    /* the reported AUC is the kept model's; eval on the held-out rows must agree */
    snprintf(args, sizeof args, "eval -m %s/a.onnx --data %s/val.csv --root %s --json --png %s/roc.png",
             dir, dir, dir, dir);
    if (run(args, out, sizeof out, err, sizeof err) != 0)
        fail_msg("eval failed: %s", err);
    const char *a = strstr(out, "\"auc\":");
    assert_non_null(a);
    double auc = atof(a + 6);
    print_message("synthetic set: validation AUC %.4f, training %.1f s\n", auc, secs);
    assert_true(auc >= 0.99);
    assert_true(secs < 60);
    char png[700];
    snprintf(png, sizeof png, "%s/roc.png", dir);
    assert_true(exists(png));
}

static void train_is_deterministic(void **state)
{
    char args[4096], err[4096];
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args,
                 "train --data %s/labels.csv --arch small-cnn --features " FEATURES
                 " --epochs 2 --batch 8 --steps 3 --seed 5 --precise-bn 2 --lr-end 1e-5 -q"
                 " -o %s/d%d.onnx", dir, dir, k);
        if (run(args, NULL, 0, err, sizeof err) != 0)
            fail_msg("train failed: %s", err);
    }
    snprintf(args, sizeof args, "cmp -s %s/d0.onnx %s/d1.onnx", dir, dir);
    assert_int_equal(system(args), 0);
}

/* The model's metadata value for key (static buffer; "" when absent). */
static const char *meta_of(const char *model, const char *key)
{
    static char v[2048];
    es_meta *m = NULL;
    int nd, dims[8];
    assert_int_equal(es_onnx_peek(model, &m, &nd, dims), 0);
    const char *s = es_meta_get(m, key);
    snprintf(v, sizeof v, "%s", s ? s : "");
    es_meta_free(m);
    return v;
}

/* A hasbird detector says its files' verdict is their most confident window (max); --aggregate
 * mean overrides; the augmentation that made it is in earsight.training. */
static void train_writes_aggregate(void **state)
{
    char args[4096], err[4096], model[700];
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args,
                 "train --data %s/labels.csv --arch small-cnn --features " FEATURES
                 " --epochs 1 --batch 8 --steps 2 --seed 5 %s --synth 0.5 -o %s/g%d.onnx", dir,
                 k ? "--aggregate mean" : "", dir, k);
        if (run(args, NULL, 0, err, sizeof err) != 0)
            fail_msg("train failed: %s", err);
        snprintf(model, sizeof model, "%s/g%d.onnx", dir, k);
        assert_string_equal(meta_of(model, ES_META_AGGREGATE), k ? "mean" : "max");
        assert_non_null(strstr(err, "| synthetic P ")); /* the probes' worst P, each epoch, */
        assert_non_null(strstr(err, " dBFS)"));           /* and which probe has it */
    }
    assert_non_null(strstr(meta_of(model, "earsight.training"), "\"synth\":0.5,"));
    snprintf(args, sizeof args, "train --data %s/labels.csv --aggregate median -o %s/x.onnx", dir, dir);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 2);
    snprintf(args, sizeof args, "train --data %s/labels.csv --floor-db -50:-90 -o %s/x.onnx", dir, dir);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 2);
    assert_one_line(err, "earsight: --floor-db needs LO:HI in dB, not '-50:-90'");
}

/* Tensor `name` of model file `path` (n floats, malloc'ed). */
static float *tensor_of(const char *path, const char *name, size_t *n)
{
    es_graph *g = NULL;
    assert_int_equal(es_onnx_load(path, &g, NULL), 0);
    int t = es_tensor_find(g, name);
    assert_true(t >= 0);
    *n = es_tensor_size(g, t);
    float *v = malloc(*n * sizeof *v);
    memcpy(v, es_tensor_data(g, t), *n * sizeof *v);
    es_graph_free(g);
    return v;
}

/* --precise-bn N recomputes the running statistics from batches of their own draw: the weights
 * are those of the same run without it, the statistics are not. --lr-end X lowers the learning
 * rate over the run: other weights; equal to --lr, the same weights as a constant rate. Both
 * are written into earsight.training. (No held-out files: the last epoch is kept.) */
static void train_precise_bn_and_lr_end(void **state)
{
    const char *extra[4] = {"", "--precise-bn 3", "--lr-end 0", "--lr-end 0.001"};
    char args[4096], err[4096], model[4][700];
    for (int k = 0; k < 4; k++) {
        snprintf(model[k], sizeof model[k], "%s/p%d.onnx", dir, k);
        snprintf(args, sizeof args,
                 "train --data %s/labels.csv --arch small-cnn --features " FEATURES
                 " --epochs 2 --batch 8 --steps 3 --seed 5 --lr 0.001 --val-split 0 -q %s -o %s",
                 dir, extra[k], model[k]);
        if (run(args, NULL, 0, err, sizeof err) != 0)
            fail_msg("train %s failed: %s", extra[k], err);
    }
    size_t n[4], m[2];
    float *w[4], *mean[2];
    for (int k = 0; k < 4; k++)
        w[k] = tensor_of(model[k], "conv1.weight", &n[k]);
    for (int k = 0; k < 2; k++)
        mean[k] = tensor_of(model[k], "bn1.running_mean", &m[k]);
    assert_memory_equal(w[0], w[1], n[0] * sizeof *w[0]);
    assert_memory_not_equal(mean[0], mean[1], m[0] * sizeof *mean[0]);
    assert_memory_not_equal(w[0], w[2], n[0] * sizeof *w[0]);
    assert_memory_equal(w[0], w[3], n[0] * sizeof *w[0]);
    for (int k = 0; k < 4; k++)
        free(w[k]);
    free(mean[0]), free(mean[1]);
    assert_non_null(strstr(meta_of(model[1], "earsight.training"), "\"precise_bn\":3,"));
    assert_non_null(strstr(meta_of(model[2], "earsight.training"), "\"lr\":0.001,\"lr_end\":0,"));
    assert_non_null(strstr(meta_of(model[0], "earsight.training"), "\"lr_end\":0.001,\"precise_bn\":0,"));
}

/* --arch INIT.onnx fine-tunes that model from its weights (a learning rate of 1e-9 leaves
 * them where they were); --frozen-stats keeps batch norm on its running statistics: they
 * are the initial model's to the bit while the weights move. earsight.training says so;
 * --frozen-stats contradicts --precise-bn (exit 2). */
static void train_fine_tunes(void **state)
{
    const char *extra[3] = {"--lr 0.003", "--lr 0.003 --frozen-stats", "--lr 1e-9"};
    char args[4096], err[4096], model[3][700], init[700];
    snprintf(init, sizeof init, "%s/f.onnx", dir);
    for (int k = -1; k < 3; k++) {
        if (k >= 0)
            snprintf(model[k], sizeof model[k], "%s/f%d.onnx", dir, k);
        snprintf(args, sizeof args,
                 "train --data %s/labels.csv --arch %s --features " FEATURES
                 " --epochs 2 --batch 8 --steps 3 --seed 5 --val-split 0 -q %s -o %s",
                 dir, k < 0 ? "small-cnn" : init, k < 0 ? "--lr 0.003" : extra[k],
                 k < 0 ? init : model[k]);
        if (run(args, NULL, 0, err, sizeof err) != 0)
            fail_msg("train failed: %s", err);
    }
    const char *names[] = {"bn1.running_mean", "bn1.running_var", "conv1.weight"};
    for (int j = 0; j < 3; j++) {
        size_t n0, n[3];
        float *a = tensor_of(init, names[j], &n0), *b[3];
        for (int k = 0; k < 3; k++) {
            b[k] = tensor_of(model[k], names[j], &n[k]);
            assert_int_equal(n[k], n0);
        }
        if (j < 2) { /* the statistics: moved by training, not when frozen */
            assert_memory_not_equal(a, b[0], n0 * sizeof *a);
            assert_memory_equal(a, b[1], n0 * sizeof *a);
        } else {
            assert_memory_not_equal(a, b[1], n0 * sizeof *a);
        }
        for (size_t i = 0; j == 2 && i < n0; i++) /* the weights: from the model's own */
            assert_float_equal(b[2][i], a[i], 1e-5);
        free(a);
        for (int k = 0; k < 3; k++)
            free(b[k]);
    }
    assert_non_null(strstr(meta_of(model[1], "earsight.training"), "\"frozen_stats\":true}"));
    snprintf(args, sizeof args, "train --data %s/labels.csv --frozen-stats --precise-bn 2 -o %s/x.onnx",
             dir, dir);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 2);
    assert_one_line(err, "earsight: --frozen-stats keeps the running statistics; --precise-bn remakes them (see `earsight help train`)");
}

/* With CSV file p holding csv, the command in args fails (exit 1) with one line
 * "earsight: P<what>", left in want for further checks. */
static void csv_fails(const char *p, const char *csv, const char *args, const char *what,
                      char *want, size_t cap)
{
    char err[4096];
    FILE *f = fopen(p, "w");
    fputs(csv, f);
    fclose(f);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 1);
    snprintf(want, cap, "earsight: %s%s", p, what);
    assert_one_line(err, want);
}

static void csv_errors(void **state)
{
    char p[700], args[4096], err[4096];
    snprintf(p, sizeof p, "%s/nolabel.csv", dir);
    snprintf(args, sizeof args, "train --data %s --root %s -o %s/bad.onnx", p, dir, dir);
    char want[2048];
    /* no label column; no path column; an unclosed quote; a bad hasbird value */
    csv_fails(p, "itemid,x\nclip00,1\n", args, ": no hasbird/label column", want, sizeof want);
    csv_fails(p, "file,hasbird\nclip00,1\n", args, ": no path/itemid column", want, sizeof want);
    csv_fails(p, "path,hasbird\n\"clip00.wav,1\n", args, ":2: a quoted field is never closed", want,
              sizeof want);
    csv_fails(p, "path,hasbird\nclip00.wav,2\n", args, ":2: hasbird is '2'", want, sizeof want);
    snprintf(args, sizeof args, "eval -m %s/a.onnx --data %s --root %s", dir, p, dir);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 1);
    assert_one_line(err, want);
    snprintf(p, sizeof p, "%s/bad.onnx", dir);
    assert_false(exists(p));
    /* an output folder that does not exist fails before any training */
    snprintf(args, sizeof args, "train --data %s/labels.csv -o %s/no/such/dir/x.onnx", dir, dir);
    assert_int_equal(run(args, NULL, 0, err, sizeof err), 1);
    snprintf(want, sizeof want, "earsight: %s/no/such/dir/x.onnx: ", dir);
    assert_one_line(err, want);
    /* usage */
    assert_int_equal(run("train --data x.csv", NULL, 0, err, sizeof err), 2);
    assert_one_line(err, "earsight: no output (-o MODEL.onnx)");
    assert_int_equal(run("train -o x.onnx --epochs 0 --data x.csv", NULL, 0, err, sizeof err), 2);
    assert_int_equal(run("eval --bogus", NULL, 0, err, sizeof err), 2);
}

static void roc_auc_values(void **state)
{
    const float s[6] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f};
    const int perfect[6] = {1, 1, 1, 0, 0, 0}, worst[6] = {0, 0, 0, 1, 1, 1};
    const int mixed[6] = {1, 0, 1, 0, 1, 0}; /* sklearn: 0.666… */
    assert_true(fabs(es_roc_auc(s, perfect, 6) - 1.0) < 1e-12);
    assert_true(fabs(es_roc_auc(s, worst, 6)) < 1e-12);
    assert_true(fabs(es_roc_auc(s, mixed, 6) - 2.0 / 3.0) < 1e-12);
    const float tied[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int half[4] = {1, 0, 1, 0};
    assert_true(fabs(es_roc_auc(tied, half, 4) - 0.5) < 1e-12); /* ties count half */
    float fpr[7], tpr[7];
    double auc;
    assert_int_equal(es_roc_curve(s, mixed, 6, fpr, tpr, &auc), 7);
    assert_true(fpr[6] == 1.0f && tpr[6] == 1.0f && fpr[0] == 0.0f);
    assert_int_equal(es_roc_auc(s, perfect, 3) < 0, 1); /* positives only */
}

int main(int argc, char **argv)
{
    /* argv[0] is B/tests/test_train: the binary under test is B/earsight */
    snprintf(earsight, sizeof earsight, "%s", argv[0]);
    char *slash = strrchr(earsight, '/');
    if (slash)
        *slash = 0;
    slash = strrchr(earsight, '/');
    size_t keep = slash ? (size_t)(slash + 1 - earsight) : 0;
    snprintf(dir, sizeof dir, "%.*st_train", (int)keep, earsight);
    snprintf(earsight + keep, sizeof earsight - keep, "earsight");
    make_set();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roc_auc_values),
        cmocka_unit_test(train_separable),
        cmocka_unit_test(train_is_deterministic),
        cmocka_unit_test(train_writes_aggregate),
        cmocka_unit_test(train_precise_bn_and_lr_end),
        cmocka_unit_test(train_fine_tunes),
        cmocka_unit_test(csv_errors),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        r = r ? r : 1;
    return r;
}
