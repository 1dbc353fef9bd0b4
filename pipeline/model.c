/* Loading -m MODEL for the verbs, and turning an input file into the model's input tensor. */
#include "pipeline/internal.h"
#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MODEL "assets/models/bird-detector.onnx"
#define INSTALLED_MODEL "share/earsight/models/bird-detector.onnx" /* make install's */

const char *es_model_default_path(void)
{
    static char buf[PATH_MAX + 64];
    const char *env = getenv("EARSIGHT_MODEL");
    if (env && *env)
        return env;
    /* build/earsight → ../assets/…: the tree the binary was built in; PREFIX/bin/earsight →
     * PREFIX/share/earsight/…: where make install put it */
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    if (n > 0) {
        buf[n] = 0;
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(buf, '/');
            if (!slash)
                break;
            *slash = 0;
            if (up == 1) {
                size_t len = strlen(buf);
                for (int k = 0; k < 2; k++) {
                    snprintf(buf + len, sizeof buf - len, "/%s", k ? INSTALLED_MODEL : DEFAULT_MODEL);
                    if (access(buf, R_OK) == 0)
                        return buf;
                }
            }
        }
    }
    if (access(DEFAULT_MODEL, R_OK) == 0)
        return DEFAULT_MODEL;
    es_fail("no model given (-m MODEL) and the default %s is not installed", DEFAULT_MODEL);
    return NULL;
}

/* earsight.labels: a JSON array of names. */
static int read_labels(es_model *m)
{
    const char *js = es_meta_get(m->meta, ES_META_LABELS);
    if (!js)
        return 0;
    cJSON *a = cJSON_Parse(js);
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0) {
        cJSON_Delete(a);
        return es_fail("%s: %s is not a JSON array of names", m->path, ES_META_LABELS);
    }
    m->labels = calloc(n ? n : 1, sizeof *m->labels);
    for (int i = 0; m->labels && i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(a, i);
        char num[32];
        snprintf(num, sizeof num, "%g", cJSON_IsNumber(it) ? it->valuedouble : 0.0);
        const char *s = cJSON_IsString(it) ? it->valuestring : cJSON_IsNumber(it) ? num : NULL;
        if (!s) {
            cJSON_Delete(a);
            return es_fail("%s: %s item %d is not a name", m->path, ES_META_LABELS, i);
        }
        if (!(m->labels[i] = strdup(s)))
            break;
        m->n_labels = i + 1;
    }
    cJSON_Delete(a);
    return m->labels && m->n_labels == n ? 0 : es_fail("out of memory");
}

/* The chosen output becomes the graph's first, so every reader of es_graph_outputs (the
 * score tensor, the memory plan, export) sees the same one. */
static int choose_output(es_model *m, const char *chosen_output)
{
    int ids[64], n = es_graph_outputs(m->g, ids, 64);
    for (int k = 0; k < n; k++)
        if (strcmp(es_tensor_name(m->g, ids[k]), chosen_output) == 0)
            return es_graph_output_first(m->g, ids[k]);
    char names[512] = "";
    for (int k = 0; k < n; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                 es_tensor_name(m->g, ids[k]));
    return es_fail("%s: no output '%s' (its outputs: %s)", m->path, chosen_output, names);
}

static int finish_load(es_model *m, const char *chosen_output)
{
    int ids[2];
    if (es_graph_inputs(m->g, ids, 2) != 1)
        return es_fail("%s: the model has %d inputs; earsight feeds one", m->path,
                       es_graph_inputs(m->g, ids, 2));
    m->input = ids[0];
    if (chosen_output && choose_output(m, chosen_output) != 0)
        return -1;
    if (es_graph_outputs(m->g, ids, 1) < 1)
        return es_fail("%s: the model has no output", m->path);
    m->output = ids[0];
    return read_labels(m);
}

static int load(es_model *m, const char *path, const es_model_opts *o, int ndim, const int *dims)
{
    static const es_model_opts none = {0};
    o = o ? o : &none;
    memset(m, 0, sizeof *m);
    if (!path && !(path = es_model_default_path()))
        return -1;
    if (!(m->path = strdup(path)))
        return es_fail("out of memory");
    es_onnx_opts oo = {.ndim = ndim > 0 ? ndim : 0, .dims = dims, .relus = o->relus};
    if (es_onnx_load_opts(path, &oo, &m->g, &m->meta) != 0 || finish_load(m, o->output) != 0) {
        es_model_free(m);
        return -1;
    }
    return 0;
}

int es_model_load(es_model *m, const char *path, const es_model_opts *o)
{
    return load(m, path, o, 0, NULL);
}

void es_model_free(es_model *m)
{
    es_graph_free(m->g);
    es_meta_free(m->meta);
    for (int i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->path);
    memset(m, 0, sizeof *m);
}

const char *es_model_label(const es_model *m, int i)
{
    return i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}

int es_is_sound(const char *path)
{
    size_t n = strlen(path);
    return !(n >= 4 && strcasecmp(path + n - 4, ".npy") == 0);
}

/* ---- sound → input tensor --------------------------------------------------------------- */
/* feat (bands × T) → windows of `frames` frames in the model's layout, batch first. */
static int arrange(const es_feature_config *c, const es_array *feat, int rank, const int *decl,
                   int hop, es_array *x)
{
    int bands = feat->dims[0], T = feat->dims[1];
    int F = c->frames > 0 ? c->frames : T;
    if (hop <= 0 || c->frames <= 0)
        hop = F; /* windows side by side */
    int nw = c->frames > 0 && T > F ? (T - F + hop - 1) / hop + 1 : 1;
    int time_first = c->layout == ES_LAYOUT_FRAMES_MELS;
    int H = time_first ? F : bands, W = time_first ? bands : F;
    if (nw < 1)
        nw = 1;
    memset(x, 0, sizeof *x);
    x->dims[0] = nw;
    if (rank == 4) {
        if (decl[1] > 1)
            return es_fail("the model's input has %d channels; a sound gives 1", decl[1]);
        x->ndim = 4, x->dims[1] = 1, x->dims[2] = H, x->dims[3] = W;
    } else if (rank == 3) {
        x->ndim = 3, x->dims[1] = H, x->dims[2] = W;
    } else if (rank == 2) {
        x->ndim = 2, x->dims[1] = H * W;
    } else {
        return es_fail("the model's input has rank %d; a sound fits rank 2, 3 or 4", rank);
    }
    size_t per = (size_t)H * W;
    if (!(x->data = malloc(per * nw * sizeof(float))))
        return es_fail("out of memory");
    for (int w = 0; w < nw; w++)
        es_pl_window(c, feat->data, bands, T, w * hop, 0, x->data + w * per);
    return 0;
}

/* The es_window_flags of feat's windows side by side, into *flags (malloc'd). */
static int window_flags(const es_feature_config *c, const es_array *feat, unsigned char **flags,
                        int *nflags)
{
    int bands = feat->dims[0], T = feat->dims[1], F = c->frames > 0 ? c->frames : T;
    int nw = c->frames > 0 && T > F ? (T - F + F - 1) / F + 1 : 1;
    if (!(*flags = malloc((size_t)nw)))
        return es_fail("out of memory");
    for (int w = 0; w < nw; w++)
        (*flags)[w] = (unsigned char)es_window_flags(c, feat->data, bands, T, w * F, F);
    if (nflags)
        *nflags = nw;
    return 0;
}

static int audio_input(const char *model, const char *in, int hop, int *frames, es_array *x,
                       unsigned char **flags, int *nflags)
{
    es_meta *meta = NULL;
    int rank, decl[ES_MAX_DIMS];
    es_features *f = NULL;
    es_array feat = {0};
    int r = -1;
    if (es_onnx_peek(model, &meta, &rank, decl) != 0)
        return -1;
    const char *js = es_meta_get(meta, ES_META_FEATURES);
    es_feature_config c;
    es_config_default(&c);
    if (!js)
        es_fail("%s: the model has no %s metadata, so it cannot take a sound (give a .npy, or "
                "add it with `earsight annotate`)", model, ES_META_FEATURES);
    else if (es_config_from_json(&c, js, model) == 0 && (f = es_features_new(&c)) &&
             es_features_file(f, in, &feat) == 0 &&
             (!flags || window_flags(&c, &feat, flags, nflags) == 0)) {
        es_pl_standardize(feat.data, feat.dims[0], feat.dims[1], c.standardize);
        if (frames)
            *frames = feat.dims[1];
        if (arrange(&c, &feat, rank, decl, hop, x) == 0)
            r = 0;
        else {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", es_error());
            es_fail("%s: %s", model, msg);
        }
    }
    es_array_free(&feat);
    es_features_free(f);
    es_meta_free(meta);
    return r;
}

int es_model_load_for(es_model *m, const char *path, const es_model_opts *o, const char *in,
                      es_array *x, int *had_batch)
{
    return es_model_load_windows(m, path, o, in, 0, x, had_batch, NULL);
}

int es_model_read_input(const char *path, const char *in, int hop, es_array *x, int *frames)
{
    return es_model_read_flagged(path, in, hop, x, frames, NULL, NULL);
}

int es_model_read_flagged(const char *path, const char *in, int hop, es_array *x, int *frames,
                          unsigned char **flags, int *nflags)
{
    memset(x, 0, sizeof *x);
    if (flags)
        *flags = NULL;
    if (es_is_sound(in) ? audio_input(path, in, hop, frames, x, flags, nflags) != 0
                        : es_npy_load(in, x) != 0) {
        if (flags)
            free(*flags), *flags = NULL;
        return -1;
    }
    if (x->ndim < 1) {
        if (flags)
            free(*flags), *flags = NULL;
        es_array_free(x);
        return es_fail("%s: a scalar is not a model input", in);
    }
    return 0;
}

/* "(a,b,c)" of n dims; -1 (symbolic) as "?". */
static void shape_text(char *buf, size_t cap, int n, const int *d)
{
    size_t k = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < n && k < cap; i++)
        k += d[i] < 0 ? (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "")
                      : (size_t)snprintf(buf + k, cap - k, "%s%d", i ? "," : "", d[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, ")");
}

/* An array whose shape the model's input (rank, decl: -1 symbolic) cannot take is the array's
 * fault: the message names it first. Dim 0 is the batch, free; it may be left out. */
static int npy_fits(const es_array *x, int rank, const int *decl, const char *in,
                    const char *model)
{
    int shift = x->ndim == rank - 1, ok = x->ndim == rank || shift;
    for (int d = 1; ok && d < rank; d++)
        ok = decl[d] < 0 || decl[d] == x->dims[d - shift];
    if (ok)
        return 0;
    char got[160], want[160];
    shape_text(got, sizeof got, x->ndim, x->dims);
    shape_text(want, sizeof want, rank, decl);
    return es_fail("%s: an array of shape %s does not fit the model's input %s (%s; the batch "
                   "dim may be left out)", in, got, want, model);
}

int es_model_load_windows(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          int hop, es_array *x, int *had_batch, int *frames)
{
    return es_model_load_flagged(m, path, o, in, hop, x, had_batch, frames, NULL, NULL);
}

static int load_graph_for(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          es_array *x, int *had_batch);

int es_model_load_flagged(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          int hop, es_array *x, int *had_batch, int *frames, unsigned char **flags,
                          int *nflags)
{
    memset(x, 0, sizeof *x);
    memset(m, 0, sizeof *m);
    *had_batch = 1;
    if (flags)
        *flags = NULL;
    if (!path && !(path = es_model_default_path()))
        return -1;
    if (es_model_read_flagged(path, in, hop, x, frames, flags, nflags) != 0)
        return -1;
    if (load_graph_for(m, path, o, in, x, had_batch) == 0)
        return 0;
    if (flags)
        free(*flags), *flags = NULL;
    return -1;
}

/* The graph for one row of x (read from `in`): x gets its batch dim when the file had none. */
static int load_graph_for(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          es_array *x, int *had_batch)
{
    /* the graph is shaped for one row whatever x holds (a recording's windows, a .npy batch):
     * rows go through es_model_forward_rows in batches, so memory does not grow with them. A
     * sound's x always has the batch dim; a .npy's may not, which the model's rank tells (read
     * without building the graph, for .npy inputs only: a second parse of the file) */
    int rank = x->ndim, decl[ES_MAX_DIMS], shape[ES_MAX_DIMS];
    if (!es_is_sound(in) && es_onnx_peek(path, NULL, &rank, decl) != 0) {
        es_array_free(x);
        return -1;
    }
    if (!es_is_sound(in) && npy_fits(x, rank, decl, in, path) != 0) {
        es_array_free(x);
        return -1;
    }
    memcpy(shape, x->dims, sizeof shape);
    if (x->ndim == rank)
        shape[0] = 1;
    if (load(m, path, o, x->ndim, shape) != 0) {
        es_array_free(x);
        return -1;
    }
    int dims[ES_MAX_DIMS];
    int nd = es_tensor_shape(m->g, m->input, dims);
    if (nd == x->ndim + 1) { /* the batch dim was left out */
        memmove(x->dims + 1, x->dims, x->ndim * sizeof *x->dims);
        x->dims[0] = 1;
        x->ndim++;
        *had_batch = 0;
    }
    return 0;
}

/* Rows per batch: the inference plan's bytes for them within ES_MODEL_BATCH_BYTES, 1 at
 * least. */
static int rows_per_batch(es_graph *g, int rows)
{
    size_t bytes = es_graph_bytes_per_sample(g, 0);
    size_t fit = bytes ? ES_MODEL_BATCH_BYTES / bytes : 1;
    return fit < 1 ? 1 : fit < (size_t)rows ? (int)fit : rows;
}

int es_model_forward_rows_of(es_model *m, int t, const float *x, int rows, float **y, size_t *per_out)
{
    *y = NULL, *per_out = 0;
    if (es_graph_set_batch(m->g, 1) != 0)
        return -1;
    /* forward only (activations die after their reader), t kept readable */
    int plan0 = es_graph_plan(m->g, 0), pin0 = es_graph_pin(m->g, t, 1), rc = 0;
    size_t per_in = es_tensor_size(m->g, m->input), per = es_tensor_size(m->g, t);
    int b = rows_per_batch(m->g, rows);
    float *out = malloc((size_t)rows * per * sizeof *out);
    if (!out)
        rc = es_fail("out of memory");
    for (int r0 = 0; rc == 0 && r0 < rows; r0 += b) {
        int n = rows - r0 < b ? rows - r0 : b;
        if (es_graph_set_batch(m->g, n) != 0) {
            rc = es_error_prefix("%s", m->path);
            break;
        }
        memcpy(es_tensor_data(m->g, m->input), x + (size_t)r0 * per_in, (size_t)n * per_in * sizeof *x);
        if (es_forward(m->g, ES_TEST) != 0)
            rc = es_error_prefix("%s", m->path);
        else
            memcpy(out + (size_t)r0 * per, es_tensor_data(m->g, t), (size_t)n * per * sizeof *out);
    }
    if (pin0 == 0)
        es_graph_pin(m->g, t, 0);
    es_graph_plan(m->g, plan0);
    if (rc != 0)
        return free(out), -1;
    *y = out, *per_out = per;
    return 0;
}

int es_model_forward_rows(es_model *m, const float *x, int rows, float **y, size_t *per_out)
{
    return es_model_forward_rows_of(m, m->output, x, rows, y, per_out);
}
