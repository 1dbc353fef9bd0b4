/* What the saliency, sanity, sonify and view verbs share: the method flags, and turning them
 * into es_sal_opts for an input (pipeline/es_pipeline.h's es_clip). */
#ifndef ES_APP_SALIENCY_H
#define ES_APP_SALIENCY_H
#include "pipeline/es_pipeline.h"

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


/* Resolves --method, --layer, --target, --baseline, --upsample, --ig-method into a->o.
 * Returns 0, 1 (runtime error printed, e.g. an unknown layer) or 2 (usage error printed). */
int sal_resolve(sal_args *a, es_clip *in, const char *verb);

#endif
