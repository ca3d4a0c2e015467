/*
 * corral-conformance: checks that a sandbox plugin keeps every promise of
 * <corral/sandbox.h>, through the host layer (<corral/sandbox_host.h>) the
 * CLI and the rollout runner use.  Run it against any backend:
 *
 *   corral-conformance --plugin local [--plugin-dir DIR] [--image I]
 *   corral-conformance --plugin /path/to/sandbox_x.so
 *
 * Exit status: 0 all passed, 1 failures, 2 usage, 77 skipped (the plugin
 * or its daemon is missing and --skip-if-missing was given).
 */
#include <corral/sandbox_host.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

/* ---- options and shared state ---- */

static const char *opt_plugin;
static const char *opt_image;
static const char *opt_config;
static const char *opt_dirs[16];
static size_t n_dirs, n_user_dirs;
static char backend[64];
static corral_ctx *ctx;
static corral_sandbox *shared;       /* one sandbox most tests use */
static char wd[512];                /* its working directory */
static char host_tmp[512];      /* host scratch dir */
static char self_exe[PATH_MAX];

static corral_ctx *open_ctx(void)
{
    struct corral_options o = { .struct_size = sizeof o, .config_file = opt_config,
                                .plugin_dirs = n_dirs ? opt_dirs : NULL };
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_ctx *c = NULL;
    if (corral_open(&o, &c, &call) != 0) {
        fprintf(stderr, "corral-conformance: %s\n", call.message);
        corral_close(c);
        return NULL;
    }
    return c;
}

#define CALL(c, ms) struct corral_call c; corral_call_init(&c, ms)
#define OK(expr, c)                                                                   \
    do {                                                                              \
        int r_ = (expr);                                                              \
        if (r_ != 0)                                                                  \
            fail_msg("%s -> %d (%s): %s", #expr, r_, corral_strerror(r_), (c).message); \
    } while (0)

static corral_sandbox *new_sandbox(const char *const *labels, const char *const *env, int64_t ttl)
{
    CALL(call, 300000);
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .image = opt_image, .labels = labels,
                                        .env = env, .ttl_s = ttl, .network = CORRAL_NET_NONE };
    struct corral_sandbox_create_opts o = { .struct_size = sizeof o, .backend = backend, .rollout = "conformance" };
    corral_sandbox *sb = NULL;
    OK(corral_sandbox_create(ctx, &o, &spec, &sb, &call), call);
    return sb;
}

static void drop_sandbox(corral_sandbox *sb)
{
    CALL(call, 120000);
    OK(corral_sandbox_destroy(sb, &call), call);
    corral_sandbox_close(sb);
}

/* Run argv in sb capturing output; fails the test on an infrastructure error. */
static void run_req(corral_sandbox *sb, struct corral_exec_request *req, struct corral_exec_output *o)
{
    CALL(call, 120000);
    req->struct_size = sizeof *req;
    OK(corral_sandbox_run(sb, req, o, &call), call);
}

/* sh -c SCRIPT with positional args; returns the output (caller frees). */
static void shx(corral_sandbox *sb, struct corral_exec_output *o, const char *script, ...)
{
    const char *argv[16] = { "/bin/sh", "-c", script, "sh" };
    size_t n = 4;
    va_list ap;
    va_start(ap, script);
    const char *a;
    while (n < 15 && (a = va_arg(ap, const char *)))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct corral_exec_request req = { .argv = argv };
    memset(o, 0, sizeof *o);
    run_req(sb, &req, o);
}

/* Run a script that must succeed; returns its stdout (malloc'ed). */
static char *sh_ok(corral_sandbox *sb, const char *script, const char *arg1, const char *arg2)
{
    struct corral_exec_output o;
    shx(sb, &o, script, arg1, arg2, (const char *)NULL);
    if (o.res.exit_code != 0)
        fail_msg("script failed (exit %d): %s\nstderr: %s", o.res.exit_code, script, o.err.data ? o.err.data : "");
    char *out = strdup(o.out.data ? o.out.data : "");
    corral_exec_output_free(&o);
    return out;
}

static void subdir(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", wd, name);
    char *r = sh_ok(shared, "rm -rf -- \"$1\" && mkdir -p -- \"$1\"", buf, NULL);
    free(r);
}

/* ---- lifecycle ---- */

static void test_create_exec_destroy(void **st)
{
    (void)st;
    static const char *const labels[] = { "team=conformance", "purpose=lifecycle", NULL };
    static const char *const env[] = { "CONFORMANCE_TOKEN=tok-5ecret-4fa1c0de", NULL };
    corral_sandbox *sb = new_sandbox(labels, env, 600);
    const char *id = corral_sandbox_id(sb);
    assert_true(corral_sandbox_id_valid(id));
    assert_int_equal(strncmp(id, backend, strlen(backend)), 0);
    CALL(call, 60000);
    char *b = NULL, *state = NULL;
    OK(corral_registry_get(id, &b, &state, NULL, &call), call);
    assert_string_equal(b, backend);
    /* state() is stored on disk: it must never carry env values (secrets) */
    if (strstr(state, "5ecret-4fa1c0de"))
        fail_msg("the backend's state JSON contains an env value: %s", state);
    free(b);
    free(state);
    const char *argv[] = { "true", NULL };
    struct corral_exec_request req = { .argv = argv };
    struct corral_exec_output o = { 0 };
    run_req(sb, &req, &o);
    assert_int_equal(o.res.exit_code, 0);
    assert_int_equal(o.res.timed_out, 0);
    corral_exec_output_free(&o);
    if (corral_sandbox_op_support(corral_sandbox_ops_of(sb), CORRAL_OP_RUNNING))
        assert_int_equal(corral_sandbox_running(sb, &call), 1);
    char idcopy[96];
    snprintf(idcopy, sizeof idcopy, "%s", id);
    OK(corral_sandbox_destroy(sb, &call), call);
    /* Idempotent: destroying again succeeds. */
    OK(corral_sandbox_destroy(sb, &call), call);
    if (corral_sandbox_op_support(corral_sandbox_ops_of(sb), CORRAL_OP_RUNNING))
        assert_true(corral_sandbox_running(sb, &call) <= 0);
    corral_sandbox_close(sb);
    assert_int_equal(corral_registry_get(idcopy, NULL, NULL, NULL, &call), CORRAL_ENOTFOUND);
    corral_sandbox *again = NULL;
    assert_int_equal(corral_sandbox_attach(ctx, idcopy, &again, &call), CORRAL_ENOTFOUND);
}

static void test_bad_input_refused(void **st)
{
    (void)st;
    CALL(call, 60000);
    struct corral_sandbox_create_opts o = { .struct_size = sizeof o, .backend = backend };
    static const char *const bad_labels[] = { "corral.id=mine", NULL };
    static const char *const bad_labels2[] = { "ok=has space", NULL };
    static const char *const bad_env[] = { "1BAD=x", NULL };
    corral_sandbox *sb = NULL;
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .image = opt_image, .labels = bad_labels };
    assert_int_equal(corral_sandbox_create(ctx, &o, &spec, &sb, &call), CORRAL_EINVAL);
    spec.labels = bad_labels2;
    assert_int_equal(corral_sandbox_create(ctx, &o, &spec, &sb, &call), CORRAL_EINVAL);
    spec.labels = NULL;
    spec.env = bad_env;
    assert_int_equal(corral_sandbox_create(ctx, &o, &spec, &sb, &call), CORRAL_EINVAL);
    assert_null(sb);
    assert_int_equal(corral_sandbox_attach(ctx, "nosuch-0123456789abcdef", &sb, &call), CORRAL_ENOTFOUND);
    assert_int_equal(corral_sandbox_attach(ctx, "not an id", &sb, &call), CORRAL_EINVAL);
    const char *argv[] = { "true", NULL };
    static const char *const env[] = { "BAD-NAME=1", NULL };
    struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv, .env = env };
    struct corral_exec_result res;
    assert_int_equal(corral_sandbox_exec(shared, &req, &res, &call), CORRAL_EINVAL);
    /* Unsupported optional ops say so and name the backend. */
    if (!corral_sandbox_op_support(corral_sandbox_ops_of(shared), CORRAL_OP_PAUSE)) {
        assert_int_equal(corral_sandbox_pause(shared, &call), CORRAL_ENOTSUP);
        assert_non_null(strstr(call.message, backend));
    }
}

/* ---- exec ---- */

static void test_exit_codes(void **st)
{
    (void)st;
    static const int codes[] = { 0, 1, 42, 255 };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", codes[i]);
        struct corral_exec_output o;
        shx(shared, &o, "exit \"$1\"", n, (const char *)NULL);
        assert_int_equal(o.res.exit_code, codes[i]);
        assert_int_equal(o.res.signal, 0);
        assert_int_equal(o.res.timed_out, 0);
        corral_exec_output_free(&o);
    }
    const char *argv[] = { "false", NULL };
    struct corral_exec_request req = { .argv = argv };
    struct corral_exec_output o = { 0 };
    run_req(shared, &req, &o);
    assert_int_equal(o.res.exit_code, 1);
    corral_exec_output_free(&o);
    /* shell string form */
    struct corral_exec_request rs = { .shell = "echo a; exit 3" };
    run_req(shared, &rs, &o);
    assert_int_equal(o.res.exit_code, 3);
    assert_string_equal(o.out.data, "a\n");
    corral_exec_output_free(&o);
    /* cwd is honoured */
    struct corral_exec_request rc = { .shell = "pwd", .cwd = "/" };
    run_req(shared, &rc, &o);
    assert_string_equal(o.out.data, "/\n");
    corral_exec_output_free(&o);
}

static void test_signals(void **st)
{
    (void)st;
    struct corral_exec_output o;
    shx(shared, &o, "kill -TERM $$; sleep 5", (const char *)NULL);
    assert_int_equal(o.res.exit_code, 128 + SIGTERM);
    assert_true(o.res.signal == 0 || o.res.signal == SIGTERM);
    assert_int_equal(o.res.timed_out, 0);
    corral_exec_output_free(&o);
    shx(shared, &o, "kill -KILL $$; sleep 5", (const char *)NULL);
    assert_int_equal(o.res.exit_code, 128 + SIGKILL);
    corral_exec_output_free(&o);
}

/* 1 when pid (inside the sandbox) is still a live (non-zombie) process. */
static int alive_in(corral_sandbox *sb, const char *pid)
{
    char *r = sh_ok(sb,
                    "p=$1; [ -d /proc/$p ] || { echo dead; exit 0; }; "
                    "s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1); "
                    "if [ -z \"$s\" ] || [ \"$s\" = Z ] || [ \"$s\" = X ]; then echo dead; else echo alive; fi",
                    pid, NULL);
    int alive = strncmp(r, "alive", 5) == 0;
    free(r);
    return alive;
}

/* The processes whose pids the files at pidf and gpidf (in the shared
 * sandbox) name are gone within 4 s: a killed command and its grandchild. */
static void assert_pids_die(const char *pidf, const char *gpidf)
{
    char *pid = sh_ok(shared, "cat \"$1\"", pidf, NULL);
    char *gpid = sh_ok(shared, "cat \"$1\"", gpidf, NULL);
    pid[strcspn(pid, "\n")] = '\0';
    gpid[strcspn(gpid, "\n")] = '\0';
    assert_true(pid[0] && gpid[0]);
    int a1 = 1, a2 = 1;
    for (int i = 0; i < 40 && (a1 || a2); i++) {
        a1 = alive_in(shared, pid);
        a2 = alive_in(shared, gpid);
        if (a1 || a2)
            usleep(100000);
    }
    assert_false(a1);
    assert_false(a2); /* the grandchild died with the group */
    free(pid);
    free(gpid);
}

static void test_timeout_kills_group(void **st)
{
    (void)st;
    char dir[1200], pidf[1300], gpidf[1300];
    subdir(dir, sizeof dir, "timeout");
    snprintf(pidf, sizeof pidf, "%s/sh.pid", dir);
    snprintf(gpidf, sizeof gpidf, "%s/grandchild.pid", dir);
    const char *argv[] = { "/bin/sh", "-c",
                           "echo $$ > \"$1\"; (sleep 300; echo late) & echo $! > \"$2\"; sleep 300; echo late",
                           "sh", pidf, gpidf, NULL };
    struct corral_exec_request req = { .argv = argv, .timeout_ms = 1500 };
    struct corral_exec_output o = { 0 };
    CALL(call, 60000); /* far less than the 300 s the command wants */
    req.struct_size = sizeof req;
    OK(corral_sandbox_run(shared, &req, &o, &call), call);
    assert_int_equal(o.res.exit_code, 124);
    assert_int_equal(o.res.timed_out, 1);
    assert_null(o.out.data ? strstr(o.out.data, "late") : NULL);
    corral_exec_output_free(&o);
    assert_pids_die(pidf, gpidf);
}

static int pattern_ok(const char *d, size_t len)
{
    static const char pat[] = "0123456789abcde\n";
    for (size_t i = 0; i < len; i++)
        if (d[i] != pat[i % 16])
            return 0;
    return 1;
}

static void test_big_output_and_cap(void **st)
{
    (void)st;
    const size_t ten = 10u << 20;
    struct corral_exec_output o;
    shx(shared, &o, "yes 0123456789abcde | head -c 10485760; yes x | head -c 3000000 >&2", (const char *)NULL);
    assert_int_equal(o.res.exit_code, 0);
    assert_int_equal(o.out.len, ten);
    assert_int_equal(o.out.truncated, 0);
    assert_true(pattern_ok(o.out.data, o.out.len));
    assert_int_equal(o.err.len, 3000000);
    corral_exec_output_free(&o);
    /* at a 1 MiB cap: exactly the cap kept, the rest counted, flag set */
    const char *argv[] = { "/bin/sh", "-c", "yes 0123456789abcde | head -c 10485760", NULL };
    struct corral_exec_request req = { .argv = argv };
    memset(&o, 0, sizeof o);
    o.out.cap = 1u << 20;
    run_req(shared, &req, &o);
    assert_int_equal(o.res.exit_code, 0);
    assert_int_equal(o.out.len, 1u << 20);
    assert_int_equal(o.out.total, ten);
    assert_int_equal(o.out.truncated, 1);
    assert_true(pattern_ok(o.out.data, o.out.len));
    corral_exec_output_free(&o);
}

static void all_bytes(unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)((i + i / 256) & 0xff);
}

static void test_binary_files_and_stdin(void **st)
{
    (void)st;
    char dir[1200], path[1300];
    subdir(dir, sizeof dir, "binary");
    snprintf(path, sizeof path, "%s/bytes.bin", dir);
    const size_t n = 256 * 256 + 7;
    unsigned char *b = malloc(n);
    all_bytes(b, n);
    CALL(call, 120000);
    OK(corral_sandbox_write_mem(shared, path, b, n, 0644, &call), call);
    char *back = NULL;
    size_t blen = 0;
    OK(corral_sandbox_read_mem(shared, path, 1u << 20, &back, &blen, &call), call);
    assert_int_equal(blen, n);
    assert_memory_equal(back, b, n);
    free(back);
    /* the same bytes through exec stdout */
    struct corral_exec_output o;
    shx(shared, &o, "cat \"$1\"", path, (const char *)NULL);
    assert_int_equal(o.out.len, n);
    assert_memory_equal(o.out.data, b, n);
    corral_exec_output_free(&o);
    /* and through stdin */
    const char *argv[] = { "cat", NULL };
    struct corral_exec_request req = { .argv = argv, .stdin_data = b, .stdin_len = n };
    memset(&o, 0, sizeof o);
    run_req(shared, &req, &o);
    assert_int_equal(o.out.len, n);
    assert_memory_equal(o.out.data, b, n);
    corral_exec_output_free(&o);
    /* a large stdin with a reader that only counts */
    size_t big = 3000000;
    char *bb = malloc(big);
    memset(bb, 'z', big);
    const char *wc[] = { "/bin/sh", "-c", "wc -c | tr -d ' '", NULL };
    struct corral_exec_request r2 = { .argv = wc, .stdin_data = bb, .stdin_len = big };
    memset(&o, 0, sizeof o);
    run_req(shared, &r2, &o);
    assert_string_equal(o.out.data, "3000000\n");
    corral_exec_output_free(&o);
    /* no stdin given: the command sees EOF at once */
    const char *c2[] = { "/bin/sh", "-c", "cat | wc -c | tr -d ' '", NULL };
    struct corral_exec_request r3 = { .argv = c2 };
    memset(&o, 0, sizeof o);
    run_req(shared, &r3, &o);
    assert_string_equal(o.out.data, "0\n");
    corral_exec_output_free(&o);
    free(bb);
    free(b);
}

static void test_env_verbatim(void **st)
{
    (void)st;
    static const char *const env[] = {
        "V1='$(id)'", "V2=\"double\" 'single' `tick` $HOME ; rm -rf / #", "V3=line1\nline2\n", "V4=", NULL,
    };
    const char *argv[] = { "/bin/sh", "-c", "printf '%s|' \"$V1\" \"$V2\" \"$V3\" \"$V4\" \"$SPEC_ENV\"", NULL };
    struct corral_exec_request req = { .argv = argv, .env = env };
    struct corral_exec_output o = { 0 };
    run_req(shared, &req, &o);
    assert_int_equal(o.res.exit_code, 0);
    const char *want = "'$(id)'|\"double\" 'single' `tick` $HOME ; rm -rf / #|line1\nline2\n||a b $(c) 'd'|";
    assert_string_equal(o.out.data, want);
    corral_exec_output_free(&o);
    /* argv items arrive verbatim as well (no shell involved) */
    const char *pf[] = { "printf", "%s|", "$(id)", "a b", "'q'", NULL };
    struct corral_exec_request r2 = { .argv = pf };
    memset(&o, 0, sizeof o);
    run_req(shared, &r2, &o);
    assert_string_equal(o.out.data, "$(id)|a b|'q'|");
    corral_exec_output_free(&o);
}

struct thr {
    int n;
    int ok;
    char msg[1200];
};

/* Run fn on N threads at once (thread i gets n = i + 1); fail with the
 * first thread's message that did not end ok. */
static void run_threads(void *(*fn)(void *))
{
    enum { N = 4 };
    pthread_t th[N];
    struct thr t[N];
    for (int i = 0; i < N; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].n = i + 1;
        assert_int_equal(pthread_create(&th[i], NULL, fn, &t[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++)
        if (!t[i].ok)
            fail_msg("%s", t[i].msg);
}

static void *thread_exec(void *arg)
{
    struct thr *t = arg;
    t->ok = 1;
    for (int i = 0; i < 5 && t->ok; i++) {
        char want[64], a[16];
        snprintf(a, sizeof a, "%d", t->n * 100 + i);
        snprintf(want, sizeof want, "out %s\n", a);
        const char *argv[] = { "/bin/sh", "-c", "echo \"out $1\"; echo \"err $1\" >&2; exit $(( $1 % 7 ))", "sh",
                               a, NULL };
        struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv };
        struct corral_exec_output o = { 0 };
        struct corral_call call;
        corral_call_init(&call, 120000);
        int r = corral_sandbox_run(shared, &req, &o, &call);
        if (r != 0 || !o.out.data || strcmp(o.out.data, want) != 0 || o.res.exit_code != (t->n * 100 + i) % 7) {
            t->ok = 0;
            snprintf(t->msg, sizeof t->msg, "thread %d exec %d: rc %d exit %d out '%.40s' (%.100s)", t->n, i, r,
                     o.res.exit_code, o.out.data ? o.out.data : "", call.message);
        }
        corral_exec_output_free(&o);
    }
    return NULL;
}

static void test_concurrent_exec(void **st)
{
    (void)st;
    run_threads(thread_exec);
}

/* A plugin that declares CORRAL_CAP_CONCURRENT really runs two execs on
 * one handle at once: two `sleep 2` end well before 4 s.  Without the flag
 * the host serializes them, and there is nothing to check. */
static void *thread_sleep(void *arg)
{
    struct thr *t = arg;
    const char *argv[] = { "sleep", "2", NULL };
    struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv };
    struct corral_exec_output o = { 0 };
    struct corral_call call;
    corral_call_init(&call, 120000);
    int r = corral_sandbox_run(shared, &req, &o, &call);
    t->ok = r == 0 && o.res.exit_code == 0;
    if (!t->ok)
        snprintf(t->msg, sizeof t->msg, "thread %d: sleep: rc %d exit %d (%.100s)", t->n, r, o.res.exit_code,
                 call.message);
    corral_exec_output_free(&o);
    return NULL;
}

static void test_declared_concurrency_overlaps(void **st)
{
    (void)st;
    if (!(corral_sandbox_ops_of(shared)->caps & CORRAL_CAP_CONCURRENT)) {
        fprintf(stderr, "  note: %s does not declare CORRAL_CAP_CONCURRENT; the host serializes calls per handle\n",
                backend);
        return;
    }
    int64_t t0 = corral_now_ms();
    run_threads(thread_sleep);
    int64_t took = corral_now_ms() - t0;
    if (took >= 3500)
        fail_msg("%s declares CORRAL_CAP_CONCURRENT, but 4 concurrent `sleep 2` on one handle took %lld ms", backend,
                 (long long)took);
}

/* Several sandboxes at once from several threads, as a batch of rollouts
 * drives them: each thread creates its own, writes and reads files and
 * runs commands in it, then destroys it.  A plugin that shares state
 * between sandboxes without a lock, or closes an fd twice (in a threaded
 * host the number is soon another thread's), fails here. */
static void *thread_sandbox(void *arg)
{
    struct thr *t = arg;
    struct corral_call call;
    corral_call_init(&call, 300000);
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .image = opt_image, .ttl_s = 600,
                                        .network = CORRAL_NET_NONE };
    struct corral_sandbox_create_opts o = { .struct_size = sizeof o, .backend = backend, .rollout = "conformance" };
    corral_sandbox *sb = NULL;
    int r = corral_sandbox_create(ctx, &o, &spec, &sb, &call);
    if (r) {
        snprintf(t->msg, sizeof t->msg, "thread %d: create: %s", t->n, call.message);
        return NULL;
    }
    t->ok = 1;
    char path[64], body[256];
    snprintf(path, sizeof path, "/tmp/conc-%d.txt", t->n);
    for (int i = 0; i < 6 && t->ok; i++) {
        int len = snprintf(body, sizeof body, "sandbox of thread %d, round %d\n", t->n, i);
        char *back = NULL;
        size_t blen = 0;
        corral_call_init(&call, 120000);
        r = corral_sandbox_write_mem(sb, path, body, (size_t)len, 0644, &call);
        if (!r)
            r = corral_sandbox_read_mem(sb, path, 4096, &back, &blen, &call);
        if (r || blen != (size_t)len || memcmp(back, body, blen) != 0) {
            t->ok = 0;
            snprintf(t->msg, sizeof t->msg, "thread %d round %d: write/read: rc %d '%.60s' (%.200s)", t->n, i, r,
                     back ? back : "", call.message);
        }
        free(back);
        const char *argv[] = { "cat", path, NULL };
        struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv };
        struct corral_exec_output out = { 0 };
        corral_call_init(&call, 120000);
        r = t->ok ? corral_sandbox_run(sb, &req, &out, &call) : 0;
        if (t->ok && (r || out.res.exit_code != 0 || !out.out.data || strcmp(out.out.data, body) != 0)) {
            t->ok = 0;
            snprintf(t->msg, sizeof t->msg, "thread %d round %d: exec: rc %d exit %d '%.60s' (%.200s)", t->n, i, r,
                     out.res.exit_code, out.out.data ? out.out.data : "", call.message);
        }
        corral_exec_output_free(&out);
    }
    corral_call_init(&call, 120000);
    if (corral_sandbox_destroy(sb, &call) != 0 && t->ok) {
        t->ok = 0;
        snprintf(t->msg, sizeof t->msg, "thread %d: destroy: %s", t->n, call.message);
    }
    corral_sandbox_close(sb);
    return NULL;
}

static void test_concurrent_sandboxes(void **st)
{
    (void)st;
    run_threads(thread_sandbox);
}

/* ---- jobs ---- */

/* With CORRAL_CONFORMANCE_TMP_PRIVATE set (the sandbox's /tmp is its own),
 * fail when /tmp holds a corral file (issue 22 item 7: the job emulation's
 * markers and stdin live in corral's 0700 directory, out of the command's
 * /tmp and of a persist of it). */
static void assert_tmp_clean(const char *when)
{
    const char *on = getenv("CORRAL_CONFORMANCE_TMP_PRIVATE");
    if (!on || !*on)
        return;
    char *ls = sh_ok(shared, "ls -A /tmp", NULL, NULL);
    if (strstr(ls, ".corral-"))
        fail_msg("%s, /tmp holds corral files:\n%s", when, ls);
    free(ls);
}

static void test_spawn_wait_kill(void **st)
{
    (void)st;
    char dir[1200], outp[1300];
    subdir(dir, sizeof dir, "jobs");
    snprintf(outp, sizeof outp, "%s/job.out", dir);
    CALL(call, 120000);
    corral_sandbox_job *job = NULL;
    static const char *const env[] = { "JOBV=it's $(here)", NULL };
    const char *argv[] = { "/bin/sh", "-c", "read x; echo \"$x $JOBV\"; exit 7", NULL };
    struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv, .env = env,
                                       .stdin_data = "hello\n", .stdin_len = 6, .out_path = outp };
    OK(corral_sandbox_spawn(shared, &req, &job, &call), call);
    struct corral_exec_result res;
    OK(corral_sandbox_job_wait(shared, job, 30000, &res, &call), call);
    assert_int_equal(res.exit_code, 7);
    assert_int_equal(res.timed_out, 0);
    corral_sandbox_job_free(shared, job);
    char *out = NULL;
    size_t len;
    OK(corral_sandbox_read_mem(shared, outp, 4096, &out, &len, &call), call);
    assert_string_equal(out, "hello it's $(here)\n");
    free(out);

    /* The sandbox shell the harness promises (dash: it rejects `kill --`). */
    const char *want_sh = getenv("CORRAL_CONFORMANCE_SHELL");
    if (want_sh && *want_sh) {
        char *shname = sh_ok(shared, "basename \"$(readlink -f /bin/sh)\"", NULL, NULL);
        shname[strcspn(shname, "\n")] = '\0';
        assert_string_equal(shname, want_sh);
        free(shname);
    }

    /* a long job: probe once, then kill; a killed job is never "0", and
     * its whole process group dies, grandchildren included */
    char pidf[1300], gpidf[1300];
    snprintf(pidf, sizeof pidf, "%s/job.pid", dir);
    snprintf(gpidf, sizeof gpidf, "%s/grandchild.pid", dir);
    const char *sl[] = { "/bin/sh", "-c", "echo $$ > \"$1\"; (sleep 300; :) & echo $! > \"$2\"; sleep 300",
                         "sh", pidf, gpidf, NULL };
    struct corral_exec_request r2 = { .struct_size = sizeof r2, .argv = sl };
    OK(corral_sandbox_spawn(shared, &r2, &job, &call), call);
    int64_t t0 = corral_now_ms();
    assert_int_equal(corral_sandbox_job_wait(shared, job, 0, &res, &call), CORRAL_ETIMEDOUT);
    assert_int_equal(corral_sandbox_job_wait(shared, job, 300, &res, &call), CORRAL_ETIMEDOUT);
    assert_true(corral_now_ms() - t0 < 60000);
    assert_tmp_clean("while a job runs");
    OK(corral_sandbox_job_kill(shared, job, &call), call);
    OK(corral_sandbox_job_kill(shared, job, &call), call); /* idempotent */
    OK(corral_sandbox_job_wait(shared, job, 30000, &res, &call), call);
    assert_int_not_equal(res.exit_code, 0);
    assert_int_equal(res.exit_code, 128 + SIGKILL);
    corral_sandbox_job_free(shared, job);
    assert_pids_die(pidf, gpidf); /* the grandchild died with the job's group */

    /* a job with its own timeout */
    struct corral_exec_request r3 = { .struct_size = sizeof r3, .shell = "sleep 300", .timeout_ms = 800 };
    OK(corral_sandbox_spawn(shared, &r3, &job, &call), call);
    OK(corral_sandbox_job_wait(shared, job, 60000, &res, &call), call);
    assert_int_equal(res.exit_code, 124);
    assert_int_equal(res.timed_out, 1);
    corral_sandbox_job_free(shared, job);
    assert_tmp_clean("after the jobs ended");
}

/* ---- files ---- */

static void test_read_write_files(void **st)
{
    (void)st;
    char dir[1200], p[1400];
    subdir(dir, sizeof dir, "files");
    snprintf(p, sizeof p, "%s/new/parents/here/f.txt", dir);
    CALL(call, 120000);
    OK(corral_sandbox_write_mem(shared, p, "content\n", 8, 0750, &call), call);
    char *d = NULL;
    size_t len = 0;
    OK(corral_sandbox_read_mem(shared, p, 100, &d, &len, &call), call);
    assert_int_equal(len, 8);
    assert_memory_equal(d, "content\n", 8);
    free(d);
    char *mode = sh_ok(shared, "stat -c %a \"$1\" 2>/dev/null || ls -l \"$1\" | cut -c1-10", p, NULL);
    assert_true(strcmp(mode, "750\n") == 0 || strcmp(mode, "-rwxr-x---\n") == 0);
    free(mode);
    /* overwrite with something shorter */
    OK(corral_sandbox_write_mem(shared, p, "x", 1, 0644, &call), call);
    OK(corral_sandbox_read_mem(shared, p, 100, &d, &len, &call), call);
    assert_int_equal(len, 1);
    free(d);
    /* empty file */
    snprintf(p, sizeof p, "%s/empty", dir);
    OK(corral_sandbox_write_mem(shared, p, "", 0, 0600, &call), call);
    OK(corral_sandbox_read_mem(shared, p, 100, &d, &len, &call), call);
    assert_int_equal(len, 0);
    free(d);
    /* a file bigger than one emulation chunk */
    size_t big = (9u << 20) + 3;
    char *bb = malloc(big);
    for (size_t i = 0; i < big; i++)
        bb[i] = (char)(i * 7 + (i >> 12));
    snprintf(p, sizeof p, "%s/big.bin", dir);
    OK(corral_sandbox_write_mem(shared, p, bb, big, 0644, &call), call);
    OK(corral_sandbox_read_mem(shared, p, big + 10, &d, &len, &call), call);
    assert_int_equal(len, big);
    assert_memory_equal(d, bb, big);
    free(d);
    free(bb);
    /* a sink that refuses more stops the read with its error */
    d = NULL;
    assert_int_not_equal(corral_sandbox_read_mem(shared, p, 1000, &d, &len, &call), 0);
    assert_null(d);
    assert_non_null(strstr(call.message, "larger than"));
    /* a path full of shell metacharacters is just a path */
    snprintf(p, sizeof p, "%s/we ird/'q' \"d\" $(touch pwned) -x.txt", dir);
    OK(corral_sandbox_write_mem(shared, p, "odd", 3, 0644, &call), call);
    OK(corral_sandbox_read_mem(shared, p, 100, &d, &len, &call), call);
    assert_int_equal(len, 3);
    free(d);
    char *ls = sh_ok(shared,
                     "cd \"$1\" && ls -A 'we ird'; for d in \"$1\" \"$1/we ird\" / \"$2\" /tmp; do "
                     "[ -e \"$d/pwned\" ] && echo INJECTED; done; true", dir, wd);
    assert_null(strstr(ls, "INJECTED"));
    assert_non_null(strstr(ls, "'q' \"d\" $(touch pwned) -x.txt"));
    free(ls);
    /* missing file */
    snprintf(p, sizeof p, "%s/missing", dir);
    assert_int_equal(corral_sandbox_read_mem(shared, p, 100, &d, &len, &call), CORRAL_ENOTFOUND);
    /* relative paths are refused by the host */
    assert_int_equal(corral_sandbox_read_mem(shared, "rel/path", 100, &d, &len, &call), CORRAL_EINVAL);
}

/* ---- persist / hydrate ---- */

static const char manifest_script[] =
    "cd \"$1\" && find . | LC_ALL=C sort | while IFS= read -r p; do "
    "if [ -L \"$p\" ]; then echo \"L $p -> $(readlink \"$p\")\"; "
    "elif [ -d \"$p\" ]; then echo \"D $p\"; "
    "else echo \"F $p $(cksum < \"$p\")\"; fi; done";

static void make_tree(const char *dir)
{
    char *r = sh_ok(shared,
                    "set -e; cd \"$1\"; mkdir -p t/a/b/c t/emptydir; printf 'hello' > t/a/hello.txt; : > t/a/b/empty; "
                    "i=0; while [ $i -lt 256 ]; do printf \"\\\\$(printf %03o $i)\"; i=$((i+1)); done > t/a/b/c/bytes; "
                    "yes tree | head -c 300000 > t/big.txt; ln -s a/hello.txt t/link; ln -s ../hello.txt t/a/b/up; "
                    "echo ok",
                    dir, NULL);
    assert_string_equal(r, "ok\n");
    free(r);
    char p[1300];
    snprintf(p, sizeof p, "%s/t/a/b/c/bytes", dir);
    char *size = sh_ok(shared, "wc -c < \"$1\" | tr -d ' '", p, NULL);
    assert_string_equal(size, "256\n");
    free(size);
}

static void roundtrip(const char *ext)
{
    char dir[1200], t[1300], back[1300], file[1024];
    char name[64];
    snprintf(name, sizeof name, "persist%s", ext);
    subdir(dir, sizeof dir, name);
    make_tree(dir);
    snprintf(t, sizeof t, "%s/t", dir);
    snprintf(back, sizeof back, "%s/restored", dir);
    snprintf(file, sizeof file, "%s/ws%s", host_tmp, ext);
    CALL(call, 300000);
    OK(corral_sandbox_persist(shared, t, file, &call), call);
    struct stat sst;
    assert_int_equal(stat(file, &sst), 0);
    if (strstr(ext, ".tar")) {
        unsigned char m[4] = { 0 };
        FILE *f = fopen(file, "rb");
        assert_non_null(f);
        assert_int_equal(fread(m, 1, 4, f), 4);
        fclose(f);
        if (strcmp(ext, ".tar.gz") == 0)
            assert_true(m[0] == 0x1f && m[1] == 0x8b);
        if (strcmp(ext, ".tar.zst") == 0)
            assert_true(m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
    } else {
        /* a host directory: the tree arrived, links intact */
        char p[PATH_MAX + 64], lnk[256];
        snprintf(p, sizeof p, "%s/a/b/empty", file);
        assert_int_equal(stat(p, &sst), 0);
        assert_int_equal(sst.st_size, 0);
        snprintf(p, sizeof p, "%s/link", file);
        ssize_t n = readlink(p, lnk, sizeof lnk - 1);
        assert_true(n > 0);
        lnk[n] = '\0';
        assert_string_equal(lnk, "a/hello.txt");
    }
    OK(corral_sandbox_hydrate(shared, file, back, &call), call);
    char *m1 = sh_ok(shared, manifest_script, t, NULL);
    char *m2 = sh_ok(shared, manifest_script, back, NULL);
    assert_string_equal(m1, m2);
    assert_non_null(strstr(m1, "L ./link -> a/hello.txt"));
    assert_non_null(strstr(m1, "D ./emptydir"));
    free(m1);
    free(m2);
}

static void test_persist_hydrate_gz(void **st) { (void)st; roundtrip(".tar.gz"); }
static void test_persist_hydrate_zst(void **st) { (void)st; roundtrip(".tar.zst"); }
static void test_persist_hydrate_dir(void **st) { (void)st; roundtrip(".dir"); }

static void test_persist_missing_dir(void **st)
{
    (void)st;
    char file[1024], dir[1300];
    snprintf(file, sizeof file, "%s/missing.tar.gz", host_tmp);
    snprintf(dir, sizeof dir, "%s/does/not/exist", wd);
    CALL(call, 60000);
    assert_int_not_equal(corral_sandbox_persist(shared, dir, file, &call), 0);
    struct stat s;
    assert_int_not_equal(stat(file, &s), 0); /* no half-written output left */
}

/* ---- pause ---- */

static void test_pause_resume(void **st)
{
    (void)st;
    const struct corral_sandbox_ops *ops = corral_sandbox_ops_of(shared);
    if (!(ops->caps & CORRAL_CAP_PAUSE)) {
        CALL(call, 60000);
        assert_int_equal(corral_sandbox_pause(shared, &call), CORRAL_ENOTSUP);
        skip();
    }
    corral_sandbox *sb = new_sandbox(NULL, NULL, 600);
    CALL(call, 120000);
    char *r = sh_ok(sb, "echo before > /tmp/pause-marker; echo ok", NULL, NULL);
    free(r);
    OK(corral_sandbox_pause(sb, &call), call);
    if (corral_sandbox_op_support(ops, CORRAL_OP_RUNNING))
        assert_int_equal(corral_sandbox_running(sb, &call), 0);
    OK(corral_sandbox_resume(sb, &call), call);
    if (corral_sandbox_op_support(ops, CORRAL_OP_RUNNING))
        assert_int_equal(corral_sandbox_running(sb, &call), 1);
    r = sh_ok(sb, "cat /tmp/pause-marker", NULL, NULL);
    assert_string_equal(r, "before\n");
    free(r);
    drop_sandbox(sb);
}

/* ---- other processes ---- */

/* Run this program again with a hidden mode; returns the child's pid and
 * gives a pipe to its stdout in *fd. */
static pid_t self_spawn(const char *mode, const char *arg, int *fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        const char *argv[40];
        size_t n = 0;
        argv[n++] = self_exe;
        argv[n++] = "--plugin";
        argv[n++] = opt_plugin;
        for (size_t i = 0; i < n_user_dirs; i++) {
            argv[n++] = "--plugin-dir";
            argv[n++] = opt_dirs[i];
        }
        if (opt_image) {
            argv[n++] = "--image";
            argv[n++] = opt_image;
        }
        if (opt_config) {
            argv[n++] = "--config";
            argv[n++] = opt_config;
        }
        argv[n++] = mode;
        argv[n++] = arg;
        argv[n] = NULL;
        execv(self_exe, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

static void read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
}

static void test_attach_other_process(void **st)
{
    (void)st;
    char dir[1200], file[1300];
    subdir(dir, sizeof dir, "attach");
    snprintf(file, sizeof file, "%s/from-child", dir);
    char arg[2600];
    snprintf(arg, sizeof arg, "%s:%s", corral_sandbox_id(shared), file);
    int fd;
    pid_t pid = self_spawn("--child-attach", arg, &fd);
    assert_true(pid > 0);
    char out[512];
    read_all(fd, out, sizeof out);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child attach failed: %s", out);
    char *r = sh_ok(shared, "cat \"$1\"", file, NULL);
    assert_string_equal(r, "written by another process\n");
    free(r);
}

struct find_ud {
    const char *id;
    int found;
    struct corral_sandbox_entry e;
    char owner[256], rollout[128], status[32];
    const char *action;
};

static int find_cb(void *ud, const struct corral_sandbox_entry *e)
{
    struct find_ud *f = ud;
    if (strcmp(e->id, f->id) == 0) {
        f->found = 1;
        f->e = *e;
        snprintf(f->owner, sizeof f->owner, "%s", e->owner ? e->owner : "");
        snprintf(f->rollout, sizeof f->rollout, "%s", e->rollout ? e->rollout : "");
        snprintf(f->status, sizeof f->status, "%s", e->status ? e->status : "");
        f->action = e->action && strcmp(e->action, "remove") == 0 ? "remove"
                    : e->action && strcmp(e->action, "keep") == 0 ? "keep" : "other";
    }
    return 0;
}

static int backend_has_list(void)
{
    return corral_sandbox_op_support(corral_sandbox_ops_of(shared), CORRAL_OP_LIST) != CORRAL_OP_NONE;
}

static void test_list_and_gc(void **st)
{
    (void)st;
    static const char *const labels[] = { "purpose=gc", NULL };
    corral_sandbox *keep = new_sandbox(labels, NULL, 3600);
    corral_sandbox *old = new_sandbox(labels, NULL, 1);
    char keep_id[96], old_id[96];
    snprintf(keep_id, sizeof keep_id, "%s", corral_sandbox_id(keep));
    snprintf(old_id, sizeof old_id, "%s", corral_sandbox_id(old));
    CALL(call, 300000);
    struct find_ud f = { .id = keep_id };
    OK(corral_sandbox_ls(ctx, find_cb, &f, &call), call);
    assert_true(f.found);
    if (backend_has_list()) {
        assert_string_equal(f.rollout, "conformance");
        assert_true(f.e.deadline > (int64_t)time(NULL) + 3000);
        char me[64];
        snprintf(me, sizeof me, ":%ld", (long)getpid());
        assert_non_null(strstr(f.owner, me));
    }
    /* wait past the short one's deadline */
    sleep(3);
    struct find_ud fo = { .id = old_id };
    struct corral_gc_stats gs;
    OK(corral_gc(ctx, 1, find_cb, &fo, &gs, &call), call);
    assert_true(fo.found);
    /* gc is global: another corral's gc on the same backend (a shared
     * Docker daemon) may legitimately have removed it after its deadline;
     * then only our registry still knows it and the answer is "forget". */
    int raced = strcmp(fo.status, "registered") == 0 && backend_has_list();
    if (raced) {
        fprintf(stderr, "  note: %s was removed by a concurrent gc; checking the rest\n", old_id);
    } else {
        assert_string_equal(fo.action, "remove");
        /* dry run removed nothing */
        memset(&fo, 0, sizeof fo);
        fo.id = old_id;
        OK(corral_sandbox_ls(ctx, find_cb, &fo, &call), call);
        assert_true(fo.found);
        assert_string_not_equal(fo.status, "registered");
    }
    struct find_ud fk = { .id = keep_id };
    OK(corral_gc(ctx, 0, find_cb, &fk, &gs, &call), call);
    assert_true(fk.found);
    assert_string_equal(fk.action, "keep");
    assert_true(gs.removed + gs.forgotten >= 1);
    if (!raced)
        assert_true(gs.removed >= 1);
    memset(&fo, 0, sizeof fo);
    fo.id = old_id;
    OK(corral_sandbox_ls(ctx, find_cb, &fo, &call), call);
    assert_false(fo.found);
    assert_int_equal(corral_registry_get(old_id, NULL, NULL, NULL, &call), CORRAL_ENOTFOUND);
    if (corral_sandbox_op_support(corral_sandbox_ops_of(old), CORRAL_OP_RUNNING))
        assert_true(corral_sandbox_running(old, &call) <= 0);
    corral_sandbox_close(old);
    /* the long-lived one is untouched and still works */
    char *r = sh_ok(keep, "echo alive", NULL, NULL);
    assert_string_equal(r, "alive\n");
    free(r);
    drop_sandbox(keep);
}

static void test_gc_after_owner_sigkilled(void **st)
{
    (void)st;
    int fd;
    pid_t pid = self_spawn("--child-create-and-hang", "1", &fd);
    assert_true(pid > 0);
    char id[128] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof id - 1 && (r = read(fd, id + n, 1)) == 1 && id[n] != '\n')
        n++;
    id[n] = '\0';
    assert_true(corral_sandbox_id_valid(id));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fd);
    assert_true(WIFSIGNALED(status));
    CALL(call, 300000);
    struct find_ud f = { .id = id };
    OK(corral_sandbox_ls(ctx, find_cb, &f, &call), call);
    assert_true(f.found); /* the orphan outlived its owner */
    sleep(3);             /* past its 1 s deadline */
    struct corral_gc_stats gs;
    OK(corral_gc(ctx, 0, NULL, NULL, &gs, &call), call);
    memset(&f, 0, sizeof f);
    f.id = id;
    OK(corral_sandbox_ls(ctx, find_cb, &f, &call), call);
    assert_false(f.found);
    assert_int_equal(corral_registry_get(id, NULL, NULL, NULL, &call), CORRAL_ENOTFOUND);
}

/* ---- hidden child modes ---- */

static int child_attach(const char *arg)
{
    char id[128];
    const char *colon = strchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= sizeof id)
        return 2;
    memcpy(id, arg, (size_t)(colon - arg));
    id[colon - arg] = '\0';
    corral_sandbox *sb = NULL;
    struct corral_call call;
    corral_call_init(&call, 120000);
    if (corral_sandbox_attach(ctx, id, &sb, &call) != 0) {
        printf("attach: %s\n", call.message);
        return 1;
    }
    int rc = corral_sandbox_write_mem(sb, colon + 1, "written by another process\n", 27, 0644, &call);
    if (rc)
        printf("write: %s\n", call.message);
    /* the create-time default env survives reattachment */
    const char *argv[] = { "/bin/sh", "-c", "printf %s \"$SPEC_ENV\"", NULL };
    struct corral_exec_request req = { .struct_size = sizeof req, .argv = argv };
    struct corral_exec_output o = { 0 };
    if (!rc && (corral_sandbox_run(sb, &req, &o, &call) != 0 || !o.out.data ||
                strcmp(o.out.data, "a b $(c) 'd'") != 0)) {
        printf("default env lost after attach: '%s' %s\n", o.out.data ? o.out.data : "", call.message);
        rc = 1;
    }
    corral_exec_output_free(&o);
    corral_sandbox_close(sb);
    return rc ? 1 : 0;
}

static int child_create_and_hang(const char *ttl)
{
    struct corral_call call;
    corral_call_init(&call, 300000);
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .image = opt_image, .ttl_s = atoi(ttl) };
    struct corral_sandbox_create_opts o = { .struct_size = sizeof o, .backend = backend, .rollout = "orphan" };
    corral_sandbox *sb = NULL;
    if (corral_sandbox_create(ctx, &o, &spec, &sb, &call) != 0) {
        printf("create failed: %s\n", call.message);
        return 1;
    }
    printf("%s\n", corral_sandbox_id(sb));
    fflush(stdout);
    for (;;)
        pause();
}

/* ---- setup ---- */

static int group_setup(void **st)
{
    (void)st;
    static const char *const env[] = { "SPEC_ENV=a b $(c) 'd'", NULL };
    static const char *const labels[] = { "purpose=shared", NULL };
    struct corral_call call;
    corral_call_init(&call, 300000);
    struct corral_sandbox_spec spec = { .struct_size = sizeof spec, .image = opt_image, .labels = labels,
                                        .env = env, .ttl_s = 3600 };
    struct corral_sandbox_create_opts o = { .struct_size = sizeof o, .backend = backend, .rollout = "conformance" };
    if (corral_sandbox_create(ctx, &o, &spec, &shared, &call) != 0) {
        fprintf(stderr, "corral-conformance: creating a sandbox on %s failed: %s\n", backend, call.message);
        return -1;
    }
    struct corral_exec_output out = { 0 };
    struct corral_exec_request req = { .struct_size = sizeof req, .shell = "pwd" };
    int prc;
    /* pwd is safe to run again: under injected faults, ride out a few */
    for (int i = 0; (prc = corral_sandbox_run(shared, &req, &out, &call)) != 0 && corral_status_is_transient(prc) &&
                    i < 8;
         i++)
        corral_exec_output_free(&out);
    if (prc != 0 || out.res.exit_code != 0 || !out.out.data) {
        fprintf(stderr, "corral-conformance: pwd failed: %s\n", call.message);
        return -1;
    }
    snprintf(wd, sizeof wd, "%s", out.out.data);
    wd[strcspn(wd, "\n")] = '\0';
    corral_exec_output_free(&out);
    char ops[512];
    corral_sandbox_ops_describe(corral_sandbox_ops_of(shared), ops, sizeof ops);
    const char *emu = getenv("CORRAL_SANDBOX_EMULATE");
    int conc = (corral_sandbox_ops_of(shared)->caps & CORRAL_CAP_CONCURRENT) != 0;
    fprintf(stderr, "corral-conformance: backend %s, sandbox %s, workdir %s\n  ops: %s\n  calls on one handle: %s%s\n",
            backend, corral_sandbox_id(shared), wd, ops, conc ? "concurrent (declared)" : "serialized by the host",
            emu && *emu && strcmp(emu, "0") ? "\n  CORRAL_SANDBOX_EMULATE: the host emulates files, archives, jobs" : "");
    return 0;
}

struct reap_ids {
    char *v[64];
    size_t n;
};

/* Collects the ids of this run's registered sandboxes (for reap_left): the
 * run's state dir is its own, so every registry entry is ours. */
static int collect_ours(void *ud, const struct corral_sandbox_entry *e)
{
    struct reap_ids *ids = ud;
    if (e->in_registry && ids->n < 64 &&
        (!shared || strcmp(e->id, corral_sandbox_id(shared)) != 0))
        ids->v[ids->n++] = strdup(e->id);
    return 0;
}

/* Under injected faults (CORRAL_CONFORMANCE_REAP=1) a failed assertion
 * leaves its test's sandbox behind; corral still knows it, so destroy
 * every sandbox of this run the registry holds.  What the fake then
 * still runs is a sandbox corral lost track of: a leak. */
static void reap_left(void)
{
    const char *reap = getenv("CORRAL_CONFORMANCE_REAP");
    if (!reap || strcmp(reap, "1") != 0)
        return;
    struct reap_ids ids = { .n = 0 };
    struct corral_call call;
    corral_call_init(&call, 120000);
    corral_sandbox_ls(ctx, collect_ours, &ids, &call);
    fprintf(stderr, "corral-conformance: reaping %zu sandbox(es) left by failed tests\n", ids.n);
    for (size_t i = 0; i < ids.n; i++) {
        corral_sandbox *sb = NULL;
        corral_call_init(&call, 120000);
        if (ids.v[i] && (corral_sandbox_attach(ctx, ids.v[i], &sb, &call) != 0 ||
                         corral_sandbox_destroy(sb, &call) != 0))
            fprintf(stderr, "corral-conformance: reaping %s failed: %s\n", ids.v[i], call.message);
        if (sb)
            corral_sandbox_close(sb);
        free(ids.v[i]);
    }
}

static int group_teardown(void **st)
{
    (void)st;
    reap_left();
    if (shared) {
        struct corral_call call;
        corral_call_init(&call, 120000);
        if (corral_sandbox_destroy(shared, &call) != 0)
            fprintf(stderr, "corral-conformance: destroy failed: %s\n", call.message);
        corral_sandbox_close(shared);
        shared = NULL;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: corral-conformance --plugin NAME|PATH.so [--plugin-dir DIR]... [--image IMAGE]\n"
               "                          [--config FILE] [--filter GLOB] [--skip-if-missing]\n"
               "Checks a sandbox plugin against the sandbox ABI contract.  Exit 0 pass, 1 fail,\n"
               "2 usage, 77 skipped (plugin missing and --skip-if-missing given).\n");
}

int main(int argc, char **argv)
{
    const char *filter = NULL, *child_mode = NULL, *child_arg = NULL;
    int skip_missing = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--plugin") && v) { opt_plugin = v; i++; }
        else if (!strcmp(a, "--plugin-dir") && v && n_dirs < 15) { opt_dirs[n_dirs++] = v; i++; }
        else if (!strcmp(a, "--image") && v) { opt_image = v; i++; }
        else if (!strcmp(a, "--config") && v) { opt_config = v; i++; }
        else if (!strcmp(a, "--filter") && v) { filter = v; i++; }
        else if (!strcmp(a, "--skip-if-missing")) skip_missing = 1;
        else if ((!strcmp(a, "--child-attach") || !strcmp(a, "--child-create-and-hang")) && v) {
            child_mode = a; child_arg = v; i++;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
    }
    if (!opt_plugin) {
        usage(stderr);
        return 2;
    }
    n_user_dirs = n_dirs;
    /* A path to a .so: search its directory, name from the file name. */
    const char *slash = strrchr(opt_plugin, '/');
    static char dirbuf[PATH_MAX];
    if (slash) {
        const char *base = slash + 1;
        size_t bl = strlen(base);
        if (strncmp(base, "sandbox_", 8) != 0 || bl < 12 || strcmp(base + bl - 3, ".so") != 0) {
            fprintf(stderr, "corral-conformance: %s is not named sandbox_<name>.so\n", opt_plugin);
            return 2;
        }
        snprintf(backend, sizeof backend, "%.*s", (int)(bl - 11), base + 8);
        snprintf(dirbuf, sizeof dirbuf, "%.*s", (int)(slash - opt_plugin), opt_plugin);
        if (n_dirs < 15)
            opt_dirs[n_dirs++] = dirbuf;
    } else {
        snprintf(backend, sizeof backend, "%s", opt_plugin);
    }
    opt_dirs[n_dirs] = NULL;
    if (readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) < 0)
        snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
    /* Keep the registry private to this run unless the caller chose one. */
    static char state_dir[PATH_MAX];
    if (!child_mode && !getenv("CORRAL_STATE_DIR")) {
        snprintf(state_dir, sizeof state_dir, "/tmp/corral-conformance-state-XXXXXX");
        if (!mkdtemp(state_dir))
            return 1;
        setenv("CORRAL_STATE_DIR", state_dir, 1);
    }
    ctx = open_ctx();
    if (!ctx)
        return 1;
    if (!corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, backend)) {
        size_t n = 0;
        const struct corral_plugin_record *recs = corral_plugins(ctx, &n);
        for (size_t i = 0; i < n; i++)
            if (recs[i].kind == CORRAL_PLUGIN_SANDBOX && !strcmp(recs[i].name, backend))
                fprintf(stderr, "corral-conformance: sandbox plugin %s: %s\n", backend,
                        recs[i].reason ? recs[i].reason : "not loaded");
        fprintf(stderr, "corral-conformance: sandbox plugin '%s' is not loaded\n", backend);
        corral_close(ctx);
        return skip_missing ? 77 : 1;
    }
    if (child_mode) {
        int rc = !strcmp(child_mode, "--child-attach") ? child_attach(child_arg) : child_create_and_hang(child_arg);
        corral_close(ctx);
        return rc;
    }
    snprintf(host_tmp, sizeof host_tmp, "/tmp/corral-conformance-XXXXXX");
    if (!mkdtemp(host_tmp))
        return 1;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_exec_destroy),
        cmocka_unit_test(test_bad_input_refused),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_big_output_and_cap),
        cmocka_unit_test(test_binary_files_and_stdin),
        cmocka_unit_test(test_env_verbatim),
        cmocka_unit_test(test_concurrent_exec),
        cmocka_unit_test(test_declared_concurrency_overlaps),
        cmocka_unit_test(test_concurrent_sandboxes),
        cmocka_unit_test(test_spawn_wait_kill),
        cmocka_unit_test(test_read_write_files),
        cmocka_unit_test(test_persist_hydrate_gz),
        cmocka_unit_test(test_persist_hydrate_zst),
        cmocka_unit_test(test_persist_hydrate_dir),
        cmocka_unit_test(test_persist_missing_dir),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_attach_other_process),
        cmocka_unit_test(test_list_and_gc),
        cmocka_unit_test(test_gc_after_owner_sigkilled),
    };
    if (filter)
        cmocka_set_test_filter(filter);
    char title[128];
    snprintf(title, sizeof title, "conformance[%s]", backend);
    int failed = _cmocka_run_group_tests(title, tests, sizeof tests / sizeof tests[0], group_setup, group_teardown);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", host_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "corral-conformance: could not clean %s\n", host_tmp);
    if (state_dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "corral-conformance: could not clean %s\n", state_dir);
    }
    corral_close(ctx);
    return failed ? 1 : 0;
}
