/* Features of a file, streamed: chunks of decoded (downmixed, resampled) sound go through the
 * frames as soon as whole frames are there; only the samples a later frame still needs stay in
 * memory. The end of the sound is known only at the end, so the last frames (whose centre
 * padding reflects the end) wait for it. */
#include "audio/internal.h"
#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK (1L << 20) /* samples decoded between two batches of frames: few batches,
                                 * so few OpenMP barriers (costly on a busy machine) */

typedef struct {
    float *x;           /* samples [lo, hi) of the signal */
    long lo, hi, cap;
    float *m;           /* frames × bands_rows computed so far */
    long frames, mcap;
} stream;

/* Reads until the buffer is full or the file ends; 0 at the end, -1 on error. */
static long fill(es_reader *r, stream *s)
{
    long total = 0, got = 0;
    while (s->hi - s->lo < s->cap && (got = es_reader_read(r, s->x + (s->hi - s->lo),
                                                           s->cap - (s->hi - s->lo))) > 0)
        s->hi += got, total += got;
    return got < 0 ? -1 : total;
}

/* Computes frames [s->frames, t_end) and appends them. */
static int append(const es_features *f, stream *s, const es_signal *sig, long t_end)
{
    if (t_end <= s->frames)
        return 0;
    if (t_end > s->mcap) {
        long cap = t_end > 2 * s->mcap ? t_end : 2 * s->mcap;
        float *m = realloc(s->m, sizeof(float) * (size_t)cap * f->bands_rows);
        if (!m)
            return es_fail("out of memory");
        s->m = m, s->mcap = cap;
    }
    int rc = es_frames_run(f, sig, s->frames, t_end, s->m + (size_t)s->frames * f->bands_rows,
                        (size_t)f->bands_rows, 1);
    s->frames = t_end;
    return rc;
}

/* One batch while the end is unknown: the frames that lie wholly before s->hi (strictly, so a
 * reflection at the start never reads past it), then drop the samples no frame needs again. */
static int batch(const es_features *f, stream *s)
{
    es_signal sig = {s->x, s->lo, s->hi, -1, f->c.pad_mode};
    long last = s->hi - 1 - f->frame_len + f->pad; /* t·hop <= last */
    if (last >= 0 && append(f, s, &sig, last / f->r.hop + 1) != 0)
        return -1;
    long lo = s->frames * f->r.hop - f->pad;
    if (lo > s->lo) {
        memmove(s->x, s->x + (lo - s->lo), sizeof(float) * (size_t)(s->hi - lo));
        s->lo = lo;
    }
    return 0;
}

static int stream_file(const es_features *f, es_reader *r, stream *s, const char *path)
{
    long got;
    while ((got = fill(r, s)) > 0)
        if (batch(f, s) != 0)
            return -1;
    if (got < 0)
        return -1;
    long n = s->hi, total = es_features_frames(f, n);
    if (total == 0)
        return n == 0 ? es_fail("%s: no audio samples", path) : es_too_short(f, n, path);
    es_signal sig = {s->x, s->lo, s->hi, n, f->c.pad_mode};
    return append(f, s, &sig, total);
}

/* frames × rows → a new rows × frames, in blocks of 64 frames to keep the writes in cache. */
static float *transpose(const float *a, long frames, int rows)
{
    float *o = malloc(sizeof(float) * (size_t)rows * (size_t)frames + 1);
    if (!o)
        return NULL;
#pragma omp parallel for schedule(static)
    for (long t0 = 0; t0 < frames; t0 += 64)
        for (int k = 0; k < rows; k++)
            for (long t = t0; t < t0 + 64 && t < frames; t++)
                o[(size_t)k * frames + t] = a[(size_t)t * rows + k];
    return o;
}

int es_features_file(const es_features *f, const char *path, es_array *out)
{
    memset(out, 0, sizeof *out);
    es_reader *r = es_reader_open_resampler(path, f->c.sample_rate, f->c.resample);
    if (!r)
        return -1;
    stream s = {0};
    s.cap = STREAM_CHUNK + f->frame_len + f->r.hop;
    s.x = malloc(sizeof(float) * (size_t)s.cap);
    int rc = s.x ? stream_file(f, r, &s, path) : es_fail("out of memory");
    es_reader_close(r);
    float *m = rc == 0 ? transpose(s.m, s.frames, f->bands_rows) : NULL;
    free(s.x), free(s.m);
    if (rc == 0 && !m)
        rc = es_fail("out of memory");
    return rc == 0 ? es_features_finish(f, m, s.frames, out) : rc;
}
