/* Ogg Vorbis as torchaudio reads it. torchaudio 0.13 decodes Ogg with FFmpeg, libsndfile with
 * libvorbis; they agree sample for sample, and in length too, except when a stream's first
 * audio page is also its last (short clips). There FFmpeg counts the first packet's duration
 * ((short block + that packet's block) / 4, though the decoder outputs nothing for it) when it
 * trims the end to the granule position, and skips the trim when it exceeds the last packet.
 * For such streams we decode with libvorbis ourselves and trim as FFmpeg does, so features have
 * torchaudio's frame count and samples. We also decode what libsndfile cannot: a stream
 * without its last page and one with junk after it (FFmpeg reads all there is), and chained
 * files (`cat a.ogg b.ogg`: every link, one after another, when they share rate and channels). */
#include "audio/internal.h"
#include <ogg/ogg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vorbis/codec.h>

typedef struct {
    ogg_sync_state sync;
    ogg_stream_state stream;
    int have_stream;
    int data_seen;  /* a page of the current stream past its first */
    int chains;     /* logical streams begun one after another (chained Ogg when > 1) */
    int junk;       /* bytes that were not pages were skipped (damage, or junk at the end) */
    FILE *fp;
} ogg_reader;

/* Next page of the current logical stream; 0 at the end of the file. Pages of streams
 * multiplexed with it (their first pages come before any of its data) are passed over; a
 * stream that begins after the current one has data is the next link of a chained file, and
 * *chained is set when it begins. */
static int next_page(ogg_reader *o, ogg_page *pg, int *chained)
{
    for (;;) {
        int r = ogg_sync_pageout(&o->sync, pg);
        if (r == 1) {
            int serial = ogg_page_serialno(pg);
            if (!o->have_stream) {
                ogg_stream_init(&o->stream, serial);
                o->have_stream = 1, o->chains = 1;
            } else if (ogg_page_bos(pg) && o->data_seen) { /* the next link (any serial) */
                ogg_stream_reset_serialno(&o->stream, serial);
                o->chains++, o->data_seen = 0;
                if (chained)
                    *chained = 1;
            } else if (serial != o->stream.serialno) {
                continue; /* a stream multiplexed with ours */
            } else {
                o->data_seen |= !ogg_page_bos(pg);
            }
            return 1;
        }
        if (r < 0) {
            o->junk = 1;
            continue;
        }
        char *buf = ogg_sync_buffer(&o->sync, 4096);
        size_t n = buf ? fread(buf, 1, 4096, o->fp) : 0;
        if (n == 0) {
            o->junk |= o->sync.fill > o->sync.returned; /* bytes left that never made a page */
            return 0;
        }
        ogg_sync_wrote(&o->sync, (long)n);
    }
}

/* Walks the first stream's packets: the first audio packet's duration as FFmpeg's parser
 * counts it (d1), the samples libvorbis decodes (sum), the last packet's duration, whether the
 * first audio page was the last page too; and over the whole file whether every stream ended. */
typedef struct {
    long d1, sum, last, granule;
    int single_page, eos; /* eos: the last stream's last page was seen */
    int vorbis;           /* the first packet is a Vorbis identification header */
} vorbis_walk;

static int walk(ogg_reader *o, vorbis_walk *w)
{
    vorbis_info vi;
    vorbis_comment vc;
    vorbis_info_init(&vi);
    vorbis_comment_init(&vc);
    ogg_page pg;
    ogg_packet op;
    int headers = 0, bad = 0;
    long prev = -1;
    while (next_page(o, &pg, NULL)) { /* every page, to see the end; packets while they parse */
        w->eos = ogg_page_eos(&pg) != 0;
        ogg_stream_pagein(&o->stream, &pg);
        while (ogg_stream_packetout(&o->stream, &op) == 1) { /* drained even when bad */
            if (bad || o->chains > 1)
                continue;
            if (headers < 3) {
                if (headers == 0)
                    w->vorbis = op.bytes >= 7 && memcmp(op.packet, "\x01vorbis", 7) == 0;
                bad = vorbis_synthesis_headerin(&vi, &vc, &op) != 0;
                headers++;
                continue;
            }
            long bs = vorbis_packet_blocksize(&vi, &op);
            if (bs <= 0)
                continue;
            if (prev < 0) {
                w->d1 = (vorbis_info_blocksize(&vi, 0) + bs) / 4;
                w->single_page = ogg_page_eos(&pg) != 0;
            } else {
                w->last = (prev + bs) / 4;
                w->sum += w->last;
            }
            prev = bs;
        }
        if (ogg_page_granulepos(&pg) >= 0 && o->chains == 1)
            w->granule = (long)ogg_page_granulepos(&pg);
    }
    vorbis_comment_clear(&vc);
    vorbis_info_clear(&vi);
    return bad || prev < 0 ? -1 : 0;
}

int es_ogg_probe(FILE *fp, const char *path, int *whole)
{
    *whole = 0;
    ogg_reader o = {.fp = fp};
    char magic[4] = {0};
    if (fread(magic, 1, 4, fp) != 4 || memcmp(magic, "OggS", 4) != 0) {
        rewind(fp);
        return 0;
    }
    rewind(fp);
    ogg_sync_init(&o.sync);
    vorbis_walk w = {0};
    int vorbis = walk(&o, &w) == 0;
    /* libsndfile reads a plain Vorbis stream as torchaudio does; it cannot read a chained file
     * past the first link, refuses one without its last page or with junk after it, and
     * misjudges the length of a one-page stream: those are decoded here */
    *whole = vorbis && (w.single_page || !w.eos || o.chains > 1 || o.junk);
    if (o.have_stream)
        ogg_stream_clear(&o.stream);
    ogg_sync_clear(&o.sync);
    rewind(fp);
    /* a Vorbis stream cut or damaged before its first sound: said here, since libsndfile
     * leaks when it fails to open one */
    if (w.vorbis && !vorbis)
        return es_fail("%s: truncated or corrupt Ogg Vorbis stream (no sound after its headers)",
                       path);
    return 0;
}

/* ---------------------------------------------------------------- whole-stream decoding */

typedef struct {
    float *x;
    long n, cap;
    long start;    /* where the current link's samples begin in x */
    long d1, last; /* FFmpeg's duration of the link's first and of its latest packet */
    long prev_bs;
    long granule;
    int pages_with_audio, eos;
} pcm_buf;

/* Appends the decoder's pending output, averaged over channels. */
static int drain(vorbis_dsp_state *vd, int channels, pcm_buf *b)
{
    float **pcm;
    int k;
    while ((k = vorbis_synthesis_pcmout(vd, &pcm)) > 0) {
        if (b->n + k > b->cap) {
            long cap = 2 * (b->n + k);
            float *t = realloc(b->x, sizeof(float) * (size_t)cap);
            if (!t)
                return -1;
            b->x = t, b->cap = cap;
        }
        for (int i = 0; i < k; i++) {
            double s = 0;
            for (int c = 0; c < channels; c++)
                s += pcm[c][i];
            b->x[b->n + i] = (float)(s / channels);
        }
        b->n += k;
        vorbis_synthesis_read(vd, k);
    }
    return 0;
}

/* The end of one link, trimmed as FFmpeg trims a file's end: only when the link's last page
 * was seen; a one-page link loses d1 + decoded − granule when that fits in its last packet
 * (FFmpeg counts the first packet's duration though nothing is decoded for it), a longer one
 * is cut to its granule position. Every link of a chained file is read as it reads alone
 * (FFmpeg's own output has 256 samples more at each link boundary at 44.1 kHz). */
static void end_link(pcm_buf *b)
{
    long decoded = b->n - b->start;
    long skip = b->pages_with_audio == 1 ? b->d1 + decoded - b->granule : decoded - b->granule;
    if (b->eos && skip > 0 && skip <= b->last)
        b->n -= skip;
    b->start = b->n, b->prev_bs = 0, b->d1 = b->last = 0, b->pages_with_audio = 0, b->eos = 0;
}

typedef struct {
    vorbis_info vi;
    vorbis_comment vc;
    vorbis_dsp_state vd;
    vorbis_block vb;
    int headers;
} vorbis_link;

static void link_clear(vorbis_link *l)
{
    if (l->headers == 3) {
        vorbis_block_clear(&l->vb);
        vorbis_dsp_clear(&l->vd);
    }
    vorbis_comment_clear(&l->vc);
    vorbis_info_clear(&l->vi);
    vorbis_info_init(&l->vi);
    vorbis_comment_init(&l->vc);
    l->headers = 0;
}

/* A header packet of the link; after the third, the decoder starts. The links of a chained
 * file must share the first link's rate and channel count (*rate, *channels: 0 until set). */
static int link_header(vorbis_link *l, ogg_packet *op, int *channels, int *rate)
{
    if (vorbis_synthesis_headerin(&l->vi, &l->vc, op) != 0)
        return -1;
    if (++l->headers < 3)
        return 0;
    if (*rate && (l->vi.rate != *rate || l->vi.channels != *channels)) {
        es_fail("chained Ogg links differ (%d Hz, %d channels, then %ld Hz, %d "
                "channels); not supported", *rate, *channels, l->vi.rate, l->vi.channels);
        return -2; /* es_error() says why */
    }
    *rate = (int)l->vi.rate, *channels = l->vi.channels;
    return vorbis_synthesis_init(&l->vd, &l->vi) || vorbis_block_init(&l->vd, &l->vb) ? -1 : 0;
}

static int link_audio(vorbis_link *l, ogg_packet *op, pcm_buf *b)
{
    long bs = vorbis_packet_blocksize(&l->vi, op);
    if (bs <= 0)
        return 0;
    if (b->prev_bs == 0)
        b->d1 = (vorbis_info_blocksize(&l->vi, 0) + bs) / 4;
    else
        b->last = (b->prev_bs + bs) / 4;
    b->prev_bs = bs;
    op->granulepos = -1, op->e_o_s = 0;
    if (vorbis_synthesis(&l->vb, op) == 0)
        vorbis_synthesis_blockin(&l->vd, &l->vb);
    return drain(&l->vd, l->vi.channels, b);
}

/* Every packet of every link through libvorbis, without its granule-position trimming (the
 * end is trimmed as FFmpeg does, end_link). */
static int decode_packets(ogg_reader *o, pcm_buf *b, int *channels, int *rate)
{
    vorbis_link l = {0};
    vorbis_info_init(&l.vi);
    vorbis_comment_init(&l.vc);
    int rc = 0;
    ogg_page pg;
    ogg_packet op;
    for (int chained = 0; rc == 0 && next_page(o, &pg, &chained); chained = 0) {
        if (chained) {
            end_link(b);
            link_clear(&l);
        }
        ogg_stream_pagein(&o->stream, &pg);
        int audio = 0;
        while (rc == 0 && ogg_stream_packetout(&o->stream, &op) == 1) {
            if (l.headers < 3)
                rc = link_header(&l, &op, channels, rate);
            else
                audio = 1, rc = link_audio(&l, &op, b);
        }
        b->pages_with_audio += audio;
        b->eos = ogg_page_eos(&pg) != 0;
        if (ogg_page_granulepos(&pg) >= 0)
            b->granule = (long)ogg_page_granulepos(&pg);
    }
    int whole = l.headers == 3;
    link_clear(&l);
    vorbis_comment_clear(&l.vc);
    vorbis_info_clear(&l.vi);
    if (rc == 0 && !whole)
        rc = -1;
    if (rc == 0)
        end_link(b);
    return rc;
}

int es_ogg_decode(FILE *fp, const char *path, float **x, long *n, int *channels, int *rate)
{
    *x = NULL, *n = 0, *channels = 0, *rate = 0;
    ogg_reader o = {.fp = fp};
    ogg_sync_init(&o.sync);
    pcm_buf b = {0};
    int rc = decode_packets(&o, &b, channels, rate); /* -2: es_error() says why */
    if (o.have_stream)
        ogg_stream_clear(&o.stream);
    ogg_sync_clear(&o.sync);
    if (rc != 0 || b.n == 0) {
        free(b.x);
        char why[512]; /* es_error()'s buffer is where es_fail writes */
        snprintf(why, sizeof why, "%s", rc == -2 ? es_error() : "cannot decode the Vorbis stream");
        return es_fail("%s: %s", path, why);
    }
    *x = b.x, *n = b.n;
    return 0;
}
