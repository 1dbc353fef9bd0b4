/* One option table per verb (in the spirit of git's parse-options): each flag is one row that
 * says its names, its type and range, where the value goes, and its help. One parser over
 * getopt_long converts and checks every value, prints the one-line error and the usage text
 * from the same rows. A verb declares
 *
 *     const char *model = NULL; int steps = 50;
 *     const opt rows[] = {OPT_MODEL(&model), OPT_INT(0, "steps", &steps, 1, 1000, "N", "steps (50)"),
 *                         OPT_JOBS, OPT_END};
 *     static const opt_cmd cmd = {"verb", "usage: earsight verb [options] FILE", "What it does.\n"};
 *     opt_parse(&cmd, rows, argc, argv);
 *
 * Every verb reads `--opt=value`, `--opt value`, bundled short flags (`-qj2`), `--` and
 * `-h/--help` the same way. Groups of rows several verbs share are macros: the common flags
 * below (OPT_MODEL, OPT_OUTPUT, OPT_INPUT, OPT_JOBS, OPT_QUIET, OPT_JSON), OPT_SALIENCY
 * (apps/saliency.h), OPT_PLOT (apps/plotting.h), and OPT_FEATURES, whose rows and help come
 * from audio's own table (es_config_flag_at). */
#ifndef ES_APP_OPT_H
#define ES_APP_OPT_H
#include "pipeline/es_pipeline.h" /* es_model_opts */
#include <stddef.h>
#include <stdint.h>

typedef enum {
    OPT_T_END,
    OPT_T_HEADING,  /* no flag: a line of the help text ("method options:") */
    OPT_T_SWITCH,   /* int: set to `ival` */
    OPT_T_INT,      /* int in [lo, hi]: a whole number ("1.5", "x", overflow refused) */
    OPT_T_U64,      /* uint64_t in [lo, hi] */
    OPT_T_FLOAT,    /* float in [lo, hi]; nan/inf refused unless OPT_NONFINITE */
    OPT_T_DOUBLE,   /* double, the same */
    OPT_T_STRING,   /* const char *: the argument itself (the operand row: one operand) */
    OPT_T_APPEND,   /* const char *[ival]: one more each time; *count (aux) counts them */
    OPT_T_ENUM,     /* int: the index of the value in aux, a NULL-terminated list of names */
    OPT_T_SIZE,     /* "AxB" into int *dest (A) and int *aux (B), each in [lo, hi]: WxH, HxW */
    OPT_T_CALL,     /* fn(row, value, why, cap): any other form (LO:HI, …) */
    OPT_T_FEATURES, /* es_feature_config: every flag of audio's table (es_config_flag_at) */
} opt_type;

enum {
    OPT_NONFINITE = 1, /* nan and inf are values */
    OPT_OPEN_LO = 2,   /* the range excludes lo */
    OPT_OPEN_HI = 4,   /* the range excludes hi */
    OPT_EARLY = 8,     /* applied before the other flags whatever its place (--config) */
    /* Files, checked by the parser once every flag is read, before any work: an output must
     * be absent or a regular file in an existing folder (never a link, device, pipe or
     * folder: es_output_check), and no output may be an input of the same run or another
     * output. Operand rows are inputs without the flag. */
    OPT_IN = 16,      /* names a file the run reads (STRING or APPEND) */
    OPT_OUT = 32,     /* names a file the run writes (STRING) */
    OPT_OUT_DIR = 64, /* with OPT_OUT: an existing folder is accepted too (several inputs) */
    OPT_DEFAULT_MODEL = 128, /* with OPT_IN: when not given, the run reads the shipped model
                              * (es_model_default_path), an input all the same */
};

typedef struct opt opt;
/* Converts `value` into row->dest: 0, or -1 with the whole message in why ("--snr needs LO:HI
 * in dB"; the parser adds no flag name, as the reason may name a file instead). */
typedef int (*opt_fn)(const opt *row, const char *value, char *why, size_t cap);

struct opt {
    opt_type type;
    int key;              /* the short flag ('m'), or 0 */
    const char *name;     /* the long flag without "--", or NULL */
    void *dest;
    const char *metavar;  /* the value in the help ("FILE"); NULL for a switch; an operand
                           * row's: what the operands are, for messages ("input") */
    const char *help;     /* '\n' starts an indented continuation line; NULL: not listed */
    double lo, hi;
    const void *aux;      /* ENUM: the names; APPEND: int *count; SIZE: int *B */
    int ival;             /* SWITCH: the value stored; APPEND: the capacity */
    unsigned flags;
    opt_fn fn;            /* CALL */
};

/* The text around a verb's rows in its help: "usage: …" line(s), then what it does. */
typedef struct {
    const char *verb, *synopsis, *about;
} opt_cmd;

#define OPT_END {OPT_T_END}
#define OPT_HEADING(text) {OPT_T_HEADING, .help = text}
#define OPT_SWITCH(s, l, d, h) {OPT_T_SWITCH, s, l, d, NULL, h, .ival = 1}
#define OPT_SET(s, l, d, v, h) {OPT_T_SWITCH, s, l, d, NULL, h, .ival = v}
#define OPT_INT(s, l, d, lo_, hi_, mv, h) {OPT_T_INT, s, l, d, mv, h, lo_, hi_}
#define OPT_U64(s, l, d, lo_, hi_, mv, h) {OPT_T_U64, s, l, d, mv, h, lo_, hi_}
#define OPT_FLOAT(s, l, d, lo_, hi_, mv, h) {OPT_T_FLOAT, s, l, d, mv, h, lo_, hi_}
#define OPT_DOUBLE(s, l, d, lo_, hi_, mv, h) {OPT_T_DOUBLE, s, l, d, mv, h, lo_, hi_}
#define OPT_STRING(s, l, d, mv, h) {OPT_T_STRING, s, l, d, mv, h}
/* A file read or written: OPT_STRING with OPT_IN or OPT_OUT (f: more flags, or 0). */
#define OPT_INFILE(s, l, d, mv, h) {OPT_T_STRING, s, l, d, mv, h, .flags = OPT_IN}
#define OPT_OUTFILE(s, l, d, mv, h, f) {OPT_T_STRING, s, l, d, mv, h, .flags = OPT_OUT | (f)}
/* The one operand, into the const char * d (which a flag such as --input may also set, the
 * later one winning); a second operand after it is refused as "one WHAT only". */
#define OPT_OPERAND(d, what) {OPT_T_STRING, 0, NULL, d, what, .flags = OPT_IN}
/* A list, one more each time; a row with neither short nor long name takes the operands, in
 * their place among the flag's values (saliency: --input a b --input c), its metavar naming
 * them in messages ("at most 256 inputs"). */
#define OPT_APPEND(s, l, arr, count, mv, h)                                                     \
    {OPT_T_APPEND, s, l, arr, mv, h, .aux = count, .ival = (int)(sizeof(arr) / sizeof *(arr))}
/* The same for a list of files read. */
#define OPT_INFILES(s, l, arr, count, mv, h)                                                    \
    {OPT_T_APPEND, s, l, arr, mv, h, .aux = count, .ival = (int)(sizeof(arr) / sizeof *(arr)),    \
     .flags = OPT_IN}
#define OPT_ENUM(s, l, d, names, mv, h) {OPT_T_ENUM, s, l, d, mv, h, .aux = names}
#define OPT_SIZE(s, l, a, b, lo_, hi_, mv, h) {OPT_T_SIZE, s, l, a, mv, h, lo_, hi_, .aux = b}
#define OPT_CALL(s, l, d, f, mv, h) {OPT_T_CALL, s, l, d, mv, h, .fn = f}
#define OPT_FEATURES(cfg) {OPT_T_FEATURES, .dest = cfg}

/* ---- the common groups (DESIGN.md §3) ---- */
#define OPT_MODEL(d) OPT_MODEL_AS(d, "FILE", "ONNX model (default: the shipped bird detector)")
/* Two rows: the model, and which of its outputs the verb predicts and explains (into
 * opt_model.output). */
#define OPT_MODEL_AS(d, mv, h)                                                                  \
    {OPT_T_STRING, 'm', "model", d, mv, h, .flags = OPT_IN | OPT_DEFAULT_MODEL},               \
    OPT_STRING(0, "model-output", &opt_model.output, "NAME",                                    \
               "the model's output to predict and explain (default: its first ONNX\n"          \
               "graph output; `earsight info` lists them)")
/* How the verb loads models (es_model_opts): --model-output and --relu-rule, reset by
 * opt_parse; the verbs hand &opt_model to every model load. */
extern es_model_opts opt_model;
#define OPT_OUTPUT(d, h) OPT_OUTFILE('o', "output", d, "FILE", h, 0)
#define OPT_INPUT(d, h) OPT_INFILE('i', "input", d, "FILE", h)
#define OPT_QUIET(d) OPT_SWITCH('q', "quiet", d, "print nothing on success")
#define OPT_JSON(d, h) OPT_SWITCH(0, "json", d, h)
/* --png-level into an int d (-1 when not given: viz's igzip default, es_png_opts.level) */
#define OPT_PNG_LEVEL(d) \
    OPT_INT(0, "png-level", d, 0, 9, "N", "zlib level 0..9 (default: igzip, faster, larger)")
/* --aggregate max|mean into an int d (-1 when not given; else the es_aggregate, whose values
 * are the names' order): how a sound's windows become one verdict (apps/verdict.h). */
extern const char *const opt_aggregate_names[];
#define OPT_AGGREGATE(d)                                                                        \
    OPT_ENUM(0, "aggregate", d, opt_aggregate_names, NULL,                                      \
             "how a sound's windows become one verdict: max (its most confident window)\n"      \
             "or mean (default: the model's earsight.aggregate, else max for two classes)")
/* --relu-rule modules|all into opt_model.relus: which ReLUs guided backprop and deconvnet
 * change. */
extern const char *const opt_relus_names[];
#define OPT_RELU_RULE                                                                           \
    OPT_ENUM(0, "relu-rule", &opt_model.relus, opt_relus_names, NULL,                           \
             "guided / deconvnet: modules (default) changes the ReLUs of PyTorch's\n"          \
             "nn.ReLU modules, as Captum does, not a functional F.relu; all: every ReLU")
/* -j/--jobs N: the OpenMP threads, set by opt_parse once every flag is read. */
#define OPT_JOBS_MAX 256
#define OPT_JOBS OPT_INT('j', "jobs", &opt_jobs, 1, OPT_JOBS_MAX, "N", "threads (default: OMP_NUM_THREADS or all cores)")
extern int opt_jobs;

/* Parses argv[1..argc) by `rows` (ended by OPT_END). Operands (arguments that are not flags)
 * go to the table's operand row (OPT_OPERAND, or an OPT_APPEND without names) in their order;
 * a verb without one takes none. Prints the help and exits 0 for -h/--help (anywhere before
 * `--`); prints one line `earsight: --flag: reason (see `earsight help VERB`)` and exits 2 for
 * a bad flag, value or operand, and one line `earsight: PATH: reason` for an output refused
 * (OPT_OUT: a link, device, pipe, folder, an input or another output; exit 1 when its folder
 * does not exist, the runtime error the write would meet after the work). Sets the OpenMP thread count when -j was given, once every
 * value is known to be good. */
void opt_parse(const opt_cmd *cmd, const opt *rows, int argc, char **argv);
/* The same without exiting: 0 parsed, 2 after printing a usage error, 1 after printing that
 * an output's folder does not exist, 3 after printing the help. */
int opt_parse_status(const opt_cmd *cmd, const opt *rows, int argc, char **argv);
/* True when the last parse saw the long flag `name` ("sr"). */
int opt_given(const char *name);
/* The help text of `rows` on stdout, in the format opt_help_format says: the text of
 * `--help`, a man page (earsight-VERB(1), opt_help_name its one-line summary), or the flags
 * alone, for shell completion (`earsight help --man|--words VERB`, apps/main.c). */
enum { OPT_HELP_TEXT, OPT_HELP_MAN, OPT_HELP_WORDS };
extern int opt_help_format;
extern const char *opt_help_name;
void opt_help(const opt_cmd *cmd, const opt *rows);

#endif
