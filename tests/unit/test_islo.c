/* sandbox_islo against the Islo fake (tests/fakes/islo), loaded through
 * libcorral's loader: every op, env verbatim, timeouts, faults that must
 * end in success or a classified error, and nothing left behind
 * (sandboxes, gateway profiles) afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "fakesrv.h"
#include "testenv.h"

/* The loader also searches the compiled-in plugin dir, where other builds
 * may have installed plugins (even sanitizer builds): keep them unloaded. */
#define OFF(n) "\"" n "\": {\"enabled\": false}"
#define OTHER_SANDBOXES_OFF OFF("local") ", " OFF("docker") ", " OFF("e2b") ", " OFF("hf")
#define OTHER_AGENTS_OFF OFF("opencode") ", " OFF("pi") ", " OFF("oracle")

static struct fakesrv fake;
static corral_ctx *ctx;
static const struct corral_sandbox_ops *ops;
static void *ps;
static char control[128], compute[128];
static int seq;

/* ---- fake admin ---- */

static cJSON *admin(const char *method, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", control, path);
    cJSON *out = NULL;
    long st = fakesrv_call(method, url, body, NULL, &out);
    assert_int_equal(st, 200);
    return out;
}

static void fault(const char *json)
{
    cJSON_Delete(admin("POST", "/_fault", json));
}

static void config(const char *json)
{
    cJSON_Delete(admin("POST", "/_config", json));
}

static int count_of(const char *what)
{
    cJSON *s = admin("GET", "/_state", NULL);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(s, what));
    cJSON_Delete(s);
    return n;
}

static char *token(void)
{
    char url[256];
    snprintf(url, sizeof url, "%s/auth/token", control);
    cJSON *o = NULL;
    assert_int_equal(fakesrv_call("POST", url, "{\"access_key\":\"ak_test_key\"}", NULL, &o), 200);
    char *t = strdup(cJSON_GetObjectItem(o, "session_token")->valuestring);
    cJSON_Delete(o);
    return t;
}

/* ---- sinks and sources ---- */

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

static int mem_rewind(void *ud)
{
    ((struct mem *)ud)->off = 0;
    return 0;
}

#define SINK(m) {.struct_size = sizeof(struct corral_sink), .write = mem_write, .ud = &(m)}

/* ---- plugin helpers ---- */

static corral_sbx *mk(int network, const char *egress, const char *options, int *rc_out)
{
    char id[64];
    snprintf(id, sizeof id, "islo-t%d-%d", (int)getpid(), ++seq);
    const char *env[] = {"PLAIN=1", "TRICKY='$(id)' \"q\"\nline2", NULL};
    const char *labels[] = {"corral.id=x", "corral.owner=tester", "corral.rollout=r1", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = id, .env = env, .labels = labels,
                                       .ttl_s = 600, .network = network, .egress_json = egress,
                                       .options_json = options};
    labels[0] = NULL; /* corral.id is set from the id below */
    char idl[80];
    snprintf(idl, sizeof idl, "corral.id=%s", id);
    const char *labels2[] = {idl, "corral.owner=tester", "corral.rollout=r1", NULL};
    spec.labels = labels2;
    struct corral_call call;
    corral_call_init(&call, 60000);
    corral_sbx *sb = NULL;
    int rc = ops->create(ps, &spec, &sb, &call);
    if (rc_out)
        *rc_out = rc;
    else if (rc) {
        cJSON *log = admin("GET", "/_log", NULL);
        for (int i = cJSON_GetArraySize(log) - 8; i >= 0 && i < cJSON_GetArraySize(log); i++) {
            char *t = cJSON_PrintUnformatted(cJSON_GetArrayItem(log, i));
            print_error("fake log: %s\n", t);
            free(t);
        }
        cJSON_Delete(log);
        fail_msg("create: %d %s", rc, call.message);
    }
    return sb;
}

static int run(corral_sbx *sb, const char *shell, const char *const *argv, int64_t timeout_ms, struct mem *out,
               struct corral_exec_result *res, const char *stdin_data)
{
    struct corral_sink so = SINK(*out);
    struct corral_exec_request req = {.struct_size = sizeof req, .shell = shell, .argv = argv,
                                      .timeout_ms = timeout_ms, .out = &so, .stdin_data = stdin_data,
                                      .stdin_len = stdin_data ? strlen(stdin_data) : 0};
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
    corral_call_init(&call, 60000);
    int rc = ops->destroy(sb, &call);
    if (rc)
        fail_msg("destroy: %s", call.message);
    ops->close(sb);
}

static int count_cb(void *ud, const struct corral_sandbox_info *info)
{
    (void)info;
    ++*(int *)ud;
    return 0;
}

static void assert_clean(void)
{
    /* Deletion is asynchronous in the fake as in Islo: sandboxes leave
     * the listing at once; profiles must be gone too. */
    assert_int_equal(count_of("sandboxes"), 0);
    assert_int_equal(count_of("profiles"), 0);
    /* and the plugin's own list() agrees */
    struct corral_call call;
    corral_call_init(&call, 30000);
    int n = 0;
    assert_int_equal(ops->list(ps, NULL, count_cb, &n, &call), 0);
    assert_int_equal(n, 0);
}

/* ---- tests ---- */

static void test_lifecycle(void **state)
{
    (void)state;
    corral_sbx *sb = mk(CORRAL_NET_FULL, NULL, NULL, NULL);
    struct mem out = {0};
    struct corral_exec_result res;

    const char *pe[] = {"printenv", "TRICKY", NULL};
    assert_int_equal(run(sb, NULL, pe, 0, &out, &res, NULL), 0);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out.p, "'$(id)' \"q\"\nline2\n");
    free(out.p);
    out = (struct mem){0};

    assert_int_equal(run(sb, "echo hi; exit 7", NULL, 0, &out, &res, NULL), 0);
    assert_int_equal(res.exit_code, 7);
    assert_string_equal(out.p, "hi\n");
    free(out.p);
    out = (struct mem){0};

    const char *cat[] = {"cat", NULL};
    assert_int_equal(run(sb, NULL, cat, 0, &out, &res, "from stdin\n"), 0);
    assert_string_equal(out.p, "from stdin\n");
    free(out.p);
    out = (struct mem){0};

    /* A timeout kills the whole group: the backgrounded sleeper too. */
    int64_t t0 = corral_now_ms();
    assert_int_equal(run(sb, "sleep 30 & sleep 30; echo never", NULL, 700, &out, &res, NULL), 0);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    assert_true(corral_now_ms() - t0 < 15000);
    free(out.p);
    out = (struct mem){0};

    /* Files: parents are created, binary bytes survive, mode applies. */
    struct corral_call call;
    corral_call_init(&call, 60000);
    struct mem data = {.p = malloc(4), .n = 4};
    memcpy(data.p, "a\0b\n", 4);
    struct corral_source src = {.struct_size = sizeof src, .read = mem_read, .ud = &data, .length = 4};
    assert_int_equal(ops->write_file(sb, "/workspace/deep/er/f.bin", &src, 0755, &call), 0);
    struct corral_sink so = SINK(out);
    assert_int_equal(ops->read_file(sb, "/workspace/deep/er/f.bin", &so, &call), 0);
    assert_int_equal(out.n, 4);
    assert_memory_equal(out.p, "a\0b\n", 4);
    free(out.p);
    out = (struct mem){0};
    assert_int_equal(run(sb, "stat -c %a deep/er/f.bin", NULL, 0, &out, &res, NULL), 0);
    assert_string_equal(out.p, "755\n");
    free(out.p);
    out = (struct mem){0};
    assert_int_equal(ops->read_file(sb, "/workspace/nope", &so, &call), CORRAL_ENOTFOUND);
    free(data.p);

    /* Archives: plain tar in, plain tar out, through tar.gz on the wire. */
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    struct mem tar = {0};
    size_t used = 0;
    char *tbuf = malloc(1 << 16);
    archive_write_open_memory(a, tbuf, 1 << 16, &used);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "sub/hello.txt");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 6);
    archive_write_header(a, e);
    archive_write_data(a, "hello\n", 6);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    tar.p = tbuf;
    tar.n = used;
    struct corral_source tsrc = {.struct_size = sizeof tsrc, .read = mem_read, .ud = &tar, .length = (int64_t)used};
    assert_int_equal(ops->put_archive(sb, "/workspace/arch", &tsrc, &call), 0);
    assert_int_equal(run(sb, "cat arch/sub/hello.txt", NULL, 0, &out, &res, NULL), 0);
    assert_string_equal(out.p, "hello\n");
    free(out.p);
    out = (struct mem){0};
    struct mem got = {0};
    struct corral_sink gs = SINK(got);
    assert_int_equal(ops->get_archive(sb, "/workspace/arch", &gs, &call), 0);
    a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, got.p, got.n), ARCHIVE_OK);
    int found = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(archive_entry_pathname(e)[0] != '/');
        if (strcmp(archive_entry_pathname(e), "sub/hello.txt") == 0) {
            char b[16] = "";
            archive_read_data(a, b, sizeof b - 1);
            assert_string_equal(b, "hello\n");
            found = 1;
        }
    }
    archive_read_free(a);
    assert_true(found);
    free(got.p);
    free(tbuf);

    /* A tar that escapes is refused before anything is sent. */
    a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    tbuf = malloc(1 << 14);
    archive_write_open_memory(a, tbuf, 1 << 14, &used);
    e = archive_entry_new();
    archive_entry_set_pathname(e, "../evil");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, 0);
    archive_write_header(a, e);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    tar = (struct mem){.p = tbuf, .n = used};
    assert_int_equal(ops->put_archive(sb, "/workspace/arch", &tsrc, &call), CORRAL_EPERM);
    free(tbuf);

    /* list finds it by label; state/attach round trip. */
    struct found {
        int n;
        char state[1024];
    } f = {0};
    int cb(void *ud, const struct corral_sandbox_info *info);
    const char *filt[] = {"corral.owner=tester", "corral.rollout", NULL};
    assert_int_equal(ops->list(ps, filt, cb, &f, &call), 0);
    assert_int_equal(f.n, 1);
    const char *nomatch[] = {"corral.owner=someone-else", NULL};
    f.n = 0;
    assert_int_equal(ops->list(ps, nomatch, cb, &f, &call), 0);
    assert_int_equal(f.n, 0);

    char *st = NULL;
    assert_int_equal(ops->state(sb, &st, &call), 0);
    assert_null(strstr(st, "ak_test_key"));
    assert_null(strstr(st, "jwt-"));
    corral_sbx *again = NULL;
    assert_int_equal(ops->attach(ps, st, &again, &call), 0);
    ops->close(again);

    /* pause -> not running -> attach resumes it in place. */
    assert_int_equal(ops->pause(sb, &call), 0);
    assert_int_equal(ops->running(sb, &call), 0);
    assert_int_equal(ops->attach(ps, st, &again, &call), 0);
    assert_int_equal(ops->running(again, &call), 1);
    ops->close(again);
    /* stopped -> attach resumes too, never recreates. */
    char path[256];
    cJSON *j = cJSON_Parse(st);
    snprintf(path, sizeof path, "/_sandbox/%s/status", cJSON_GetObjectItem(j, "name")->valuestring);
    cJSON_Delete(j);
    cJSON_Delete(admin("POST", path, "{\"status\":\"stopped\"}"));
    assert_int_equal(ops->attach(ps, st, &again, &call), 0);
    assert_int_equal(ops->running(again, &call), 1);
    ops->close(again);
    /* issue 22 item 10: paused or stopped behind the handle's back (idle
     * pause): exec and reads resume it and retry once, not a 409. */
    struct mem o2 = {0};
    struct corral_exec_result r2;
    cJSON_Delete(admin("POST", path, "{\"status\":\"paused\"}"));
    assert_int_equal(run(sb, "echo awake; echo data > /tmp/item10", NULL, 0, &o2, &r2, NULL), 0);
    assert_string_equal(o2.p, "awake\n");
    free(o2.p);
    cJSON_Delete(admin("POST", path, "{\"status\":\"stopped\"}"));
    o2 = (struct mem){0};
    struct corral_sink s2 = SINK(o2);
    assert_int_equal(ops->read_file(sb, "/tmp/item10", &s2, &call), 0);
    assert_string_equal(o2.p, "data\n");
    assert_int_equal(ops->running(sb, &call), 1);
    free(o2.p);
    /* issue 22 item 7: no captured output is left in the sandbox's /tmp */
    cJSON *stj = admin("GET", "/_state", NULL);
    cJSON *sbst = cJSON_GetObjectItem(stj, "sandboxes")->child;
    char tmpd[600];
    snprintf(tmpd, sizeof tmpd, "%s/tmp", cJSON_GetObjectItem(sbst, "root")->valuestring);
    cJSON_Delete(stj);
    DIR *dd = opendir(tmpd);
    assert_non_null(dd);
    for (struct dirent *de; (de = readdir(dd)) != NULL;)
        assert_null(strstr(de->d_name, ".corral-"));
    closedir(dd);
    /* pause/resume through the handle. */
    assert_int_equal(ops->pause(sb, &call), 0);
    assert_int_equal(ops->pause(sb, &call), CORRAL_ESTATE);
    assert_int_equal(ops->resume(sb, &call), 0);
    assert_int_equal(count_of("sandboxes"), 1);

    destroy(sb);
    assert_int_equal(ops->attach(ps, st, &again, &call), CORRAL_ENOTFOUND);
    /* remove() of a gone sandbox is success (idempotent). */
    int rc = ops->remove(ps, st, &call);
    if (rc)
        fail_msg("remove: %d %s", rc, call.message);
    free(st);
    assert_clean();
}

int cb(void *ud, const struct corral_sandbox_info *info)
{
    struct {
        int n;
        char state[1024];
    } *f = ud;
    f->n++;
    snprintf(f->state, sizeof f->state, "%s", info->state_json);
    return 0;
}

static void test_exec_statuses(void **state)
{
    (void)state;
    corral_sbx *sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    struct mem out = {0};
    struct corral_exec_result res;
    /* the server's own limit -> status "timeout" */
    config("{\"exec_max_s\": 0.3}");
    assert_int_equal(run(sb, "sleep 20", NULL, 0, &out, &res, NULL), 0);
    config("{\"exec_max_s\": 0}");
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    /* "failed" without an exit code: the command could not run */
    const char *bad[] = {"/no/such/binary", NULL};
    assert_int_equal(run(sb, NULL, bad, 0, &out, &res, NULL), 0);
    assert_int_equal(res.exit_code, 127);
    assert_int_equal(res.timed_out, 0);
    /* polling rides out a few 5xx answers */
    fault("{\"path\": \"/exec/ex_\", \"method\": \"GET\", \"status\": 503, \"count\": 3}");
    assert_int_equal(run(sb, "echo ok", NULL, 0, &out, &res, NULL), 0);
    assert_string_equal(out.p, "ok\n");
    free(out.p);
    out = (struct mem){0};
    /* a permanent refusal is classified, not retried forever */
    fault("{\"path\": \"/exec$\", \"method\": \"POST\", \"status\": 400, \"count\": 1, "
          "\"body\": {\"code\": \"INVALID_REQUEST\", \"message\": \"bad\"}}");
    assert_int_equal(run(sb, "echo ok", NULL, 0, &out, &res, NULL), CORRAL_EINVAL);
    fault("{\"path\": \"/exec$\", \"method\": \"POST\", \"status\": 503, \"count\": 50}");
    assert_int_equal(run(sb, "echo ok", NULL, 0, &out, &res, NULL), CORRAL_ETRANSIENT);
    cJSON_Delete(admin("DELETE", "/_fault", NULL));
    /* issue 22: a 503 before processing is retried; a start whose answer
     * is lost is never resent (the command runs once) and is transient */
    fault("{\"path\": \"/exec$\", \"method\": \"POST\", \"status\": 503, \"count\": 1}");
    assert_int_equal(run(sb, "echo x >> /workspace/ran", NULL, 0, &out, &res, NULL), 0);
    fault("{\"path\": \"/exec$\", \"method\": \"POST\", \"reset_after\": 1}");
    assert_int_equal(run(sb, "echo x >> /workspace/ran", NULL, 0, &out, &res, NULL), CORRAL_ETRANSIENT);
    free(out.p);
    out = (struct mem){0};
    assert_int_equal(run(sb, "sleep 1; wc -l < /workspace/ran", NULL, 0, &out, &res, NULL), 0);
    assert_string_equal(out.p, "2\n");
    free(out.p);
    out = (struct mem){0};
    /* an upload dropped after processing is sent again (its source rewinds) */
    struct mem data = {.p = (char *)"rewound", .n = 7};
    struct corral_source src = {.struct_size = sizeof src, .read = mem_read, .ud = &data, .length = 7,
                                .rewind = mem_rewind};
    struct corral_call call;
    corral_call_init(&call, 60000);
    fault("{\"path\": \"/files$\", \"method\": \"POST\", \"reset_after\": 1}");
    assert_int_equal(ops->write_file(sb, "/workspace/up.txt", &src, 0644, &call), 0);
    struct corral_sink so = SINK(out);
    assert_int_equal(ops->read_file(sb, "/workspace/up.txt", &so, &call), 0);
    assert_int_equal(out.n, 7);
    assert_memory_equal(out.p, "rewound", 7);
    free(out.p);
    out = (struct mem){0};
    cJSON_Delete(admin("DELETE", "/_fault", NULL));
    destroy(sb);
    assert_clean();
}

static void test_tokens(void **state)
{
    (void)state;
    /* tokens from now on are cached for 1 s; drop the current one */
    config("{\"token_max_age\": 61, \"expire_tokens\": true}");
    corral_sbx *sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    cJSON *s = admin("GET", "/_state", NULL);
    int before = cJSON_GetObjectItem(s, "tokens_issued")->valueint;
    cJSON_Delete(s);
    struct timespec ts = {1, 300 * 1000000};
    nanosleep(&ts, NULL);
    struct corral_call call;
    corral_call_init(&call, 30000);
    assert_int_equal(ops->running(sb, &call), 1);
    s = admin("GET", "/_state", NULL);
    assert_true(cJSON_GetObjectItem(s, "tokens_issued")->valueint > before);
    cJSON_Delete(s);
    config("{\"token_max_age\": 600}");
    assert_int_equal(ops->running(sb, &call), 1);
    /* revoked server-side: one 401, one re-exchange, success */
    config("{\"expire_tokens\": true}");
    assert_int_equal(ops->running(sb, &call), 1);
    /* a wrong key is a clear auth error */
    setenv("ISLO_API_KEY", "ak_wrong", 1);
    config("{\"expire_tokens\": true}");
    assert_int_equal(ops->running(sb, &call), CORRAL_EAUTH);
    assert_null(strstr(call.message, "ak_wrong"));
    setenv("ISLO_API_KEY", "ak_test_key", 1);
    destroy(sb);
    assert_clean();
}

static void test_create_faults(void **state)
{
    (void)state;
    /* transient 503 and a reset before the work: retried, one sandbox */
    fault("{\"path\": \"^/sandboxes$\", \"method\": \"POST\", \"status\": 503, \"count\": 1}");
    corral_sbx *sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    assert_int_equal(count_of("sandboxes"), 1);
    destroy(sb);
    fault("{\"path\": \"^/sandboxes$\", \"method\": \"POST\", \"reset\": 1}");
    sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    assert_int_equal(count_of("sandboxes"), 1);
    destroy(sb);
    /* the sandbox was made but the answer was lost: adopt, don't duplicate */
    fault("{\"path\": \"^/sandboxes$\", \"method\": \"POST\", \"reset_after\": 1}");
    sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    assert_int_equal(count_of("sandboxes"), 1);
    destroy(sb);
    /* slow GETs are only slow */
    fault("{\"path\": \"^/sandboxes/\", \"method\": \"GET\", \"delay_ms\": 300, \"count\": 2}");
    sb = mk(CORRAL_NET_NONE, NULL, NULL, NULL);
    destroy(sb);
    /* permanent: quota refusal, classified, nothing left */
    int rc;
    fault("{\"path\": \"^/sandboxes$\", \"method\": \"POST\", \"status\": 402, \"count\": 1, "
          "\"body\": {\"code\": \"BILLING_NOT_ALLOWED\", \"message\": \"no credits\"}}");
    assert_null(mk(CORRAL_NET_NONE, NULL, NULL, &rc));
    assert_int_equal(rc, CORRAL_EPERM);
    /* the provisioning fails after create: the sandbox is deleted */
    config("{\"ready_delay_ms\": 100000}");
    fault("{\"path\": \"^/sandboxes/islo-\", \"method\": \"GET\", \"status\": 200, \"count\": 1, "
          "\"body\": {\"id\": \"x\", \"name\": \"x\", \"image\": \"i\", \"status\": \"failed\", "
          "\"created_at\": \"now\"}}");
    assert_null(mk(CORRAL_NET_NONE, NULL, NULL, &rc));
    assert_int_equal(rc, CORRAL_EIO);
    config("{\"ready_delay_ms\": 50}");
    assert_clean();
}

static const char *POLICY =
    "{\"default\":\"deny\",\"internet\":true,\"rules\":["
    "{\"host\":\"api.openai.com\",\"methods\":[\"POST\"],\"rate_limit_per_minute\":120},"
    "{\"host\":\"*.github.com\",\"path\":\"/repos/*\",\"action\":\"allow\"},"
    "{\"host\":\"evil.example\",\"action\":\"deny\"}]}";

static void test_gateway_inline(void **state)
{
    (void)state;
    corral_sbx *sb = mk(CORRAL_NET_POLICY, POLICY, NULL, NULL);
    cJSON *s = admin("GET", "/_state", NULL);
    cJSON *profiles = cJSON_GetObjectItem(s, "profiles");
    assert_int_equal(cJSON_GetArraySize(profiles), 1);
    cJSON *p = profiles->child;
    assert_string_equal(cJSON_GetObjectItem(p, "default_action")->valuestring, "deny");
    cJSON *rules = cJSON_GetObjectItem(p, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 3);
    cJSON *r0 = cJSON_GetArrayItem(rules, 0);
    assert_string_equal(cJSON_GetObjectItem(r0, "host_pattern")->valuestring, "api.openai.com");
    assert_int_equal(cJSON_GetObjectItem(r0, "rate_limit_rpm")->valueint, 120);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rules, 2), "action")->valuestring, "deny");
    /* the sandbox was created with that profile */
    cJSON *sbj = cJSON_GetObjectItem(s, "sandboxes")->child;
    assert_string_equal(cJSON_GetObjectItem(sbj, "gateway_profile")->valuestring, p->string);
    cJSON_Delete(s);
    /* set_egress replaces the profile's rules and default in place (the
     * host's native form: host_pattern, rate_limit_rpm, name, priority) */
    struct corral_call call;
    corral_call_init(&call, 60000);
    assert_int_equal(ops->set_egress(sb,
                                     "{\"default\":\"allow\",\"rules\":[{\"name\":\"rules[0]\",\"host_pattern\":"
                                     "\"10.0.0.0/8\",\"action\":\"deny\",\"priority\":10,\"rate_limit_rpm\":7}]}",
                                     &call),
                     0);
    s = admin("GET", "/_state", NULL);
    p = cJSON_GetObjectItem(s, "profiles")->child;
    assert_string_equal(cJSON_GetObjectItem(p, "default_action")->valuestring, "allow");
    rules = cJSON_GetObjectItem(p, "rules");
    assert_int_equal(cJSON_GetArraySize(rules), 1);
    assert_string_equal(cJSON_GetObjectItem(rules->child, "host_pattern")->valuestring, "10.0.0.0/8");
    assert_int_equal(cJSON_GetObjectItem(rules->child, "rate_limit_rpm")->valueint, 7);
    cJSON_Delete(s);
    /* a policy the plugin cannot read changes nothing */
    corral_call_init(&call, 60000);
    assert_int_equal(ops->set_egress(sb, "{\"default\":\"maybe\"}", &call), CORRAL_EINVAL);
    destroy(sb); /* waits out the async teardown (409) and deletes the profile */
    /* a sandbox without a profile of its own refuses a new policy */
    sb = mk(CORRAL_NET_FULL, NULL, NULL, NULL);
    corral_call_init(&call, 60000);
    assert_int_equal(ops->set_egress(sb, "{\"default\":\"deny\",\"rules\":[]}", &call), CORRAL_ENOTSUP);
    assert_non_null(strstr(call.message, "not created with an inline egress policy"));
    destroy(sb);
    assert_clean();

    /* invalid policy: refused before anything is made */
    int rc;
    assert_null(mk(CORRAL_NET_POLICY, "{\"default\":\"maybe\"}", NULL, &rc));
    assert_int_equal(rc, CORRAL_EINVAL);
    assert_null(mk(CORRAL_NET_POLICY, "{\"rules\":[{\"host\":\"x\",\"bogus\":1}]}", NULL, &rc));
    assert_int_equal(rc, CORRAL_EINVAL);
    assert_clean();
}

/* list() callback: keeps the state JSON of the first entry. */
static int first_state_cb(void *ud, const struct corral_sandbox_info *info)
{
    char **st = ud;
    if (!*st)
        *st = strdup(info->state_json);
    return 0;
}

/* The child's create, on a thread of its own: the host keeps one HTTP
 * handle (and its kept-alive connections) per thread, and the forking
 * thread's connections are the parent's. */
static void *killed_create_thread(void *arg)
{
    (void)arg;
    int rc;
    mk(CORRAL_NET_POLICY, POLICY, NULL, &rc);
    return NULL;
}

/* Issue 22 item 4b: a process SIGKILLed while create waits for "running"
 * leaves the sandbox (no labels yet) and its inline profile; list() still
 * reports the sandbox, and remove() of that state deletes both (Islo does
 * not echo the profile, so remove finds it by name). */
static void test_killed_create(void **state)
{
    (void)state;
    config("{\"ready_delay_ms\": 60000}");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, killed_create_thread, NULL) == 0)
            pthread_join(t, NULL);
        _exit(0);
    }
    for (int i = 0; i < 200 && count_of("sandboxes") == 0; i++)
        usleep(50000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    config("{\"ready_delay_ms\": 50}");
    assert_int_equal(count_of("sandboxes"), 1);
    assert_int_equal(count_of("profiles"), 1);
    struct corral_call call;
    corral_call_init(&call, 60000);
    char *st = NULL;
    static const char *const filters[] = {"corral.id", NULL};
    assert_int_equal(ops->list(ps, filters, first_state_cb, &st, &call), 0);
    assert_non_null(st);
    assert_null(strstr(st, "owned_gateway_profile")); /* not echoed by Islo */
    int rc = ops->remove(ps, st, &call);
    if (rc)
        fail_msg("remove: %d %s", rc, call.message);
    free(st);
    assert_clean();
}

static void test_gateway_partial_failures(void **state)
{
    (void)state;
    int rc;
    /* the second rule fails for good: the profile is removed, no sandbox */
    fault("{\"path\": \"^/gateway/profiles/[^/]+/rules$\", \"method\": \"POST\", \"status\": 422, \"count\": 1, "
          "\"body\": {\"detail\": [{\"loc\": [\"body\"], \"msg\": \"bad rule\", \"type\": \"value_error\"}]}}");
    assert_null(mk(CORRAL_NET_POLICY, POLICY, NULL, &rc));
    assert_int_equal(rc, CORRAL_EINVAL);
    assert_clean();
    /* the sandbox create fails after the profile was made */
    fault("{\"path\": \"^/sandboxes$\", \"method\": \"POST\", \"status\": 400, \"count\": 1, "
          "\"body\": {\"code\": \"VALIDATION_ERROR\", \"message\": \"bad image\"}}");
    assert_null(mk(CORRAL_NET_POLICY, POLICY, NULL, &rc));
    assert_int_equal(rc, CORRAL_EINVAL);
    assert_clean();
    /* issue 22 item 11: an image without /var/tmp still gets its labels */
    config("{\"image_dirs\": [\"workspace\", \"home/islo\"]}");
    corral_sbx *sb5 = mk(CORRAL_NET_FULL, NULL, NULL, NULL);
    config("{\"image_dirs\": [\"workspace\", \"var/tmp\", \"home/islo\"]}");
    int nl = 0;
    const char *own[] = {"corral.rollout=r1", NULL};
    struct corral_call lc;
    corral_call_init(&lc, 30000);
    assert_int_equal(ops->list(ps, own, count_cb, &nl, &lc), 0);
    assert_int_equal(nl, 1);
    destroy(sb5);
    assert_clean();
    /* issue 22 item 4a: the profile DELETE answers 503 past the host's
     * retries: retried within profile_delete_timeout_s, nothing leaks */
    corral_sbx *sb4 = mk(CORRAL_NET_POLICY, POLICY, NULL, NULL);
    fault("{\"path\": \"^/gateway/profiles/[^/]+$\", \"method\": \"DELETE\", \"status\": 503, \"count\": 5}");
    destroy(sb4);
    assert_clean();
    /* issue 22 item 5: an inline policy and a named profile conflict: refused */
    assert_null(mk(CORRAL_NET_POLICY, POLICY, "{\"gateway_profile\": \"team\"}", &rc));
    assert_int_equal(rc, CORRAL_EINVAL);
    assert_clean();
    /* the profile create answer is lost: found by its unique name and used */
    fault("{\"path\": \"^/gateway/profiles$\", \"method\": \"POST\", \"reset_after\": 1}");
    corral_sbx *sb = mk(CORRAL_NET_POLICY, POLICY, NULL, NULL);
    assert_int_equal(count_of("profiles"), 1);
    destroy(sb);
    assert_clean();
    /* a rule keeps failing transiently: retried, then classified; nothing left */
    fault("{\"path\": \"^/gateway/profiles/[^/]+/rules$\", \"method\": \"POST\", \"status\": 503, "
          "\"count\": 100}");
    assert_null(mk(CORRAL_NET_POLICY, POLICY, NULL, &rc));
    assert_int_equal(rc, CORRAL_ETRANSIENT);
    cJSON_Delete(admin("DELETE", "/_fault", NULL));
    assert_clean();
}

static void test_gateway_named(void **state)
{
    (void)state;
    char *tok = token();
    char url[256];
    snprintf(url, sizeof url, "%s/gateway/profiles", control);
    cJSON *p = NULL;
    assert_int_equal(fakesrv_call("POST", url, "{\"name\":\"team-egress\",\"default_action\":\"deny\"}", tok, &p),
                     200);
    char pid[64];
    snprintf(pid, sizeof pid, "%s", cJSON_GetObjectItem(p, "id")->valuestring);
    cJSON_Delete(p);
    /* named in options: used as is (with an inline policy too it is refused:
     * test_gateway_partial_failures) */
    corral_sbx *sb = mk(CORRAL_NET_FULL, NULL, "{\"gateway_profile\":\"team-egress\"}", NULL);
    assert_int_equal(count_of("profiles"), 1);
    cJSON *s = admin("GET", "/_state", NULL);
    cJSON *sbj = cJSON_GetObjectItem(s, "sandboxes")->child;
    assert_string_equal(cJSON_GetObjectItem(sbj, "gateway_profile")->valuestring, pid);
    cJSON *prof = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "profiles"), pid);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(prof, "rules")), 0);
    cJSON_Delete(s);
    destroy(sb);
    assert_int_equal(count_of("sandboxes"), 0);
    assert_int_equal(count_of("profiles"), 1); /* never deleted */
    /* clean up the operator's profile (after the async teardown) */
    char durl[256];
    snprintf(durl, sizeof durl, "%s/gateway/profiles/%s", control, pid);
    long st = 0;
    for (int i = 0; i < 50 && st != 204; i++) {
        st = fakesrv_call("DELETE", durl, NULL, tok, NULL);
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st, 204);
    free(tok);
    assert_clean();
}

static int group_setup(void **state)
{
    (void)state;
    const char *dir = testenv_setup();
    if (fakesrv_start(&fake, ISLO_FAKE, dir))
        return -1;
    snprintf(control, sizeof control, "http://127.0.0.1:%d", fakesrv_port(&fake, "control"));
    snprintf(compute, sizeof compute, "http://127.0.0.1:%d", fakesrv_port(&fake, "compute"));
    config("{\"ready_delay_ms\": 50, \"delete_delay_ms\": 200}");
    setenv("ISLO_API_KEY", "ak_test_key", 1);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"sandbox\": {\"islo\": {\"control_url\": \"%s/\", \"compute_url\": \"%s\", "
             "\"poll_interval_ms\": 50, \"backoff_ms\": 20, \"ready_timeout_s\": 20, "
             "\"profile_delete_timeout_s\": 10, \"http_attempts\": 3}, %s}, \"agent\": {%s}}",
             control, compute, OTHER_SANDBOXES_OFF, OTHER_AGENTS_OFF);
    testenv_write("etc/corral.json", cfg);
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    int status;
    ctx = testenv_open(dirs, NULL, &status);
    if (status) {
        fprintf(stderr, "corral_open: %s\n", corral_config_errors(ctx));
        return -1;
    }
    const struct corral_plugin_record *r = ctx ? corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "islo") : NULL;
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),        cmocka_unit_test(test_exec_statuses),
        cmocka_unit_test(test_tokens),           cmocka_unit_test(test_create_faults),
        cmocka_unit_test(test_gateway_inline),   cmocka_unit_test(test_gateway_partial_failures),
        cmocka_unit_test(test_gateway_named),      cmocka_unit_test(test_killed_create),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
