/* Sound files through libsndfile and earsight's own Ogg Vorbis reader, at the file's rate and
 * resampled the torchaudio way (the polyphase filter of any rate pair). */
#include "audio/es_audio.h"
#include "fuzz/fuzz.h"

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
    if (got < 0 || rate > 192000 || total > 1 << 20)
        return 0;
    r = es_reader_open_resampler(path, 16000, ES_RESAMPLE_TORCHAUDIO);
    while (r && es_reader_read(r, buf, 4096) > 0)
        ;
    es_reader_close(r);
    return 0;
}
