/*
 * exec, spawn, jobs and files on top of envd.
 *
 * envd starts a process without a process group of its own (it inherits
 * envd's), and SendSignal reaches that one pid only.  So every command runs
 * under a small /bin/sh wrapper that starts it with setsid(1) in a session
 * (and process group) of its own and records that group's id in a file
 * in corral's exec directory (crl_exec_dir: out of /tmp, mode 0700); a timeout or job_kill then SIGKILLs the whole group.  Stdin
 * bytes are uploaded to a file first and redirected, so the process never
 * depends on envd's stdin pipe.  Background jobs write their exit status to
 * a file that job_wait polls through GET /files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2b.h"

static const char exec_script[] =
    "pg=$1; in=$2; shift 2\n"
    "mkdir -p -- \"${pg%/*}\" && chmod 700 -- \"${pg%/*}\" || exit 125\n"
    "setsid \"$@\" <\"$in\" &\n"
    "p=$!\n"
    "echo $p >\"$pg\"\n"
    "wait $p\n"
    "r=$?\n"
    "rm -f \"$pg\"\n"
    "[ \"$in\" = /dev/null ] || rm -f \"$in\"\n"
    "exit $r\n";

static const char kill_script[] =
    "i=0\n"
    "while [ ! -s \"$1\" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done\n"
    "p=$(cat \"$1\" 2>/dev/null) && [ -n \"$p\" ] && kill -KILL -\"$p\" 2>/dev/null\n"
    "exit 0\n";

static const char spawn_script[] =
    "d=$1; in=$2; o=$3; e=$4; t=$5; shift 5\n"
    "mkdir -p -- \"$d\" && chmod 700 -- \"${d%/*}\" || exit 1\n"
    "setsid \"$@\" <\"$in\" >\"$o\" 2>\"$e\" &\n"
    "p=$!\n"
    "echo $p >\"$d/pg\"\n"
    "w=\n"
    "if [ \"$t\" != 0 ]; then\n"
    "  setsid /bin/sh -c 'sleep \"$1\"; echo 1 >\"$2/timedout\"; kill -KILL -\"$3\"' w \"$t\" \"$d\" \"$p\" "
    "</dev/null >/dev/null 2>&1 &\n"
    "  w=$!\n"
    "fi\n"
    "wait $p\n"
    "r=$?\n"
    "[ -n \"$w\" ] && kill -KILL -\"$w\" 2>/dev/null\n"
    "[ \"$in\" = /dev/null ] || rm -f \"$in\"\n"
    "echo $r >\"$d/rc.tmp\" && mv \"$d/rc.tmp\" \"$d/rc\"\n";

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The command's argv: req->argv, or /bin/sh -c req->shell (in sh[4],
 * the caller's storage: ops run concurrently on several threads). */
static int command_argv(const struct corral_exec_request *req, const char *sh[4], const char ***argv,
                        size_t *argc)
{
    if (req->shell) {
        sh[0] = "/bin/sh";
        sh[1] = "-c";
        sh[2] = req->shell;
        sh[3] = NULL;
        *argv = sh;
    } else {
        *argv = (const char **)req->argv;
    }
    if (!*argv || !(*argv)[0])
        return CORRAL_EINVAL;
    for (*argc = 0; (*argv)[*argc]; (*argc)++)
        ;
    return 0;
}

/* Upload stdin bytes to a file in dir (envd makes the parents); *path
 * gets it or "/dev/null". */
static int stage_stdin(corral_sbx *s, const struct corral_exec_request *req, const char *dir, char **path,
                       corral_call *call)
{
    if (!req->stdin_data || req->stdin_len == 0) {
        *path = strdup("/dev/null");
        return *path ? 0 : CORRAL_ENOMEM;
    }
    char *hex = e2b_random_hex(12);
    *path = hex ? e2b_xasprintf("%s/in-%s", dir, hex) : NULL;
    free(hex);
    if (!*path)
        return s->p->host->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    return e2b_envd_upload(s, *path, NULL, req->stdin_data, req->stdin_len, call);
}

static void kill_group(corral_sbx *s, const char *pgfile, corral_call *call)
{
    const char *argv[] = {"/bin/sh", "-c", kill_script, "corral-kill", pgfile, NULL};
    int code;
    if (e2b_envd_run(s, argv, NULL, &code, call) != 0)
        s->p->host->log(s->p->host, CORRAL_LOG_WARN, "e2b: could not kill a timed-out process group in sandbox %s",
                      s->sandbox_id);
}

static const char *req_user(corral_sbx *s, const struct corral_exec_request *req)
{
    return CORRAL_HAS_FIELD(req, user) && req->user ? req->user : s->user;
}

/* corral's exec directory (crl_exec_dir): the plain one for the handle's
 * user, a suffixed one for a request naming another. */
static int exec_dir(corral_sbx *s, const struct corral_exec_request *req, char *dir, size_t cap, corral_call *call)
{
    const char *u = req_user(s, req);
    if (u && s->user && strcmp(u, s->user) == 0)
        u = NULL;
    return crl_exec_dir(dir, cap, u) ? s->p->host->fail(call, CORRAL_EINVAL, "e2b: user '%.64s' is not a plain name", u)
                                     : 0;
}

static int exec_once(corral_sbx *s, const struct corral_exec_request *req, struct corral_exec_result *res,
                     corral_call *call)
{
    const struct corral_host *h = s->p->host;
    const char **cmd, *sh[4];
    size_t argc;
    if (command_argv(req, sh, &cmd, &argc) != 0)
        return h->fail(call, CORRAL_EINVAL, "e2b: exec without argv or shell");
    int64_t t0 = h->now_ms();
    char dir[160];
    if (exec_dir(s, req, dir, sizeof dir, call))
        return CORRAL_EINVAL;
    char *in = NULL, *hex = e2b_random_hex(12);
    char *pg = hex ? e2b_xasprintf("%s/pg-%s", dir, hex) : NULL;
    free(hex);
    const char **argv = calloc(argc + 7, sizeof *argv);
    int rc;
    if (!pg || !argv) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    rc = stage_stdin(s, req, dir, &in, call);
    if (rc != 0)
        goto out;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = exec_script;
    argv[3] = "corral-exec";
    argv[4] = pg;
    argv[5] = in;
    for (size_t i = 0; i < argc; i++)
        argv[6 + i] = cmd[i];
    struct proc_events ev = {.out = req->out, .err = req->err};
    int64_t tmo = req->timeout_ms > 0 ? req->timeout_ms : 0;
    /* The explicit Connect-Timeout-Ms makes envd kill the command at its
     * limit even when corral is gone; without a limit none is sent (envd's
     * default is unlimited; the SDKs' 60 s default is theirs, not envd's). */
    rc = e2b_envd_start(s, argv, req->env, req->cwd ? req->cwd : s->workdir, req_user(s, req), tmo,
                    tmo ? tmo + 5000 : 0, &ev, call);
    /* deadline_exceeded is the command's timeout only when it had one and
     * it ran that long; otherwise a limit of the service ended the stream
     * (said as such, never "timed out after 0 s"). */
    int deadline_end = rc == 0 && strcmp(ev.rpc_error_code, "deadline_exceeded") == 0;
    int64_t took = h->now_ms() - t0;
    int timed_out = (deadline_end && tmo > 0 && took >= tmo) ||
                    (rc == CORRAL_ETIMEDOUT && tmo > 0 && h->remaining_ms(call) > 0);
    if (deadline_end && !timed_out) {
        kill_group(s, pg, call);
        rc = h->fail(call, CORRAL_EIO,
                     "e2b: exec in sandbox %s: envd ended the command after %lld ms with deadline_exceeded (%s), "
                     "%s: a limit of the service, not the command's; its process group was killed",
                     s->sandbox_id, (long long)took, ev.rpc_error_msg,
                     tmo > 0 ? "before its timeout" : "although it had no timeout");
    } else if (timed_out) {
        kill_group(s, pg, call);
        res->exit_code = 124;
        res->signal = 9;
        res->timed_out = 1;
        rc = 0;
    } else if (rc == 0 && ev.rpc_error_code[0]) {
        rc = h->fail(call, strcmp(ev.rpc_error_code, "invalid_argument") == 0 ? CORRAL_EINVAL : CORRAL_EIO,
                     "e2b: exec in sandbox %s: %s: %s", s->sandbox_id, ev.rpc_error_code, ev.rpc_error_msg);
    } else if (rc == 0 && !ev.ended) {
        rc = h->fail(call, CORRAL_EPROTO, "e2b: exec in sandbox %s: the stream has no end event", s->sandbox_id);
    } else if (rc == 0) {
        if (ev.exited) {
            res->exit_code = ev.exit_code;
        } else {
            res->signal = strstr(ev.status, "killed") ? 9 : strstr(ev.status, "terminated") ? 15 : 9;
            res->exit_code = 128 + res->signal;
            kill_group(s, pg, call);
        }
    }
    if (CORRAL_HAS_FIELD(res, duration_ms))
        res->duration_ms = h->now_ms() - t0;
out:
    free(argv);
    free(pg);
    free(in);
    return rc;
}

/* ---- background jobs ---- */

static char *job_dir(const corral_job *job)
{
    return strdup(job->dir);
}

static int spawn_once(corral_sbx *s, const struct corral_exec_request *req, corral_job **out, corral_call *call)
{
    const struct corral_host *h = s->p->host;
    const char **cmd, *sh[4];
    size_t argc;
    *out = NULL;
    if (command_argv(req, sh, &cmd, &argc) != 0)
        return h->fail(call, CORRAL_EINVAL, "e2b: spawn without argv or shell");
    char edir[160];
    if (exec_dir(s, req, edir, sizeof edir, call))
        return CORRAL_EINVAL;
    corral_job *job = calloc(1, sizeof *job);
    char *in = NULL, *dir = NULL, *tsec = NULL;
    const char **argv = calloc(argc + 10, sizeof *argv);
    int rc;
    if (!job || !argv || !(job->id = e2b_random_hex(12)) || !(job->dir = e2b_xasprintf("%s/job-%s", edir, job->id)) ||
        !(dir = job_dir(job))) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    rc = stage_stdin(s, req, edir, &in, call);
    if (rc != 0)
        goto out;
    tsec = req->timeout_ms > 0 ? e2b_xasprintf("%lld.%03lld", (long long)(req->timeout_ms / 1000),
                                           (long long)(req->timeout_ms % 1000))
                               : strdup("0");
    if (!tsec) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    const char *o = CORRAL_HAS_FIELD(req, out_path) && req->out_path ? req->out_path : "/dev/null";
    const char *e = CORRAL_HAS_FIELD(req, err_path) && req->err_path ? req->err_path : "/dev/null";
    const char *fixed[] = {"/bin/sh", "-c", spawn_script, "corral-job", dir, in, o, e, tsec};
    memcpy(argv, fixed, sizeof fixed);
    for (size_t i = 0; i < argc; i++)
        argv[9 + i] = cmd[i];
    struct proc_events ev = {.stop_after_start = 1};
    /* No Connect-Timeout-Ms: the job must outlive any request deadline;
     * its own limit is enforced by the wrapper's watchdog. */
    rc = e2b_envd_start(s, argv, req->env, req->cwd ? req->cwd : s->workdir, req_user(s, req), 0,
                    s->p->request_timeout_ms, &ev, call);
    if (rc == 0 && ev.rpc_error_code[0])
        rc = h->fail(call, strcmp(ev.rpc_error_code, "invalid_argument") == 0 ? CORRAL_EINVAL : CORRAL_EIO,
                     "e2b: spawn in sandbox %s: %s: %s", s->sandbox_id, ev.rpc_error_code, ev.rpc_error_msg);
    else if (rc == 0 && !ev.started)
        rc = h->fail(call, CORRAL_EPROTO, "e2b: spawn in sandbox %s: no start event", s->sandbox_id);
out:
    if (rc == 0) {
        *out = job;
    } else if (job) {
        free(job->id);
        free(job->dir);
        free(job);
    }
    free(argv);
    free(in);
    free(dir);
    free(tsec);
    return rc;
}

/* Read a small file (4 KiB at most); 1 if it exists (content in o->buf),
 * 0 if not, <0 error. */
static int probe_file(corral_sbx *s, const char *path, struct crl_buf_sink *o, corral_call *call)
{
    o->buf.len = 0;
    o->max = 4096;
    struct corral_sink sink = {.struct_size = sizeof sink, .write = crl_buf_sink_write, .ud = o};
    long status = 0;
    int rc = e2b_envd_download(s, path, &sink, &status, call);
    if (rc == CORRAL_ENOTFOUND && status == 404)
        return 0; /* the file is missing (a 502 means the sandbox is gone) */
    return rc == 0 ? 1 : rc;
}

int e2b_job_wait(corral_sbx *s, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                 corral_call *call)
{
    const struct corral_host *h = s->p->host;
    char *dir = job_dir(job);
    char *rcpath = dir ? e2b_xasprintf("%s/rc", dir) : NULL;
    char *topath = dir ? e2b_xasprintf("%s/timedout", dir) : NULL;
    struct crl_buf_sink o = {0};
    int rc;
    if (!rcpath || !topath) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    int64_t end = h->now_ms() + (timeout_ms > 0 ? timeout_ms : 0), pause = 50;
    for (;;) {
        rc = probe_file(s, rcpath, &o, call);
        if (rc < 0)
            goto out;
        if (rc == 1)
            break;
        int64_t left = end - h->now_ms();
        if (left <= 0 || h->remaining_ms(call) <= 0 || h->cancelled(call)) {
            rc = h->fail(call, CORRAL_ETIMEDOUT, "e2b: job %s is still running", job->id);
            goto out;
        }
        sleep_ms(pause < left ? pause : left);
        pause = pause * 2 > 500 ? 500 : pause * 2;
    }
    int code = atoi(o.buf.p ? o.buf.p : "0");
    rc = 0;
    memset((char *)res + sizeof res->struct_size, 0,
           (res->struct_size < sizeof *res ? res->struct_size : sizeof *res) - sizeof res->struct_size);
    if (probe_file(s, topath, &o, call) == 1) {
        res->timed_out = 1;
        res->exit_code = 124;
        res->signal = 9;
    } else {
        res->exit_code = code;
        if (job->killed && code > 128 && code < 128 + 65)
            res->signal = code - 128;
    }
out:
    crl_buf_free(&o.buf);
    free(dir);
    free(rcpath);
    free(topath);
    return rc;
}

int e2b_job_kill(corral_sbx *s, corral_job *job, corral_call *call)
{
    char *dir = job_dir(job);
    char *pg = dir ? e2b_xasprintf("%s/pg", dir) : NULL;
    int rc;
    if (!pg) {
        rc = s->p->host->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    } else {
        const char *argv[] = {"/bin/sh", "-c", kill_script, "corral-kill", pg, NULL};
        int code;
        job->killed = 1;
        rc = e2b_envd_run(s, argv, NULL, &code, call);
    }
    free(dir);
    free(pg);
    return rc;
}

void e2b_job_free(corral_sbx *s, corral_job *job)
{
    (void)s;
    if (!job)
        return;
    free(job->id);
    free(job->dir);
    free(job);
}

static int read_once(corral_sbx *s, const char *path, const struct corral_sink *sink, corral_call *call)
{
    return e2b_envd_download(s, path, sink, NULL, call);
}

static int write_once(corral_sbx *s, const char *path, const struct corral_source *src, const void *data,
                      size_t len, uint32_t mode, corral_call *call)
{
    int rc = e2b_envd_upload(s, path, src, data, len, call);
    if (rc != 0 || mode == 0 || (mode & 07777) == 0644)
        return rc;
    char m[16];
    snprintf(m, sizeof m, "%o", (unsigned)(mode & 07777));
    const char *argv[] = {"chmod", m, path, NULL};
    int code = 0;
    rc = e2b_envd_run(s, argv, NULL, &code, call);
    if (rc == 0 && code != 0)
        rc = s->p->host->fail(call, CORRAL_EIO, "e2b: chmod %s %s failed with exit %d", m, path, code);
    return rc;
}

/* ---- the ops: E2B pauses idle sandboxes (auto-pause), and envd's proxy
 * then answers 502 (CORRAL_ENOTFOUND, nothing ran): a live handle resumes
 * the sandbox and retries once.  A missing file is also CORRAL_ENOTFOUND;
 * e2b_revive tells them apart by the sandbox's state. ---- */

int e2b_exec(corral_sbx *s, const struct corral_exec_request *req, struct corral_exec_result *res,
             corral_call *call)
{
    int rc = exec_once(s, req, res, call);
    return rc == CORRAL_ENOTFOUND && e2b_revive(s, call) == 0 ? exec_once(s, req, res, call) : rc;
}

int e2b_spawn(corral_sbx *s, const struct corral_exec_request *req, corral_job **out, corral_call *call)
{
    int rc = spawn_once(s, req, out, call);
    return rc == CORRAL_ENOTFOUND && e2b_revive(s, call) == 0 ? spawn_once(s, req, out, call) : rc;
}

int e2b_read_file(corral_sbx *s, const char *path, const struct corral_sink *sink, corral_call *call)
{
    int rc = read_once(s, path, sink, call);
    return rc == CORRAL_ENOTFOUND && e2b_revive(s, call) == 0 ? read_once(s, path, sink, call) : rc;
}

/* Bytes of a write kept in memory so that it can be sent again after a
 * resume; a larger source is streamed once. */
#define WRITE_REPLAY_MAX (8u << 20)

struct prefixed {
    const struct crl_buf *head;
    size_t off;
    const struct corral_source *rest;
};

static long prefixed_read(void *ud, void *buf, size_t cap)
{
    struct prefixed *x = ud;
    if (x->off < x->head->len) {
        size_t n = x->head->len - x->off < cap ? x->head->len - x->off : cap;
        memcpy(buf, x->head->p + x->off, n);
        x->off += n;
        return (long)n;
    }
    return x->rest->read(x->rest->ud, buf, cap);
}

/* A streamed source cannot be replayed: up to WRITE_REPLAY_MAX bytes are
 * read into memory first, and only such a write is sent again after a
 * resume (a larger one still resumes the sandbox, for the caller's retry). */
int e2b_write_file(corral_sbx *s, const char *path, const struct corral_source *src, uint32_t mode,
                   corral_call *call)
{
    struct crl_buf b = {0};
    char chunk[65536];
    long r = 0;
    while (b.len <= WRITE_REPLAY_MAX && (r = src->read(src->ud, chunk, sizeof chunk)) > 0)
        if (crl_buf_add(&b, chunk, (size_t)r) != 0) {
            crl_buf_free(&b);
            return s->p->host->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        }
    if (r < 0) {
        crl_buf_free(&b);
        return s->p->host->fail(call, CORRAL_EIO, "e2b: reading the data for %s failed", path);
    }
    int whole = b.len <= WRITE_REPLAY_MAX;
    struct prefixed x = {&b, 0, src};
    struct corral_source ps = {.struct_size = sizeof ps, .read = prefixed_read, .ud = &x, .length = src->length};
    int rc = whole ? write_once(s, path, NULL, b.p ? b.p : "", b.len, mode, call)
                   : write_once(s, path, &ps, NULL, 0, mode, call);
    if (rc == CORRAL_ENOTFOUND && e2b_revive(s, call) == 0 && whole)
        rc = write_once(s, path, NULL, b.p ? b.p : "", b.len, mode, call);
    crl_buf_free(&b);
    return rc;
}
