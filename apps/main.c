/* earsight VERB [options] [files] — git-style entry point. */
#include "apps/cli.h"
#include "base/es_base.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Each verb lives in apps/VERB.c; add a line here when a verb joins. */
#define VERBS(X) \
    X("features", cmd_features, "a sound's features (log-mel, MFCC, Kaldi fbank) as .npy") \
    X("info", cmd_info, "a model's inputs, outputs, nodes, parameters and metadata") \
    X("predict", cmd_predict, "the model's raw output for one input (.npy or sound)") \
    X("plot", cmd_plot, "a spectrogram picture (PNG), with a saliency overlay if given") \
    X("annotate", cmd_annotate, "attach feature settings and labels to an ONNX model") \
    X("train", cmd_train, "train a detector on labelled sound files (ONNX out)") \
    X("eval", cmd_eval, "ROC AUC, accuracy, confusion matrix of a model on labelled files") \
    X("saliency", cmd_saliency, "what the network looked at: attribution maps (.npy, PNG)") \
    X("sanity", cmd_sanity, "sanity checks of a saliency method: randomized layers (Adebayo)") \
    X("view", cmd_view, "the saliency figure in a window: keys to change method, overlay, zoom, play") \
    X("sonify", cmd_sonify, "listen to what the network heard: the salient part as WAV") \
    X("export", cmd_export, "a corpus at once: pictures of every clip, summary.csv, a gallery page") \
    X("maps", cmd_maps, "a layer's activation maps for one input, as a grid (PNG)") \
    X("weights", cmd_weights, "a layer's filters or weight matrix, with a histogram (PNG)")

#define DECLARE(name, fn, summary) int fn(int argc, char **argv);
VERBS(DECLARE)
static const cli_verb verbs[] = {
#define ENTRY(name, fn, summary) {name, fn, summary},
    VERBS(ENTRY)
    {NULL, NULL, NULL}};

static const cli_verb *find_verb(const char *name)
{
    for (const cli_verb *v = verbs; v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

static void overview(FILE *out)
{
    fprintf(out, "earsight %s — shows what a trained audio network hears\n\n"
                 "usage: earsight VERB [options] [files]\n\nverbs:\n", ES_VERSION);
    for (const cli_verb *v = verbs; v->name; v++)
        fprintf(out, "  %-10s %s\n", v->name, v->summary);
    fprintf(out, "  %-10s %s\n\n", "help", "this text, or `earsight help VERB` for one verb");
    fprintf(out, "common flags: -o/--output, -m/--model, -j/--jobs, -q/--quiet, --json, --version\n"
                 "exit status: 0 done, 1 runtime error, 2 bad usage\n");
}

/* A verb's help comes from its option table: the verb prints it when asked for --help. */
int cli_help(const char *name)
{
    if (strcmp(name, "help") == 0) {
        fputs("usage: earsight help [VERB]\n\nThe verbs, or one verb's usage and flags (the same as"
              " `earsight VERB --help`).\n", stdout);
        return 0;
    }
    const cli_verb *v = find_verb(name);
    if (!v)
        return cli_usage("", "unknown verb '%s'", name);
    char *argv[] = {(char *)v->name, "--help", NULL};
    return v->run(2, argv);
}

static int tell_interrupt; /* stderr is a terminal: say what the first Ctrl-C does */

/* Async-signal-safe only: the first SIGINT asks the verb to stop after the current item; a
 * second one, or SIGTERM/SIGHUP, removes the temporaries and dies of the signal, so that the
 * exit status says which (130, 143) and no PATH.tmp.* file is left. */
static void on_signal(int sig)
{
    if (sig == SIGINT && !cli_interrupted) {
        static const char msg[] = "\nearsight: interrupted; stopping after the current item "
                                  "(Ctrl-C again to stop now)\n";
        cli_interrupted = 1;
        if (tell_interrupt)
            (void)!write(2, msg, sizeof msg - 1);
        return;
    }
    es_atomic_cleanup();
    signal(sig, SIG_DFL);
    raise(sig); /* delivered with the default action once the handler returns */
}

static void catch_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* the first SIGINT must not fail a read or write in progress */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT), sigaddset(&sa.sa_mask, SIGTERM), sigaddset(&sa.sa_mask, SIGHUP);
    tell_interrupt = isatty(2);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        /* a signal ignored when we start (a background job's SIGINT, nohup) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
    /* a file over `ulimit -f` is a write error (EFBIG) the atomic writer reports and removes,
     * not a death that leaves the temporary behind */
    signal(SIGXFSZ, SIG_IGN);
}

int main(int argc, char **argv)
{
    catch_signals();
    if (argc < 2) {
        overview(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("earsight %s\n", ES_VERSION);
        return 0;
    }
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        if (argc > 2)
            return cli_help(argv[2]);
        overview(stdout);
        return 0;
    }
    const cli_verb *v = find_verb(verb);
    if (!v) {
        fprintf(stderr, "earsight: unknown verb '%s' (see `earsight help`)\n", verb);
        return 2;
    }
    return v->run(argc - 1, argv + 1);
}
