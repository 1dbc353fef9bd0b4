/* How long torchaudio says an Ogg Vorbis file is. torchaudio 0.13 decodes Ogg with FFmpeg,
 * libsndfile with libvorbis; they agree sample for sample except in length. When a stream's
 * first audio page is also its last (short clips), FFmpeg counts the first packet's duration
 * ((short block + that packet's block) / 4, though the decoder outputs nothing for it) when it
 * trims the end to the granule position, and so ends that many samples early. We follow, so
 * features have torchaudio's frame count. Reads the headers and the first audio packet only. */
#include "audio/internal.h"
#include <ogg/ogg.h>
#include <stdio.h>
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

int es_ogg_probe(const char *path, long *trim)
{
    *trim = 0;
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
    int vorbis = walk(&o, &w) == 0;
    /* FFmpeg trims d1 + sum − granule from the end, but only when that fits in the last packet
     * (a decoder drops larger end-padding requests). libsndfile stops at the granule. */
    if (vorbis && w.eos && w.single_page) {
        long skip = w.d1 + w.sum - w.granule;
        if (skip > 0 && skip <= w.last && w.sum >= w.granule)
            *trim = w.d1;
    }
    if (o.have_stream)
        ogg_stream_clear(&o.stream);
    ogg_sync_clear(&o.sync);
    fclose(o.fp);
    /* checked before libsndfile sees the file: it leaks when opening a cut Ogg stream fails */
    return w.eos ? 0 : es_fail("%s: truncated: the Ogg stream has no end", path);
}
