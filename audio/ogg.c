/* Ogg Vorbis as torchaudio reads it. torchaudio 0.13 decodes Ogg with FFmpeg, libsndfile with
 * libvorbis; they agree sample for sample, and in length too, except when a stream's first
 * audio page is also its last (short clips). There FFmpeg counts the first packet's duration
 * ((short block + that packet's block) / 4, though the decoder outputs nothing for it) when it
 * trims the end to the granule position, and skips the trim when it exceeds the last packet.
 * For such streams we decode with libvorbis ourselves and trim as FFmpeg does, so features have
 * torchaudio's frame count and samples. Also: cut streams are refused before libsndfile opens
 * them. */
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
    FILE *fp;
} ogg_reader;

/* Next page of the first logical stream; 0 at the end of the file. */
static int next_page(ogg_reader *o, ogg_page *pg)
{
    for (;;) {
        int r = ogg_sync_pageout(&o->sync, pg);
        if (r == 1) {
            if (!o->have_stream) {
                ogg_stream_init(&o->stream, ogg_page_serialno(pg));
                o->have_stream = 1;
            }
            if (ogg_page_serialno(pg) == o->stream.serialno)
                return 1;
            continue;
        }
        char *buf = ogg_sync_buffer(&o->sync, 4096);
        size_t n = buf ? fread(buf, 1, 4096, o->fp) : 0;
        if (n == 0)
            return 0;
        ogg_sync_wrote(&o->sync, (long)n);
    }
}

/* Walks the packets: the first audio packet's duration as FFmpeg's parser counts it (d1), the
 * samples libvorbis decodes (sum), the last packet's duration, and whether the first audio page
 * was the last page too. */
typedef struct {
    long d1, sum, last, granule;
    int single_page, eos; /* eos: the stream's last page was seen (else the file was cut) */
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
    while (next_page(o, &pg)) { /* every page, to see the end; packets while they parse */
        w->eos |= ogg_page_eos(&pg) != 0;
        ogg_stream_pagein(&o->stream, &pg);
        while (ogg_stream_packetout(&o->stream, &op) == 1) { /* drained even when bad */
            if (bad)
                continue;
            if (headers < 3) {
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
        if (ogg_page_granulepos(&pg) >= 0)
            w->granule = (long)ogg_page_granulepos(&pg);
    }
    vorbis_comment_clear(&vc);
    vorbis_info_clear(&vi);
    return bad || prev < 0 ? -1 : 0;
}

int es_ogg_probe(const char *path, int *single_page)
{
    *single_page = 0;
    ogg_reader o = {0};
    char magic[4] = {0};
    if (!(o.fp = fopen(path, "rb")))
        return 0; /* libsndfile will say why */
    if (fread(magic, 1, 4, o.fp) != 4 || memcmp(magic, "OggS", 4) != 0) {
        fclose(o.fp);
        return 0;
    }
    rewind(o.fp);
    ogg_sync_init(&o.sync);
    vorbis_walk w = {0};
    *single_page = walk(&o, &w) == 0 && w.eos && w.single_page;
    if (o.have_stream)
        ogg_stream_clear(&o.stream);
    ogg_sync_clear(&o.sync);
    fclose(o.fp);
    /* checked before libsndfile sees the file: it leaks when opening a cut Ogg stream fails */
    return w.eos ? 0 : es_fail("%s: truncated: the Ogg stream has no end", path);
}

/* ---------------------------------------------------------------- whole-stream decoding */

typedef struct {
    float *x;
    long n, cap;
    long d1, last; /* FFmpeg's duration of the first and of the latest packet */
    long prev_bs;
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

/* Every packet through libvorbis without the granule-position trimming (FFmpeg does its own). */
static int decode_packets(ogg_reader *o, vorbis_info *vi, pcm_buf *b, long *granule)
{
    vorbis_comment vc;
    vorbis_comment_init(&vc);
    vorbis_dsp_state vd;
    vorbis_block vb;
    int headers = 0, rc = 0;
    ogg_page pg;
    ogg_packet op;
    while (rc == 0 && next_page(o, &pg)) {
        ogg_stream_pagein(&o->stream, &pg);
        if (ogg_page_granulepos(&pg) >= 0)
            *granule = (long)ogg_page_granulepos(&pg);
        while (rc == 0 && ogg_stream_packetout(&o->stream, &op) == 1) {
            if (headers < 3) {
                rc = vorbis_synthesis_headerin(vi, &vc, &op) ? -1 : 0;
                if (rc == 0 && ++headers == 3)
                    rc = vorbis_synthesis_init(&vd, vi) || vorbis_block_init(&vd, &vb) ? -1 : 0;
                continue;
            }
            long bs = vorbis_packet_blocksize(vi, &op);
            if (bs <= 0)
                continue;
            if (b->prev_bs == 0)
                b->d1 = (vorbis_info_blocksize(vi, 0) + bs) / 4;
            else
                b->last = (b->prev_bs + bs) / 4;
            b->prev_bs = bs;
            op.granulepos = -1, op.e_o_s = 0;
            if (vorbis_synthesis(&vb, &op) == 0)
                vorbis_synthesis_blockin(&vd, &vb);
            rc = drain(&vd, vi->channels, b);
        }
    }
    if (headers == 3) {
        vorbis_block_clear(&vb);
        vorbis_dsp_clear(&vd);
    }
    vorbis_comment_clear(&vc);
    return headers == 3 ? rc : -1;
}

int es_ogg_decode(const char *path, float **x, long *n, int *channels, int *rate)
{
    *x = NULL, *n = 0;
    ogg_reader o = {0};
    if (!(o.fp = fopen(path, "rb")))
        return es_fail("%s: cannot read", path);
    ogg_sync_init(&o.sync);
    vorbis_info vi;
    vorbis_info_init(&vi);
    pcm_buf b = {0};
    long granule = 0;
    int rc = decode_packets(&o, &vi, &b, &granule);
    *channels = vi.channels, *rate = (int)vi.rate;
    vorbis_info_clear(&vi);
    if (o.have_stream)
        ogg_stream_clear(&o.stream);
    ogg_sync_clear(&o.sync);
    fclose(o.fp);
    if (rc != 0 || b.n == 0) {
        free(b.x);
        return es_fail("%s: cannot decode the Vorbis stream", path);
    }
    /* FFmpeg trims d1 + decoded − granule from the end, when that fits in the last packet
     * (a decoder drops larger end-padding requests) */
    long skip = b.d1 + b.n - granule;
    if (skip > 0 && skip <= b.last)
        b.n -= skip;
    *x = b.x, *n = b.n;
    return 0;
}
