/* The pipeline layer (pipeline/es_pipeline.h): a model and its metadata → input windows,
 * targets, stitching, probabilities, the axes of features, the figure, resynthesis, and the
 * labelled datasets of train / eval. The model is tests/fixtures/onnx/small_cnn.onnx
 * (1×1×20×16 → 3 scores) annotated here with feature pipelines; the sound is chirp.wav
 * (8 kHz, 8800 samples: 89 frames at hop 100 with center). */
#include "tests/testutil.h"
#include "pipeline/es_pipeline.h"
#include <omp.h>

#define OX(f) FIXTURE("onnx/" f)
#define CHIRP OX("chirp.wav")
#define CHIRP_FRAMES 89

/* A fixture model with `features` (JSON) and the labels bird, frog, noise, written to tmp/NAME. */
static void annotate_model(const char *src, const char *name, const char *features)
{
    es_meta *m = es_meta_new();
    assert_non_null(m);
    assert_int_equal(es_meta_set(m, ES_META_FEATURES, features), 0);
    assert_int_equal(es_meta_set(m, ES_META_LABELS, "[\"bird\", \"frog\", \"noise\"]"), 0);
    if (es_onnx_annotate(src, m, tmp_path(name)) != 0)
        fail_msg("%s", es_error());
    es_meta_free(m);
}

/* small_cnn, so annotated */
static void annotate(const char *name, const char *features)
{
    annotate_model(OX("small_cnn.onnx"), name, features);
}

/* The model's own pipeline (tests/fixtures/onnx/small_cnn.features.json): 20 HTK mels of
 * 8 kHz, hop 100, 16 frames, standardised over the file. */
#define MEL_JSON                                                                              \
    "{\"sample_rate\": 8000, \"n_fft\": 256, \"hop_length\": 100, \"n_mels\": 20, "          \
    "\"f_min\": 0, \"f_max\": 4000, \"mel_scale\": \"htk\", \"mel_norm\": \"none\", "         \
    "\"frames\": 16, \"standardize\": \"global\"}"

static int setup(void **state)
{
    if (tmp_setup("pipeline") != 0)
        return -1;
    annotate("mel.onnx", MEL_JSON);
    return 0;
}

static int teardown(void **state)
{
    es_viz_shutdown(); /* fontconfig's caches, which the figure's font filled */
    return tmp_teardown();
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- the model ------------------------------------------------------------------------- */

static void model_explicit_path(void **state)
{
    es_model m;
    assert_int_equal(es_model_load(&m, tmp_path("mel.onnx"), NULL), 0);
    assert_string_equal(m.path, tmp_path("mel.onnx"));
    assert_int_equal(m.n_labels, 3);
    assert_string_equal(es_model_label(&m, 1), "frog");
    assert_null(es_model_label(&m, 3));
    assert_null(es_model_label(&m, -1));
    assert_non_null(es_meta_get(m.meta, ES_META_FEATURES));
    int d[ES_MAX_DIMS];
    assert_int_equal(es_tensor_shape(m.g, m.input, d), 4);
    assert_int_equal(d[2], 20);
    es_model_free(&m);
    es_model_free(&m); /* a freed model frees again */
}

static void model_default(void **state)
{
    setenv("EARSIGHT_MODEL", tmp_path("mel.onnx"), 1);
    assert_string_equal(es_model_default_path(), tmp_path("mel.onnx"));
    es_model m;
    assert_int_equal(es_model_load(&m, NULL, NULL), 0);
    assert_string_equal(m.path, tmp_path("mel.onnx"));
    es_model_free(&m);
    unsetenv("EARSIGHT_MODEL");
    /* tests run from the repository root, where the shipped model lives */
    const char *p = es_model_default_path();
    assert_non_null(p);
    size_t n = strlen(p), k = strlen("assets/models/bird-detector.onnx");
    assert_true(n >= k && strcmp(p + n - k, "assets/models/bird-detector.onnx") == 0);
}

static void model_bad_path(void **state)
{
    es_model m;
    assert_int_equal(es_model_load(&m, "/no/such/model.onnx", NULL), -1);
    assert_non_null(strstr(es_error(), "/no/such/model.onnx"));
    assert_null(strchr(es_error(), '\n'));
    assert_null(m.g);
    es_model_free(&m);
    /* a sound through a model without a feature pipeline */
    es_array x;
    int had;
    assert_int_equal(es_model_load_for(&m, OX("small_cnn.onnx"), NULL, CHIRP, &x, &had), -1);
    assert_non_null(strstr(es_error(), "earsight.features"));
    assert_true(es_is_sound("a.wav") && es_is_sound("a.npy.ogg") && !es_is_sound("x.NPY"));
}

/* ---- a sound → windows ------------------------------------------------------------------- */

static void sound_windows(void **state)
{
    es_model m;
    es_array x;
    int had = -1, frames = 0, hop = 6;
    assert_int_equal(es_model_load_windows(&m, tmp_path("mel.onnx"), NULL, CHIRP, hop, &x, &had,
                                           &frames), 0);
    assert_int_equal(frames, CHIRP_FRAMES);
    int nw = (CHIRP_FRAMES - 16 + hop - 1) / hop + 1; /* the last window reaches the end */
    assert_int_equal(x.ndim, 4);
    assert_int_equal(x.dims[0], nw);
    assert_int_equal(x.dims[2], 20);
    assert_int_equal(x.dims[3], 16);
    size_t per = 20 * 16;
    /* window w, column t is frame w·hop + t: equal to window 0's where they overlap */
    for (int b = 0; b < 20; b++)
        for (int t = 0; t + hop < 16; t++)
            assert_float_equal(x.data[per + b * 16 + t], x.data[b * 16 + t + hop], 0);
    /* the last window: frames past the end repeat its own (fit pad_repeat) */
    int have = CHIRP_FRAMES - (nw - 1) * hop;
    assert_true(have > 0 && have < 16);
    const float *last = x.data + (size_t)(nw - 1) * per;
    for (int b = 0; b < 20; b++)
        for (int t = have; t < 16; t++)
            assert_float_equal(last[b * 16 + t], last[b * 16 + t % have], 0);
    es_array_free(&x);
    es_model_free(&m);
    /* hop 0: side by side */
    assert_int_equal(es_model_load_windows(&m, tmp_path("mel.onnx"), NULL, CHIRP, 0, &x, &had, NULL), 0);
    assert_int_equal(x.dims[0], (CHIRP_FRAMES + 15) / 16);
    es_array_free(&x);
    es_model_free(&m);
}

static void npy_input_batch_optional(void **state)
{
    es_model m;
    es_array x, a = load_fixture(OX("small_cnn.input.npy"));
    int had = -1;
    assert_int_equal(es_model_load_for(&m, OX("small_cnn.onnx"), NULL, OX("small_cnn.input.npy"), &x,
                                       &had), 0);
    assert_int_equal(had, 1);
    assert_int_equal(x.ndim, 4);
    es_array_free(&x);
    es_model_free(&m);
    int d[3] = {1, 20, 16}; /* the same without the batch dim */
    assert_int_equal(es_npy_save(tmp_path("nobatch.npy"), a.data, 3, d), 0);
    assert_int_equal(es_model_load_for(&m, OX("small_cnn.onnx"), NULL, tmp_path("nobatch.npy"), &x,
                                       &had), 0);
    assert_int_equal(had, 0);
    assert_int_equal(x.ndim, 4);
    assert_int_equal(x.dims[0], 1);
    assert_memory_equal(x.data, a.data, 320 * sizeof(float));
    es_array_free(&x);
    es_model_free(&m);
    es_array_free(&a);
}

/* ---- targets, shapes, probabilities -------------------------------------------------- */

static void targets(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, OX("small_cnn.input.npy"), 0), 0);
    assert_int_equal(in.classes, 3);
    assert_int_equal(es_clip_target(&in, "2"), 2);
    assert_int_equal(es_clip_target(&in, "frog"), 1);
    assert_int_equal(es_clip_target(&in, "3"), -1);
    assert_non_null(strstr(es_error(), "out of range"));
    assert_int_equal(es_clip_target(&in, "owl"), -1);
    assert_non_null(strstr(es_error(), "no class named 'owl'"));
    int best = 0;
    for (int c = 1; c < 3; c++)
        best = in.scores[c] > in.scores[best] ? c : best;
    assert_int_equal(es_clip_default_target(&in, NULL), best); /* one row: its argmax */
    assert_true(es_clip_layer(&in, "/conv1/Conv") >= 0);
    assert_int_equal(es_clip_layer(&in, "nope"), -1);
    assert_non_null(strstr(es_error(), "mel.onnx"));
    es_clip_free(&in);
}

static void map_shapes(void **state)
{
    es_clip in;
    int d[ES_MAX_DIMS];
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, OX("small_cnn.input.npy"), 0), 0);
    assert_int_equal(es_clip_map_shape(&in, d), 4); /* the .npy had its batch dim */
    assert_int_equal(es_clip_map_size(&in), 320);
    es_clip_free(&in);
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    assert_int_equal(in.hop, 8); /* default: half the model's frames */
    assert_int_equal(es_clip_map_shape(&in, d), 2);
    assert_int_equal(d[0], 20);
    assert_int_equal(d[1], CHIRP_FRAMES);
    es_clip_free(&in);
}

static void probabilities(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, OX("small_cnn.input.npy"), 0), 0);
    float s[3] = {1, 2, 3}, p[3]; /* the model ends in Gemm: softmax */
    es_clip_probabilities(&in, s, p);
    double z = exp(1) + exp(2) + exp(3);
    assert_float_equal(p[0], exp(1) / z, 1e-6);
    assert_float_equal(p[2], exp(3) / z, 1e-6);
    es_clip_free(&in);
}

/* Stitching: hand-made rows, overlapping windows cross-faded. 7 frames, windows of 4 frames 2
 * apart (starts 0, 2, 4; the last one's fourth frame is past the end); a window's weights at
 * its frames 0..3 are 1/4, 3/4, 3/4, 1/4. */
static void stitching(void **state)
{
    for (int tf = 0; tf < 2; tf++) {
        es_clip in = {0};
        in.audio = 1, in.bands = 2, in.F = 4, in.hop = 2, in.frames = 7, in.time_first = tf;
        in.x.ndim = 3, in.x.dims[0] = 3, in.x.dims[1] = tf ? 4 : 2, in.x.dims[2] = tf ? 2 : 4;
        float rows[3 * 8], out[14];
        for (int w = 0; w < 3; w++) /* window w, band b, its frame t: 100w + 10b + t */
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < 4; t++)
                    rows[w * 8 + (tf ? t * 2 + b : b * 4 + t)] = 100.0f * w + 10 * b + t;
        assert_int_equal(es_clip_stitch(&in, rows, out), 0);
        /* frame f of band b: the weighted mean over the windows covering it of
         * 100w + 10b + (f - 2w); e.g. frame 2: (3/4·2 + 1/4·100) / 1 */
        static const float want0[7] = {0, 1, 26.5f, 76.5f, 126.5f, 176.5f, 202};
        for (int b = 0; b < 2; b++)
            for (int f = 0; f < 7; f++)
                assert_float_equal(out[b * 7 + f], want0[f] + 10 * b, 1e-4);
    }
}

/* A model whose saliency is constant in each window (window k's map is k everywhere, as a
 * linear model's would be up to its weights) stitched with windows half overlapping: the map
 * goes from one window's value to the next's in steps of at most 2/F per frame — no seam
 * where a window begins or ends (a plain average steps by 1/2 there) — and where every row
 * is 1 the map is 1 (the weights sum to one). */
static void stitching_no_seams(void **state)
{
    enum { F = 16, HOP = 8, W = 9, FRAMES = (W - 1) * HOP + F - 5, B = 3 };
    es_clip in = {0};
    in.audio = 1, in.bands = B, in.F = F, in.hop = HOP, in.frames = FRAMES, in.time_first = 1;
    in.x.ndim = 3, in.x.dims[0] = W, in.x.dims[1] = F, in.x.dims[2] = B;
    float rows[W * F * B], ones[W * F * B], out[B * FRAMES];
    for (int w = 0; w < W; w++)
        for (int i = 0; i < F * B; i++)
            rows[w * F * B + i] = (float)w, ones[w * F * B + i] = 1;
    assert_int_equal(es_clip_stitch(&in, rows, out), 0);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int f = 1; f < FRAMES; f++)
            worst = fmax(worst, fabs(out[b * FRAMES + f] - out[b * FRAMES + f - 1]));
    assert_true(worst <= 2.0 / F + 1e-5);
    assert_float_equal(out[0], 0, 0);
    assert_float_equal(out[FRAMES - 1], W - 1, 1e-6); /* the last window alone */
    assert_int_equal(es_clip_stitch(&in, ones, out), 0);
    for (int i = 0; i < B * FRAMES; i++)
        assert_float_equal(out[i], 1, 1e-6);
}

/* ---- the axes of features ------------------------------------------------------------- */

static void feature_axes(void **state)
{
    es_feature_config c;
    es_axis x, y;
    es_config_default(&c);
    assert_int_equal(es_config_from_json(&c, MEL_JSON, "test"), 0);
    assert_int_equal(es_feature_axes(&c, 20, 0, 16, ES_AXES_TIME | ES_AXES_FREQ, &x, &y), 0);
    /* center: frame t at t·hop, ±hop/2 */
    assert_float_equal(x.lo, -50.0 / 8000, 1e-12);
    assert_float_equal(x.hi, 1550.0 / 8000, 1e-12);
    assert_string_equal(x.label, "Time (s)");
    /* HTK mels from 0 to 4000 Hz: band 0 peaks at point 1 of 22, edges half a band beyond */
    double m1 = 2595 * log10(1 + 4000 / 700.0), step = m1 / 21;
    assert_int_equal(y.scale, ES_SCALE_MEL_HTK);
    assert_float_equal(es_scale_apply(y.lo, y.scale), 0.5 * step, 1e-6);
    assert_float_equal(es_scale_apply(y.hi, y.scale), 20.5 * step, 1e-6);
    /* a later window: frame0 shifts it */
    assert_int_equal(es_feature_axes(&c, 20, 8, 16, ES_AXES_TIME, &x, &y), 0);
    assert_float_equal(x.lo, 750.0 / 8000, 1e-12);
    assert_string_equal(y.label, "bin");
    assert_float_equal(y.lo, -0.5, 0);
    /* no center: the n_fft frame starts at t·hop */
    c.center = 0;
    es_feature_axes(&c, 20, 0, 16, ES_AXES_TIME, &x, &y);
    assert_float_equal(x.lo, (128 - 50) / 8000.0, 1e-12);
    /* Kaldi: 25 ms window, 10 ms hop, snip edges: frame t centred at t·80 + 100 */
    es_config_default(&c);
    assert_int_equal(es_config_flag_apply(&c, es_config_flag_find("kaldi"), NULL), 0);
    c.sample_rate = 8000, c.n_mels = 20;
    assert_int_equal(es_feature_axes(&c, 20, 0, 10, ES_AXES_TIME | ES_AXES_FREQ, &x, &y), 0);
    assert_float_equal(x.lo, 60.0 / 8000, 1e-12);
    assert_float_equal(x.hi, 860.0 / 8000, 1e-12);
    assert_int_equal(y.scale, ES_SCALE_MEL_HTK);
    /* MFCC: the coefficient index */
    es_config_default(&c);
    c.n_mfcc = 13;
    assert_int_equal(es_feature_axes(&c, 13, 0, 10, ES_AXES_TIME | ES_AXES_FREQ, &x, &y), 0);
    assert_string_equal(y.label, "MFCC");
    assert_float_equal(y.lo, -0.5, 0);
    assert_float_equal(y.hi, 12.5, 0);
    assert_int_equal(y.integer, 1);
    /* a linear spectrogram: bin k at k·sr/n_fft */
    es_config_default(&c);
    c.n_mels = 0;
    es_feature_axes(&c, 513, 0, 10, ES_AXES_FREQ, &x, &y);
    assert_float_equal(y.lo, -22050.0 / 2048, 1e-9);
    assert_float_equal(y.hi, 11025 + 22050.0 / 2048, 1e-9);
    assert_string_equal(x.label, "frame");
    /* a configuration that does not resolve: indices, and -1 */
    c.n_fft = 1;
    assert_int_equal(es_feature_axes(&c, 4, 0, 10, ES_AXES_TIME | ES_AXES_FREQ, &x, &y), -1);
    assert_string_equal(x.label, "frame");
}

/* ---- the figure, resynthesis ------------------------------------------------------------- */

static void figure_size_and_axes(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    float *map = malloc(es_clip_map_size(&in) * sizeof *map);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.target = 0;
    es_sal_info info;
    assert_int_equal(es_clip_saliency(&in, &o, map, &info), 0);
    es_figure_opts fo = ES_FIGURE_OPTS_DEFAULTS;
    fo.w = 320, fo.h = 200;
    es_canvas cv;
    if (es_figure_render(&fo, &in, CHIRP, ES_SAL_GRAD, map, &info, &cv) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(cv.w, 320);
    assert_int_equal(cv.h, 200);
    es_canvas_free(&cv);
    assert_int_equal(es_figure_columns(&in), CHIRP_FRAMES);
    es_axis x, y, px, py;
    es_figure_axes(&fo, &in, &x, &y);
    es_feature_axes(&in.cfg, 20, 0, CHIRP_FRAMES, ES_AXES_TIME | ES_AXES_FREQ, &px, &py);
    assert_float_equal(x.lo, px.lo, 0);
    assert_float_equal(x.hi, px.hi, 0);
    assert_float_equal(y.lo, py.lo, 0);
    assert_float_equal(y.hi, py.hi, 0);
    assert_int_equal(y.scale, ES_SCALE_MEL_HTK);
    assert_float_equal(x.lo, -50.0 / 8000, 1e-12); /* frame 0 centred on 0 s */
    free(map);
    es_clip_free(&in);
}

static void resynth_keep_all_and_none(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    assert_int_equal(es_config_from_json(&c, MEL_JSON, "test"), 0);
    float *x;
    long n;
    int rate;
    assert_int_equal(es_audio_load(CHIRP, 0, &x, &n, &rate), 0);
    int mf = CHIRP_FRAMES;
    float *map = malloc(20 * mf * sizeof *map), *y = malloc(n * sizeof *y);
    for (int i = 0; i < 20 * mf; i++)
        map[i] = 1.0f + (i % 7); /* any positive map */
    double kept = -1;
    assert_int_equal(es_resynth(&c, map, 20, mf, x, n, rate, 1.0f, 0, 0, y, &kept, "chirp"), 0);
    assert_float_equal(kept, 1.0, 1e-12);
    assert_true(abs_err_max(y, x, n) < 1e-5);
    assert_int_equal(es_resynth(&c, map, 20, mf, x, n, rate, 0.0f, 0, 0, y, &kept, "chirp"), 0);
    assert_float_equal(kept, 0.0, 0);
    for (long i = 0; i < n; i++)
        assert_float_equal(y[i], 0, 0);
    assert_int_equal(es_resynth(&c, map, 20, mf, x, 100, rate, 1.0f, 0, 0, y, NULL, "tiny"), -1);
    assert_non_null(strstr(es_error(), "tiny"));
    free(x), free(map), free(y);
}

/* ---- labelled datasets -------------------------------------------------------------------- */

#define AUDIO(f) FIXTURE("audio/" f)

typedef struct {
    int calls, bad, stop;
} seen;

static int on_file(void *ctx, int i, const char *error)
{
    seen *s = ctx;
    s->calls++, s->bad += error != NULL;
    return s->stop && error;
}

static void dataset_csv(void **state)
{
    char chirp[512], tone[512], text[2000];
    assert_non_null(realpath(CHIRP, chirp));
    assert_non_null(realpath(AUDIO("mono44k.wav"), tone));
    es_dataset d;
    /* path + hasbird, a BOM, CRLF ends, a blank line, a row repeated (merged) */
    snprintf(text, sizeof text, "\xEF\xBB\xBFpath,hasbird\r\n%s,1\r\n\r\n%s,0\r\n%s,1\r\n", chirp,
             tone, chirp);
    write_file(tmp_path("a.csv"), text);
    if (es_dataset_read(&d, tmp_path("a.csv"), NULL) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(d.n, 2);
    assert_int_equal(d.merged, 1);
    assert_int_equal(d.n_classes, 2);
    assert_string_equal(d.classes[1], "bird");
    assert_int_equal(d.label[0], 1);
    assert_int_equal(d.label[1], 0);
    assert_true(d.hasbird && !d.is_id);
    char *js = es_dataset_classes_json(&d);
    assert_string_equal(js, "[\"nobird\",\"bird\"]");
    free(js);
    es_dataset_free(&d);
    /* RFC 4180: itemid (no extension, under root) + label names sorted into classes; quoted
     * fields in any column, with commas, a line break and "" inside; the same file again by
     * another spelling of its name (./) with the same label is merged */
    write_file(tmp_path("b.csv"), "itemid,label,other\nmono44k,whistle,x\n"
                                  "\"stereo16\",\"a, b\",\"two\nlines, \"\"quoted\"\"\"\n"
                                  "./mono44k,whistle,z\n");
    if (es_dataset_read(&d, tmp_path("b.csv"), AUDIO("")) != 0)
        fail_msg("%s", es_error());
    assert_true(d.is_id && !d.hasbird);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.merged, 1);
    assert_string_equal(d.path[0], AUDIO("/mono44k.wav"));
    assert_string_equal(d.classes[0], "a, b");
    assert_int_equal(d.label[0], 1);
    assert_int_equal(d.label[1], 0);
    es_dataset_free(&d);
    /* a model's classes: names must be among them */
    char *cls[] = {"whistle", "a, b", "zzz"};
    assert_int_equal(es_dataset_read_for(&d, tmp_path("b.csv"), AUDIO(""), cls, 3), 0);
    assert_int_equal(d.label[0], 0);
    assert_int_equal(d.n_classes, 3);
    es_dataset_free(&d);
    /* one file with two labels cannot be on both sides of anything: refused, both lines named */
    snprintf(text, sizeof text, "path,hasbird\n%s,1\n%s,0\n", chirp, chirp);
    write_file(tmp_path("c.csv"), text);
    assert_int_equal(es_dataset_read(&d, tmp_path("c.csv"), NULL), -1);
    assert_non_null(strstr(es_error(), "c.csv:3: "));
    assert_non_null(strstr(es_error(), "listed again with another label (line 2: 1, line 3: 0)"));
    /* bad rows: a hasbird of 2, a quote never closed, no label column */
    snprintf(text, sizeof text, "path,hasbird\n%s,1\n%s,2\n", chirp, tone);
    write_file(tmp_path("c.csv"), text);
    assert_int_equal(es_dataset_read(&d, tmp_path("c.csv"), NULL), -1);
    assert_non_null(strstr(es_error(), "c.csv:3: hasbird is '2'"));
    write_file(tmp_path("q.csv"), "path,hasbird\n\"x.wav,1\ny.wav,0\n");
    assert_int_equal(es_dataset_read(&d, tmp_path("q.csv"), NULL), -1);
    assert_non_null(strstr(es_error(), "q.csv:2: a quoted field is never closed"));
    write_file(tmp_path("e.csv"), "path,score\nx.wav,1\n");
    assert_int_equal(es_dataset_read(&d, tmp_path("e.csv"), NULL), -1);
    assert_non_null(strstr(es_error(), "no hasbird/label column"));
    /* a missing file is read as a row; its features fail for it alone, the rest go on */
    snprintf(text, sizeof text, "path,hasbird\nnothere.wav,1\n%s,1\n%s,0\n", chirp, tone);
    write_file(tmp_path("d.csv"), text);
    if (es_dataset_read(&d, tmp_path("d.csv"), NULL) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(d.n, 3);
    es_feature_config c;
    es_config_default(&c);
    es_array *feat;
    char **err;
    assert_int_equal(es_dataset_features_each(&d, &c, &feat, &err), 1);
    assert_non_null(err[0]);
    assert_non_null(strstr(err[0], "nothere.wav"));
    assert_null(err[1]);
    assert_true(feat[1].ndim == 2 && feat[2].ndim == 2);
    es_dataset_drop_failed(&d, feat, err);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.path[0], chirp);
    assert_int_equal(feat[1].dims[0], 80);
    es_dataset_features_free(feat, d.n);
    /* the all-or-nothing form names the failing file */
    es_dataset_free(&d);
    assert_int_equal(es_dataset_read(&d, tmp_path("d.csv"), NULL), 0);
    assert_int_equal(es_dataset_features(&d, &c, &feat), -1);
    assert_non_null(strstr(es_error(), "nothere.wav"));
    assert_null(feat);
    /* watched: told of every file; a non-zero answer starts no further file (--strict) */
    seen s = {0};
    assert_int_equal(es_dataset_features_watch(&d, &c, &feat, &err, on_file, &s, NULL), 1);
    assert_int_equal(s.calls, 3);
    assert_int_equal(s.bad, 1);
    for (int i = 0; i < d.n; i++)
        free(err[i]);
    free(err);
    es_dataset_features_free(feat, d.n);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* in order: the first file fails and stops the rest */
    int done = -1;
    s = (seen){.stop = 1};
    assert_int_equal(es_dataset_features_watch(&d, &c, &feat, &err, on_file, &s, &done), 1);
    omp_set_num_threads(threads);
    assert_int_equal(done, 1);
    assert_int_equal(s.calls, 1);
    assert_non_null(err[0]);
    assert_null(err[1]);
    assert_int_equal(feat[1].ndim, 0);
    free(err[0]), free(err);
    es_dataset_features_free(feat, d.n);
    es_dataset_free(&d);
}

static void split_stratified(void **state)
{
    int label[10] = {0, 1, 0, 0, 1, 0, 1, 0, 0, 1}, is_val[10];
    es_dataset d = {.n = 10, .label = label, .n_classes = 2};
    for (uint64_t seed = 0; seed < 5; seed++) {
        es_dataset_split(&d, 0.25, seed, is_val);
        int v[2] = {0, 0};
        for (int i = 0; i < 10; i++)
            v[label[i]] += is_val[i];
        assert_int_equal(v[0], 2); /* round(0.25 · 6) */
        assert_int_equal(v[1], 1); /* round(0.25 · 4) */
    }
    es_dataset_split(&d, 0.01, 1, is_val); /* at least one of each class */
    int v1 = 0, v0 = 0;
    for (int i = 0; i < 10; i++)
        v1 += is_val[i] && label[i], v0 += is_val[i] && !label[i];
    assert_int_equal(v0, 1);
    assert_int_equal(v1, 1);
    es_dataset_split(&d, 1.0, 1, is_val); /* never all of a class */
    v1 = 0;
    for (int i = 0; i < 10; i++)
        v1 += is_val[i] && label[i];
    assert_int_equal(v1, 3);
}

/* The synthetic sounds: their levels (RMS, clicks: peak), the hum's frequency, silence as
 * zeros, and the same numbers from the same seed. */
static void synth_sounds(void **state)
{
    enum { N = 22050 };
    static float x[N], y[N];
    for (int k = 0; k < ES_SYNTH_KINDS; k++) {
        es_rng r = {7}, q = {7};
        es_synth_sound(k, -20, 22050, &r, x, N);
        es_synth_sound(k, -20, 22050, &q, y, N);
        assert_memory_equal(x, y, sizeof x);
        double ss = 0, peak = 0;
        for (int i = 0; i < N; i++)
            ss += (double)x[i] * x[i], peak = fmax(peak, fabs(x[i]));
        double level = 20 * log10(k == ES_SYNTH_CLICKS ? peak : sqrt(ss / N) + 1e-30);
        if (k == ES_SYNTH_SILENCE)
            assert_true(ss == 0);
        else
            assert_float_equal(level, -20, 0.05);
        assert_non_null(es_synth_name(k));
    }
    /* the hum: its power at 50 or 60 Hz (a 1 s DFT bin) is most of the fundamental's share */
    es_rng r = {3};
    es_synth_sound(ES_SYNTH_HUM, -20, 22050, &r, x, N);
    double best = 0;
    int at = 0;
    for (int f = 40; f <= 70; f++) {
        double re = 0, im = 0;
        for (int i = 0; i < N; i++)
            re += x[i] * cos(2 * M_PI * f * i / N), im += x[i] * sin(2 * M_PI * f * i / N);
        double p = re * re + im * im;
        if (p > best)
            best = p, at = f;
    }
    assert_true(at == 50 || at == 60);
    assert_null(es_synth_name(ES_SYNTH_KINDS));
}

/* Training windows of synthetic sounds through the model's features: finite (digital silence
 * becomes all zeros after standardisation, not NaN), drawn from the seed alone, and the
 * quiet-onto-a-floor path keeps the window finite too. */
static void synth_examples(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    c.n_mels = 16, c.frames = 20, c.layout = ES_LAYOUT_FRAMES_MELS;
    es_features *f = es_features_new(&c);
    assert_non_null(f);
    float zeros[4096] = {0};
    es_array sil;
    assert_int_equal(es_features_compute(f, zeros, 4096, &sil), 0);
    c.standardize = ES_STANDARDIZE_GLOBAL;
    int label[2] = {0, 1};
    es_dataset d = {.n = 2, .label = label, .n_classes = 2};
    es_array feat[2] = {sil, sil};
    int train[2] = {0, 1};
    es_augment a = {.background = 0, .synth = f, .p_synth = 1, .synth_db = {-80, -10},
                    .p_quiet = 1, .quiet_db = 60, .floor_db = {-90, -50}};
    float w[2][20 * 16];
    int kinds = 0;
    for (int seed = 0; seed < 40; seed++) {
        for (int k = 0; k < 2; k++) {
            es_rng r = {(uint64_t)seed};
            assert_int_equal(es_dataset_example(&c, &a, feat, seed % 2, &d, train, 2, &r, w[k]), 0);
        }
        assert_memory_equal(w[0], w[1], sizeof w[0]);
        double ss = 0;
        for (int j = 0; j < 20 * 16; j++) {
            assert_true(isfinite(w[0][j]));
            ss += w[0][j] * w[0][j];
        }
        kinds += seed % 2 == 0 && ss == 0; /* digital silence: all zeros */
    }
    assert_true(kinds > 0 && kinds < 20);
    /* p_silence 1: every synthetic window is digital silence */
    a.p_silence = 1;
    for (int seed = 0; seed < 20; seed++) {
        es_rng r = {(uint64_t)seed};
        assert_int_equal(es_dataset_example(&c, &a, feat, 0, &d, train, 2, &r, w[0]), 0);
        for (int j = 0; j < 20 * 16; j++)
            assert_true(w[0][j] == 0);
    }
    es_array_free(&sil);
    es_features_free(f);
}

/* A positive file's window is its loudest of crop_tries crops: a call of 20 frames in 200
 * frames of floor is in (nearly) every window, where one random crop of 20 misses it mostly;
 * and so when the file is mixed into a longer background. */
static void loudest_crops(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    c.n_mels = 4, c.frames = 20, c.layout = ES_LAYOUT_MELS_FRAMES, c.standardize = ES_STANDARDIZE_NONE;
    float v[4 * 200];
    for (int b = 0; b < 4; b++)
        for (int t = 0; t < 200; t++)
            v[b * 200 + t] = t >= 120 && t < 140 ? 0.0f : -80.0f;
    es_array f = {.data = v, .ndim = 2, .dims = {4, 200}};
    int label[1] = {1}, train[1] = {0};
    es_dataset d = {.n = 1, .label = label, .n_classes = 2};
    int hits[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        es_augment a = {.background = 0, .crop_tries = k ? 1000 : 1};
        for (int seed = 0; seed < 50; seed++) {
            es_rng r = {(uint64_t)seed};
            float w[4 * 20];
            assert_int_equal(es_dataset_example(&c, &a, &f, 0, &d, train, 1, &r, w), 0);
            int loud = 0;
            for (int t = 0; t < 20; t++)
                loud += w[t] > -40;
            hits[k] += loud >= 15;
        }
    }
    assert_true(hits[0] < 25);
    assert_true(hits[1] == 50);
    /* mixed into a longer background (a floor of -60 dB, 300 frames), likewise */
    float bgv[4 * 300];
    for (int i = 0; i < 4 * 300; i++)
        bgv[i] = -60.0f;
    es_array fs[2] = {f, {.data = bgv, .ndim = 2, .dims = {4, 300}}};
    int label2[2] = {1, 0}, train2[2] = {0, 1};
    es_dataset d2 = {.n = 2, .label = label2, .n_classes = 2};
    hits[0] = hits[1] = 0;
    for (int k = 0; k < 2; k++) {
        es_augment a = {.background = 0, .crop_tries = k ? 1000 : 1, .p_mix = 1};
        for (int seed = 0; seed < 50; seed++) {
            es_rng r = {(uint64_t)seed};
            float w[4 * 20];
            assert_int_equal(es_dataset_example(&c, &a, fs, 0, &d2, train2, 2, &r, w), 0);
            int loud = 0;
            for (int t = 0; t < 20; t++)
                loud += w[t] > -55; /* the call comes at the floor's mean power: -50 dB */
            hits[k] += loud >= 15;
        }
    }
    assert_true(hits[0] < 25);
    assert_true(hits[1] == 50);
}

static void auc_known(void **state)
{
    /* positives 0.35, 0.8 against negatives 0.1, 0.4: 3 of 4 pairs ranked right */
    float p[8] = {0.9f, 0.1f, 0.6f, 0.4f, 0.65f, 0.35f, 0.2f, 0.8f};
    int lab[4] = {0, 0, 1, 1};
    assert_float_equal(es_dataset_auc(p, lab, 4, 2), 0.75, 1e-12);
    int one[4] = {1, 1, 1, 1};
    assert_float_equal(es_dataset_auc(p, one, 4, 2), -1, 0);
}

/* ---- one verdict ------------------------------------------------------------------------ */

static void verdict_rules(void **state)
{
    /* three windows of a detector: P(bird) 0.3, 0.8, 0.6 */
    const float det[6] = {0.7f, 0.3f, 0.2f, 0.8f, 0.4f, 0.6f};
    es_verdict v;
    assert_int_equal(es_verdict_of(&v, det, 3, 2, ES_AGGREGATE_MAX), 0);
    assert_int_equal(v.cls, 1);
    assert_int_equal(v.window, 1);
    assert_float_equal(v.p, 0.8f, 0);
    assert_float_equal(v.pc[0], 1 - 0.8f, 1e-7);
    es_verdict_free(&v);
    /* all windows below 0.5: "nobird", decided by the window nearest to a bird */
    const float quiet[6] = {0.9f, 0.1f, 0.6f, 0.4f, 0.8f, 0.2f};
    assert_int_equal(es_verdict_of(&v, quiet, 3, 2, ES_AGGREGATE_MAX), 0);
    assert_int_equal(v.cls, 0);
    assert_int_equal(v.window, 1);
    assert_float_equal(v.p, 0.6f, 1e-7);
    es_verdict_free(&v);
    /* the mean of det: bird 0.5667 beats nobird 0.4333; the window with the best P(bird) */
    assert_int_equal(es_verdict_of(&v, det, 3, 2, ES_AGGREGATE_MEAN), 0);
    assert_int_equal(v.cls, 1);
    assert_int_equal(v.window, 1);
    assert_float_equal(v.p, (0.3f + 0.8f + 0.6f) / 3, 1e-6);
    es_verdict_free(&v);
    /* three classes, mean: class 0 (0.45) by one strong window over class 2 (0.4) */
    const float multi[6] = {0.9f, 0.0f, 0.1f, 0.0f, 0.3f, 0.7f};
    assert_int_equal(es_verdict_of(&v, multi, 2, 3, ES_AGGREGATE_MEAN), 0);
    assert_int_equal(v.cls, 0);
    assert_float_equal(v.p, 0.45f, 1e-6);
    es_verdict_free(&v);
    const float multi2[6] = {0.5f, 0.0f, 0.5f, 0.0f, 0.2f, 0.8f};
    assert_int_equal(es_verdict_of(&v, multi2, 2, 3, ES_AGGREGATE_MEAN), 0);
    assert_int_equal(v.cls, 2);
    assert_int_equal(v.window, 1);
    es_verdict_free(&v);
    assert_int_equal(es_verdict_of(&v, det, 0, 2, ES_AGGREGATE_MAX), -1);
    es_verdict_free(&v); /* a failed verdict frees as a zeroed one */
}

static void verdict_rule_of_model(void **state)
{
    es_aggregate a;
    assert_int_equal(es_aggregate_parse("mean", &a), 0);
    assert_int_equal(a, ES_AGGREGATE_MEAN);
    assert_string_equal(es_aggregate_name(a), "mean");
    assert_int_equal(es_aggregate_parse("median", &a), -1);
    assert_non_null(strstr(es_error(), "median"));
    es_model m;
    assert_int_equal(es_model_load(&m, tmp_path("mel.onnx"), NULL), 0);
    assert_int_equal(es_model_aggregate(&m, 3, &a), 0); /* no metadata: three classes → mean */
    assert_int_equal(a, ES_AGGREGATE_MEAN);
    assert_int_equal(es_model_aggregate(&m, 2, &a), 0); /* a detector → max */
    assert_int_equal(a, ES_AGGREGATE_MAX);
    assert_int_equal(es_meta_set(m.meta, ES_META_AGGREGATE, "max"), 0);
    assert_int_equal(es_model_aggregate(&m, 3, &a), 0);
    assert_int_equal(a, ES_AGGREGATE_MAX);
    assert_int_equal(es_meta_set(m.meta, ES_META_AGGREGATE, "vote"), 0);
    assert_int_equal(es_model_aggregate(&m, 3, &a), -1);
    assert_non_null(strstr(es_error(), "mel.onnx"));
    es_model_free(&m);
}

/* A clip's verdict is taken over its windows side by side, whatever hop the clip has: the
 * default (F/2: every other row), F, and a hop that does not divide F (windows run again). */
static void clip_verdict_windows(void **state)
{
    es_clip in;
    es_verdict want, v;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 16), 0);
    assert_int_equal(in.verdicts, (CHIRP_FRAMES - 1) / 16 + 1);
    assert_int_equal(in.x.dims[0], in.verdicts);
    assert_int_equal(es_clip_verdict(&in, NULL, &want), 0);
    assert_int_equal(want.rule, ES_AGGREGATE_MEAN); /* three classes */
    assert_int_equal(want.F, 16);
    assert_int_equal(want.frame0, want.window * 16);
    assert_non_null(want.flags);
    es_clip_free(&in);
    int hops[] = {0, 8, 4, 5, 20}; /* 4: its last row starts at 76, not 80 */
    for (int h = 0; h < 5; h++) {
        assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, hops[h]), 0);
        assert_int_equal(in.verdicts, want.windows);
        assert_int_equal(in.vx != NULL, hops[h] == 4 || hops[h] == 5 || hops[h] == 20);
        assert_int_equal(es_clip_verdict(&in, NULL, &v), 0);
        assert_int_equal(v.cls, want.cls);
        assert_int_equal(v.window, want.window);
        for (int k = 0; k < 3 * v.windows; k++)
            if (fabsf(v.pw[k] - want.pw[k]) > 1e-6)
                fail_msg("hop %d: window %d class %d: P %g, hop 16 %g", hops[h], k / 3, k % 3,
                         v.pw[k], want.pw[k]);
        assert_float_equal(v.t0, want.t0, 0);
        assert_int_equal(es_clip_default_target(&in, NULL), want.cls);
        es_aggregate mx = ES_AGGREGATE_MAX;
        in.aggregate = ES_AGGREGATE_MAX; /* a flag's rule rules */
        es_verdict_free(&v);
        assert_int_equal(es_clip_verdict(&in, NULL, &v), 0);
        assert_int_equal(v.rule, ES_AGGREGATE_MAX);
        es_verdict_free(&v);
        assert_int_equal(es_clip_verdict(&in, &mx, &v), 0);
        assert_int_equal(v.rule, ES_AGGREGATE_MAX);
        es_verdict_free(&v);
        es_clip_free(&in);
    }
    es_verdict_free(&want);
}

/* Window spans in frames and seconds, and the sentence about the windows flagged. */
static void verdict_place_and_note(void **state)
{
    float p[3 * 2] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f};
    es_feature_config c;
    es_config_default(&c);
    assert_int_equal(es_config_from_json(&c, MEL_JSON, "test"), 0);
    es_verdict v;
    assert_int_equal(es_verdict_of(&v, p, 3, 2, ES_AGGREGATE_MAX), 0);
    unsigned char fl[3] = {ES_WINDOW_SILENT, 0, ES_WINDOW_CONSTANT};
    assert_int_equal(es_verdict_place(&v, &c, 40, fl), 0); /* windows 0-16, 16-32, 32-40 */
    assert_int_equal(v.window, 1);
    assert_int_equal(v.frame0, 16);
    assert_int_equal(v.frame1, 32);
    assert_float_equal(v.t0, 16 * 100 / 8000.0, 1e-12); /* frame centres: t·hop (center) */
    assert_float_equal(v.t1, 32 * 100 / 8000.0, 1e-12);
    int f0, f1;
    double t0, t1;
    es_verdict_window(&v, 2, &f0, &f1, &t0, &t1);
    assert_int_equal(f1, 40);
    assert_float_equal(t1, 0.5, 1e-12);
    assert_int_equal(v.flagged, 2);
    char note[256];
    assert_true(es_verdict_note(&v, note, sizeof note) > 0);
    assert_non_null(strstr(note, "2 of 3 windows are silent or constant (0: 0.00–0.20 s, 2:"));
    assert_null(strstr(note, "deciding"));
    v.flags[1] = ES_WINDOW_SILENT, v.flags[0] = v.flags[2] = ES_WINDOW_SILENT, v.flagged = 3;
    es_verdict_note(&v, note, sizeof note);
    assert_string_equal(note, "every window is silent: the model cannot judge them");
    es_verdict_free(&v);
    assert_int_equal(es_verdict_of(&v, p, 3, 2, ES_AGGREGATE_MAX), 0);
    assert_int_equal(es_verdict_note(&v, note, sizeof note), 0); /* no flags known */
    es_verdict_free(&v);
}

/* Silence and constant windows from the features' own floor (amin 1e-10: -100 dB, top_db 80:
 * silent below -60 dB). */
static void window_flags(void **state)
{
    es_feature_config c;
    es_config_default(&c);
    enum { B = 4, T = 30 };
    float f[B * T];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            f[b * T + t] = t < 10 ? -100.0f : t < 20 ? -70.0f + (t + b) % 3 : -20.0f + (t * b) % 7;
    assert_int_equal(es_window_flags(&c, f, B, T, 0, 10), ES_WINDOW_SILENT | ES_WINDOW_CONSTANT);
    assert_int_equal(es_window_flags(&c, f, B, T, 10, 10), ES_WINDOW_SILENT);
    assert_int_equal(es_window_flags(&c, f, B, T, 20, 10), 0);
    assert_int_equal(es_window_flags(&c, f, B, T, 25, 10), 0); /* past the end: what is there */
    for (int b = 0; b < B; b++)
        for (int t = 20; t < T; t++)
            f[b * T + t] = -20.0f; /* a loud constant: clamped silence, a DC offset */
    assert_int_equal(es_window_flags(&c, f, B, T, 20, 10), ES_WINDOW_CONSTANT);
    c.top_db = 20; /* silent below -90 dB */
    assert_int_equal(es_window_flags(&c, f, B, T, 10, 10), 0);
    c.top_db = 0; /* no top_db: 40 dB above the floor */
    assert_int_equal(es_window_flags(&c, f, B, T, 10, 10), ES_WINDOW_SILENT);
    c.log = ES_LOG_LN; /* ln(1e-10) = -23.0: silent below -13.8 */
    assert_int_equal(es_window_flags(&c, f, B, T, 20, 10), ES_WINDOW_SILENT | ES_WINDOW_CONSTANT);
    f[25] = -13.0f;
    assert_int_equal(es_window_flags(&c, f, B, T, 20, 10), 0);
    assert_int_equal(es_window_flags(&c, f, B, T, 0, 10), ES_WINDOW_SILENT | ES_WINDOW_CONSTANT);
    assert_string_equal(es_window_flags_text(ES_WINDOW_SILENT), "silent");
    assert_null(es_window_flags_text(0));
}

/* The deciding window's map alone: its row's own map, at its frames, zero elsewhere. */
static void saliency_decisive(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    es_verdict v;
    assert_int_equal(es_clip_verdict(&in, NULL, &v), 0);
    size_t n = es_clip_map_size(&in), per = 20 * 16;
    float *map = malloc(n * sizeof *map), *row = malloc(per * sizeof *row);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.target = v.cls;
    es_sal_info info, ri;
    assert_int_equal(es_clip_saliency_window(&in, &o, v.window, map, &info), 0);
    int r = es_clip_deciding_row(&in);
    assert_int_equal(r, in.vrow[v.window]);
    assert_int_equal(es_saliency(in.m.g, in.m.input, in.x.data + r * per, &o, row, &ri), 0);
    assert_float_equal(info.score, ri.score, 0);
    for (int b = 0; b < 20; b++)
        for (int t = 0; t < CHIRP_FRAMES; t++) {
            float want = t >= v.frame0 && t < v.frame1 ? row[b * 16 + t - v.frame0] : 0;
            assert_float_equal(map[b * CHIRP_FRAMES + t], want, 0); /* mels_frames layout */
        }
    assert_int_equal(es_clip_saliency_window(&in, &o, v.windows, map, &info), -1);
    free(map), free(row);
    es_verdict_free(&v);
    es_clip_free(&in);
}

/* A 1-D Grad-CAM map over time lies along time in the sound's map, whatever the layout:
 * panns_att (frames × mels input, frames_mels) at its time-pooled (N, C, T) map gives a
 * (mels × frames) map constant along mels in every frame, and not constant in time. */
static void gradcam_1d_in_time(void **state)
{
    annotate_model(OX("panns_att.onnx"), "panns.onnx",
                   "{\"sample_rate\": 8000, \"n_fft\": 256, \"hop_length\": 100, \"n_mels\": 16, "
                   "\"f_min\": 0, \"f_max\": 4000, \"mel_scale\": \"htk\", \"mel_norm\": \"none\", "
                   "\"frames\": 20, \"layout\": \"frames_mels\", \"standardize\": \"global\"}");
    es_clip in;
    if (es_clip_load(&in, tmp_path("panns.onnx"), NULL, CHIRP, 0) != 0)
        fail_msg("%s", es_error());
    int dims[4];
    assert_int_equal(es_clip_map_shape(&in, dims), 2);
    assert_int_equal(dims[0], 16), assert_int_equal(dims[1], CHIRP_FRAMES);
    float *map = malloc(16 * CHIRP_FRAMES * sizeof *map);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = ES_SAL_GRADCAM, o.target = 3;
    o.layer = es_clip_layer(&in, "/ReduceMean_output_0");
    if (es_clip_saliency(&in, &o, map, NULL) != 0)
        fail_msg("%s", es_error());
    float lo = map[0], hi = map[0];
    for (int t = 0; t < CHIRP_FRAMES; t++) {
        for (int b = 1; b < 16; b++)
            assert_float_equal(map[b * CHIRP_FRAMES + t], map[t], 0);
        lo = fminf(lo, map[t]), hi = fmaxf(hi, map[t]);
    }
    assert_true(hi > lo);
    free(map);
    es_clip_free(&in);
}

/* Each row's map as es_saliency gives it alone, stitched: what a clip's maps must be. */
static void rows_alone(es_clip *in, const es_sal_opts *o, float *map)
{
    int rows = in->x.dims[0];
    size_t per = es_array_size(&in->x) / rows;
    float *all = malloc(rows * per * sizeof *all);
    for (int r = 0; r < rows; r++)
        if (es_saliency(in->m.g, in->m.input, in->x.data + r * per, o, all + r * per, NULL) != 0)
            fail_msg("%s", es_error());
    assert_int_equal(es_clip_stitch(in, all, map), 0);
    free(all);
}

/* A clip told to keep its scoring pass (es_clip.keep) explains from it: its scores are those of
 * a clip that does not, its single-pass maps those of each row alone, one method after another
 * without a forward pass of their own; a layer not pinned for it, a pass run in between or
 * weights written since make a new one, and the maps stay right. */
static void clip_kept_pass(void **state)
{
    es_clip plain, in;
    assert_int_equal(es_clip_load(&plain, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    in.keep = 1;
    assert_int_equal(es_clip_next(&in, CHIRP, 0), 0);
    uint64_t id = es_graph_forward_id(in.m.g);
    assert_true(in.kept != 0 && in.kept == id);
    int rows = in.x.dims[0], C = in.classes;
    assert_true(rows > 2);
    for (int i = 0; i < rows * C; i++)
        assert_float_equal(in.scores[i], plain.scores[i], 1e-6);
    for (int i = 0; i < in.verdicts * C; i++)
        assert_float_equal(in.vscores[i], plain.vscores[i], 1e-6);
    size_t n = es_clip_map_size(&in);
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.target = 1;
    static const es_sal_method ms[] = {ES_SAL_GUIDED, ES_SAL_GRADCAM, ES_SAL_GRAD, ES_SAL_IG, ES_SAL_GUIDED};
    for (size_t k = 0; k < sizeof ms / sizeof *ms; k++) {
        o.method = ms[k], o.steps = 4;
        assert_int_equal(es_clip_saliency_rows(&in, &o, got, NULL), 0);
        if (ms[k] != ES_SAL_IG) /* the first three from the scoring pass; after IG's, a new one */
            assert_true(es_graph_forward_id(in.m.g) == (k < 3 ? id : in.kept));
        rows_alone(&plain, &o, want);
        for (size_t i = 0; i < n; i++)
            if (fabsf(got[i] - want[i]) > 1e-5f * fmaxf(1, fabsf(want[i])))
                fail_msg("%s [%zu]: %g, alone %g", es_sal_method_name(ms[k]), i, got[i], want[i]);
    }
    /* Grad-CAM at a layer the pass did not pin: a pass of its own */
    int layer = -1, def = es_sal_default_layer(in.m.g);
    for (int t = 0; t < def; t++) {
        int d[ES_MAX_DIMS];
        if (es_tensor_kind_of(in.m.g, t) == ES_T_ACT && es_tensor_shape(in.m.g, t, d) == 4)
            layer = t;
    }
    assert_true(layer >= 0);
    o.method = ES_SAL_GRADCAM, o.layer = layer;
    id = es_graph_forward_id(in.m.g);
    assert_int_equal(es_clip_saliency_rows(&in, &o, got, NULL), 0);
    assert_true(es_graph_forward_id(in.m.g) != id);
    rows_alone(&plain, &o, want);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], want[i], 1e-5 * fmaxf(1, fabsf(want[i])));
    /* weights written (a sanity check's randomisation of the lowest layer): the kept pass is
     * stale, and the maps are those of the new weights */
    o.method = ES_SAL_GUIDED, o.layer = -1;
    assert_int_equal(es_clip_saliency_rows(&in, &o, got, NULL), 0);
    int ids[64], nl = es_sanity_layers(in.m.g, ids, 64);
    assert_true(nl > 1 && es_graph_forward_id(in.m.g) != 0);
    assert_int_equal(es_sanity_randomize(in.m.g, ids[nl - 1], 7), 0);
    assert_int_equal(es_sanity_randomize(plain.m.g, ids[nl - 1], 7), 0);
    assert_true(es_graph_forward_id(in.m.g) == 0);
    assert_int_equal(es_clip_saliency_rows(&in, &o, got, NULL), 0);
    rows_alone(&plain, &o, want);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], want[i], 1e-5 * fmaxf(1, fabsf(want[i])));
    free(want), free(got);
    es_clip_free(&plain);
    es_clip_free(&in);
}

/* IG baselines: zero, min, silence (a silent sound through the model's features: standardised
 * it is all zero for this model, as its log floor is constant), blur (a constant stays, a
 * row's sum is kept), a .npy of one sample; anything else refused. */
static void baselines(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    es_sal_opts o;
    es_sal_defaults(&o);
    es_array base = {0};
    assert_int_equal(es_clip_baseline(&in, "min", &base, &o), 0);
    assert_int_equal(o.baseline, ES_BASE_MIN);
    assert_int_equal(es_clip_baseline(&in, NULL, &base, &o), 0);
    assert_int_equal(o.baseline, ES_BASE_ZERO);
    assert_int_equal(es_clip_baseline(&in, "silence", &base, &o), 0);
    assert_int_equal(o.baseline, ES_BASE_ARRAY);
    assert_int_equal(o.baseline_stride, 0);
    assert_int_equal(es_array_size(&base), 320);
    for (int i = 0; i < 320; i++)
        assert_float_equal(base.data[i], 0, 0);
    es_array_free(&base);
    /* without standardisation silence is the log floor, -100 dB */
    in.cfg.standardize = ES_STANDARDIZE_NONE;
    assert_int_equal(es_clip_baseline(&in, "silence", &base, &o), 0);
    for (int i = 0; i < 320; i++)
        assert_float_equal(base.data[i], -100, 1e-4);
    es_array_free(&base);
    assert_int_equal(es_clip_baseline(&in, "blur", &base, &o), 0);
    assert_int_equal(o.baseline_stride, 320);
    assert_int_equal(es_array_size(&base), es_array_size(&in.x));
    double sx = 0, sb = 0, dx = 0, db = 0;
    for (size_t i = 0; i < es_array_size(&in.x); i++) {
        sx += in.x.data[i], sb += base.data[i];
        if (i % 16)
            dx += fabs(in.x.data[i] - in.x.data[i - 1]), db += fabs(base.data[i] - base.data[i - 1]);
    }
    assert_true(fabs(sx - sb) < 0.05 * es_array_size(&in.x)); /* about the same mass */
    assert_true(db < dx / 2);                                   /* and smoother */
    /* IG with it runs every row against its own blurred row */
    size_t n = es_clip_map_size(&in);
    float *map = malloc(n * sizeof *map);
    es_sal_info *ri = calloc(in.x.dims[0], sizeof *ri);
    o.method = ES_SAL_IG, o.target = 0, o.steps = 8;
    assert_int_equal(es_clip_saliency_rows(&in, &o, map, ri), 0);
    es_sal_opts one = o;
    es_sal_info r1;
    float *row = malloc(320 * sizeof *row);
    one.baseline_data = base.data + 320;
    assert_int_equal(es_saliency(in.m.g, in.m.input, in.x.data + 320, &one, row, &r1), 0);
    assert_float_equal(ri[1].base_score, r1.base_score, 0);
    assert_true(ri[1].base_score != ri[0].base_score);
    free(map), free(ri), free(row);
    es_array_free(&base);
    assert_int_equal(es_clip_baseline(&in, OX("chirp.wav"), &base, &o), -1);
    assert_non_null(strstr(es_error(), "zero, min, silence, blur or a .npy"));
    es_clip_free(&in);
    /* a tensor has no features to make silence with */
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, OX("small_cnn.input.npy"), 0), 0);
    assert_int_equal(es_clip_baseline(&in, "silence", &base, &o), -1);
    assert_int_equal(es_clip_baseline(&in, "blur", &base, &o), 0);
    es_array_free(&base);
    es_clip_free(&in);
}

/* The colour range skips what is not finite; a part drawn with the caller's range (the viewer
 * keeps it) is the part drawn with the range found again. */
static void figure_range(void **state)
{
    float v[] = {3, NAN, -2, INFINITY, 7, -INFINITY}, lo, hi;
    es_figure_range(v, 6, &lo, &hi);
    assert_float_equal(lo, -2, 0), assert_float_equal(hi, 7, 0);
    es_figure_range(v + 1, 1, &lo, &hi);
    assert_true(lo > hi);
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    size_t n = es_clip_map_size(&in);
    float *map = malloc(n * sizeof *map), *st = malloc(n * sizeof *st), *pb = NULL, *pm = NULL;
    es_sal_opts o;
    es_sal_defaults(&o);
    es_sal_info info;
    int rows, cols;
    assert_int_equal(es_clip_saliency(&in, &o, map, &info), 0);
    assert_int_equal(es_clip_stitch(&in, in.x.data, st), 0);
    assert_int_equal(es_clip_picture(&in, st, &rows, &cols, &pb), 0);
    assert_int_equal(es_clip_picture(&in, map, &rows, &cols, &pm), 0);
    es_figure_opts fo = ES_FIGURE_OPTS_DEFAULTS;
    fo.w = 320, fo.h = 200, fo.c0 = 10, fo.c1 = 60, fo.input_picture = pb, fo.map_picture = pm;
    es_canvas a, b;
    assert_int_equal(es_figure_render(&fo, &in, CHIRP, ES_SAL_GRAD, map, &info, &a), 0);
    es_figure_range(pb, (size_t)rows * cols, &fo.input_lo, &fo.input_hi);
    assert_int_equal(es_figure_render(&fo, &in, CHIRP, ES_SAL_GRAD, map, &info, &b), 0);
    assert_memory_equal(a.px, b.px, (size_t)a.stride * a.h);
    es_canvas_free(&a), es_canvas_free(&b);
    free(map), free(st), free(pb), free(pm);
    es_clip_free(&in);
}

/* ---- sanity checks ----------------------------------------------------------------------------- */

static int stop_after(void *ctx, int done, int total)
{
    int *at = ctx;
    at[1] = total;
    return done >= at[0];
}

/* The checks on a sound: rows of both modes, maps of the cascading ones, the weights as they
 * were after the run and after a stop; the strip at a size and at its own. */
static void sanity_checks(void **state)
{
    es_clip in;
    assert_int_equal(es_clip_load(&in, tmp_path("mel.onnx"), NULL, CHIRP, 0), 0);
    es_graph *g = in.m.g;
    int ids[64], n = es_sanity_layers(g, ids, 64);
    assert_true(n >= 2);
    es_sal_opts o;
    es_sal_defaults(&o);
    o.method = ES_SAL_GRAD, o.target = 0;
    size_t sz = es_clip_map_size(&in);
    float *before = malloc(sz * sizeof *before), *after = malloc(sz * sizeof *after);
    assert_int_equal(es_clip_saliency(&in, &o, before, NULL), 0);
    es_sanity s;
    es_sanity_opts so = {0, 1, 1, 1, NULL, NULL};
    if (es_clip_sanity(&in, &o, &so, &s) != 0)
        fail_msg("%s", es_error());
    assert_int_equal(s.n, n);
    assert_int_equal(s.n_rows, 2 * n);
    assert_string_equal(s.rows[0].mode, "cascading");
    assert_string_equal(s.rows[n].mode, "independent");
    assert_string_equal(s.rows[0].layer, es_node_name(g, ids[0]));
    assert_memory_equal(s.maps[0], before, sz * sizeof *before); /* the original is the map */
    assert_true(s.rows[n - 1].rho_abs < 0.99);                 /* all random: another map */
    es_canvas cv;
    assert_int_equal(es_sanity_strip(&s, &in, o.method, 500, 200, NULL, "t", NULL, &cv), 0);
    assert_int_equal(cv.w, 500), assert_int_equal(cv.h, 200);
    es_canvas_free(&cv);
    assert_int_equal(es_sanity_strip(&s, &in, o.method, 0, 0, NULL, NULL, NULL, &cv), 0);
    assert_int_equal(cv.w, 180 * (n + 1) + 40);
    es_canvas_free(&cv);
    es_sanity_free(&s);
    assert_int_equal(es_clip_saliency(&in, &o, after, NULL), 0); /* the weights came back */
    assert_memory_equal(after, before, sz * sizeof *before);
    /* told to stop after the second map: an error, the weights as they were */
    int at[2] = {2, 0};
    so = (es_sanity_opts){1, 1, 1, 0, stop_after, at};
    assert_int_equal(es_clip_sanity(&in, &o, &so, &s), -1);
    assert_non_null(strstr(es_error(), "stopped after 2 of 2 maps"));
    assert_int_equal(at[1], 2); /* --layers 1, cascading: the original and one step */
    assert_null(s.maps);
    assert_int_equal(es_clip_saliency(&in, &o, after, NULL), 0);
    assert_memory_equal(after, before, sz * sizeof *before);
    /* the strip needs cascading maps */
    so = (es_sanity_opts){1, 1, 0, 1, NULL, NULL};
    assert_int_equal(es_clip_sanity(&in, &o, &so, &s), 0);
    assert_int_equal(es_sanity_strip(&s, &in, o.method, 0, 0, NULL, NULL, NULL, &cv), -1);
    es_sanity_free(&s);
    free(before), free(after);
    es_clip_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_explicit_path),
        cmocka_unit_test(model_default),
        cmocka_unit_test(model_bad_path),
        cmocka_unit_test(sound_windows),
        cmocka_unit_test(npy_input_batch_optional),
        cmocka_unit_test(targets),
        cmocka_unit_test(map_shapes),
        cmocka_unit_test(probabilities),
        cmocka_unit_test(stitching),
        cmocka_unit_test(stitching_no_seams),
        cmocka_unit_test(feature_axes),
        cmocka_unit_test(figure_size_and_axes),
        cmocka_unit_test(resynth_keep_all_and_none),
        cmocka_unit_test(dataset_csv),
        cmocka_unit_test(split_stratified),
        cmocka_unit_test(auc_known),
        cmocka_unit_test(verdict_rules),
        cmocka_unit_test(verdict_rule_of_model),
        cmocka_unit_test(synth_sounds),
        cmocka_unit_test(synth_examples),
        cmocka_unit_test(loudest_crops),
        cmocka_unit_test(clip_verdict_windows),
        cmocka_unit_test(verdict_place_and_note),
        cmocka_unit_test(window_flags),
        cmocka_unit_test(saliency_decisive),
        cmocka_unit_test(clip_kept_pass),
        cmocka_unit_test(baselines),
        cmocka_unit_test(figure_range),
        cmocka_unit_test(sanity_checks),
        cmocka_unit_test(gradcam_1d_in_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
