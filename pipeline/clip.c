/* A model and one input in the model's windows (es_clip): loading, every window's scores,
 * the target a user names, maps computed per window and stitched back to the whole input. */
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sound's default hop: half the model's frames, so every frame is seen in two windows. */
static int default_hop(const char *model, const char *file, int hop)
{
    if (!es_is_sound(file) || hop > 0)
        return hop;
    es_meta *meta = NULL;
    int rank, d[ES_MAX_DIMS];
    const char *mp = model ? model : es_model_default_path();
    if (mp && es_onnx_peek(mp, &meta, &rank, d) == 0) {
        const char *js = es_meta_get(meta, ES_META_FEATURES);
        es_feature_config c;
        es_config_default(&c);
        if (js && es_config_from_json(&c, js, mp) == 0 && c.frames > 1)
            hop = c.frames / 2;
    }
    es_meta_free(meta);
    return hop;
}

static int finish_input(es_clip *in, int hop);

int es_clip_load(es_clip *in, const char *model, const char *file, int hop)
{
    memset(in, 0, sizeof *in);
    in->audio = es_is_sound(file);
    hop = default_hop(model, file, hop);
    if (es_model_load_windows(&in->m, model, file, hop, &in->x, &in->had_batch, &in->frames) != 0)
        return -1;
    return finish_input(in, hop);
}

int es_clip_next(es_clip *in, const char *file, int hop)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(in->m.g, in->m.input, d);
    es_array_free(&in->x);
    free(in->scores), in->scores = NULL;
    in->audio = es_is_sound(file);
    hop = default_hop(in->m.path, file, hop);
    if (es_model_read_input(in->m.path, file, hop, &in->x, &in->frames) != 0)
        return -1;
    in->had_batch = 1;
    if (in->x.ndim == nd - 1) { /* no batch dim */
        memmove(in->x.dims + 1, in->x.dims, in->x.ndim * sizeof *in->x.dims);
        in->x.dims[0] = 1, in->x.ndim++, in->had_batch = 0;
    }
    int same = in->x.ndim == nd;
    for (int k = 1; same && k < nd; k++)
        same = in->x.dims[k] == d[k];
    if (!same)
        return 1;
    if (es_graph_set_batch(in->m.g, 1) != 0) /* rows run one at a time (memory stays flat) */
        return -1;
    return finish_input(in, hop);
}

/* The sound's layout and every row's scores. */
static int finish_input(es_clip *in, int hop)
{
    in->st = es_sal_score_tensor(in->m.g);
    es_config_default(&in->cfg);
    if (in->audio) {
        const char *js = es_meta_get(in->m.meta, ES_META_FEATURES);
        if (es_config_from_json(&in->cfg, js, in->m.path) != 0)
            return es_clip_free(in), -1;
        in->F = in->cfg.frames > 0 ? in->cfg.frames : in->frames;
        in->hop = in->cfg.frames > 0 && hop > 0 ? hop : in->F;
        in->time_first = in->cfg.layout == ES_LAYOUT_FRAMES_MELS;
        in->bands = (int)(es_array_size(&in->x) / in->x.dims[0] / in->F);
    }
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    int n = 0;
    for (int r = 0; r < rows; r++) {
        float tmp[1];
        if (r == 0) {
            if (es_sal_scores(in->m.g, in->m.input, in->x.data, tmp, 1, &n) != 0)
                goto fail;
            if (!(in->scores = malloc((size_t)rows * n * sizeof *in->scores))) {
                es_fail("out of memory");
                goto fail;
            }
        }
        if (es_sal_scores(in->m.g, in->m.input, in->x.data + r * per, in->scores + (size_t)r * n, n, &n) != 0)
            goto fail;
    }
    in->classes = n;
    return 0;
fail: {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", es_error());
    es_fail("%s: %s", in->m.path, msg);
    es_clip_free(in);
    return -1;
}
}

void es_clip_free(es_clip *in)
{
    es_model_free(&in->m);
    es_array_free(&in->x);
    free(in->scores);
    memset(in, 0, sizeof *in);
}

/* The label, or the index: the class the user means. -2 out of range, -1 no such name. */
static int find_target(const es_clip *in, const char *t)
{
    char *end;
    long k = strtol(t, &end, 10);
    if (end != t && !*end)
        return k >= 0 && k < in->classes ? (int)k : -2;
    for (int i = 0; i < in->m.n_labels; i++)
        if (strcmp(in->m.labels[i], t) == 0)
            return i < in->classes ? i : -2;
    return -1;
}

int es_clip_target(const es_clip *in, const char *name)
{
    int k = find_target(in, name);
    if (k == -2)
        return es_fail("%s: target %s is out of range (the model scores %d classes)",
                       in->m.path, name, in->classes);
    if (k < 0)
        return es_fail("%s: no class named '%s'%s", in->m.path, name,
                       in->m.n_labels ? "" : " (the model has no labels; give an index)");
    return k;
}

int es_clip_default_target(const es_clip *in)
{
    int rows = in->x.dims[0], best_c = 0;
    double best = -INFINITY;
    for (int c = 0; c < in->classes; c++) {
        double s = 0;
        for (int r = 0; r < rows; r++)
            s += in->scores[(size_t)r * in->classes + c];
        if (s > best)
            best = s, best_c = c;
    }
    return best_c;
}

int es_clip_layer(const es_clip *in, const char *name)
{
    int t = es_sal_layer_find(in->m.g, name);
    if (t < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error());
        return es_fail("%s: %s", in->m.path, msg);
    }
    return t;
}

int es_clip_baseline(const es_clip *in, const char *name, es_array *base, es_sal_opts *o)
{
    if (!name || !strcmp(name, "zero") || !strcmp(name, "min")) {
        o->baseline = name && !strcmp(name, "min") ? ES_BASE_MIN : ES_BASE_ZERO;
        return 0;
    }
    if (es_npy_load(name, base) != 0)
        return -1;
    size_t per = es_array_size(&in->x) / in->x.dims[0];
    if (es_array_size(base) != per)
        return es_fail("%s: the baseline has %zu values, one input sample %zu", name,
                       es_array_size(base), per);
    o->baseline = ES_BASE_ARRAY, o->baseline_data = base->data;
    return 0;
}

size_t es_clip_map_size(const es_clip *in)
{
    int d[ES_MAX_DIMS], n = es_clip_map_shape(in, d);
    size_t s = 1;
    for (int k = 0; k < n; k++)
        s *= d[k];
    return s;
}

int es_clip_map_shape(const es_clip *in, int *d)
{
    if (in->audio) {
        d[0] = in->bands, d[1] = in->frames;
        return 2;
    }
    int off = in->had_batch ? 0 : 1;
    for (int k = off; k < in->x.ndim; k++)
        d[k - off] = in->x.dims[k];
    return in->x.ndim - off;
}

/* Adds window w of a sound's rows (model layout) into (bands × frames) sums and counts. */
static void stitch(const es_clip *in, int w, const float *row, double *sum, int *cnt)
{
    int t0 = w * in->hop;
    for (int t = 0; t < in->F && t0 + t < in->frames; t++)
        for (int b = 0; b < in->bands; b++) {
            size_t src = in->time_first ? (size_t)t * in->bands + b : (size_t)b * in->F + t;
            size_t dst = (size_t)b * in->frames + t0 + t;
            sum[dst] += row[src], cnt[dst]++;
        }
}

int es_clip_stitch(const es_clip *in, const float *rows, float *map)
{
    size_t n = (size_t)in->bands * in->frames, per = es_array_size(&in->x) / in->x.dims[0];
    double *sum = calloc(n, sizeof *sum);
    int *cnt = calloc(n, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum), free(cnt);
        return es_fail("out of memory");
    }
    for (int w = 0; w < in->x.dims[0]; w++)
        stitch(in, w, rows + w * per, sum, cnt);
    for (size_t i = 0; i < n; i++)
        map[i] = cnt[i] ? (float)(sum[i] / cnt[i]) : 0;
    free(sum), free(cnt);
    return 0;
}

int es_clip_saliency_rows(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info)
{
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    float *all = in->audio ? malloc(per * rows * sizeof *all) : map;
    if (!all)
        return es_fail("out of memory");
    es_sal_info ri;
    int rc = 0;
    for (int r = 0; r < rows && rc == 0; r++)
        rc = es_saliency(in->m.g, in->m.input, in->x.data + r * per, o, all + r * per,
                         info ? &info[r] : &ri);
    if (rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_fail("%s: %s", in->m.path, msg);
    } else if (in->audio) {
        rc = es_clip_stitch(in, all, map);
    }
    if (all != map)
        free(all);
    return rc;
}

int es_clip_saliency(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info)
{
    es_sal_info *ri = calloc(in->x.dims[0], sizeof *ri);
    if (!ri)
        return es_fail("out of memory");
    int rc = es_clip_saliency_rows(in, o, map, ri);
    for (int r = 1; rc == 0 && r < in->x.dims[0]; r++)
        if (fabsf(ri[r].delta) > fabsf(ri[0].delta))
            ri[0].delta = ri[r].delta;
    if (rc == 0 && info)
        *info = ri[0];
    free(ri);
    return rc;
}

void es_clip_probabilities(const es_clip *in, const float *s, float *p)
{
    int out = in->m.output, C = in->classes;
    int node = es_node_producing(in->m.g, out);
    es_op_type op = node >= 0 && in->st != out ? es_node_op(in->m.g, node) : ES_OP_SOFTMAX;
    if (op == ES_OP_SIGMOID || (in->st == out && C == 1)) {
        for (int c = 0; c < C; c++)
            p[c] = 1 / (1 + expf(-s[c]));
        return;
    }
    float mx = -INFINITY;
    double z = 0;
    for (int c = 0; c < C; c++)
        mx = s[c] > mx ? s[c] : mx;
    for (int c = 0; c < C; c++)
        z += exp(s[c] - mx);
    for (int c = 0; c < C; c++)
        p[c] = (float)(exp(s[c] - mx) / z);
}


/* The matrix a picture shows: a sound's (bands × frames) as is; a tensor's last two dims
 * (frames_mels models turned to mels × frames), channels summed. */
int es_clip_picture(const es_clip *in, const float *v, int *rows, int *cols, float **out)
{
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    size_t n = es_clip_map_size(in);
    int r = nd >= 2 ? d[nd - 2] : 1, c = d[nd - 1];
    size_t plane = (size_t)r * c;
    float *m = calloc(plane, sizeof *m);
    if (!m)
        return es_fail("out of memory");
    for (size_t i = 0; i < n; i++)
        m[i % plane] += v[i];
    const char *js = es_meta_get(in->m.meta, ES_META_FEATURES);
    es_feature_config cfg;
    es_config_default(&cfg);
    if (!in->audio && js && es_config_from_json(&cfg, js, "") == 0 &&
        cfg.layout == ES_LAYOUT_FRAMES_MELS) {
        float *t = malloc(plane * sizeof *t);
        if (!t)
            return free(m), es_fail("out of memory");
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                t[(size_t)j * r + i] = m[(size_t)i * c + j];
        free(m), m = t;
        int tmp = r;
        r = c, c = tmp;
    }
    *rows = r, *cols = c, *out = m;
    return 0;
}
