/* The earsight binary: one verb per file (apps/VERB.c), registered in apps/main.c.
 * A verb returns the exit status: 0 done, 1 runtime error, 2 bad usage (DESIGN.md §3). */
#ifndef ES_CLI_H
#define ES_CLI_H
#include <signal.h>

/* Set by the first SIGINT (apps/main.c): a verb working through items stops after the current
 * one, says how far it got and exits 130. A second SIGINT, or SIGTERM/SIGHUP, removes the open
 * temporaries (es_atomic_cleanup) and ends the process by the signal itself. */
extern volatile sig_atomic_t cli_interrupted;

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
    const char *summary;               /* one line for `earsight help` */
} cli_verb;

/* Prints "earsight: MESSAGE" on stderr and returns 1 (runtime error). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "earsight: MESSAGE" and a pointer to the verb's help on stderr; returns 2. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the last library error (es_error()) as "earsight: ..." and returns 1. */
int cli_lib_fail(void);
/* Prints j as one line of JSON on stdout and frees it (--json output). */
typedef struct cJSON cJSON;
void cli_print_json(cJSON *j);
/* The verb's usage text on stdout (the verb prints it from its option table); returns 0, or
 * 2 for an unknown verb. */
int cli_help(const char *verb);
/* True when -h or --help stands as an argument of its own before any `--` (argv[0] is the
 * verb); opt_parse asks it first, so that help wins over any other flag, good or bad. */
int cli_wants_help(int argc, char **argv);

/* Called (when set) before cli_fail and cli_usage print: a progress bar erases itself. */
extern void (*cli_before_message)(void);

#endif
