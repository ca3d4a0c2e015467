/* Emulation through exec of the optional sandbox slots a plugin leaves
 * NULL, so every backend offers every file, archive and job operation.
 * Paths and arguments travel as argv items of `sh -c SCRIPT sh ARGS...`,
 * never spliced into the script, so no quoting is involved.  Everything
 * here needs /bin/sh, cat, mkdir, chmod, tar, mv, rm and kill inside the
 * sandbox (plus setsid for process-group kills of spawned jobs).
 *
 * The emulations sit below the facade: they run commands through the
 * plugin's own exec and move files through the completed table
 * (sandbox_table.c), so nothing here calls back into sandbox.c. */
#include "sandbox/sandbox_internal.h"
#include "crl_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMUL_CHUNK ((size_t)4 << 20)  /* bytes per exec when streaming a file in */

static int script_fail(corral_sandbox *sb, const char *what, const struct corral_exec_result *res,
                       const struct corral_capture *err, struct corral_call *call)
{
    return corral_call_fail(call, CORRAL_EIO, "%s in %s sandbox %s failed (exit %d)%s%.300s", what, sb->backend,
                            sb->id, res->exit_code, err->len ? ": " : "", err->len ? err->data : "");
}

long sbx_memsrc_read(void *ud, void *buf, size_t cap)
{
    struct sbx_memsrc *m = ud;
    size_t n = m->len - m->off;
    if (n > cap)
        n = cap;
    memcpy(buf, m->data + m->off, n);
    m->off += n;
    return (long)n;
}

int sbx_memsrc_rewind(void *ud)
{
    ((struct sbx_memsrc *)ud)->off = 0;
    return 0;
}

/* Run req with the plugin's exec (res zeroed first). */
static int plugin_exec(corral_sandbox *sb, const struct corral_exec_request *req, struct corral_exec_result *res,
                       struct corral_call *call)
{
    memset(res, 0, sizeof *res);
    res->struct_size = sizeof *res;
    return sb->ops->exec(sb->sbx, req, res, call);
}

/* Run argv (NULL-terminated) in "/" with optional stdin, stdout to out
 * (may be NULL) and stderr captured into err. */
static int exec_argv(corral_sandbox *sb, const char *const *argv, const void *in, size_t in_len,
                     const struct corral_sink *out, struct corral_capture *err, struct corral_exec_result *res,
                     struct corral_call *call)
{
    struct corral_sink se;
    corral_capture_sink(err, &se);
    struct corral_exec_request req = {
        .struct_size = sizeof req, .argv = argv, .stdin_data = in, .stdin_len = in_len,
        .out = out, .err = &se, .cwd = "/",
    };
    return plugin_exec(sb, &req, res, call);
}

static int run_script(corral_sandbox *sb, const char *what, const char *const *argv, const void *in,
                      size_t in_len, const struct corral_sink *out, struct corral_exec_result *res,
                      struct corral_call *call)
{
    struct corral_capture err = { .cap = 4096 };
    int rc = exec_argv(sb, argv, in, in_len, out, &err, res, call);
    if (rc == 0 && res->exit_code != 0 && res->exit_code != 3 && res->exit_code != 4)
        rc = script_fail(sb, what, res, &err, call);
    corral_capture_free(&err);
    return rc;
}

/* A fresh, unguessable path <dir>/<what>-<hex><suffix> for corral's own
 * files in the sandbox.  With user NULL (the files are written, read and
 * removed by the sandbox's default user) dir is crl_exec_dir(NULL), made
 * here mode 0700 by that user through the plugin's exec, so the command
 * neither sees the files in /tmp nor does a persist of /tmp archive them.
 * A job run as another user keeps /tmp/.corral-<what>-<hex><suffix>: its
 * stdin file is written by the default user and its status by the job's,
 * which no directory private to one of them allows (docs/architecture.md). */
static int temp_path(corral_sandbox *sb, char *buf, size_t cap, const char *what, const char *suffix,
                     const char *user, struct corral_call *call)
{
    char rnd[17], dir[160];
    if (crl_random_hex(rnd, 8) != 0)
        return corral_call_fail(call, CORRAL_EINTERNAL, "no random bytes for a temp name");
    if (user && *user) {
        snprintf(buf, cap, "/tmp/.corral-%s-%s%s", what, rnd, suffix);
        return 0;
    }
    if (crl_exec_dir(dir, sizeof dir, NULL))
        return corral_call_fail(call, CORRAL_EINTERNAL, "no directory for corral's files");
    /* refuse a directory someone else made: the files would be theirs to read */
    static const char script[] = "mkdir -p -- \"$1\" && [ -O \"$1\" ] && chmod 700 -- \"$1\" || exit 1";
    const char *argv[] = { "/bin/sh", "-c", script, "sh", dir, NULL };
    struct corral_exec_result res;
    int rc = run_script(sb, "making corral's directory", argv, NULL, 0, NULL, &res, call);
    if (rc == 0 && res.exit_code != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "cannot make %s (mode 0700) in sandbox %s", dir, sb->id);
    if (rc == 0 && (size_t)snprintf(buf, cap, "%s/%s-%s%s", dir, what, rnd, suffix) >= cap)
        rc = corral_call_fail(call, CORRAL_EINTERNAL, "a temp name does not fit");
    return rc;
}

/* Remove path in the sandbox, best effort (a failed step's leftovers);
 * the call keeps the failure it reports. */
static void remove_path(corral_sandbox *sb, const char *path, struct corral_call *call)
{
    const char *argv[] = { "/bin/rm", "-f", "--", path, NULL };
    struct corral_capture err = { .cap = 256 };
    struct corral_exec_result res;
    int status = call ? call->status : 0;
    char *msg = call ? strdup(call->message) : NULL;
    exec_argv(sb, argv, NULL, 0, NULL, &err, &res, call);
    corral_capture_free(&err);
    if (call) {
        call->status = status;
        if (msg)
            snprintf(call->message, sizeof call->message, "%s", msg);
    }
    free(msg);
}

int sbx_emul_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink, struct corral_call *call)
{
    static const char script[] =
        "[ -e \"$1\" ] || exit 3; [ -d \"$1\" ] && exit 4; exec cat -- \"$1\"";
    const char *argv[] = { "/bin/sh", "-c", script, "sh", path, NULL };
    struct corral_exec_result res;
    int rc = run_script(sb, "reading a file", argv, NULL, 0, sink, &res, call);
    if (rc)
        return rc;
    if (res.exit_code == 3)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "no file %s in sandbox %s", path, sb->id);
    if (res.exit_code == 4)
        return corral_call_fail(call, CORRAL_EINVAL, "%s in sandbox %s is a directory", path, sb->id);
    return 0;
}

/* Fill buf from src until cap bytes or end of stream; *eof set at the end. */
static long fill(const struct corral_source *src, char *buf, size_t cap, int *eof)
{
    size_t got = 0;
    *eof = 0;
    while (got < cap) {
        long n = src->read(src->ud, buf + got, cap - got);
        if (n < 0)
            return n;
        if (n == 0) {
            *eof = 1;
            break;
        }
        got += (size_t)n;
    }
    return (long)got;
}

int sbx_emul_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src, uint32_t mode,
                        struct corral_call *call)
{
    static const char create[] =
        "d=$(dirname -- \"$1\") && mkdir -p -- \"$d\" && cat > \"$1\" || exit 1;"
        "[ \"$3\" = last ] && { chmod \"$2\" \"$1\" || exit 1; }; exit 0";
    static const char append[] =
        "cat >> \"$1\" || exit 1; [ \"$3\" = last ] && { chmod \"$2\" \"$1\" || exit 1; }; exit 0";
    char modestr[16];
    snprintf(modestr, sizeof modestr, "%o", (unsigned)(mode & 07777));
    char *buf = malloc(EMUL_CHUNK);
    if (!buf)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    int rc = 0, first = 1, eof = 0;
    while (!eof) {
        long n = src ? fill(src, buf, EMUL_CHUNK, &eof) : (eof = 1, 0);
        if (n < 0) {
            rc = corral_call_fail(call, (int)n, "reading the data for %s failed", path);
            break;
        }
        const char *argv[] = { "/bin/sh", "-c", first ? create : append, "sh", path, modestr,
                               eof ? "last" : "more", NULL };
        struct corral_exec_result res;
        rc = run_script(sb, "writing a file", argv, buf, (size_t)n, NULL, &res, call);
        if (rc == 0 && res.exit_code != 0)
            rc = corral_call_fail(call, CORRAL_EIO, "cannot write %s in sandbox %s", path, sb->id);
        if (rc)
            break;
        first = 0;
    }
    free(buf);
    return rc;
}

int sbx_emul_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                         struct corral_call *call)
{
    char tmp[128];
    int rc = temp_path(sb, tmp, sizeof tmp, "put", ".tar", NULL, call);
    if (rc)
        return rc;
    rc = sb->tbl->write_file(sb, tmp, src, 0600, call);
    if (rc) {
        remove_path(sb, tmp, call);
        return rc;
    }
    static const char script[] =
        "mkdir -p -- \"$2\" && tar -x -f \"$1\" -C \"$2\"; rc=$?; rm -f -- \"$1\"; [ $rc = 0 ] || exit 1";
    const char *argv[] = { "/bin/sh", "-c", script, "sh", tmp, dir, NULL };
    struct corral_exec_result res;
    return run_script(sb, "extracting an archive", argv, NULL, 0, NULL, &res, call);
}

int sbx_emul_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                         struct corral_call *call)
{
    static const char script[] = "[ -d \"$1\" ] || exit 3; cd -- \"$1\" && exec tar -c -f - .";
    const char *argv[] = { "/bin/sh", "-c", script, "sh", dir, NULL };
    struct corral_exec_result res;
    int rc = run_script(sb, "archiving a directory", argv, NULL, 0, sink, &res, call);
    if (rc == 0 && res.exit_code == 3)
        rc = corral_call_fail(call, CORRAL_ENOTFOUND, "no directory %s in sandbox %s", dir, sb->id);
    return rc;
}

/* ---- background jobs with marker files ---- */

/* The launcher starts the command in a new session (its own process
 * group, so job_kill reaches grandchildren) detached from exec's pipes,
 * records the pid in $m.pid and, when the command ends, its status in
 * $m.rc (written to a temp name and renamed, so readers never see half). */
static const char launch_script[] =
    "m=$1; o=$2; e=$3; shift 3\n"
    "S=; command -v setsid >/dev/null 2>&1 && S=setsid\n"
    "$S /bin/sh -c 'm=$1; o=$2; e=$3; shift 3; { rm -f -- \"$m.in\"; \"$@\" >\"$o\" 2>\"$e\"; } <\"$m.in\"; "
    "echo $? >\"$m.rc.tmp\"; mv -f \"$m.rc.tmp\" \"$m.rc\"' sh \"$m\" \"$o\" \"$e\" \"$@\" "
    "</dev/null >/dev/null 2>&1 &\n"
    "echo $! >\"$m.pid\"\n";

static const char poll_script[] =
    "m=$1\n"
    "if [ -f \"$m.rc\" ]; then cat \"$m.rc\"; rm -f -- \"$m.in\" \"$m.pid\" \"$m.rc\"; exit 0; fi\n"
    "p=$(cat \"$m.pid\" 2>/dev/null)\n"
    "if [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null; then echo running; exit 0; fi\n"
    "if [ -f \"$m.rc\" ]; then cat \"$m.rc\"; rm -f -- \"$m.in\" \"$m.pid\" \"$m.rc\"; else echo lost; fi\n";

static const char kill_script[] =
    "m=$1; p=$(cat \"$m.pid\" 2>/dev/null) || exit 3\n"
    "[ -f \"$m.rc\" ] && exit 0\n"
    /* `kill -KILL -- -P` is rejected by dash (Debian's /bin/sh), which then
     * kills nothing: `-KILL -P` is the form every POSIX shell accepts.
     * Signal the group until it is gone, so that a child forked while we
     * killed dies too (zombies still answer; give up after 2 s). */
    "kill -KILL -\"$p\" 2>/dev/null || kill -KILL \"$p\" 2>/dev/null\n"
    "i=0; while kill -0 -\"$p\" 2>/dev/null && [ $i -lt 20 ]; do\n"
    "  kill -KILL -\"$p\" 2>/dev/null; sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done\n"
    "[ -f \"$m.rc\" ] || { echo 137 >\"$m.rc.tmp\"; mv -f \"$m.rc.tmp\" \"$m.rc\"; }\n"
    "exit 0\n";

int sbx_emul_spawn(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job *job,
                   struct corral_call *call)
{
    int rc = temp_path(sb, job->marker, sizeof job->marker, "job", "", req->user, call);
    if (rc)
        return rc;
    char in_path[200];
    snprintf(in_path, sizeof in_path, "%s.in", job->marker);
    struct sbx_memsrc m = { req->stdin_data ? req->stdin_data : "", req->stdin_len, 0 };
    struct corral_source in = { .struct_size = sizeof in, .read = sbx_memsrc_read, .ud = &m, .rewind = sbx_memsrc_rewind,
                                .length = (int64_t)req->stdin_len };
    rc = sb->tbl->write_file(sb, in_path, &in, 0600, call);
    if (rc) {
        remove_path(sb, in_path, call);
        return rc;
    }
    size_t n = 0;
    if (req->argv)
        while (req->argv[n])
            n++;
    else
        n = 3;
    const char **argv = calloc(n + 10, sizeof *argv);
    if (!argv)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    size_t k = 0;
    argv[k++] = "/bin/sh";
    argv[k++] = "-c";
    argv[k++] = launch_script;
    argv[k++] = "sh";
    argv[k++] = job->marker;
    argv[k++] = req->out_path ? req->out_path : "/dev/null";
    argv[k++] = req->err_path ? req->err_path : "/dev/null";
    if (req->argv) {
        for (size_t i = 0; i < n; i++)
            argv[k++] = req->argv[i];
    } else {
        argv[k++] = "/bin/sh";
        argv[k++] = "-c";
        argv[k++] = req->shell;
    }
    argv[k] = NULL;
    struct corral_capture err = { .cap = 4096 };
    struct corral_sink se;
    corral_capture_sink(&err, &se);
    struct corral_exec_request lr = *req;
    lr.struct_size = sizeof lr;
    lr.argv = argv;
    lr.shell = NULL;
    lr.stdin_data = NULL;
    lr.stdin_len = 0;
    lr.timeout_ms = 60000;
    lr.out = NULL;
    lr.err = &se;
    struct corral_exec_result res;
    rc = plugin_exec(sb, &lr, &res, call);
    free(argv);
    if (rc == 0 && res.exit_code != 0)
        rc = script_fail(sb, "starting a background job", &res, &err, call);
    corral_capture_free(&err);
    if (rc)
        return rc;
    job->deadline_ms = req->timeout_ms > 0 ? corral_now_ms() + req->timeout_ms : 0;
    return 0;
}

static int probe(corral_sandbox *sb, corral_sandbox_job *job, struct corral_exec_result *res, int *running,
                 struct corral_call *call)
{
    char buf[64];
    struct sbx_membuf mb = { buf, 0, sizeof buf - 1 };
    struct corral_sink s = { .struct_size = sizeof s, .write = sbx_membuf_write, .ud = &mb };
    const char *argv[] = { "/bin/sh", "-c", poll_script, "sh", job->marker, NULL };
    struct corral_exec_result pr;
    int rc = run_script(sb, "polling a background job", argv, NULL, 0, &s, &pr, call);
    if (rc)
        return rc;
    buf[mb.len] = '\0';
    *running = 0;
    if (strncmp(buf, "running", 7) == 0) {
        *running = 1;
        return 0;
    }
    if (strncmp(buf, "lost", 4) == 0)
        return corral_call_fail(call, CORRAL_EIO, "background job %s in sandbox %s vanished without a status",
                                job->marker, sb->id);
    char *end;
    long code = strtol(buf, &end, 10);
    if (end == buf || code < 0 || code > 255)
        return corral_call_fail(call, CORRAL_EPROTO, "unexpected job status '%.20s'", buf);
    res->exit_code = (int)code;
    /* sh reports death by signal N as 128+N. */
    res->signal = code > 128 && code < 128 + 65 ? (int)code - 128 : 0;
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int sbx_emul_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                      struct corral_exec_result *res, struct corral_call *call)
{
    int64_t start = corral_now_ms(), step = 20;
    int64_t rem = corral_call_remaining_ms(call);
    int64_t limit = start + (timeout_ms > 0 ? timeout_ms : 0);
    if (rem != INT64_MAX && start + rem < limit)
        limit = start + rem;
    for (;;) {
        int running = 0;
        int rc = probe(sb, job, res, &running, call);
        if (rc)
            return rc;
        if (!running)
            return 0;
        int64_t now = corral_now_ms();
        if (job->deadline_ms && now >= job->deadline_ms) {
            rc = sbx_emul_job_kill(sb, job, call);
            if (rc)
                return rc;
            /* one more probe reads the kill's status and removes the markers */
            probe(sb, job, res, &running, call);
            res->exit_code = 124;
            res->signal = 0;
            res->timed_out = 1;
            return 0;
        }
        if (corral_call_cancelled(call))
            return corral_call_fail(call, CORRAL_ECANCELED, "cancelled");
        if (now >= limit)
            return corral_call_fail(call, CORRAL_ETIMEDOUT, "the job is still running");
        int64_t wake = limit;
        if (job->deadline_ms && job->deadline_ms < wake)
            wake = job->deadline_ms;
        sleep_ms(step < wake - now ? step : wake - now);
        if (step < 250)
            step *= 2;
    }
}

int sbx_emul_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call)
{
    const char *argv[] = { "/bin/sh", "-c", kill_script, "sh", job->marker, NULL };
    struct corral_exec_result res;
    int rc = run_script(sb, "killing a background job", argv, NULL, 0, NULL, &res, call);
    if (rc == 0 && res.exit_code == 3)
        rc = corral_call_fail(call, CORRAL_ENOTFOUND, "background job %s is unknown in sandbox %s", job->marker,
                              sb->id);
    return rc;
}
