/* Labelled sound files for `earsight train` and `earsight eval`: the labels CSV (the Bird
 * Audio Detection convention), the features of every file computed once, the augmented
 * training windows, and the file-level scores of a model (windows as apps/model.c makes
 * them, P(class) = the largest over a file's windows). */
#ifndef ES_APP_DATASET_H
#define ES_APP_DATASET_H
#include "audio/es_audio.h"
#include "nn/es_nn.h"
#include <stdint.h>

/* LABELS.csv: a header row with `path` (a file, relative to root) or `itemid` (a name
 * without extension: ROOT/ITEMID, .wav, .flac or .ogg), and `hasbird` (0/1: classes
 * "nobird", "bird") or `label` (any names: classes sorted by name). Other columns are
 * ignored. Every file must exist. */
typedef struct {
    int n;
    char **item;  /* as written in the CSV */
    char **path;  /* resolved */
    int *label;   /* class index */
    int n_classes;
    char **classes;
    int hasbird;  /* the classes came from `hasbird` */
    int is_id;    /* items are `itemid`s (else `path`s) */
} ds_list;

/* root NULL: the CSV's folder. 0, or -1 with es_error() "CSV:LINE: reason". */
int ds_read_csv(ds_list *d, const char *csv, const char *root);
/* Uses `classes` (a model's labels) instead of the CSV's own: `hasbird` maps 0/1 to the
 * first two, `label` names must be among them. */
int ds_read_csv_for(ds_list *d, const char *csv, const char *root, char **classes, int n);
void ds_list_free(ds_list *d);
/* The classes as a JSON array (malloc'd). */
char *ds_classes_json(const ds_list *d);

/* Features (bands × frames, log as configured, no standardisation) of every file, computed
 * once on `jobs` threads (files in parallel). feat[i] belongs to d->path[i]. */
int ds_features(const ds_list *d, const es_feature_config *c, es_array **feat);
void ds_features_free(es_array *feat, int n);

/* A small deterministic generator (splitmix64), one stream per use. */
typedef struct {
    uint64_t s;
} ds_rng;
uint64_t ds_next(ds_rng *r);
double ds_uniform(ds_rng *r); /* [0, 1) */
int ds_below(ds_rng *r, int n); /* 0 .. n-1 */

/* Stratified split by file: about `frac` of each class (at least one when the class has two
 * files or more) goes to validation. is_val[i] set to 1 for those. */
void ds_split(const ds_list *d, double frac, uint64_t seed, int *is_val);

typedef struct {
    double p_mix;          /* a clip of another class is mixed into a background file */
    double p_mix_bg;       /* a background clip is mixed into another background file, so
                            * that being a mixture tells nothing of the class */
    int background;        /* the class mixed into (-1: no mixing) */
    double snr_min, snr_max; /* dB of the clip's mean power over the background's */
    double gain_db;        /* random gain in ±gain_db (before standardisation) */
    int band_shift;        /* frequency shift by up to ±band_shift bands */
} ds_augment;

/* One training window (the model's input layout, 1 × H × W) of file `i`: its features, or
 * mixed into a random background file of `train` (indices, n_train), gained, standardised
 * as the model's config says, cropped in time to c->frames, shifted in frequency. */
int ds_example(const es_feature_config *c, const ds_augment *a, es_array *feat, int i,
               const ds_list *d, const int *train, int n_train, ds_rng *r, float *out);

/* A file's windows in the model's input layout, exactly as apps/model.c makes them from a
 * sound: standardised over the file, cut into c->frames, the last fitted. *nw windows of
 * H·W floats, malloc'd into *x. */
int ds_windows(const es_feature_config *c, const es_array *feat, float **x, int *nw);

/* P(class) of each listed file (probs: n_idx × n_classes): the graph's softmax output
 * over the file's windows, the largest per class for the positive class of a binary
 * model and the mean otherwise. Runs in TEST mode in batches. */
int ds_score(es_graph *g, int input, int output, const es_feature_config *c, es_array *feat,
             const int *idx, int n_idx, int n_classes, float *probs);

/* One-vs-rest ROC AUC averaged over classes (binary: of class 1); -1 when undefined. */
double ds_auc(const float *probs, const int *labels, int n, int n_classes);

#endif
