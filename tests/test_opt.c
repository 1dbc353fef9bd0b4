/* The option parser of the earsight verbs (apps/opt.c): conversions, ranges, the one-line
 * errors, `--opt=value`, bundles, `--`, operands in their place, early flags, the feature
 * flags of audio's table, help, and -j set once after a good parse. */
#include "tests/testutil.h"
#include "apps/opt.h"
#include "audio/es_audio.h"
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

static const opt_cmd cmd = {"test", "usage: earsight test [options] FILE…", "What it does.\n"};
static char err[1024]; /* what the last parse printed on stderr */

/* Parses the words of `line` (split at spaces; argv[0] is the verb) by rows, stderr caught in
 * err; returns opt_parse_status's value. */
static int parse(const opt *rows, const char *line)
{
    static char buf[1024], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "test %s", line);
    for (char *w = strtok(buf, " "); w && argc < 63; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    fflush(stderr);
    FILE *cap = tmpfile();
    int saved = dup(2);
    dup2(fileno(cap), 2);
    int rc = opt_parse_status(&cmd, rows, argc, argv);
    fflush(stderr);
    dup2(saved, 2), close(saved);
    rewind(cap);
    size_t n = fread(err, 1, sizeof err - 1, cap);
    err[n] = 0;
    fclose(cap);
    return rc;
}

/* err is one line that starts "earsight: " and holds `part`. */
static void one_line_error(const char *part)
{
    assert_true(strncmp(err, "earsight: ", 10) == 0);
    assert_non_null(strchr(err, '\n'));
    assert_true(strchr(err, '\n')[1] == 0);
    if (!strstr(err, part))
        fail_msg("'%s' lacks '%s'", err, part);
}

typedef struct {
    int n, quiet, mode, w, h;
    float f;
    double d;
    uint64_t seed;
    const char *s, *files[3];
    int n_files;
} vals;

static const char *const modes[] = {"cascading", "independent", "both", NULL};

#define ROWS(rows, v)                                                                        \
    const opt rows[] = {OPT_INT('n', "steps", &(v).n, 1, 1000, "N", "steps"),                 \
                        OPT_QUIET(&(v).quiet),                                                \
                        OPT_FLOAT(0, "sigma", &(v).f, 0, 1, "S", "sigma"),                    \
                        {OPT_T_DOUBLE, 0, "big", &(v).d, "X", NULL, -INFINITY, INFINITY,     \
                         .flags = OPT_NONFINITE},                                              \
                        OPT_U64(0, "seed", &(v).seed, 0, 1e18, "N", "seed"),                  \
                        OPT_STRING('o', "output", &(v).s, "FILE", "out"),                     \
                        OPT_ENUM(0, "mode", &(v).mode, modes, NULL, "mode"),                  \
                        OPT_SIZE(0, "size", &(v).w, &(v).h, 1, 100, "WxH", "size"),           \
                        OPT_APPEND('i', "input", (v).files, &(v).n_files, "FILE", "input"),   \
                        OPT_APPEND(0, NULL, (v).files, &(v).n_files, "FILE", NULL),           \
                        OPT_JOBS,                                                             \
                        OPT_END}

static void values(void **state)
{
    vals v = {0};
    ROWS(rows, v);
    assert_int_equal(parse(rows, "--steps=12 --sigma 0.5 --big inf --seed 123456789012 -o x "
                                 "--mode=both --size 30x40 a"), 0);
    assert_int_equal(v.n, 12);
    assert_true(v.f == 0.5f && isinf(v.d) && v.seed == 123456789012ull);
    assert_string_equal(v.s, "x");
    assert_int_equal(v.mode, 2);
    assert_true(v.w == 30 && v.h == 40);
    assert_int_equal(v.n_files, 1);
    assert_string_equal(v.files[0], "a");
    assert_string_equal(err, "");
}

static void bad_values(void **state)
{
    static const struct {
        const char *line, *part;
    } cases[] = {
        {"--steps 1.5", "--steps: needs a whole number in [1, 1000], not '1.5'"},
        {"--steps x", "not 'x'"},
        {"--steps 99999999999999999999", "--steps"},
        {"--steps 0", "[1, 1000]"},
        {"--steps=", "not ''"},
        {"-n1001", "-n: needs a whole number in [1, 1000], not '1001'"},
        {"--sigma nan", "--sigma"},
        {"--sigma inf", "--sigma"},
        {"--sigma 1.01", "[0, 1]"},
        {"--seed -1", "--seed"},
        {"--mode bogus", "takes cascading|independent|both, not 'bogus'"},
        {"--size 30x", "--size: needs WxH"},
        {"--size 0x10", "--size"},
        {"--size 10x10x", "--size"},
        {"-j 0", "-j: needs"},
        {"-j 100000", "[1, 256]"},
        {"--steps", "--steps: needs a value"},
        {"-o", "-o: needs a value"},
        {"--frobnicate 3", "unknown option '--frobnicate'"},
        {"--frobnicate=3", "unknown option '--frobnicate'"},
        {"-qz", "unknown option '-z'"},
        {"--quiet=1", "--quiet: takes no value"},
        {"-i a -i b -i c a", "at most 3 FILEs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vals v = {0};
        ROWS(rows, v);
        if (parse(rows, cases[i].line) != 2)
            fail_msg("'%s' was taken", cases[i].line);
        one_line_error(cases[i].part);
        one_line_error("(see `earsight help test`)");
    }
}

static void forms(void **state)
{
    vals v = {0};
    ROWS(rows, v);
    /* bundles, attached values, operands between flags in their order, `--` */
    assert_int_equal(parse(rows, "-qn7 a -ob --input=c -- -q"), 0);
    assert_true(v.quiet && v.n == 7);
    assert_string_equal(v.s, "b");
    assert_int_equal(v.n_files, 3);
    assert_string_equal(v.files[0], "a");
    assert_string_equal(v.files[1], "c");
    assert_string_equal(v.files[2], "-q");
    /* a bundle makes more uses than arguments (it overflowed the parser's list: fuzz_opt) */
    assert_int_equal(parse(rows, "-qqqqqqqqqqqqqqqq -qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"), 0);
    /* without an operand row, a verb takes no operand: not before `--`, nor after it */
    int quiet = 0;
    const opt plain[] = {OPT_QUIET(&quiet), OPT_END};
    assert_int_equal(parse(plain, "-q x"), 2);
    one_line_error("unexpected argument 'x'");
    assert_int_equal(parse(plain, "-q -- -q"), 2);
    one_line_error("unexpected argument '-q'");
    /* one operand: a flag may set it too, the later one wins; a second operand is refused */
    const char *in = NULL;
    const opt one[] = {OPT_INPUT(&in, "input"), OPT_OPERAND(&in, "input"), OPT_END};
    assert_int_equal(parse(one, "a --input b"), 0);
    assert_string_equal(in, "b");
    in = NULL;
    assert_int_equal(parse(one, "--input b a"), 2);
    one_line_error("one input only ('b' and 'a')");
}

static int count_calls;
static int record(const opt *row, const char *value, char *why, size_t cap)
{
    *(int *)row->dest = ++count_calls * 10 + (value[0] - '0');
    return value[0] == '9' ? (snprintf(why, cap, "--early: no nines"), -1) : 0;
}

static void early_and_features(void **state)
{
    int early = 0, late = 0;
    es_feature_config c;
    es_config_default(&c);
    const opt rows[] = {{OPT_T_CALL, 0, "early", &early, "N", "first", .flags = OPT_EARLY, .fn = record},
                        OPT_CALL(0, "late", &late, record, "N", "then"), OPT_FEATURES(&c), OPT_END};
    count_calls = 0;
    assert_int_equal(parse(rows, "--late 1 --early 2"), 0);
    assert_int_equal(early, 12); /* applied first */
    assert_int_equal(late, 21);
    assert_int_equal(parse(rows, "--early 9"), 2);
    one_line_error("earsight: --early: no nines (see"); /* a CALL's message as it is */
    /* the feature flags of audio's table; --kaldi first, whatever its place */
    assert_int_equal(parse(rows, "--mels=40 --kaldi --n-fft 2048 --no-center"), 0);
    assert_true(c.preset == ES_PRESET_KALDI_FBANK && c.n_mels == 40 && c.n_fft == 2048 && !c.center);
    assert_true(opt_given("mels") && opt_given("kaldi") && !opt_given("sr"));
    assert_int_equal(parse(rows, "--hop ten"), 2);
    one_line_error("--hop");
    assert_int_equal(parse(rows, "--window kaiser"), 2);
    one_line_error("hann|hamming");
}

static void help_and_jobs(void **state)
{
    vals v = {0};
    ROWS(rows, v);
    fflush(stdout);
    FILE *cap = tmpfile();
    int saved = dup(1);
    dup2(fileno(cap), 1);
    int rc = parse(rows, "--frobnicate --help"); /* help wins */
    fflush(stdout);
    dup2(saved, 1), close(saved);
    char out[4096];
    rewind(cap);
    out[fread(out, 1, sizeof out - 1, cap)] = 0;
    fclose(cap);
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "usage: earsight test [options] FILE…\n\nWhat it does.\n\n"));
    assert_non_null(strstr(out, "\n  -n, --steps N       steps\n"));
    assert_non_null(strstr(out, "\n  --mode cascading|independent|both\n                      mode\n"));
    assert_null(strstr(out, "--big")); /* no help: not listed */
    /* -j sets the thread count once the whole line is good, and only then */
    omp_set_num_threads(1);
    assert_int_equal(parse(rows, "-j 3 --steps 0"), 2);
    assert_int_equal(omp_get_max_threads(), 1);
    assert_int_equal(parse(rows, "-qj3"), 0);
    assert_int_equal(omp_get_max_threads(), 3);
    assert_int_equal(opt_jobs, 3);
}

/* Output rows are checked once parsed, before any work: never a device, a link or a folder
 * (unless the row takes folders), never an input of the run nor another output. */
static void files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_opt.XXXXXX", a[64], b[64], link[64], sub[64], line[512];
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a", dir), snprintf(b, sizeof b, "%s/b", dir);
    snprintf(link, sizeof link, "%s/link", dir), snprintf(sub, sizeof sub, "%s/sub", dir);
    FILE *f = fopen(a, "w");
    fputs("input", f), fclose(f);
    assert_int_equal(symlink(a, link), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    const char *in = NULL, *out = NULL, *png = NULL, *model = NULL, *ops[3];
    int n_ops = 0;
    const opt rows[] = {OPT_INPUT(&in, "in"), OPT_MODEL(&model), OPT_OUTPUT(&out, "out"),
                        OPT_OUTFILE(0, "png", &png, "FILE", "picture", OPT_OUT_DIR),
                        OPT_APPEND(0, NULL, ops, &n_ops, "input", NULL), OPT_END};
#define PARSE(...) (snprintf(line, sizeof line, __VA_ARGS__), in = out = png = model = NULL, \
                    n_ops = 0, parse(rows, line))
    assert_int_equal(PARSE("-i %s -o %s --png %s", a, b, sub), 0); /* a folder where one is taken */
    assert_int_equal(PARSE("-o /dev/null"), 2);
    one_line_error("earsight: /dev/null: not a regular file");
    assert_int_equal(PARSE("-o %s", link), 2);
    one_line_error("is a symbolic link");
    assert_int_equal(PARSE("-o %s", sub), 2);
    one_line_error("is a folder");
    assert_int_equal(PARSE("--png %s/nope/x.png", dir), 1);
    one_line_error("nope/x.png: cannot write: no such folder");
    assert_int_equal(PARSE("-i %s -o %s", a, a), 2);
    one_line_error("is also an input of this run");
    assert_int_equal(PARSE("-m %s/../%s -o %s", dir, a + 5, a), 2); /* the same file, another name */
    one_line_error("is also an input of this run");
    assert_int_equal(PARSE("%s -o %s", a, a), 2); /* an operand is an input too */
    one_line_error("is also an input of this run");
    assert_int_equal(PARSE("-o %s --png %s", b, b), 2);
    one_line_error("is named as two outputs");
    assert_int_equal(access(b, F_OK), -1); /* nothing written */
#undef PARSE
    unlink(link), unlink(a), rmdir(sub), rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(forms),
        cmocka_unit_test(early_and_features),
        cmocka_unit_test(help_and_jobs),
        cmocka_unit_test(files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
