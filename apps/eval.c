/* earsight eval -m MODEL --data LABELS.csv — how well a model separates labelled files:
 * ROC AUC, accuracy at 0.5, confusion matrix, P(class) of every file, the ROC curve as PNG. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "apps/progress.h"
#include "apps/verdict.h"
#include "pipeline/es_pipeline.h"
#include "viz/es_viz.h"
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "eval",
    "usage: earsight eval [-m MODEL] --data LABELS.csv [--root DIR] [--json] [--png ROC.png]",
    "Scores every file of a labels CSV (as `earsight train` reads it: path or itemid, and\n"
    "hasbird or label) with the model: features from its earsight.features, one window per\n"
    "`frames` as `predict` makes them, and one verdict per file as predict, saliency and view\n"
    "give it, by the model's rule (--aggregate): max (a binary model: a file's P(positive\n"
    "class) is the largest over its windows) or mean (more classes). Prints the ROC AUC\n"
    "(binary: of the second class, e.g. bird; else one-vs-rest, averaged), the accuracy of the\n"
    "verdicts, the confusion matrix (rows: truth, columns: prediction) and every file's\n"
    "probabilities with the window that decided; files with windows that are silent or\n"
    "constant, which the model cannot judge, are marked. A file that cannot be read is named\n"
    "on stderr and left out; the others are scored and the exit status is 1.\n"};

typedef struct {
    const char *model, *data, *root, *png;
    int json, quiet, strict, aggregate;
} options;

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->aggregate = -1;
    const opt rows[] = {
        OPT_MODEL(&o->model),
        OPT_INFILE(0, "data", &o->data, "FILE", "the labels CSV (required)"),
        OPT_STRING(0, "root", &o->root, "DIR", "folder the CSV's paths are relative to (default: the CSV's folder)"),
        OPT_OUTFILE(0, "png", &o->png, "FILE", "the ROC curve as a PNG picture", 0),
        OPT_JSON(&o->json, "{model, data, classes, auc, accuracy, confusion, files:[{path,\n"
                           "label, probs, verdict (as predict --json gives it)}]} on stdout"),
        OPT_AGGREGATE(&o->aggregate),
        OPT_SWITCH(0, "strict", &o->strict, "stop at the first file that cannot be read (exit 1)"),
        OPT_JOBS, OPT_SWITCH('q', "quiet", &o->quiet, "only the summary, not every file"), OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    if (!o->data)
        return cli_usage("eval", "no labels (--data LABELS.csv)");
    return 0;
}

/* ---- the ROC picture ---------------------------------------------------------------------- */

static int roc_png(const char *path, const float *fpr, const float *tpr, int n, double auc,
                   int n_pos, int n_neg, const char *pos_name)
{
    enum { W = 640, H = 600, L = 90, R = 30, T = 60, B = 80 };
    es_canvas c;
    es_font *f = es_font_open(NULL);
    if (!f || es_canvas_init(&c, W, H, ES_RGBA(255, 255, 255, 255)) != 0) {
        es_font_close(f);
        return -1;
    }
    const es_rgba ink = ES_RGBA(30, 30, 30, 255), grid = ES_RGBA(225, 225, 225, 255),
                  blue = ES_RGBA(31, 119, 180, 255), grey = ES_RGBA(150, 150, 150, 255);
    int pw = W - L - R, ph = H - T - B;
    /* x = FPR left to right, y = TPR bottom to top */
#define PX(v) (L + (float)(v) * pw)
#define PY(v) (T + (1.0f - (float)(v)) * ph)
    for (int k = 0; k <= 5; k++) {
        float v = k / 5.0f;
        char lab[8];
        snprintf(lab, sizeof lab, "%.1f", v);
        es_draw_line(&c, PX(v), T, PX(v), T + ph, 1, grid);
        es_draw_line(&c, L, PY(v), L + pw, PY(v), 1, grid);
        es_draw_line(&c, PX(v), T + ph, PX(v), T + ph + 5, 1, ink);
        es_draw_line(&c, L - 5, PY(v), L, PY(v), 1, ink);
        es_text_draw(&c, f, 14, (int)PX(v), T + ph + 8, lab, ink, ES_CENTER | ES_TOP);
        es_text_draw(&c, f, 14, L - 8, (int)PY(v), lab, ink, ES_RIGHT | ES_MIDDLE);
    }
    for (int k = 0; k < 40; k += 2) /* chance: a dashed diagonal */
        es_draw_line(&c, PX(k / 40.0), PY(k / 40.0), PX((k + 1) / 40.0), PY((k + 1) / 40.0), 1.5f,
                     grey);
    for (int k = 1; k < n; k++)
        es_draw_line(&c, PX(fpr[k - 1]), PY(tpr[k - 1]), PX(fpr[k]), PY(tpr[k]), 2.5f, blue);
    es_stroke_rect(&c, (es_rect){L, T, pw + 1, ph + 1}, ink);
    char title[160], legend[96];
    snprintf(title, sizeof title, "ROC of P(%s): AUC %.3f", pos_name, auc);
    snprintf(legend, sizeof legend, "%d positive, %d negative files", n_pos, n_neg);
    es_text_draw(&c, f, 20, L + pw / 2, T - 22, title, ink, ES_CENTER | ES_BASELINE);
    es_text_draw(&c, f, 14, L + pw - 10, T + ph - 12, legend, ink, ES_RIGHT | ES_BASELINE);
    es_text_draw(&c, f, 16, L + pw / 2, H - 22, "false positive rate", ink, ES_CENTER | ES_BASELINE);
    es_text_draw_up(&c, f, 16, 30, T + ph / 2, "true positive rate", ink, ES_CENTER | ES_MIDDLE);
#undef PX
#undef PY
    int r = es_png_write(path, &c, NULL);
    es_canvas_free(&c);
    es_font_close(f);
    es_viz_shutdown(); /* fontconfig's caches: one picture per run */
    return r;
}

/* ---- the verb ---------------------------------------------------------------------------- */

typedef struct {
    es_model m;
    es_feature_config fc;
    es_dataset d;
    es_array *feat;
    int *idx, *pos, *conf, n_pos, total, failed;
    float *probs, *score, *fpr, *tpr;
    es_verdict *v; /* every file's */
} run;

static void run_free(run *r)
{
    for (int i = 0; r->v && i < r->d.n; i++) /* before the dataset, which says how many */
        es_verdict_free(&r->v[i]);
    free(r->v), r->v = NULL;
    es_dataset_features_free(r->feat, r->d.n);
    es_dataset_free(&r->d);
    es_model_free(&r->m);
    free(r->idx), free(r->pos), free(r->conf), free(r->probs), free(r->score);
    free(r->fpr), free(r->tpr);
}

static int score(run *r, const options *o)
{
    if (es_model_load(&r->m, o->model, &opt_model) != 0)
        return -1;
    const char *js = es_meta_get(r->m.meta, ES_META_FEATURES);
    if (!js)
        return es_fail("%s: the model has no %s metadata, so it cannot take sounds", r->m.path,
                       ES_META_FEATURES);
    es_config_default(&r->fc);
    if (es_config_from_json(&r->fc, js, r->m.path) != 0 || es_config_validate(&r->fc) != 0)
        return -1;
    int dims[ES_MAX_DIMS], nd = es_tensor_shape(r->m.g, r->m.output, dims);
    int K = nd == 2 ? dims[1] : 0;
    if (K < 2)
        return es_fail("%s: the model gives %d scores; eval needs two classes or more", r->m.path, K);
    int last = es_node_producing(r->m.g, r->m.output);
    if (last < 0 || es_node_op(r->m.g, last) != ES_OP_SOFTMAX)
        return es_fail("%s: the model's output is not a softmax (probabilities)", r->m.path);
    char **names = r->m.labels, *deflt[2] = {"nobird", "bird"};
    if (r->m.n_labels != K && !(names = K == 2 ? deflt : NULL))
        return es_fail("%s: the model has %d outputs and %d labels", r->m.path, K, r->m.n_labels);
    if (es_dataset_read_for(&r->d, o->data, o->root, names, K) != 0)
        return -1;
    int rc = batch_features(&r->d, o->data, &r->fc, &r->feat, "eval", o->strict, o->quiet,
                            &r->total, &r->failed);
    if (rc)
        return rc;
    int n = r->d.n;
    if (!n) /* every file failed, each one named */
        return r->failed ? batch_end(r->failed, r->total) : es_fail("%s: no files", o->data);
    r->idx = malloc(n * sizeof(int)), r->pos = malloc(n * sizeof(int));
    r->probs = malloc((size_t)n * K * sizeof(float)), r->score = malloc(n * sizeof(float));
    r->conf = calloc((size_t)K * K, sizeof(int)), r->v = calloc(n, sizeof *r->v);
    r->fpr = malloc((n + 1) * sizeof(float)), r->tpr = malloc((n + 1) * sizeof(float));
    if (!r->idx || !r->pos || !r->probs || !r->score || !r->conf || !r->fpr || !r->tpr || !r->v)
        return es_fail("out of memory");
    for (int i = 0; i < n; i++)
        r->idx[i] = i;
    /* in chunks of files, so that progress shows and SIGINT stops between them */
    enum { CHUNK = 32 };
    es_aggregate a;
    if (!verdict_rule(o->aggregate, &a) && es_model_aggregate(&r->m, K, &a) != 0)
        return -1;
    progress bar;
    progress_start(&bar, "eval", "files scored", n, o->quiet);
    int rc1 = 0;
    for (int i = 0; i < n && !rc1; i += CHUNK) {
        int m = n - i < CHUNK ? n - i : CHUNK;
        if (es_dataset_verdicts(r->m.g, r->m.input, r->m.output, &r->fc, r->feat, r->idx + i, m,
                                K, &a, r->v + i) != 0)
            rc1 = -1;
        for (int k = i; !rc1 && k < i + m; k++)
            memcpy(r->probs + (size_t)k * K, r->v[k].pc, K * sizeof *r->probs);
        if (!rc1 && cli_interrupted)
            progress_end(&bar), rc1 = batch_interrupted(i + m, n);
        progress_set(&bar, i + m);
    }
    progress_end(&bar);
    return rc1;
}

int cmd_eval(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    run r = {0};
    /* -1: a library failure to print; else the batch's own status (already printed) */
    if ((rc = score(&r, &o)) != 0) {
        if (rc < 0)
            rc = cli_lib_fail();
        run_free(&r);
        return rc;
    }
    int n = r.d.n, K = r.d.n_classes, right = 0;
    for (int i = 0; i < n; i++) {
        int p = r.v[i].cls;
        r.conf[r.d.label[i] * K + p]++;
        right += p == r.d.label[i];
    }
    double auc = es_dataset_auc(r.probs, r.d.label, n, K), acc = (double)right / n;
    /* the curve of the positive class (binary) or of class 1 against the rest */
    int np = -1, pc = 1;
    for (int i = 0; i < n; i++) {
        r.score[i] = r.probs[(size_t)i * K + pc];
        r.pos[i] = r.d.label[i] == pc;
        r.n_pos += r.pos[i];
    }
    if (o.png) {
        double a1;
        if ((np = es_roc_curve(r.score, r.pos, n, r.fpr, r.tpr, &a1)) < 0) {
            cli_fail("%s: no ROC curve: %s", o.data, es_error());
            run_free(&r);
            return 1;
        }
        if (roc_png(o.png, r.fpr, r.tpr, np, a1, r.n_pos, n - r.n_pos, r.d.classes[pc]) != 0) {
            run_free(&r);
            return cli_lib_fail();
        }
    }
    if (o.json) {
        cJSON *j = cJSON_CreateObject(), *cl = cJSON_AddArrayToObject(j, "classes");
        cJSON_AddStringToObject(j, "model", r.m.path);
        cJSON_AddStringToObject(j, "data", o.data);
        for (int k = 0; k < K; k++)
            cJSON_AddItemToArray(cl, cJSON_CreateString(r.d.classes[k]));
        auc >= 0 ? cJSON_AddNumberToObject(j, "auc", auc) : cJSON_AddNullToObject(j, "auc");
        cJSON_AddNumberToObject(j, "accuracy", acc);
        cJSON *cm = cJSON_AddArrayToObject(j, "confusion");
        for (int k = 0; k < K; k++)
            cJSON_AddItemToArray(cm, cJSON_CreateIntArray(r.conf + k * K, K));
        cJSON *fl = cJSON_AddArrayToObject(j, "files");
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "path", r.d.item[i]);
            cJSON_AddStringToObject(e, "label", r.d.classes[r.d.label[i]]);
            cJSON_AddItemToObject(e, "probs", cJSON_CreateFloatArray(r.probs + (size_t)i * K, K));
            cJSON_AddItemToObject(e, "verdict", verdict_json(&r.v[i], &r.m));
            cJSON_AddItemToArray(fl, e);
        }
        cli_print_json(j);
    } else {
        int unjudged = 0;
        if (!o.quiet) {
            printf("%-8s %-10s %-13s %s\n", K == 2 ? "P(pos)" : "P(truth)", "truth", "window", "file");
            for (int i = 0; i < n; i++) {
                const float *p = r.probs + (size_t)i * K;
                const es_verdict *v = &r.v[i];
                char win[32];
                snprintf(win, sizeof win, "%d %.2f-%.2fs", v->window, v->t0, v->t1);
                printf("%-8.4f %-10s %-13s %s%s%s\n", K == 2 ? p[1] : p[r.d.label[i]],
                       r.d.classes[r.d.label[i]], win, r.d.item[i],
                       v->cls != r.d.label[i] ? "  (wrong)" : "", v->flagged ? "  (*)" : "");
                unjudged += v->flagged > 0;
            }
            if (unjudged)
                printf("(*) windows silent or constant: the model cannot judge them "
                       "(--json: window_flags)\n");
            putchar('\n');
        }
        printf("files %d, ROC AUC ", n);
        auc >= 0 ? printf("%.4f", auc) : printf("n/a (one class only)");
        printf(", accuracy %.4f (%d/%d; %s of windows)\n", acc, right, n,
               es_aggregate_name(r.v[0].rule));
        printf("confusion (rows: truth, columns: predicted)\n%12s", "");
        for (int k = 0; k < K; k++)
            printf(" %10.10s", r.d.classes[k]);
        putchar('\n');
        for (int k = 0; k < K; k++) {
            printf("%12.12s", r.d.classes[k]);
            for (int q = 0; q < K; q++)
                printf(" %10d", r.conf[k * K + q]);
            putchar('\n');
        }
    }
    run_free(&r);
    fflush(stdout);
    return batch_end(r.failed, r.total);
}
