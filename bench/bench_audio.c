/* make bench: log-mel (80 slaney bands, n_fft 1024, hop 315, dB with top_db 80) of 10 minutes
 * of 22.05 kHz audio on 2 threads, median of 7 runs; then torchaudio's MelSpectrogram +
 * AmplitudeToDB on the same machine in the same run (bench/peer_audio.py), when installed. */
#include "audio/es_audio.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS 7
#define SR 22050
#define SECONDS 600

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* Runs the peer script and returns its median in ms, or -1. */
static double peer(void)
{
    if (system("/usr/bin/python3 -c 'import torchaudio' >/dev/null 2>&1") != 0)
        return -1;
    FILE *p = popen("/usr/bin/python3 bench/peer_audio.py 2>/dev/null", "r");
    if (!p)
        return -1;
    char line[256];
    double ms = -1;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "torchaudio_median_ms %lf", &ms) == 1)
            break;
    pclose(p);
    return ms;
}

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
    double t[RUNS];
    es_array a;
    for (int i = -1; i < RUNS; i++) { /* one warm-up run */
        t0 = now_ms();
        if (es_features_compute(f, x, n, &a) != 0)
            return fprintf(stderr, "bench_audio: %s\n", es_error()), 1;
        if (i >= 0)
            t[i] = now_ms() - t0;
        es_array_free(&a);
    }
    double mem = median(t, RUNS);
    /* the same from a float WAV file: decoding and streaming included */
    const char *wav = "build/bench_audio_tmp.wav";
    double file = -1;
    if (es_audio_save(wav, x, n, SR) == 0) {
        for (int i = 0; i < RUNS; i++) {
            t0 = now_ms();
            if (es_features_file(f, wav, &a) != 0)
                break;
            t[i] = now_ms() - t0;
            es_array_free(&a);
        }
        file = median(t, RUNS);
        unlink(wav);
    }
    printf("audio: log-mel 80 x %ld frames of %d s at %d Hz, 2 threads, median of %d\n",
           es_features_frames(f, n), SECONDS, SR, RUNS);
    printf("  earsight   %8.1f ms  (from a WAV file %.1f ms; setup with FFTW planning %.1f ms)\n",
           mem, file, setup);
    double p = peer();
    if (p > 0)
        printf("  torchaudio %8.1f ms  -> earsight is %.1fx faster\n", p, p / mem);
    else
        printf("  torchaudio not installed: no peer figure\n");
    es_features_free(f);
    free(x);
    return 0;
}
