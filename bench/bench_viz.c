/* Rendering benchmark: a 1200×600 PNG of an 80-mel × 2000-frame spectrogram with a blended
 * saliency overlay, colorbars, axes and title — render + write, median of repeats — against
 * matplotlib (Agg: imshow, imshow overlay with alpha, colorbar, savefig) run in the same
 * session when Debian's python3-matplotlib is installed. The font is opened once outside
 * the loop, as matplotlib keeps its font cache; the peer gets a warm-up run too. */
#include "base/es_base.h"
#include "viz/es_viz.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MELS 80
#define FRAMES 2000
#define REPS 31

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Smooth "random-ish" data: a sum of a few low-frequency waves with a fixed seed, a dB-like
 * spectrogram falling with frequency, and a saliency map with a few blobs of both signs. */
static void make_data(float *spec, float *sal)
{
    srand(1);
    double ph[6];
    for (int i = 0; i < 6; i++)
        ph[i] = rand() / (double)RAND_MAX * 6.283;
    for (int m = 0; m < MELS; m++)
        for (int t = 0; t < FRAMES; t++) {
            double v = -20 - 0.5 * m + 12 * sin(t * 0.013 + ph[0]) * cos(m * 0.11 + ph[1]) +
                       6 * sin(t * 0.071 + m * 0.05 + ph[2]) + 3 * sin(t * 0.31 + ph[3]);
            spec[m * FRAMES + t] = (float)(v < -80 ? -80 : v);
            sal[m * FRAMES + t] = (float)(exp(-pow((m - 30) / 8.0, 2) - pow((t - 600) / 150.0, 2)) -
                                          0.6 * exp(-pow((m - 60) / 6.0, 2) - pow((t - 1500) / 90.0, 2)) +
                                          0.05 * sin(t * 0.05 + ph[4]) * cos(m * 0.3 + ph[5]));
        }
}

static int render(es_font *f, const float *spec, const float *sal, const char *out)
{
    es_canvas c;
    if (es_canvas_init(&c, 1200, 600, ES_RGBA(255, 255, 255, 255)) != 0)
        return -1;
    es_spec_plot p = {spec, MELS, FRAMES, {0, FRAMES * 315 / 22050.0, ES_SCALE_LINEAR, "Time (s)"},
                      {50, 11025, ES_SCALE_MEL_SLANEY, "Frequency (Hz)"}, "magma", -80, 0,
                      "Log-mel spectrogram, blended saliency"};
    p.saliency = sal;
    p.overlay = (es_overlay)ES_OVERLAY_DEFAULTS;
    es_style st = {f};
    const char *text[] = {"method", "bench", NULL};
    es_png_opts o = {-1, text};
    int rc = es_plot_spectrogram(&c, (es_rect){0, 0, 1200, 600}, &st, &p);
    if (rc == 0)
        rc = es_png_write(out, &c, &o);
    es_canvas_free(&c);
    return rc;
}

/* The peer's median in ms, or a negative number when matplotlib is not there. */
static double run_peer(const float *spec, const float *sal)
{
    if (system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
        return -1;
    float *norm = malloc(sizeof(float) * MELS * FRAMES);
    int dims[2] = {MELS, FRAMES};
    if (!norm || es_saliency_normalize(sal, MELS * FRAMES, ES_SIGN_ABSOLUTE, 2, norm) != 0 ||
        es_npy_save("build/bench/viz_spec.npy", spec, 2, dims) != 0 ||
        es_npy_save("build/bench/viz_sal.npy", norm, 2, dims) != 0) {
        free(norm);
        return -1;
    }
    free(norm);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/peer_viz.py build/bench/viz_spec.npy "
                              "build/bench/viz_sal.npy build/bench/viz_peer.png %d", REPS);
    FILE *p = popen(cmd, "r");
    double ms = -1;
    char line[256];
    while (p && fgets(line, sizeof line, p))
        sscanf(line, "median_ms %lf", &ms);
    if (p)
        pclose(p);
    return ms;
}

int main(void)
{
    mkdir("build", 0777);
    mkdir("build/bench", 0777);
    float *spec = malloc(sizeof(float) * MELS * FRAMES), *sal = malloc(sizeof(float) * MELS * FRAMES);
    es_font *f = es_font_open(NULL);
    if (!spec || !sal || !f) {
        fprintf(stderr, "bench_viz: %s\n", f ? "out of memory" : es_error());
        return 1;
    }
    make_data(spec, sal);
    double t[REPS];
    if (render(f, spec, sal, "build/bench/viz_earsight.png") != 0) { /* warm-up */
        fprintf(stderr, "bench_viz: %s\n", es_error());
        return 1;
    }
    for (int i = 0; i < REPS; i++) {
        double t0 = now_ms();
        render(f, spec, sal, "build/bench/viz_earsight.png");
        t[i] = now_ms() - t0;
    }
    qsort(t, REPS, sizeof *t, cmp_double);
    double ours = t[REPS / 2], peer = run_peer(spec, sal);
    printf("viz: 1200x600 spectrogram (%dx%d) + blended saliency + colorbar -> PNG\n", MELS, FRAMES);
    printf("  earsight    median %8.2f ms (%d runs)\n", ours, REPS);
    if (peer > 0)
        printf("  matplotlib  median %8.2f ms (Agg, savefig)\n  ratio       %.1fx faster\n", peer,
               peer / ours);
    else
        printf("  matplotlib  not installed (/usr/bin/python3 -c 'import matplotlib' failed)\n");
    es_font_close(f);
    es_viz_shutdown();
    free(spec), free(sal);
    return 0;
}
