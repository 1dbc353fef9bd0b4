/* PNG out (and in, for checks and the viewer) with libpng. Writing is tuned for speed:
 * zlib level 1 and the UP filter by default. Plots repeat rows (an 80-mel image drawn 500
 * pixels high) and have flat areas, which UP turns into zeros: on the bench figure it was
 * both the fastest choice and smaller than adaptive filtering (8 ms, 114 kB against
 * 18 ms, 121 kB), a larger zlib buffer saves a little more. */
#include "base/es_base.h"
#include "viz/es_viz.h"
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void png_err(png_structp png, png_const_charp msg)
{
    es_fail("%s", msg); /* the caller adds the file name */
    png_longjmp(png, 1);
}
static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int opaque(const es_canvas *c)
{
    for (int y = 0; y < c->h; y++) {
        const uint8_t *p = es_canvas_row(c, y) + 3;
        for (int x = 0; x < c->w; x++, p += 4)
            if (*p != 255)
                return 0;
    }
    return 1;
}

/* Everything that may longjmp lives here; `rows` and `text` are allocated by the caller so
 * that nothing leaks when libpng jumps out. */
static int write_body(png_structp png, png_infop info, FILE *f, const es_canvas *c, int level,
                      png_bytep *rows, png_text *text, int ntext)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_init_io(png, f);
    int rgb = opaque(c);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8,
                 rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, level == 0 ? PNG_FILTER_NONE : PNG_FILTER_UP);
    png_set_compression_buffer_size(png, 1 << 17);
    if (ntext)
        png_set_text(png, info, text, ntext);
    png_write_info(png, info);
    if (rgb)
        png_set_filler(png, 0, PNG_FILLER_AFTER); /* drop the alpha byte of each pixel */
    for (int y = 0; y < c->h; y++)
        rows[y] = es_canvas_row(c, y);
    png_write_image(png, rows);
    png_write_end(png, info);
    return 0;
}

int es_png_write(const char *path, const es_canvas *c, const es_png_opts *opts)
{
    if (!c || !c->px || c->w <= 0 || c->h <= 0)
        return es_fail("%s: nothing to write (empty canvas)", path);
    int level = opts && opts->level >= 0 ? opts->level : 1;
    if (level > 9)
        return es_fail("%s: PNG compression level %d is not in 0..9", path, level);
    int ntext = 1;
    for (const char *const *t = opts ? opts->text : NULL; t && t[0]; t += 2) {
        if (!t[1])
            return es_fail("%s: PNG text key '%s' has no value", path, t[0]);
        if (strlen(t[0]) < 1 || strlen(t[0]) > 79)
            return es_fail("%s: PNG text key '%s' must be 1..79 characters", path, t[0]);
        ntext++;
    }
    png_text *text = calloc((size_t)ntext, sizeof *text);
    png_bytep *rows = malloc(sizeof *rows * (size_t)c->h);
    if (!text || !rows) {
        free(text), free(rows);
        return es_fail("%s: out of memory", path);
    }
    text[0] = (png_text){PNG_TEXT_COMPRESSION_NONE, "earsight", ES_VERSION};
    const char *const *t = opts ? opts->text : NULL;
    for (int i = 1; i < ntext; i++, t += 2)
        text[i] = (png_text){PNG_TEXT_COMPRESSION_NONE, (char *)t[0], (char *)t[1]};

    es_atomic a;
    if (es_atomic_open(&a, path) != 0) {
        free(text), free(rows);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = png && info ? write_body(png, info, a.f, c, level, rows, text, ntext)
                         : es_fail("out of memory");
    png_destroy_write_struct(&png, &info);
    free(text), free(rows);
    if (rc != 0) {
        es_atomic_abort(&a);
        return es_error_prefix("%s: cannot write PNG", path);
    }
    return es_atomic_commit(&a);
}

int es_png_read(const char *path, es_canvas *out)
{
    memset(out, 0, sizeof *out);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return es_fail("%s: cannot read PNG: %s", path, img.message);
    img.format = PNG_FORMAT_RGBA;
    if (es_canvas_init(out, (int)img.width, (int)img.height, ES_RGBA(0, 0, 0, 0)) != 0) {
        png_image_free(&img);
        return -1;
    }
    if (!png_image_finish_read(&img, NULL, out->px, out->stride, NULL)) {
        es_canvas_free(out);
        return es_fail("%s: cannot read PNG: %s", path, img.message);
    }
    return 0;
}
