/* What the saliency, sanity and sonify verbs share: the method flags, an input (a .npy or a
 * sound in overlapping windows) with its model, the target, and the map for the whole input. */
#ifndef ES_APP_SALIENCY_H
#define ES_APP_SALIENCY_H
#include "apps/model.h"
#include "audio/es_audio.h"
#include "saliency/es_saliency.h"

typedef struct {
    es_sal_opts o;
    const char *method, *target, *layer, *upsample, *ig_method, *baseline;
    int hop_frames;
    es_array base; /* --baseline FILE.npy */
} sal_args;
void sal_args_init(sal_args *a);
void sal_args_free(sal_args *a);
/* A method flag (name, its value): 2 when both were used, 1 for a switch, 0 when not ours,
 * -1 after printing a usage error for `verb`. */
int sal_flag(sal_args *a, const char *verb, const char *flag, const char *value);
/* The method flags' help, for the verbs' usage texts. */
#define SAL_FLAGS_HELP \
    "  --method M          grad | input-x-grad | deconvnet | guided | gradcam | guided-gradcam |\n" \
    "                      ig | smoothgrad | smoothgrad-sq | vargrad | occlusion\n" \
    "  --target K|NAME     the class explained: index or label (default: the predicted class);\n" \
    "                      its score before a final softmax/sigmoid is explained\n" \
    "  --layer NAME        Grad-CAM layer: ONNX node or tensor name (default: the last spatial\n" \
    "                      activation before pooling / flatten; `earsight info` shows it)\n" \
    "  --upsample MODE     Grad-CAM upsampling: bilinear (default) | nearest\n" \
    "  --steps N           IG steps (50)\n" \
    "  --ig-method M       gausslegendre (default) | riemann-trapezoid | riemann-left |\n" \
    "                      riemann-right | riemann-middle\n" \
    "  --baseline B        IG: zero (default) | min (the input's minimum) | FILE.npy\n" \
    "  --samples N         SmoothGrad samples (25)\n" \
    "  --sigma S           SmoothGrad noise std as a fraction of the input's range (0.15)\n" \
    "  --seed N            SmoothGrad noise seed (0)\n" \
    "  --window HxW        occlusion window over the last two dims (3x3)\n" \
    "  --stride HxW        occlusion stride (1x1)\n" \
    "  --occlusion-value V the value put in the window (0)\n" \
    "  --hop-frames N      a sound longer than the model's frames: windows N frames apart\n" \
    "                      (default: half the model's frames), maps stitched (overlaps averaged)\n"


typedef struct {
    app_model m;
    es_array x;       /* the input tensor, batch first (one row per window for a sound) */
    int had_batch, audio;
    es_feature_config cfg; /* a sound: the model's feature settings */
    int frames;       /* a sound: its frame count; the map is (bands × frames) */
    int bands, F, hop, time_first;
    int st, classes;  /* score tensor, its row length */
    float *scores;    /* rows × classes */
} sal_input;
/* Loads model and input; 0, or -1 with es_error(). */
int sal_input_load(sal_input *in, const char *model, const char *file, int hop_frames);
/* The next input for the model already loaded: 0, 1 when its shape needs the model loaded
 * anew (sal_input_free + sal_input_load), -1 with es_error(). */
int sal_input_next(sal_input *in, const char *file, int hop_frames);
void sal_input_free(sal_input *in);
/* Resolves --method, --layer, --target, --baseline, --upsample, --ig-method into a->o.
 * Returns 0, 1 (runtime error printed, e.g. an unknown layer) or 2 (usage error printed). */
int sal_resolve(sal_args *a, sal_input *in, const char *verb);
/* The map for the whole input: the input's shape (.npy, without the batch dim when it had
 * none) or (bands × frames) for a sound, windows stitched with overlaps averaged. map holds
 * sal_map_size floats; info (may be NULL) gets the first row's (delta: the largest |delta|). */
size_t sal_map_size(const sal_input *in);
/* A sound's rows in the model's layout (one per window, e.g. in->x.data or their maps) as
 * one (bands × frames) matrix, overlaps averaged; out holds sal_map_size floats. */
int sal_stitch(const sal_input *in, const float *rows, float *out);
/* "What the network heard": x (n samples at `rate`) through the STFT bins a (mels × mf) map
 * keeps (es_sonify_mask: the top `keep` fraction, or with keep < 0 those >= threshold ×
 * max; invert swaps), with the sound's own phase, at its own rate (the model's n_fft and hop
 * in samples, the filter bank built for `rate`). y gets n samples, *kept (may be NULL) the
 * fraction of bins kept. `what` names the sound in messages. (apps/sonify.c) */
int sal_resynth(const es_feature_config *c, const float *map, int mels, int mf, const float *x,
                long n, int rate, float keep, float threshold, int invert, float *y,
                double *kept, const char *what);
int sal_map_shape(const sal_input *in, int *dims);
int sal_compute(sal_input *in, const es_sal_opts *o, float *map, es_sal_info *info);
/* The same with every row's info (info: NULL or x.dims[0] entries). */
int sal_compute_rows(sal_input *in, const es_sal_opts *o, float *map, es_sal_info *info);
/* The probabilities of a score row: the squashing the model ends in, else softmax (sigmoid
 * for one class). */
/* The matrix a picture shows of a map or input (a new rows × cols array in *out): a sound's
 * (bands × frames) as is; a tensor's last two dims, channels summed, frames_mels models turned
 * to (mels × frames). */
int sal_picture_matrix(const sal_input *in, const float *v, int *rows, int *cols, float **out);
void sal_probabilities(const sal_input *in, const float *scores, float *p);

#endif
