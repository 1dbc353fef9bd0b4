/* What the saliency, sanity, sonify and view verbs share: the method settings, and turning
 * them into es_sal_opts for an input (pipeline/es_pipeline.h's es_clip). */
#ifndef ES_APP_SALIENCY_H
#define ES_APP_SALIENCY_H
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"

/* The method settings; their flags are OPT_SALIENCY below. */
typedef struct {
    es_sal_opts o;
    const char *method, *target, *layer, *upsample, *ig_method, *baseline;
    int hop_frames;
    int aggregate; /* --aggregate: -1, or the es_aggregate chosen */
    es_array base; /* --baseline FILE.npy, silence, blur */
} sal_args;
void sal_args_init(sal_args *a);
void sal_args_free(sal_args *a);

/* Resolves --method, --layer, --target, --baseline, --upsample, --ig-method into a->o, and
 * --aggregate into the clip (the default target is the class of its verdict).
 * Returns 0, 1 (runtime error printed, e.g. an unknown layer) or 2 (usage error printed). */
int sal_resolve(sal_args *a, es_clip *in, const char *verb);

/* The method flags of saliency, sanity, sonify and view, rows of an option table (apps/opt.h)
 * for a sal_args *a; the names they give are resolved with the model (sal_resolve). */
#define OPT_SALIENCY(a)                                                                         \
    OPT_HEADING("method options:"),                                                             \
    OPT_STRING(0, "method", &(a)->method, "M",                                                  \
               "grad | input-x-grad | deconvnet | guided | gradcam | guided-gradcam |\n"        \
               "ig | smoothgrad | smoothgrad-sq | vargrad | occlusion"),                        \
    OPT_RELU_RULE,                                                                              \
    OPT_STRING(0, "target", &(a)->target, "K|NAME",                                             \
               "the class explained: index or label (default: the class of the sound's\n"       \
               "verdict, as predict and eval give it); its score before a final\n"             \
               "softmax/sigmoid is explained"),                                                  \
    OPT_AGGREGATE(&(a)->aggregate),                                                             \
    OPT_STRING(0, "layer", &(a)->layer, "NAME",                                                 \
               "Grad-CAM layer: ONNX node or tensor name (default: the last map with a\n"      \
               "time or space axis before pooling / flatten / recurrence / attention;\n"       \
               "`earsight info` shows it and why)"),                                            \
    OPT_STRING(0, "upsample", &(a)->upsample, "MODE", "Grad-CAM upsampling: bilinear (default) | nearest"), \
    OPT_INT(0, "steps", &(a)->o.steps, 1, 100000, "N", "IG steps (50)"),                        \
    OPT_STRING(0, "ig-method", &(a)->ig_method, "M",                                            \
               "gausslegendre (default) | riemann-trapezoid | riemann-left |\n"                 \
               "riemann-right | riemann-middle"),                                               \
    OPT_INFILE(0, "baseline", &(a)->baseline, "B",                                              \
               "IG: zero (default) | min (the input's minimum) | silence (a silent sound\n"     \
               "through the model's features) | blur (the input, Gaussian-blurred) |\n"        \
               "FILE.npy (one input sample)"),                                                  \
    OPT_INT(0, "samples", &(a)->o.samples, 1, 100000, "N", "SmoothGrad samples (25)"),          \
    OPT_FLOAT(0, "sigma", &(a)->o.sigma, 0, 1e6, "S",                                           \
              "SmoothGrad noise std as a fraction of the input's range (0.15)"),                \
    OPT_U64(0, "seed", &(a)->o.seed, 0, 1e18, "N", "SmoothGrad noise seed (0)"),                \
    OPT_SIZE(0, "window", &(a)->o.window[0], &(a)->o.window[1], 1, 1e9, "HxW", "occlusion window over the last two dims (3x3)"), \
    OPT_SIZE(0, "stride", &(a)->o.stride[0], &(a)->o.stride[1], 1, 1e9, "HxW", "occlusion stride (1x1)"), \
    OPT_FLOAT(0, "occlusion-value", &(a)->o.occ_value, -1e30, 1e30, "V", "the value put in the window (0)"), \
    OPT_INT(0, "hop-frames", &(a)->hop_frames, 1, 1e9, "N",                                     \
            "a sound longer than the model's frames: windows N frames apart\n"                  \
            "(default: half the model's frames), maps stitched (overlaps cross-faded)")

#endif
