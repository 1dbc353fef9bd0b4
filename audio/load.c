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
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK 65536 /* frames decoded per sf_readf_float call, at most */

struct es_reader {
    SNDFILE *sf;
    unsigned char *mem; /* a pipe or standard input, read whole (it cannot be opened twice) */
    sf_count_t mem_len, mem_pos;
    SF_INFO info;
    char *path;
    int rate;
    soxr_t soxr;       /* NULL when no resampling is needed */
    es_sinc *sinc;     /* or torchaudio's resampler */
    long chunk;        /* frames decoded at a time (at most CHUNK) */
    float *inter;      /* chunk × channels, as decoded */
    float *whole;      /* or the whole sound, decoded at open (short Ogg clips, see ogg.c) */
    float *mono;       /* chunk downmixed, waiting for the resampler */
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
    free(r->inter), free(r->mono), free(r->whole), free(r->mem), free(r->path), free(r);
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

/* An Ogg Vorbis file libsndfile would misread, decoded at once as torchaudio decodes it (ogg.c). */
static int open_whole(es_reader *r, FILE *fp)
{
    long n;
    int ch, rate;
    if (es_ogg_decode(fp, r->path, &r->whole, &n, &ch, &rate) != 0)
        return -1;
    r->info.frames = n, r->info.channels = ch, r->info.samplerate = rate; /* averaged already */
    return 0;
}

/* libsndfile's virtual I/O over r->mem. */
static sf_count_t mem_length(void *u) { return ((es_reader *)u)->mem_len; }
static sf_count_t mem_tell(void *u) { return ((es_reader *)u)->mem_pos; }
static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
    es_reader *r = u;
    sf_count_t at = whence == SEEK_SET ? off : whence == SEEK_CUR ? r->mem_pos + off : r->mem_len + off;
    if (at < 0 || at > r->mem_len)
        return -1;
    return r->mem_pos = at;
}
static sf_count_t mem_read(void *dst, sf_count_t n, void *u)
{
    es_reader *r = u;
    if (n > r->mem_len - r->mem_pos)
        n = r->mem_len - r->mem_pos;
    memcpy(dst, r->mem + r->mem_pos, (size_t)n);
    r->mem_pos += n;
    return n;
}
static sf_count_t mem_write(const void *src, sf_count_t n, void *u) { return 0; }

/* The file to probe: a regular file opened, anything else ("-" is standard input, a named
 * pipe, a device) read whole into r->mem first, since it can be read only once. */
static FILE *open_input(es_reader *r)
{
    struct stat st;
    int stdin_ = strcmp(r->path, "-") == 0;
    if (!stdin_ && stat(r->path, &st) == 0 && S_ISREG(st.st_mode))
        return fopen(r->path, "rb");
    if (!stdin_ && stat(r->path, &st) == 0 && S_ISDIR(st.st_mode))
        return errno = EISDIR, NULL;
    FILE *in = stdin_ ? stdin : fopen(r->path, "rb");
    if (!in)
        return NULL;
    size_t cap = 1 << 16, len = 0, got;
    unsigned char *m = malloc(cap);
    while (m && (got = fread(m + len, 1, cap - len, in)) > 0)
        if ((len += got) == cap) {
            unsigned char *t = realloc(m, cap *= 2);
            if (!t)
                free(m);
            m = t;
        }
    int err = m ? ferror(in) : 1;
    if (!stdin_)
        fclose(in);
    if (err) {
        free(m);
        return errno = m ? EIO : ENOMEM, NULL;
    }
    r->mem = m, r->mem_len = (sf_count_t)len;
    return fmemopen(m, len ? len : 1, "rb");
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

/* An MP3's length as decoded. libsndfile's frame count is an estimate when the encoder wrote
 * no Xing/LAME tag (then the decoder gives the encoder's delay and padding too, as FFmpeg
 * does): the file is decoded once to count, then rewound. */
static int mp3_length(es_reader *r)
{
    float *buf = malloc(sizeof(float) * 4096 * (size_t)r->info.channels);
    sf_count_t n = 0, got;
    while (buf && (got = sf_readf_float(r->sf, buf, 4096)) > 0)
        n += got;
    free(buf);
    if (!buf)
        return es_fail("%s: out of memory", r->path);
    if (sf_error(r->sf) || sf_seek(r->sf, 0, SEEK_SET) != 0)
        return es_fail("%s: corrupt MP3 data (%s)", r->path, sf_strerror(r->sf));
    r->info.frames = n;
    return 0;
}

/* The decoder: our own for the Ogg Vorbis files libsndfile misreads, libsndfile for the rest;
 * and its checks. */
static int open_source(es_reader *r)
{
    const char *path = r->path;
    FILE *fp = open_input(r);
    if (!fp)
        return es_fail("%s: cannot read: %s", path, strerror(errno));
    int whole = 0;
    int rc = r->mem_len == 0 && r->mem ? es_fail("%s: no audio samples in the file", path)
             : es_ogg_probe(fp, path, &whole);
    if (rc == 0 && whole)
        rc = open_whole(r, fp);
    fclose(fp);
    if (rc != 0)
        return -1;
    static SF_VIRTUAL_IO io = {mem_length, mem_seek, mem_read, mem_write, mem_tell};
    if (!whole && !(r->sf = r->mem ? sf_open_virtual(&io, SFM_READ, &r->info, r)
                                   : sf_open(path, SFM_READ, &r->info)))
        /* libsndfile's own words: "File contains data in an unknown format." … */
        return es_fail("%s: cannot read as audio: %s", path, sf_strerror(NULL));
    if (r->sf && (r->info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG && mp3_length(r) != 0)
        return -1;
    if (r->info.frames == SF_COUNT_MAX) /* a stream whose end libsndfile cannot find */
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
    /* frames a decode call takes: no more than the file has, nor 4 M values over the channels */
    long most = (4L << 20) / r->info.channels;
    r->chunk = r->info.frames < CHUNK ? (long)r->info.frames : CHUNK;
    r->chunk = r->chunk > most ? most : r->chunk < 1024 ? 1024 : r->chunk;
    r->inter = malloc(sizeof(float) * (size_t)r->chunk * (size_t)r->info.channels);
    r->mono = malloc(sizeof(float) * (size_t)r->chunk);
    if (!r->inter || !r->mono)
        return open_fail(r, path, "out of memory");
    if (r->rate != r->info.samplerate && open_resampler(r, how) != 0)
        return open_fail(r, path, NULL);
    return r;
}

/* Decodes up to `max` frames (<= r->chunk), downmixed into dst. 0 at the end, -1 on error. */
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
            long got = decode(r, r->mono, r->chunk);
            if (got < 0)
                return -1;
            r->mono_len = got, r->mono_pos = 0;
        }
        if (r->mono_pos == r->mono_len && r->eof && !r->padded) {
            long pad = r->info.samplerate / r->rate + 4;
            r->mono_len = pad < r->chunk ? pad : r->chunk, r->mono_pos = 0, r->padded = 1;
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
        long n = decode(r, r->mono, r->chunk);
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
    return decode(r, buf, max < r->chunk ? max : r->chunk);
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
