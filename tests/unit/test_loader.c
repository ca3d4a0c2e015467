/* The loader: what loads, what is refused and why, and what is never mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testenv.h"

#define MAIN_DIR TEST_PLUGIN_DIR "/main"
#define SECOND_DIR TEST_PLUGIN_DIR "/second"


static void assert_refused(corral_ctx *ctx, const char *name, const char *dir, const char *why)
{
    const struct corral_plugin_record *r = testenv_record(ctx, CORRAL_PLUGIN_SANDBOX, name, dir);
    assert_non_null(r);
    assert_int_equal(r->status, CORRAL_PLUGIN_REFUSED);
    assert_non_null(r->reason);
    if (!strstr(r->reason, why))
        fail_msg("%s: reason '%s' does not mention '%s'", name, r->reason, why);
    assert_null(r->desc);
}

static void test_each_refusal_has_its_reason(void **state)
{
    (void)state;
    const char *dirs[] = {MAIN_DIR, SECOND_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);

    const struct corral_plugin_record *good = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "good");
    assert_non_null(good);
    assert_non_null(strstr(good->path, "/plugins/main/"));
    assert_string_equal(good->desc->version, "1.2.3");
    assert_non_null(good->state); /* init ran */
    assert_non_null(corral_plugin_find(ctx, CORRAL_PLUGIN_AGENT, "good"));

    assert_refused(ctx, "nosym", NULL, "missing symbol corral_plugin_entry");
    assert_refused(ctx, "abitwo", NULL, "no acceptable ABI version: the plugin implements 2.0");
    assert_refused(ctx, "misnamed", NULL, "does not match the file name");
    assert_refused(ctx, "noexec", NULL, "mandatory sandbox op");
    assert_refused(ctx, "declines", NULL, "declined to load");
    assert_refused(ctx, "initfail", NULL, "init failed: the test plugin was told to fail");
    assert_refused(ctx, "baddefault", NULL, "option 'broken' has a default that is not an integer");
    assert_refused(ctx, "good", "/plugins/second/", "duplicate name: sandbox 'good' is already provided by");
    corral_close(ctx);
}

static void test_older_and_newer_minor_tables_load(void **state)
{
    (void)state;
    const char *dirs[] = {MAIN_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    const struct corral_plugin_record *old = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "oldtable");
    assert_non_null(old);
    const struct corral_sandbox_ops *ops = old->desc->ops;
    assert_int_equal(ops->struct_size, CORRAL_SANDBOX_OPS_MIN_SIZE);
    /* Slots past the plugin's table are absent, whatever memory follows it. */
    assert_true(CORRAL_HAS(ops, close));
    assert_false(CORRAL_HAS(ops, state));
    assert_false(CORRAL_HAS(ops, remove));

    const struct corral_plugin_record *newer = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "newminor");
    assert_non_null(newer);
    assert_int_equal(CORRAL_ABI_MINOR(newer->desc->abi_version), 9);
    corral_close(ctx);
}

static int mapped(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, path))
            found = 1;
    if (f)
        fclose(f);
    return found;
}

static void test_disabled_plugin_is_never_mapped(void **state)
{
    (void)state;
    testenv_write("etc/conf.d/50-off.json", "{\"sandbox\": {\"good\": {\"enabled\": false}}}");
    const char *dirs[] = {MAIN_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);
    const struct corral_plugin_record *r = testenv_record(ctx, CORRAL_PLUGIN_SANDBOX, "good", NULL);
    assert_non_null(r);
    assert_int_equal(r->status, CORRAL_PLUGIN_DISABLED);
    assert_null(corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "good"));
    assert_false(mapped(MAIN_DIR "/sandbox_good.so"));
    assert_true(mapped(MAIN_DIR "/agent_good.so")); /* the control: loaded ones are mapped */
    corral_close(ctx);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    assert_int_equal(chmod(to, mode), 0);
}

static void test_unsafe_files_are_refused_and_odd_names_ignored(void **state)
{
    (void)state;
    const char *d = getenv("HOME"); /* the test's private dir */
    char gw[256], ln[256], lnk[512], odd[512], upper[512];
    snprintf(gw, sizeof gw, "%s/gw", d);
    snprintf(ln, sizeof ln, "%s/ln", d);
    mkdir(gw, 0755);
    mkdir(ln, 0755);
    char p[600];
    snprintf(p, sizeof p, "%s/sandbox_good.so", gw);
    copy_file(MAIN_DIR "/sandbox_good.so", p, 0664);
    snprintf(lnk, sizeof lnk, "%s/sandbox_good.so", ln);
    assert_int_equal(symlink(MAIN_DIR "/sandbox_good.so", lnk), 0);
    snprintf(odd, sizeof odd, "%s/libsandbox_good.so", ln);
    copy_file(MAIN_DIR "/sandbox_good.so", odd, 0644);
    snprintf(upper, sizeof upper, "%s/sandbox_Good.so", ln);
    copy_file(MAIN_DIR "/sandbox_good.so", upper, 0644);

    const char *dirs[] = {gw, ln, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_refused(ctx, "good", "/gw/", "group- or world-writable (mode 0664)");
    assert_refused(ctx, "good", "/ln/", "not a regular file");
    size_t n, ours = 0;
    const struct corral_plugin_record *recs = corral_plugins(ctx, &n);
    for (size_t i = 0; i < n; i++) /* the compiled-in directory may hold installed plugins too */
        ours += strncmp(recs[i].path, d, strlen(d)) == 0;
    assert_int_equal(ours, 2); /* lib*.so and upper-case names are not plugin files */
    assert_false(mapped(p));
    corral_close(ctx);
}

static void test_search_path_order(void **state)
{
    (void)state;
    /* --plugin-dir first, then config plugin_dirs, then CORRAL_PLUGIN_PATH. */
    testenv_write("etc/corral.json", "{\"plugin_dirs\": [\"" SECOND_DIR "\"]}");
    setenv("CORRAL_PLUGIN_PATH", MAIN_DIR, 1);
    const char *none[] = {NULL};
    int st;
    corral_ctx *ctx = testenv_open(none, NULL, &st);
    const struct corral_plugin_record *good = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "good");
    assert_non_null(good);
    assert_non_null(strstr(good->path, "/plugins/second/"));
    assert_refused(ctx, "good", "/plugins/main/", "already provided by " SECOND_DIR);
    corral_close(ctx);
    unsetenv("CORRAL_PLUGIN_PATH");
}

static void test_each_refusal_is_one_log_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    const char *dirs[] = {MAIN_DIR, SECOND_DIR, NULL};
    struct corral_options o = {.struct_size = sizeof o, .plugin_dirs = dirs, .log_level = "warn"};
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *ctx = NULL;
    corral_log_setup(CORRAL_LOG_WARN, log);
    assert_int_equal(corral_open(&o, &ctx, &call), 0);
    fflush(log);
    size_t n, refused = 0, ours = 0;
    const struct corral_plugin_record *r = corral_plugins(ctx, &n);
    for (size_t i = 0; i < n; i++) {
        if (r[i].status != CORRAL_PLUGIN_REFUSED)
            continue;
        ours += strncmp(r[i].path, TEST_PLUGIN_DIR, strlen(TEST_PLUGIN_DIR)) == 0;
        refused++;
        char needle[1024];
        snprintf(needle, sizeof needle, "refused plugin %s: %s\n", r[i].path, r[i].reason);
        if (!strstr(buf, needle))
            fail_msg("no log line '%s' in:\n%s", needle, buf);
    }
    size_t lines = 0;
    for (char *s = buf; (s = strstr(s, "refused plugin ")); s++)
        lines++;
    assert_int_equal(lines, refused);
    assert_int_equal(ours, 8); /* the compiled-in directory may add installed plugins */
    corral_close(ctx);
    corral_log_setup(CORRAL_LOG_WARN, stderr);
    fclose(log);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_refusal_has_its_reason, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_older_and_newer_minor_tables_load, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_disabled_plugin_is_never_mapped, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_files_are_refused_and_odd_names_ignored, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_search_path_order, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_each_refusal_is_one_log_line, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
