/* One plot into a new canvas, written as PNG; and the axes of an input's picture. */
#include "pipeline/es_pipeline.h"

void es_clip_axes(const es_clip *in, int k, es_axis *x, es_axis *y, int rows, int cols)
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

int es_picture_write(int w, int h, int level, const char *out, const char *const *text,
                     es_picture_draw_fn draw, const void *plot)
{
    es_canvas cv;
    es_font *font = es_font_open(NULL);
    if (!font)
        return -1;
    int rc = -1;
    if (es_canvas_init(&cv, w, h, ES_RGBA(255, 255, 255, 255)) == 0) {
        es_style s = {.font = font};
        es_png_opts po = {level, text};
        rc = draw(&cv, (es_rect){0, 0, w, h}, &s, plot) != 0 ? -1 : es_png_write(out, &cv, &po);
        es_canvas_free(&cv);
    }
    es_font_close(font);
    es_viz_shutdown(); /* fontconfig's caches: one picture per run */
    return rc;
}
