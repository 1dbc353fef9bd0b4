/* Sound files through libsndfile and earsight's own Ogg Vorbis reader, at the file's rate and
 * resampled the torchaudio way (the polyphase filter of any rate pair). */
#include "audio/es_audio.h"
#include "fuzz/fuzz.h"

static long gcd(long a, long b) { return b ? gcd(b, a % b) : a; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n, "snd");
    float buf[4096];
    es_reader *r = es_reader_open(path, 0);
    if (!r)
        return *es_error() ? 0 : (abort(), 0);
    int rate = es_reader_file_rate(r);
    long got, total = 0;
    while ((got = es_reader_read(r, buf, 4096)) > 0)
        total += got;
    es_reader_close(r);
    /* resampled when the filter is small (16000/gcd phases at most 2000): odd rate pairs are
     * the unit tests' (test_audio), and here would spend each run building taps */
    if (got < 0 || rate < 1 || rate > 192000 || total > 1 << 20 || 16000 / gcd(rate, 16000) > 2000)
        return 0;
    r = es_reader_open_resampler(path, 16000, ES_RESAMPLE_TORCHAUDIO);
    while (r && es_reader_read(r, buf, 4096) > 0)
        ;
    es_reader_close(r);
    return 0;
}
