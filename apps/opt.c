/* The one argv parser of the earsight verbs: getopt_long tables, value checks, the one-line
 * usage errors and the help text, all from a verb's rows (apps/opt.h). */
#include "apps/opt.h"
#include "apps/cli.h"
#include "audio/es_audio.h"
#include "pipeline/es_pipeline.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int opt_jobs;
es_model_opts opt_model;
const char *const opt_relus_names[] = {"modules", "all", NULL}; /* es_relu_scope's order */

/* One flag getopt knows: a row, or feature flag k of audio's table in a FEATURES row. */
typedef struct {
    const opt *row;
    int feat;
} slot;

/* A flag as met on the command line, applied once the whole line is known to parse. */
typedef struct {
    int slot, as_short; /* as_short: named by its short flag, as in messages */
    const char *value;
} use;

#define MAX_SLOTS 256
#define MAX_GIVEN 256
static const char *given[MAX_GIVEN];
static int n_given;

static const char *slot_name(const slot *s)
{
    return s->feat >= 0 ? es_config_flag_at(s->feat)->name : s->row->name;
}

static int slot_takes_value(const slot *s)
{
    if (s->feat >= 0) {
        const es_config_flag_info *f = es_config_flag_at(s->feat);
        return f->metavar || f->choices;
    }
    return s->row->type != OPT_T_SWITCH;
}

/* The rows as getopt's tables; returns the number of slots. */
static int build(const opt *rows, slot *slots, struct option *longs, char *shorts)
{
    int n = 0, nl = 0, ns = 0;
    shorts[ns++] = '-'; /* operands come back in their place (code 1), between the flags */
    shorts[ns++] = ':';
    for (const opt *r = rows; r->type != OPT_T_END; r++) {
        if (r->type == OPT_T_HEADING)
            continue;
        for (int k = 0; r->type == OPT_T_FEATURES ? es_config_flag_at(k) != NULL : k == 0; k++) {
            if (n == MAX_SLOTS)
                break; /* more flags than any verb has: the rest are unknown */
            slots[n] = (slot){r, r->type == OPT_T_FEATURES ? k : -1};
            int arg = slot_takes_value(&slots[n]) ? required_argument : no_argument;
            if (slot_name(&slots[n]))
                longs[nl++] = (struct option){slot_name(&slots[n]), arg, NULL, 256 + n};
            if (r->key) {
                shorts[ns++] = (char)r->key;
                if (arg == required_argument)
                    shorts[ns++] = ':';
            }
            n++;
        }
    }
    longs[nl] = (struct option){0};
    shorts[ns] = 0;
    return n;
}

static int short_slot(const slot *slots, int n, int key)
{
    for (int i = 0; i < n; i++)
        if (slots[i].feat < 0 && slots[i].row->key == key)
            return i;
    return -1;
}

/* The row without a flag that takes the operands, or -1: the verb takes none. */
static int operand_slot(const slot *slots, int n)
{
    for (int i = 0; i < n; i++)
        if (slots[i].feat < 0 && !slots[i].row->key && !slots[i].row->name)
            return i;
    return -1;
}

static void range_text(char *buf, size_t cap, const opt *r)
{
    int whole = r->type == OPT_T_INT || r->type == OPT_T_U64 || r->type == OPT_T_SIZE;
    snprintf(buf, cap, whole ? "%c%.0f, %.0f%c" : "%c%g, %g%c", r->flags & OPT_OPEN_LO ? '(' : '[',
             r->lo, r->hi, r->flags & OPT_OPEN_HI ? ')' : ']');
}

static int in_range(const opt *r, double x)
{
    return (r->flags & OPT_OPEN_LO ? x > r->lo : x >= r->lo) &&
           (r->flags & OPT_OPEN_HI ? x < r->hi : x <= r->hi);
}

/* A whole number: digits with an optional sign, nothing else, no overflow. */
static int whole(const char *v, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(v, &end, 10);
    return end != v && !*end && errno == 0;
}

static int convert_whole(const opt *r, const char *v, char *why, size_t cap)
{
    long long x;
    char range[80];
    range_text(range, sizeof range, r);
    if (!whole(v, &x) || !in_range(r, (double)x) || (r->type == OPT_T_U64 && v[strspn(v, " \t")] == '-'))
        return snprintf(why, cap, "needs a whole number in %s, not '%s'", range, v), -1;
    if (r->type == OPT_T_INT)
        *(int *)r->dest = (int)x;
    else
        *(uint64_t *)r->dest = (uint64_t)x;
    return 0;
}

static int convert_real(const opt *r, const char *v, char *why, size_t cap)
{
    char *end, range[80];
    errno = 0;
    double x = strtod(v, &end);
    range_text(range, sizeof range, r);
    int finite_ok = isfinite(x) || (r->flags & OPT_NONFINITE);
    if (end == v || *end || (errno == ERANGE && fabs(x) > 1) || !finite_ok ||
        (isfinite(x) && !in_range(r, x)))
        return snprintf(why, cap, "needs a number in %s, not '%s'", range, v), -1;
    if (r->type == OPT_T_FLOAT)
        *(float *)r->dest = (float)x;
    else
        *(double *)r->dest = x;
    return 0;
}

/* "AxB": two whole numbers around an 'x', each in range. */
static int convert_size(const opt *r, const char *v, char *why, size_t cap)
{
    long long a, b;
    char first[32], range[80];
    const char *x = strchr(v, 'x');
    size_t n = x ? (size_t)(x - v) : 0;
    range_text(range, sizeof range, r);
    if (x && n < sizeof first) {
        memcpy(first, v, n), first[n] = 0;
        if (whole(first, &a) && whole(x + 1, &b) && in_range(r, (double)a) && in_range(r, (double)b)) {
            *(int *)r->dest = (int)a, *(int *)r->aux = (int)b;
            return 0;
        }
    }
    return snprintf(why, cap, "needs %s, each in %s, not '%s'", r->metavar, range, v), -1;
}

static void join_names(char *buf, size_t cap, const char *const *names)
{
    buf[0] = 0;
    for (int i = 0; names[i]; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "|" : "", names[i]);
}

static int convert_enum(const opt *r, const char *v, char *why, size_t cap)
{
    const char *const *names = r->aux;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0)
            return *(int *)r->dest = i, 0;
    char list[256];
    join_names(list, sizeof list, names);
    return snprintf(why, cap, "takes %s, not '%s'", list, v), -1;
}

static int convert_append(const opt *r, const char *v, char *why, size_t cap)
{
    int *count = (int *)r->aux;
    if (*count >= r->ival)
        return snprintf(why, cap, "at most %d %s%s", r->ival, r->name ? "values" : r->metavar,
                        r->name ? "" : "s"), -1;
    ((const char **)r->dest)[(*count)++] = v;
    return 0;
}

static int convert_string(const opt *r, const char *v, char *why, size_t cap)
{
    const char **s = r->dest;
    if (!r->name && !r->key && *s) /* the operand row: one operand */
        return snprintf(why, cap, "one %s only ('%s' and '%s')", r->metavar, *s, v), -1;
    *s = v;
    return 0;
}

/* Stores one value; 0, or -1 with the reason in why. */
static int apply(const slot *s, const char *v, char *why, size_t cap)
{
    const opt *r = s->row;
    if (s->feat >= 0) {
        if (es_config_flag_apply(r->dest, s->feat, v) == 0)
            return 0;
        return snprintf(why, cap, "%s", es_error()), -1;
    }
    switch (r->type) {
    case OPT_T_SWITCH: *(int *)r->dest = r->ival; return 0;
    case OPT_T_INT:
    case OPT_T_U64: return convert_whole(r, v, why, cap);
    case OPT_T_FLOAT:
    case OPT_T_DOUBLE: return convert_real(r, v, why, cap);
    case OPT_T_STRING: return convert_string(r, v, why, cap);
    case OPT_T_APPEND: return convert_append(r, v, why, cap);
    case OPT_T_ENUM: return convert_enum(r, v, why, cap);
    case OPT_T_SIZE: return convert_size(r, v, why, cap);
    case OPT_T_CALL: return r->fn(r, v, why, cap);
    default: return 0;
    }
}

static int usage_error(const opt_cmd *cmd, const char *flag, const char *why)
{
    if (flag)
        return cli_usage(cmd->verb, "%s: %s", flag, why);
    return cli_usage(cmd->verb, "%s", why);
}

/* getopt's complaint as our one line: the flag as written, without any "=value". */
static int getopt_error(const opt_cmd *cmd, int c, char **argv, const slot *slots)
{
    char flag[64];
    if (optopt >= 256)
        snprintf(flag, sizeof flag, "--%s", slot_name(&slots[optopt - 256]));
    else if (optopt)
        snprintf(flag, sizeof flag, "-%c", optopt);
    else
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
    if (c == ':')
        return usage_error(cmd, flag, "needs a value");
    if (optopt >= 256) /* a switch given "=value" */
        return usage_error(cmd, flag, "takes no value");
    return cli_usage(cmd->verb, "unknown option '%s'", flag);
}

/* The flag as the user wrote it: "--name", or "-k". */
static const char *flag_text(const opt *r, int as_short)
{
    static char buf[80];
    if (r->name && !as_short)
        snprintf(buf, sizeof buf, "--%s", r->name);
    else
        snprintf(buf, sizeof buf, "-%c", r->key);
    return buf;
}

/* Reasons that stand alone: the library's (they name the flag or the file) and the operands'. */
static int verbatim(const slot *s)
{
    return s->feat >= 0 || s->row->type == OPT_T_CALL || (!s->row->name && !s->row->key);
}

/* Applies the flags met, OPT_EARLY ones first; 0 or 2 after printing the error. */
static int apply_all(const opt_cmd *cmd, const slot *slots, const use *uses, int n)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const slot *s = &slots[uses[i].slot];
            int early = (s->row->flags & OPT_EARLY) || (s->feat >= 0 && es_config_flag_at(s->feat)->preset);
            if (early != (pass == 0))
                continue;
            char why[512];
            if (apply(s, uses[i].value, why, sizeof why) != 0)
                return usage_error(cmd, verbatim(s) ? NULL : flag_text(s->row, uses[i].as_short), why);
            if (n_given < MAX_GIVEN)
                given[n_given++] = slot_name(s);
        }
    return 0;
}

/* ---- the files a run reads and writes ------------------------------------------------------ */

static int is_operand_row(const opt *r) { return !r->key && !r->name && r->type != OPT_T_FEATURES; }

/* The file names a row holds after the parse: one (STRING) or *count (APPEND). */
static int row_files(const opt *r, const char *const **files)
{
    static const char *model;
    if (r->type == OPT_T_STRING && !*(const char **)r->dest && (r->flags & OPT_DEFAULT_MODEL)) {
        model = es_model_default_path(); /* NULL when not installed: the verb will say so */
        *files = &model;
        return model != NULL;
    }
    if (r->type == OPT_T_STRING) {
        *files = r->dest;
        return *(const char **)r->dest != NULL;
    }
    if (r->type == OPT_T_APPEND) {
        *files = r->dest;
        return *(const int *)r->aux;
    }
    return 0;
}

/* An output's folder must exist: a run of minutes should not end in "cannot write". */
static int folder_missing(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char dir[4096];
    struct stat st;
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return stat(dir, &st) != 0 || !S_ISDIR(st.st_mode);
}

/* One output against the folder rule, every input and the outputs before it: 0, or the exit
 * status after the one line (2: a bad name; 1: a folder that does not exist, a runtime error
 * as when it is found at the write). */
static int check_output(const opt *rows, const opt *out, const char *path)
{
    struct stat st;
    int dir_ok = (out->flags & OPT_OUT_DIR) && lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!dir_ok && es_output_check(path) != 0)
        return cli_fail("%s", es_error()), 2;
    if (folder_missing(path))
        return cli_fail("%s: cannot write: no such folder", path);
    for (const opt *r = rows; r->type != OPT_T_END; r++) {
        const char *const *files;
        int n = row_files(r, &files), input = (r->flags & OPT_IN) || is_operand_row(r);
        if (r == out || (!input && !((r->flags & OPT_OUT) && r < out)))
            continue;
        for (int i = 0; i < n; i++)
            if (strcmp(files[i], path) == 0 || es_same_file(files[i], path))
                return cli_fail("%s: %s; refusing to overwrite it", path,
                                input ? "is also an input of this run" : "is named as two outputs"), 2;
    }
    return 0;
}

static int check_files(const opt *rows)
{
    for (const opt *r = rows; r->type != OPT_T_END; r++) {
        const char *const *files;
        int rc;
        if ((r->flags & OPT_OUT) && row_files(r, &files) && (rc = check_output(rows, r, files[0])))
            return rc;
    }
    return 0;
}

int opt_parse_status(const opt_cmd *cmd, const opt *rows, int argc, char **argv)
{
    static slot slots[MAX_SLOTS];
    static struct option longs[MAX_SLOTS + 1];
    char shorts[2 * MAX_SLOTS + 2];
    n_given = 0, opt_jobs = 0, opt_model = (es_model_opts){0};
    if (cli_wants_help(argc, argv)) {
        opt_help(cmd, rows);
        return 3;
    }
    int n = build(rows, slots, longs, shorts), n_uses = 0, c;
    int to = operand_slot(slots, n);
    size_t cap = (size_t)argc; /* a bundle ("-qqq") is one argument but several uses */
    for (int i = 1; i < argc; i++)
        cap += strlen(argv[i]);
    use *uses = malloc(cap * sizeof *uses);
    if (!uses)
        return cli_usage(cmd->verb, "out of memory");
    optind = 0, opterr = 0; /* 0: glibc starts afresh, as for a new argv */
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        int k = c == 1 ? to : c >= 256 ? c - 256 : c == '?' || c == ':' ? -1 : short_slot(slots, n, c);
        if (k < 0) {
            free(uses);
            return c == 1 ? cli_usage(cmd->verb, "unexpected argument '%s'", optarg)
                          : getopt_error(cmd, c, argv, slots);
        }
        uses[n_uses++] = (use){k, c > 1 && c < 256, optarg};
    }
    for (int i = optind; i < argc; i++) { /* after `--` */
        if (to < 0) {
            free(uses);
            return cli_usage(cmd->verb, "unexpected argument '%s'", argv[i]);
        }
        uses[n_uses++] = (use){to, 0, argv[i]};
    }
    int rc = apply_all(cmd, slots, uses, n_uses);
    free(uses);
    if (!rc)
        rc = check_files(rows);
    if (rc)
        return rc;
    if (opt_jobs)
        omp_set_num_threads(opt_jobs);
    return 0;
}

void opt_parse(const opt_cmd *cmd, const opt *rows, int argc, char **argv)
{
    int rc = opt_parse_status(cmd, rows, argc, argv);
    if (rc)
        exit(rc == 3 ? 0 : rc);
}

int opt_given(const char *name)
{
    for (int i = 0; i < n_given; i++)
        if (given[i] && strcmp(given[i], name) == 0)
            return 1;
    return 0;
}

/* ---- the help text ------------------------------------------------------------------------ */

#define HELP_COLUMN 22

int opt_help_format;
const char *opt_help_name;

/* roff text: a backslash doubled, a line's leading '.' or '\'' made literal. */
static void man_text(const char *s, int line_start)
{
    for (; *s; s++) {
        if (line_start && (*s == '.' || *s == '\''))
            fputs("\\&", stdout);
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
        line_start = *s == '\n';
    }
}

/* A row as a man page's tagged paragraph, or as the words a shell completes. */
static void help_row_as(int key, const char *name, const char *metavar, const char *help)
{
    if (opt_help_format == OPT_HELP_WORDS) {
        if (key)
            printf("-%c ", key);
        if (name)
            printf("--%s ", name);
        return;
    }
    fputs(".TP\n.B ", stdout);
    if (key)
        printf("\\-%c%s", key, name ? ", " : "");
    if (name)
        fputs("\\-\\-", stdout), man_text(name, 0);
    if (metavar)
        fputs(" \\fI", stdout), man_text(metavar, 0), fputs("\\fR", stdout);
    putchar('\n');
    for (const char *p = help; *p; p++) /* continuation lines join the paragraph */
        if (*p == '\n' && p[1])
            putchar(' ');
        else if (*p != '\n')
            man_text((char[]){*p, 0}, p == help && *p == '.');
    putchar('\n');
}

/* "  -m, --model FILE   help", continuation lines of help indented to the same column. */
static void help_row(int key, const char *name, const char *metavar, const char *help)
{
    if (opt_help_format != OPT_HELP_TEXT) {
        help_row_as(key, name, metavar, help);
        return;
    }
    char left[160];
    int n = snprintf(left, sizeof left, "  ");
    if (key)
        n += snprintf(left + n, sizeof left - n, "-%c%s", key, name ? ", " : "");
    if (name)
        n += snprintf(left + n, sizeof left - n, "--%s", name);
    if (metavar)
        snprintf(left + n, sizeof left - n, " %s", metavar);
    n = (int)strlen(left);
    if (n < HELP_COLUMN)
        printf("%-*s", HELP_COLUMN, left);
    else
        printf("%s\n%*s", left, HELP_COLUMN, "");
    for (const char *p = help; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1])
            printf("%*s", HELP_COLUMN, "");
    }
    putchar('\n');
}

static void help_features(void)
{
    const es_config_flag_info *f;
    for (int k = 0; (f = es_config_flag_at(k)); k++) {
        char list[256];
        if (!f->help)
            continue;
        if (!f->metavar && f->choices)
            join_names(list, sizeof list, f->choices);
        help_row(0, f->name, f->metavar ? f->metavar : f->choices ? list : NULL, f->help);
    }
}

/* The man page's head: name, synopsis (each "usage:" line), description. */
static void man_head(const opt_cmd *cmd)
{
    char up[64];
    snprintf(up, sizeof up, "EARSIGHT-%s", cmd->verb);
    for (char *p = up; *p; p++)
        *p = *p >= 'a' && *p <= 'z' ? *p - 32 : *p;
    printf(".TH %s 1 \"\" \"earsight %s\" \"earsight manual\"\n.SH NAME\nearsight\\-", up, ES_VERSION);
    man_text(cmd->verb, 0), fputs(" \\- ", stdout), man_text(opt_help_name ? opt_help_name : "", 0);
    fputs("\n.SH SYNOPSIS\n.nf\n", stdout);
    for (const char *p = cmd->synopsis; *p;) {
        size_t n = strcspn(p, "\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        const char *l = line;
        while (*l == ' ')
            l++;
        man_text(strncmp(l, "usage: ", 7) == 0 ? l + 7 : l, 1), putchar('\n');
        p += n + (p[n] == '\n');
    }
    fputs(".fi\n.SH DESCRIPTION\n", stdout);
    man_text(cmd->about ? cmd->about : "", 1);
    fputs("\n.SH OPTIONS\n", stdout);
}

void opt_help(const opt_cmd *cmd, const opt *rows)
{
    if (opt_help_format == OPT_HELP_MAN)
        man_head(cmd);
    else if (opt_help_format == OPT_HELP_TEXT)
        printf("%s\n\n", cmd->synopsis);
    if (opt_help_format == OPT_HELP_TEXT && cmd->about && *cmd->about)
        printf("%s\n", cmd->about);
    for (const opt *r = rows; r->type != OPT_T_END; r++) {
        char list[256];
        const char *mv = r->metavar;
        if (r->type == OPT_T_HEADING && opt_help_format == OPT_HELP_MAN)
            fputs(".SS ", stdout), man_text(r->help, 0), putchar('\n');
        else if (r->type == OPT_T_HEADING && opt_help_format == OPT_HELP_TEXT)
            printf("%s\n", r->help);
        else if (r->type == OPT_T_FEATURES)
            help_features();
        else if (r->help && (r->name || r->key)) {
            if (!mv && r->type == OPT_T_ENUM)
                join_names(list, sizeof list, r->aux), mv = list;
            help_row(r->key, r->name, mv, r->help);
        }
    }
}
