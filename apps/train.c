/* earsight train --data LABELS.csv -o MODEL.onnx — trains a detector on labelled sound files:
 * features once, augmented windows, validation AUC on held-out files, the best model kept. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/progress.h"
#include "pipeline/es_pipeline.h"
#include "nn/onnx.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const opt_cmd cmd = {
    "train",
    "usage: earsight train --data LABELS.csv -o MODEL.onnx [options]",
    "Trains a classifier of sound files and writes it as ONNX with its feature settings\n"
    "(earsight.features) and class names (earsight.labels), ready for every verb's -m.\n"
    "LABELS.csv follows the Bird Audio Detection challenge: a header with `path` (or `itemid`,\n"
    "a name without extension) and `hasbird` (0/1), or `label` (class names) for several classes.\n"
    "Features are computed once per file. Each epoch draws class-balanced windows: random crops\n"
    "in time, shifts of up to ±2 bands in frequency, random gain, and clips of the other classes\n"
    "mixed into background files (hasbird 0) at a random SNR. With a background class, some\n"
    "of its windows are synthetic sounds made through the model's own features (digital\n"
    "silence, white/pink/brown noise, 50/60 Hz hum, clicks), some backgrounds are such noise,\n"
    "and some clips are gained down onto a noise floor. Files are split by a seeded,\n"
    "stratified draw; the model with the best validation ROC AUC (by file) is kept; its\n"
    "metadata says how a file's windows make one verdict (earsight.aggregate).\n"
    "Same data, options, seed and thread count give a byte-identical model, written once\n"
    "at the end: a run stopped early leaves no model.\n"};

typedef struct {
    const char *data, *root, *arch, *features, *out, *val_csv, *background;
    int epochs, batch, steps, quiet, strict, synth_select;
    double lr, wd, val_split, mix, mix_neg, snr[2];
    double synth, silence, synth_db[2], quieter, quiet_db, floor_db[2];
    int crop_tries, precise_bn, frozen_stats;
    double lr_end; /* < 0: a constant learning rate */
    int optimizer; /* an index of optimizers */
    int aggregate; /* an index of aggregates; -1: max for hasbird, mean for classes */
    uint64_t seed;
} options;

static const char *const optimizers[] = {"sgd-nesterov", "adam", "sgd", NULL};
enum { SGD_NESTEROV, ADAM };
static const char *const aggregates[] = {"max", "mean", NULL};

/* --snr, --synth-db, --floor-db: LO:HI in dB. */
static int db_range(const opt *row, const char *v, char *why, size_t cap)
{
    double *r = row->dest;
    char extra;
    if (sscanf(v, "%lf:%lf%c", &r[0], &r[1], &extra) != 2 || !isfinite(r[0]) || !isfinite(r[1]) || r[1] < r[0])
        return snprintf(why, cap, "--%s needs LO:HI in dB, not '%s'", row->name, v), -1;
    return 0;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.arch = "bad-densenet", .epochs = 30, .batch = 32, .lr = -1, .wd = 1e-4,
                   .val_split = 0.2, .seed = 1, .optimizer = ADAM, .mix = 0.5, .mix_neg = 0.5,
                   .snr = {-5, 15}, .synth = 0.25, .synth_db = {-80, -10}, .quieter = 0.25,
                   .quiet_db = 60, .floor_db = {-90, -50}, .aggregate = -1, .crop_tries = 4,
                   .lr_end = -1};
    const opt rows[] = {
        OPT_INFILE(0, "data", &o->data, "FILE", "the labels CSV (required)"),
        OPT_STRING(0, "root", &o->root, "DIR", "folder the CSV's paths are relative to (default: the CSV's folder)"),
        OPT_STRING(0, "arch", &o->arch, "A", "bad-densenet (default: the BAD 2017 DenseNet), small-cnn (3 conv\n"
                                             "layers, for quick tests) or INIT.onnx (fine-tune that model)"),
        OPT_INFILE(0, "features", &o->features, "JSON|FILE",
                   "feature settings (`earsight help features`); default 22.05 kHz, n_fft 1024,\n"
                   "hop 441, 40 mels 50 Hz-11 kHz, dB, 64 frames (1.28 s) time first,\n"
                   "pad_repeat, standardize global (fine-tuning: the model's own)"),
        OPT_INT(0, "epochs", &o->epochs, 1, 1e7, "N", "passes (30)"),
        OPT_INT(0, "steps", &o->steps, 1, 1e7, "N", "mini-batches per epoch (files / batch)"),
        OPT_INT(0, "batch", &o->batch, 1, 1e7, "N", "windows per mini-batch (32)"),
        OPT_ENUM(0, "optimizer", &o->optimizer, optimizers, "O",
                 "adam (default, lr 1e-3) or sgd-nesterov (lr 0.01, momentum 0.9)"),
        {OPT_T_DOUBLE, 0, "lr", &o->lr, "X", "learning rate (the optimizer's default)", 0, INFINITY, .flags = OPT_OPEN_LO},
        OPT_DOUBLE(0, "lr-end", &o->lr_end, 0, INFINITY, "X",
                   "the learning rate falls along a half cosine from --lr to X over the run's\n"
                   "steps (default: constant), so that the last epochs settle"),
        OPT_INT(0, "precise-bn", &o->precise_bn, 0, 100000, "N",
                "before each epoch's validation, the batch-norm running statistics become the\n"
                "mean over N training batches (drawn as for training, with their own seed)\n"
                "through the weights as they are (0: the running averages of training)"),
        OPT_SWITCH(0, "frozen-stats", &o->frozen_stats,
                   "train with batch norm on its running statistics, which stay as they are,\n"
                   "and dropout off (torch's model.eval()): fine-tuning a trained model\n"
                   "(--arch INIT.onnx) on a new mix of data without changing its function at\n"
                   "the first step"),
        OPT_DOUBLE(0, "weight-decay", &o->wd, 0, INFINITY, "X", "weight decay (1e-4)"),
        OPT_DOUBLE(0, "mix", &o->mix, 0, 1, "P", "probability that a positive window is mixed into a background (0.5)"),
        OPT_DOUBLE(0, "mix-negatives", &o->mix_neg, 0, 1, "P",
                   "the same for a background window mixed into another one, so that\n"
                   "being a mixture is no cue for the class (0.5)"),
        OPT_CALL(0, "snr", o->snr, db_range, "LO:HI", "SNR range of the mixing in dB (-5:15)"),
        OPT_DOUBLE(0, "synth", &o->synth, 0, 1, "P",
                   "probability that a background window is a synthetic sound (silence,\n"
                   "noise, hum, clicks), and that a mixing background is such a noise (0.25)"),
        {OPT_T_DOUBLE, 0, "silence", &o->silence, "P",
         "probability that a synthetic window is digital silence (default: one kind\n"
         "in six, as likely as white, pink or brown noise, hum or clicks)", 0, 1,
         .flags = OPT_OPEN_LO},
        OPT_CALL(0, "synth-db", o->synth_db, db_range, "LO:HI", "their level range in dBFS (-80:-10)"),
        OPT_DOUBLE(0, "quieter", &o->quieter, 0, 1, "P",
                   "probability that a window is gained down onto a noise floor (0.25)"),
        OPT_DOUBLE(0, "quiet-db", &o->quiet_db, 0, 200, "DB", "by up to DB, 6 dB over the floor at least (60)"),
        OPT_CALL(0, "floor-db", o->floor_db, db_range, "LO:HI", "the floor's level range in dBFS (-90:-50)"),
        OPT_INT(0, "crop-tries", &o->crop_tries, 1, 1000, "N",
                "a window of a class other than the background is the loudest of N random\n"
                "crops, so that the silence around a call is not taught as that class (4)"),
        OPT_SWITCH(0, "synth-select", &o->synth_select,
                   "keep the best epoch among those that call none of a fixed set of\n"
                   "synthetic sounds (silence, noise, hum, clicks) anything but background\n"
                   "(P < 0.1), when there is one"),
        OPT_ENUM(0, "aggregate", &o->aggregate, aggregates, "RULE",
                 "how a file's windows make its verdict, written into the model: max (the\n"
                 "default with hasbird: a detector) or mean (the default with classes)"),
        OPT_STRING(0, "background", &o->background, "NAME", "the class mixed into (nobird with hasbird; none with label)"),
        {OPT_T_DOUBLE, 0, "val-split", &o->val_split, "F",
         "fraction of each class's files held out (0.2; 0 keeps the last model)", 0, 1, .flags = OPT_OPEN_HI},
        OPT_OUTFILE(0, "val-csv", &o->val_csv, "FILE", "write the held-out rows as a labels CSV (for `earsight eval`)", 0),
        OPT_U64(0, "seed", &o->seed, 0, 9e18, "N", "split, initialisation and augmentation (1)"),
        OPT_OUTPUT(&o->out, "the model (required)"), OPT_JOBS,
        OPT_SWITCH(0, "strict", &o->strict, "stop at the first file that cannot be read (exit 1)"),
        OPT_SWITCH('q', "quiet", &o->quiet, "no progress"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!o->data)
        return cli_usage("train", "no labels (--data LABELS.csv)");
    if (!o->out)
        return cli_usage("train", "no output (-o MODEL.onnx)");
    if (o->frozen_stats && o->precise_bn)
        return cli_usage("train", "--frozen-stats keeps the running statistics; --precise-bn remakes them");
    return 0;
}

/* The shipped choice: 1.28 s windows of 40 log-mel bands, time first as the BAD DenseNet
 * takes them; small enough that a training step of batch 32 takes ~1 s on 2 cores. */
static void default_features(es_feature_config *c)
{
    es_config_default(c);
    c->sample_rate = 22050, c->n_fft = 1024, c->win_length = 1024, c->hop_length = 441;
    c->n_mels = 40, c->f_min = 50, c->f_max = 0;
    c->resample = ES_RESAMPLE_SOXR; /* what the shipped model was trained with */
    c->layout = ES_LAYOUT_FRAMES_MELS, c->frames = 64, c->fit = ES_FIT_PAD_REPEAT;
    c->standardize = ES_STANDARDIZE_GLOBAL;
}

/* conv3x3-BN-ReLU-pool twice, conv-BN-ReLU, global average, dense, softmax. */
static es_graph *small_cnn(int frames, int bands, int n_classes)
{
    es_graph *g = es_graph_new();
    if (!g)
        return NULL;
    int x = es_input(g, "input", 3, (int[]){1, frames, bands});
    const int maps[3] = {16, 32, 48};
    for (int l = 0; l < 3; l++) {
        char n[4][16];
        snprintf(n[0], 16, "conv%d", l), snprintf(n[1], 16, "bn%d", l);
        snprintf(n[2], 16, "relu%d", l), snprintf(n[3], 16, "pool%d", l);
        x = es_relu(g, n[2], es_batchnorm(g, n[1], es_conv(g, n[0], x, maps[l], 3, 3, 1, -1, 0)));
        if (l < 2)
            x = es_maxpool(g, n[3], x, 2, 2);
    }
    x = es_softmax(g, "softmax", es_dense(g, "fc", es_global_avgpool(g, "gap", x), n_classes));
    if (x < 0) {
        es_graph_free(g);
        return NULL;
    }
    return g;
}

typedef struct {
    es_graph *g;
    int input, logits, output;
} net;

/* The graph to train; its output is a softmax over the classes, `logits` what feeds it. */
/* --arch names a model file (fine-tuning) rather than an architecture. */
static int is_onnx(const char *arch)
{
    size_t n = strlen(arch);
    return n > 5 && strcmp(arch + n - 5, ".onnx") == 0;
}

static int make_net(const options *o, es_feature_config *c, int n_classes, net *m)
{
    int bands = c->n_mfcc > 0 ? c->n_mfcc : c->n_mels > 0 ? c->n_mels : c->n_fft / 2 + 1;
    int time_first = c->layout == ES_LAYOUT_FRAMES_MELS, F = c->frames;
    int H = time_first ? F : bands, W = time_first ? bands : F;
    memset(m, 0, sizeof *m);
    if (is_onnx(o->arch)) {
        /* every Relu as it is: training takes their true gradient, and the tuned model is
         * saved with the same ops (a functional relu does not become a Clip) */
        es_onnx_opts lo = {4, (int[]){1, 1, H, W}, ES_RELUS_ALL};
        if (es_onnx_load_opts(o->arch, &lo, &m->g, NULL) != 0)
            return -1;
    } else if (strcmp(o->arch, "bad-densenet") == 0) {
        m->g = es_build_bad_densenet(H, W, n_classes, 1);
    } else if (strcmp(o->arch, "small-cnn") == 0) {
        m->g = small_cnn(H, W, n_classes);
    } else {
        return es_fail("--arch: '%s' is not bad-densenet, small-cnn or a .onnx file", o->arch);
    }
    if (!m->g)
        return -1;
    int ids[2], dims[ES_MAX_DIMS];
    if (es_graph_inputs(m->g, ids, 2) != 1 || es_graph_outputs(m->g, &m->output, 1) < 1)
        return es_fail("%s: the model needs one input and an output", o->arch);
    m->input = ids[0];
    int last = es_node_producing(m->g, m->output);
    const int *in;
    m->logits = m->output;
    if (last >= 0 && es_node_op(m->g, last) == ES_OP_SOFTMAX && es_node_inputs(m->g, last, &in))
        m->logits = in[0];
    int nd = es_tensor_shape(m->g, m->logits, dims);
    if (nd != 2 || dims[1] != n_classes)
        return es_fail("%s: the model gives %d scores; the labels have %d classes", o->arch,
                       nd == 2 ? dims[1] : -1, n_classes);
    if (m->logits == m->output) {
        /* a model without its own softmax: add one, so the model gives probabilities */
        m->output = es_softmax(m->g, "softmax_out", m->logits);
        if (m->output < 0 || es_graph_mark_output(m->g, m->output) != 0)
            return -1;
    }
    return 0;
}

static void bar(int quiet, int epoch, int epochs, int step, int steps, double loss, double acc)
{
    if (quiet || !isatty(2))
        return;
    char b[21];
    int fill = steps ? 20 * step / steps : 20;
    for (int i = 0; i < 20; i++)
        b[i] = i < fill ? '#' : '.';
    b[20] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d loss %.4f acc %.3f", epoch, epochs, b, step,
            steps, loss, acc);
    fflush(stderr);
}

static int write_val_csv(const char *path, const es_dataset *d, const int *is_val)
{
    es_atomic a;
    if (es_atomic_open(&a, path) != 0)
        return -1;
    fprintf(a.f, "%s,%s\n", d->is_id ? "itemid" : "path", d->hasbird ? "hasbird" : "label");
    for (int i = 0; i < d->n; i++)
        if (is_val[i]) {
            int q = strchr(d->item[i], ',') != NULL;
            fprintf(a.f, "%s%s%s,", q ? "\"" : "", d->item[i], q ? "\"" : "");
            if (d->hasbird)
                fprintf(a.f, "%d\n", d->label[i]);
            else
                fprintf(a.f, "%s\n", d->classes[d->label[i]]);
        }
    return es_atomic_commit(&a);
}

typedef struct {
    es_dataset d;
    es_array *feat;
    es_feature_config fc;
    net m;
    es_optimizer *opt;
    es_features *synth; /* the model's features, unstandardised, for synthetic sounds */
    es_array *probe;    /* held-out synthetic background sounds (n_probe), and their scores */
    int n_probe, *probe_idx;
    float *probe_p;
    int *is_val, *tr, *va, n_tr, n_va, **by_class, *n_by_class;
    float *x, *best, *probs;
    int *y, *va_lab;
    double lr0; /* the optimizer's learning rate at the start */
    size_t per; /* floats of one window (x holds batch of them) */
} run;

static void run_free(run *r)
{
    for (int k = 0; r->by_class && k < r->d.n_classes; k++)
        free(r->by_class[k]);
    free(r->by_class), free(r->n_by_class);
    es_dataset_features_free(r->feat, r->d.n);
    es_optimizer_free(r->opt);
    es_features_free(r->synth);
    es_dataset_features_free(r->probe, r->n_probe);
    free(r->probe_idx), free(r->probe_p);
    es_graph_free(r->m.g);
    free(r->is_val), free(r->tr), free(r->va), free(r->x), free(r->best), free(r->probs);
    free(r->y), free(r->va_lab);
    es_dataset_free(&r->d);
}

static int setup(run *r, const options *o)
{
    if (es_dataset_read(&r->d, o->data, o->root) != 0)
        return -1;
    default_features(&r->fc);
    if (!o->features && is_onnx(o->arch)) {
        /* fine-tuning: the model's own features unless --features says otherwise */
        es_meta *meta = NULL;
        int nd, dims[ES_MAX_DIMS];
        if (es_onnx_peek(o->arch, &meta, &nd, dims) != 0)
            return -1;
        const char *js = es_meta_get(meta, ES_META_FEATURES);
        int bad = js && es_config_from_json(&r->fc, js, o->arch) != 0;
        es_meta_free(meta);
        if (bad)
            return -1;
    }
    if (o->features && es_config_from_arg(&r->fc, o->features) != 0)
        return -1;
    if (r->fc.frames <= 0)
        return es_fail("--features: training needs a fixed time length (frames > 0)");
    return es_config_validate(&r->fc);
}

/* After the files that failed are left out: the split of the good files does not depend on
 * which ones failed. */
static int setup_training(run *r, const options *o)
{
    int n = r->d.n, K = r->d.n_classes;
    r->is_val = calloc(n, sizeof *r->is_val);
    r->tr = malloc(n * sizeof *r->tr), r->va = malloc(n * sizeof *r->va);
    r->by_class = calloc(K, sizeof *r->by_class), r->n_by_class = calloc(K, sizeof(int));
    if (!r->is_val || !r->tr || !r->va || !r->by_class || !r->n_by_class)
        return es_fail("out of memory");
    es_dataset_split(&r->d, o->val_split, o->seed, r->is_val);
    for (int i = 0; i < n; i++)
        r->is_val[i] ? (r->va[r->n_va++] = i) : (r->tr[r->n_tr++] = i);
    for (int k = 0; k < K; k++) {
        r->by_class[k] = malloc((n ? n : 1) * sizeof(int));
        if (!r->by_class[k])
            return es_fail("out of memory");
        for (int j = 0; j < r->n_tr; j++)
            if (r->d.label[r->tr[j]] == k)
                r->by_class[k][r->n_by_class[k]++] = r->tr[j];
        if (!r->n_by_class[k])
            return es_fail("%s: class '%s' has no training file", o->data, r->d.classes[k]);
    }
    if (make_net(o, &r->fc, K, &r->m) != 0)
        return -1;
    /* a model given as INIT.onnx is fine-tuned from its own weights */
    if ((!is_onnx(o->arch) && es_graph_init(r->m.g, ES_INIT_HE, o->seed) != 0) ||
        es_graph_set_batch(r->m.g, o->batch))
        return -1;
    es_optim_config oc = es_optim_default(o->optimizer == ADAM ? ES_ADAM : ES_SGD);
    if (o->lr > 0)
        oc.lr = (float)o->lr;
    oc.weight_decay = (float)o->wd;
    oc.frozen_stats = o->frozen_stats;
    r->lr0 = oc.lr;
    if (!(r->opt = es_optimizer_new(r->m.g, &oc)))
        return -1;
    r->per = es_tensor_size(r->m.g, r->m.input) / o->batch;
    r->x = malloc(r->per * o->batch * sizeof *r->x);
    r->y = malloc(o->batch * sizeof *r->y);
    r->best = malloc((es_graph_state_copy(r->m.g, NULL, 1) + 1) * sizeof *r->best);
    r->probs = malloc(((size_t)r->n_va * K + 1) * sizeof *r->probs);
    r->va_lab = malloc((r->n_va + 1) * sizeof *r->va_lab);
    if (!r->x || !r->y || !r->best || !r->probs || !r->va_lab)
        return es_fail("out of memory");
    for (int j = 0; j < r->n_va; j++)
        r->va_lab[j] = r->d.label[r->va[j]];
    return 0;
}

/* The rule by which a file's windows make its verdict: --aggregate, else a detector (hasbird)
 * takes its most confident window, a classifier the mean. */
static const char *aggregate(const run *r, const options *o)
{
    return o->aggregate >= 0 ? aggregates[o->aggregate] : r->d.hasbird ? "max" : "mean";
}

/* What the run was, augmentation included, so that the model says how to make it again. */
static void training_json(const run *r, const options *o, const es_augment *a, int epochs,
                          double auc, int best_epoch, char *info, size_t cap)
{
    snprintf(info, cap,
             "{\"arch\":\"%s\",\"epochs\":%d,\"best_epoch\":%d,\"batch\":%d,\"seed\":%llu,"
             "\"files\":%d,\"validation_files\":%d,\"validation_auc\":%.6f,"
             "\"augment\":{\"mix\":%g,\"mix_negatives\":%g,\"snr\":[%g,%g],\"gain_db\":%g,"
             "\"band_shift\":%d,\"synth\":%g,\"silence\":%g,\"synth_db\":[%g,%g],\"quieter\":%g,"
             "\"quiet_db\":%g,\"floor_db\":[%g,%g],\"crop_tries\":%d},\"synth_select\":%s,"
             "\"lr\":%g,\"lr_end\":%g,\"precise_bn\":%d,\"frozen_stats\":%s}",
             o->arch, epochs, best_epoch, o->batch, (unsigned long long)o->seed, r->d.n,
             r->n_va, auc, a->p_mix, a->p_mix_bg, a->snr_min, a->snr_max, a->gain_db,
             a->band_shift, a->synth ? a->p_synth : 0,
             a->p_silence > 0 ? a->p_silence : 1.0 / ES_SYNTH_KINDS, a->synth_db[0], a->synth_db[1],
             a->synth ? a->p_quiet : 0, a->quiet_db, a->floor_db[0], a->floor_db[1], a->crop_tries,
             o->synth_select ? "true" : "false", r->lr0, o->lr_end >= 0 ? o->lr_end : r->lr0,
             o->precise_bn, o->frozen_stats ? "true" : "false");
}

/* Synthetic background sounds the training never saw (their own seed): every kind at two
 * levels (probe j: kind j / 2 at probe_db[j % 2] dBFS), 2.5 windows long. */
static const double probe_db[2] = {-20, -50};

static int make_probes(run *r, uint64_t seed)
{
    int n = 2 * ES_SYNTH_KINDS, K = r->d.n_classes;
    r->probe = calloc(n, sizeof *r->probe);
    r->probe_idx = malloc(n * sizeof *r->probe_idx);
    r->probe_p = malloc((size_t)n * K * sizeof *r->probe_p);
    if (!r->probe || !r->probe_idx || !r->probe_p)
        return es_fail("out of memory");
    es_rng rng = {seed ^ 0x9E3779B97F4A7C15ull};
    for (int j = 0; j < n; j++, r->n_probe++) {
        r->probe_idx[j] = j;
        if (es_synth_features(r->synth, j / 2, probe_db[j % 2], 5 * r->fc.frames / 2, &rng,
                              &r->probe[j]) != 0)
            return -1;
    }
    return 0;
}

/* The largest probability of a class other than the background over the probes (-1: none),
 * and the probe that has it. */
static double probe_worst(run *r, int background, int *which)
{
    int K = r->d.n_classes;
    if (!r->n_probe || es_dataset_score(r->m.g, r->m.input, r->m.output, &r->fc, r->probe,
                                        r->probe_idx, r->n_probe, K, r->probe_p) != 0)
        return -1;
    double worst = -1;
    for (int j = 0; j < r->n_probe; j++)
        if (1.0 - r->probe_p[(size_t)j * K + background] > worst)
            worst = 1.0 - r->probe_p[(size_t)j * K + background], *which = j;
    return worst;
}

/* Mini-batch s of an epoch into r->x, r->y: classes in turn, files at random. */
static int draw_batch(run *r, const options *o, const es_augment *a, int s, es_rng *rng)
{
    for (int b = 0; b < o->batch; b++) {
        int k = (s * o->batch + b) % r->d.n_classes;
        int i = r->by_class[k][es_rng_below(rng, r->n_by_class[k])];
        r->y[b] = k;
        if (es_dataset_example(&r->fc, a, r->feat, i, &r->d, r->tr, r->n_tr, rng,
                               r->x + r->per * b) != 0)
            return -1;
    }
    return 0;
}

/* --lr-end: the learning rate of step t of T, along a half cosine from lr0 to lr_end. */
static float lr_at(const options *o, double lr0, long t, long T)
{
    return (float)(o->lr_end + (lr0 - o->lr_end) * 0.5 * (1 + cos(M_PI * (double)t / T)));
}

/* --precise-bn: the running statistics of the weights after epoch ep, from training batches of
 * their own draw (the training's own draws, and so its course, stay as they were). */
static int precise_bn(run *r, const options *o, const es_augment *a, int ep)
{
    es_rng rng = {(o->seed ^ 0xB7E151628AED2A6Bull) * 0x9E3779B97F4A7C15ull + (uint64_t)ep};
    for (int k = 1; k <= o->precise_bn; k++)
        if (draw_batch(r, o, a, k - 1, &rng) != 0 ||
            es_bn_precise(r->m.g, r->m.input, r->x, o->batch, k) != 0)
            return -1;
    return 0;
}

/* The model as a run of `epochs` epochs leaves it (the current weights: the caller puts the
 * best in place). */
static int save(run *r, const options *o, const es_augment *a, int epochs, double auc,
                int best_epoch)
{
    es_meta *meta = es_meta_new();
    char *fj = es_config_to_json(&r->fc), *lj = es_dataset_classes_json(&r->d), info[1024];
    training_json(r, o, a, epochs, auc, best_epoch, info, sizeof info);
    int rc = -1;
    if (meta && fj && lj && es_meta_set(meta, ES_META_FEATURES, fj) == 0 &&
        es_meta_set(meta, ES_META_LABELS, lj) == 0 &&
        es_meta_set(meta, ES_META_AGGREGATE, aggregate(r, o)) == 0 &&
        es_meta_set(meta, "earsight.training", info) == 0 && es_graph_set_batch(r->m.g, 1) == 0)
        rc = es_onnx_save(r->m.g, meta, o->out);
    free(fj), free(lj);
    es_meta_free(meta);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    double t0 = omp_get_wtime();
    /* an output that cannot be written fails now, not after the training */
    es_atomic probe;
    for (int k = 0; k < 2; k++) {
        const char *p = k ? o.val_csv : o.out;
        if (!p)
            continue;
        if (es_atomic_open(&probe, p) != 0)
            return cli_lib_fail();
        es_atomic_abort(&probe);
    }
    run r = {0};
    int total = 0, failed = 0;
    if (setup(&r, &o) != 0) {
        run_free(&r);
        return cli_lib_fail();
    }
    rc = batch_features(&r.d, o.data, &r.fc, &r.feat, "train", o.strict, o.quiet, &total, &failed);
    if (rc) {
        run_free(&r);
        return rc;
    }
    if (setup_training(&r, &o) != 0) {
        cli_lib_fail();
        run_free(&r);
        return failed ? batch_end(failed, total), 1 : 1;
    }
    if (o.val_csv && write_val_csv(o.val_csv, &r.d, r.is_val) != 0) {
        cli_lib_fail();
        run_free(&r);
        return 1;
    }
    if (!o.quiet)
        fprintf(stderr, "earsight train: %d files (%d held out), %d classes, features in %.1f s\n",
                r.d.n, r.n_va, r.d.n_classes, omp_get_wtime() - t0);
    es_augment aug = {.p_mix = o.mix, .p_mix_bg = o.mix_neg, .background = -1, .snr_min = o.snr[0],
                      .snr_max = o.snr[1], .gain_db = 6, .band_shift = 2, .p_synth = o.synth,
                      .p_silence = o.silence, .synth_db = {o.synth_db[0], o.synth_db[1]},
                      .p_quiet = o.quieter,
                      .quiet_db = o.quiet_db, .floor_db = {o.floor_db[0], o.floor_db[1]},
                      .crop_tries = o.crop_tries};
    const char *bg = o.background ? o.background : r.d.hasbird ? "nobird" : NULL;
    for (int k = 0; bg && k < r.d.n_classes; k++)
        if (strcmp(r.d.classes[k], bg) == 0)
            aug.background = k;
    if (o.background && aug.background < 0) {
        run_free(&r);
        return cli_fail("%s: --background '%s' is not a class", o.data, o.background);
    }
    if (((aug.background >= 0 && o.synth > 0) || o.quieter > 0) && r.fc.log != ES_LOG_NONE) {
        es_feature_config sc = r.fc;
        sc.standardize = ES_STANDARDIZE_NONE;
        if (!(aug.synth = r.synth = es_features_new(&sc)))
            goto fail;
        if (aug.background >= 0 && make_probes(&r, o.seed) != 0)
            goto fail;
    }
    int steps = o.steps ? o.steps : (r.n_tr + o.batch - 1) / o.batch;
    es_rng rng = {o.seed * 0x2545F4914F6CDD1Dull + 17};
    double best_auc = -2, best_loss = HUGE_VAL;
    int best_epoch = 0, best_pass = -1, K = r.d.n_classes;
    for (int ep = 1; ep <= o.epochs; ep++) {
        double loss_sum = 0;
        long correct = 0, seen = 0;
        for (int s = 0; s < steps; s++) {
            if (draw_batch(&r, &o, &aug, s, &rng) != 0)
                goto fail;
            if (o.lr_end >= 0)
                es_optimizer_set_lr(r.opt, lr_at(&o, r.lr0, (long)(ep - 1) * steps + s,
                                                 (long)o.epochs * steps));
            float loss;
            int ok;
            if (es_graph_set_batch(r.m.g, o.batch) != 0 ||
                es_train_step(r.m.g, r.opt, r.m.input, r.x, o.batch, r.m.logits, r.y, &loss,
                              &ok) != 0)
                goto fail;
            if (!isfinite(loss)) {
                es_fail("the loss diverged (%g) at epoch %d; try a smaller --lr", loss, ep);
                goto fail;
            }
            loss_sum += loss * o.batch, correct += ok, seen += o.batch;
            bar(o.quiet, ep, o.epochs, s + 1, steps, loss_sum / seen, (double)correct / seen);
        }
        if (o.precise_bn && precise_bn(&r, &o, &aug, ep) != 0)
            goto fail;
        double auc = -1, vloss = 0, vacc = 0;
        if (r.n_va) {
            if (es_dataset_score(r.m.g, r.m.input, r.m.output, &r.fc, r.feat, r.va, r.n_va, K,
                         r.probs) != 0)
                goto fail;
            auc = es_dataset_auc(r.probs, r.va_lab, r.n_va, K);
            for (int j = 0; j < r.n_va; j++) {
                const float *p = r.probs + (size_t)j * K;
                int am = 0;
                for (int k = 1; k < K; k++)
                    am = p[k] > p[am] ? k : am;
                vacc += am == r.va_lab[j];
                vloss -= log(fmax(p[r.va_lab[j]], 1e-7));
            }
            vacc /= r.n_va, vloss /= r.n_va;
        }
        int wp = 0;
        double worst = probe_worst(&r, aug.background, &wp);
        /* the best validation AUC (--synth-select: of the epochs that pass the probes); ties
         * go to the lower validation loss */
        int pass = !o.synth_select || (worst >= 0 && worst < 0.1);
        int better = !r.n_va || pass > best_pass ||
                     (pass == best_pass && (auc > best_auc || (auc == best_auc && vloss < best_loss)));
        if (better) {
            best_auc = auc, best_loss = vloss, best_epoch = ep, best_pass = pass;
            es_graph_state_copy(r.m.g, r.best, 1);
        }
        if (!o.quiet) {
            if (isatty(2))
                fputc('\r', stderr);
            fprintf(stderr, "epoch %d/%d loss %.4f acc %.3f", ep, o.epochs, loss_sum / seen,
                    (double)correct / seen);
            if (r.n_va)
                fprintf(stderr, " | val AUC %.4f acc %.3f loss %.4f", auc, vacc, vloss);
            if (worst >= 0)
                fprintf(stderr, " | synthetic P %.3f (%s, %.0f dBFS)", worst,
                        es_synth_name(wp / 2), probe_db[wp % 2]);
            fprintf(stderr, "%s", better && r.n_va ? " *" : "");
            fprintf(stderr, " (%.0f s)\n", omp_get_wtime() - t0);
        }
    }
    es_graph_state_copy(r.m.g, r.best, 0);
    if (save(&r, &o, &aug, o.epochs, best_auc, best_epoch) != 0)
        goto fail;
    if (!o.quiet) {
        printf("%s: epoch %d of %d kept", o.out, best_epoch, o.epochs);
        if (r.n_va)
            printf(", validation AUC %.4f on %d held-out files", best_auc, r.n_va);
        printf(", %.0f s\n", omp_get_wtime() - t0);
    }
    run_free(&r);
    fflush(stdout);
    return batch_end(failed, total);
fail:
    cli_lib_fail();
    run_free(&r);
    return 1;
}
