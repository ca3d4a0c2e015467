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

#include "plugins/abi_state.h"
#include "testenv.h"

#define MAIN_DIR TEST_PLUGIN_DIR "/main"
#define ABI_DIR TEST_PLUGIN_DIR "/abi"
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

/* A plugin built from the 1.0 headers and one of 1.1 in one directory:
 * both load, both inits run, each gets its options its own way and the
 * host speaks each one's version. */
static void test_abi10_and_abi11_side_by_side(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"sandbox\": {"
                                     "\"abi10\": {\"endpoint\": \"http://ten\", \"retries\": 7},"
                                     "\"abi11\": {\"endpoint\": \"http://eleven\", \"retries\": 5, \"name\": \"n1\","
                                     " \"tags\": [\"x\"], \"verbose\": true}}}");
    const char *dirs[] = {ABI_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_non_null(ctx);

    const struct corral_plugin_record *ten = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "abi10");
    assert_non_null(ten);
    assert_int_equal(ten->desc->abi_version, CORRAL_ABI(1, 0));
    assert_int_equal(ten->host->abi_version, CORRAL_ABI(1, 0)); /* negotiated, not the host's newest */
    const struct abi10_state *s10 = ten->state;
    assert_non_null(s10);
    assert_int_equal(s10->inits, 1);
    assert_int_equal(s10->host_abi, CORRAL_ABI(1, 0));
    assert_string_equal(s10->endpoint, "http://ten");
    assert_int_equal(s10->retries, 7);

    const struct corral_plugin_record *eleven = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "abi11");
    assert_non_null(eleven);
    assert_int_equal(eleven->host->abi_version, CORRAL_ABI(1, 1));
    const struct abi11_state *s11 = eleven->state;
    assert_non_null(s11);
    assert_int_equal(s11->inits, 1);
    assert_ptr_equal(s11->host, eleven->host); /* init2 got this plugin's table */
    assert_int_equal(s11->host_abi, CORRAL_ABI(1, 1));
    assert_true(s11->bound_before_init);
    assert_string_equal(s11->endpoint, "http://eleven");
    assert_int_equal(s11->retries, 5);
    assert_true(s11->ratio == 0.5); /* the default */
    assert_int_equal(s11->verbose, 1);
    assert_string_equal(s11->tags[0], "x");
    assert_null(s11->tags[1]);
    assert_string_equal(s11->name, "n1");

    /* A bound option outside the declared state is a bad descriptor. */
    assert_refused(ctx, "abibad", NULL, "bound option 'name' at offset");
    corral_close(ctx);
}

/* Type, limit and REQUIRED errors of bound options name the file and key,
 * and refuse only that plugin. */
static void test_bound_option_errors_name_file_and_key(void **state)
{
    (void)state;
    char a[512], b[512]; /* testenv_write returns a static buffer */
    snprintf(a, sizeof a, "%s", testenv_write("etc/corral.json", "{\"sandbox\": {\"abi11\": {\"retries\": \"five\"}}}"));
    snprintf(b, sizeof b, "%s", testenv_write("etc/conf.d/20.json",
                                  "{\"sandbox\": {\"abi11\": {\"retries\": 50, \"ratio\": 2, \"endpoint\": \"\","
                                  " \"tags\": [\"1\", \"2\", \"3\", \"4\"]}}}"));
    const char *dirs[] = {ABI_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    const char *errs = corral_config_errors(ctx);
    char want[5][1024];
    snprintf(want[0], sizeof want[0], "%s: sandbox.abi11.retries must be an integer\n", a);
    snprintf(want[1], sizeof want[1], "%s: sandbox.abi11.retries must be an integer from 1 to 10, not 50\n", b);
    snprintf(want[2], sizeof want[2], "%s: sandbox.abi11.ratio must be a number from 0 to 1, not 2\n", b);
    snprintf(want[3], sizeof want[3], "%s: sandbox.abi11.tags must be an array of at most 3 strings\n", b);
    snprintf(want[4], sizeof want[4], "%s: sandbox.abi11.name is required but not set", b);
    for (size_t i = 0; i < 5; i++)
        if (!strstr(errs, want[i]))
            fail_msg("expected '%s' in:\n%s", want[i], errs);
    if (!strstr(errs, "sandbox.abi11.endpoint must be a non-empty string"))
        fail_msg("no message for the empty endpoint in:\n%s", errs);
    assert_refused(ctx, "abi11", NULL, "invalid configuration");
    assert_non_null(corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "abi10"));
    corral_close(ctx);

    /* With no section anywhere, the message says so. */
    testenv_write("etc/corral.json", "{}");
    testenv_write("etc/conf.d/20.json", "{}");
    ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    if (!strstr(corral_config_errors(ctx), "no config file: sandbox.abi11.name is required but not set"))
        fail_msg("got:\n%s", corral_config_errors(ctx));
    corral_close(ctx);
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
        cmocka_unit_test_setup_teardown(test_abi10_and_abi11_side_by_side, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bound_option_errors_name_file_and_key, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
