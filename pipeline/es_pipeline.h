/* earsight pipeline: what the verbs share, between the libraries (nn, audio, saliency, viz)
 * and the earsight binary.
 *
 *   es_model     an ONNX model with its metadata: the feature pipeline (earsight.features)
 *                and the class labels (earsight.labels); the default model's path.
 *   es_clip      a model and one input (.npy tensor, or a sound cut into the model's windows)
 *                with every window's scores: targets, saliency maps stitched back to the
 *                whole input, probabilities, the picture matrix.
 *   es_figure    the saliency figure both `saliency --png` and the viewer draw.
 *   es_sanity    the model-randomisation checks on a clip and their strip (`sanity`, the viewer).
 *   es_resynth   a saliency map back to sound ("what the network heard").
 *   es_dataset   a labels CSV, the features of every file once, splits, augmented windows,
 *                file scores, AUC (train, eval).
 *
 * Conventions: functions return 0 (or an index >= 0) on success and -1 with es_error() set
 * on failure; messages name the file they concern. Nothing here prints or exits. Structures
 * a function fills (es_model, es_clip, es_dataset) are freed with their *_free, which also
 * accepts a zeroed or already freed structure. Times are in frames (the model's hop) unless
 * said; a sound's map is (bands × frames), row-major, band 0 first. */
#ifndef ES_PIPELINE_H
#define ES_PIPELINE_H
#include "audio/es_audio.h"
#include "nn/es_nn.h"
#include "nn/onnx.h"
#include "saliency/es_saliency.h"
#include "viz/es_viz.h"
#include <stdint.h>

/* ---- the model ------------------------------------------------------------------------- */
typedef struct {
    char *path;    /* the file loaded (owned) */
    es_graph *g;
    es_meta *meta; /* never NULL after a successful load */
    int input;     /* the graph's (single) input tensor */
    int output;    /* the output predicted and explained: ONNX's first graph output, or the
                    * one es_model_opts.output named (es_graph_outputs gives it first) */
    char **labels; /* from earsight.labels (NULL, 0 when absent) */
    int n_labels;
} es_model;

/* The default model's path: $EARSIGHT_MODEL, else assets/models/bird-detector.onnx in the
 * source tree the running binary was built in, share/earsight/models/bird-detector.onnx of
 * the prefix it was installed in (PREFIX/bin/earsight), or in the current folder. NULL with
 * es_error() when none is there. The string is static (do not free). */
const char *es_model_default_path(void);
/* How a model is loaded (the CLI's --model-output and --relu-rule); NULL or {0}: the defaults. */
typedef struct {
    const char *output;   /* the graph output predicted and explained, by name (NULL: ONNX's
                           * first); a load fails when the model has no output of that name */
    es_relu_scope relus;  /* which Relus guided backprop and deconvnet change (nn/onnx.h):
                           * ES_RELUS_MODULES, Captum's (a PyTorch export's nn.ReLU modules, not
                           * its functional relus), or ES_RELUS_ALL */
} es_model_opts;
/* Loads `path` (NULL: the default) as o says (NULL: the defaults) with the input shaped as
 * the file declares it. 0, or -1 with es_error() naming the file. */
int es_model_load(es_model *m, const char *path, const es_model_opts *o);
/* Loads the model for the input file `in` and reads that input into *x (batch dim first,
 * owned by the caller: es_array_free):
 *  .npy    the array is the input tensor, batch dim optional (*had_batch: whether it had it);
 *  sound   the model's earsight.features (DESIGN.md §4): layout, fit to `frames`,
 *          standardize; a sound longer than `frames` gives one batch row per window.
 * The model's input is shaped for one row of x (batch 1): es_model_forward_rows runs them
 * all, in memory-bounded batches. */
int es_model_load_for(es_model *m, const char *path, const es_model_opts *o, const char *in,
                      es_array *x, int *had_batch);
/* The same, a sound cut into windows `hop` frames apart (0: `frames`, side by side; the
 * last window reaches the end, filled by the `fit` rule); *frames (may be NULL) gets the
 * sound's frame count (.npy: untouched). */
int es_model_load_windows(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          int hop, es_array *x, int *had_batch, int *frames);
/* The model's output for each of `rows` rows of x (each the input tensor's size at batch 1),
 * run in batches whose inference arena (nn's memory plan) stays within ES_MODEL_BATCH_BYTES,
 * so a recording of any length runs in bounded memory. *y (malloc'd) gets rows × *per
 * floats. */
#define ES_MODEL_BATCH_BYTES ((size_t)32 << 20) /* a few samples: every thread busy, RSS low */
int es_model_forward_rows(es_model *m, const float *x, int rows, float **y, size_t *per);
/* The same for tensor t of the graph (pinned for the passes): e.g. the scores before the
 * squashing (es_sal_score_tensor). */
int es_model_forward_rows_of(es_model *m, int t, const float *x, int rows, float **y, size_t *per);
/* Only the input, read for the model at `path` as above (no batch dim added, the graph not
 * loaded): for a second input to a model already loaded. */
int es_model_read_input(const char *path, const char *in, int hop, es_array *x, int *frames);
/* The same two, and for a sound *flags (malloc'd, the caller frees it; NULL for a .npy): the
 * es_window_flags of its windows side by side (F apart, whatever `hop`), from its features
 * before standardisation; *nflags (may be NULL) their number. */
int es_model_load_flagged(es_model *m, const char *path, const es_model_opts *o, const char *in,
                          int hop, es_array *x, int *had_batch, int *frames, unsigned char **flags,
                          int *nflags);
int es_model_read_flagged(const char *path, const char *in, int hop, es_array *x, int *frames,
                          unsigned char **flags, int *nflags);
void es_model_free(es_model *m);
/* Label i, or NULL when the model has no label for it. */
const char *es_model_label(const es_model *m, int i);
/* Whether a file is taken as a sound: any name not ending in .npy. */
int es_is_sound(const char *path);

/* ---- the axes of features ----------------------------------------------------------- */
enum { ES_AXES_TIME = 1, ES_AXES_FREQ = 2 };
/* The axes of a (rows × frames) matrix of features made with c, column 0 being frame `frame0`
 * of the sound. Each cell sits at the middle of what it measured:
 *   x  frame t at the centre of its window, ±hop/2, in seconds: t·hop with center (torch.stft
 *      pads n_fft/2), t·hop + n_fft/2 without, t·hop + win/2 for Kaldi (snip_edges);
 *   y  mel band i at its filter's peak, point i + 1 of rows + 2 evenly spaced in mel from f_min
 *      to f_max (Kaldi's mel is the HTK scale), ± half a band, in Hz; a linear spectrogram's
 *      bin k at k·sr/n_fft ± half a bin; MFCCs: the coefficient index ("MFCC").
 * `which` (ES_AXES_TIME | ES_AXES_FREQ) says which axes c describes; the others are indices
 * centred on whole numbers ("frame", "bin"), as they are when c does not resolve (then -1
 * with es_error(); else 0). */
int es_feature_axes(const es_feature_config *c, int rows, long frame0, int frames, int which,
                    es_axis *x, es_axis *y);
/* The axes as one line ("x LABEL SCALE LO HI; y …"), for a PNG's tEXt "axes" chunk: the
 * pictures of the same features say the same. snprintf's return. */
int es_axes_text(const es_axis *x, const es_axis *y, char *buf, size_t cap);

/* ---- a model and one input in windows ------------------------------------------------- */
/* How windows become one verdict ("one verdict" below). */
typedef enum { ES_AGGREGATE_MAX, ES_AGGREGATE_MEAN } es_aggregate;
typedef struct {
    es_model m;
    es_array x;       /* the input tensor, batch first (one row per window for a sound) */
    int had_batch;    /* a .npy: whether it had the batch dim */
    int audio;        /* the input is a sound */
    es_feature_config cfg; /* a sound: the model's feature settings */
    int frames;       /* a sound: its frame count; the map is (bands × frames) */
    int bands, F, hop, time_first; /* a sound: bands, frames per window, hop, frames_mels */
    int st, classes;  /* score tensor (before a final softmax/sigmoid), its row length */
    float *scores;    /* rows × classes (owned) */
    /* the windows a verdict is taken over (es_clip_verdict): a sound's side by side */
    int verdicts;     /* their number (a .npy: its rows) */
    int *vrow;        /* the row of x each one is (-1: the last, when the rows stop short of
                       * it: then it is vx), or NULL: then they are vx's rows */
    float *vx;        /* verdicts rows of the input (a hop that does not divide F), the last
                       * window (see vrow), or NULL */
    float *vscores;   /* verdicts × classes scores (owned) */
    unsigned char *vflags; /* a sound: each one's ES_WINDOW_* flags (owned), else NULL */
    int aggregate;    /* -1 (es_clip_load): the model's rule; else the es_aggregate a user
                       * chose (--aggregate), kept by es_clip_next */
    /* NULL, or told after every window a saliency map is computed for (es_clip_saliency*):
     * windows done and their number, for a progress display; a non-zero return stops the
     * work there, failing with "interrupted". Set by the caller after loading. */
    int (*each)(void *ctx, int done, int rows);
    void *each_ctx;
    /* Set by the caller before es_clip_next (es_clip_load clears it): score the rows with one
     * forward pass whose activations the single-pass explanations (es_sal_single_pass) of
     * es_clip_saliency_rows then reuse, when the rows fit one batch of ES_SAL_BATCH_BYTES:
     * their maps cost backward passes only. Without it the first such explanation makes that
     * pass and the next ones reuse it. The memory stays taken until the next clip. */
    int keep;
    uint64_t kept;    /* es_graph_forward_id of that pass over every row, 0 none */
    int kept_layer;   /* the Grad-CAM layer pinned for the clip's passes, -1 none */
    int unpin[2];     /* 1 + the tensors the clip pinned (score, layer), to unpin; 0 none */
} es_clip;

/* Loads model (as o says: es_model_load) and input; a sound's windows are `hop` frames apart
 * (0: half the model's frames, so every frame is seen twice). 0, or -1 with es_error(). */
int es_clip_load(es_clip *in, const char *model, const es_model_opts *o, const char *file, int hop);
/* The next input for the model already loaded: 0, 1 when its shape needs the model loaded
 * anew (es_clip_free + es_clip_load), -1 with es_error(). */
int es_clip_next(es_clip *in, const char *file, int hop);
void es_clip_free(es_clip *in);

/* The class a user names: an index or a label. The index, or -1 with es_error() (out of
 * range, or no class of that name). */
int es_clip_target(const es_clip *in, const char *name);
/* The class of the clip's verdict (es_clip_verdict under `rule`, NULL: the clip's): what an
 * explanation defaults to. The class, or -1 with es_error(). */
int es_clip_default_target(const es_clip *in, const es_aggregate *rule);
/* A layer by ONNX node or tensor name: its tensor, or -1 with es_error() naming the model. */
int es_clip_layer(const es_clip *in, const char *name);
/* The IG baseline (sets o->baseline, o->baseline_data and o->baseline_stride; *base, which
 * the caller frees and keeps alive while o is used, holds the arrays):
 *   NULL, "zero"  all zero;   "min"  the input's minimum;
 *   "silence"     the features of a silent sound through the model's own pipeline (its log
 *                 floor, then its standardisation): one window, the same for every row;
 *   "blur"        each row blurred by a Gaussian of ES_BLUR_SIGMA cells along both of its
 *                 last two dims (edges repeated): one baseline per row;
 *   FILE.npy      one input sample's size.
 * 0, or -1 with es_error(). */
#define ES_BLUR_SIGMA 5.0
int es_clip_baseline(const es_clip *in, const char *name, es_array *base, es_sal_opts *o);

/* The shape of the map for the whole input: the input's (a .npy, without the batch dim when
 * it had none) or (bands × frames) for a sound. Returns the rank. */
int es_clip_map_shape(const es_clip *in, int *dims);
/* Its number of floats. */
size_t es_clip_map_size(const es_clip *in);
/* A sound's rows in the model's layout (one per window, e.g. in->x.data or their maps) as one
 * (bands × frames) matrix; out holds es_clip_map_size floats. Where windows overlap they are
 * cross-faded: each row weighs by a triangle over its frames (peak 1 in the middle, 1/F at
 * its ends), normalised by the weights' sum at each frame, so the weights sum to one
 * everywhere and a row's edge enters with weight near 0 — no seam where a window begins or
 * ends (a plain average steps there). A frame covered by one row gets that row's value. */
int es_clip_stitch(const es_clip *in, const float *rows, float *out);
/* The map for the whole input (es_clip_map_size floats into map), windows stitched
 * (es_clip_stitch); info (may be NULL) gets the deciding window's row's (es_clip_deciding_row,
 * else the first row's), with delta the largest |delta| of all rows. */
int es_clip_saliency(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info);
/* The row of x that is the verdict's deciding window (es_clip_verdict), or -1 when it is not
 * one of them (a hop that does not divide the model's frames) or on error. */
int es_clip_deciding_row(const es_clip *in);
/* The same with every row's info (info: NULL or x.dims[0] entries). */
int es_clip_saliency_rows(es_clip *in, const es_sal_opts *o, float *map, es_sal_info *info);
/* The map of verdict window k alone (es_clip_verdict's windows: v.window for the deciding
 * one), placed at its frames of the whole input's map (es_clip_map_size floats into map, zero
 * outside it; a .npy: row k's part). info (may be NULL) gets its row's. 0, or -1 with es_error(). */
int es_clip_saliency_window(es_clip *in, const es_sal_opts *o, int k, float *map,
                            es_sal_info *info);
/* The probabilities of a score row (in->classes floats into p): the squashing the model ends
 * in, else softmax (sigmoid for one class). */
void es_clip_probabilities(const es_clip *in, const float *scores, float *p);
/* The matrix a picture shows of a map or input (a new rows × cols array in *out, the caller
 * frees it): a sound's (bands × frames) as is; a tensor's last two dims, channels summed,
 * frames_mels models turned to (mels × frames). */
int es_clip_picture(const es_clip *in, const float *v, int *rows, int *cols, float **out);
/* The axes of window k of the input (es_feature_axes of the model's features for a sound;
 * the tensor's rows × cols, edges on whole numbers, otherwise). */
void es_clip_axes(const es_clip *in, int k, es_axis *x, es_axis *y, int rows, int cols);

/* ---- layers (pipeline/layers.c) ---------------------------------------------------------- */
/* Layer `t`'s activation for window `window` of the clip (that window run through the graph at
 * batch 1, t pinned for the pass) as maps (channels × rows × cols) into *out (the caller frees
 * it), rows the frequency axis of a sound (a frames_mels model's maps turned) or the tensor's H
 * (1 for (N,C,L)). 0, or -1 with es_error() (a layer without spatial maps, a window out of
 * range, a failed pass). */
int es_clip_layer_maps(es_clip *in, int t, int window, es_array *out);
/* The weight tensor of a Conv, Gemm or MatMul node (its second input, when not an
 * activation), or -1: what the weights verb and the viewer's filter pane draw. */
int es_node_weights(const es_graph *g, int node);

/* ---- one verdict ----------------------------------------------------------------------- */
/* How a recording's windows become one answer (DESIGN.md "one verdict"): `max` for detectors
 * (a sound is a bird when any window is), `mean` for multi-class models. The model says which
 * in its earsight.aggregate metadata (ES_META_AGGREGATE); a flag may override it.
 *
 * The windows a verdict is taken over are a sound's windows side by side (frames [k·F, k·F+F)
 * for the model's F = `frames`, the last one reaching the end, filled by the `fit` rule): what
 * predict, eval and export run, whatever hop a saliency map is computed with. A clip whose
 * rows overlap (saliency's default hop F/2) decides on those of its rows that start at k·F
 * (the same numbers: the same windows of the same standardised features), or, for a hop that
 * does not divide F, on side-by-side windows run once more (es_clip_load). A .npy input's rows
 * are its windows. */
/* "max" / "mean" into *a: 0, or -1 with es_error(). */
int es_aggregate_parse(const char *name, es_aggregate *a);
const char *es_aggregate_name(es_aggregate a);
/* The model's rule: its earsight.aggregate, else max for a detector (one output, or two
 * classes) and mean for more classes. 0, or -1 with es_error() naming the model when the
 * metadata names no rule. */
int es_model_aggregate(const es_model *m, int classes, es_aggregate *a);
/* The model's output row y (classes floats) as probabilities into p: as they are when the
 * graph ends in a softmax or sigmoid, else their softmax (sigmoid for one class). */
void es_model_probabilities(const es_model *m, const float *y, int classes, float *p);

/* What a window of a sound holds that the model cannot judge (bit flags). */
enum {
    ES_WINDOW_SILENT = 1,   /* its loudest value is less than top_db / 2 (40 dB without
                             * top_db) above the log's own floor, 10·log10(amin) dB (ln(amin)
                             * for ln, amin without a log): digital silence comes out at the
                             * floor, white noise at -80 dBFS about 38 dB above it */
    ES_WINDOW_CONSTANT = 2, /* all its values equal (to 1e-3): silence clamped to top_db
                             * below the recording's peak, a DC offset, a dead channel */
};
/* The flags of frames [start, start + F) ∩ [0, T) of a sound's features (bands × T, row
 * major, after the log and before any standardisation, as es_dataset_features gives them). */
int es_window_flags(const es_feature_config *c, const float *feat, int bands, int T, int start,
                    int F);
/* "silent", "constant", "silent, constant" or NULL (no flag). */
const char *es_window_flags_text(int flags);

typedef struct {
    es_aggregate rule;
    int cls;         /* the class decided */
    float p;         /* the file's P(cls) */
    int window;      /* the window that decided: the file's P is this window's P(cls) (max),
                      * or the window with the largest P(cls) (mean) */
    int windows, classes;
    float *pc;       /* the file's P of each class under the rule (classes floats, owned) */
    float *pw;       /* every window's P of every class (windows × classes, owned) */
    /* a sound (es_verdict_place; else F = 0, frame0 = frame1 = -1, t0 = t1 = 0, flags NULL) */
    int F, frames;   /* frames per window (windows F apart), the sound's frames */
    int frame0, frame1;  /* the deciding window's frames [frame0, frame1), within the sound */
    double t0, t1;   /* the same in seconds: the centre of its first frame and of the frame
                      * after its last (es_feature_axes), so windows follow without gaps */
    double s0, s_frame; /* frame f's centre is at s0 + f·s_frame seconds */
    unsigned char *flags; /* each window's ES_WINDOW_* flags (windows bytes, owned) or NULL */
    int flagged;     /* the number of windows flagged */
} es_verdict;

/* The verdict of `windows` rows of probabilities (windows × classes, each row the model's
 * P(class) of one window).
 *   max:  P(k) is the largest P_w(k) over windows; with two classes the file's P(1) is the
 *         largest P_w(1) and P(0) = 1 - P(1) (class 1 is the detector's positive class), so
 *         the deciding window is the same whichever class wins;
 *   mean: P(k) is the mean of P_w(k).
 * The class is the argmax of P (the first on ties). 0, or -1 with es_error() (out of memory,
 * no windows). Free with es_verdict_free (which also takes a zeroed verdict). */
int es_verdict_of(es_verdict *v, const float *p, int windows, int classes, es_aggregate rule);
/* Places a verdict's windows in a sound of `frames` frames cut by c side by side (F =
 * c->frames, or the whole sound), and copies `flags` (NULL: none known; else v->windows
 * bytes of es_window_flags). 0, or -1 with es_error(). */
int es_verdict_place(es_verdict *v, const es_feature_config *c, int frames,
                     const unsigned char *flags);
/* Window w's frames [*f0, *f1) and seconds [*t0, *t1) (a placed verdict; else 0s). */
void es_verdict_window(const es_verdict *v, int w, int *f0, int *f1, double *t0, double *t1);
/* The sentence that says which windows the model cannot judge, e.g. "2 of 5 windows are
 * silent or constant (0, 3), the deciding one among them: the model cannot judge them", into
 * buf; snprintf's return, 0 (empty) when none is flagged. */
int es_verdict_note(const es_verdict *v, char *buf, size_t cap);
void es_verdict_free(es_verdict *v);
/* The verdict of a clip: its side-by-side windows' probabilities (see above) under `rule`
 * (NULL: the clip's in->aggregate, else the model's, es_model_aggregate), placed in the sound with its windows' flags.
 * 0, or -1 with es_error(). */
int es_clip_verdict(const es_clip *in, const es_aggregate *rule, es_verdict *v);
/* The same for files of a dataset (es_dataset_score's windows and batches; the graph's output
 * is a softmax): v (n_idx verdicts, each freed by the caller with es_verdict_free) under
 * `rule` (NULL: max for two classes, mean otherwise), placed, with flags from feat. */
int es_dataset_verdicts(es_graph *g, int input, int output, const es_feature_config *c,
                        es_array *feat, const int *idx, int n_idx, int n_classes,
                        const es_aggregate *rule, es_verdict *v);

/* ---- batch export: inputs, names, the summary table, the gallery page ------------------ */
/* A CSV table of strings: named columns, rows of cells (each owned, never NULL). Free with
 * es_table_free (which also takes a zeroed table). Functions return 0 (or a row index) or
 * -1 with es_error(). */
typedef struct {
    int cols, n, cap;
    char **col;  /* column names */
    char **cell; /* n × cols, row-major */
    int sort_col;
} es_table;
int es_table_init(es_table *t, const char *const *cols, int n);
/* The CSV at `path` (RFC 4180, a UTF-8 BOM skipped): the first record names the columns;
 * missing cells are "", cells past the header's columns dropped. On failure *t is empty. */
int es_table_read(es_table *t, const char *path);
/* Writes the table atomically (fields quoted as RFC 4180 needs). */
int es_table_write(const es_table *t, const char *path);
void es_table_free(es_table *t);
/* A column's index, or -1. */
int es_table_find(const es_table *t, const char *name);
/* Row i's cell of a column (NULL: no such column or row). */
const char *es_table_get(const es_table *t, int i, const char *name);
int es_table_set(es_table *t, int i, const char *name, const char *value);
/* A new row of empty cells: its index. */
int es_table_add(es_table *t);
/* A new row holding the cells of `from`'s row i whose columns t has: its index. */
int es_table_add_row(es_table *t, const es_table *from, int i);
/* Rows ordered by a column (byte order; equal cells keep their order); order (NULL, or n
 * ints) gets each new row's former index. */
int es_table_sort(es_table *t, const char *name, int *order);

/* A stable 64-bit hash of a path's bytes (FNV-1a): the shard of an input is
 * es_path_hash(path) % N, so it never changes when other inputs come and go. */
uint64_t es_path_hash(const char *path);
/* The file-name stem of an input's outputs: its base name without the extension, bytes other
 * than letters, digits, '-', '_', '.' and whole UTF-8 characters made '_', a leading '.' too,
 * cut to 96 bytes on a character boundary, then '-' and the 8 hex digits of the path's hash:
 * never a folder, never hidden, never two inputs' names (but for a hash collision), the same
 * whatever else is exported. buf holds at least ES_STEM_MAX bytes. */
#define ES_STEM_MAX 112
void es_export_stem(const char *path, char *buf);
/* Whether a file's name ends in an extension of a format libsndfile reads (case ignored;
 * headerless raw excluded): the sounds a folder given as input contributes. */
int es_sound_name(const char *path);
/* A sound file's duration in seconds from its header (libsndfile), or -1 with es_error(). */
double es_sound_duration(const char *path);

/* The inputs of a batch: paths in order, each once, with an optional label. */
typedef struct {
    int n, cap;
    char **path;
    char **label; /* NULL entries: no label */
    int *slot, n_slot; /* the paths' set (index + 1 by hash), for finding repeats */
} es_inputs;
/* A file as it is, or a folder: every sound under it (es_sound_name), recursively, in byte
 * order of the names, hidden names and links to folders skipped. A path already listed is
 * not added again. 0, or -1 with es_error() naming the path (missing, unreadable). */
int es_inputs_add(es_inputs *l, const char *arg);
/* A list file: one path a line (blank lines and lines starting with '#' skipped), or a CSV
 * whose header has a `path` or `itemid` column (as es_dataset_read) and optionally `label`
 * (names) or `hasbird` (0/1: classes[0] or classes[1] when given). Relative paths are taken
 * from the list's folder. */
int es_inputs_list(es_inputs *l, const char *list, char **classes, int n_classes);
/* Keeps the inputs of shard k of n (1 <= k <= n): those whose es_path_hash % n is k - 1, in
 * order. Returns how many. */
int es_inputs_shard(es_inputs *l, int k, int n);
void es_inputs_free(es_inputs *l);

/* The time span of the most salient region of a map (es_clip_map_size floats) of the clip:
 * the column profile Σ|map| over frequency, its peak, and the run of columns around it at or
 * above half the peak, as [t[0], t[1]) in seconds for a sound (from 0: the first frame's
 * half before the start left out), columns for a tensor. 0, or
 * -1 with es_error() (out of memory); an all-zero map gives the whole input. */
int es_map_salient_span(const es_clip *in, const float *map, double t[2]);

/* The gallery page `html`: one self-contained file (inline CSS and script, no network)
 * showing each row of a summary table (columns of `earsight export`: path, predicted, p,
 * label, status, span_METHOD …) as a card: the thumbnails of DIR/clips/STEM.spec.png and
 * DIR/clips/STEM.METHOD.png linking the full pictures, P, label, status and an <audio> of
 * the clip; sortable by P, filterable by label, by disagreement with the label and by
 * status. dirs[i] (NULL, or NULL entries: the page's own folder) is row i's export folder
 * (pictures); links are relative to the page's folder, paths relative to the current one. */
int es_gallery_html(const char *html, const es_table *t, const char *const *dirs,
                    const char *title);

/* ---- pictures --------------------------------------------------------------------------- */
/* Draws `draw(canvas, rect, style, plot)` over a white w × h canvas and writes it to `out`
 * atomically (PNG compression `level`, -1 default), with tEXt pairs `text` (key, value, …,
 * NULL). 0, or -1 with es_error(). Releases fontconfig's caches: one picture per run. */
typedef int (*es_picture_draw_fn)(es_canvas *, es_rect, const es_style *, const void *);
int es_picture_write(int w, int h, int level, const char *out, const char *const *text,
                     es_picture_draw_fn draw, const void *plot);

/* The saliency figure: an input and its attribution map composed into one canvas —
 * spectrogram with time / Hz axes (bins for a tensor), colorbars, a title naming the file,
 * method, class, the file's P(class) and the window that decided (es_clip_verdict), the
 * class's score there, the saliency overlay, the P(class) strip of the verdict's windows of a
 * sound in several windows, and red caption lines when there is something to distrust: IG's
 * baseline score against the input's, windows the model cannot judge (es_verdict_note). */
typedef struct {
    int w, h;                /* canvas size in pixels */
    const char *mode, *sign; /* overlay names (es_overlay_parse); NULL: blended, absolute */
    const char *cmap;        /* overlay colour map; NULL: Captum's for the sign */
    const char *title;       /* NULL: "FILE — METHOD, LABEL P p: window W of N (T0–T1 s,
                              * RULE), score S" — the verdict's P and deciding window */
    float outlier, alpha;    /* Captum's outlier_perc and alpha_overlay (2, 0.5) */
    int quad;                /* 1: the four panels (input, |saliency|, positive, negative) */
    int c0, c1;              /* time columns shown, [c0, c1); c1 <= 0: all. A part keeps the
                              * whole input's colour range so scrolling does not flicker */
    es_font *font;           /* NULL: opened and closed for this call */
    int r0, r1;              /* rows shown (frequency, row 0 the lowest), [r0, r1); r1 <= 0: all */
    es_rect *area;           /* NULL, or gets where the image is drawn (es_spec_plot.area) */
    const float *input_picture; /* NULL, or es_clip_picture of the (stitched) input and of */
    const float *map_picture;   /* the map, kept by a caller that draws many parts of them */
    int decisive;            /* the map is of the deciding window alone (the caption says so) */
    float input_lo, input_hi; /* with input_picture: its colour range (es_figure_range) when
                               * lo < hi, else found again for every part drawn */
} es_figure_opts;
#define ES_FIGURE_OPTS_DEFAULTS {1000, 450, NULL, NULL, NULL, NULL, 2.0f, 0.5f, 0, 0, 0, NULL, 0}

/* Draws the figure for `map` (es_clip_map_size floats, from es_clip_saliency with `method`;
 * info from the same call: its target and, for IG, its scores) into a new canvas *cv (the
 * caller frees it). `file` names the input in the title. A NULL map draws the input alone
 * (info->target: the class of the P(class) strip). 0, or -1 with es_error(). */
int es_figure_render(const es_figure_opts *o, const es_clip *in, const char *file,
                     es_sal_method method, const float *map, const es_sal_info *info,
                     es_canvas *cv);
/* The colour range of a picture of n values: its finite minimum and maximum (lo > hi: none). */
void es_figure_range(const float *picture, size_t n, float *lo, float *hi);
/* The figure's time and frequency axes (what es_figure_render draws; the shown part). */
void es_figure_axes(const es_figure_opts *o, const es_clip *in, es_axis *x, es_axis *y);
/* The number of time columns the figure has for this input (a sound's frames, a tensor's
 * last dim, or its mels × frames turned). */
int es_figure_columns(const es_clip *in);

/* ---- sanity checks ---------------------------------------------------------------------- */
/* Adebayo et al.'s model-parameter randomisation on a clip: the layers with weights
 * (es_sanity_layers, from the top) are re-drawn one after another (cascading: each step keeps
 * the layers above random) and one at a time (independent), and each step's map (every
 * window, stitched: es_clip_saliency) is compared with the original's. */
typedef struct {
    int layers;                 /* randomise only the top N layers; 0: all */
    uint64_t seed;              /* layer k draws es_sanity_randomize(seed + 1000003·k) */
    int cascading, independent; /* the modes run (cascading first) */
    /* NULL, or told after each map (done of total): nonzero stops the check */
    int (*each)(void *ctx, int done, int total);
    void *ctx;
} es_sanity_opts;

typedef struct {
    const char *mode;          /* "cascading" or "independent" */
    const char *layer;         /* the node randomised at this step (the graph's name) */
    int step;                  /* 1 …: the layers randomised (cascading), the layer (independent) */
    double rho, rho_abs, ssim; /* Spearman of the maps and of |maps|; SSIM of |maps| (NaN: none) */
} es_sanity_row;

typedef struct {
    int n;               /* the layers randomised */
    float **maps;        /* n + 1 slots of es_clip_map_size floats: the original's map, then
                          * each cascading step's (NULL without the cascading mode) */
    es_sanity_row *rows; /* n_rows: the cascading steps, then the independent ones */
    int n_rows;
    es_sal_info info;    /* the original map's */
} es_sanity;

/* Runs the modes o asks for, the maps by `so` (its method and target): 0, or -1 with
 * es_error() ("the model has no layers with weights to randomize", a map's error, "stopped
 * after K of N maps" when o->each said stop). The model's weights are as they were when it
 * returns, whatever happened. *s is freed with es_sanity_free (after a failure it is empty). */
int es_clip_sanity(es_clip *in, const es_sal_opts *so, const es_sanity_opts *o, es_sanity *s);
void es_sanity_free(es_sanity *s);
/* The sanity strip (`sanity --png`, the viewer's pane): the original map and up to 9 evenly
 * spaced cascading steps (the last included), each tile captioned with its layer, |ρ| and
 * SSIM, into a new canvas *cv of w × h (<= 0: 180 pixels a tile, the map's aspect). title NULL:
 * "METHOD, class K: cascading randomization from the top"; cmap NULL: the maps' default; font
 * NULL: opened for this call. 0, or -1 with es_error() (*cv then empty). */
int es_sanity_strip(const es_sanity *s, const es_clip *in, es_sal_method method, int w, int h,
                    const char *cmap, const char *title, es_font *font, es_canvas *cv);

/* ---- resynthesis ------------------------------------------------------------------------ */
/* "What the network heard": x (n samples at `rate` Hz) through the STFT bins a (mels × mf)
 * map keeps (es_sonify_mask: the top `keep` fraction, or with keep < 0 those >= threshold ×
 * max; invert swaps), with the sound's own phase, at its own rate (the model's n_fft and hop
 * in samples, the filter bank built for `rate`). y (caller's, n floats) gets the sound,
 * *kept (may be NULL) the fraction of bins kept. `what` names the sound in messages. */
int es_resynth(const es_feature_config *c, const float *map, int mels, int mf, const float *x,
               long n, int rate, float keep, float threshold, int invert, float *y,
               double *kept, const char *what);
/* Whether the model's features can be resynthesised (log-mel: not MFCC, a linear spectrogram
 * or Kaldi fbank). 0, or -1 with es_error() naming the model and its features. */
int es_model_resynth_fits(const es_model *m);

/* ---- labelled sound files (train, eval) ------------------------------------------------ */
/* LABELS.csv (RFC 4180: quoted fields, CRLF, a UTF-8 BOM): a header row with `path` (a file,
 * relative to root) or `itemid` (a name without extension: ROOT/ITEMID, .wav, .flac or .ogg),
 * and `hasbird` (0/1: classes "nobird", "bird") or `label` (any names: classes sorted by name).
 * Other columns are ignored. Rows naming one file are merged when their labels agree (counted
 * in `merged`) and refused when they do not. A file that is missing is kept: reading its
 * features fails for it alone (es_dataset_features_each). All strings are owned
 * (es_dataset_free). */
typedef struct {
    int n;
    char **item;  /* as written in the CSV */
    char **path;  /* resolved */
    int *label;   /* class index */
    int n_classes;
    char **classes;
    int hasbird;  /* the classes came from `hasbird` */
    int is_id;    /* items are `itemid`s (else `path`s) */
    int merged;   /* rows left out as repeats of an earlier row */
} es_dataset;

/* root NULL: the CSV's folder. 0, or -1 with es_error() "CSV:LINE: reason". */
int es_dataset_read(es_dataset *d, const char *csv, const char *root);
/* Uses `classes` (a model's labels) instead of the CSV's own: `hasbird` maps 0/1 to the
 * first two, `label` names must be among them. */
int es_dataset_read_for(es_dataset *d, const char *csv, const char *root, char **classes, int n);
void es_dataset_free(es_dataset *d);
/* The classes as a JSON array (malloc'd). */
char *es_dataset_classes_json(const es_dataset *d);

/* Features (bands × frames, log as configured, no standardisation) of every file, computed
 * once, files in parallel on OpenMP's threads. (*feat)[i] belongs to d->path[i]; free with
 * es_dataset_features_free(*feat, d->n). */
int es_dataset_features(const es_dataset *d, const es_feature_config *c, es_array **feat);
void es_dataset_features_free(es_array *feat, int n);
/* The same, going on past files that fail: (*errors)[i] is file i's one-line message
 * (malloc'd) or NULL, (*feat)[i] empty for it. The number of files that failed, or -1 (a bad
 * configuration, out of memory: nothing allocated). */
int es_dataset_features_each(const es_dataset *d, const es_feature_config *c, es_array **feat,
                             char ***errors);
/* The same, telling `each` (when not NULL) of every file as it is done: its index and its
 * message (NULL: it went well), one call at a time, from whichever thread read it. When
 * `each` returns non-zero (a --strict batch, an interrupted run) no further file is started;
 * the files not started have neither features nor message, and *done (when not NULL) counts
 * the files read, good or bad. Returns as es_dataset_features_each. */
typedef int (*es_dataset_each_fn)(void *ctx, int i, const char *error);
int es_dataset_features_watch(const es_dataset *d, const es_feature_config *c, es_array **feat,
                              char ***errors, es_dataset_each_fn each, void *ctx, int *done);
/* Leaves out the rows whose file failed (errors[i] set), in order; frees errors. */
void es_dataset_drop_failed(es_dataset *d, es_array *feat, char **errors);

/* Random draws (splits, augmentation) come from base's es_rng (splitmix64), one stream per use. */

/* Stratified split by file: about `frac` of each class (at least one when the class has two
 * files or more, never all of them) goes to validation. is_val (d->n ints) set to 1 for
 * those. */
void es_dataset_split(const es_dataset *d, double frac, uint64_t seed, int *is_val);

typedef struct {
    double p_mix;          /* a clip of another class is mixed into a background file */
    double p_mix_bg;       /* a background clip is mixed into another background file, so
                            * that being a mixture tells nothing of the class */
    int background;        /* the class mixed into (-1: no mixing) */
    double snr_min, snr_max; /* dB of the clip's mean power over the background's */
    double gain_db;        /* random gain in ±gain_db (before standardisation) */
    int band_shift;        /* frequency shift by up to ±band_shift bands */
    /* Sounds that hold no bird, made as signals and taken through the model's own features
     * (`synth`, the config's, standardize none; NULL: none of this). */
    const es_features *synth;
    double p_synth;        /* a background-class draw becomes a synthetic sound (silence,
                            * noise, hum, clicks), and a mixing background a synthetic noise */
    double synth_db[2];    /* their level range, dBFS (RMS re 1.0; clicks: peak) */
    double p_silence;      /* a synthetic background window is digital silence (0: one
                            * kind of ES_SYNTH_KINDS, as likely as any other) */
    double p_quiet;        /* a clip is gained down, onto a noise floor */
    double quiet_db;       /* by up to quiet_db dB (kept 6 dB over the floor) */
    double floor_db[2];    /* the floor's level range, dBFS */
    int crop_tries;        /* a window of a class other than the background is the loudest of
                            * this many random crops (<= 1: any crop), mixed or not, so that
                            * the silence around a call (or a background it is mixed into) is
                            * not taught as that class */
} es_augment;

/* Sounds a bird detector must call "nobird". */
typedef enum {
    ES_SYNTH_SILENCE, ES_SYNTH_WHITE, ES_SYNTH_PINK, ES_SYNTH_BROWN, ES_SYNTH_HUM, ES_SYNTH_CLICKS,
    ES_SYNTH_KINDS
} es_synth_kind;
const char *es_synth_name(es_synth_kind kind); /* "silence", "white" …; NULL out of range */
/* n samples at sample_rate into x: digital silence (zeros); Gaussian white, pink (−3 dB/oct)
 * or brown (−6 dB/oct) noise; 50 or 60 Hz hum with random harmonics; or 1–20 clicks a second.
 * Scaled to level_db dBFS (RMS re 1.0; clicks: their peak), clipped to ±1. Every random draw
 * comes from r. */
void es_synth_sound(es_synth_kind kind, double level_db, int sample_rate, es_rng *r, float *x,
                    long n);
/* The features of such a sound of `frames` frames or more, through f (the model's features
 * with standardize none, as es_dataset_features keeps a file's): bands × frames into out. */
int es_synth_features(const es_features *f, es_synth_kind kind, double level_db, int frames,
                      es_rng *r, es_array *out);

/* One training window (the model's input layout, 1 × H × W floats into out) of file `i`: its
 * features, or mixed into a random background file of `train` (indices, n_train), gained,
 * standardised as the model's config says, cropped in time to c->frames, shifted in
 * frequency. */
int es_dataset_example(const es_feature_config *c, const es_augment *a, es_array *feat, int i,
                       const es_dataset *d, const int *train, int n_train, es_rng *r,
                       float *out);
/* A file's windows in the model's input layout, exactly as es_model_load_for makes them from
 * a sound: standardised over the file, cut into c->frames, the last fitted. *nw windows of
 * H·W floats, malloc'd into *x. */
int es_dataset_windows(const es_feature_config *c, const es_array *feat, float **x, int *nw);
/* P(class) of each listed file (probs: n_idx × n_classes): the verdict (es_dataset_verdicts,
 * max for two classes, mean otherwise) of the graph's softmax output over the file's windows.
 * Runs in TEST mode in batches. */
int es_dataset_score(es_graph *g, int input, int output, const es_feature_config *c,
                     es_array *feat, const int *idx, int n_idx, int n_classes, float *probs);
/* One-vs-rest ROC AUC averaged over classes (binary: of class 1); -1 when undefined. */
double es_dataset_auc(const float *probs, const int *labels, int n, int n_classes);

#endif
