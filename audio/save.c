/* Writing mono sound (an inverted spectrogram, a sonified attribution) with libsndfile,
 * through a temporary file renamed into place. */
#include "audio/es_audio.h"
#include <sndfile.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static int format_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return 0;
    if (!strcasecmp(dot, ".wav"))
        return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    if (!strcasecmp(dot, ".flac"))
        return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
    if (!strcasecmp(dot, ".ogg"))
        return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    return 0;
}

int es_audio_save(const char *path, const float *x, long n, int sample_rate)
{
    SF_INFO info = {.samplerate = sample_rate, .channels = 1, .format = format_for(path)};
    if (!info.format)
        return es_fail("%s: unknown sound format (use .wav, .flac or .ogg)", path);
    if (n < 1 || sample_rate < 1)
        return es_fail("%s: nothing to write (%ld samples at %d Hz)", path, n, sample_rate);
    es_atomic a;
    if (es_atomic_open(&a, path) != 0)
        return -1;
    SNDFILE *sf = sf_open_fd(fileno(a.f), SFM_WRITE, &info, 0);
    if (!sf) {
        es_atomic_abort(&a);
        return es_fail("%s: cannot write: %s", path, sf_strerror(NULL));
    }
    /* integer formats: clip rather than wrap around */
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t put = sf_writef_float(sf, x, n);
    int bad = put != n || sf_close(sf) != 0;
    if (bad) {
        int e = errno; /* EFBIG, ENOSPC: said, before the abort's calls change it */
        es_atomic_abort(&a);
        return es_fail("%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    return es_atomic_commit(&a);
}
