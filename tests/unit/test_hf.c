/* sandbox_hf against the HF fake (tests/fakes/hf): Jobs API + the sandbox
 * server behind the Jobs proxy, loaded through libcorral's loader.  Every
 * fault ends in success or a classified error, and no job is left running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakesrv.h"
#include "testenv.h"

#define OFF(n) "\"" n "\": {\"enabled\": false}"

static struct fakesrv fake;
static corral_ctx *ctx;
static const struct corral_sandbox_ops *ops;
static void *ps;
static char hubu[128];
static int seq;

static cJSON *admin(const char *method, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", hubu, path);
    cJSON *out = NULL;
    assert_int_equal(fakesrv_call(method, url, body, NULL, &out), 200);
    return out;
}

static void fault(const char *json)
{
    cJSON_Delete(admin("POST", "/_fault", json));
}

static int count_cb(void *ud, const struct corral_sandbox_info *info);

/* Running jobs per the fake; the plugin's list() must agree. */
static int running_jobs(void)
{
    cJSON *s = admin("GET", "/_state", NULL);
    int n = cJSON_GetObjectItem(s, "running")->valueint;
    cJSON_Delete(s);
    struct corral_call call;
    corral_call_init(&call, 30000);
    int listed = 0;
    assert_int_equal(ops->list(ps, NULL, count_cb, &listed, &call), 0);
    assert_int_equal(listed, n);
    return n;
}

struct mem {
    char *p;
    size_t n, off;
};

static int mem_write(void *ud, const void *buf, size_t len)
{
    struct mem *m = ud;
    m->p = realloc(m->p, m->n + len + 1);
    memcpy(m->p + m->n, buf, len);
    m->n += len;
    m->p[m->n] = '\0';
    return 0;
}

static long mem_read(void *ud, void *buf, size_t cap)
{
    struct mem *m = ud;
    size_t n = m->n - m->off < cap ? m->n - m->off : cap;
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    return (long)n;
}

static void reset(struct mem *m)
{
    free(m->p);
    *m = (struct mem){0};
}

static corral_sbx *mk(int64_t deadline_ms, int *rc_out)
{
    char id[64], idl[80];
    snprintf(id, sizeof id, "hf-t%d-%d", (int)getpid(), ++seq);
    snprintf(idl, sizeof idl, "corral.id=%s", id);
    const char *env[] = {"TRICKY='$(id)' \"q\"\nline2", NULL};
    const char *labels[] = {idl, "corral.owner=tester", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = id, .env = env, .labels = labels,
                                       .ttl_s = 600, .network = CORRAL_NET_FULL};
    struct corral_call call;
    corral_call_init(&call, deadline_ms);
    corral_sbx *sb = NULL;
    int rc = ops->create(ps, &spec, &sb, &call);
    if (rc_out)
        *rc_out = rc;
    else if (rc)
        fail_msg("create: %d %s", rc, call.message);
    return sb;
}

static int run(corral_sbx *sb, const char *shell, const char *const *argv, const char *const *env,
               int64_t timeout_ms, const char *in, struct mem *out, struct corral_exec_result *res)
{
    struct corral_sink so = {.struct_size = sizeof so, .write = mem_write, .ud = out};
    struct corral_exec_request req = {.struct_size = sizeof req, .shell = shell, .argv = argv, .env = env,
                                      .timeout_ms = timeout_ms, .out = &so, .stdin_data = in,
                                      .stdin_len = in ? strlen(in) : 0};
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    struct corral_call call;
    corral_call_init(&call, 60000);
    int rc = ops->exec(sb, &req, res, &call);
    if (rc)
        print_message("exec: %s\n", call.message);
    return rc;
}

static void destroy(corral_sbx *sb)
{
    struct corral_call call;
    corral_call_init(&call, 30000);
    assert_int_equal(ops->destroy(sb, &call), 0);
    ops->close(sb);
}

static int count_cb(void *ud, const struct corral_sandbox_info *info)
{
    (void)info;
    ++*(int *)ud;
    return 0;
}

static void test_lifecycle(void **state)
{
    (void)state;
    corral_sbx *sb = mk(60000, NULL);
    struct mem out = {0};
    struct corral_exec_result res;
    const char *pe[] = {"printenv", "TRICKY", NULL};
    assert_int_equal(run(sb, NULL, pe, NULL, 0, NULL, &out, &res), 0);
    assert_string_equal(out.p, "'$(id)' \"q\"\nline2\n"); /* create-time env, verbatim */
    reset(&out);
    const char *env[] = {"PER_EXEC=a'b\"c\nd $(x)", NULL};
    const char *pe2[] = {"printenv", "PER_EXEC", NULL};
    assert_int_equal(run(sb, NULL, pe2, env, 0, NULL, &out, &res), 0);
    assert_string_equal(out.p, "a'b\"c\nd $(x)\n");
    reset(&out);
    const char *bad_env[] = {"1NOPE=x", NULL};
    assert_int_equal(run(sb, NULL, pe2, bad_env, 0, NULL, &out, &res), CORRAL_EINVAL);
    const char *cat[] = {"cat", NULL};
    assert_int_equal(run(sb, NULL, cat, NULL, 0, "piped in\n", &out, &res), 0);
    assert_string_equal(out.p, "piped in\n");
    reset(&out);
    assert_int_equal(run(sb, "pwd; exit 5", NULL, NULL, 0, NULL, &out, &res), 0);
    assert_int_equal(res.exit_code, 5);
    assert_string_equal(out.p, "/workspace\n");
    reset(&out);
    int64_t t0 = corral_now_ms();
    assert_int_equal(run(sb, "sleep 30 & sleep 30", NULL, NULL, 700, NULL, &out, &res), 0);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    assert_true(corral_now_ms() - t0 < 15000);
    const char *missing[] = {"/no/such/binary", NULL};
    assert_int_equal(run(sb, NULL, missing, NULL, 0, NULL, &out, &res), 0);
    assert_int_equal(res.exit_code, 127);
    reset(&out);

    struct corral_call call;
    corral_call_init(&call, 60000);
    struct mem data = {.p = malloc(5), .n = 5};
    memcpy(data.p, "x\0y\n\xff", 5);
    struct corral_source src = {.struct_size = sizeof src, .read = mem_read, .ud = &data, .length = 5};
    assert_int_equal(ops->write_file(sb, "/workspace/a/b/c.bin", &src, 0600, &call), 0);
    free(data.p);
    struct corral_sink so = {.struct_size = sizeof so, .write = mem_write, .ud = &out};
    assert_int_equal(ops->read_file(sb, "/workspace/a/b/c.bin", &so, &call), 0);
    assert_int_equal(out.n, 5);
    assert_memory_equal(out.p, "x\0y\n\xff", 5);
    reset(&out);
    assert_int_equal(run(sb, "stat -c %a a/b/c.bin", NULL, NULL, 0, NULL, &out, &res), 0);
    assert_string_equal(out.p, "600\n");
    reset(&out);
    assert_int_equal(ops->read_file(sb, "/workspace/missing", &so, &call), CORRAL_ENOTFOUND);
    /* staged env/stdin files and earlier outputs are gone: only this
     * command's own two capture files remain, in corral's directory (mode
     * 0700), none in /tmp */
    const char *e2[] = {"X=1", NULL};
    assert_int_equal(run(sb, "ls -A /var/tmp/corral-exec | wc -l; stat -c %a /var/tmp/corral-exec; ls -A /tmp | wc -l",
                         NULL, e2, 0, "in", &out, &res), 0);
    assert_string_equal(out.p, "2\n700\n0\n");
    reset(&out);

    char *st = NULL;
    assert_int_equal(ops->state(sb, &st, &call), 0);
    assert_null(strstr(st, "hf_test_token"));
    cJSON *s = admin("GET", "/_state", NULL);
    const cJSON *job = cJSON_GetObjectItem(s, "jobs")->child;
    /* issue 22 item 6: the token under the name the server generation
     * reads (v1: SBX_TOKEN, else it runs unchecked), never the other one,
     * and not in the commands' environment */
    int v1 = getenv("HF_TEST_SERVER_API") && strcmp(getenv("HF_TEST_SERVER_API"), "v1") == 0;
    const cJSON *secs = cJSON_GetObjectItem(job, "secrets");
    assert_null(cJSON_GetObjectItem(secs, v1 ? "HF_SANDBOX_TOKEN" : "SBX_TOKEN"));
    const char *sbtok = cJSON_GetObjectItem(secs, v1 ? "SBX_TOKEN" : "HF_SANDBOX_TOKEN")->valuestring;
    assert_int_equal(strlen(sbtok), 64);
    assert_null(strstr(st, sbtok));
    assert_int_equal(run(sb, "env", NULL, NULL, 0, NULL, &out, &res), 0);
    assert_null(strstr(out.p, sbtok));
    assert_non_null(strstr(out.p, "TRICKY=")); /* the user's secrets stay */
    reset(&out);
    /* issue 22 item 7: no captured output is left in the sandbox's /tmp */
    char tmpd[600];
    snprintf(tmpd, sizeof tmpd, "%s/tmp", cJSON_GetObjectItem(job, "root")->valuestring);
    DIR *dd = opendir(tmpd);
    assert_non_null(dd);
    for (struct dirent *de; (de = readdir(dd)) != NULL;)
        assert_null(strstr(de->d_name, ".corral-"));
    closedir(dd);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(job, "secrets"), "TRICKY")->valuestring,
                        "'$(id)' \"q\"\nline2"); /* env as secrets, not plain environment */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(job, "environment")), 0);
    /* issue 22 item 11: the TTL (600) plus the boot allowance (ready_timeout_s 20) */
    assert_int_equal(cJSON_GetObjectItem(job, "timeoutSeconds")->valueint, 620);
    cJSON_Delete(s);
    corral_sbx *again = NULL;
    assert_int_equal(ops->attach(ps, st, &again, &call), 0);
    assert_int_equal(ops->running(again, &call), 1);
    ops->close(again);
    int n = 0;
    const char *filt[] = {"corral.owner=tester", NULL};
    assert_int_equal(ops->list(ps, filt, count_cb, &n, &call), 0);
    assert_int_equal(n, 1);
    const char *nomatch[] = {"corral.owner=other", NULL};
    n = 0;
    assert_int_equal(ops->list(ps, nomatch, count_cb, &n, &call), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ops->running(sb, &call), 1);
    /* the protocol asked for is the one spoken */
    cJSON *log = admin("GET", "/_log", NULL);
    char *text = cJSON_PrintUnformatted(log);
    assert_true((strstr(text, "/v1/exec") != NULL) == v1);
    int v0_exec = 0;
    for (const char *at = text; (at = strstr(at, "/exec\"")) != NULL; at++)
        v0_exec |= at - text < 3 || strncmp(at - 3, "/v1", 3) != 0;
    assert_true(v0_exec == !v1);
    free(text);
    cJSON_Delete(log);
    destroy(sb);
    assert_int_equal(running_jobs(), 0);
    assert_int_equal(ops->attach(ps, st, &again, &call), CORRAL_ENOTFOUND);
    assert_int_equal(ops->remove(ps, st, &call), 0);
    free(st);
}

static void test_refusals(void **state)
{
    (void)state;
    /* HF jobs always have internet: "no network" is refused unless allowed */
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = "hf-nonet", .network = CORRAL_NET_NONE};
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *sb = NULL;
    assert_int_equal(ops->create(ps, &spec, &sb, &call), CORRAL_ENOTSUP);
    spec.network = CORRAL_NET_POLICY;
    spec.egress_json = "{}";
    assert_int_equal(ops->create(ps, &spec, &sb, &call), CORRAL_ENOTSUP);
    spec.network = CORRAL_NET_FULL;
    spec.user = "nobody";
    assert_int_equal(ops->create(ps, &spec, &sb, &call), CORRAL_ENOTSUP);
    assert_null(sb);
    assert_int_equal(running_jobs(), 0);
}

/* issue 22 item 9: a 503 from the sandbox server (nothing ran) on exec,
 * write and read is retried, each on exactly that request. */
static void test_server_503_retried(void **state)
{
    (void)state;
    cJSON_Delete(admin("POST", "/_fault/clear", "{}"));
    corral_sbx *sb = mk(60000, NULL);
    struct mem out = {0};
    struct corral_exec_result res;
    fault("{\"path\": \"/(v1/)?exec$\", \"method\": \"POST\", \"status\": 503, \"count\": 1}");
    assert_int_equal(run(sb, "echo ran", NULL, NULL, 0, NULL, &out, &res), 0);
    assert_string_equal(out.p, "ran\n");
    reset(&out);
    struct corral_call call;
    corral_call_init(&call, 60000);
    struct mem data = {.p = malloc(3), .n = 3};
    memcpy(data.p, "abc", 3);
    struct corral_source src = {.struct_size = sizeof src, .read = mem_read, .ud = &data, .length = 3};
    fault("{\"path\": \"/(write|v1/files/write)$\", \"status\": 503, \"count\": 1}");
    int rc = ops->write_file(sb, "/workspace/r.txt", &src, 0644, &call);
    if (rc)
        print_message("write: %s\n", call.message);
    assert_int_equal(rc, 0);
    free(data.p);
    struct corral_sink so = {.struct_size = sizeof so, .write = mem_write, .ud = &out};
    fault("{\"path\": \"/(read|v1/files/read)$\", \"status\": 503, \"count\": 1}");
    rc = ops->read_file(sb, "/workspace/r.txt", &so, &call);
    if (rc)
        print_message("read: %s\n", call.message);
    assert_int_equal(rc, 0);
    assert_int_equal(out.n, 3);
    assert_memory_equal(out.p, "abc", 3);
    reset(&out);
    cJSON_Delete(admin("POST", "/_fault/clear", "{}"));
    destroy(sb);
}

static void test_faults(void **state)
{
    (void)state;
    int rc;
    /* transient 503 on run: retried, one job */
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"POST\", \"status\": 503, \"count\": 1}");
    corral_sbx *sb = mk(60000, NULL);
    assert_int_equal(running_jobs(), 1);
    destroy(sb);
    /* the job was started but the answer was lost: adopted, not duplicated */
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"POST\", \"reset_after\": 1}");
    sb = mk(60000, NULL);
    assert_int_equal(running_jobs(), 1);
    destroy(sb);
    /* issue 22 item 3: a lost answer and a job list that does not answer
     * (its 3 attempts): no second job; the clean-up's own lookup cancels it */
    cJSON *st0 = admin("GET", "/_state", NULL);
    int jobs0 = cJSON_GetArraySize(cJSON_GetObjectItem(st0, "jobs"));
    cJSON_Delete(st0);
    /* (reset_after 2: libcurl may resend on a reused connection, item 2) */
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"POST\", \"reset_after\": 2}");
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"GET\", \"status\": 503, \"count\": 3}");
    assert_null(mk(60000, &rc));
    assert_int_not_equal(rc, 0);
    cJSON *st1 = admin("GET", "/_state", NULL);
    int made = cJSON_GetArraySize(cJSON_GetObjectItem(st1, "jobs")) - jobs0;
    assert_true(made >= 1 && made <= 2); /* one attempt, at most one silent resend */
    cJSON_Delete(st1);
    assert_int_equal(running_jobs(), 0);
    /* persistent 503: classified transient, nothing running (the create
     * above sends its POST once, so a reset_after fault may be left) */
    cJSON_Delete(admin("POST", "/_fault/clear", "{}"));
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"POST\", \"status\": 503, \"count\": 100000}");
    assert_null(mk(60000, &rc));
    assert_int_equal(rc, CORRAL_ETRANSIENT);
    cJSON_Delete(admin("POST", "/_fault/clear", "{}"));
    assert_int_equal(running_jobs(), 0);
    /* the server never comes up: the deadline ends create, the job is cancelled */
    cJSON_Delete(admin("POST", "/_config", "{\"ready_delay_ms\": 100000}"));
    int64_t t0 = corral_now_ms();
    assert_null(mk(3000, &rc));
    assert_int_equal(rc, CORRAL_ETIMEDOUT);
    assert_true(corral_now_ms() - t0 < 5000);
    assert_int_equal(running_jobs(), 0);
    cJSON_Delete(admin("POST", "/_config", "{\"ready_delay_ms\": 50}"));
    /* quota / bad request: permanent, classified */
    fault("{\"path\": \"^/api/jobs/tester$\", \"method\": \"POST\", \"status\": 402, \"count\": 1, "
          "\"body\": {\"error\": \"Payment required\"}}");
    assert_null(mk(60000, &rc));
    assert_int_equal(rc, CORRAL_EPERM);
    /* a slow hub is only slow */
    fault("{\"path\": \"^/api/jobs/tester/\", \"method\": \"GET\", \"delay_ms\": 300, \"count\": 2}");
    sb = mk(60000, NULL);
    destroy(sb);
    /* a wrong token: clear auth error that does not echo it */
    setenv("HF_TOKEN", "hf_wrong_value", 1);
    assert_null(mk(60000, &rc));
    assert_int_equal(rc, CORRAL_EAUTH);
    setenv("HF_TOKEN", "hf_test_token", 1);
    assert_int_equal(running_jobs(), 0);
}

static int group_setup(void **state)
{
    (void)state;
    const char *dir = testenv_setup();
    if (fakesrv_start(&fake, HF_FAKE, dir))
        return -1;
    snprintf(hubu, sizeof hubu, "http://127.0.0.1:%d", fakesrv_port(&fake, "hub"));
    cJSON_Delete(admin("POST", "/_config", "{\"ready_delay_ms\": 50}"));
    setenv("HF_TOKEN", "hf_test_token", 1);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"sandbox\": {\"hf\": {\"endpoint\": \"%s\", \"namespace\": \"tester\", "
             "\"sandbox_url\": \"http://127.0.0.1:%d/{job_id}\", \"poll_interval_ms\": 50, \"backoff_ms\": 20, "
             "\"ready_timeout_s\": 20, \"server_api\": \"%s\"}, " OFF("local") ", " OFF("docker") ", " OFF("e2b") ", " OFF("islo")
             "}, \"agent\": {" OFF("opencode") ", " OFF("pi") ", " OFF("oracle") "}}",
             hubu, fakesrv_port(&fake, "proxy"), getenv("HF_TEST_SERVER_API") ? getenv("HF_TEST_SERVER_API") : "v0");
    testenv_write("etc/corral.json", cfg);
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    int status;
    ctx = testenv_open(dirs, NULL, &status);
    if (status) {
        fprintf(stderr, "corral_open: %s\n", corral_config_errors(ctx));
        return -1;
    }
    const struct corral_plugin_record *r = ctx ? corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "hf") : NULL;
    if (!r)
        return -1;
    ops = r->desc->ops;
    ps = r->state;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    corral_close(ctx);
    fakesrv_stop(&fake);
    testenv_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lifecycle), cmocka_unit_test(test_refusals),
                                       cmocka_unit_test(test_server_503_retried), cmocka_unit_test(test_faults)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
