/* make bench: log-mel (80 slaney bands, n_fft 1024, hop 315, dB with top_db 80) of 10 minutes
 * of 22.05 kHz audio on 2 threads, median of 7 runs; then torchaudio's MelSpectrogram +
 * AmplitudeToDB on the same machine in the same run (bench/peer_audio.py), when installed. */
#include "audio/es_audio.h"
#include "bench/bench.h"
#include <math.h>
#include <omp.h>
#include <unistd.h>

#define RUNS 7
#define SR 22050
#define SECONDS 600

int main(void)
{
    omp_set_num_threads(2);
    long n = (long)SR * SECONDS;
    float *x = malloc(sizeof(float) * (size_t)n);
    unsigned r = 1;
    for (long i = 0; i < n; i++) { /* tones and a little noise */
        r = r * 1664525u + 1013904223u;
        x[i] = (float)(0.3 * sin(2 * M_PI * 440 * i / SR) + 0.1 * sin(2 * M_PI * 3000.5 * i / SR) +
                       0.01 * ((r >> 8) / 16777216.0 - 0.5));
    }
    es_feature_config c;
    es_config_default(&c); /* §4: 22050, 1024, 315, 80 slaney/slaney, power 2, dB, top_db 80 */
    double t0 = now_ms();
    es_features *f = es_features_new(&c);
    double setup = now_ms() - t0;
    if (!f) {
        fprintf(stderr, "bench_audio: %s\n", es_error());
        return 1;
    }
    es_array a = {0};
    int bad = 0;
    double mem, file = -1;
    BENCH_MEDIAN(mem, RUNS, {
        bad |= es_features_compute(f, x, n, &a) != 0;
        es_array_free(&a);
    });
    /* the same from a float WAV file: decoding and streaming included */
    const char *wav = "build/bench_audio_tmp.wav";
    if (!bad && es_audio_save(wav, x, n, SR) == 0) {
        BENCH_MEDIAN(file, RUNS, {
            bad |= es_features_file(f, wav, &a) != 0;
            es_array_free(&a);
        });
        unlink(wav);
    }
    if (bad)
        return fprintf(stderr, "bench_audio: %s\n", es_error()), 1;
    printf("audio: log-mel 80 x %ld frames of %d s at %d Hz, 2 threads, median of %d\n",
           es_features_frames(f, n), SECONDS, SR, RUNS);
    char names[4][64];
    double v[4];
    int k = run_peer("torchaudio", "bench/peer_audio.py", names, v, 4);
    report("  log-mel, 10 minutes", mem, peer_value(names, v, k, "torchaudio_median_ms"), "torchaudio");
    printf("  (from a WAV file %.1f ms; setup with FFTW planning %.1f ms)\n", file, setup);
    es_features_free(f);
    free(x);
    return 0;
}
