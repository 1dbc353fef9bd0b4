/* Progress of long work on stderr (DESIGN.md §8): a bar with count, rate and ETA on a
 * terminal, a plain line every few seconds otherwise, nothing with -q; and the batch contract
 * of the verbs that read many files (§8: a bad file is reported and the rest go on; exit 1 at
 * the end; --strict stops at the first; SIGINT stops after the current file, exit 130).
 * $EARSIGHT_PROGRESS_SECONDS sets the interval of the plain lines (default 5; 0: every item),
 * so that tests can see them. */
#ifndef ES_PROGRESS_H
#define ES_PROGRESS_H
#include "pipeline/es_pipeline.h"

typedef struct {
    const char *verb, *what; /* "eval", "files": static strings */
    long n, done;
    int on, tty, drawn;
    double t0, last, every; /* seconds (monotonic clock) */
} progress;

/* n items of `what`; quiet: nothing is ever printed. */
void progress_start(progress *p, const char *verb, const char *what, long n, int quiet);
/* `done` items finished; prints when due. */
void progress_set(progress *p, long done);
/* Erases the bar (a terminal) so that a message can be printed on stderr. */
void progress_clear(progress *p);
/* Erases the bar for good. */
void progress_end(progress *p);

/* The windows of one long input: p (started over the clip's windows) advances as each
 * window's map is done, and SIGINT stops the work after the current window (the clip's
 * es_clip_saliency* then fail with "interrupted"). progress_end(p) and in->each = NULL after. */
void progress_watch(progress *p, es_clip *in);
/* A failed computation: 130 after SIGINT (the message printed), else cli_lib_fail's 1. */
int progress_fail(void);

/* The features of every file of d, the batch way: progress over the files, one line
 * "earsight: FILE: reason" per file that failed (in the CSV's order), the failed rows left
 * out of d and *feat (es_dataset_drop_failed), a note on merged duplicate rows unless quiet.
 * *total is the number of files before, *failed those left out. Returns 0 to go on, or the
 * exit status to stop with: 1 (strict and a file failed, or a bad configuration), 130
 * (interrupted; "interrupted after N of M files" printed). */
int batch_features(es_dataset *d, const char *csv, const es_feature_config *c, es_array **feat,
                   const char *verb, int strict, int quiet, int *total, int *failed);
/* The end of a batch: "earsight: N of M files failed" and 1 when some failed, else 0. */
int batch_end(int failed, int total);
/* SIGINT seen: "earsight: interrupted after N of M files" and 130, else 0. */
int batch_interrupted(int done, int total);

#endif
