/* sandbox_docker driven through the real loader and host services against
 * a docker daemon.  Every test is skipped when no daemon is reachable or
 * the test image (tests/conformance/make-docker-image.sh) cannot be built.
 * Containers are named docker-t<pid>-*, labelled corral.owner=dktest-<pid>
 * and removed at the end (and by TTL if the test dies). */
#include <archive.h>
#include <pthread.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include "testenv.h"

#define IMAGE "corral-test/busybox:1"

static struct {
    int ok;
    corral_ctx *ctx;
    const struct corral_sandbox_ops *ops;
    void *ps;
    corral_sbx *sbx;              /* the shared sandbox */
    char owner[64];
    int64_t ttl_s;                /* for create_sbx; 0 = 900 */
} g;

/* ---- helpers -------------------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
};

static int out_write(void *ud, const void *buf, size_t n)
{
    struct out *o = ud;
    if (o->len + n + 1 > o->cap) {
        size_t c = o->cap ? o->cap * 2 : 4096;
        while (c < o->len + n + 1)
            c *= 2;
        o->p = realloc(o->p, c);
        assert_non_null(o->p);
        o->cap = c;
    }
    memcpy(o->p + o->len, buf, n);
    o->len += n;
    o->p[o->len] = '\0';
    return 0;
}

struct mem {
    const char *p;
    size_t left;
};

static long mem_read(void *ud, void *buf, size_t cap)
{
    struct mem *m = ud;
    size_t n = m->left < cap ? m->left : cap;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (long)n;
}

struct run {
    int rc;
    struct corral_exec_result res;
    struct out out, err;
    char msg[1024];
};

static void run_free(struct run *r)
{
    free(r->out.p);
    free(r->err.p);
}

static struct run run_req(corral_sbx *sbx, struct corral_exec_request *req)
{
    struct run r;
    memset(&r, 0, sizeof r);
    struct corral_sink so = {sizeof so, out_write, &r.out}, se = {sizeof se, out_write, &r.err};
    req->struct_size = sizeof *req;
    req->out = &so;
    req->err = &se;
    r.res.struct_size = sizeof r.res;
    struct corral_call c;
    corral_call_init(&c, 120000);
    r.rc = g.ops->exec(sbx, req, &r.res, &c);
    snprintf(r.msg, sizeof r.msg, "%s", c.message);
    if (!r.out.p)
        out_write(&r.out, "", 0);
    if (!r.err.p)
        out_write(&r.err, "", 0);
    return r;
}

static struct run sh(corral_sbx *sbx, const char *cmd)
{
    struct corral_exec_request req = {.shell = cmd};
    return run_req(sbx, &req);
}

static int daemon_reachable(void)
{
    const char *h = getenv("DOCKER_HOST");
    const char *path = h && strncmp(h, "unix://", 7) == 0 ? h + 7 : "/var/run/docker.sock";
    if (h && strncmp(h, "tcp://", 6) == 0)
        return 1;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int create_sbx(const char *suffix, const char *image, const char *user, const char *options,
                      corral_sbx **out, char *msg, size_t msgcap)
{
    char id[96], l_id[128], l_owner[128];
    snprintf(id, sizeof id, "docker-t%d-%s", (int)getpid(), suffix);
    snprintf(l_id, sizeof l_id, "corral.id=%s", id);
    snprintf(l_owner, sizeof l_owner, "corral.owner=%s", g.owner);
    const char *labels[] = {l_id, l_owner, "corral.rollout=r1", "corral.deadline=0", NULL};
    const char *env[] = {"BASE_VAR=base value", NULL};
    struct corral_sandbox_spec spec = {
        .struct_size = sizeof spec, .id = id, .image = image, .env = env, .labels = labels,
        .user = user, .ttl_s = g.ttl_s ? g.ttl_s : 900, .cpus = 1.0, .memory_bytes = 256 << 20, .pids_max = 512,
        .network = CORRAL_NET_NONE, .options_json = options};
    struct corral_call c;
    corral_call_init(&c, 120000);
    int rc = g.ops->create(g.ps, &spec, out, &c);
    if (msg)
        snprintf(msg, msgcap, "%s", c.message);
    return rc;
}

#define NEED() do { if (!g.ok) skip(); } while (0)

/* ---- setup ---------------------------------------------------------------- */

static int group_setup(void **st)
{
    (void)st;
    snprintf(g.owner, sizeof g.owner, "dktest-%d", (int)getpid());
    if (!daemon_reachable()) {
        fprintf(stderr, "no docker daemon reachable: skipping\n");
        return 0;
    }
    if (system(DOCKER_IMAGE_SCRIPT " >/dev/null") != 0) {
        fprintf(stderr, "cannot build the test image: skipping\n");
        return 0;
    }
    testenv_setup();
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    int status;
    g.ctx = testenv_open(dirs, NULL, &status);
    const struct corral_plugin_record *r = corral_plugin_find(g.ctx, CORRAL_PLUGIN_SANDBOX, "docker");
    assert_non_null(r);
    g.ops = r->desc->ops;
    g.ps = r->state;
    char msg[1024];
    int rc = create_sbx("main", IMAGE, NULL, NULL, &g.sbx, msg, sizeof msg);
    if (rc)
        fail_msg("create: %d %s", rc, msg);
    g.ok = 1;
    return 0;
}

static int remove_cb(void *ud, const struct corral_sandbox_info *info)
{
    (void)ud;
    struct corral_call c;
    corral_call_init(&c, 60000);
    g.ops->remove(g.ps, info->state_json, &c);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    if (!g.ctx)
        return 0;
    if (g.sbx) {
        struct corral_call c;
        corral_call_init(&c, 60000);
        g.ops->destroy(g.sbx, &c);
        g.ops->close(g.sbx);
    }
    char f[96];
    snprintf(f, sizeof f, "corral.owner=%s", g.owner);
    const char *filters[] = {f, NULL};
    struct corral_call c;
    corral_call_init(&c, 60000);
    g.ops->list(g.ps, filters, remove_cb, NULL, &c);
    corral_close(g.ctx);
    testenv_teardown();
    return 0;
}

/* ---- exec ----------------------------------------------------------------- */

static void test_exit_codes(void **st)
{
    (void)st;
    NEED();
    struct run r = sh(g.sbx, "exit 7");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 7);
    assert_int_equal(r.res.timed_out, 0);
    run_free(&r);
    const char *argv[] = {"true", NULL};
    struct corral_exec_request req = {.argv = argv};
    r = run_req(g.sbx, &req);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 0);
    run_free(&r);
    const char *nope[] = {"/no/such/binary", NULL};
    struct corral_exec_request req2 = {.argv = nope};
    r = run_req(g.sbx, &req2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 127);
    run_free(&r);
    r = sh(g.sbx, "kill -TERM $$");
    assert_int_equal(r.res.exit_code, 143);
    assert_int_equal(r.res.signal, 15);
    run_free(&r);
}

static void test_stdout_stderr_cwd(void **st)
{
    (void)st;
    NEED();
    struct run r = sh(g.sbx, "echo out; echo err >&2; echo out2; pwd");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out.p, "out\nout2\n/workspace\n");
    assert_string_equal(r.err.p, "err\n");
    run_free(&r);
    const char *argv[] = {"pwd", NULL};
    struct corral_exec_request req = {.argv = argv, .cwd = "/tmp"};
    r = run_req(g.sbx, &req);
    assert_string_equal(r.out.p, "/tmp\n");
    run_free(&r);
}

static void test_stdin(void **st)
{
    (void)st;
    NEED();
    static const char in[] = "line one\nline 'two' $(id)\n\0binary\xff";
    const char *argv[] = {"cat", NULL};
    struct corral_exec_request req = {.argv = argv, .stdin_data = in, .stdin_len = sizeof in};
    struct run r = run_req(g.sbx, &req);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 0);
    assert_int_equal(r.out.len, sizeof in);
    assert_memory_equal(r.out.p, in, sizeof in);
    run_free(&r);
    /* A large stdin (streamed into the staging archive). */
    size_t big = 5u << 20;
    char *bin = malloc(big);
    assert_non_null(bin);
    for (size_t i = 0; i < big; i++)
        bin[i] = (char)(i * 31);
    const char *wc[] = {"wc", "-c", NULL};
    struct corral_exec_request req2 = {.argv = wc, .stdin_data = bin, .stdin_len = big};
    r = run_req(g.sbx, &req2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(atol(r.out.p), (long)big);
    run_free(&r);
    free(bin);
    /* The staged stdin file is gone once the command ran. */
    r = sh(g.sbx, "ls /.corral | grep -c '^in-' || true");
    assert_string_equal(r.out.p, "0\n");
    run_free(&r);
}

static void test_env_and_argv_verbatim(void **st)
{
    (void)st;
    NEED();
    const char *val = "$(id) `id` 'single' \"double\" \\back\nnew line; rm -rf /";
    char kv[256];
    snprintf(kv, sizeof kv, "TRICKY=%s", val);
    const char *env[] = {kv, NULL};
    const char *argv[] = {"sh", "-c", "printf '%s|%s' \"$TRICKY\" \"$BASE_VAR\"", NULL};
    struct corral_exec_request req = {.argv = argv, .env = env};
    struct run r = run_req(g.sbx, &req);
    assert_int_equal(r.rc, 0);
    char want[512];
    snprintf(want, sizeof want, "%s|base value", val);
    assert_string_equal(r.out.p, want);
    run_free(&r);
    const char *argv2[] = {"printf", "%s", val, NULL};
    struct corral_exec_request req2 = {.argv = argv2};
    r = run_req(g.sbx, &req2);
    assert_string_equal(r.out.p, val);
    run_free(&r);
    /* A bad env name is refused before anything runs. */
    const char *bad[] = {"1X=y", NULL};
    struct corral_exec_request req3 = {.argv = argv2, .env = bad};
    r = run_req(g.sbx, &req3);
    assert_int_equal(r.rc, CORRAL_EINVAL);
    run_free(&r);
}

static void test_big_output(void **st)
{
    (void)st;
    NEED();
    struct run r = sh(g.sbx, "head -c 10485760 /dev/zero; head -c 1000000 /dev/zero >&2");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 0);
    assert_int_equal(r.out.len, 10485760);
    assert_int_equal(r.err.len, 1000000);
    run_free(&r);
}

static void test_timeout_kills_group(void **st)
{
    (void)st;
    NEED();
    struct corral_exec_request req = {
        .shell = "sleep 300 & echo $! > /tmp/bg.pid; echo started; sleep 300", .timeout_ms = 1000};
    struct run r = run_req(g.sbx, &req);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.exit_code, 124);
    assert_int_equal(r.res.timed_out, 1);
    assert_true(r.res.duration_ms >= 1000);
    assert_true(r.res.duration_ms < 20000);
    assert_string_equal(r.out.p, "started\n");
    run_free(&r);
    /* The background sleep was in the same group: it is gone too. */
    r = sh(g.sbx, "p=$(cat /tmp/bg.pid); for i in 1 2 3 4 5 6 7 8 9 10; do "
                  "kill -0 $p 2>/dev/null || exit 0; sleep 0.2; done; exit 1");
    assert_int_equal(r.res.exit_code, 0);
    run_free(&r);
    /* A command exiting 124 by itself is not a timeout. */
    r = sh(g.sbx, "exit 124");
    assert_int_equal(r.res.exit_code, 124);
    assert_int_equal(r.res.timed_out, 0);
    run_free(&r);
}

struct canceller {
    volatile int flag;
    int after_ms;
};

static void *cancel_later(void *ud)
{
    struct canceller *k = ud;
    usleep((useconds_t)k->after_ms * 1000);
    k->flag = 1;
    return NULL;
}

static void test_cancel_kills_group(void **st)
{
    (void)st;
    NEED();
    struct canceller k = {0, 1000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &k), 0);
    struct corral_exec_request req = {.struct_size = sizeof req,
                                      .shell = "sleep 300 & echo $! > /tmp/cancel.pid; sleep 300"};
    struct corral_exec_result res = {.struct_size = sizeof res};
    struct corral_call c;
    corral_call_init(&c, 120000);
    c.cancel = &k.flag;
    int rc = g.ops->exec(g.sbx, &req, &res, &c);
    pthread_join(th, NULL);
    assert_int_equal(rc, CORRAL_ECANCELED);
    /* Nothing of it is left running inside. */
    struct run r = sh(g.sbx, "p=$(cat /tmp/cancel.pid); for i in 1 2 3 4 5 6 7 8 9 10; do "
                             "kill -0 $p 2>/dev/null || exit 0; sleep 0.2; done; exit 1");
    assert_int_equal(r.res.exit_code, 0);
    run_free(&r);
    r = sh(g.sbx, "ps -o args | grep -c '^sleep 300' || true");
    assert_string_equal(r.out.p, "0\n");
    run_free(&r);
}

/* ---- jobs ----------------------------------------------------------------- */

static int job_wait(corral_job *j, int64_t ms, struct corral_exec_result *res)
{
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    struct corral_call c;
    corral_call_init(&c, 60000);
    return g.ops->job_wait(g.sbx, j, ms, res, &c);
}

static corral_job *spawn(struct corral_exec_request *req)
{
    req->struct_size = sizeof *req;
    struct corral_call c;
    corral_call_init(&c, 60000);
    corral_job *j = NULL;
    int rc = g.ops->spawn(g.sbx, req, &j, &c);
    if (rc)
        fail_msg("spawn: %d %s", rc, c.message);
    return j;
}

static void read_to(corral_sbx *sbx, const char *path, struct out *o, int want_rc)
{
    struct corral_sink s = {sizeof s, out_write, o};
    struct corral_call c;
    corral_call_init(&c, 60000);
    int rc = g.ops->read_file(sbx, path, &s, &c);
    if (rc != want_rc)
        fail_msg("read_file %s: %d %s", path, rc, c.message);
}

static void test_jobs(void **st)
{
    (void)st;
    NEED();
    struct corral_exec_result res;
    struct corral_exec_request a = {.shell = "echo job-out; echo job-err >&2; exit 3",
                                    .out_path = "/tmp/job.out", .err_path = "/tmp/job.err"};
    corral_job *j = spawn(&a);
    assert_int_equal(job_wait(j, 20000, &res), 0);
    assert_int_equal(res.exit_code, 3);
    assert_int_equal(res.signal, 0);
    g.ops->job_free(g.sbx, j);
    struct out o = {0};
    read_to(g.sbx, "/tmp/job.out", &o, 0);
    assert_string_equal(o.p, "job-out\n");
    free(o.p);

    /* Still running: probe once says so; kill reports the signal. */
    struct corral_exec_request b = {.shell = "sleep 300"};
    j = spawn(&b);
    assert_int_equal(job_wait(j, 0, &res), CORRAL_ETIMEDOUT);
    assert_int_equal(job_wait(j, 300, &res), CORRAL_ETIMEDOUT);
    struct corral_call c;
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->job_kill(g.sbx, j, &c), 0);
    assert_int_equal(job_wait(j, 20000, &res), 0);
    assert_int_equal(res.exit_code, 137);
    assert_int_equal(res.signal, 9);
    assert_int_equal(res.timed_out, 0);
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->job_kill(g.sbx, j, &c), 0);     /* idempotent */
    g.ops->job_free(g.sbx, j);

    /* A job's own timeout. */
    struct corral_exec_request t = {.shell = "sleep 300", .timeout_ms = 500};
    j = spawn(&t);
    assert_int_equal(job_wait(j, 20000, &res), 0);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    g.ops->job_free(g.sbx, j);

    /* stdin reaches a job too. */
    struct corral_exec_request s = {.argv = (const char *[]){"cat", NULL}, .stdin_data = "fed\n",
                                    .stdin_len = 4, .out_path = "/tmp/job.cat"};
    j = spawn(&s);
    assert_int_equal(job_wait(j, 20000, &res), 0);
    assert_int_equal(res.exit_code, 0);
    g.ops->job_free(g.sbx, j);
    o = (struct out){0};
    read_to(g.sbx, "/tmp/job.cat", &o, 0);
    assert_string_equal(o.p, "fed\n");
    free(o.p);
}

/* ---- files and archives ---------------------------------------------------- */

static void test_files(void **st)
{
    (void)st;
    NEED();
    unsigned char data[70000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 8));
    struct mem m = {(const char *)data, sizeof data};
    struct corral_source src = {sizeof src, mem_read, &m, sizeof data, NULL};
    struct corral_call c;
    corral_call_init(&c, 60000);
    int rc = g.ops->write_file(g.sbx, "/tmp/new/deep/dir/blob.bin", &src, 0600, &c);
    if (rc)
        fail_msg("write_file: %d %s", rc, c.message);
    struct out o = {0};
    read_to(g.sbx, "/tmp/new/deep/dir/blob.bin", &o, 0);
    assert_int_equal(o.len, sizeof data);
    assert_memory_equal(o.p, data, sizeof data);
    free(o.p);
    struct run r = sh(g.sbx, "stat -c %a /tmp/new/deep/dir/blob.bin; stat -c %a /tmp");
    assert_string_equal(r.out.p, "600\n1777\n");
    run_free(&r);

    /* Unknown length (streamed source) and overwrite. */
    m = (struct mem){"short text", 10};
    src.length = -1;
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->write_file(g.sbx, "/tmp/new/deep/dir/blob.bin", &src, 0644, &c), 0);
    o = (struct out){0};
    read_to(g.sbx, "/tmp/new/deep/dir/blob.bin", &o, 0);
    assert_string_equal(o.p, "short text");
    free(o.p);

    /* Missing file, a directory, a symlink. */
    o = (struct out){0};
    read_to(g.sbx, "/tmp/does/not/exist", &o, CORRAL_ENOTFOUND);
    read_to(g.sbx, "/tmp", &o, CORRAL_EINVAL);
    r = sh(g.sbx, "ln -sf /tmp/new/deep/dir/blob.bin /tmp/link");
    run_free(&r);
    read_to(g.sbx, "/tmp/link", &o, 0);
    assert_string_equal(o.p, "short text");
    free(o.p);
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->write_file(g.sbx, "relative/path", &src, 0644, &c), CORRAL_EINVAL);
}

static void test_archives(void **st)
{
    (void)st;
    NEED();
    /* Build a tar: x.txt, sub/, sub/y.bin */
    char *tar = NULL;
    size_t tar_len = 0;
    FILE *f = open_memstream(&tar, &tar_len);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_FILE(a, f);
    const char *names[] = {"x.txt", "sub/", "sub/y.bin"};
    const char *bodies[] = {"hello x\n", NULL, "\x01\x02\x00\x03yy"};
    size_t lens[] = {8, 0, 6};
    for (int i = 0; i < 3; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, bodies[i] ? AE_IFREG : AE_IFDIR);
        archive_entry_set_perm(e, bodies[i] ? 0644 : 0755);
        archive_entry_set_size(e, (la_int64_t)lens[i]);
        archive_write_header(a, e);
        if (bodies[i])
            archive_write_data(a, bodies[i], lens[i]);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    fclose(f);

    struct mem m = {tar, tar_len};
    struct corral_source src = {sizeof src, mem_read, &m, (int64_t)tar_len, NULL};
    struct corral_call c;
    corral_call_init(&c, 60000);
    int rc = g.ops->put_archive(g.sbx, "/tmp/arch/fresh", &src, &c);
    if (rc)
        fail_msg("put_archive: %d %s", rc, c.message);
    free(tar);
    struct run r = sh(g.sbx, "cat /tmp/arch/fresh/x.txt; ls /tmp/arch/fresh/sub");
    assert_string_equal(r.out.p, "hello x\ny.bin\n");
    run_free(&r);

    struct out o = {0};
    struct corral_sink s = {sizeof s, out_write, &o};
    corral_call_init(&c, 60000);
    rc = g.ops->get_archive(g.sbx, "/tmp/arch/fresh/", &s, &c);
    if (rc)
        fail_msg("get_archive: %d %s", rc, c.message);
    a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, o.p, o.len), ARCHIVE_OK);
    struct archive_entry *e;
    int seen = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        char buf[64] = "";
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (strcmp(p, "x.txt") == 0) {
            assert_int_equal(n, 8);
            assert_memory_equal(buf, "hello x\n", 8);
            seen |= 1;
        } else if (strcmp(p, "sub/") == 0 || strcmp(p, "sub") == 0) {
            seen |= 2;
        } else if (strcmp(p, "sub/y.bin") == 0) {
            assert_int_equal(n, 6);
            assert_memory_equal(buf, "\x01\x02\x00\x03yy", 6);
            seen |= 4;
        } else {
            fail_msg("unexpected entry '%s' (paths must be relative to the directory)", p);
        }
    }
    assert_int_equal(seen, 7);
    archive_read_free(a);
    free(o.p);
    o = (struct out){0};
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->get_archive(g.sbx, "/tmp/arch/none", &s, &c), CORRAL_ENOTFOUND);
    free(o.p);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static int running(corral_sbx *s)
{
    struct corral_call c;
    corral_call_init(&c, 30000);
    return g.ops->running(s, &c);
}

static void test_pause_resume(void **st)
{
    (void)st;
    NEED();
    struct corral_call c;
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->pause(g.sbx, &c), 0);
    assert_int_equal(running(g.sbx), 0);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->pause(g.sbx, &c), 0);               /* idempotent */
    struct run r = sh(g.sbx, "true");
    assert_int_equal(r.rc, CORRAL_ESTATE);
    run_free(&r);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->resume(g.sbx, &c), 0);
    assert_int_equal(running(g.sbx), 1);
    r = sh(g.sbx, "echo back");
    assert_string_equal(r.out.p, "back\n");
    run_free(&r);
}

static void test_security_defaults(void **st)
{
    (void)st;
    NEED();
    struct run r = sh(g.sbx, "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; ls /sys/class/net; "
                             "cat /proc/1/cmdline | tr '\\0' ' '");
    assert_int_equal(r.rc, 0);
    /* CHOWN DAC_OVERRIDE FOWNER SETGID SETUID only: bits 0 1 3 6 7 = 0xcb */
    assert_non_null(strstr(r.out.p, "CapEff:\t00000000000000cb"));
    assert_non_null(strstr(r.out.p, "NoNewPrivs:\t1"));
    assert_non_null(strstr(r.out.p, "lo\n"));
    assert_null(strstr(r.out.p, "eth0"));
    assert_non_null(strstr(r.out.p, "/.corral/shim init "));
    run_free(&r);
}

struct found {
    const char *id;
    char state[1024];
    char status[32];
    int n;
};

static int find_cb(void *ud, const struct corral_sandbox_info *info)
{
    struct found *f = ud;
    f->n++;
    if (strcmp(info->id, f->id) == 0) {
        snprintf(f->state, sizeof f->state, "%s", info->state_json);
        snprintf(f->status, sizeof f->status, "%s", info->status);
        int has_owner = 0;
        for (size_t i = 0; info->labels[i]; i++)
            has_owner |= strncmp(info->labels[i], "corral.owner=", 13) == 0;
        assert_true(has_owner);
    }
    return 0;
}

static void test_attach_list_remove(void **st)
{
    (void)st;
    NEED();
    char msg[1024];
    corral_sbx *s = NULL;
    assert_int_equal(create_sbx("second", IMAGE, NULL, NULL, &s, msg, sizeof msg), 0);
    char *state = NULL;
    struct corral_call c;
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->state(s, &state, &c), 0);
    assert_null(strstr(state, "base value"));                 /* no env values */
    assert_non_null(strstr(state, "\"container\":"));

    /* A create retried with the same id adopts the container. */
    corral_sbx *again = NULL;
    assert_int_equal(create_sbx("second", IMAGE, NULL, NULL, &again, msg, sizeof msg), 0);
    char *state2 = NULL;
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->state(again, &state2, &c), 0);
    assert_string_equal(state, state2);
    free(state2);
    g.ops->close(again);

    /* Paused, then attached: resumed. */
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->pause(s, &c), 0);
    g.ops->close(s);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->attach(g.ps, state, &s, &c), 0);
    assert_int_equal(running(s), 1);

    /* Stopped (as after a daemon restart), then attached: started. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "docker kill docker-t%d-second >/dev/null", (int)getpid());
    assert_int_equal(system(cmd), 0);
    assert_int_equal(running(s), 0);
    g.ops->close(s);
    corral_call_init(&c, 30000);
    int rc = g.ops->attach(g.ps, state, &s, &c);
    if (rc)
        fail_msg("attach stopped: %d %s", rc, c.message);
    assert_int_equal(running(s), 1);
    struct run r = sh(s, "echo alive");
    assert_string_equal(r.out.p, "alive\n");
    run_free(&r);
    g.ops->close(s);

    /* list by owner finds both; remove is idempotent; attach then fails. */
    char f1[96], want[96];
    snprintf(f1, sizeof f1, "corral.owner=%s", g.owner);
    snprintf(want, sizeof want, "docker-t%d-second", (int)getpid());
    const char *filters[] = {f1, "corral.rollout", NULL};
    struct found fd = {.id = want};
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->list(g.ps, filters, find_cb, &fd, &c), 0);
    assert_true(fd.n >= 2);
    assert_string_equal(fd.status, "running");
    const char *none[] = {"corral.owner=nobody-at-all", NULL};
    struct found fz = {.id = want};
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->list(g.ps, none, find_cb, &fz, &c), 0);
    assert_int_equal(fz.n, 0);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->remove(g.ps, fd.state, &c), 0);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->remove(g.ps, fd.state, &c), 0);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->attach(g.ps, state, &s, &c), CORRAL_ENOTFOUND);
    free(state);
}

static void test_missing_image_and_refusals(void **st)
{
    (void)st;
    NEED();
    char msg[1024];
    corral_sbx *s = NULL;
    /* Missing on the daemon, so pulled, from a registry that is not
     * there (a closed loopback port): create fails with the pull's reason. */
    assert_true(create_sbx("noimg", "127.0.0.1:9/corral-test/no-such-image:0", NULL, NULL, &s, msg, sizeof msg) < 0);
    assert_non_null(strstr(msg, "pull"));
    assert_non_null(strstr(msg, "no-such-image"));
    assert_null(s);
    assert_int_equal(create_sbx("priv", IMAGE, NULL, "{\"privileged\":true}", &s, msg, sizeof msg),
                     CORRAL_EPERM);
    assert_non_null(strstr(msg, "'privileged'"));
    assert_int_equal(create_sbx("hostnet", IMAGE, NULL, "{\"network_mode\":\"host\"}", &s, msg, sizeof msg),
                     CORRAL_EPERM);
    assert_non_null(strstr(msg, "'network_mode'"));
    assert_int_equal(create_sbx("bind", IMAGE, NULL, "{\"mounts\":[{\"source\":\"/\",\"target\":\"/host\"}]}",
                                &s, msg, sizeof msg), CORRAL_EPERM);
    /* Nothing was left behind by the refusals. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test -z \"$(docker ps -aq --filter name=docker-t%d-priv)\"", (int)getpid());
    assert_int_equal(system(cmd), 0);
}

static void user_case(const char *suffix, const char *user)
{
    char msg[1024];
    corral_sbx *s = NULL;
    int rc = create_sbx(suffix, IMAGE, user, NULL, &s, msg, sizeof msg);
    if (rc)
        fail_msg("create: %d %s", rc, msg);
    struct run r = sh(s, "id -u");
    assert_string_equal(r.out.p, "1000\n");
    run_free(&r);
    const char *data = "owned";
    struct mem m = {data, 5};
    struct corral_source src = {sizeof src, mem_read, &m, 5, NULL};
    struct corral_call c;
    corral_call_init(&c, 60000);
    rc = g.ops->write_file(s, "/tmp/u/sub/f.txt", &src, 0644, &c);
    if (rc)
        fail_msg("write_file as user: %d %s", rc, c.message);
    r = sh(s, "stat -c '%u %a' /tmp/u/sub /tmp/u/sub/f.txt; echo more >> /tmp/u/sub/f.txt && echo ok");
    assert_string_equal(r.out.p, "1000 755\n1000 644\nok\n");
    run_free(&r);
    /* Staged stdin is readable by the user, and removed by it. */
    const char *argv[] = {"cat", NULL};
    struct corral_exec_request req = {.argv = argv, .stdin_data = "as user\n", .stdin_len = 8};
    r = run_req(s, &req);
    assert_string_equal(r.out.p, "as user\n");
    run_free(&r);
    r = sh(s, "ls /.corral | grep -c '^in-' || true");
    assert_string_equal(r.out.p, "0\n");
    run_free(&r);
    /* put_archive hands everything it extracts to the user. */
    char *tar = NULL;
    size_t tar_len = 0;
    FILE *f = open_memstream(&tar, &tar_len);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_FILE(a, f);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "ws/file.txt");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 3);
    archive_entry_set_uid(e, 4242);
    archive_write_header(a, e);
    archive_write_data(a, "abc", 3);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    fclose(f);
    struct mem tm = {tar, tar_len};
    struct corral_source tsrc = {sizeof tsrc, mem_read, &tm, (int64_t)tar_len, NULL};
    corral_call_init(&c, 60000);
    rc = g.ops->put_archive(s, "/tmp/hydrate", &tsrc, &c);
    if (rc)
        fail_msg("put_archive as user: %d %s", rc, c.message);
    free(tar);
    r = sh(s, "stat -c '%u' /tmp/hydrate /tmp/hydrate/ws/file.txt; cat /tmp/hydrate/ws/file.txt");
    assert_string_equal(r.out.p, "1000\n1000\nabc");
    run_free(&r);
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->destroy(s, &c), 0);
    corral_call_init(&c, 60000);
    assert_int_equal(g.ops->destroy(s, &c), 0);                 /* idempotent */
    assert_int_equal(running(s), 0);
    g.ops->close(s);
}

/* A numeric user goes into tar headers; a named one through copyUIDGID. */
static void test_user(void **st)
{
    (void)st;
    NEED();
    user_case("uid", "1000:1000");
    user_case("named", "corral");
}

static void test_ttl(void **st)
{
    (void)st;
    NEED();
    char msg[1024];
    corral_sbx *s = NULL;
    g.ttl_s = 3;
    int64_t t0 = corral_now_ms();
    int rc = create_sbx("ttl", IMAGE, NULL, NULL, &s, msg, sizeof msg);
    g.ttl_s = 0;
    if (rc)
        fail_msg("create: %d %s", rc, msg);
    /* Up while the deadline is ahead (a loaded machine may take longer
     * than the TTL to create it: then only the end is checked). */
    int alive = running(s);
    if (corral_now_ms() - t0 < 2000)
        assert_int_equal(alive, 1);
    char *state = NULL;
    struct corral_call c;
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->state(s, &state, &c), 0);
    /* PID 1 exits at the deadline, with nobody from corral watching. */
    int up = 1;
    for (int i = 0; i < 150 && up; i++) {
        usleep(100000);
        up = running(s);
    }
    assert_int_equal(up, 0);
    g.ops->close(s);
    /* Still listed (as stopped) so that gc can find and remove it. */
    char f1[96], want[96];
    snprintf(f1, sizeof f1, "corral.owner=%s", g.owner);
    snprintf(want, sizeof want, "docker-t%d-ttl", (int)getpid());
    const char *filters[] = {f1, NULL};
    struct found fd = {.id = want};
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->list(g.ps, filters, find_cb, &fd, &c), 0);
    assert_string_equal(fd.status, "stopped");
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->attach(g.ps, state, &s, &c), CORRAL_ESTATE);
    corral_call_init(&c, 30000);
    assert_int_equal(g.ops->remove(g.ps, state, &c), 0);
    free(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_stdout_stderr_cwd),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_env_and_argv_verbatim),
        cmocka_unit_test(test_big_output),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_cancel_kills_group),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_security_defaults),
        cmocka_unit_test(test_attach_list_remove),
        cmocka_unit_test(test_missing_image_and_refusals),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_ttl),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
