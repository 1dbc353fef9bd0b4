/* Sanity checks on a clip (pipeline/es_pipeline.h): Adebayo et al.'s model-parameter
 * randomisation run over every window of the clip, and the strip that shows it — one
 * function each for `earsight sanity` and the viewer's pane. (Not sanity.c: the archive
 * would hold two members of that name, saliency/'s and this.) */
#include "pipeline/es_pipeline.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 1024

/* The trainable tensors of the chosen layers, saved so every step can be undone. */
typedef struct {
    int t;
    float *data;
} saved;

static void free_saved(saved *s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i].data);
    free(s);
}

static int save_params(es_graph *g, const int *layers, int n, saved **out, int *n_out)
{
    int cap = 0, k = 0;
    saved *s = NULL;
    for (int l = 0; l < n; l++) {
        const int *in;
        int ni = es_node_inputs(g, layers[l], &in);
        for (int i = 0; i < ni; i++) {
            if (in[i] < 0 || es_tensor_kind_of(g, in[i]) != ES_T_PARAM)
                continue;
            if (k == cap) {
                saved *r = realloc(s, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *s);
                if (!r)
                    return free_saved(s, k), es_fail("out of memory");
                s = r;
            }
            size_t sz = es_tensor_size(g, in[i]) * sizeof(float);
            if (!(s[k].data = malloc(sz)))
                return free_saved(s, k), es_fail("out of memory");
            s[k].t = in[i];
            memcpy(s[k++].data, es_tensor_data(g, in[i]), sz);
        }
    }
    *out = s, *n_out = k;
    return 0;
}

static void restore_params(es_graph *g, const saved *s, int n)
{
    for (int i = 0; i < n; i++)
        memcpy(es_tensor_data(g, s[i].t), s[i].data, es_tensor_size(g, s[i].t) * sizeof(float));
}

static void compare(const es_clip *in, const float *orig, const float *map, es_sanity_row *r)
{
    size_t n = es_clip_map_size(in);
    r->rho = es_spearman(orig, map, n, 0);
    r->rho_abs = es_spearman(orig, map, n, 1);
    int rows, cols;
    float *a = NULL, *b = NULL;
    r->ssim = NAN;
    if (es_clip_picture(in, orig, &rows, &cols, &a) == 0 &&
        es_clip_picture(in, map, &rows, &cols, &b) == 0)
        r->ssim = es_ssim(a, b, rows, cols);
    free(a), free(b);
}

void es_sanity_free(es_sanity *s)
{
    for (int i = 0; s->maps && i <= s->n; i++)
        free(s->maps[i]);
    free(s->maps), free(s->rows);
    memset(s, 0, sizeof *s);
}

/* The run's state: what it counts and how it is told. */
typedef struct {
    const es_sanity_opts *o;
    int done, total;
} run;

static int map_done(run *r)
{
    r->done++;
    if (r->o->each && r->o->each(r->o->ctx, r->done, r->total))
        return es_fail("stopped after %d of %d maps", r->done, r->total);
    return 0;
}

/* The steps of one mode: layer k randomised (cascading: on top of those before it; else
 * alone, restored after). The maps of cascading steps are kept in s->maps[k + 1]. */
static int steps(es_clip *in, const es_sal_opts *so, const int *ids, const saved *sv, int n_saved,
                 int cascading, float *tmp, es_sanity *s, run *r)
{
    es_graph *g = in->m.g;
    for (int k = 0; k < s->n; k++) {
        es_sanity_randomize(g, ids[k], r->o->seed + 1000003ull * k);
        float *map = cascading ? s->maps[k + 1] : tmp;
        int bad = es_clip_saliency(in, so, map, NULL);
        if (!cascading)
            restore_params(g, sv, n_saved);
        if (bad)
            return -1;
        es_sanity_row *row = &s->rows[s->n_rows++];
        row->mode = cascading ? "cascading" : "independent", row->step = k + 1;
        row->layer = es_node_name(g, ids[k]);
        compare(in, s->maps[0], map, row);
        if (map_done(r) != 0)
            return -1;
    }
    restore_params(g, sv, n_saved);
    return 0;
}

int es_clip_sanity(es_clip *in, const es_sal_opts *so, const es_sanity_opts *o, es_sanity *s)
{
    es_graph *g = in->m.g;
    int ids[MAX_LAYERS], n = es_sanity_layers(g, ids, MAX_LAYERS), n_saved = 0, rc = -1;
    memset(s, 0, sizeof *s);
    if (o->layers > 0 && o->layers < n)
        n = o->layers;
    if (n == 0)
        return es_fail("%s: the model has no layers with weights to randomize", in->m.path);
    size_t sz = es_clip_map_size(in);
    int kept = o->cascading ? n + 1 : 1; /* the maps kept: the original, the cascading steps */
    run r = {o, 0, 1 + n * (!!o->cascading + !!o->independent)};
    saved *sv = NULL;
    float *tmp = malloc(sz * sizeof *tmp);
    s->n = n;
    s->maps = calloc((size_t)n + 1, sizeof *s->maps);
    s->rows = calloc(2 * (size_t)n, sizeof *s->rows);
    if (!tmp || !s->maps || !s->rows || save_params(g, ids, n, &sv, &n_saved) != 0) {
        es_fail("out of memory");
        goto done;
    }
    for (int i = 0; i < kept; i++)
        if (!(s->maps[i] = calloc(sz, sizeof **s->maps))) {
            es_fail("out of memory");
            goto done;
        }
    if (es_clip_saliency(in, so, s->maps[0], &s->info) != 0 || map_done(&r) != 0)
        goto done;
    if (o->cascading && steps(in, so, ids, sv, n_saved, 1, tmp, s, &r) != 0)
        goto done;
    if (o->independent && steps(in, so, ids, sv, n_saved, 0, tmp, s, &r) != 0)
        goto done;
    rc = 0;
done:
    restore_params(g, sv, n_saved); /* a stopped or failed step leaves the model as it was */
    free_saved(sv, n_saved);
    free(tmp);
    if (rc != 0)
        es_sanity_free(s);
    return rc;
}

/* "/stages.4.4/bn/BatchNormalization" → "stages.4.4/bn": captions stay short under a tile. */
static const char *short_name(const char *node, char *buf)
{
    const char *s = node[0] == '/' ? node + 1 : node, *last = strrchr(s, '/');
    int n = last ? (int)(last - s) : (int)strlen(s);
    snprintf(buf, 32, "%.*s", n > 31 ? 31 : n, s);
    return buf;
}

#define STRIP_TILES 10 /* at most: the original and evenly spaced steps, the last included */

int es_sanity_strip(const es_sanity *s, const es_clip *in, es_sal_method method, int w, int h,
                    const char *cmap, const char *title, es_font *font, es_canvas *cv)
{
    if (!s->maps || !s->maps[s->n > 0 ? 1 : 0] || s->n_rows < s->n)
        return es_fail("no cascading maps to draw");
    int n = s->n < STRIP_TILES - 1 ? s->n : STRIP_TILES - 1, r = 0, c = 0, rc = -1;
    float *pm[STRIP_TILES] = {0}, sp[STRIP_TILES], ss[STRIP_TILES];
    const char *names[STRIP_TILES];
    char label[STRIP_TILES][32];
    es_font *f = font ? font : es_font_open(NULL);
    memset(cv, 0, sizeof *cv);
    for (int i = 0; f && i <= n; i++) {
        int k = i == 0 || s->n <= STRIP_TILES - 1 ? i : (int)lround((double)i * s->n / n); /* step k */
        if (es_clip_picture(in, s->maps[k], &r, &c, &pm[i]) != 0)
            goto done;
        names[i] = k ? short_name(s->rows[k - 1].layer, label[i]) : "original";
        sp[i] = k ? (float)s->rows[k - 1].rho_abs : NAN;
        ss[i] = k ? (float)s->rows[k - 1].ssim : NAN;
    }
    if (!f)
        goto done;
    char t[256];
    snprintf(t, sizeof t, "%s, class %d: cascading randomization from the top",
             es_sal_method_name(method), s->info.target);
    es_style st = {f};
    int W = w > 0 ? w : 180 * (n + 1) + 40;
    double tile_h = 180.0 * r / (c ? c : 1); /* tiles keep the map's aspect, within reason */
    int H = h > 0 ? h : 90 + (int)(tile_h < 60 ? 60 : tile_h > 400 ? 400 : tile_h);
    if (es_canvas_init(cv, W, H, ES_RGBA(255, 255, 255, 255)) == 0)
        rc = es_plot_sanity_strip(cv, (es_rect){0, 0, W, H}, &st, (const float *const *)pm, names,
                                  sp, ss, n + 1, r, c, cmap, title ? title : t);
done:
    for (int i = 0; i <= n; i++)
        free(pm[i]);
    if (f != font)
        es_font_close(f);
    if (rc != 0)
        es_canvas_free(cv);
    return rc;
}
