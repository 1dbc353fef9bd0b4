/* The model a verb works with: `-m MODEL`, or the shipped default when -m is omitted (this is
 * the one place that decides where that default lives), its metadata — the feature pipeline
 * (earsight.features) and the class labels (earsight.labels) — and the way an input file
 * (.npy array or sound) becomes the model's input tensor. */
#ifndef ES_APP_MODEL_H
#define ES_APP_MODEL_H
#include "nn/onnx.h"

typedef struct {
    char *path;    /* the file loaded */
    es_graph *g;
    es_meta *meta; /* never NULL after a successful load */
    int input;     /* the graph's (single) input tensor */
    int output;    /* its first output tensor */
    char **labels; /* from earsight.labels (NULL, 0 when absent) */
    int n_labels;
} app_model;

/* The default model's path ($EARSIGHT_MODEL, else assets/models/bird-detector.onnx in the
 * binary's source tree or the current folder), or NULL with es_error() set. */
const char *app_default_model(void);
/* Loads `path` (NULL: the default) with the input shaped as declared. 0, or -1 with
 * es_error() naming the file. */
int app_model_load(app_model *m, const char *path);
/* Loads the model for the input file `in` and reads that input into *x (batch dim included):
 *  .npy    the array is the input tensor, batch dim optional (*had_batch says which);
 *  sound   features through the model's earsight.features (DESIGN.md §4): layout, fit to
 *          `frames`, standardize; a sound longer than `frames` gives one batch row per window.
 * The model's input is shaped to fit x. */
int app_model_load_for(app_model *m, const char *path, const char *in, es_array *x,
                       int *had_batch);
/* The same, a sound cut into windows `hop` frames apart (0: `frames`, side by side; the
 * last window reaches the end, filled by the `fit` rule); *frames (may be NULL) gets the
 * sound's frame count (.npy: untouched). */
int app_model_load_windows(app_model *m, const char *path, const char *in, int hop, es_array *x,
                           int *had_batch, int *frames);
/* Only the input, read for the model at `path` as above (no batch dim added, the graph not
 * loaded): for a second input to a model already loaded. */
int app_input_read(const char *path, const char *in, int hop, es_array *x, int *frames);
void app_model_free(app_model *m);
/* Label i, or NULL when the model has no label for it. */
const char *app_model_label(const app_model *m, int i);
/* Whether a file is taken as a sound: anything not ending in .npy. */
int app_is_audio(const char *path);

#endif
