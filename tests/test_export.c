/* The pieces of `earsight export` in pipeline/: output stems, the path hash and shards, the
 * inputs of folders and lists, the CSV table, the gallery page. */
#include "testutil.h"
#include "pipeline/es_pipeline.h"
#include <sys/stat.h>

static char dir[] = "/tmp/es_export_XXXXXX";

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* FNV-1a 64 of known strings (the shard of a path must never change between versions). */
static void hash_is_fnv1a(void **state)
{
    assert_true(es_path_hash("") == 14695981039346656037ull);
    assert_true(es_path_hash("a") == 0xaf63dc4c8601ec8cull);
    assert_true(es_path_hash("foobar") == 0x85944171f73967e8ull);
}

static int stem_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 9 && n < ES_STEM_MAX && !strchr(s, '/') && s[0] != '.' && s[n - 9] == '-';
}

static void stems_stay_in_the_folder(void **state)
{
    char s[ES_STEM_MAX], t[ES_STEM_MAX], longname[600];
    es_export_stem("corpus/sub/a b.wav", s);
    assert_true(stem_ok(s));
    assert_memory_equal(s, "a_b-", 4);
    es_export_stem("../../etc/passwd", s);
    assert_true(stem_ok(s) && strncmp(s, "passwd-", 7) == 0);
    es_export_stem("/abs/..", s); /* a name of dots only */
    assert_true(stem_ok(s) && s[0] == '_');
    es_export_stem("dir/", s); /* no base name at all */
    assert_true(stem_ok(s) && strncmp(s, "clip-", 5) == 0);
    es_export_stem("x/über ñ.flac", s);
    assert_true(stem_ok(s) && strncmp(s, "über_ñ-", strlen("über_ñ-")) == 0);
    es_export_stem("x/bad\xff\xfe.wav", s); /* not UTF-8: made '_' */
    assert_true(stem_ok(s) && strncmp(s, "bad__-", 6) == 0);
    memset(longname, 'y', sizeof longname - 1), longname[sizeof longname - 1] = 0;
    es_export_stem(longname, s);
    assert_true(stem_ok(s) && strlen(s) == 96 + 9);
    /* cut on a character boundary: 95 'é' bytes would split one */
    char acc[400] = "a";
    for (int k = 0; k < 60; k++)
        strcat(acc, "é");
    es_export_stem(acc, s);
    assert_true(stem_ok(s) && strlen(s) - 9 == 95);
    /* the same name elsewhere is another stem; the same path the same stem */
    es_export_stem("a/x.wav", s), es_export_stem("b/x.wav", t);
    assert_string_not_equal(s, t);
    es_export_stem("a/x.wav", t);
    assert_string_equal(s, t);
}

static void shards_cover_once(void **state)
{
    es_inputs all = {0};
    char p[64];
    for (int i = 0; i < 300; i++) {
        snprintf(p, sizeof p, "clips/%d.wav", i);
        assert_int_equal(es_inputs_add(&all, p), 0);
    }
    assert_int_equal(es_inputs_add(&all, "clips/7.wav"), 0); /* a repeat is one input */
    assert_int_equal(all.n, 300);
    int seen[300] = {0}, total = 0;
    for (int k = 1; k <= 3; k++) {
        es_inputs s = {0};
        for (int i = 0; i < 300; i++)
            es_inputs_add(&s, all.path[i]);
        int n = es_inputs_shard(&s, k, 3);
        assert_true(n > 60 && n < 140); /* about a third */
        for (int i = 0; i < n; i++)
            seen[atoi(s.path[i] + 6)]++;
        total += n;
        es_inputs_add(&s, s.path[0]); /* the set still finds what is kept */
        assert_int_equal(s.n, n);
        es_inputs_free(&s);
    }
    assert_int_equal(total, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(seen[i], 1);
    es_inputs_free(&all);
}

static void folders_and_lists(void **state)
{
    char p[512];
    snprintf(p, sizeof p, "%s/sub", dir), mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/.git", dir), mkdir(p, 0777);
    put("b.wav", ""), put("a.FLAC", ""), put("sub/c.ogg", ""), put(".git/d.wav", "");
    put("notes.txt", ""), put("raw.raw", "");
    es_inputs l = {0};
    assert_int_equal(es_inputs_add(&l, dir), 0);
    assert_int_equal(l.n, 3); /* a.FLAC, b.wav, sub/c.ogg in byte order */
    assert_non_null(strstr(l.path[0], "/a.FLAC"));
    assert_non_null(strstr(l.path[2], "/sub/c.ogg"));
    es_inputs_free(&l);

    put("list.csv", "\xEF\xBB\xBFitemid,hasbird\nb,1\n\"sub/c\",0\n");
    char *classes[] = {"nobird", "bird"};
    snprintf(p, sizeof p, "%s/list.csv", dir);
    assert_int_equal(es_inputs_list(&l, p, classes, 2), 0);
    assert_int_equal(l.n, 2);
    assert_non_null(strstr(l.path[0], "/b.wav")); /* itemid: the extension found */
    assert_string_equal(l.label[0], "bird");
    assert_string_equal(l.label[1], "nobird");
    es_inputs_free(&l);

    put("list.txt", "# a comment\nb.wav\n\nx, \"y\".wav\r\n/abs/z.wav\n");
    snprintf(p, sizeof p, "%s/list.txt", dir);
    assert_int_equal(es_inputs_list(&l, p, NULL, 0), 0);
    assert_int_equal(l.n, 3);
    assert_non_null(strstr(l.path[1], "/x, \"y\".wav")); /* a plain line as it is */
    assert_string_equal(l.path[2], "/abs/z.wav");
    assert_null(l.label[0]);
    es_inputs_free(&l);

    put("bad.csv", "path,hasbird\nb.wav,2\n");
    snprintf(p, sizeof p, "%s/bad.csv", dir);
    assert_int_equal(es_inputs_list(&l, p, classes, 2), -1);
    assert_non_null(strstr(es_error(), "bad.csv:2"));
    es_inputs_free(&l);
}

/* The names a folder contributes: libsndfile's formats, Ogg's and MP3's usual names, any
 * case; not raw, not other files. The viewer's browser asks the same function. */
static void sound_names(void **state)
{
    const char *yes[] = {"a.wav", "b.FLAC", "c.ogg", "d.opus", "e.mp3", "f.MP3", "g.aiff", "h/i.au"};
    const char *no[] = {"a.txt", "b.raw", "c", "d.", "e.mp3/f", "notes.csv"};
    for (size_t k = 0; k < sizeof yes / sizeof *yes; k++)
        if (!es_sound_name(yes[k]))
            fail_msg("%s is a sound name", yes[k]);
    for (size_t k = 0; k < sizeof no / sizeof *no; k++)
        if (es_sound_name(no[k]))
            fail_msg("%s is not a sound name", no[k]);
}

static void table_round_trip(void **state)
{
    const char *cols[] = {"path", "p", "status"};
    es_table t, r;
    char p[512];
    snprintf(p, sizeof p, "%s/t.csv", dir);
    assert_int_equal(es_table_init(&t, cols, 3), 0);
    const char *paths[] = {"z, \"quoted\".wav", "a\nnewline.wav", " blank.wav"};
    for (int i = 0; i < 3; i++) {
        int k = es_table_add(&t);
        assert_int_equal(k, i);
        es_table_set(&t, k, "path", paths[i]);
        es_table_set(&t, k, "status", i == 1 ? "error: x" : "ok");
    }
    assert_int_equal(es_table_set(&t, 0, "nope", "x"), -1);
    es_table e;
    assert_int_equal(es_table_init(&e, cols, 3), 0);
    assert_int_equal(es_table_sort(&e, "path", NULL), 0); /* an empty shard's summary */
    assert_int_equal(es_table_sort(&e, "nope", NULL), -1);
    es_table_free(&e);
    int order[3];
    assert_int_equal(es_table_sort(&t, "path", order), 0);
    assert_int_equal(order[0], 2), assert_int_equal(order[1], 1), assert_int_equal(order[2], 0);
    assert_int_equal(es_table_write(&t, p), 0);
    assert_int_equal(es_table_read(&r, p), 0);
    assert_int_equal(r.n, 3), assert_int_equal(r.cols, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(es_table_get(&r, i, "path"), es_table_get(&t, i, "path"));
        assert_string_equal(es_table_get(&r, i, "p"), "");
    }
    assert_null(es_table_get(&r, 3, "path"));
    es_table_free(&t), es_table_free(&r);
}

static void gallery_escapes(void **state)
{
    const char *cols[] = {"path", "predicted", "p", "span_guided", "label", "status"};
    es_table t;
    char p[512], *text;
    assert_int_equal(es_table_init(&t, cols, 6), 0);
    int k = es_table_add(&t);
    es_table_set(&t, k, "path", "<b>&amp; #1 ü.wav");
    es_table_set(&t, k, "predicted", "bird"), es_table_set(&t, k, "p", "0.5");
    es_table_set(&t, k, "label", "nobird"), es_table_set(&t, k, "status", "ok");
    snprintf(p, sizeof p, "%s/index.html", dir);
    assert_int_equal(es_gallery_html(p, &t, NULL, "t"), 0);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    text = calloc(1, 1 << 16);
    assert_true(fread(text, 1, (1 << 16) - 1, f) > 0);
    fclose(f);
    assert_null(strstr(text, "<b>"));                   /* the path is text, not markup */
    assert_non_null(strstr(text, "&lt;b&gt;&amp;amp;"));
    assert_non_null(strstr(text, "class=\"card dis\"")); /* bird is not its label nobird */
    char stem[ES_STEM_MAX], want[300];
    es_export_stem("<b>&amp; #1 ü.wav", stem);
    assert_string_equal(stem + strlen(stem) - 9, strrchr(stem, '-'));
    assert_memory_equal(stem, "_b__amp___1_ü-", strlen("_b__amp___1_ü-"));
    snprintf(want, sizeof want, "src=\"clips/_b__amp___1_%%C3%%BC-%s.guided.png\"", stem + strlen(stem) - 8);
    assert_non_null(strstr(text, want));                /* a URL: UTF-8 percent-encoded */
    assert_non_null(strstr(text, "<audio controls preload=\"none\" src=\""));
    assert_null(strstr(text, "http"));
    free(text);
    es_table_free(&t);
}

int main(void)
{
    assert_non_null(mkdtemp(dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_is_fnv1a),      cmocka_unit_test(stems_stay_in_the_folder),
        cmocka_unit_test(shards_cover_once),  cmocka_unit_test(folders_and_lists),
        cmocka_unit_test(table_round_trip),   cmocka_unit_test(gallery_escapes),
        cmocka_unit_test(sound_names),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
