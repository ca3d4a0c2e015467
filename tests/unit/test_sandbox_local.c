/* sandbox_local.so driven through its ops table: the plugin's own test
 * (the cross-backend conformance suite lives elsewhere).  Needs bubblewrap
 * and a kernel that allows user namespaces for the running user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <corral/corral.h>

/* The plugin as libcorral's loader hands it out. */
struct plug {
    corral_ctx *ctx;
    void *state;
    const struct corral_sandbox_ops *ops;
};

static struct plug mh;
static char state_root[256];
static char config_path[320];

static int plug_open(struct plug *p, const char *config_file);
static void plug_close(struct plug *p);
static void write_config(const char *path, const char *bwrap);
static const struct corral_sandbox_ops *ops;
static int seq;

/* ---- helpers ------------------------------------------------------------ */

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_write(void *ud, const void *p, size_t len)
{
    struct buf *b = ud;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *nd = realloc(b->data, cap);
        if (!nd)
            return CORRAL_ENOMEM;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

struct memsrc {
    const char *data;
    size_t len, off;
};

static long mem_read(void *ud, void *p, size_t cap)
{
    struct memsrc *m = ud;
    size_t n = m->len - m->off < cap ? m->len - m->off : cap;
    memcpy(p, m->data + m->off, n);
    m->off += n;
    return (long)n;
}

static corral_sbx *make(const char *const *env, const char *const *labels, int64_t ttl)
{
    char id[64];
    snprintf(id, sizeof(id), "local-t%d-%d", (int)getpid(), ++seq);
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = id, .env = env, .labels = labels,
                                       .ttl_s = ttl};
    struct corral_call call;
    corral_call_init(&call, 30000);
    corral_sbx *s = NULL;
    int rc = ops->create(mh.state, &spec, &s, &call);
    if (rc)
        fprintf(stderr, "create: %s\n", call.message);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static void drop(corral_sbx *s)
{
    struct corral_call call;
    corral_call_init(&call, 10000);
    assert_int_equal(ops->destroy(s, &call), 0);
    ops->close(s);
}

/* Run a command; stdout/stderr into out/err (may be NULL). */
static int run(corral_sbx *s, const char *const *argv, const char *shell, const char *const *env,
               const char *in, size_t in_len, int64_t timeout_ms, struct buf *out, struct buf *err,
               struct corral_exec_result *res)
{
    struct corral_sink so = {sizeof(so), buf_write, out}, se = {sizeof(se), buf_write, err};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv, .shell = shell, .env = env,
                                      .stdin_data = in, .stdin_len = in_len, .timeout_ms = timeout_ms,
                                      .out = out ? &so : NULL, .err = err ? &se : NULL};
    memset(res, 0, sizeof(*res));
    res->struct_size = sizeof(*res);
    struct corral_call call;
    corral_call_init(&call, 60000);
    int rc = ops->exec(s, &req, res, &call);
    if (rc)
        fprintf(stderr, "exec: %s\n", call.message);
    return rc;
}

/* stdout of a shell command (asserts success), caller frees. */
static char *sh_out(corral_sbx *s, const char *cmd)
{
    struct buf out = {0}, err = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, NULL, cmd, NULL, NULL, 0, 20000, &out, &err, &res), 0);
    if (res.exit_code != 0 || res.signal)
        fprintf(stderr, "sh_out: '%s' exited %d (signal %d), stderr: %s\n", cmd, res.exit_code, res.signal,
                err.data ? err.data : "");
    buf_free(&err);
    if (!out.data)
        buf_write(&out, "", 0);
    return out.data;
}

/* ---- exec ----------------------------------------------------------------- */

static void test_exec_basic(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct buf out = {0}, err = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, NULL, "echo hi; echo oops >&2; exit 3", NULL, NULL, 0, 0, &out, &err, &res), 0);
    assert_string_equal(out.data, "hi\n");
    assert_string_equal(err.data, "oops\n");
    assert_int_equal(res.exit_code, 3);
    assert_int_equal(res.signal, 0);
    assert_int_equal(res.timed_out, 0);
    buf_free(&out);
    buf_free(&err);

    /* Killed by a signal -> 128+sig. */
    assert_int_equal(run(s, NULL, "kill -TERM $$", NULL, NULL, 0, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.exit_code, 143);
    assert_int_equal(res.signal, SIGTERM);

    /* A missing program is 127 with a message, like a shell. */
    const char *const missing[] = {"no-such-program-xyz", NULL};
    assert_int_equal(run(s, missing, NULL, NULL, NULL, 0, 0, NULL, &err, &res), 0);
    assert_int_equal(res.exit_code, 127);
    assert_non_null(strstr(err.data, "no-such-program-xyz"));
    buf_free(&err);

    /* Default cwd is /workspace; relative cwd is under it; a missing one fails. */
    char *pwd = sh_out(s, "pwd; mkdir -p sub/dir");
    assert_string_equal(pwd, "/workspace\n");
    free(pwd);
    const char *const pwdv[] = {"pwd", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = pwdv, .cwd = "sub/dir"};
    struct corral_sink so = {sizeof(so), buf_write, &out};
    req.out = &so;
    res.struct_size = sizeof(res);
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    assert_string_equal(out.data, "/workspace/sub/dir\n");
    buf_free(&out);
    req.cwd = "/nope";
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_ENOTFOUND);
    drop(s);
}

static void test_exec_argv_verbatim(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    const char *const argv[] = {"printf", "[%s]", "$(id)", "a'b\"c", "line1\nline2", "*", "", NULL};
    struct buf out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, argv, NULL, NULL, NULL, 0, 0, &out, NULL, &res), 0);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(out.data, "[$(id)][a'b\"c][line1\nline2][*][]");
    buf_free(&out);
    drop(s);
}

static void test_exec_env(void **st)
{
    (void)st;
    setenv("CORRAL_TEST_HOST_ONLY", "leak", 1);
    const char *const senv[] = {"SBX_DEFAULT=from-spec", "OVERRIDE=spec", NULL};
    corral_sbx *s = make(senv, NULL, 60);
    const char *const renv[] = {"WEIRD=$(id) 'q' \"d\"\nnl", "OVERRIDE=req", NULL};
    const char *const argv[] = {"sh", "-c",
                                "printf '%s|%s|%s|%s' \"$SBX_DEFAULT\" \"$OVERRIDE\" \"$WEIRD\" "
                                "\"${CORRAL_TEST_HOST_ONLY-unset}\"",
                                NULL};
    struct buf out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, argv, NULL, renv, NULL, 0, 0, &out, NULL, &res), 0);
    assert_string_equal(out.data, "from-spec|req|$(id) 'q' \"d\"\nnl|unset");
    buf_free(&out);

    /* A bad env name is refused. */
    const char *const bad[] = {"1BAD=x", NULL};
    struct corral_call call;
    corral_call_init(&call, 5000);
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv, .env = bad};
    res.struct_size = sizeof(res);
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_EINVAL);

    /* The env file holding the spec's env is private. */
    char path[512];
    snprintf(path, sizeof(path), "%s/state/local-t%d-%d/env", state_root, (int)getpid(), seq);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    drop(s);
}

static void test_exec_stdin_and_big_output(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    size_t n = 300000;
    char *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)('a' + i % 26);
    const char *const cat[] = {"cat", NULL};
    struct buf out = {0};
    struct corral_exec_result res;
    assert_int_equal(run(s, cat, NULL, NULL, in, n, 0, &out, NULL, &res), 0);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, in, n);
    buf_free(&out);
    free(in);

    /* 10 MB on stdout and 1 MB on stderr at once must not deadlock. */
    struct buf err = {0};
    assert_int_equal(run(s, NULL, "head -c 1048576 /dev/zero >&2 & head -c 10485760 /dev/zero; wait", NULL, NULL,
                         0, 0, &out, &err, &res),
                     0);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(out.len, 10485760);
    assert_int_equal(err.len, 1048576);
    buf_free(&out);
    buf_free(&err);

    /* A command that does not read its stdin must not break the host. */
    char *big = calloc(1, 1 << 20);
    assert_int_equal(run(s, NULL, "exit 0", NULL, big, 1 << 20, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.exit_code, 0);
    free(big);
    drop(s);
}

static void test_exec_timeout_kills_group(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_exec_result res;
    assert_int_equal(run(s, NULL, "sleep 100 & echo $! > /workspace/bg.pid; sleep 100", NULL, NULL, 0, 300, NULL,
                         NULL, &res),
                     0);
    assert_int_equal(res.timed_out, 1);
    assert_int_equal(res.exit_code, 124);
    /* The background sleep was in the same group: it must be gone.  (A
     * killed orphan is reaped by the sandbox's init, so kill -0 fails.) */
    struct buf out = {0};
    assert_int_equal(run(s, NULL, "sleep 0.2; kill -0 $(cat /workspace/bg.pid) 2>/dev/null && echo alive || echo dead",
                         NULL, NULL, 0, 10000, &out, NULL, &res),
                     0);
    assert_string_equal(out.data, "dead\n");
    buf_free(&out);
    drop(s);
}

static void test_isolation(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    char *o = sh_out(s, "touch /usr/corral-x 2>/dev/null && echo writable || echo ro");
    assert_string_equal(o, "ro\n");
    free(o);
    /* Global sysctls stay out of reach even when uid 0 inside is the host's root. */
    o = sh_out(s, "(echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo writable || echo ro");
    assert_string_equal(o, "ro\n");
    free(o);
    /* /etc/shadow is masked. */
    o = sh_out(s, "cat /etc/shadow 2>/dev/null | wc -c");
    assert_string_equal(o, "0\n");
    free(o);
    /* Only loopback in the network namespace. */
    o = sh_out(s, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    assert_string_equal(o, "lo\n");
    free(o);
    /* Own pid namespace: the holder is pid 1. */
    o = sh_out(s, "cat /proc/1/comm");
    assert_string_equal(o, "bwrap\n");
    free(o);
    /* No capabilities in commands. */
    o = sh_out(s, "grep CapEff /proc/self/status | cut -f2");
    assert_string_equal(o, "0000000000000000\n");
    free(o);
    /* The workspace is writable and persists between execs. */
    o = sh_out(s, "echo data > /workspace/f; cat /workspace/f; hostname");
    assert_string_equal(o, "data\ncorral\n");
    free(o);
    drop(s);
}

/* ---- secrets ---------------------------------------------------------------- */

static int cmdline_contains(const char *needle)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int found = 0;
    while (d && (de = readdir(d)) != NULL) {
        char path[300], buf[65536];
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        for (ssize_t i = 0; n > 0 && i + (ssize_t)strlen(needle) <= n; i++)
            if (memcmp(buf + i, needle, strlen(needle)) == 0)
                found = 1;
    }
    if (d)
        closedir(d);
    return found;
}

static void test_secret_not_in_argv(void **st)
{
    (void)st;
    const char *const senv[] = {"SPEC_SECRET=spec-s3cret-9f8e7d", NULL};
    corral_sbx *s = make(senv, NULL, 60);
    const char *const renv[] = {"REQ_SECRET=req-s3cret-1a2b3c", NULL};
    const char *const argv[] = {"sleep", "5", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv, .env = renv};
    struct corral_call call;
    corral_call_init(&call, 5000);
    corral_job *job = NULL;
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    /* The job sees both values... */
    char *o = sh_out(s, "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c s3cret");
    assert_true(atoi(o) >= 2);
    free(o);
    /* ...but no process on the host carries them in its argv. */
    assert_false(cmdline_contains("spec-s3cret-9f8e7d"));
    assert_false(cmdline_contains("req-s3cret-1a2b3c"));
    /* Nor does the state JSON. */
    char *js = NULL;
    assert_int_equal(ops->state(s, &js, &call), 0);
    assert_null(strstr(js, "s3cret"));
    free(js);
    ops->job_kill(s, job, &call);
    ops->job_free(s, job);
    drop(s);
}

/* ---- jobs ------------------------------------------------------------------- */

static void test_jobs(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 20000);
    const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 5", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv, .out_path = "/workspace/j.out",
                                      .err_path = "j.err"};
    corral_job *job = NULL;
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    struct corral_exec_result res = {.struct_size = sizeof(res)};
    assert_int_equal(ops->job_wait(s, job, 10000, &res, &call), 0);
    assert_int_equal(res.exit_code, 5);
    ops->job_free(s, job);
    char *o = sh_out(s, "cat /workspace/j.out /workspace/j.err");
    assert_string_equal(o, "out\nerr\n");
    free(o);

    /* A long job: wait(0) probes once, kill -> 137 / signal 9, never 0. */
    const char *const slp[] = {"sh", "-c", "sleep 100 & sleep 100", NULL};
    struct corral_exec_request r2 = {.struct_size = sizeof(r2), .argv = slp};
    assert_int_equal(ops->spawn(s, &r2, &job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 0, &res, &call), CORRAL_ETIMEDOUT);
    assert_int_equal(ops->job_wait(s, job, 50, &res, &call), CORRAL_ETIMEDOUT);
    assert_int_equal(ops->job_kill(s, job, &call), 0);
    assert_int_equal(ops->job_kill(s, job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 5000, &res, &call), 0);
    assert_int_equal(res.exit_code, 137);
    assert_int_equal(res.signal, SIGKILL);
    ops->job_free(s, job);
    /* The whole group died: no sleep is left in the sandbox. */
    o = sh_out(s, "sleep 0.2; for p in /proc/[0-9]*; do cat $p/comm; done | grep -c '^sleep$'");
    assert_string_equal(o, "1\n"); /* the holder's own sleep */
    free(o);

    /* A job with its own timeout reports 124. */
    struct corral_exec_request r3 = {.struct_size = sizeof(r3), .argv = slp, .timeout_ms = 200};
    assert_int_equal(ops->spawn(s, &r3, &job, &call), 0);
    assert_int_equal(ops->job_wait(s, job, 10000, &res, &call), 0);
    assert_int_equal(res.timed_out, 1);
    assert_int_equal(res.exit_code, 124);
    ops->job_free(s, job);
    drop(s);
}

/* ---- files and archives -------------------------------------------------------- */

static void test_files(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 20000);
    const char text[] = "hello\nworld\0binary";
    struct memsrc ms = {text, sizeof(text), 0};
    struct corral_source src = {sizeof(src), mem_read, &ms, (int64_t)sizeof(text), NULL};
    assert_int_equal(ops->write_file(s, "/workspace/a/b/c.bin", &src, 0640, &call), 0);
    struct buf out = {0};
    struct corral_sink sink = {sizeof(sink), buf_write, &out};
    assert_int_equal(ops->read_file(s, "/workspace/a/b/c.bin", &sink, &call), 0);
    assert_int_equal(out.len, sizeof(text));
    assert_memory_equal(out.data, text, sizeof(text));
    buf_free(&out);
    char *o = sh_out(s, "stat -c %a /workspace/a/b/c.bin");
    assert_string_equal(o, "640\n");
    free(o);
    /* Outside the workspace too (the sandbox's tmpfs /tmp). */
    ms.off = 0;
    assert_int_equal(ops->write_file(s, "/tmp/x/y.txt", &src, 0600, &call), 0);
    o = sh_out(s, "wc -c < /tmp/x/y.txt");
    assert_int_equal(atoi(o), (int)sizeof(text));
    free(o);
    /* A magic link (/proc/<pid>/root) is refused, whatever it points at. */
    assert_int_equal(ops->read_file(s, "/proc/1/root/etc/hostname", &sink, &call), CORRAL_EPERM);
    /* ".." stops at the sandbox's root, as inside. */
    ms.off = 0;
    assert_int_equal(ops->write_file(s, "/workspace/../../../../tmp/dots.txt", &src, 0600, &call), 0);
    o = sh_out(s, "wc -c < /tmp/dots.txt");
    assert_int_equal(atoi(o), (int)sizeof(text));
    free(o);
    assert_int_equal(ops->read_file(s, "/workspace/missing", &sink, &call), CORRAL_ENOTFOUND);
    /* A fifo or a device is not read (it would block or never end). */
    o = sh_out(s, "mkfifo /workspace/fifo && echo ok");
    free(o);
    assert_int_equal(ops->read_file(s, "/workspace/fifo", &sink, &call), CORRAL_EINVAL);
    assert_int_equal(ops->read_file(s, "/dev/zero", &sink, &call), CORRAL_EINVAL);
    ms.off = 0;
    assert_int_equal(ops->write_file(s, "/workspace/fifo", &src, 0644, &call), CORRAL_EIO);

    /* Paths resolve inside the sandbox: a symlink to /etc reaches the
     * sandbox's read-only /etc, never the host's. */
    o = sh_out(s, "ln -s /etc /workspace/etclink && echo ok");
    free(o);
    ms.off = 0;
    assert_int_not_equal(ops->write_file(s, "/workspace/etclink/corral-escape", &src, 0644, &call), 0);
    assert_int_equal(access("/etc/corral-escape", F_OK), -1);
    drop(s);
}

static void add_entry(struct archive *a, const char *path, mode_t type, const char *data, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    if (link)
        archive_entry_set_symlink(e, link);
    if (type == AE_IFCHR)
        archive_entry_set_rdev(e, makedev(1, 3));
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (data)
        archive_write_data(a, data, strlen(data));
    archive_entry_free(e);
}

static void make_tar(struct buf *b, int evil)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    size_t used = 0;
    static char mem[1 << 16];
    archive_write_open_memory(a, mem, sizeof(mem), &used);
    if (evil == 0) {
        add_entry(a, "dir", AE_IFDIR, NULL, NULL);
        add_entry(a, "dir/b.txt", AE_IFREG, "bee\n", NULL);
        add_entry(a, "a.txt", AE_IFREG, "ay\n", NULL);
        add_entry(a, "ln", AE_IFLNK, NULL, "a.txt");
    } else if (evil == 1) {
        add_entry(a, "../evil.txt", AE_IFREG, "x\n", NULL);
    } else if (evil == 2) {
        add_entry(a, "null", AE_IFCHR, NULL, NULL);
    } else {
        add_entry(a, "/tmp/abs-evil.txt", AE_IFREG, "x\n", NULL);
    }
    archive_write_close(a);
    archive_write_free(a);
    b->len = 0;
    buf_write(b, mem, used);
}

static void test_archives(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 20000);
    struct buf tar = {0};
    make_tar(&tar, 0);
    struct memsrc ms = {tar.data, tar.len, 0};
    struct corral_source src = {sizeof(src), mem_read, &ms, (int64_t)tar.len, NULL};
    assert_int_equal(ops->put_archive(s, "/workspace/proj", &src, &call), 0);
    char *o = sh_out(s, "cd /workspace/proj && cat a.txt dir/b.txt ln && readlink ln");
    assert_string_equal(o, "ay\nbee\nay\na.txt\n");
    free(o);

    /* Round trip: get_archive lists the same entries, relative to dir. */
    struct buf got = {0};
    struct corral_sink sink = {sizeof(sink), buf_write, &got};
    assert_int_equal(ops->get_archive(s, "/workspace/proj", &sink, &call), 0);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, got.data, got.len), ARCHIVE_OK);
    struct archive_entry *e;
    int seen = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!strcmp(p, "a.txt") || !strcmp(p, "dir/b.txt") || !strcmp(p, "ln") || !strcmp(p, "dir") ||
            !strcmp(p, "dir/"))
            seen++;
        assert_false(p[0] == '/' || strncmp(p, "./", 2) == 0);
        if (!strcmp(p, "dir/b.txt")) {
            char data[16] = {0};
            archive_read_data(a, data, sizeof(data) - 1);
            assert_string_equal(data, "bee\n");
        }
    }
    archive_read_free(a);
    assert_int_equal(seen, 4);
    buf_free(&got);

    /* Hostile archives are refused and write nothing outside. */
    for (int evil = 1; evil <= 3; evil++) {
        make_tar(&tar, evil);
        ms = (struct memsrc){tar.data, tar.len, 0};
        assert_int_equal(ops->put_archive(s, "/workspace/x", &src, &call), CORRAL_EPERM);
    }
    o = sh_out(s, "ls /workspace/evil.txt /tmp/abs-evil.txt /workspace/x/null 2>/dev/null | wc -l");
    assert_string_equal(o, "0\n");
    free(o);
    assert_int_equal(ops->get_archive(s, "/workspace/nope", &sink, &call), CORRAL_ENOTFOUND);
    buf_free(&tar);
    drop(s);
}

/* ---- pause, attach, list, destroy, TTL ----------------------------------------- */

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p ? p[2] : 0;
}

/* Host pids of our own children named `comm` that are not zombies. */
static int our_children(const char *comm, pid_t *out, int max)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    char want[64];
    snprintf(want, sizeof(want), "(%s)", comm);
    while (d && (de = readdir(d)) != NULL) {
        pid_t pid = atoi(de->d_name);
        if (pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        char *p = strrchr(buf, ')');
        if (p && atoi(p + 4) == getpid() && strstr(buf, want) && p[2] != 'Z' && n < max)
            out[n++] = pid;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_freed_job_does_not_block_destroy(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 20000);
    const char *const argv[] = {"sleep", "99", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv};
    corral_job *job = NULL;
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    pid_t pids[4];
    assert_int_equal(our_children("sleep", pids, 4), 1);
    /* Freed unwaited: the plugin still reaps it when the sandbox dies, so
     * no zombie of ours is left in the dead pid namespace. */
    ops->job_free(s, job);
    drop(s);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d", (int)pids[0]);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_pause_resume(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 20000);
    const char *const argv[] = {"sleep", "100", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv};
    corral_job *job = NULL;
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    char *js = NULL;
    assert_int_equal(ops->state(s, &js, &call), 0);
    free(js);
    assert_int_equal(ops->running(s, &call), 1);
    int prc = ops->pause(s, &call);
    if (prc)
        fprintf(stderr, "pause: %s\n", call.message);
    assert_int_equal(prc, 0);
    assert_int_equal(ops->running(s, &call), 0);
    /* The job (the only `sleep` whose parent is us) is stopped or frozen. */
    int stopped = 0, total = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        pid_t pid = atoi(de->d_name);
        if (pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        int ppid = p ? atoi(p + 4) : 0;
        if (ppid == getpid() && strstr(buf, "(sleep)") && proc_state(pid) != 'Z') {
            total++;
            char ps = proc_state(pid);
            /* SIGSTOP shows 'T'; the v1 cgroup freezer shows 'D' */
            if (ps == 'T' || ps == 't' || ps == 'D')
                stopped++;
        }
    }
    closedir(d);
    assert_int_equal(total, 1);
    assert_int_equal(stopped, 1);
    /* As root with a writable cgroup v1 freezer (the test config turns the
     * freezer on), the freezer does it; unprivileged, SIGSTOP does. */
    assert_int_equal(ops->state(s, &js, &call), 0);
    const char *fz = strstr(js, "\"freezer\":\"");
    if (getuid() == 0 && access("/sys/fs/cgroup/freezer", W_OK) == 0)
        assert_non_null(fz);
    if (fz) {
        char dir[512], file[600], buf[64] = "";
        fz += strlen("\"freezer\":\"");
        snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(fz, "\""), fz);
        int v2 = strstr(js, "\"freezer_v2\":true") != NULL;
        snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "cgroup.events" : "freezer.state");
        FILE *fp = fopen(file, "r");
        assert_non_null(fp);
        size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(buf, v2 ? "frozen 1" : "FROZEN"));
    }
    free(js);
    /* Commands are refused while paused. */
    struct corral_exec_result res = {.struct_size = sizeof(res)};
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_ESTATE);
    assert_int_equal(ops->resume(s, &call), 0);
    assert_int_equal(ops->running(s, &call), 1);
    assert_int_equal(ops->job_wait(s, job, 0, &res, &call), CORRAL_ETIMEDOUT);
    ops->job_kill(s, job, &call);
    assert_int_equal(ops->job_wait(s, job, 5000, &res, &call), 0);
    ops->job_free(s, job);
    /* A paused sandbox is resumed by attach. */
    assert_int_equal(ops->pause(s, &call), 0);
    assert_int_equal(ops->state(s, &js, &call), 0);
    corral_sbx *s2 = NULL;
    assert_int_equal(ops->attach(mh.state, js, &s2, &call), 0);
    free(js);
    assert_int_equal(ops->running(s2, &call), 1);
    ops->close(s2);
    /* Destroying a paused sandbox works (frozen tasks are thawed to die)
     * and leaves no cgroup and no process behind. */
    assert_int_equal(ops->spawn(s, &req, &job, &call), 0);
    pid_t kids[4];
    assert_int_equal(our_children("sleep", kids, 4), 1);
    assert_int_equal(ops->pause(s, &call), 0);
    assert_int_equal(ops->state(s, &js, &call), 0);
    char fzdir[512] = "";
    fz = strstr(js, "\"freezer\":\"");
    if (fz) {
        fz += strlen("\"freezer\":\"");
        snprintf(fzdir, sizeof(fzdir), "%.*s", (int)strcspn(fz, "\""), fz);
    }
    free(js);
    ops->job_kill(s, job, &call);
    ops->job_free(s, job);
    drop(s);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d", (int)kids[0]);
    assert_int_equal(access(path, F_OK), -1);
    if (fzdir[0])
        assert_int_equal(access(fzdir, F_OK), -1);
}

static char *self_exe;

/* In a separate process: attach by state JSON and run `cat marker`; exit
 * with the command's exit code, its stdout on our stdout. */
static int attach_helper(const char *state_json)
{
    if (plug_open(&mh, config_path) != 0)
        return 90;
    ops = mh.ops;
    struct corral_call call;
    corral_call_init(&call, 10000);
    corral_sbx *s = NULL;
    if (ops->attach(mh.state, state_json, &s, &call) != 0) {
        fprintf(stderr, "attach: %s\n", call.message);
        return call.status == CORRAL_ENOTFOUND ? 93 : 91;
    }
    struct buf out = {0};
    struct corral_exec_result res;
    if (run(s, NULL, "cat /workspace/marker && echo \"$SBX_DEFAULT\"", NULL, NULL, 0, 10000, &out, NULL, &res) != 0)
        return 92;
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    buf_free(&out);
    ops->close(s);
    plug_close(&mh);
    return res.exit_code;
}

static int run_helper(const char *state_json, struct buf *out)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(self_exe, self_exe, "--attach-helper", config_path, state_json, (char *)NULL);
        _exit(99);
    }
    close(p[1]);
    char b[4096];
    ssize_t n;
    while ((n = read(p[0], b, sizeof(b))) > 0)
        buf_write(out, b, (size_t)n);
    close(p[0]);
    int stt;
    waitpid(pid, &stt, 0);
    return WIFEXITED(stt) ? WEXITSTATUS(stt) : -1;
}

static void test_attach_other_process(void **st)
{
    (void)st;
    const char *const senv[] = {"SBX_DEFAULT=persisted", NULL};
    corral_sbx *s = make(senv, NULL, 60);
    char *o = sh_out(s, "echo marked > /workspace/marker");
    free(o);
    char *js = NULL;
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(ops->state(s, &js, &call), 0);
    /* The creating handle is closed: the sandbox lives on. */
    ops->close(s);
    struct buf out = {0};
    assert_int_equal(run_helper(js, &out), 0);
    assert_string_equal(out.data, "marked\npersisted\n");
    buf_free(&out);
    /* Destroy from here; the other process then finds nothing. */
    assert_int_equal(ops->attach(mh.state, js, &s, &call), 0);
    drop(s);
    assert_int_equal(run_helper(js, &out), 93);
    buf_free(&out);
    assert_int_equal(ops->attach(mh.state, js, &s, &call), CORRAL_ENOTFOUND);
    free(js);
}

struct found {
    char id[128];
    char status[32];
    char state[2048];
    int n;
};

static int list_cb(void *ud, const struct corral_sandbox_info *info)
{
    struct found *f = ud;
    f->n++;
    snprintf(f->id, sizeof(f->id), "%s", info->id);
    snprintf(f->status, sizeof(f->status), "%s", info->status);
    snprintf(f->state, sizeof(f->state), "%s", info->state_json);
    return 0;
}

static void test_list_remove_destroy(void **st)
{
    (void)st;
    char owner[64];
    snprintf(owner, sizeof(owner), "corral.owner=test-%d", (int)getpid());
    const char *const labels[] = {owner, "corral.rollout=r1", "flag", NULL};
    corral_sbx *s = make(NULL, labels, 60);
    struct corral_call call;
    corral_call_init(&call, 5000);
    struct found f = {0};
    const char *const filt[] = {owner, "flag", NULL};
    assert_int_equal(ops->list(mh.state, filt, list_cb, &f, &call), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.status, "running");
    const char *const nomatch[] = {owner, "corral.rollout=r2", NULL};
    struct found g = {0};
    assert_int_equal(ops->list(mh.state, nomatch, list_cb, &g, &call), 0);
    assert_int_equal(g.n, 0);

    /* remove() by state only; twice is fine. */
    assert_int_equal(ops->remove(mh.state, f.state, &call), 0);
    assert_int_equal(ops->remove(mh.state, f.state, &call), 0);
    assert_int_equal(ops->running(s, &call), 0);
    memset(&f, 0, sizeof(f));
    assert_int_equal(ops->list(mh.state, filt, list_cb, &f, &call), 0);
    assert_int_equal(f.n, 0);
    /* destroy() after that is still success (idempotent), twice too. */
    assert_int_equal(ops->destroy(s, &call), 0);
    assert_int_equal(ops->destroy(s, &call), 0);
    ops->close(s);

    /* A forged state cannot point remove() outside the state root. */
    assert_int_equal(ops->remove(mh.state, "{\"id\":\"../../etc\"}", &call), CORRAL_EINVAL);
}

/* A holder that dies after the handle has checked it once (and keeps its
 * pidfd): every later call through /proc/<holder> says the sandbox is gone. */
static void test_holder_killed(void **st)
{
    (void)st;
    corral_sbx *s = make(NULL, NULL, 60);
    struct corral_call call;
    corral_call_init(&call, 10000);
    const char *const argv[] = {"true", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv};
    struct corral_exec_result res = {.struct_size = sizeof(res)};
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    char *js = NULL;
    assert_int_equal(ops->state(s, &js, &call), 0);
    const char *p = strstr(js, "\"holder_pid\":");
    assert_non_null(p);
    pid_t holder = (pid_t)atoi(p + strlen("\"holder_pid\":"));
    free(js);
    assert_true(holder > 1);
    assert_int_equal(kill(holder, SIGKILL), 0);
    /* Bounded wait for the holder to exit (not a timing assertion). */
    for (int i = 0; i < 100 && ops->running(s, &call) == 1; i++)
        usleep(50000);
    assert_int_equal(ops->running(s, &call), 0);
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_ENOTFOUND);
    struct buf out = {0};
    struct corral_sink sink = {sizeof(sink), buf_write, &out};
    assert_int_equal(ops->read_file(s, "/etc/hostname", &sink, &call), CORRAL_ENOTFOUND);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    drop(s);
}

static void test_ttl(void **st)
{
    (void)st;
    char owner[64];
    snprintf(owner, sizeof(owner), "corral.owner=ttl-%d", (int)getpid());
    const char *const labels[] = {owner, NULL};
    corral_sbx *s = make(NULL, labels, 1);
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(ops->running(s, &call), 1);
    /* Bounded wait for the holder's deadline (not a timing assertion). */
    for (int i = 0; i < 100 && ops->running(s, &call) == 1; i++)
        usleep(100000);
    assert_int_equal(ops->running(s, &call), 0);
    struct corral_exec_result res = {.struct_size = sizeof(res)};
    const char *const argv[] = {"true", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv};
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_ENOTFOUND);
    /* The leftover state is listed as stopped, so gc can reap it. */
    struct found f = {0};
    const char *const filt[] = {owner, NULL};
    assert_int_equal(ops->list(mh.state, filt, list_cb, &f, &call), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.status, "stopped");
    assert_int_equal(ops->remove(mh.state, f.state, &call), 0);
    memset(&f, 0, sizeof(f));
    assert_int_equal(ops->list(mh.state, filt, list_cb, &f, &call), 0);
    assert_int_equal(f.n, 0);
    ops->close(s);
}

static void test_limits(void **st)
{
    (void)st;
    char id[64];
    snprintf(id, sizeof(id), "local-lim-%d", (int)getpid());
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = id, .ttl_s = 60,
                                       .memory_bytes = 64 << 20, .pids_max = 16, .file_size_bytes = 4096};
    struct corral_call call;
    corral_call_init(&call, 10000);
    corral_sbx *s = NULL;
    assert_int_equal(ops->create(mh.state, &spec, &s, &call), 0);
    /* file size: RLIMIT_FSIZE */
    char *o = sh_out(s, "head -c 8192 /dev/zero > /workspace/big 2>/dev/null; stat -c %s /workspace/big");
    assert_string_equal(o, "4096\n");
    free(o);
    /* memory: the sandbox's memory cgroup where one can be made (root),
     * else RLIMIT_AS.  Either way a 200 MB allocation fails. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "if grep -q 'memory.*/corral/%s$' /proc/self/cgroup; then cat /sys/fs/cgroup/memory/$(grep memory "
             "/proc/self/cgroup | cut -d: -f3)/memory.limit_in_bytes 2>/dev/null || echo cgroup; "
             "elif grep -q '^0::.*/corral/%s$' /proc/self/cgroup; then echo cgroup; else ulimit -v; fi",
             id, id);
    o = sh_out(s, cmd);
    if (getuid() == 0)
        assert_true(!strcmp(o, "67108864\n") || !strcmp(o, "cgroup\n"));
    else
        assert_true(!strcmp(o, "65536\n") || !strcmp(o, "cgroup\n"));
    free(o);
    struct corral_exec_result res;
    assert_int_equal(run(s, NULL, "awk 'BEGIN { s = sprintf(\"%200000000s\", \"\"); print length(s) }'", NULL,
                         NULL, 0, 20000, NULL, NULL, &res),
                     0);
    assert_int_not_equal(res.exit_code, 0);
    /* pids: at most 16 processes however many the command tries to start
     * (a cgroup as root; RLIMIT_NPROC, per user namespace, otherwise). */
    assert_int_equal(run(s, NULL, "i=0; while [ $i -lt 40 ]; do sleep 5 >/dev/null 2>&1 & i=$((i+1)); done",
                         NULL, NULL, 0, 20000, NULL, NULL, &res),
                     0);
    /* Count with shell builtins only: the tree is full, a fork would fail. */
    o = sh_out(s, "n=0; for p in /proc/[0-9]*; do read c < $p/comm && [ \"$c\" = sleep ] && n=$((n+1)); done "
                  "2>/dev/null; echo $n");
    int sleeps = atoi(o);
    free(o);
    assert_true(sleeps >= 2);   /* some did start (and the holder's own) */
    assert_true(sleeps <= 17);  /* 16 in the command's tree + the holder's */
    drop(s);
    /* destroy removed the sandbox's cgroups too */
    snprintf(cmd, sizeof(cmd), "find /sys/fs/cgroup -maxdepth 6 -type d -name '%s' 2>/dev/null | grep -c .", id);
    FILE *p = popen(cmd, "r");
    char line[32] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    assert_string_equal(line, "0\n");
}

static void test_bwrap_missing(void **st)
{
    (void)st;
    struct plug other;
    char path[400];
    snprintf(path, sizeof(path), "%s/nobwrap.json", state_root);
    write_config(path, "/nonexistent/bwrap");
    assert_int_equal(plug_open(&other, path), 0);
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = "local-nobwrap"};
    struct corral_call call;
    corral_call_init(&call, 5000);
    corral_sbx *s = NULL;
    assert_int_equal(other.ops->create(other.state, &spec, &s, &call), CORRAL_ENOTFOUND);
    assert_non_null(strstr(call.message, "bubblewrap"));
    assert_null(s);
    plug_close(&other);
}

/* A bwrap that fails: create reports what it wrote to stderr, and leaves
 * no state directory behind. */
static void test_bwrap_fails(void **st)
{
    (void)st;
    struct plug other;
    char path[400], fake[400];
    snprintf(fake, sizeof(fake), "%s/failing-bwrap", state_root);
    FILE *f = fopen(fake, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho 'bwrap: fake failure for the test' >&2\nexit 1\n", f);
    fclose(f);
    assert_int_equal(chmod(fake, 0755), 0);
    snprintf(path, sizeof(path), "%s/failbwrap.json", state_root);
    write_config(path, fake);
    assert_int_equal(plug_open(&other, path), 0);
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = "local-failbwrap"};
    struct corral_call call;
    corral_call_init(&call, 5000);
    corral_sbx *s = NULL;
    assert_int_equal(other.ops->create(other.state, &spec, &s, &call), CORRAL_EIO);
    assert_non_null(strstr(call.message, "bwrap: fake failure for the test"));
    assert_null(s);
    snprintf(path, sizeof(path), "%s/state/local-failbwrap", state_root);
    assert_int_equal(access(path, F_OK), -1);
    plug_close(&other);
    unlink(fake);
}

static void test_create_errors(void **st)
{
    (void)st;
    struct corral_call call;
    corral_call_init(&call, 5000);
    corral_sbx *s = NULL;
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = "../bad"};
    assert_int_equal(ops->create(mh.state, &spec, &s, &call), CORRAL_EINVAL);
    spec.id = "local-policy";
    spec.network = CORRAL_NET_POLICY;
    assert_int_equal(ops->create(mh.state, &spec, &s, &call), CORRAL_ENOTSUP);
    /* The same id twice while alive -> EEXIST. */
    corral_sbx *a = make(NULL, NULL, 60);
    char *js = NULL;
    ops->state(a, &js, &call);
    char id[64];
    snprintf(id, sizeof(id), "local-t%d-%d", (int)getpid(), seq);
    struct corral_sandbox_spec again = {.struct_size = sizeof(again), .id = id};
    assert_int_equal(ops->create(mh.state, &again, &s, &call), CORRAL_EEXIST);
    assert_non_null(strstr(js, id));
    free(js);
    /* Mounts: a read-only file and a unix socket show up inside. */
    drop(a);
}

static void test_mounts(void **st)
{
    (void)st;
    char dir[300], file[320];
    snprintf(dir, sizeof(dir), "%s/mnt-%d", state_root, (int)getpid());
    mkdir(dir, 0755);
    snprintf(file, sizeof(file), "%s/ro.txt", dir);
    FILE *fp = fopen(file, "w");
    fputs("from host\n", fp);
    fclose(fp);
    struct corral_mount mounts[] = {{file, "/opt/ro.txt", 1}, {dir, "/mnt/rw", 0}};
    char id[64];
    snprintf(id, sizeof(id), "local-mnt-%d", (int)getpid());
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = id, .ttl_s = 60, .mounts = mounts,
                                       .n_mounts = 2};
    struct corral_call call;
    corral_call_init(&call, 10000);
    corral_sbx *s = NULL;
    assert_int_equal(ops->create(mh.state, &spec, &s, &call), 0);
    char *o = sh_out(s, "cat /opt/ro.txt; echo x >> /opt/ro.txt 2>/dev/null || echo ro; echo w > /mnt/rw/new; "
                        "cat /mnt/rw/new");
    assert_string_equal(o, "from host\nro\nw\n");
    free(o);
    drop(s);
    char newf[340];
    snprintf(newf, sizeof(newf), "%s/new", dir);
    assert_int_equal(access(newf, F_OK), 0);
}

static void test_user_and_network(void **st)
{
    (void)st;
    char id[64];
    snprintf(id, sizeof(id), "local-user-%d", (int)getpid());
    /* pasta needs /dev/net/tun, which some hosts keep root-only. */
    struct corral_sandbox_spec spec = {.struct_size = sizeof(spec), .id = id, .ttl_s = 60, .user = "1000:1001",
                                       .network = access("/dev/net/tun", R_OK | W_OK) == 0 ? CORRAL_NET_FULL
                                                                                          : CORRAL_NET_NONE};
    struct corral_call call;
    corral_call_init(&call, 10000);
    corral_sbx *s = NULL;
    assert_int_equal(ops->create(mh.state, &spec, &s, &call), 0);
    char *o = sh_out(s, "id -u; id -g; grep CapEff /proc/self/status | cut -f2");
    assert_string_equal(o, "1000\n1001\n0000000000000000\n");
    free(o);
    /* Full network is a namespace of its own (pasta's, unless the operator
     * set host_network): not the host's. */
    o = sh_out(s, "readlink /proc/self/ns/net");
    char host_net[64] = "";
    ssize_t hn = readlink("/proc/self/ns/net", host_net, sizeof(host_net) - 1);
    assert_true(hn > 0);
    host_net[hn] = '\0';
    assert_true(strncmp(o, "net:[", 5) == 0);
    assert_true(strncmp(o, host_net, strlen(host_net)) != 0);
    free(o);
    /* Per-command users other than the sandbox's are refused. */
    const char *const argv[] = {"id", "-u", NULL};
    struct corral_exec_request req = {.struct_size = sizeof(req), .argv = argv, .user = "1000"};
    struct corral_exec_result res = {.struct_size = sizeof(res)};
    assert_int_equal(ops->exec(s, &req, &res, &call), 0);
    req.user = "0";
    assert_int_equal(ops->exec(s, &req, &res, &call), CORRAL_ENOTSUP);
    /* Files written natively belong to the sandbox user too. */
    struct memsrc ms = {"x", 1, 0};
    struct corral_source src = {sizeof(src), mem_read, &ms, 1, NULL};
    assert_int_equal(ops->write_file(s, "/workspace/owned", &src, 0644, &call), 0);
    o = sh_out(s, "stat -c %u:%g /workspace/owned");
    assert_string_equal(o, "1000:1001\n");
    free(o);
    drop(s);
}

static int rm_tree(const char *p)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
    return system(cmd);
}

static void write_config(const char *path, const char *bwrap)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"sandbox\": {\"local\": {\"state_dir\": \"%s/state\", \"default_ttl_s\": 60, \"freezer\": true%s%s%s}}}\n",
            state_root, bwrap ? ", \"bwrap\": \"" : "", bwrap ? bwrap : "", bwrap ? "\"" : "");
    fclose(f);
}

static int plug_open(struct plug *p, const char *config_file)
{
    const char *const dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    struct corral_options o = {.struct_size = sizeof(o), .config_file = config_file, .plugin_dirs = dirs,
                               .log_level = "error"};
    struct corral_call call;
    corral_call_init(&call, 0);
    memset(p, 0, sizeof(*p));
    if (corral_open(&o, &p->ctx, &call) != 0) {
        fprintf(stderr, "corral_open: %s\n", call.message);
        return -1;
    }
    const struct corral_plugin_record *r = corral_plugin_find(p->ctx, CORRAL_PLUGIN_SANDBOX, "local");
    if (!r) {
        fprintf(stderr, "sandbox_local.so did not load from %s\n", CORRAL_BUILD_PLUGIN_DIR);
        return -1;
    }
    p->state = r->state;
    p->ops = r->desc->ops;
    return 0;
}

static void plug_close(struct plug *p)
{
    corral_close(p->ctx);
    memset(p, 0, sizeof(*p));
}

/* As root, root's private files under /etc are masked; the scan is cached
 * in the process, and a file made private after one create (a new file,
 * and a chmod of an existing one) is masked at the next. */
static void test_private_etc_rescanned(void **st)
{
    (void)st;
    if (geteuid() != 0) {
        skip();
        return;
    }
    char fresh[128], chmodded[128], cmd[400];
    snprintf(fresh, sizeof fresh, "/etc/corral-unit-fresh-%d", (int)getpid());
    snprintf(chmodded, sizeof chmodded, "/etc/corral-unit-chmod-%d", (int)getpid());
    FILE *f = fopen(chmodded, "w");
    assert_non_null(f);
    fputs("WAS_PUBLIC\n", f);
    fclose(f);
    chmod(chmodded, 0644);
    corral_sbx *a = make(NULL, NULL, 60);
    snprintf(cmd, sizeof cmd, "cat %s 2>/dev/null; true", chmodded);
    char *o = sh_out(a, cmd);
    int public_visible = strstr(o, "WAS_PUBLIC") != NULL;
    free(o);
    drop(a);
    /* After that create: one new private file, one made private. */
    int fd = open(fresh, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "NEW_SECRET\n", 11), 11);
    close(fd);
    chmod(chmodded, 0600);
    corral_sbx *b = make(NULL, NULL, 60);
    snprintf(cmd, sizeof cmd, "cat %s %s 2>/dev/null; true", fresh, chmodded);
    o = sh_out(b, cmd);
    unlink(fresh);
    unlink(chmodded);
    assert_true(public_visible);
    assert_null(strstr(o, "NEW_SECRET"));
    assert_null(strstr(o, "WAS_PUBLIC"));
    free(o);
    drop(b);
}

int main(int argc, char **argv)
{
    self_exe = realpath("/proc/self/exe", NULL);
    if (argc == 4 && !strcmp(argv[1], "--attach-helper")) {
        snprintf(config_path, sizeof(config_path), "%s", argv[2]);
        int rc = attach_helper(argv[3]);
        free(self_exe);
        return rc;
    }
    /* Without bubblewrap or user namespaces there is nothing to test. */
    if (system("bwrap --unshare-user --unshare-pid --ro-bind / / true >/dev/null 2>&1") != 0) {
        fprintf(stderr, "bwrap with user namespaces is not usable here: skipped\n");
        free(self_exe);
        return 77;
    }
    snprintf(state_root, sizeof(state_root), "/tmp/corral-local-test-XXXXXX");
    if (!mkdtemp(state_root)) {
        perror("mkdtemp");
        return 1;
    }
    /* A private configuration: nothing from the machine's /etc/corral. */
    char env[400];
    snprintf(env, sizeof(env), "%s/etc", state_root);
    mkdir(env, 0755);
    setenv("CORRAL_CONFIG_DIR", env, 1);
    snprintf(env, sizeof(env), "%s/xdg", state_root);
    setenv("XDG_CONFIG_HOME", env, 1);
    unsetenv("CORRAL_PLUGIN_PATH");
    snprintf(config_path, sizeof(config_path), "%s/corral.json", state_root);
    write_config(config_path, NULL);
    if (plug_open(&mh, config_path) != 0)
        return 1;
    ops = mh.ops;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_basic),
        cmocka_unit_test(test_private_etc_rescanned),
        cmocka_unit_test(test_exec_argv_verbatim),
        cmocka_unit_test(test_exec_env),
        cmocka_unit_test(test_exec_stdin_and_big_output),
        cmocka_unit_test(test_exec_timeout_kills_group),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_secret_not_in_argv),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_attach_other_process),
        cmocka_unit_test(test_list_remove_destroy),
        cmocka_unit_test(test_holder_killed),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bwrap_missing),
        cmocka_unit_test(test_bwrap_fails),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_user_and_network),
        cmocka_unit_test(test_freed_job_does_not_block_destroy),
    };
    int failed = cmocka_run_group_tests_name("sandbox_local", tests, NULL, NULL);
    plug_close(&mh);
    rm_tree(state_root);
    free(self_exe);
    return failed;
}
