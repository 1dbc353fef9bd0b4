/* The one-line messages every verb prints (DESIGN.md §3), apart from the verb table in
 * apps/main.c so that the option parser's test links them alone. */
#include "apps/cli.h"
#include <cJSON.h>
#include <stdlib.h>
#include "base/es_base.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

volatile sig_atomic_t cli_interrupted;
void (*cli_before_message)(void);

/* "earsight: MESSAGE" + tail on stderr, after the progress display steps aside. */
static void say(const char *fmt, va_list ap, const char *tail_verb)
{
    if (cli_before_message)
        cli_before_message();
    fputs("earsight: ", stderr);
    vfprintf(stderr, fmt, ap);
    if (tail_verb)
        fprintf(stderr, " (see `earsight help %s`)", tail_verb);
    fputc('\n', stderr);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap, NULL);
    va_end(ap);
    return 1;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap, verb);
    va_end(ap);
    return 2;
}

void cli_print_json(cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(j);
}

int cli_lib_fail(void) { return cli_fail("%s", es_error()); }

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}
