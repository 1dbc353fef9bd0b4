/* Sound files in and out: libsndfile decodes (WAV, FLAC, OGG/Vorbis, AIFF, …), channels are
 * averaged to mono, soxr resamples when the file's rate is not the one asked for. The reader
 * streams: memory holds one chunk, never the whole file. */
#include "audio/internal.h"
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536 /* frames decoded per sf_readf_float call */

struct es_reader {
    SNDFILE *sf;
    SF_INFO info;
    char *path;
    int rate;
    soxr_t soxr;       /* NULL when no resampling is needed */
    es_sinc *sinc;     /* or torchaudio's resampler */
    float *inter;      /* CHUNK × channels, as decoded */
    float *whole;      /* or the whole sound, decoded at open (short Ogg clips, see ogg.c) */
    float *mono;       /* CHUNK downmixed, waiting for the resampler */
    long mono_len, mono_pos;
    long frames_read;  /* frames decoded so far */
    long out_len, out_done; /* resampled: ceil(frames · rate / file rate), as torchaudio's */
    int eof, padded, flushed;
};

const char *es_reader_path(const es_reader *r) { return r->path; }
int es_reader_rate(const es_reader *r) { return r->rate; }
int es_reader_file_rate(const es_reader *r) { return r->info.samplerate; }
int es_reader_channels(const es_reader *r) { return r->info.channels; }

long es_reader_length(const es_reader *r)
{
    long long num = (long long)r->info.frames * r->rate;
    return (long)((num + r->info.samplerate - 1) / r->info.samplerate);
}

void es_reader_close(es_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf);
    soxr_delete(r->soxr);
    es_sinc_free(r->sinc);
    free(r->inter), free(r->mono), free(r->whole), free(r->path), free(r);
}

/* A WAV/AIFF header promising more sound than the file holds: libsndfile quietly shortens the
 * length and notes "data : 16000 (should be 956)" in its log. */
static int header_overstates(SNDFILE *sf)
{
    char log[8192];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (char *line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if ((!strncmp(line, "data", 4) || !strncmp(line, "SSND", 4)) && strstr(line, "should be") &&
            strstr(line, "should be") < strchr(line, '\n'))
            return 1;
    return 0;
}

/* A short Ogg Vorbis clip, decoded at once as torchaudio decodes it (ogg.c). */
static int open_whole(es_reader *r)
{
    long n;
    int ch, rate;
    if (es_ogg_decode(r->path, &r->whole, &n, &ch, &rate) != 0)
        return -1;
    r->info.frames = n, r->info.channels = ch, r->info.samplerate = rate; /* averaged already */
    return 0;
}

/* Gives up an open: "PATH: why" (why NULL: the message set already stays), r closed. */
static es_reader *open_fail(es_reader *r, const char *path, const char *why)
{
    if (why)
        es_fail("%s: %s", path, why);
    es_reader_close(r);
    return NULL;
}

es_reader *es_reader_open(const char *path, int sample_rate)
{
    return es_reader_open_resampler(path, sample_rate, ES_RESAMPLE_SOXR);
}

/* The decoder: our own for short Ogg Vorbis clips, libsndfile for the rest; and its checks. */
static int open_source(es_reader *r)
{
    const char *path = r->path;
    int single;
    if (es_ogg_probe(path, &single) != 0 || (single && open_whole(r) != 0))
        return -1;
    if (!single && !(r->sf = sf_open(path, SFM_READ, &r->info)))
        /* libsndfile's own words: "File contains data in an unknown format." … */
        return es_fail("%s: cannot read as audio: %s", path, sf_strerror(NULL));
    if (r->info.frames == SF_COUNT_MAX) /* an Ogg stream without its last page */
        return es_fail("%s: truncated: the stream has no end", path);
    if (r->sf && header_overstates(r->sf))
        return es_fail("%s: truncated: the header promises more sound than the file holds", path);
    if (r->info.frames <= 0 || r->info.channels < 1 || r->info.samplerate < 1)
        return es_fail("%s: no audio samples in the file", path);
    return 0;
}

static int open_resampler(es_reader *r, es_resampler how)
{
    r->out_len = es_reader_length(r);
    if (how == ES_RESAMPLE_TORCHAUDIO) {
        if ((r->sinc = es_sinc_new(r->info.samplerate, r->rate)))
            return 0;
        return es_error_prefix("%s", r->path);
    }
    soxr_error_t err = NULL;
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    r->soxr = soxr_create(r->info.samplerate, r->rate, 1, &err, NULL, &q, NULL);
    if (!r->soxr || err)
        return es_fail("%s: cannot resample: %s", r->path, err ? err : "soxr failed");
    return 0;
}

es_reader *es_reader_open_resampler(const char *path, int sample_rate, es_resampler how)
{
    es_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)))
        return open_fail(r, path, "out of memory");
    if (sample_rate < 0 || sample_rate > 1000000)
        return open_fail(r, path, "bad sample rate asked for");
    if (open_source(r) != 0)
        return open_fail(r, path, NULL);
    r->rate = sample_rate ? sample_rate : r->info.samplerate;
    r->inter = malloc(sizeof(float) * CHUNK * (size_t)r->info.channels);
    r->mono = malloc(sizeof(float) * CHUNK);
    if (!r->inter || !r->mono)
        return open_fail(r, path, "out of memory");
    if (r->rate != r->info.samplerate && open_resampler(r, how) != 0)
        return open_fail(r, path, NULL);
    return r;
}

/* Decodes up to `max` frames (<= CHUNK), downmixed into dst. 0 at the end, -1 on error. */
static long decode(es_reader *r, float *dst, long max)
{
    if (r->eof)
        return 0;
    int ch = r->info.channels;
    if (max > r->info.frames - r->frames_read) /* stop at the stated length */
        max = (long)(r->info.frames - r->frames_read);
    if (max == 0)
        return r->eof = 1, 0;
    if (r->whole) {
        memcpy(dst, r->whole + r->frames_read, sizeof(float) * (size_t)max);
        r->frames_read += max;
        return max;
    }
    sf_count_t got = sf_readf_float(r->sf, r->inter, max);
    if (sf_error(r->sf))
        return es_fail("%s: truncated or corrupt audio data (%s)", r->path, sf_strerror(r->sf));
    if (ch == 1)
        memcpy(dst, r->inter, sizeof(float) * (size_t)got);
    else
        for (sf_count_t i = 0; i < got; i++) {
            double s = 0; /* mean of channels, as waveform.mean(0) */
            for (int c = 0; c < ch; c++)
                s += r->inter[i * ch + c];
            dst[i] = (float)(s / ch);
        }
    /* NaN / infinity: an all-ones exponent; OR-ing over the chunk vectorises */
    const uint32_t *u = (const uint32_t *)dst;
    uint32_t hit = 0;
    for (sf_count_t i = 0; i < got; i++)
        hit |= (u[i] & 0x7f800000u) == 0x7f800000u;
    for (sf_count_t i = 0; hit && i < got; i++)
        if ((u[i] & 0x7f800000u) == 0x7f800000u)
            return es_fail("%s: sample %ld is not a number (NaN or infinite)", r->path,
                           (long)(r->frames_read + i));
    r->frames_read += got;
    if (got < max) {
        r->eof = 1;
        /* libsndfile stops early without an error when a file was cut short */
        if (r->frames_read < r->info.frames)
            return es_fail("%s: truncated: %ld of %ld frames", r->path, r->frames_read,
                           (long)r->info.frames);
    }
    return got;
}

/* Feeds the resampler until it gives some output or has nothing more to give. soxr gives
 * round(n · ratio) samples, torchaudio ceil(n · ratio): a few zeros after the end (what
 * torchaudio's filter sees there too) let soxr make the last one, and out_len cuts the rest. */
static long resampled(es_reader *r, float *buf, long max)
{
    if (max > r->out_len - r->out_done)
        max = r->out_len - r->out_done;
    if (max <= 0)
        return 0;
    for (;;) {
        if (r->mono_pos == r->mono_len && !r->eof) {
            long got = decode(r, r->mono, CHUNK);
            if (got < 0)
                return -1;
            r->mono_len = got, r->mono_pos = 0;
        }
        if (r->mono_pos == r->mono_len && r->eof && !r->padded) {
            long pad = r->info.samplerate / r->rate + 4;
            r->mono_len = pad < CHUNK ? pad : CHUNK, r->mono_pos = 0, r->padded = 1;
            memset(r->mono, 0, sizeof(float) * (size_t)r->mono_len);
        }
        size_t idone = 0, odone = 0;
        int draining = r->mono_pos == r->mono_len; /* only at the end of the file */
        if (draining && r->flushed)
            return 0;
        soxr_error_t err = soxr_process(r->soxr, draining ? NULL : r->mono + r->mono_pos,
                                        (size_t)(r->mono_len - r->mono_pos), &idone, buf,
                                        (size_t)max, &odone);
        if (err)
            return es_fail("%s: resampling failed: %s", r->path, err);
        r->mono_pos += (long)idone;
        r->out_done += (long)odone;
        if (odone > 0)
            return (long)odone;
        if (draining)
            r->flushed = 1;
    }
}

/* torchaudio's resampler: decode, push, pull, until some output or the end. */
static long sinc_resampled(es_reader *r, float *buf, long max)
{
    if (max > r->out_len - r->out_done)
        max = r->out_len - r->out_done;
    for (long got; max > 0;) {
        if ((got = es_sinc_pull(r->sinc, buf, max)) > 0)
            return r->out_done += got, got;
        if (r->eof)
            break;
        long n = decode(r, r->mono, CHUNK);
        if (n < 0)
            return -1;
        if (n > 0 && es_sinc_push(r->sinc, r->mono, n) != 0)
            return es_fail("%s: out of memory", r->path);
        if (r->eof)
            es_sinc_end(r->sinc);
    }
    return 0;
}

long es_reader_read(es_reader *r, float *buf, long max)
{
    if (max <= 0)
        return 0;
    if (r->sinc)
        return sinc_resampled(r, buf, max);
    if (r->soxr)
        return resampled(r, buf, max);
    return decode(r, buf, max < CHUNK ? max : CHUNK);
}

int es_audio_load(const char *path, int sample_rate, float **x, long *n, int *rate_out)
{
    *x = NULL, *n = 0;
    es_reader *r = es_reader_open(path, sample_rate);
    if (!r)
        return -1;
    long cap = es_reader_length(r) + 1024, len = 0, got = 0;
    float *buf = malloc(sizeof(float) * (size_t)cap);
    while (buf && (got = es_reader_read(r, buf + len, cap - len)) > 0) {
        len += got;
        if (len == cap) {
            float *t = realloc(buf, sizeof(float) * (size_t)(cap *= 2));
            if (!t)
                free(buf);
            buf = t;
        }
    }
    int rc = !buf ? es_fail("%s: out of memory", path) : got < 0 ? -1 : 0;
    if (rc == 0 && len == 0)
        rc = es_fail("%s: no audio samples in the file", path);
    if (rc == 0 && rate_out)
        *rate_out = r->rate;
    es_reader_close(r);
    if (rc)
        free(buf);
    else
        *x = buf, *n = len;
    return rc;
}
