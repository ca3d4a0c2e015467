/*
 * The e2b plugin, loaded through libcorral's loader, against the fake E2B
 * server (tests/fakes/e2b/fake_e2b.py): every op, verbatim env, big output,
 * the timeout convention, background jobs, and the fault cases (transient
 * 5xx, a lost create answer, a bad key, gone sandboxes, no leaks).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include <corral/corral.h>

#define KEY "e2b_0123456789abcdef0123"

static pid_t fake_pid;
static int port;
static char dir[256];
static char logpath[300];
static corral_ctx *ctx;
static const struct corral_sandbox_ops *ops;
static void *ps;

/* ---- tiny HTTP client for the fake's admin endpoints ---- */

struct mem {
    char *p;
    size_t n;
};

static size_t mem_write(char *d, size_t s, size_t n, void *ud)
{
    struct mem *m = ud;
    m->p = realloc(m->p, m->n + s * n + 1);
    memcpy(m->p + m->n, d, s * n);
    m->n += s * n;
    m->p[m->n] = '\0';
    return s * n;
}

static cJSON *admin(const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    struct mem m = {calloc(1, 1), 0};
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    cJSON *j = cJSON_Parse(m.p);
    free(m.p);
    return j;
}

static void fault(const char *json)
{
    cJSON_Delete(admin("POST", "/_fake/fault", json));
}

/* Sandboxes alive in the fake, and how many were ever created. */
static int fake_count(int *created_total)
{
    cJSON *j = admin("GET", "/_fake/sandboxes", NULL);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "sandboxes"));
    if (created_total)
        *created_total = cJSON_GetObjectItem(j, "created_total")->valueint;
    cJSON_Delete(j);
    return n;
}

/* ---- fixture: fake server + config + loader ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/corral-e2b-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char portfile[300], etc[300], cfg[600], cmd[400];
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(etc, sizeof etc, "%s/etc", dir);
    mkdir(etc, 0755);
    fake_pid = fork();
    if (fake_pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        execlp("python3", "python3", FAKE_E2B, "--port-file", portfile, "--api-key", KEY, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(portfile, R_OK) != 0; i++)
        usleep(50000);
    FILE *f = fopen(portfile, "r");
    if (!f || fscanf(f, "%d", &port) != 1)
        return -1;
    fclose(f);
    setenv("CORRAL_CONFIG_DIR", etc, 1);
    snprintf(cmd, sizeof cmd, "%s/xdg", dir);
    setenv("XDG_CONFIG_HOME", cmd, 1);
    unsetenv("CORRAL_PLUGIN_PATH");
    unsetenv("E2B_API_URL");
    unsetenv("E2B_SANDBOX_URL");
    setenv("TEST_E2B_KEY", KEY, 1);
    snprintf(cfg, sizeof cfg,
             "{\"sandbox\": {\"e2b\": {\"api_url\": \"http://127.0.0.1:%d\", \"envd_url\": \"http://127.0.0.1:%d/\","
             " \"api_key_env\": \"TEST_E2B_KEY\", \"backoff_ms\": 20, \"max_attempts\": 4, \"default_ttl_s\": 600}}}",
             port, port);
    snprintf(cmd, sizeof cmd, "%s/corral.json", etc);
    write_file(cmd, cfg);
    snprintf(logpath, sizeof logpath, "%s/log", dir);
    corral_log_setup(CORRAL_LOG_DEBUG, fopen(logpath, "w"));
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    struct corral_options o = {.struct_size = sizeof o, .plugin_dirs = dirs, .log_level = "debug"};
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_open(&o, &ctx, &call) != 0) {
        fprintf(stderr, "corral_open: %s\n%s\n", call.message, ctx ? corral_config_errors(ctx) : "");
        return -1;
    }
    const struct corral_plugin_record *r = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "e2b");
    if (!r) {
        size_t n;
        const struct corral_plugin_record *all = corral_plugins(ctx, &n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s: %s\n", all[i].path, all[i].reason ? all[i].reason : "loaded");
        return -1;
    }
    ops = r->desc->ops;
    ps = r->state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    corral_close(ctx);
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -n \"$KEEP\" || rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

struct srcst {
    const char *p;
    size_t n, off;
};
static long read2(void *ud, void *buf, size_t cap);

struct cap {
    char *p;
    size_t n;
};

static int cap_write(void *ud, const void *b, size_t n)
{
    struct cap *c = ud;
    char *p = realloc(c->p, c->n + n + 1);
    if (!p)
        return CORRAL_ENOMEM;
    c->p = p;
    memcpy(c->p + c->n, b, n);
    c->n += n;
    c->p[c->n] = '\0';
    return 0;
}

static int count_write(void *ud, const void *b, size_t n)
{
    (void)b;
    *(size_t *)ud += n;
    return 0;
}

static corral_sbx *create(const char *id, const char *const *env)
{
    const char *labels[] = {"corral.owner=test", "corral.rollout=r1", "corral.deadline=9999999999", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = id, .env = env, .labels = labels,
                                       .ttl_s = 300, .network = CORRAL_NET_FULL};
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *s = NULL;
    int rc = ops->create(ps, &spec, &s, &call);
    if (rc != 0)
        fprintf(stderr, "create: %s\n", call.message);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static int run(corral_sbx *s, const char *shell, const char *const *env, int64_t timeout_ms, struct cap *out,
               struct cap *err, struct corral_exec_result *res)
{
    struct corral_sink so = {sizeof so, cap_write, out}, se = {sizeof se, cap_write, err};
    struct corral_exec_request req = {.struct_size = sizeof req, .shell = shell, .env = env,
                                      .timeout_ms = timeout_ms, .out = out ? &so : NULL, .err = err ? &se : NULL};
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    struct corral_call call;
    corral_call_init(&call, 60000);
    int rc = ops->exec(s, &req, res, &call);
    if (rc != 0)
        fprintf(stderr, "exec: %s\n", call.message);
    return rc;
}

static void destroy(corral_sbx *s)
{
    struct corral_call call;
    corral_call_init(&call, 30000);
    assert_int_equal(ops->destroy(s, &call), 0);
    assert_int_equal(ops->destroy(s, &call), 0); /* idempotent */
    ops->close(s);
}

static int count_cb(void *ud, const struct corral_sandbox_info *info)
{
    assert_non_null(info->id);
    assert_non_null(info->state_json);
    assert_null(strstr(info->state_json, "Token"));
    (*(int *)ud)++;
    return 0;
}

static int listed(const char *filter)
{
    struct corral_call call;
    corral_call_init(&call, 30000);
    const char *filters[] = {filter, NULL};
    int n = 0;
    assert_int_equal(ops->list(ps, filter ? filters : NULL, count_cb, &n, &call), 0);
    return n;
}

/* ---- tests ---- */

static void test_exec_env_and_output(void **st)
{
    (void)st;
    const char *env[] = {"SBX_VAR=sandbox-wide", NULL};
    corral_sbx *s = create("e2b-aaa1", env);
    struct cap out = {0}, err = {0};
    struct corral_exec_result res;
    const char *tricky = "V=$(id) 'single' \"double\"\nline2 `x` \\";
    char kv[256];
    snprintf(kv, sizeof kv, "TRICKY=%s", tricky);
    const char *e2[] = {kv, NULL};
    assert_int_equal(run(s, "printf %s \"$TRICKY\"; printf '|%s|%s' \"$SBX_VAR\" \"$USER\"; echo oops >&2; exit 7", e2,
                         0, &out, &err, &res),
                     0);
    char want[300];
    snprintf(want, sizeof want, "%s|sandbox-wide|root", tricky); /* root unless the spec names a user */
    assert_string_equal(out.p, want);
    assert_string_equal(err.p, "oops\n");
    assert_int_equal(res.exit_code, 7);
    assert_int_equal(res.timed_out, 0);
    free(out.p);
    free(err.p);

    /* argv form: no shell between us and the program */
    const char *argv[] = {"printf", "%s,", "a b", "$(id)", NULL};
    out = (struct cap){0};
    struct corral_sink so = {sizeof so, cap_write, &out};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv, .out = &so};
    struct corral_call call;
    corral_call_init(&call, 30000);
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    assert_string_equal(out.p, "a b,$(id),");
    free(out.p);

    /* stdin bytes reach the command, then EOF */
    out = (struct cap){0};
    const char *cat[] = {"cat", NULL};
    req = (struct corral_exec_request){.struct_size = sizeof req, .argv = cat, .out = &so,
                                       .stdin_data = "in\0put", .stdin_len = 6};
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    assert_int_equal(out.n, 6);
    assert_memory_equal(out.p, "in\0put", 6);
    free(out.p);

    /* 10 MB of output arrives complete */
    size_t n = 0;
    struct corral_sink cnt = {sizeof cnt, count_write, &n};
    req = (struct corral_exec_request){.struct_size = sizeof req, .shell = "head -c 10485760 /dev/zero", .out = &cnt};
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    assert_int_equal(n, 10485760);
    assert_int_equal(res.exit_code, 0);
    destroy(s);
}

static void test_timeout_kills_group(void **st)
{
    (void)st;
    corral_sbx *s = create("e2b-aaa2", NULL);
    struct corral_exec_result res;
    /* A grandchild in the background must die with the command. */
    assert_int_equal(run(s, "sleep 1234.5 & sleep 30", NULL, 700, NULL, NULL, &res), 0);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    struct cap out = {0};
    assert_int_equal(run(s, "pgrep -f 'sleep 1234[.]5' || echo none", NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, "none\n");
    free(out.p);
    destroy(s);
}

static void test_files_state_attach_pause(void **st)
{
    (void)st;
    corral_sbx *s = create("e2b-aaa3", NULL);
    struct corral_call call;
    corral_call_init(&call, 30000);
    const char data[] = "hello\0world";
    /* write through a source that yields the bytes in two reads */
    struct srcst ss = {data, sizeof data - 1, 0};
    struct corral_source s2 = {sizeof s2, read2, &ss, -1, NULL};
    assert_int_equal(ops->write_file(s, "/home/user/deep/dir/f.bin", &s2, 0755, &call), 0);
    struct cap got = {0};
    struct corral_sink sink = {sizeof sink, cap_write, &got};
    assert_int_equal(ops->read_file(s, "/home/user/deep/dir/f.bin", &sink, &call), 0);
    assert_int_equal(got.n, sizeof data - 1);
    assert_memory_equal(got.p, data, sizeof data - 1);
    free(got.p);
    struct cap out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, "stat -c %a /home/user/deep/dir/f.bin", NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, "755\n");
    free(out.p);
    got = (struct cap){0};
    assert_int_equal(ops->read_file(s, "/home/user/missing", &sink, &call), CORRAL_ENOTFOUND);

    /* state has no secrets; attach works from it */
    char *state = NULL;
    assert_int_equal(ops->state(s, &state, &call), 0);
    assert_null(strstr(state, "oken"));
    assert_null(strstr(state, KEY));
    assert_int_equal(ops->running(s, &call), 1);
    assert_int_equal(ops->pause(s, &call), 0);
    assert_int_equal(ops->pause(s, &call), 0); /* already paused is fine */
    assert_int_equal(ops->running(s, &call), 0);
    corral_sbx *again = NULL;
    assert_int_equal(ops->attach(ps, state, &again, &call), 0); /* resumes, never recreates */
    assert_int_equal(ops->running(again, &call), 1);
    out = (struct cap){0};
    assert_int_equal(run(again, "cat /home/user/deep/dir/f.bin | wc -c", NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, "11\n");
    free(out.p);
    int created;
    assert_int_equal(fake_count(&created), 1);
    assert_int_equal(listed("corral.id=e2b-aaa3"), 1);
    assert_int_equal(listed("corral.rollout"), 1);
    assert_int_equal(listed("corral.rollout=other"), 0);
    ops->close(again);
    destroy(s);
    assert_int_equal(ops->attach(ps, state, &again, &call), CORRAL_ENOTFOUND);
    assert_int_equal(ops->remove(ps, state, &call), 0); /* gone is success */
    free(state);
    assert_int_equal(listed(NULL), 0);
    assert_int_equal(fake_count(NULL), 0);
}

static long read2(void *ud, void *buf, size_t cap)
{
    struct srcst *s = ud;
    size_t left = s->n - s->off, take = left < 5 ? left : 5;
    if (take > cap)
        take = cap;
    memcpy(buf, s->p + s->off, take);
    s->off += take;
    return (long)take;
}

static void test_jobs(void **st)
{
    (void)st;
    corral_sbx *s = create("e2b-aaa4", NULL);
    struct corral_call call;
    corral_call_init(&call, 60000);
    struct corral_exec_result res = {.struct_size = sizeof res};
    corral_job *job = NULL;
    /* a long job survives well past a typical request deadline and is killed on demand */
    struct corral_exec_request req = {.struct_size = sizeof req, .shell = "sleep 60"};
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 0, &res, &call), CORRAL_ETIMEDOUT);
    assert_int_equal(ops->job_wait(s, job, 300, &res, &call), CORRAL_ETIMEDOUT);
    assert_int_equal(ops->job_kill(s, job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 10000, &res, &call), 0);
    assert_int_equal(res.exit_code, 137);
    assert_int_equal(res.signal, 9);
    ops->job_free(s, job);

    /* output to files, exit status */
    req = (struct corral_exec_request){.struct_size = sizeof req, .shell = "echo out; echo err >&2; exit 3",
                                       .out_path = "/home/user/job.out", .err_path = "/home/user/job.err"};
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 20000, &res, &call), 0);
    assert_int_equal(res.exit_code, 3);
    assert_int_equal(res.timed_out, 0);
    ops->job_free(s, job);
    struct cap got = {0};
    struct corral_sink sink = {sizeof sink, cap_write, &got};
    assert_int_equal(ops->read_file(s, "/home/user/job.out", &sink, &call), 0);
    assert_string_equal(got.p, "out\n");
    free(got.p);

    /* the job's own limit: 124 + timed_out */
    req = (struct corral_exec_request){.struct_size = sizeof req, .shell = "sleep 30", .timeout_ms = 400};
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 20000, &res, &call), 0);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    ops->job_free(s, job);

    /* no spawn request carried a Connect-Timeout-Ms: log shows unlimited starts exist */
    destroy(s);
}

/* The sandbox's E2B id from its state. */
static void sandbox_id_of(corral_sbx *s, char *sid, size_t n)
{
    struct corral_call call;
    corral_call_init(&call, 30000);
    char *state = NULL;
    assert_int_equal(ops->state(s, &state, &call), 0);
    cJSON *j = cJSON_Parse(state);
    snprintf(sid, n, "%s", cJSON_GetObjectItem(j, "sandbox_id")->valuestring);
    cJSON_Delete(j);
    free(state);
}

/* issue 22 item 10: E2B auto-pauses an idle sandbox; a live handle resumes
 * it and retries once (exec, read, write) instead of failing with 502. */
static void test_paused_behind_back_resumes(void **st)
{
    (void)st;
    corral_sbx *s = create("e2b-aaa9", NULL);
    char sid[64], path[128];
    sandbox_id_of(s, sid, sizeof sid);
    snprintf(path, sizeof path, "/_fake/pause/%s", sid);
    cJSON_Delete(admin("POST", path, NULL));
    struct cap out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, "echo back", NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, "back\n");
    free(out.p);
    struct corral_call call;
    corral_call_init(&call, 30000);
    cJSON_Delete(admin("POST", path, NULL));
    const char data[] = "abc";
    struct srcst ss = {data, 3, 0};
    struct corral_source src = {.struct_size = sizeof src, .read = read2, .ud = &ss, .length = -1};
    assert_int_equal(ops->write_file(s, "/home/user/p.txt", &src, 0644, &call), 0);
    cJSON_Delete(admin("POST", path, NULL));
    struct cap got = {0};
    struct corral_sink sink = {sizeof sink, cap_write, &got};
    assert_int_equal(ops->read_file(s, "/home/user/p.txt", &sink, &call), 0);
    assert_int_equal(got.n, 3);
    free(got.p);
    /* a missing file in a running sandbox stays a plain not-found */
    assert_int_equal(ops->read_file(s, "/home/user/missing", &sink, &call), CORRAL_ENOTFOUND);
    destroy(s);
}

/* issue 22 item 8: attach sends what is left until corral.deadline to
 * /connect, not the full TTL. */
static void test_attach_keeps_deadline(void **st)
{
    (void)st;
    char dl[64];
    long long deadline = (long long)time(NULL) + 120;
    snprintf(dl, sizeof dl, "corral.deadline=%lld", deadline);
    const char *labels[] = {"corral.owner=test", dl, NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = "e2b-aaa8", .labels = labels,
                                       .ttl_s = 3000, .network = CORRAL_NET_FULL};
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *s = NULL;
    assert_int_equal(ops->create(ps, &spec, &s, &call), 0);
    char *state = NULL;
    assert_int_equal(ops->state(s, &state, &call), 0);
    cJSON_Delete(admin("DELETE", "/_fake/log", NULL));
    for (int old = 0; old < 2; old++) {
        /* old = 1: a state written before the deadline was kept in it */
        cJSON *j = cJSON_Parse(state);
        if (old)
            cJSON_DeleteItemFromObject(j, "deadline");
        char *st2 = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        corral_sbx *again = NULL;
        assert_int_equal(ops->attach(ps, st2, &again, &call), 0);
        free(st2);
        /* the last /connect asked for at most what is left until the deadline */
        cJSON *log = admin("GET", "/_fake/log", NULL), *it;
        double asked = -1;
        cJSON_ArrayForEach(it, log)
        {
            const char *path = cJSON_GetObjectItem(it, "path")->valuestring;
            const cJSON *t = cJSON_GetObjectItem(it, "timeout");
            if (strstr(path, "/connect") && cJSON_IsNumber(t))
                asked = t->valuedouble;
        }
        cJSON_Delete(log);
        assert_true(asked >= 100 && asked <= deadline - (long long)time(NULL) + 1);
        ops->close(again);
    }
    free(state);
    destroy(s);
}

static void test_transient_faults_recover(void **st)
{
    (void)st;
    cJSON_Delete(admin("DELETE", "/_fake/faults", NULL));
    int before, after;
    fake_count(&before);
    fault("{\"method\":\"POST\",\"path\":\"/sandboxes\",\"status\":503,\"count\":2}");
    corral_sbx *s = create("e2b-bbb1", NULL);
    fake_count(&after);
    assert_int_equal(after - before, 1);
    fault("{\"method\":\"POST\",\"path\":\"/process.Process/Start\",\"status\":503,\"count\":2}");
    fault("{\"method\":\"GET\",\"path\":\"/v2/sandboxes\",\"status\":502,\"count\":1}");
    struct cap out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, "echo ok", NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, "ok\n");
    free(out.p);
    assert_int_equal(listed("corral.id=e2b-bbb1"), 1);
    destroy(s);
}

/* Run shell in s and check it succeeds printing exactly want. */
static void assert_prints(corral_sbx *s, const char *shell, const char *want)
{
    struct cap out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, shell, NULL, 0, &out, NULL, &res), 0);
    assert_string_equal(out.p, want);
    free(out.p);
}

/* issue 22 item 9: the workdir's MakeDir at create is re-sent after its
 * answer was lost (the directory made; the second answers "already exists",
 * taken as success) and after a reset before it ran. */
static void test_makedir_resent(void **st)
{
    (void)st;
    cJSON_Delete(admin("DELETE", "/_fake/faults", NULL));
    const char *kinds[] = {"drop_after", "reset"};
    for (int i = 0; i < 2; i++) {
        char f[200];
        snprintf(f, sizeof f, "{\"method\":\"POST\",\"path\":\"/filesystem.Filesystem/MakeDir\",\"kind\":\"%s\"}",
                 kinds[i]);
        fault(f);
        const char *labels[] = {"corral.owner=test", NULL};
        struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = i ? "e2b-bbm2" : "e2b-bbm1",
                                           .labels = labels, .ttl_s = 60, .network = CORRAL_NET_FULL,
                                           .workdir = "/home/user/made"};
        struct corral_call call;
        corral_call_init(&call, 30000);
        corral_sbx *s = NULL;
        int rc = ops->create(ps, &spec, &s, &call);
        if (rc != 0)
            fprintf(stderr, "create after a %s of MakeDir: %s\n", kinds[i], call.message);
        assert_int_equal(rc, 0);
        assert_prints(s, "test -d /home/user/made && echo made", "made\n");
        destroy(s);
    }
}

static void test_lost_create_makes_one_sandbox(void **st)
{
    (void)st;
    int before, after;
    fake_count(&before);
    fault("{\"method\":\"POST\",\"path\":\"/sandboxes\",\"kind\":\"lost_create\"}");
    corral_sbx *s = create("e2b-bbb2", NULL);
    fake_count(&after);
    assert_int_equal(after - before, 1);
    assert_int_equal(listed("corral.id=e2b-bbb2"), 1);
    assert_prints(s, "echo still-usable", "still-usable\n");
    destroy(s);
    assert_int_equal(fake_count(NULL), 0);
}

/* issue 22 item 3: a lost create answer followed by lookups that do not
 * answer must not create again; the sandbox it made is removed by corral.id
 * once a lookup answers again (here: the clean-up's own lookup). */
static void test_lost_create_failing_lookup_no_duplicate(void **st)
{
    (void)st;
    cJSON_Delete(admin("DELETE", "/_fake/faults", NULL));
    int before, after, alive_before = fake_count(&before);
    fault("{\"method\":\"POST\",\"path\":\"/sandboxes\",\"kind\":\"lost_create\"}");
    /* exactly the lookup's own attempts (max_attempts 4): the clean-up's lookup answers */
    fault("{\"method\":\"GET\",\"path\":\"/v2/sandboxes\",\"status\":503,\"count\":4}");
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *s = NULL;
    const char *labels[] = {"corral.owner=test", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = "e2b-bbb3", .labels = labels, .ttl_s = 60,
                                       .network = CORRAL_NET_FULL};
    assert_int_not_equal(ops->create(ps, &spec, &s, &call), 0);
    assert_null(s);
    fake_count(&after);
    assert_int_equal(after - before, 1);          /* never created twice */
    assert_int_equal(fake_count(NULL), alive_before); /* and cleaned up by corral.id */
    cJSON_Delete(admin("DELETE", "/_fake/faults", NULL));
}

static void test_permanent_errors_classified(void **st)
{
    (void)st;
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *s = NULL;
    const char *labels[] = {"corral.owner=test", NULL};
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .id = "e2b-ccc1", .labels = labels, .ttl_s = 60,
                                       .network = CORRAL_NET_FULL};
    setenv("TEST_E2B_KEY", "e2b_wrong", 1);
    assert_int_equal(ops->create(ps, &spec, &s, &call), CORRAL_EAUTH);
    assert_non_null(strstr(call.message, "401"));
    unsetenv("TEST_E2B_KEY");
    corral_call_init(&call, 30000);
    assert_int_equal(ops->create(ps, &spec, &s, &call), CORRAL_EAUTH);
    setenv("TEST_E2B_KEY", KEY, 1);
    spec.image = "missing-template";
    corral_call_init(&call, 30000);
    assert_int_equal(ops->create(ps, &spec, &s, &call), CORRAL_ENOTFOUND);
    spec.image = NULL;
    spec.ttl_s = 10 * 24 * 3600;
    assert_int_equal(ops->create(ps, &spec, &s, &call), CORRAL_EINVAL);
    assert_int_equal(fake_count(NULL), 0);
    assert_int_equal(ops->attach(ps, "{\"sandbox_id\":\"zzzzzzzzzzzzzzzzzzzz\"}", &s, &call), CORRAL_ENOTFOUND);

    /* an expired sandbox: exec says not found, destroy succeeds */
    s = create("e2b-ccc2", NULL);
    char *state = NULL;
    ops->state(s, &state, &call);
    cJSON *j = cJSON_Parse(state);
    char path[128];
    snprintf(path, sizeof path, "/_fake/expire/%s", cJSON_GetObjectItem(j, "sandbox_id")->valuestring);
    cJSON_Delete(j);
    free(state);
    cJSON_Delete(admin("POST", path, NULL));
    for (int i = 0; i < 50 && fake_count(NULL) > 0; i++)
        usleep(50000);
    struct corral_exec_result res;
    assert_int_equal(run(s, "true", NULL, 0, NULL, NULL, &res), CORRAL_ENOTFOUND);
    corral_call_init(&call, 30000);
    assert_int_equal(ops->running(s, &call), 0);
    destroy(s);
}

static void test_secrets_never_logged(void **st)
{
    (void)st;
    FILE *f = fopen(logpath, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        assert_null(strstr(line, KEY));
    }
    fclose(f);
    assert_true(lines > 0); /* debug logging was on: the check saw requests */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_env_and_output),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_files_state_attach_pause),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_paused_behind_back_resumes),
        cmocka_unit_test(test_attach_keeps_deadline),
        cmocka_unit_test(test_transient_faults_recover),
        cmocka_unit_test(test_makedir_resent),
        cmocka_unit_test(test_lost_create_makes_one_sandbox),
        cmocka_unit_test(test_lost_create_failing_lookup_no_duplicate),
        cmocka_unit_test(test_permanent_errors_classified),
        cmocka_unit_test(test_secrets_never_logged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
