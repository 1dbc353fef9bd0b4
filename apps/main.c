/* earsight VERB [options] [files] — git-style entry point. */
#include "apps/cli.h"
#include "apps/opt.h"
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
    X("weights", cmd_weights, "a layer's filters or weight matrix, with a histogram (PNG)") \
    X("bench", cmd_bench, "time a model here: first call, warm min/median/p90, peak RSS, arena")

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

/* earsight(1): what the binary is, its verbs (each has its page, earsight-VERB(1)). */
static void overview_man(void)
{
    printf(".TH EARSIGHT 1 \"\" \"earsight %s\" \"earsight manual\"\n.SH NAME\n"
           "earsight \\- shows what a trained audio network hears\n.SH SYNOPSIS\n"
           ".B earsight\n.I VERB\n[options] [files]\n.SH DESCRIPTION\n"
           "One binary, git-style verbs; \\fBearsight help VERB\\fR or \\fBearsight-VERB\\fR(1) "
           "tells of each.\n.SH VERBS\n", ES_VERSION);
    for (const cli_verb *v = verbs; v->name; v++)
        printf(".TP\n.B %s\n%s (\\fBearsight-%s\\fR(1))\n", v->name, v->summary, v->name);
    printf(".SH ENVIRONMENT\n.TP\n.B EARSIGHT_MODEL\nThe model the verbs use without \\-m: by "
           "default the shipped bird detector, found beside the binary (PREFIX/share/earsight/"
           "models/bird-detector.onnx, or assets/models/ of the source tree it was built in).\n"
           ".TP\n.B OMP_NUM_THREADS\nThreads, unless \\-j says.\n"
           ".TP\n.B OMP_WAIT_POLICY\nPASSIVE unless set (or GOMP_SPINCOUNT is): OpenMP's threads "
           "sleep between parallel regions instead of spinning, which a busy machine punishes.\n"
           ".TP\n.B EARSIGHT_PROGRESS_SECONDS\nSeconds between progress lines when stderr is no "
           "terminal (5).\n.SH EXIT STATUS\n0 done, 1 a runtime error, 2 bad usage, 130 "
           "interrupted.\n");
}

/* `earsight help --man [VERB]`, `earsight help --words [VERB]`: a verb's page or its flags
 * (the verb prints them from its option rows), or the overview page or the verbs' names. */
static int help_as(int format, const char *name)
{
    if (!name) {
        if (format == OPT_HELP_MAN)
            overview_man();
        for (const cli_verb *v = verbs; format == OPT_HELP_WORDS && v->name; v++)
            printf("%s ", v->name);
        if (format == OPT_HELP_WORDS)
            printf("help\n");
        return 0;
    }
    const cli_verb *v = find_verb(name);
    if (!v)
        return cli_usage("", "unknown verb '%s'", name);
    opt_help_format = format, opt_help_name = v->summary;
    char *argv[] = {(char *)v->name, "--help", NULL};
    return v->run(2, argv);
}

/* `earsight completion bash`: a script that asks the binary for its verbs and flags when
 * TAB is pressed, so that it is always the option rows of the binary installed. */
static const char completion_bash[] =
    "# bash completion for earsight (earsight completion bash)\n"
    "_earsight() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} verb=${COMP_WORDS[1]}\n"
    "  if [ \"$COMP_CWORD\" = 1 ]; then\n"
    "    COMPREPLY=($(compgen -W \"$(earsight help --words 2>/dev/null)\" -- \"$cur\"))\n"
    "  elif [[ $cur == -* ]]; then\n"
    "    COMPREPLY=($(compgen -W \"$(earsight help --words \"$verb\" 2>/dev/null)\" -- \"$cur\"))\n"
    "  else\n"
    "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "  fi\n"
    "}\n"
    "complete -o filenames -F _earsight earsight\n";

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

/* OpenMP threads that spin-wait between parallel regions (libgomp's default) make a pass
 * 10-100x slower as soon as another process wants the cores: each spinning thread takes the
 * time slice of the thread it waits for (the shipped detector's forward, 2 threads, load 7 on
 * 2 cores: 2658 ms median spinning, 17 ms passive). Sleeping threads cost a few microseconds
 * a region on an idle machine. libgomp reads OMP_WAIT_POLICY once, in its constructor, and
 * libc's own start-up resets the environment after anything an executable sets before it; so
 * the process starts itself again with the variable, from .preinit_array: before any
 * library's constructor has run (no thread started, nothing initialised twice). A user's own
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT wins, one thread has nothing to spin, and valgrind's tools
 * would not follow the exec; if the exec fails, we go on as we are. */
static void wait_passive(int argc, char **argv, char **envp)
{
    (void)argc;
    size_t n = 0;
    for (; envp[n]; n++)
        if (strncmp(envp[n], "OMP_WAIT_POLICY=", 16) == 0 || strncmp(envp[n], "GOMP_SPINCOUNT=", 15) == 0 ||
            strcmp(envp[n], "OMP_NUM_THREADS=1") == 0 ||
            (strncmp(envp[n], "LD_PRELOAD=", 11) == 0 && strstr(envp[n], "vgpreload")))
            return;
    char *env[n + 2];
    memcpy(env, envp, n * sizeof *env);
    env[n] = "OMP_WAIT_POLICY=PASSIVE", env[n + 1] = NULL;
    execve("/proc/self/exe", argv, env);
}
__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) =
    wait_passive;

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
    if (strcmp(verb, "completion") == 0) { /* hidden: make install writes it */
        if (argc != 3 || strcmp(argv[2], "bash") != 0)
            return cli_usage("", "completion takes bash");
        fputs(completion_bash, stdout);
        return 0;
    }
    if (strcmp(verb, "help") == 0 && argc > 2 &&
        (strcmp(argv[2], "--man") == 0 || strcmp(argv[2], "--words") == 0)) /* hidden */
        return help_as(argv[2][2] == 'm' ? OPT_HELP_MAN : OPT_HELP_WORDS, argc > 3 ? argv[3] : NULL);
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
