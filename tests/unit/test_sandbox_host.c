/* Sandbox host layer: label/env validation, ids, the registry, output
 * capping, and native-vs-emulated op reporting. */
#include "base/internal.h" /* crl_sandbox_table_new */
#include "sandbox/sandbox_internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static void test_env_names(void **st)
{
    (void)st;
    assert_true(corral_env_name_valid("A"));
    assert_true(corral_env_name_valid("_x9"));
    assert_true(corral_env_name_valid("OPENAI_API_KEY"));
    assert_false(corral_env_name_valid(""));
    assert_false(corral_env_name_valid("9A"));
    assert_false(corral_env_name_valid("A-B"));
    assert_false(corral_env_name_valid("A B"));
    assert_false(corral_env_name_valid("A;rm"));
    assert_false(corral_env_name_valid("$(id)"));
    assert_false(corral_env_name_valid(NULL));
    assert_true(corral_env_entry_valid("A=$(id)\n'\""));
    assert_true(corral_env_entry_valid("A="));
    assert_false(corral_env_entry_valid("A"));
    assert_false(corral_env_entry_valid("=x"));
    assert_false(corral_env_entry_valid("A B=x"));
}

static void test_labels(void **st)
{
    (void)st;
    assert_true(corral_label_valid("team=rl", 0));
    assert_true(corral_label_valid("a.b/c-d_e=v1.2:3@h+x,y", 0));
    assert_true(corral_label_valid("empty=", 0));
    assert_false(corral_label_valid("noequals", 0));
    assert_false(corral_label_valid("=v", 0));
    assert_false(corral_label_valid("-k=v", 0));
    assert_false(corral_label_valid("k=has space", 0));
    assert_false(corral_label_valid("k=$(id)", 0));
    assert_false(corral_label_valid("k=a'b", 0));
    assert_false(corral_label_valid("k=a\nb", 0));
    assert_false(corral_label_valid("k y=v", 0));
    /* reserved prefix only for the host */
    assert_false(corral_label_valid("corral.id=x", 0));
    assert_true(corral_label_valid("corral.id=x", 1));
    char longv[300];
    memset(longv, 'a', sizeof longv);
    memcpy(longv, "k=", 2);
    longv[sizeof longv - 1] = '\0';
    assert_false(corral_label_valid(longv, 0));
    /* the owner string is always a valid label value */
    char owner[256], l[300];
    corral_sandbox_owner(owner, sizeof owner);
    snprintf(l, sizeof l, "corral.owner=%s", owner);
    assert_true(corral_label_valid(l, 1));
    char pid[32];
    snprintf(pid, sizeof pid, ":%ld", (long)getpid());
    assert_non_null(strstr(owner, pid));
}

static void test_ids(void **st)
{
    (void)st;
    struct corral_call call;
    corral_call_init(&call, 0);
    char id[96], prev[96] = "", b[64];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(corral_sandbox_id_new("local", id, sizeof id, &call), 0);
        assert_int_equal(strlen(id), strlen("local-") + 16);
        assert_true(corral_sandbox_id_valid(id));
        assert_string_not_equal(id, prev);
        strcpy(prev, id);
    }
    assert_int_equal(corral_sandbox_id_backend(id, b, sizeof b), 0);
    assert_string_equal(b, "local");
    assert_int_equal(corral_sandbox_id_new("Bad-Name", id, sizeof id, &call), CORRAL_EINVAL);
    assert_int_equal(corral_sandbox_id_new("", id, sizeof id, &call), CORRAL_EINVAL);
    assert_int_equal(corral_sandbox_id_new("local", id, 10, &call), CORRAL_EINVAL);
    assert_true(corral_sandbox_id_valid("my_backend2-0123456789abcdef"));
    assert_false(corral_sandbox_id_valid("local-0123456789ABCDEF"));
    assert_false(corral_sandbox_id_valid("local-0123456789abcde"));
    assert_false(corral_sandbox_id_valid("-0123456789abcdef"));
    assert_false(corral_sandbox_id_valid("../x-0123456789abcdef"));
    assert_false(corral_sandbox_id_valid("local_0123456789abcdef"));
}

static char statedir[PATH_MAX];

struct seen { int n; int found; };
static int each_cb(void *ud, const char *id, const char *backend, const char *state, int64_t deadline)
{
    struct seen *s = ud;
    s->n++;
    if (!strcmp(id, "fake-00000000000000aa") && !strcmp(backend, "fake") && !strcmp(state, "{\"k\":\"v\\\"q\"}") &&
        deadline == 1234)
        s->found = 1;
    return 0;
}

static void test_registry_roundtrip(void **st)
{
    (void)st;
    snprintf(statedir, sizeof statedir, "/tmp/corral-test-reg-XXXXXX");
    assert_non_null(mkdtemp(statedir));
    setenv("CORRAL_STATE_DIR", statedir, 1);
    struct corral_call call;
    corral_call_init(&call, 0);
    const char *id = "fake-00000000000000aa";
    assert_int_equal(corral_registry_put(id, "fake", "{\"k\":\"v\\\"q\"}", 1234, &call), 0);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/sandboxes/%s.json", statedir, id);
    struct stat s;
    assert_int_equal(stat(path, &s), 0);
    assert_int_equal(s.st_mode & 0777, 0600);
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/sandboxes", statedir);
    assert_int_equal(stat(dir, &s), 0);
    assert_int_equal(s.st_mode & 0777, 0700);
    char *b = NULL, *state = NULL;
    int64_t dl = 0;
    assert_int_equal(corral_registry_get(id, &b, &state, &dl, &call), 0);
    assert_string_equal(b, "fake");
    assert_string_equal(state, "{\"k\":\"v\\\"q\"}");
    assert_int_equal(dl, 1234);
    free(b);
    free(state);
    /* a second entry and garbage in the dir */
    assert_int_equal(corral_registry_put("fake-00000000000000bb", "fake", "{}", 1, &call), 0);
    char junk[PATH_MAX + 64];
    snprintf(junk, sizeof junk, "%s/sandboxes/fake-00000000000000cc.json", statedir);
    FILE *f = fopen(junk, "w");
    fputs("{not json", f);
    fclose(f);
    struct seen sn = { 0, 0 };
    assert_int_equal(corral_registry_each(each_cb, &sn, &call), 0);
    assert_int_equal(sn.n, 2);
    assert_true(sn.found);
    /* ids are checked before they become paths */
    assert_int_equal(corral_registry_put("../../etc/x", "fake", "{}", 1, &call), CORRAL_EINVAL);
    assert_int_equal(corral_registry_get("nope", NULL, NULL, NULL, &call), CORRAL_EINVAL);
    assert_int_equal(corral_registry_del(id, &call), 0);
    assert_int_equal(corral_registry_del(id, &call), 0); /* absent is fine */
    assert_int_equal(corral_registry_get(id, NULL, NULL, NULL, &call), CORRAL_ENOTFOUND);
    assert_non_null(strstr(call.message, id));
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", statedir);
    assert_int_equal(system(cmd), 0);
    unsetenv("CORRAL_STATE_DIR");
}

static void test_capture_cap(void **st)
{
    (void)st;
    struct corral_capture c = { .cap = 10 };
    struct corral_sink s;
    corral_capture_sink(&c, &s);
    assert_int_equal(s.write(s.ud, "hello", 5), 0);
    assert_int_equal(c.truncated, 0);
    assert_string_equal(c.data, "hello");
    assert_int_equal(s.write(s.ud, "world!!", 7), 0);
    assert_int_equal(c.len, 10);
    assert_int_equal(c.total, 12);
    assert_int_equal(c.truncated, 1);
    assert_memory_equal(c.data, "helloworld", 10);
    assert_int_equal(c.data[10], '\0');
    assert_int_equal(s.write(s.ud, "more", 4), 0);
    assert_int_equal(c.len, 10);
    assert_int_equal(c.total, 16);
    corral_capture_free(&c);
    assert_null(c.data);
    assert_int_equal(c.cap, 10);
    /* exactly at the cap is not truncated */
    assert_int_equal(s.write(s.ud, "0123456789", 10), 0);
    assert_int_equal(c.truncated, 0);
    assert_int_equal(c.len, 10);
    corral_capture_free(&c);
    /* binary data and large writes */
    struct corral_capture big = { .cap = 0 };
    corral_capture_sink(&big, &s);
    char *chunk = malloc(1 << 20);
    for (int i = 0; i < (1 << 20); i++)
        chunk[i] = (char)i;
    for (int i = 0; i < 17; i++)
        assert_int_equal(s.write(s.ud, chunk, 1 << 20), 0);
    assert_int_equal(big.len, CORRAL_EXEC_DEFAULT_CAP);
    assert_int_equal(big.total, (size_t)17 << 20);
    assert_int_equal(big.truncated, 1);
    assert_memory_equal(big.data + (5u << 20), chunk, 1 << 20);
    free(chunk);
    corral_capture_free(&big);
}

static int x_exec(corral_sbx *s, const struct corral_exec_request *r, struct corral_exec_result *res, corral_call *c)
{
    (void)s; (void)r; (void)res; (void)c;
    return 0;
}
static int x_destroy(corral_sbx *s, corral_call *c) { (void)s; (void)c; return 0; }
static void x_close(corral_sbx *s) { (void)s; }
static int x_read(corral_sbx *s, const char *p, const struct corral_sink *k, corral_call *c)
{
    (void)s; (void)p; (void)k; (void)c;
    return 0;
}
static int x_pause(corral_sbx *s, corral_call *c) { (void)s; (void)c; return 0; }

static void test_op_support(void **st)
{
    (void)st;
    /* a minimal table: ends after the mandatory slots, but a stray pointer
     * lies beyond struct_size and must not be used */
    struct corral_sandbox_ops min = { .struct_size = CORRAL_SANDBOX_OPS_MIN_SIZE, .exec = x_exec,
                                      .destroy = x_destroy, .close = x_close, .read_file = x_read,
                                      .pause = x_pause, .resume = x_pause, .caps = CORRAL_CAP_PAUSE };
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_EXEC), CORRAL_OP_NATIVE);
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_READ_FILE), CORRAL_OP_EMULATED);
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_SPAWN), CORRAL_OP_EMULATED);
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_GET_ARCHIVE), CORRAL_OP_EMULATED);
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_PAUSE), CORRAL_OP_NONE);
    assert_int_equal(corral_sandbox_op_support(&min, CORRAL_OP_LIST), CORRAL_OP_NONE);
    struct corral_sandbox_ops full = min;
    full.struct_size = sizeof full;
    assert_int_equal(corral_sandbox_op_support(&full, CORRAL_OP_READ_FILE), CORRAL_OP_NATIVE);
    assert_int_equal(corral_sandbox_op_support(&full, CORRAL_OP_PAUSE), CORRAL_OP_NATIVE);
    full.caps = 0; /* slots without the capability flag do not count */
    assert_int_equal(corral_sandbox_op_support(&full, CORRAL_OP_PAUSE), CORRAL_OP_NONE);
    char line[512];
    corral_sandbox_ops_describe(&min, line, sizeof line);
    assert_non_null(strstr(line, "exec:native"));
    assert_non_null(strstr(line, "read_file:emulated"));
    assert_non_null(strstr(line, "pause:none"));
    /* the host refuses the op with a message naming the backend */
    /* the table the loader completes once: the stray pause beyond
     * struct_size is not used, the stub answers instead */
    struct crl_sandbox_table *tbl = crl_sandbox_table_new(&min);
    assert_non_null(tbl);
    corral_sandbox sb = { .ops = &min, .tbl = tbl };
    snprintf(sb.backend, sizeof sb.backend, "tiny");
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_sandbox_pause(&sb, &call), CORRAL_ENOTSUP);
    assert_non_null(strstr(call.message, "tiny"));
    assert_int_equal(corral_sandbox_running(&sb, &call), CORRAL_ENOTSUP);
    /* relative paths never reach a plugin */
    assert_int_equal(corral_sandbox_write_mem(&sb, "rel", "x", 1, 0644, &call), CORRAL_EINVAL);
    /* with the full table, pause is the plugin's own */
    full.caps = CORRAL_CAP_PAUSE;
    struct crl_sandbox_table *ftbl = crl_sandbox_table_new(&full);
    corral_sandbox fsb = { .ops = &full, .tbl = ftbl };
    assert_int_equal(corral_sandbox_pause(&fsb, &call), 0);
    crl_sandbox_table_free(ftbl);
    crl_sandbox_table_free(tbl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_names),   cmocka_unit_test(test_labels),
        cmocka_unit_test(test_ids),         cmocka_unit_test(test_registry_roundtrip),
        cmocka_unit_test(test_capture_cap), cmocka_unit_test(test_op_support),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
