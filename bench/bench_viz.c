/* Rendering benchmark: a 1200×600 PNG of an 80-mel × 2000-frame spectrogram with a blended
 * saliency overlay, colorbars, axes and title — render + write, median of repeats — against
 * matplotlib (Agg: imshow, imshow overlay with alpha, colorbar, savefig) run in the same
 * session when Debian's python3-matplotlib is installed. The font is opened once outside
 * the loop, as matplotlib keeps its font cache; the peer gets a warm-up run too. */
#include "base/es_base.h"
#include "bench/bench.h"
#include "viz/es_viz.h"
#include <math.h>
#include <sys/stat.h>

#define MELS 80
#define FRAMES 2000
#define REPS 31

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

/* matplotlib's median in ms (0 when it is not installed): the same data, the saliency map
 * already normalised as Captum does, so both sides draw the same picture. */
static double peer_median(const float *spec, const float *sal)
{
    float *norm = malloc(sizeof(float) * MELS * FRAMES);
    int dims[2] = {MELS, FRAMES};
    if (!norm || es_saliency_normalize(sal, MELS * FRAMES, ES_SIGN_ABSOLUTE, 2, norm) != 0 ||
        es_npy_save("build/bench/viz_spec.npy", spec, 2, dims) != 0 ||
        es_npy_save("build/bench/viz_sal.npy", norm, 2, dims) != 0) {
        free(norm);
        return 0;
    }
    free(norm);
    char names[4][64], script[256];
    double values[4];
    snprintf(script, sizeof script, "bench/peer_viz.py build/bench/viz_spec.npy "
                                    "build/bench/viz_sal.npy build/bench/viz_peer.png %d", REPS);
    int n = run_peer("matplotlib", script, names, values, 4);
    return peer_value(names, values, n, "median_ms");
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
    double ours;
    int rc = 0;
    BENCH_MEDIAN(ours, REPS, rc |= render(f, spec, sal, "build/bench/viz_earsight.png"));
    if (rc != 0) {
        fprintf(stderr, "bench_viz: %s\n", es_error());
        return 1;
    }
    report("viz 1200x600 spectrogram+overlay PNG", ours, peer_median(spec, sal), "matplotlib");
    es_font_close(f);
    es_viz_shutdown();
    free(spec), free(sal);
    return 0;
}
