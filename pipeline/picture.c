/* One plot into a new canvas, written as PNG; and the axes of an input's picture. */
#include "pipeline/es_pipeline.h"

void es_clip_axes(const es_clip *in, int k, es_axis *x, es_axis *y, int rows, int cols)
{
    if (in->audio) {
        es_feature_axes(&in->cfg, in->bands, (long)k * in->hop, in->F, ES_AXES_TIME | ES_AXES_FREQ,
                        x, y);
        return;
    }
    *x = (es_axis){0, cols, ES_SCALE_LINEAR, "column", 1};
    *y = (es_axis){0, rows, ES_SCALE_LINEAR, "row", 1};
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
