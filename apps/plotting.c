#include "apps/plotting.h"
#include "apps/cli.h"
#include <stdio.h>
#include <stdlib.h>

void plot_args_init(plot_args *a, int w, int h)
{
    *a = (plot_args){.w = w, .h = h, .level = -1};
}

int plot_flag(plot_args *a, const char *verb, int code, const char *v)
{
    char extra;
    switch (code) {
    case PLOT_SIZE:
        if (sscanf(v, "%dx%d%c", &a->w, &a->h, &extra) != 2 || a->w < 1 || a->h < 1 ||
            a->w > 16384 || a->h > 16384)
            return cli_usage(verb, "--size needs WxH, 1..16384 pixels each, e.g. 1200x900 (not '%s')", v);
        return 0;
    case PLOT_CMAP:
        if (!es_cmap_get(v))
            return cli_usage(verb, "unknown colour map '%s' (one of: %s)", v, es_cmap_list());
        a->cmap = v;
        return 0;
    case PLOT_TITLE:
        a->title = v;
        return 0;
    case PLOT_LEVEL:
        if (sscanf(v, "%d%c", &a->level, &extra) != 1 || a->level < 0 || a->level > 9)
            return cli_usage(verb, "--png-level needs 0..9, not '%s'", v);
        return 0;
    }
    return 2; /* getopt's '?' and ':': it has printed why */
}

void plot_input_axes(const sal_input *in, int k, es_axis *x, es_axis *y, int rows, int cols)
{
    if (!in->audio) {
        *x = (es_axis){0, cols, ES_SCALE_LINEAR, "column", 1};
        *y = (es_axis){0, rows, ES_SCALE_LINEAR, "row", 1};
        return;
    }
    const es_feature_config *c = &in->cfg;
    double frame_s = (double)c->hop_length / c->sample_rate, t0 = (double)k * in->hop * frame_s;
    double fmax = c->f_max > 0 ? c->f_max : c->sample_rate / 2.0 + c->f_max;
    *x = (es_axis){t0, t0 + in->F * frame_s, ES_SCALE_LINEAR, "Time (s)", 0};
    *y = (es_axis){c->f_min, fmax, c->mel_scale == ES_MEL_HTK ? ES_SCALE_MEL_HTK : ES_SCALE_MEL_SLANEY,
                   "Frequency (Hz)", 0};
}

int plot_write(const plot_args *a, const char *out, const char *const *text, plot_draw_fn draw,
               const void *plot)
{
    es_canvas cv;
    es_font *font = es_font_open(NULL);
    if (!font)
        return -1;
    int rc = -1;
    if (es_canvas_init(&cv, a->w, a->h, ES_RGBA(255, 255, 255, 255)) == 0) {
        es_style s = {.font = font};
        es_png_opts po = {a->level, text};
        rc = draw(&cv, (es_rect){0, 0, a->w, a->h}, &s, plot) != 0 ? -1 : es_png_write(out, &cv, &po);
        es_canvas_free(&cv);
    }
    es_font_close(font);
    es_viz_shutdown(); /* fontconfig's caches: one picture per run */
    return rc;
}
