/* PNG out (and in, for checks and the viewer) with libpng. Writing is tuned for speed: the
 * UP filter, and by default ISA-L's igzip at level 1 for the deflate stream, which libpng
 * frames as IDAT chunks (png_write_chunk). Plots repeat rows (an 80-mel image drawn 500
 * pixels high) and have flat areas, which UP turns into zeros: on the bench figure it was
 * both the fastest choice and smaller than adaptive filtering (8 ms, 114 kB against
 * 18 ms, 121 kB). On export's 1000 x 450 pictures igzip deflates in 0.8 ms what zlib's
 * fastest level takes 5.5 ms for, in a file about a fifth larger (87 against 74 kB); an
 * explicit level 0..9 goes through zlib as before. */
#include "base/es_base.h"
#include "viz/es_viz.h"
#include <isa-l/igzip_lib.h>
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

/* Buffers of the igzip path, allocated by the caller so that nothing leaks when libpng
 * jumps out: filtered rows (a batch of them is deflated at a time; sized for RGBA, so an
 * RGB row has a spare byte), the row above, the compressed output (one IDAT chunk when
 * full) and igzip's level buffer. */
enum { FAST_ROWS_BYTES = 1 << 18, FAST_OUT = 1 << 16 };
typedef struct {
    uint8_t *filt, *prev, *out, *level_buf;
    size_t rows; /* rows a batch of filt holds */
} fast_bufs;

static int fast_alloc(fast_bufs *b, const es_canvas *c)
{
    size_t rowb = 1 + 4 * (size_t)c->w;
    b->rows = FAST_ROWS_BYTES / rowb > 0 ? FAST_ROWS_BYTES / rowb : 1;
    b->filt = malloc(b->rows * rowb);
    b->prev = calloc(4 * (size_t)c->w, 1);
    b->out = malloc(FAST_OUT);
    b->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    return b->filt && b->prev && b->out && b->level_buf ? 0 : -1;
}

static void fast_free(fast_bufs *b) { free(b->filt), free(b->prev), free(b->out), free(b->level_buf); }

/* Row y (bpp bytes a pixel: RGB drops alpha) with the UP filter into d: filter byte 2, then
 * each byte minus the one above it (prev holds the row above as RGBA, and becomes row y).
 * RGB takes a pixel at a time, its four bytes subtracted at once without borrows between
 * them, and stores four bytes of which the next pixel overwrites the last (d has a spare
 * byte past the row). */
static void filter_up(const es_canvas *c, int y, int bpp, uint8_t *prev, uint8_t *d)
{
    const uint8_t *s = es_canvas_row(c, y);
    size_t n = 4 * (size_t)c->w;
    *d++ = 2;
    if (bpp == 4)
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)(s[i] - prev[i]);
    else
        for (size_t i = 0; i < n; i += 4, d += 3) {
            const uint32_t H = 0x80808080u;
            uint32_t a, b;
            memcpy(&a, s + i, 4), memcpy(&b, prev + i, 4);
            uint32_t diff = ((a | H) - (b & ~H)) ^ ((a ^ ~b) & H);
            memcpy(d, &diff, 4);
        }
    memcpy(prev, s, n);
}

/* The image data as IDAT chunks deflated by igzip at level 1, then IEND. */
static int write_fast(png_structp png, const es_canvas *c, int bpp, fast_bufs *b)
{
    size_t rowb = 1 + (size_t)bpp * c->w;
    struct isal_zstream z;
    isal_deflate_init(&z);
    z.level = 1, z.level_buf = b->level_buf, z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    z.gzip_flag = IGZIP_ZLIB, z.flush = NO_FLUSH;
    z.next_out = b->out, z.avail_out = FAST_OUT;
    for (int y0 = 0; y0 < c->h; y0 += (int)b->rows) {
        int y1 = y0 + (int)b->rows < c->h ? y0 + (int)b->rows : c->h;
        for (int y = y0; y < y1; y++)
            filter_up(c, y, bpp, b->prev, b->filt + (size_t)(y - y0) * rowb);
        z.next_in = b->filt, z.avail_in = (uint32_t)((size_t)(y1 - y0) * rowb);
        z.end_of_stream = y1 == c->h;
        for (;;) {
            if (isal_deflate(&z) != COMP_OK)
                return es_fail("deflate failed");
            int done = z.avail_in == 0 && (!z.end_of_stream || z.internal_state.state == ZSTATE_END);
            if (z.avail_out == 0 || (done && z.end_of_stream && z.avail_out < FAST_OUT)) {
                png_write_chunk(png, (png_const_bytep) "IDAT", b->out, FAST_OUT - z.avail_out);
                z.next_out = b->out, z.avail_out = FAST_OUT;
            }
            if (done)
                break;
        }
    }
    png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    return 0;
}

/* Everything that may longjmp lives here; `rows`, `text` and the igzip buffers are
 * allocated by the caller so that nothing leaks when libpng jumps out. level < 0: igzip. */
static int write_body(png_structp png, png_infop info, FILE *f, const es_canvas *c, int level,
                      png_bytep *rows, png_text *text, int ntext, fast_bufs *fast)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_init_io(png, f);
    int rgb = opaque(c);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8,
                 rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ntext)
        png_set_text(png, info, text, ntext);
    if (level < 0) {
        png_write_info(png, info);
        return write_fast(png, c, rgb ? 3 : 4, fast);
    }
    png_set_compression_level(png, level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, level == 0 ? PNG_FILTER_NONE : PNG_FILTER_UP);
    png_set_compression_buffer_size(png, 1 << 17);
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
    int level = opts && opts->level >= 0 ? opts->level : -1;
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
    fast_bufs fast = {0};
    if (!text || !rows || (level < 0 && fast_alloc(&fast, c) != 0)) {
        free(text), free(rows), fast_free(&fast);
        return es_fail("%s: out of memory", path);
    }
    text[0] = (png_text){PNG_TEXT_COMPRESSION_NONE, "earsight", ES_VERSION};
    const char *const *t = opts ? opts->text : NULL;
    for (int i = 1; i < ntext; i++, t += 2)
        text[i] = (png_text){PNG_TEXT_COMPRESSION_NONE, (char *)t[0], (char *)t[1]};

    es_atomic a;
    if (es_atomic_open(&a, path) != 0) {
        free(text), free(rows), fast_free(&fast);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = png && info ? write_body(png, info, a.f, c, level, rows, text, ntext, &fast)
                         : es_fail("out of memory");
    png_destroy_write_struct(&png, &info);
    free(text), free(rows), fast_free(&fast);
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
