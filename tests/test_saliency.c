/* saliency: Captum's golden 4×4 case, every method against PyTorch computations of the same
 * rule (tests/fixtures/gen_saliency.py), IG completeness, sanity checks, sonification masks,
 * and the saliency / sanity / sonify verbs (exit codes, one-line errors, no partial output). */
#define _GNU_SOURCE /* memmem */
#include "testutil.h"
#include "tests/captum_net.h"
#include "nn/onnx.h"
#include "saliency/es_saliency.h"
#include "pipeline/es_pipeline.h"
#include "audio/es_audio.h"
#include <cJSON.h>
#include <float.h>
#include <unistd.h>

#define SFIX(name) FIXTURE("saliency/" name)
#define CHIRP "tests/fixtures/onnx/chirp.wav"
#define SFIX_NET1D "tests/fixtures/saliency/net1d.input.npy"

static void captum_golden(void **s)
{
    int x, relu1;
    es_graph *g = captum_one_conv(&x, &relu1, NULL);
    float in[16], out[16];
    for (int i = 0; i < 16; i++)
        in[i] = (float)i;
    static const struct {
        es_sal_method m;
        float want[16];
    } cases[] = {
        {ES_SAL_GUIDED, {0, 1, 1, 1, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 2, 1}},
        {ES_SAL_DECONVNET, {2, 3, 3, 1, 3, 5, 5, 2, 3, 5, 5, 2, 1, 2, 2, 1}},
        {ES_SAL_GUIDED_GRADCAM, {0, 0, 4, 4, 0, 0, 12, 8, 28, 84, 97.5, 65, 28, 56, 65, 32.5}},
        {ES_SAL_GRAD, {0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        es_sal_opts o;
        es_sal_defaults(&o);
        o.method = cases[c].m, o.target = 0, o.layer = relu1, o.bilinear = 0;
        es_sal_info info;
        if (es_saliency(g, x, in, &o, out, &info) != 0)
            fail_msg("%s", es_error());
        for (int i = 0; i < 16; i++)
            if (fabsf(out[i] - cases[c].want[i]) > 1e-5f)
                fail_msg("%s [%d]: %g, Captum %g", es_sal_method_name(cases[c].m), i, out[i], cases[c].want[i]);
        assert_int_equal(info.target, 0);
    }
    /* the default Grad-CAM layer is relu1 (the last spatial activation before the flatten) */
    assert_int_equal(es_sal_default_layer(g), relu1);
    es_graph_free(g);
}

/* An ONNX fixture of gen_onnx.py (tests/fixtures/onnx/NAME.onnx) and its input tensor id. */
static es_graph *onnx_fixture(const char *name, es_meta **meta, int *input)
{
    char path[128];
    es_graph *g;
    snprintf(path, sizeof path, FIXTURE("onnx/%s.onnx"), name);
    if (es_onnx_load(path, &g, meta) != 0)
        fail_msg("%s", es_error());
    es_graph_inputs(g, input, 1);
    return g;
}

/* score_net (gen_onnx.py --score): outputs (logprob, embedding), the embedding made first.
 * At opsets 11 (Transpose → LogSoftmax → Transpose) and 13 (LogSoftmax axis 1), and with a
 * softmax over the flattened logits between Reshapes (flat), the same pre-softmax logits are
 * explained, with PyTorch's float64 gradient. */
#define SCORE_INDEX 13
static void score_across_opsets(void **s)
{
    es_array x = load_fixture(FIXTURE("onnx/score_net.input.npy"));
    es_array z = load_fixture(FIXTURE("onnx/score_net.logits.npy"));
    es_array gz = load_fixture(FIXTURE("onnx/score_net.grad.npy"));
    static const char *const names[] = {"score_net.op11", "score_net.op13", "score_net.flat"};
    for (int v = 0; v < 3; v++) {
        const char *name = names[v];
        es_meta *meta;
        int outs[2], input;
        es_graph *g = onnx_fixture(name, &meta, &input);
        assert_int_equal(es_graph_outputs(g, outs, 2), 2);
        assert_string_equal(es_tensor_name(g, outs[0]), v < 2 ? "logprob" : "prob"); /* ONNX's order */
        assert_string_equal(es_tensor_name(g, outs[1]), "embedding");
        assert_string_equal(es_tensor_name(g, es_sal_score_tensor(g)), "/conv2/Conv_output_0");
        float scores[24], att[32];
        int n;
        if (es_sal_scores(g, input, x.data, scores, 24, &n) != 0)
            fail_msg("%s", es_error());
        assert_int_equal(n, 24);
        assert_close_rel(scores, z.data, 24, 1e-5);
        es_sal_opts o;
        es_sal_defaults(&o);
        o.target = SCORE_INDEX;
        if (es_saliency(g, input, x.data, &o, att, NULL) != 0)
            fail_msg("%s", es_error());
        assert_close_rel(att, gz.data, 32, 1e-5);
        es_graph_free(g);
        es_meta_free(meta);
    }
    es_array_free(&x), es_array_free(&z), es_array_free(&gz);
}

/* relu_mix's guided and deconvnet maps of class 1 match gen_onnx.py's float64 references
 * relu_mix.METHOD{suffix}.npy to 1e-5 of their maximum. */
static void assert_relu_mix_maps(es_graph *g, int input, const float *x, const char *suffix)
{
    static const es_sal_method ms[] = {ES_SAL_GRAD, ES_SAL_GUIDED, ES_SAL_DECONVNET};
    for (size_t c = 0; c < sizeof ms / sizeof *ms; c++) {
        char path[128];
        snprintf(path, sizeof path, FIXTURE("onnx/relu_mix.%s%s.npy"), es_sal_method_name(ms[c]),
                 ms[c] == ES_SAL_GRAD ? "" : suffix);
        es_array want = load_fixture(path);
        float got[60];
        assert_int_equal(es_array_size(&want), 60);
        es_sal_opts o;
        es_sal_defaults(&o);
        o.method = ms[c], o.target = 1;
        if (es_saliency(g, input, x, &o, got, NULL) != 0)
            fail_msg("%s", es_error());
        double e = rel_err_max(got, want.data, 60, 1e-30);
        if (!(e <= 1e-5))
            fail_msg("%s%s: relative error %.3g against PyTorch", es_sal_method_name(ms[c]), suffix, e);
        es_array_free(&want);
    }
}

/* --model-output's library side: the chosen output becomes the first, an unknown name fails;
 * --relu-rule's: the scope reaches the import (relu_mix's functional relus stay plain or not) */
static void model_output_choice(void **s)
{
    es_model m;
    es_model_opts o = {.output = "embedding"};
    if (es_model_load(&m, FIXTURE("onnx/score_net.op11.onnx"), &o) != 0)
        fail_msg("%s", es_error());
    assert_string_equal(es_tensor_name(m.g, m.output), "embedding");
    assert_int_equal(es_sal_score_tensor(m.g), m.output);
    int outs[2];
    assert_int_equal(es_graph_outputs(m.g, outs, 2), 2);
    assert_string_equal(es_tensor_name(m.g, outs[1]), "logprob");
    es_model_free(&m);
    o.output = "nope";
    assert_int_equal(es_model_load(&m, FIXTURE("onnx/score_net.op13.onnx"), &o), -1);
    assert_non_null(strstr(es_error(), "no output 'nope' (its outputs: logprob, embedding)"));
    if (es_model_load(&m, FIXTURE("onnx/score_net.op13.onnx"), NULL) != 0)
        fail_msg("%s", es_error());
    assert_string_equal(es_tensor_name(m.g, m.output), "logprob");
    es_model_free(&m);
    es_array x = load_fixture(FIXTURE("onnx/relu_mix.input.npy"));
    for (int k = 0; k < 2; k++) {
        o = (es_model_opts){.relus = k ? ES_RELUS_ALL : ES_RELUS_MODULES};
        if (es_model_load(&m, FIXTURE("onnx/relu_mix.onnx"), &o) != 0)
            fail_msg("%s", es_error());
        assert_relu_mix_maps(m.g, m.input, x.data, k ? "_all" : "");
        es_model_free(&m);
    }
    es_array_free(&x);
}

/* Grad-CAM's default layer: the last map before the first step that ends the maps, on the way
 * to the scores, for 1-D and 2-D models (gen_onnx.py's fixtures) */
static void default_layers(void **s)
{
    static const struct {
        const char *model, *layer, *stop;
    } cases[] = {
        {"m5_net", "/Relu_1_output_0", "/AveragePool"}, /* not the classifier's MatMul */
        {"panns_att", "/AveragePool_output_0", "/ReduceMean/merge"}, /* not the time-pooled map */
        {"score_net.op11", "/Relu_output_0", NULL}, /* the embedding's pooling is off the way */
        {"captum_one_conv", "/relu1/Relu_output_0", "/Reshape"},
        {"audio1d", "/Mul_output_0", "/GlobalAveragePool"},
        /* a channel shuffle's reshapes keep the maps (H, W); its 5-D views are not layers */
        {"shuffle_net.op13", "/Concat_output_0", "/ReduceMean/pool"},
        /* before the patches become tokens, not a token tensor or a slice of q */
        {"attn_net.op13", "/patch/Conv_output_0", "/Reshape"},
        /* before the permute into a sequence: that Transpose has time where channels were */
        {"crnn_gru.op13", "/MaxPool_output_0", "/Reshape"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        es_meta *meta;
        int input;
        es_graph *g = onnx_fixture(cases[c].model, &meta, &input);
        assert_string_equal(es_tensor_name(g, es_sal_default_layer(g)), cases[c].layer);
        int stop = es_sal_default_layer_stop(g);
        if (cases[c].stop)
            assert_string_equal(es_node_name(g, stop), cases[c].stop);
        else
            assert_int_equal(stop, -1);
        es_graph_free(g);
        es_meta_free(meta);
    }
}

/* A convolution down to one map keeps the time / space axes: the default layer is after it */
static void default_layer_one_map(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 3, (int[]){1, 8, 8});
    x = es_relu(g, "r1", es_conv(g, "c1", x, 4, 3, 3, 1, 1, 1));
    int last = es_relu(g, "r2", es_conv(g, "c2", x, 1, 1, 1, 1, 0, 1));
    int y = es_dense(g, "fc", es_global_avgpool(g, "gap", last), 3);
    assert_true(y >= 0);
    assert_int_equal(es_sal_default_layer(g), last);
    assert_string_equal(es_node_name(g, es_sal_default_layer_stop(g)), "gap");
    es_graph_free(g);
}

/* A squeeze-and-excitation gate pools a side branch that is multiplied back into the maps:
 * the maps go on, and the default layer is the last one before the global pooling at the end */
static void default_layer_past_a_gate(void **s)
{
    es_graph *g = es_graph_new();
    int x = es_input(g, "x", 3, (int[]){1, 8, 8});
    int r1 = es_relu(g, "r1", es_conv(g, "c1", x, 4, 3, 3, 1, 1, 1));
    int gate = es_sigmoid(g, "sig", es_conv(g, "se", es_avgpool(g, "squeeze", r1, 8, 8), 4, 1, 1, 1, 0, 1));
    int excite = es_add(g, "excite", r1, gate); /* (a gate multiplies; broadcast all the same) */
    int last = es_relu(g, "r2", es_conv(g, "c2", excite, 4, 3, 3, 1, 1, 1));
    int y = es_dense(g, "fc", es_global_avgpool(g, "gap", last), 3);
    if (y < 0)
        fail_msg("%s", es_error());
    assert_int_equal(es_sal_default_layer(g), last);
    assert_string_equal(es_node_name(g, es_sal_default_layer_stop(g)), "gap");
    es_graph_free(g);
}

/* A 1-D map lies along the input axis it came from: panns_att's time-pooled (N, C, T) map over
 * its (N, frames, mels) input varies along frames and is constant along mels; m5_net's
 * default map varies along its waveform. */
static void gradcam_1d_axis(void **s)
{
    es_meta *meta;
    int input;
    es_graph *g = onnx_fixture("panns_att", &meta, &input);
    es_array x = load_fixture(FIXTURE("onnx/panns_att.input.npy"));
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = ES_SAL_GRADCAM, o.target = 3; /* 0..2: negative everywhere, 0 after the ReLU */
    o.layer = es_sal_layer_find(g, "/ReduceMean_output_0");
    float map[20 * 16];
    if (es_saliency(g, input, x.data, &o, map, NULL) != 0)
        fail_msg("%s", es_error());
    float lo = map[0], hi = map[0];
    for (int t = 0; t < 20; t++)
        for (int f = 0; f < 16; f++) {
            assert_float_equal(map[t * 16 + f], map[t * 16], 0); /* constant along mels */
            lo = fminf(lo, map[t * 16]), hi = fmaxf(hi, map[t * 16]);
        }
    assert_true(hi > lo); /* and varies along frames */
    es_graph_free(g), es_meta_free(meta), es_array_free(&x);

    g = onnx_fixture("m5_net", &meta, &input);
    float w[128], m5[128];
    for (int i = 0; i < 128; i++)
        w[i] = sinf(0.3f * i) + 0.5f * sinf(0.05f * i * i / 16);
    o.layer = -1, o.target = -1;
    if (es_saliency(g, input, w, &o, m5, NULL) != 0)
        fail_msg("%s", es_error());
    lo = hi = m5[0];
    for (int i = 0; i < 128; i++)
        lo = fminf(lo, m5[i]), hi = fmaxf(hi, m5[i]);
    assert_true(hi > lo);
    es_graph_free(g), es_meta_free(meta);
}

/* Guided backprop and deconvnet change the Relus of nn.ReLU modules only, as Captum's hooks
 * do: a PyTorch export's functional relus pass their true gradient (nn/onnx.h, es_relu_scope).
 * relu_mix (gen_onnx.py --relu) has both, each once after a BatchNormalization (fused with
 * it), against float64 hooks on the modules; ES_RELUS_ALL gives every Relu the rule. Saved by
 * earsight, the functional relus stay plain (written as Clip(min 0)). */
static void captum_relu_modules(void **s)
{
    es_meta *meta;
    int input;
    es_graph *g = onnx_fixture("relu_mix", &meta, &input);
    es_array x = load_fixture(FIXTURE("onnx/relu_mix.input.npy"));
    assert_relu_mix_maps(g, input, x.data, "");
    char saved[64];
    snprintf(saved, sizeof saved, "/tmp/es_relu_mix_%d.onnx", (int)getpid());
    if (es_onnx_save(g, meta, saved) != 0)
        fail_msg("%s", es_error());
    es_graph_free(g), es_meta_free(meta);
    for (int k = 0; k < 2; k++) { /* earsight's file, by either scope */
        es_onnx_opts o = {.relus = k ? ES_RELUS_ALL : ES_RELUS_MODULES};
        if (es_onnx_load_opts(saved, &o, &g, NULL) != 0)
            fail_msg("%s", es_error());
        es_graph_inputs(g, &input, 1);
        assert_relu_mix_maps(g, input, x.data, "");
        es_graph_free(g);
    }
    remove(saved);
    es_onnx_opts all = {.relus = ES_RELUS_ALL};
    if (es_onnx_load_opts(FIXTURE("onnx/relu_mix.onnx"), &all, &g, NULL) != 0)
        fail_msg("%s", es_error());
    es_graph_inputs(g, &input, 1);
    assert_relu_mix_maps(g, input, x.data, "_all");
    es_graph_free(g), es_array_free(&x);
}

/* Clipped activations take their true gradient under every rule, as Captum's GuidedBackprop
 * and Deconvolution (hooks on nn.ReLU only) give them: mbv2_block's ReLU6 (ONNX Clip(0, 6),
 * lowered to two Relus) against PyTorch's float64 hooks (gen_onnx.py --score). */
static void clipped_activations(void **s)
{
    es_meta *meta;
    int input;
    es_graph *g = onnx_fixture("mbv2_block", &meta, &input);
    es_array x = load_fixture(FIXTURE("onnx/mbv2_block.input.npy"));
    static const struct {
        es_sal_method m;
        const char *ref;
    } cases[] = {{ES_SAL_GRAD, "onnx/mbv2_block.grad.npy"},
                 {ES_SAL_GUIDED, "onnx/mbv2_block.guided.npy"},
                 {ES_SAL_DECONVNET, "onnx/mbv2_block.deconvnet.npy"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[96];
        snprintf(path, sizeof path, FIXTURE("%s"), cases[c].ref);
        es_array want = load_fixture(path);
        float got[60];
        es_sal_opts o;
        es_sal_defaults(&o);
        o.method = cases[c].m, o.target = 1;
        if (es_saliency(g, input, x.data, &o, got, NULL) != 0)
            fail_msg("%s", es_error());
        double e = rel_err_max(got, want.data, 60, 1e-30);
        if (!(e <= 1e-5))
            fail_msg("%s: relative error %.3g against PyTorch", es_sal_method_name(cases[c].m), e);
        es_array_free(&want);
    }
    es_graph_free(g), es_meta_free(meta), es_array_free(&x);
}

/* ---- against PyTorch ------------------------------------------------------------------------ */
typedef struct {
    es_graph *g;
    es_meta *meta;
    int input;
    es_array x;
    cJSON *c;
} fixture;

/* gen_saliency.py's nets call F.relu and its references give every relu the rule, as
 * Springenberg et al. do in all-ReLU nets: loaded with the rule on every Relu (es_relu_scope). */
static void fixture_open(fixture *f, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, SFIX("%s.onnx"), name);
    if (es_onnx_load_opts(p, &(es_onnx_opts){.relus = ES_RELUS_ALL}, &f->g, &f->meta) != 0)
        fail_msg("%s", es_error());
    es_graph_inputs(f->g, &f->input, 1);
    snprintf(p, sizeof p, SFIX("%s.input.npy"), name);
    f->x = load_fixture(p);
    snprintf(p, sizeof p, SFIX("%s.case.json"), name);
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    assert_non_null(f->c = cJSON_Parse(buf));
}

static void fixture_close(fixture *f)
{
    es_graph_free(f->g);
    es_meta_free(f->meta);
    es_array_free(&f->x);
    cJSON_Delete(f->c);
}

static int jint(const cJSON *c, const char *k, int i)
{
    const cJSON *v = cJSON_GetObjectItem(c, k);
    return (int)(cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i)->valuedouble : v->valuedouble);
}

/* Runs `method` with the case's options and compares with NAME.FILE.npy. */
static double check(fixture *f, const char *name, es_sal_method m, const char *file,
                    void (*tweak)(es_sal_opts *, fixture *), double tol, es_sal_info *info)
{
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = m, o.target = jint(f->c, "target", 0);
    o.samples = jint(f->c, "samples", 0), o.seed = (uint64_t)jint(f->c, "seed", 0);
    o.sigma = (float)cJSON_GetObjectItem(f->c, "sigma")->valuedouble;
    o.window[0] = jint(f->c, "window", 0), o.window[1] = jint(f->c, "window", 1);
    o.stride[0] = jint(f->c, "stride", 0), o.stride[1] = jint(f->c, "stride", 1);
    o.occ_value = (float)cJSON_GetObjectItem(f->c, "value")->valuedouble;
    o.bilinear = 1;
    if (tweak)
        tweak(&o, f);
    char p[256];
    snprintf(p, sizeof p, SFIX("%s.%s.npy"), name, file);
    es_array want = load_fixture(p);
    size_t n = es_array_size(&f->x);
    assert_int_equal(es_array_size(&want), n);
    float *got = malloc(n * sizeof *got);
    if (es_saliency(f->g, f->input, f->x.data, &o, got, info) != 0)
        fail_msg("%s %s: %s", name, file, es_error());
    double e = rel_err_max(got, want.data, n, 1e-30);
    if (!(e <= tol))
        fail_msg("%s %s: error %.3g relative to the map's maximum > %.3g", name, file, e, tol);
    if (getenv("SAL_VERBOSE"))
        printf("  %-9s %-26s %.2e\n", name, file, e);
    free(got);
    es_array_free(&want);
    return e;
}

/* An occlusion map holds differences of two float32 forward scores, so it cannot be closer
 * than the scores' own rounding: PyTorch's and ours each misround every forward by a few
 * ulps of |f(x)| (more with -O1, as make asan builds). Allowed: 8 ulps of the score, or
 * 1e-4 of the map's maximum when that is larger (densenet: score 7.7, map max 0.03). */
static double occlusion_tol(const fixture *f, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, SFIX("%s.occlusion.npy"), name);
    es_array want = load_fixture(p);
    float top = 0;
    for (size_t i = 0; i < es_array_size(&want); i++)
        top = fmaxf(top, fabsf(want.data[i]));
    es_array_free(&want);
    double score = cJSON_GetArrayItem(cJSON_GetObjectItem(f->c, "scores"), jint(f->c, "target", 0))->valuedouble;
    return fmax(1e-4, 8 * FLT_EPSILON * fabs(score) / top);
}

static void nearest(es_sal_opts *o, fixture *f) { o->bilinear = 0; }
static const char *ig_rule_name;
static void ig(es_sal_opts *o, fixture *f)
{
    o->ig_rule = es_ig_rule_find(ig_rule_name);
    const char *b = cJSON_GetObjectItem(cJSON_GetObjectItem(f->c, "ig_baselines"), ig_rule_name)->valuestring;
    o->baseline = strcmp(b, "min") == 0 ? ES_BASE_MIN : ES_BASE_ZERO;
}

static void against_pytorch(const char *name, int n_rules)
{
    fixture f;
    fixture_open(&f, name);
    /* the default Grad-CAM layer is the one PyTorch's hook read */
    const char *layer = cJSON_GetObjectItem(f.c, "layer")->valuestring;
    int def = es_sal_default_layer(f.g);
    assert_true(def >= 0);
    assert_string_equal(es_tensor_name(f.g, def), layer);
    assert_int_equal(es_sal_layer_find(f.g, layer), def);
    static const struct {
        es_sal_method m;
        const char *file;
    } plain[] = {{ES_SAL_GRAD, "grad"}, {ES_SAL_INPUT_X_GRAD, "input-x-grad"},
                 {ES_SAL_GUIDED, "guided"}, {ES_SAL_DECONVNET, "deconvnet"},
                 {ES_SAL_GRADCAM, "gradcam"}, {ES_SAL_SMOOTHGRAD, "smoothgrad"},
                 {ES_SAL_SMOOTHGRAD_SQ, "smoothgrad-sq"}, {ES_SAL_VARGRAD, "vargrad"},
                 {ES_SAL_OCCLUSION, "occlusion"}};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        check(&f, name, plain[i].m, plain[i].file, NULL,
              plain[i].m == ES_SAL_OCCLUSION ? occlusion_tol(&f, name) : 1e-4, NULL);
    check(&f, name, ES_SAL_GRADCAM, "gradcam_nearest", nearest, 1e-4, NULL);
    check(&f, name, ES_SAL_GUIDED_GRADCAM, "guided-gradcam", nearest, 1e-4, NULL);
    static const char *rules[] = {"gausslegendre", "riemann-trapezoid", "riemann-left",
                                  "riemann-right", "riemann-middle"};
    for (int r = 0; r < n_rules; r++) {
        char file[64];
        es_sal_info info;
        ig_rule_name = rules[r];
        snprintf(file, sizeof file, "ig_%s", rules[r]);
        check(&f, name, ES_SAL_IG, file, ig, 1e-3, &info);
        /* completeness: our delta is PyTorch's, and within 1 % of the score gap (Gauss-Legendre) */
        const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(f.c, "ig_delta"), rules[r]);
        double tdelta = cJSON_GetArrayItem(d, 0)->valuedouble, gap = cJSON_GetArrayItem(d, 1)->valuedouble;
        assert_true(fabs(info.score - info.base_score - gap) <= 1e-4 * fmax(1, fabs(gap)));
        assert_true(fabs(info.delta - tdelta) <= 1e-3 * fmax(fabs(gap), 1e-3));
        /* where PyTorch's own 50-step sum is complete to 1 %, ours is too (a ReLU network's
         * path integral has kinks, so it is not everywhere: salnet's max-pooling gives 1.05 %) */
        if (fabs(tdelta) <= 0.01 * fabs(gap) && !(fabs(info.delta) <= 0.01 * fabs(gap)))
            fail_msg("%s: IG delta %g is more than 1%% of |f(x) - f(baseline)| = %g", name, info.delta, fabs(gap));
        if (getenv("SAL_VERBOSE"))
            printf("  %-9s IG %-18s delta %.3g (%.2g %% of the gap %.3g)\n", name, rules[r], info.delta,
                   100 * fabs(info.delta) / fabs(gap), gap);
    }
    fixture_close(&f);
}

/* Several single-pass methods from one forward pass of a batch (es_saliency_forwarded) give
 * each row what es_saliency gives it alone: each method after the others, from the same
 * activations, with a fixed target and with each row's best class. */
static void forwarded_batch(const char *name)
{
    enum { ROWS = 3, M = 6 };
    static const es_sal_method ms[M] = {ES_SAL_GUIDED, ES_SAL_GRADCAM, ES_SAL_GRAD,
                                        ES_SAL_INPUT_X_GRAD, ES_SAL_DECONVNET, ES_SAL_GUIDED_GRADCAM};
    fixture f;
    fixture_open(&f, name);
    size_t per = es_array_size(&f.x);
    float *xs = malloc(ROWS * per * sizeof *xs), *want = malloc(M * ROWS * per * sizeof *want),
          *got = malloc(ROWS * per * sizeof *got);
    for (size_t i = 0; i < per; i++) /* the case's input, its mirror image, a shifted copy */
        xs[i] = f.x.data[i], xs[per + i] = f.x.data[per - 1 - i], xs[2 * per + i] = f.x.data[i] + 0.25f;
    for (int target = -1; target <= 0; target++) {
        es_sal_opts o;
        es_sal_defaults(&o);
        o.target = target;
        es_sal_info wi[M][ROWS], gi[ROWS];
        for (int k = 0; k < M; k++)
            for (int r = 0; r < ROWS; r++) {
                o.method = ms[k];
                if (es_saliency(f.g, f.input, xs + r * per, &o, want + (k * ROWS + r) * per, &wi[k][r]) != 0)
                    fail_msg("%s: %s", name, es_error());
            }
        es_graph_pin(f.g, es_sal_score_tensor(f.g), 1), es_graph_pin(f.g, es_sal_default_layer(f.g), 1);
        es_graph_plan(f.g, ES_GRAD_INPUTS);
        assert_int_equal(es_graph_set_batch(f.g, ROWS), 0);
        assert_true(es_graph_forward_id(f.g) == 0);
        memcpy(es_tensor_data(f.g, f.input), xs, ROWS * per * sizeof *xs);
        assert_int_equal(es_forward(f.g, ES_TEST), 0);
        uint64_t id = es_graph_forward_id(f.g);
        assert_true(id != 0);
        for (int k = 0; k < M; k++) {
            o.method = ms[k];
            if (es_saliency_forwarded(f.g, f.input, xs, ROWS, &o, got, gi) != 0)
                fail_msg("%s %s: %s", name, es_sal_method_name(ms[k]), es_error());
            double e = rel_err_max(got, want + k * ROWS * per, ROWS * per, 1e-30);
            if (!(e <= 1e-5))
                fail_msg("%s %s target %d: %.3g off the rows alone", name, es_sal_method_name(ms[k]), target, e);
            for (int r = 0; r < ROWS; r++) {
                assert_int_equal(gi[r].target, wi[k][r].target);
                assert_float_equal(gi[r].score, wi[k][r].score, 1e-5 * fmaxf(1, fabsf(wi[k][r].score)));
            }
            assert_true(es_graph_forward_id(f.g) == id); /* backward passes leave the activations */
        }
        o.method = ES_SAL_IG; /* a method of its own passes, a batch that is not the graph's */
        assert_int_equal(es_saliency_forwarded(f.g, f.input, xs, ROWS, &o, got, gi), -1);
        assert_non_null(strstr(es_error(), "ig needs forward passes of its own"));
        o.method = ES_SAL_GUIDED;
        assert_int_equal(es_saliency_forwarded(f.g, f.input, xs, 2, &o, got, gi), -1);
        assert_int_equal(es_graph_set_batch(f.g, 1), 0); /* and no forward pass since */
        assert_int_equal(es_saliency_forwarded(f.g, f.input, xs, 1, &o, got, gi), -1);
        assert_non_null(strstr(es_error(), "no forward pass"));
    }
    free(xs), free(want), free(got);
    fixture_close(&f);
}
static void densenet_forwarded(void **s) { forwarded_batch("densenet"); }
static void net1d_forwarded(void **s) { forwarded_batch("net1d"); }
static void resnet_forwarded(void **s) { forwarded_batch("resnet"); }

static void salnet_vs_pytorch(void **s) { against_pytorch("salnet", 5); }
static void densenet_vs_pytorch(void **s) { against_pytorch("densenet", 2); }
static void net1d_vs_pytorch(void **s) { against_pytorch("net1d", 5); }
static void resnet_vs_pytorch(void **s) { against_pytorch("resnet", 5); }

/* ---- targets, layers, errors ------------------------------------------------------------ */
static void targets_and_errors(void **s)
{
    fixture f;
    fixture_open(&f, "salnet");
    /* the score tensor is the Gemm output feeding the final Softmax */
    int st = es_sal_score_tensor(f.g);
    int prod = es_node_producing(f.g, st);
    assert_int_equal(es_node_op(f.g, prod), ES_OP_GEMM);
    float sc[8];
    int n;
    assert_int_equal(es_sal_scores(f.g, f.input, f.x.data, sc, 8, &n), 0);
    assert_int_equal(n, 3);
    int best = 0;
    for (int c = 0; c < 3; c++) {
        double want = cJSON_GetArrayItem(cJSON_GetObjectItem(f.c, "scores"), c)->valuedouble;
        assert_true(fabs(sc[c] - want) < 1e-4);
        best = sc[c] > sc[best] ? c : best;
    }
    es_sal_opts o;
    es_sal_defaults(&o);
    size_t m = es_array_size(&f.x);
    float *out = malloc(m * sizeof *out);
    es_sal_info info;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, &info), 0);
    assert_int_equal(info.target, best); /* default: the predicted class */
    assert_true(fabsf(info.score - sc[best]) < 1e-5f);
    o.target = 3;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), -1);
    assert_non_null(strstr(es_error(), "out of range"));
    assert_int_equal(es_sal_layer_find(f.g, "nope"), -1);
    assert_non_null(strstr(es_error(), "nope"));
    o.target = 0, o.method = ES_SAL_OCCLUSION, o.window[0] = 99;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), -1);
    /* a cancel flag set stops the batched methods before their first batch; unset, it
     * changes nothing */
    volatile int stop = 1;
    o.window[0] = 3, o.cancel = &stop;
    for (int k = 0; k < 3; k++) {
        o.method = (es_sal_method[]){ES_SAL_OCCLUSION, ES_SAL_IG, ES_SAL_SMOOTHGRAD}[k];
        assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), -1);
        assert_non_null(strstr(es_error(), "cancelled"));
    }
    stop = 0;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), 0);
    o.cancel = NULL;
    /* Grad-CAM on a non-spatial layer is refused with its name */
    o.method = ES_SAL_GRADCAM, o.layer = st;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), -1);
    /* the batch size the caller had is restored, and batching does not change results */
    es_sal_defaults(&o);
    o.method = ES_SAL_IG, o.target = 1, o.batch = 1;
    float *one = malloc(m * sizeof *one);
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, one, NULL), 0);
    o.batch = 50;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, NULL), 0);
    assert_true(rel_err_max(out, one, m, 1e-30) < 1e-5);
    /* one step with the completeness check: the input and the baseline need two rows of the
     * path buffer (this wrote past a one-row buffer) */
    es_sal_info ig1;
    o.steps = 1, o.ig_rule = ES_IG_MIDDLE;
    assert_int_equal(es_saliency(f.g, f.input, f.x.data, &o, out, &ig1), 0);
    assert_true(isfinite(ig1.delta) && isfinite(ig1.base_score));
    int d[ES_MAX_DIMS];
    es_tensor_shape(f.g, f.input, d);
    assert_int_equal(d[0], 1);
    free(out), free(one);
    fixture_close(&f);
}

/* ---- sanity-check measures and randomization --------------------------------------------- */
static void measures(void **s)
{
    float a[] = {1, 2, 3, 4, 5}, b[] = {5, 6, 7, 8, 7}, c[] = {-1, -2, -3, -4, -5};
    assert_true(fabs(es_spearman(a, a, 5, 0) - 1) < 1e-12);
    assert_true(fabs(es_spearman(a, c, 5, 0) + 1) < 1e-12);
    assert_true(fabs(es_spearman(a, c, 5, 1) - 1) < 1e-12);
    /* scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233 */
    assert_true(fabs(es_spearman(a, b, 5, 0) - 0.8207826816681233) < 1e-12);
    float img[10 * 12], other[10 * 12];
    for (int i = 0; i < 120; i++)
        img[i] = (float)((i * 37) % 17), other[i] = (float)((i * 11) % 13);
    assert_true(fabs(es_ssim(img, img, 10, 12) - 1) < 1e-9);
    double ss = es_ssim(img, other, 10, 12);
    assert_true(ss < 0.5 && ss > -1);
}

/* Adebayo et al.: on the BAD DenseNet the gradient decorrelates as the layers are
 * randomized from the top; guided backprop stays much more similar. */
static double cascade_similarity(fixture *f, es_sal_method m, int depth)
{
    int ids[256], n = es_sanity_layers(f->g, ids, 256);
    assert_true(n > depth);
    size_t sz = es_array_size(&f->x);
    float *orig = malloc(sz * sizeof *orig), *r = malloc(sz * sizeof *r);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = m, o.target = 0;
    assert_int_equal(es_saliency(f->g, f->input, f->x.data, &o, orig, NULL), 0);
    for (int k = 0; k < depth; k++)
        es_sanity_randomize(f->g, ids[k], 100 + k);
    assert_int_equal(es_saliency(f->g, f->input, f->x.data, &o, r, NULL), 0);
    double rho = es_spearman(orig, r, sz, 1);
    free(orig), free(r);
    return rho;
}

static void sanity_densenet(void **s)
{
    fixture f;
    int depth = 12;
    fixture_open(&f, "densenet");
    double g = cascade_similarity(&f, ES_SAL_GRAD, depth);
    fixture_close(&f);
    fixture_open(&f, "densenet");
    double gb = cascade_similarity(&f, ES_SAL_GUIDED, depth);
    fixture_close(&f);
    if (getenv("SAL_VERBOSE"))
        printf("  sanity (%d layers from the top): |grad| rank corr %.3f, |guided| %.3f\n", depth, g, gb);
    assert_true(g < 0.5);
    assert_true(gb > g + 0.2);
}

/* ---- sonification masks -------------------------------------------------------------------- */
static void sonify_masks(void **s)
{
    enum { MELS = 4, FR = 5, NF = 9 };
    float fb[MELS * NF], map[MELS * FR], mask[NF * FR];
    for (int m = 0; m < MELS; m++)
        for (int f = 0; f < NF; f++)
            fb[m * NF + f] = f >= 2 * m && f <= 2 * m + 2 ? 1.0f : 0.0f;
    for (int i = 0; i < MELS * FR; i++)
        map[i] = (float)(i % 7) - 2;
    assert_int_equal(es_sonify_mask(map, MELS, FR, fb, NF, 1, -1, 0, mask), 0);
    for (int i = 0; i < NF * FR; i++)
        assert_true(mask[i] == 1);
    assert_int_equal(es_sonify_mask(map, MELS, FR, fb, NF, 0, -1, 0, mask), 0);
    for (int i = 0; i < NF * FR; i++)
        assert_true(mask[i] == 0);
    assert_int_equal(es_sonify_mask(map, MELS, FR, fb, NF, 0.2f, -1, 0, mask), 0);
    float kept = 0;
    for (int i = 0; i < NF * FR; i++)
        kept += mask[i];
    assert_true(kept == 9); /* round(0.2 · 45) */
    assert_int_equal(es_sonify_mask(map, MELS, FR, fb, NF, 0.2f, -1, 1, mask), 0);
    kept = 0;
    for (int i = 0; i < NF * FR; i++)
        kept += mask[i];
    assert_true(kept == 36);
    assert_int_equal(es_sonify_mask(map, MELS, FR, fb, NF, 2, -1, 0, mask), -1);
}

/* ---- the verbs ------------------------------------------------------------------------------ */
static char earsight[512];

static int run(const char *args, char *err, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >build/t_sal.out 2>build/t_sal.err", earsight, args);
    int st = run_status(cmd);
    read_text("build/t_sal.err", err, n);
    return st;
}

#define SM "tests/fixtures/saliency/salnet.onnx"
#define SX "tests/fixtures/saliency/salnet.input.npy"
static void verbs(void **s)
{
    if (access(earsight, X_OK) != 0)
        fail_msg("no binary at %s", earsight);
    char err[2048];
    unlink("build/t_sal.npy");
    assert_int_equal(run("saliency -m " SM " --input " SX " --method ig --target 1 --json -o build/t_sal.npy", err, sizeof err), 0);
    es_array a = load_fixture("build/t_sal.npy"), w = load_fixture(SFIX("salnet.ig_gausslegendre.npy"));
    assert_int_equal(a.ndim, 4);
    assert_true(rel_err_max(a.data, w.data, es_array_size(&w), 1e-30) < 1e-3);
    es_array_free(&a), es_array_free(&w);
    FILE *f = fopen("build/t_sal.out", "r");
    static char js[1 << 16];
    assert_true(fread(js, 1, sizeof js - 1, f) > 0);
    fclose(f);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "target")->valueint, 1);
    assert_non_null(cJSON_GetObjectItem(j, "delta"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "probabilities")), 3);
    cJSON_Delete(j);
    unlink("build/t_sal.npy");
    /* runtime errors: exit 1, one line naming the file, no output file */
    const char *bad[][2] = {
        {"saliency -m " SM " --input " SX " --method gradcam --layer nope -o build/t_sal.npy", "earsight: " SM ": "},
        {"saliency -m " SM " --input " SX " --method grad --target 7 -o build/t_sal.npy", "earsight: " SM ": "},
        {"saliency -m " SM " --input " SX " --method grad --target bird -o build/t_sal.npy", "earsight: " SM ": "},
        {"saliency -m " SM " --input " "tests/fixtures/saliency/net1d.input.npy" " --method grad -o build/t_sal.npy", "earsight: "},
        {"saliency -m " SM " --input build/none.npy --method grad -o build/t_sal.npy", "earsight: build/none.npy: "},
        {"saliency -m " SM " --input " SX " --method grad -o build/no/dir/t_sal.npy", "earsight: build/no/dir/t_sal.npy"},
        {"saliency -m " SM " --input " SX " --method grad -o build/t_sal.npy --png build/no/dir/t.png", "earsight: build/no/dir/t.png"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(run(bad[i][0], err, sizeof err), 1);
        assert_one_line(err, bad[i][1]);
        assert_int_not_equal(access("build/t_sal.npy", F_OK), 0);
    }
    /* usage errors: exit 2 */
    const char *usage[] = {"saliency -m " SM " --input " SX " --method nope -o build/t_sal.npy",
                           "saliency -m " SM " --input " SX " -o build/t_sal.npy",
                           "saliency -m " SM " --method grad -o build/t_sal.npy",
                           "saliency -m " SM " --input " SX " --method ig --steps x -o build/t_sal.npy",
                           "saliency -m " SM " --input " SX " --method ig --ig-method simpson -o build/t_sal.npy",
                           "sanity -m " SM " --input " SX " --method grad --mode sideways",
                           "sonify --keep 0.5"};
    for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
        assert_int_equal(run(usage[i], err, sizeof err), 2);
        assert_one_line(err, "earsight: ");
        assert_int_not_equal(access("build/t_sal.npy", F_OK), 0);
    }
    /* IG from a baseline file of zeros is IG from the zero baseline */
    float zeros[16 * 12] = {0};
    assert_int_equal(es_npy_save("build/t_sal_base.npy", zeros, 2, (int[]){16, 12}), 0);
    assert_int_equal(run("saliency -m " SM " --input " SX " --method ig --target 1 --baseline "
                         "build/t_sal_base.npy -o build/t_sal.npy", err, sizeof err), 0);
    a = load_fixture("build/t_sal.npy"), w = load_fixture(SFIX("salnet.ig_gausslegendre.npy"));
    assert_true(rel_err_max(a.data, w.data, es_array_size(&w), 1e-30) < 1e-3);
    es_array_free(&a), es_array_free(&w);
    unlink("build/t_sal.npy");
    assert_int_equal(run("saliency -m " SM " --input " SX " --method ig --baseline " SFIX_NET1D " -o build/t_sal.npy", err, sizeof err), 1);
    assert_one_line(err, "earsight: " SFIX_NET1D ": ");
    assert_int_not_equal(access("build/t_sal.npy", F_OK), 0);
    unlink("build/t_sal_base.npy");
    /* earsight info names the default Grad-CAM layer */
    assert_int_equal(run("info -m " SM " --json", err, sizeof err), 0);
    f = fopen("build/t_sal.out", "r");
    memset(js, 0, sizeof js);
    assert_true(fread(js, 1, sizeof js - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(js, "\"gradcam_layer\":\"/Relu_1_output_0\""));
    /* a picture, with model, method, target and score in its tEXt chunks */
    assert_int_equal(run("saliency -m " SM " --input " SX " --method guided --target 1 --png build/t_sal.png "
                         "--overlay heat --sign positive --layout quad --size 500x400 --title t", err, sizeof err), 0);
    f = fopen("build/t_sal.png", "rb");
    assert_non_null(f);
    static char png[1 << 20];
    size_t pn = fread(png, 1, sizeof png, f);
    fclose(f);
    const char *keys[] = {"model", "method", "guided", "target", "score"};
    for (int k = 0; k < 5; k++)
        assert_non_null(memmem(png, pn, keys[k], strlen(keys[k])));
    unlink("build/t_sal.png");
    /* sanity: a table with one row per randomized layer and both modes */
    assert_int_equal(run("sanity -m " SM " --input " SX " --method grad --json", err, sizeof err), 0);
    f = fopen("build/t_sal.out", "r");
    memset(js, 0, sizeof js);
    assert_true(fread(js, 1, sizeof js - 1, f) > 0);
    fclose(f);
    assert_non_null(j = cJSON_Parse(js));
    cJSON *rows = cJSON_GetObjectItem(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 2 * 3); /* conv1, conv2, fc × two modes */
    cJSON_Delete(j);
    unlink("build/t_sal.out"), unlink("build/t_sal.err");
}

/* sonify: the input's rate and length; --keep 1 gives the input back, --keep 0 silence */
static void sonify_verb(void **s)
{
    char err[2048];
    assert_int_equal(run("annotate -m " SM " --labels a,bird,c --features '{\"sample_rate\": 8000, "
                         "\"n_fft\": 256, \"hop_length\": 100, \"n_mels\": 16, \"f_min\": 0, "
                         "\"f_max\": 4000, \"mel_scale\": \"htk\", \"mel_norm\": \"none\", "
                         "\"frames\": 12, \"standardize\": \"global\"}' -o build/t_sal.onnx", err, sizeof err), 0);
    float *x, *y;
    long n, m;
    int r, r2;
    assert_int_equal(es_audio_load(CHIRP, 0, &x, &n, &r), 0);
    const char *keeps[] = {"1", "0", "0.2 --method guided --target bird", "0.3 --invert"};
    for (int k = 0; k < 4; k++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "sonify -m build/t_sal.onnx --input " CHIRP " -o build/t_sal.wav --keep %s", keeps[k]);
        if (run(cmd, err, sizeof err) != 0)
            fail_msg("%s: %s", cmd, err);
        assert_int_equal(es_audio_load("build/t_sal.wav", 0, &y, &m, &r2), 0);
        assert_int_equal(m, n);
        assert_int_equal(r2, r);
        double e = abs_err_max(x, y, n), peak = 0;
        for (long i = 0; i < n; i++)
            peak = fabs(y[i]) > peak ? fabs(y[i]) : peak;
        if (k == 0)
            assert_true(e <= 1e-4);
        if (k == 1)
            assert_true(peak == 0);
        if (k >= 2)
            assert_true(peak > 0 && e > 1e-3);
        free(y);
    }
    free(x);
    unlink("build/t_sal.wav");
    /* a long sound is explained in overlapping windows, stitched to (mels × frames) */
    assert_int_equal(run("saliency -m build/t_sal.onnx --input " CHIRP " --method grad --hop-frames 4 --json -o build/t_sal.npy", err, sizeof err), 0);
    es_array a = load_fixture("build/t_sal.npy");
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.dims[0], 16);
    assert_int_equal(a.dims[1], 89);
    es_array_free(&a);
    /* errors: a .npy is not a sound (usage); a map of the wrong shape (runtime) */
    assert_int_equal(run("sonify -m build/t_sal.onnx --input " SX " --keep 1 -o build/t_sal.wav", err, sizeof err), 2);
    assert_int_equal(run("sonify -m build/t_sal.onnx --input " CHIRP " --saliency " SX " --keep 1 -o build/t_sal.wav", err, sizeof err), 1);
    assert_one_line(err, "earsight: " SX ": ");
    assert_int_not_equal(access("build/t_sal.wav", F_OK), 0);
    unlink("build/t_sal.npy"), unlink("build/t_sal.onnx"), unlink("build/t_sal.out"), unlink("build/t_sal.err");
}

int main(int argc, char **argv)
{
    if (argc > 1) /* one test by name, e.g. build/tests/test_saliency sanity_densenet */
        cmocka_set_test_filter(argv[1]);
    ssize_t n = readlink("/proc/self/exe", earsight, sizeof earsight - 32);
    if (n > 0) {
        earsight[n] = 0;
        char *slash = strrchr(earsight, '/');
        if (slash)
            *slash = 0;
        slash = strrchr(earsight, '/');
        if (slash)
            strcpy(slash, "/earsight");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(captum_golden),
        cmocka_unit_test(salnet_vs_pytorch),
        cmocka_unit_test(densenet_vs_pytorch),
        cmocka_unit_test(net1d_vs_pytorch),
        cmocka_unit_test(resnet_vs_pytorch),
        cmocka_unit_test(densenet_forwarded),
        cmocka_unit_test(net1d_forwarded),
        cmocka_unit_test(resnet_forwarded),
        cmocka_unit_test(targets_and_errors),
        cmocka_unit_test(measures),
        cmocka_unit_test(sanity_densenet),
        cmocka_unit_test(sonify_masks),
        cmocka_unit_test(verbs),
        cmocka_unit_test(sonify_verb),
        cmocka_unit_test(score_across_opsets),
        cmocka_unit_test(model_output_choice),
        cmocka_unit_test(default_layers),
        cmocka_unit_test(default_layer_one_map),
        cmocka_unit_test(default_layer_past_a_gate),
        cmocka_unit_test(gradcam_1d_axis),
        cmocka_unit_test(clipped_activations),
        cmocka_unit_test(captum_relu_modules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
