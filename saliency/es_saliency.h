/* earsight saliency: what a trained network attends to — attribution methods on a target
 * score, sanity checks (Adebayo et al.) and sonification ("listen to what it heard").
 *
 * Every method works on one graph (nn/es_nn.h) with one input tensor and explains the
 * score of one class of the graph's first output (es_graph_outputs): the logit *before* a
 * final Softmax / Sigmoid / LogSoftmax (DESIGN.md §2), whatever Transposes and Reshapes an
 * older opset wraps around it, or the output itself when the graph ends otherwise. Gradient, deconvnet and guided
 * backprop are one backward pass with a different ReLU rule; Grad-CAM reads one layer's
 * activation and gradient. Results follow Captum's definitions (noted per method).
 *
 * The rule changes ReLU units only, as Captum's GuidedBackprop / Deconvolution hook nn.ReLU
 * modules only: every other activation passes its true gradient under every rule — ReLU6
 * (an ONNX Clip, imported as two Relus marked plain, nn/graph.h es_relu_attrs), HardSwish,
 * GELU, LeakyReLU, Sigmoid, Tanh. ONNX writes an nn.ReLU and a functional F.relu (which
 * Captum's hooks do not see) alike; the ONNX import tells them apart by the module scopes
 * torch.onnx.export names nodes with and marks functional ones plain (nn/onnx.h
 * es_relu_scope, chosen when the model is loaded); every other Relu takes the rule.
 *
 * Ownership: the caller owns the graph and every buffer; nothing here keeps a pointer after
 * a call. The graph's batch size may change during a call and is restored before it returns.
 * Errors: -1 and a one-line es_error(); nothing prints or exits. */
#ifndef ES_SALIENCY_H
#define ES_SALIENCY_H
#include "nn/es_nn.h"
#include <stdint.h>

#define ES_SAL_BATCH_BYTES ((size_t)384 << 20)

typedef enum {
    ES_SAL_GRAD,           /* ∂score/∂x (signed: Captum's Saliency with abs=False) */
    ES_SAL_INPUT_X_GRAD,   /* x · ∂score/∂x */
    ES_SAL_DECONVNET,      /* backward with the deconvnet ReLU rule (ReLU units only, above) */
    ES_SAL_GUIDED,         /* backward with the guided ReLU rule (ReLU units only, above) */
    ES_SAL_GRADCAM,        /* ReLU(Σ_c mean(∂s/∂A_c)·A_c) at a layer, upsampled to the input */
    ES_SAL_GUIDED_GRADCAM, /* guided backprop × upsampled Grad-CAM (Captum's GuidedGradCam) */
    ES_SAL_IG,             /* integrated gradients */
    ES_SAL_SMOOTHGRAD,     /* mean gradient over noisy copies (Captum NoiseTunnel) */
    ES_SAL_SMOOTHGRAD_SQ,  /* mean squared gradient over noisy copies */
    ES_SAL_VARGRAD,        /* variance of the gradient over noisy copies */
    ES_SAL_OCCLUSION,      /* score drop when a sliding window is set to a value (Captum) */
    ES_SAL_COUNT
} es_sal_method;

/* Captum's IntegratedGradients `method`s. */
typedef enum { ES_IG_GAUSSLEGENDRE, ES_IG_TRAPEZOID, ES_IG_LEFT, ES_IG_RIGHT, ES_IG_MIDDLE } es_ig_rule;
typedef enum { ES_BASE_ZERO, ES_BASE_MIN, ES_BASE_ARRAY } es_baseline;

typedef struct {
    es_sal_method method;
    int target;         /* class index into the score row; -1: the predicted class */
    int layer;          /* Grad-CAM tensor id; -1: es_sal_default_layer */
    int bilinear;       /* Grad-CAM upsampling: 1 bilinear, 0 nearest (align_corners false) */
    int steps;          /* IG: 50 */
    es_ig_rule ig_rule; /* IG: Gauss-Legendre */
    es_baseline baseline;     /* IG: zero, the input's minimum, or `baseline_data` */
    const float *baseline_data; /* one sample, the input's size */
    size_t baseline_stride; /* floats from one row's baseline to the next when a caller runs
                             * several rows (es_clip: a blurred baseline per window); 0: the
                             * same baseline for every row. es_saliency itself takes one row */
    int samples;        /* SmoothGrad: 25 */
    float sigma;        /* SmoothGrad: noise std as a fraction of max(x) − min(x): 0.15 */
    uint64_t seed;      /* SmoothGrad noise (es_sal_noise) */
    int window[2], stride[2]; /* occlusion over the last two dims (or last one): 3x3, 1x1 */
    float occ_value;    /* occlusion: the value put in the window (0) */
    int batch;          /* samples per forward/backward in IG, SmoothGrad, occlusion: 16,
                         * fewer when the memory plan's bytes for them would pass
                         * ES_SAL_BATCH_BYTES (es_graph_bytes_per_sample: the BAD DenseNet at
                         * 200×56 takes ~15 MB a sample) */
    volatile int *cancel; /* NULL, or a flag another thread may set: IG, SmoothGrad and occlusion
                           * look at it before each batch and fail with "cancelled" */
} es_sal_opts;
void es_sal_defaults(es_sal_opts *o);

typedef struct {
    int target;       /* the class explained */
    float score;      /* its score at x */
    float base_score; /* IG: the score at the baseline */
    float delta;      /* IG: Σ attribution − (score − base_score) (Captum's convergence delta) */
} es_sal_info;

/* Method names as the CLI takes them ("grad", "input-x-grad", "deconvnet", "guided",
 * "gradcam", "guided-gradcam", "ig", "smoothgrad", "smoothgrad-sq", "vargrad",
 * "occlusion"); -1 for an unknown name. */
int es_sal_method_find(const char *name);
const char *es_sal_method_name(es_sal_method m);
int es_ig_rule_find(const char *name); /* "gausslegendre", "riemann-trapezoid" … or -1 */

/* The tensor whose row is the class scores: the first output, or what feeds a final squashing
 * — through order-keeping ops (Reshape, Flatten, (Un)Squeeze, Identity, Dropout) and a pair of
 * Transposes that cancel, so opset 11's Transpose → LogSoftmax → Transpose (log_softmax over
 * an inner dim) gives the same tensor as opset 13's LogSoftmax. */
int es_sal_score_tensor(const es_graph *g);
/* The default Grad-CAM layer: on the way from the input to the scores, the last activation
 * with a time or space axis (rank >= 3, more than one value past the channels) before the
 * first step that ends the maps — a pooling or flatten that removes an axis (global pooling,
 * a mean over frequency, Flatten, Gemm), a recurrent op, or attention (a MatMul of two
 * activations) — for 1-D and 2-D models alike. -1 when there is none. */
int es_sal_default_layer(const es_graph *g);
/* That first step (a node id), the reason the default layer is where it is; -1 when the maps
 * reach the scores' own node. */
int es_sal_default_layer_stop(const es_graph *g);
/* A layer named as a tensor or as a node (its first output). -1 with an error otherwise. */
int es_sal_layer_find(const es_graph *g, const char *name);

/* Explains one sample: x holds one input sample (the input tensor's size for batch 1);
 * out (the same size) gets the signed attribution. info may be NULL. */
int es_saliency(es_graph *g, int input, const float *x, const es_sal_opts *o, float *out,
                es_sal_info *info);
/* Whether a method is one backward pass (or two) after one forward: grad, input-x-grad,
 * deconvnet, guided, gradcam, guided-gradcam. IG, SmoothGrad and occlusion run passes of
 * their own. */
int es_sal_single_pass(es_sal_method m);
/* The same for the n samples xs the caller has just forwarded through g (batch n, ES_TEST,
 * under an ES_GRAD_INPUTS memory plan with the score tensor and a Grad-CAM method's layer
 * pinned before the pass; es_graph_forward_id not 0): a single-pass method from that forward,
 * by backward passes alone, so several methods share one. out gets n × the sample size;
 * info (n of them, required) each row's target and score. The graph's batch, plan and pins
 * are the caller's and stay as they are. */
int es_saliency_forwarded(es_graph *g, int input, const float *xs, int n, const es_sal_opts *o,
                          float *out, es_sal_info *info);
/* The class scores (score row) for one sample; n gets the row length. 0 or -1. */
int es_sal_scores(es_graph *g, int input, const float *x, float *scores, int max, int *n);

/* The noise SmoothGrad adds: n standard normal numbers, es_rng_normal from {seed}
 * (splitmix64 + Box–Muller in double), so a peer in another language can draw the very same. */
void es_sal_noise(uint64_t seed, float *z, size_t n);

/* Nearest / bilinear (align_corners false) resize of a (h × w) map, torch's interpolate. */
void es_sal_resize(const float *src, int h, int w, float *dst, int oh, int ow, int bilinear);

/* ---- sanity checks (Adebayo et al. 2018) -------------------------------------------- */
/* The layers the checks randomize: nodes with trainable weights, from the top (output)
 * down. Fills ids (node ids) up to max; returns the count. */
int es_sanity_layers(const es_graph *g, int *ids, int max);
/* Re-draws a node's trainable tensors: normal around each tensor's own mean with its own
 * (population) std, 0.01 when the tensor is constant — the learned structure goes, the
 * location and scale stay. The k-th input (from 0) draws es_sal_noise(seed + 0x9E37·(k+1)). */
int es_sanity_randomize(es_graph *g, int node, uint64_t seed);
/* Spearman rank correlation (ties get their average rank) of a and b. */
double es_spearman(const float *a, const float *b, size_t n, int absolute);
/* SSIM as skimage's structural_similarity (7×7 uniform window, sample covariance, K1 0.01,
 * K2 0.03) of two (rows × cols) maps, each taken as |map| / max|map| (data range 1). */
double es_ssim(const float *a, const float *b, int rows, int cols);

/* ---- sonification ------------------------------------------------------------------- */
/* A (n_freqs × frames) STFT-bin mask from a (n_mels × frames) map through the filter bank
 * fb (n_mels × n_freqs, as es_mel_filterbank): each bin takes the filter-weighted mean of
 * the map. Then the top `keep` fraction of bins (keep in [0,1]) are 1, the rest 0; with
 * threshold >= 0 instead (keep < 0), bins whose map is >= threshold·max|map|. invert swaps. */
int es_sonify_mask(const float *map, int n_mels, int frames, const float *fb, int n_freqs,
                   float keep, float threshold, int invert, float *mask);

#endif
