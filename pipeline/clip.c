/* A model and one input in the model's windows (es_clip): loading, every window's scores,
 * the target a user names, maps computed per window and stitched back to the whole input. */
#include "pipeline/internal.h"
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

static int finish_input(es_clip *in, const char *file, int hop);

int es_clip_load(es_clip *in, const char *model, const es_model_opts *o, const char *file, int hop)
{
    memset(in, 0, sizeof *in);
    in->aggregate = -1;
    in->audio = es_is_sound(file);
    hop = default_hop(model, file, hop);
    if (es_model_load_flagged(&in->m, model, o, file, hop, &in->x, &in->had_batch, &in->frames,
                              &in->vflags, NULL) != 0)
        return -1;
    return finish_input(in, file, hop);
}

/* Drops what belongs to the input (not the model). */
static void unpin_all(es_clip *in);
static void free_input(es_clip *in)
{
    unpin_all(in);
    es_array_free(&in->x);
    free(in->scores), free(in->vrow), free(in->vx), free(in->vscores), free(in->vflags);
    in->scores = in->vx = in->vscores = NULL, in->vrow = NULL, in->vflags = NULL;
    in->verdicts = 0;
}

int es_clip_next(es_clip *in, const char *file, int hop)
{
    int d[ES_MAX_DIMS], nd = es_tensor_shape(in->m.g, in->m.input, d);
    free_input(in);
    in->audio = es_is_sound(file);
    hop = default_hop(in->m.path, file, hop);
    if (es_model_read_flagged(in->m.path, file, hop, &in->x, &in->frames, &in->vflags, NULL) != 0)
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
    return finish_input(in, file, hop);
}

/* The scores (before the squashing) of `rows` rows of x into *scores (malloc'd, rows × *n),
 * in memory-bounded batches. */
static int row_scores(es_clip *in, const float *x, int rows, float **scores, int *n)
{
    size_t per = 0;
    if (es_model_forward_rows_of(&in->m, in->st, x, rows, scores, &per) != 0)
        return -1;
    *n = (int)per;
    return 0;
}

/* The window side by side that starts at frame s past the rows' last start, made from the
 * last row, which holds frames s .. T-1 (pad_repeat as es_pl_window, band shift 0). */
static void window_from_last_row(const es_clip *in, int s, float *out)
{
    int rows = in->x.dims[0], F = in->F, B = in->bands, have = in->frames - s;
    int off = s - (rows - 1) * in->hop; /* frame s in the last row */
    size_t per = (size_t)F * B;
    const float *last = in->x.data + (rows - 1) * per;
    for (int t = 0; t < F; t++) {
        int src = t < have ? t : in->cfg.fit == ES_FIT_PAD_REPEAT ? t % have : -1;
        for (int b = 0; b < B; b++) {
            size_t to = in->time_first ? (size_t)t * B + b : (size_t)b * F + t;
            size_t from = in->time_first ? (size_t)(off + src) * B + b : (size_t)b * F + off + src;
            out[to] = src < 0 ? 0.0f : last[from];
        }
    }
}

/* The windows side by side a verdict is taken over (es_pipeline.h, "one verdict"), before the
 * rows are scored: when the hop divides F they are the rows that start at k·F, but for the
 * last one when the rows stop short of it (made from the last row into vx); else the sound
 * read again with hop F (vx). *vs gets vx's scores (malloc'd), NULL when there is no vx. */
static int verdict_windows(es_clip *in, const char *file, float **vs)
{
    int rows = in->x.dims[0], F = in->F, n;
    int nv = in->audio && in->cfg.frames > 0 && in->frames > F ? (in->frames - 1) / F + 1 : 1;
    if (!in->audio)
        nv = rows;
    in->verdicts = nv, *vs = NULL;
    int step = !in->audio ? 1 : F % in->hop == 0 ? F / in->hop : 0;
    if (step) {
        if (!(in->vrow = malloc((size_t)nv * sizeof *in->vrow)))
            return es_fail("out of memory");
        for (int k = 0; k < nv; k++)
            in->vrow[k] = k * step < rows ? k * step : -1;
        if (in->vrow[nv - 1] >= 0) /* (only the last can be missing: the rows reach T - F) */
            return 0;
        if (!(in->vx = malloc(es_array_size(&in->x) / rows * sizeof *in->vx)))
            return es_fail("out of memory");
        window_from_last_row(in, (nv - 1) * F, in->vx);
        return row_scores(in, in->vx, 1, vs, &n);
    }
    es_array vx;
    if (es_model_read_input(in->m.path, file, F, &vx, NULL) != 0)
        return -1;
    in->vx = vx.data;
    return vx.dims[0] == nv ? row_scores(in, vx.data, nv, vs, &n)
                            : es_fail("%s: %d windows side by side, not %d", file, vx.dims[0], nv);
}

/* The verdict windows' scores once the rows have theirs: the rows' and vx's (vs, taken). */
static int verdict_scores(es_clip *in, float *vs)
{
    int nv = in->verdicts, C = in->classes;
    if (!in->vrow) {
        in->vscores = vs;
        return 0;
    }
    if (!(in->vscores = malloc((size_t)nv * C * sizeof *in->vscores))) {
        free(vs);
        return es_fail("out of memory");
    }
    for (int k = 0; k < nv; k++)
        memcpy(in->vscores + (size_t)k * C,
               in->vrow[k] >= 0 ? in->scores + (size_t)in->vrow[k] * C : vs, C * sizeof *vs);
    free(vs);
    return 0;
}

/* ---- one forward pass for scores and explanations ------------------------------------------ */
/* Rows one pass that keeps what backward reads takes: all of them when they fit within
 * ES_SAL_BATCH_BYTES (one pass then serves every method), else as many as fit within
 * ES_MODEL_BATCH_BYTES (a long recording: memory stays flat, and a pass per method costs
 * no more than one for all). */
static int rows_kept_at_once(es_clip *in)
{
    size_t b = es_graph_bytes_per_sample(in->m.g, ES_GRAD_INPUTS), rows = in->x.dims[0];
    if (b && rows * b <= ES_SAL_BATCH_BYTES)
        return (int)rows;
    size_t fit = b ? ES_MODEL_BATCH_BYTES / b : 1;
    return fit < 1 ? 1 : (int)fit;
}

static void pin(es_clip *in, int k, int t)
{
    if (in->unpin[k] && in->unpin[k] != t + 1)
        es_graph_pin(in->m.g, in->unpin[k] - 1, 0), in->unpin[k] = 0;
    if (t >= 0 && es_graph_pin(in->m.g, t, 1) == 0)
        in->unpin[k] = t + 1;
}

static void unpin_all(es_clip *in)
{
    for (int k = 0; k < 2 && in->m.g; k++)
        pin(in, k, -1);
    in->kept = 0, in->kept_layer = -1;
}

/* Rows r0 … r0+n-1 forwarded under the saliency plan (ES_GRAD_INPUTS), the scores and the
 * Grad-CAM layer (-1: the default one) pinned: what es_saliency_forwarded explains. */
static int forward_kept(es_clip *in, int r0, int n, int layer)
{
    es_graph *g = in->m.g;
    size_t per = es_array_size(&in->x) / in->x.dims[0];
    in->kept = 0, in->kept_layer = layer >= 0 ? layer : es_sal_default_layer(g);
    pin(in, 0, in->st), pin(in, 1, in->kept_layer);
    es_graph_plan(g, ES_GRAD_INPUTS);
    if (es_graph_set_batch(g, n) != 0)
        return -1;
    memcpy(es_tensor_data(g, in->m.input), in->x.data + r0 * per, n * per * sizeof(float));
    if (es_forward(g, ES_TEST) != 0)
        return -1;
    in->kept = r0 == 0 && n == in->x.dims[0] ? es_graph_forward_id(g) : 0;
    return 0;
}

/* Every row's scores: by a kept pass (es_clip.keep) when the rows fit one. */
static int score_rows(es_clip *in)
{
    int rows = in->x.dims[0], n;
    if (!in->keep || rows_kept_at_once(in) < rows)
        return row_scores(in, in->x.data, rows, &in->scores, &n) == 0 ? (in->classes = n, 0) : -1;
    if (forward_kept(in, 0, rows, -1) != 0)
        return -1;
    size_t C = es_tensor_size(in->m.g, in->st) / rows;
    if (!(in->scores = malloc(rows * C * sizeof *in->scores)))
        return es_fail("out of memory");
    memcpy(in->scores, es_tensor_data(in->m.g, in->st), rows * C * sizeof *in->scores);
    in->classes = (int)C;
    return 0;
}

/* The sound's layout, every row's scores and the verdict's windows. */
static int finish_input(es_clip *in, const char *file, int hop)
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
    float *vs = NULL;
    if (verdict_windows(in, file, &vs) != 0 || score_rows(in) != 0) {
        free(vs);
        goto fail;
    }
    if (verdict_scores(in, vs) != 0)
        goto fail;
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
    free_input(in);
    es_model_free(&in->m);
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

int es_clip_default_target(const es_clip *in, const es_aggregate *rule)
{
    es_verdict v;
    if (es_clip_verdict(in, rule, &v) != 0)
        return -1;
    int k = v.cls;
    es_verdict_free(&v);
    return k;
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

/* The features of a silent sound as the model's pipeline makes them: one window of F frames
 * of zeros through its features, log, standardisation and layout (per floats into out). */
static int silence_window(const es_clip *in, float *out)
{
    es_features *f = es_features_new(&in->cfg);
    if (!f)
        return -1;
    long n = (long)(in->F > 1 ? in->F - 1 : 1) * in->cfg.hop_length + 1;
    float *zero = calloc((size_t)n, sizeof *zero);
    es_array feat = {0};
    int rc = zero ? es_features_compute(f, zero, n, &feat) : es_fail("out of memory");
    if (rc == 0) {
        es_pl_standardize(feat.data, feat.dims[0], feat.dims[1], in->cfg.standardize);
        es_pl_window(&in->cfg, feat.data, feat.dims[0], feat.dims[1], 0, 0, out);
    }
    es_array_free(&feat), free(zero), es_features_free(f);
    return rc;
}

/* One Gaussian pass (sigma in cells, edges repeated) along an axis of n cells `step` apart,
 * for `lines` lines starting `stride` apart. */
static void blur_axis(float *v, int n, size_t step, int lines, size_t stride, size_t lstep,
                      float *tmp)
{
    int R = (int)ceil(3 * ES_BLUR_SIGMA);
    for (int l = 0; l < lines; l++) {
        float *x = v + (size_t)(l / stride) * lstep + (size_t)(l % stride);
        for (int i = 0; i < n; i++) {
            double s = 0, ws = 0;
            for (int d = -R; d <= R; d++) {
                int k = i + d < 0 ? 0 : i + d >= n ? n - 1 : i + d;
                double w = exp(-0.5 * d * d / (ES_BLUR_SIGMA * ES_BLUR_SIGMA));
                s += w * x[(size_t)k * step], ws += w;
            }
            tmp[i] = (float)(s / ws);
        }
        for (int i = 0; i < n; i++)
            x[(size_t)i * step] = tmp[i];
    }
}

/* Every row of x blurred along its last two dims (the last one for a rank-2 input). */
static int blur_rows(const es_clip *in, float *out)
{
    int nd = in->x.ndim, W = in->x.dims[nd - 1], H = nd >= 3 ? in->x.dims[nd - 2] : 1;
    size_t n = es_array_size(&in->x), plane = (size_t)H * W;
    float *tmp = malloc((size_t)(H > W ? H : W) * sizeof *tmp);
    if (!tmp)
        return es_fail("out of memory");
    memcpy(out, in->x.data, n * sizeof *out);
    int planes = (int)(n / plane);
    blur_axis(out, W, 1, planes * H, 1, W, tmp);   /* along each row of each plane */
    if (H > 1)
        blur_axis(out, H, W, planes * W, W, plane, tmp); /* along each column */
    free(tmp);
    return 0;
}

int es_clip_baseline(const es_clip *in, const char *name, es_array *base, es_sal_opts *o)
{
    o->baseline_stride = 0;
    if (!name || !strcmp(name, "zero") || !strcmp(name, "min")) {
        o->baseline = name && !strcmp(name, "min") ? ES_BASE_MIN : ES_BASE_ZERO;
        return 0;
    }
    size_t per = es_array_size(&in->x) / in->x.dims[0];
    int silence = !strcmp(name, "silence"), blur = !strcmp(name, "blur");
    if (silence || blur) {
        if (silence && !in->audio)
            return es_fail("%s: the silence baseline needs a sound (a .npy has no features to "
                           "make silence with)", in->m.path);
        memset(base, 0, sizeof *base);
        base->ndim = 1, base->dims[0] = (int)(blur ? es_array_size(&in->x) : per);
        if (!(base->data = malloc(es_array_size(base) * sizeof *base->data)))
            return es_fail("out of memory");
        if ((silence ? silence_window(in, base->data) : blur_rows(in, base->data)) != 0)
            return -1;
        o->baseline = ES_BASE_ARRAY, o->baseline_data = base->data;
        o->baseline_stride = blur ? per : 0;
        return 0;
    }
    if (es_is_sound(name))
        return es_fail("%s: a baseline is zero, min, silence, blur or a .npy file", name);
    if (es_npy_load(name, base) != 0)
        return -1;
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

/* A window's weight at its frame t of F: a triangle, 1 in the middle, 1/F at the ends. */
static double fade(int t, int F)
{
    double d = t + 0.5 < F - t - 0.5 ? t + 0.5 : F - t - 0.5;
    return 2 * d / F;
}

/* Adds window w of a sound's rows (model layout), weighted, into (bands × frames) sums, and
 * its weights into wsum (per frame). */
static void stitch(const es_clip *in, int w, const float *row, double *sum, double *wsum)
{
    int t0 = w * in->hop;
    for (int t = 0; t < in->F && t0 + t < in->frames; t++) {
        double k = fade(t, in->F);
        wsum[t0 + t] += k;
        for (int b = 0; b < in->bands; b++) {
            size_t src = in->time_first ? (size_t)t * in->bands + b : (size_t)b * in->F + t;
            sum[(size_t)b * in->frames + t0 + t] += k * row[src];
        }
    }
}

int es_clip_stitch(const es_clip *in, const float *rows, float *map)
{
    size_t n = (size_t)in->bands * in->frames, per = es_array_size(&in->x) / in->x.dims[0];
    double *sum = calloc(n, sizeof *sum), *wsum = calloc(in->frames, sizeof *wsum);
    if (!sum || !wsum) {
        free(sum), free(wsum);
        return es_fail("out of memory");
    }
    for (int w = 0; w < in->x.dims[0]; w++)
        stitch(in, w, rows + w * per, sum, wsum);
    for (size_t i = 0; i < n; i++)
        map[i] = wsum[i % in->frames] > 0 ? (float)(sum[i] / wsum[i % in->frames]) : 0;
    free(sum), free(wsum);
    return 0;
}

/* A single-pass method over every row: from the kept pass when it holds them all with the
 * method's layer pinned, else from passes over as many rows as fit at once. */
static int single_pass_rows(es_clip *in, const es_sal_opts *o, float *all, es_sal_info *info)
{
    es_graph *g = in->m.g;
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    int cam = o->method == ES_SAL_GRADCAM || o->method == ES_SAL_GUIDED_GRADCAM;
    int layer = cam && o->layer >= 0 ? o->layer : es_sal_default_layer(g);
    int reuse = in->kept && in->kept == es_graph_forward_id(g) && (!cam || layer == in->kept_layer);
    int chunk = reuse ? rows : rows_kept_at_once(in); /* (which runs passes of its own) */
    for (int r0 = 0, b; r0 < rows; r0 += b) {
        b = rows - r0 < chunk ? rows - r0 : chunk;
        if (o->cancel && *o->cancel)
            return es_fail("cancelled");
        if (!(reuse && r0 == 0 && b == rows) && forward_kept(in, r0, b, layer) != 0)
            return -1;
        if (es_saliency_forwarded(g, in->m.input, in->x.data + r0 * per, b, o, all + r0 * per,
                                  info + r0) != 0)
            return -1;
        if (in->each && in->each(in->each_ctx, r0 + b, rows))
            return es_fail("interrupted after %d of %d windows", r0 + b, rows);
    }
    return 0;
}

/* A method of its own passes (IG, SmoothGrad, occlusion) row by row. */
static int each_row(es_clip *in, const es_sal_opts *o, float *all, es_sal_info *info)
{
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    es_sal_opts ro = *o;
    for (int r = 0; r < rows; r++) {
        if (o->baseline == ES_BASE_ARRAY)
            ro.baseline_data = o->baseline_data + r * o->baseline_stride;
        if (es_saliency(in->m.g, in->m.input, in->x.data + r * per, &ro, all + r * per, &info[r]) != 0)
            return -1;
        if (in->each && in->each(in->each_ctx, r + 1, rows))
            return es_fail("interrupted after %d of %d windows", r + 1, rows);
    }
    return 0;
}

int es_clip_saliency_rows(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info)
{
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    float *all = in->audio ? malloc(per * rows * sizeof *all) : map;
    es_sal_info *ri = info ? info : calloc(rows, sizeof *ri);
    if (!all || !ri) {
        if (all != map)
            free(all);
        return es_fail("out of memory");
    }
    int rc = es_sal_single_pass(o->method) ? single_pass_rows(in, o, all, ri) : each_row(in, o, all, ri);
    if (rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error());
        es_fail("%s: %s", in->m.path, msg);
    } else if (in->audio) {
        rc = es_clip_stitch(in, all, map);
    }
    if (all != map)
        free(all);
    if (ri != info)
        free(ri);
    return rc;
}

int es_clip_deciding_row(const es_clip *in)
{
    es_verdict v;
    if (!in->vrow || es_clip_verdict(in, NULL, &v) != 0)
        return -1;
    int r = in->vrow[v.window];
    es_verdict_free(&v);
    return r;
}

int es_clip_saliency(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info)
{
    es_sal_info *ri = calloc(in->x.dims[0], sizeof *ri);
    if (!ri)
        return es_fail("out of memory");
    int rc = es_clip_saliency_rows(in, o, map, ri), d = es_clip_deciding_row(in);
    float delta = ri[0].delta;
    for (int r = 1; rc == 0 && r < in->x.dims[0]; r++)
        delta = fabsf(ri[r].delta) > fabsf(delta) ? ri[r].delta : delta;
    if (rc == 0 && info)
        *info = ri[d >= 0 ? d : 0], info->delta = delta;
    free(ri);
    return rc;
}

int es_clip_saliency_window(es_clip *in, const es_sal_opts *o, int k, float *map,
                            es_sal_info *info)
{
    if (k < 0 || k >= in->verdicts)
        return es_fail("%s: no window %d (%d windows)", in->m.path, k, in->verdicts);
    size_t per = es_array_size(&in->x) / in->x.dims[0], n = es_clip_map_size(in);
    int row = in->vrow ? in->vrow[k] : -1;
    /* vx: every window (vrow NULL), or the last alone */
    const float *x = row >= 0 ? in->x.data + row * per : in->vx + (in->vrow ? 0 : k * per);
    float *one = malloc(per * sizeof *one);
    if (!one)
        return es_fail("out of memory");
    es_sal_opts ro = *o;
    if (o->baseline == ES_BASE_ARRAY && o->baseline_stride) /* a baseline per row of x */
        ro.baseline_data = row >= 0 ? o->baseline_data + row * o->baseline_stride : NULL;
    es_sal_info ri;
    int rc = ro.baseline == ES_BASE_ARRAY && !ro.baseline_data
                 ? es_fail("%s: a per-window baseline needs the window among the rows (a hop "
                           "that divides the model's frames)", in->m.path)
                 : es_saliency(in->m.g, in->m.input, x, &ro, one, info ? info : &ri);
    if (rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", es_error());
        free(one);
        return es_fail("%s: %s", in->m.path, msg);
    }
    memset(map, 0, n * sizeof *map);
    if (!in->audio) {
        memcpy(map + (n > per ? k * per : 0), one, per * sizeof *map);
    } else {
        int t0 = k * in->F;
        for (int t = 0; t < in->F && t0 + t < in->frames; t++)
            for (int b = 0; b < in->bands; b++)
                map[(size_t)b * in->frames + t0 + t] =
                    one[in->time_first ? (size_t)t * in->bands + b : (size_t)b * in->F + t];
    }
    free(one);
    return 0;
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
    es_pl_softmax(s, C, p);
}

void es_pl_softmax(const float *s, int n, float *p)
{
    float mx = -INFINITY;
    double z = 0;
    for (int c = 0; c < n; c++)
        mx = s[c] > mx ? s[c] : mx;
    for (int c = 0; c < n; c++)
        z += exp(s[c] - mx);
    for (int c = 0; c < n; c++)
        p[c] = (float)(exp(s[c] - mx) / z);
}


/* The matrix a picture shows: a sound's (bands × frames) as is; a tensor's last two dims
 * (frames_mels models turned to mels × frames), channels summed. */
int es_clip_picture(const es_clip *in, const float *v, int *rows, int *cols, float **out)
{
    int d[ES_MAX_DIMS], nd = es_clip_map_shape(in, d);
    size_t n = es_clip_map_size(in);
    int r = nd >= 2 ? d[nd - 2] : 1, c = nd >= 1 ? d[nd - 1] : 1; /* a scalar input: one cell */
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
