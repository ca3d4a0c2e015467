/* Commands through Docker exec, always via the in-container shim
 * (/.corral/shim run ...), which makes the command a process-group leader,
 * enforces the timeout by killing that group, relays output so the exec
 * ends with the command, and records job status in a file.
 *
 * Stdin is staged, not streamed: the bytes are PUT as a file
 * (/.corral/in-<nonce>) through the archive endpoint and the shim opens and
 * unlinks it.  That needs no hijacked connection (so everything goes
 * through the host's HTTP service, over unix:// and tcp:// alike) and it
 * can never deadlock on a command that writes lots of output before it
 * reads its input.  The cost is one extra request when stdin is given. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dk.h"

#define GRACE_MS 10000

static int env_ok(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return 0;
    if (!((kv[0] >= 'A' && kv[0] <= 'Z') || (kv[0] >= 'a' && kv[0] <= 'z') || kv[0] == '_'))
        return 0;
    for (const char *p = kv + 1; p < eq; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

void dk_sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Create an exec of cmd (array, consumed) and return its id in *id. */
static int exec_create(corral_sbx *sbx, cJSON *cmd, const char *const *env, const char *cwd,
                       const char *user, char **id, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddBoolToObject(b, "AttachStdin", 0);
    cJSON_AddBoolToObject(b, "AttachStdout", 1);
    cJSON_AddBoolToObject(b, "AttachStderr", 1);
    cJSON_AddBoolToObject(b, "Tty", 0);
    cJSON_AddItemToObject(b, "Cmd", cmd);
    if (env && env[0]) {
        cJSON *e = cJSON_AddArrayToObject(b, "Env");
        for (size_t i = 0; env[i]; i++) {
            if (!env_ok(env[i])) {
                cJSON_Delete(b);
                /* Name only: the value may be a secret. */
                return h->fail(call, CORRAL_EINVAL, "exec: bad environment entry (name '%.*s')",
                               (int)strcspn(env[i], "="), env[i]);
            }
            cJSON_AddItemToArray(e, cJSON_CreateString(env[i]));
        }
    }
    if (cwd)
        cJSON_AddStringToObject(b, "WorkingDir", cwd);
    if (user && *user)
        cJSON_AddStringToObject(b, "User", user);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (!json)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    char path[160];
    snprintf(path, sizeof path, "/containers/%s/exec", sbx->cid);
    struct dk_resp r;
    int rc = dk_api(sbx->p, "POST", path, json, NULL, NULL, NULL, 0, 3, &r, call);
    free(json);
    if (rc == 0 && r.status != 201) {
        rc = r.status == 409 ? h->fail(call, CORRAL_ESTATE, "exec: sandbox %s is not running (paused or stopped)",
                                       sbx->id)
           : r.status == 404 ? h->fail(call, CORRAL_ENOTFOUND, "exec: sandbox %s is gone", sbx->id)
                             : dk_api_fail(sbx->p, &r, "exec create", call);
    }
    if (rc == 0) {
        cJSON *j = dk_json(sbx->p, &r, "exec create", call);
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "Id");
        if (cJSON_IsString(i))
            *id = strdup(i->valuestring);
        else
            rc = j ? h->fail(call, CORRAL_EPROTO, "exec create: no Id in the answer") : CORRAL_EPROTO;
        cJSON_Delete(j);
        if (rc == 0 && !*id)
            rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    dk_resp_free(&r);
    return rc;
}

static int demux_write(void *ud, const void *buf, size_t len)
{
    return dk_demux_feed(ud, buf, len);
}

/* Start exec id attached and demultiplex its output until it ends. */
static int exec_start(corral_sbx *sbx, const char *id, const struct corral_sink *out,
                      const struct corral_sink *err, int64_t http_timeout_ms, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    struct dk_demux d;
    dk_demux_init(&d, out, err);
    struct corral_sink sink = {.struct_size = sizeof sink, .write = demux_write, .ud = &d};
    char path[160];
    snprintf(path, sizeof path, "/exec/%s/start", id);
    struct dk_resp r;
    int rc = dk_api(sbx->p, "POST", path, "{\"Detach\":false,\"Tty\":false}", NULL, NULL, &sink,
                    http_timeout_ms, 1, &r, call);
    if (rc == 0 && r.status != 200 && r.status != 101) {
        /* The host keeps non-2xx bodies out of the sink: r.body has it. */
        rc = r.status == 409 ? h->fail(call, CORRAL_ESTATE, "exec: sandbox %s is not running: %.200s", sbx->id,
                                       r.body ? r.body : "")
                             : dk_api_fail(sbx->p, &r, "exec start", call);
    } else if (rc == 0 && d.bad) {
        rc = h->fail(call, CORRAL_EPROTO, "exec start: not a multiplexed stream: %.200s", d.raw);
    }
    dk_resp_free(&r);
    return rc;
}

/* Exit code of a finished exec; waits (bounded) for the daemon to notice
 * the exit, which can lag the end of the output stream. */
static int exec_code(corral_sbx *sbx, const char *id, int wait, int *code, int *running, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    char path[160];
    snprintf(path, sizeof path, "/exec/%s/json", id);
    int64_t until = h->now_ms() + 5000;
    for (int64_t delay = 1;; delay = delay < 50 ? delay * 2 : 50) {
        struct dk_resp r;
        int rc = dk_api(sbx->p, "GET", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
        if (rc == 0 && r.status != 200)
            rc = dk_api_fail(sbx->p, &r, "exec inspect", call);
        cJSON *j = rc == 0 ? dk_json(sbx->p, &r, "exec inspect", call) : NULL;
        dk_resp_free(&r);
        if (rc || !j)
            return rc ? rc : CORRAL_EPROTO;
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(j, "Running");
        const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "ExitCode");
        *running = cJSON_IsTrue(run);
        *code = cJSON_IsNumber(ec) ? ec->valueint : -1;
        cJSON_Delete(j);
        if (!*running && *code >= 0)
            return 0;
        if (!wait || h->now_ms() >= until)
            return 0;
        if (h->cancelled(call))
            return h->fail(call, CORRAL_ECANCELED, "exec: cancelled");
        dk_sleep_ms(delay);
    }
}

/* argv of the request (shell -> /bin/sh -c) appended to cmd. */
static int add_argv(const struct corral_host *h, cJSON *cmd, const struct corral_exec_request *req,
                    corral_call *call)
{
    if (req->shell) {
        cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString(req->shell));
        return 0;
    }
    if (!req->argv || !req->argv[0] || !req->argv[0][0])
        return h->fail(call, CORRAL_EINVAL, "exec: neither argv nor shell given");
    for (size_t i = 0; req->argv[i]; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(req->argv[i]));
    return 0;
}

static void add_opt(cJSON *cmd, const char *opt, const char *val)
{
    cJSON_AddItemToArray(cmd, cJSON_CreateString(opt));
    cJSON_AddItemToArray(cmd, cJSON_CreateString(val));
}

/* Stage stdin as /.corral/in-<nonce>; *staged set to its path. */
static int stage_stdin(corral_sbx *sbx, const struct corral_exec_request *req, const char *nc, char *staged,
                       size_t cap, corral_call *call)
{
    staged[0] = '\0';
    if (!req->stdin_data || req->stdin_len == 0)
        return 0;
    char name[64];
    snprintf(name, sizeof name, ".corral/in-%s", nc);
    long uid, gid;
    int rc = dk_owner(sbx, &uid, &gid, call);
    if (rc)
        return rc;
    /* Streamed: no second copy of a large stdin in memory. */
    struct dk_memsrc m;
    struct corral_source data, src;
    dk_memsrc_init(&m, &data, req->stdin_data, req->stdin_len);
    struct dk_tarsrc *t;
    if (dk_tarsrc_new(name, 0600, uid, gid, &data, &t))
        return sbx->p->host->fail(call, CORRAL_ENOMEM, "exec: cannot build the stdin archive");
    dk_tarsrc_source(t, &src);
    rc = dk_put_tar(sbx->p, sbx->cid, "/", &src, call);
    dk_tarsrc_free(t);
    if (rc == 0)
        snprintf(staged, cap, "/%s", name);
    return rc;
}

static int64_t effective_timeout(const struct corral_host *h, const struct corral_exec_request *req,
                                 corral_call *call)
{
    int64_t t = req->timeout_ms > 0 ? req->timeout_ms : 0;
    int64_t rem = h->remaining_ms(call);
    if (rem != INT64_MAX) {
        /* Let the shim fire first so the group dies inside the sandbox. */
        int64_t r = rem > 1000 ? rem - 500 : rem;
        if (r < 1)
            r = 1;
        if (t == 0 || r < t)
            t = r;
    }
    return t;
}

struct membuf {
    char *buf;
    size_t cap, len;
};

static int mem_write(void *ud, const void *buf, size_t len)
{
    struct membuf *m = ud;
    if (!m->cap)
        return 0;
    size_t room = m->cap - 1 - m->len;
    if (len > room)
        len = room;
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    m->buf[m->len] = '\0';
    return 0;
}

/* The caller's request, with fields beyond its struct_size read as zero. */
static void req_copy(const struct corral_exec_request *in, struct corral_exec_request *out)
{
    memset(out, 0, sizeof *out);
    size_t n = in->struct_size < sizeof *out ? in->struct_size : sizeof *out;
    memcpy(out, in, n);
}

int dk_exec(corral_sbx *sbx, const struct corral_exec_request *req_in, struct corral_exec_result *res,
            corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    struct corral_exec_request rq;
    req_copy(req_in, &rq);
    const struct corral_exec_request *req = &rq;
    int64_t t0 = h->now_ms();
    char nc[17], staged[96], tbuf[32], tof[64];
    if (crl_random_hex(nc, 8))
        return h->fail(call, CORRAL_EIO, "docker: no random bytes for the exec's file names");
    int rc = stage_stdin(sbx, req, nc, staged, sizeof staged, call);
    if (rc)
        return rc;
    int64_t timeout = effective_timeout(h, req, call);
    snprintf(tof, sizeof tof, DK_SHIM_DIR "/x-%s.timeout", nc);
    cJSON *cmd = cJSON_CreateArray();
    cJSON_AddItemToArray(cmd, cJSON_CreateString(DK_SHIM_PATH));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("run"));
    add_opt(cmd, "-m", nc);
    if (timeout > 0) {
        snprintf(tbuf, sizeof tbuf, "%" PRId64, timeout);
        add_opt(cmd, "-t", tbuf);
        add_opt(cmd, "-x", tof);
    }
    if (staged[0])
        add_opt(cmd, "-i", staged);
    cJSON_AddItemToArray(cmd, cJSON_CreateString("--"));
    if ((rc = add_argv(h, cmd, req, call))) {
        cJSON_Delete(cmd);
        return rc;
    }
    const char *user = req->user ? req->user : sbx->user;
    char *id = NULL;
    rc = exec_create(sbx, cmd, req->env, req->cwd ? req->cwd : sbx->workdir, user, &id, call);
    if (rc)
        return rc;
    rc = exec_start(sbx, id, req->out, req->err, timeout > 0 ? timeout + GRACE_MS : 0, call);
    if (rc) {
        /* The stream broke (deadline, cancel, daemon): kill the group
         * inside.  `call` may be spent or cancelled, so the cleanup runs
         * without it (bounded by its own timeouts). */
        const char *args[] = {"killm", nc, NULL};
        h->log(h, CORRAL_LOG_WARN, "docker: exec in %s interrupted (%d); killing its process group", sbx->id, rc);
        dk_shim_call(sbx, args, user, NULL);
        free(id);
        return rc;
    }
    int code = -1, running = 0;
    rc = exec_code(sbx, id, 1, &code, &running, call);
    free(id);
    if (rc)
        return rc;
    if (running || code < 0)
        return h->fail(call, CORRAL_EPROTO, "exec: the daemon never reported an exit code");
    int64_t dur = h->now_ms() - t0;
    res->exit_code = code;
    if (CORRAL_HAS_FIELD(res, signal))
        res->signal = 0;
    if (CORRAL_HAS_FIELD(res, timed_out))
        res->timed_out = 0;
    /* 124 is the shim's timeout or the command's own code: the shim
     * leaves a marker file only in the first case (one extra request,
     * only for exit code 124). */
    int fired = 0;
    if (code == 124 && timeout > 0) {
        struct corral_sink none = {.struct_size = sizeof none, .write = mem_write, .ud = &(struct membuf){0}};
        int r2 = dk_read_file(sbx, tof, &none, call);
        if (r2 < 0 && r2 != CORRAL_ENOTFOUND)
            return r2;
        fired = r2 == 0;
    }
    if (fired) {
        if (CORRAL_HAS_FIELD(res, timed_out))
            res->timed_out = 1;
        if (CORRAL_HAS_FIELD(res, signal))
            res->signal = 9;
    } else if (code > 128 && code <= 128 + 64 && CORRAL_HAS_FIELD(res, signal)) {
        res->signal = code - 128;
    }
    if (CORRAL_HAS_FIELD(res, duration_ms))
        res->duration_ms = dur;
    return 0;
}

int dk_shim_call(corral_sbx *sbx, const char *const *args, const char *user, corral_call *call)
{
    return dk_shim_output(sbx, args, user, NULL, 0, call);
}

int dk_shim_output(corral_sbx *sbx, const char *const *args, const char *user, char *out, size_t cap,
                   corral_call *call)
{
    cJSON *cmd = cJSON_CreateArray();
    cJSON_AddItemToArray(cmd, cJSON_CreateString(DK_SHIM_PATH));
    for (size_t i = 0; args[i]; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(args[i]));
    char *id = NULL;
    int rc = exec_create(sbx, cmd, NULL, "/", user, &id, call);
    if (rc)
        return rc;
    struct membuf m = {out, cap, 0};
    if (cap)
        out[0] = '\0';
    struct corral_sink so = {.struct_size = sizeof so, .write = mem_write, .ud = &m};
    rc = exec_start(sbx, id, &so, NULL, 30000, call);
    int code = -1, running = 0;
    if (rc == 0)
        rc = exec_code(sbx, id, 1, &code, &running, call);
    free(id);
    return rc ? rc : code;
}

/* ---- jobs ---------------------------------------------------------------- */

int dk_spawn(corral_sbx *sbx, const struct corral_exec_request *req_in, corral_job **out, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    struct corral_exec_request rq;
    req_copy(req_in, &rq);
    const struct corral_exec_request *req = &rq;
    char nc[17], staged[96], tbuf[32], f[128];
    if (crl_random_hex(nc, 8))
        return h->fail(call, CORRAL_EIO, "docker: no random bytes for the job's file names");
    corral_job *job = calloc(1, sizeof *job);
    if (!job)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    const char *user = req->user ? req->user : sbx->user;
    size_t bl = sizeof DK_SHIM_DIR + 32;
    job->base = malloc(bl);
    job->user = user ? strdup(user) : NULL;
    if (!job->base || (user && !job->user)) {
        dk_job_free(sbx, job);
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    snprintf(job->base, bl, DK_SHIM_DIR "/job-%s", nc);
    int rc = stage_stdin(sbx, req, nc, staged, sizeof staged, call);
    if (rc) {
        dk_job_free(sbx, job);
        return rc;
    }
    cJSON *cmd = cJSON_CreateArray();
    cJSON_AddItemToArray(cmd, cJSON_CreateString(DK_SHIM_PATH));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("run"));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("-d"));
    snprintf(f, sizeof f, "%s.pid", job->base);
    add_opt(cmd, "-p", f);
    snprintf(f, sizeof f, "%s.status", job->base);
    add_opt(cmd, "-s", f);
    if (req->timeout_ms > 0) {
        snprintf(tbuf, sizeof tbuf, "%" PRId64, req->timeout_ms);
        add_opt(cmd, "-t", tbuf);
    }
    if (staged[0])
        add_opt(cmd, "-i", staged);
    if (req->out_path)
        add_opt(cmd, "-o", req->out_path);
    if (req->err_path)
        add_opt(cmd, "-e", req->err_path);
    cJSON_AddItemToArray(cmd, cJSON_CreateString("--"));
    if ((rc = add_argv(h, cmd, req, call))) {
        cJSON_Delete(cmd);
        dk_job_free(sbx, job);
        return rc;
    }
    rc = exec_create(sbx, cmd, req->env, req->cwd ? req->cwd : sbx->workdir, user, &job->exec_id, call);
    if (rc) {
        dk_job_free(sbx, job);
        return rc;
    }
    /* Detached: the daemon answers once the shim runs; the shim supervises
     * the job and leaves its status in <base>.status. */
    char path[160];
    snprintf(path, sizeof path, "/exec/%s/start", job->exec_id);
    struct dk_resp r;
    rc = dk_api(sbx->p, "POST", path, "{\"Detach\":true,\"Tty\":false}", NULL, NULL, NULL, 30000, 1, &r, call);
    if (rc == 0 && r.status != 200 && r.status != 204)
        rc = r.status == 409 ? h->fail(call, CORRAL_ESTATE, "spawn: sandbox %s is not running", sbx->id)
                             : dk_api_fail(sbx->p, &r, "exec start", call);
    dk_resp_free(&r);
    if (rc) {
        dk_job_free(sbx, job);
        return rc;
    }
    *out = job;
    return 0;
}

/* Status file "code signal timed_out" -> job->res; 1 if present. */
static int probe_status(corral_sbx *sbx, corral_job *job, corral_call *call)
{
    char f[128], buf[256];
    snprintf(f, sizeof f, "%s.status", job->base);
    struct membuf m = {buf, sizeof buf, 0};
    buf[0] = '\0';
    struct corral_sink s = {.struct_size = sizeof s, .write = mem_write, .ud = &m};
    int rc = dk_read_file(sbx, f, &s, call);
    if (rc == CORRAL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    int code, sig, to;
    if (sscanf(buf, "%d %d %d", &code, &sig, &to) != 3)
        return sbx->p->host->fail(call, CORRAL_EPROTO, "job status file unreadable: '%.40s'", buf);
    job->res.exit_code = code;
    job->res.signal = sig;
    job->res.timed_out = to;
    job->done = 1;
    return 1;
}

static void copy_res(const struct corral_exec_result *from, struct corral_exec_result *to)
{
    to->exit_code = from->exit_code;
    if (CORRAL_HAS_FIELD(to, signal))
        to->signal = from->signal;
    if (CORRAL_HAS_FIELD(to, timed_out))
        to->timed_out = from->timed_out;
    if (CORRAL_HAS_FIELD(to, duration_ms))
        to->duration_ms = from->duration_ms;
}

int dk_job_wait(corral_sbx *sbx, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    int64_t until = h->now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (int64_t delay = 10;; delay = delay < 200 ? delay * 2 : 200) {
        if (!job->done) {
            /* One cheap inspect while it runs; the status file once it ended. */
            int code = -1, running = 1;
            int rc = exec_code(sbx, job->exec_id, 0, &code, &running, call);
            if (rc && rc != CORRAL_ENOTFOUND)
                return rc;
            int gone = rc == CORRAL_ENOTFOUND;     /* the daemon forgot the exec */
            if (gone || (!running && code >= 0)) {
                rc = probe_status(sbx, job, call);
                if (rc < 0)
                    return rc;
                if (rc == 0 && gone)
                    return h->fail(call, CORRAL_ENOTFOUND, "job: its exec and status are gone");
                if (rc == 0) {
                    /* The supervisor ended without a status (it was killed
                     * itself): never report success for that. */
                    job->res.exit_code = code == 0 ? 137 : code;
                    job->res.signal = job->res.exit_code > 128 && job->res.exit_code <= 192
                                          ? job->res.exit_code - 128 : 0;
                    job->done = 1;
                }
            }
            /* Not running without an exit code yet: still starting. */
        }
        if (job->done) {
            copy_res(&job->res, res);
            return 0;
        }
        int64_t now = h->now_ms();
        if (timeout_ms <= 0 || now >= until)
            return h->fail(call, CORRAL_ETIMEDOUT, "job still running");
        if (h->cancelled(call))
            return h->fail(call, CORRAL_ECANCELED, "job wait cancelled");
        if (h->remaining_ms(call) <= 0)
            return h->fail(call, CORRAL_ETIMEDOUT, "job wait: the call's deadline passed");
        dk_sleep_ms(delay < until - now ? delay : until - now);
    }
}

int dk_job_kill(corral_sbx *sbx, corral_job *job, corral_call *call)
{
    if (job->done)
        return 0;
    char f[128];
    snprintf(f, sizeof f, "%s.pid", job->base);
    const char *args[] = {"kill", f, "9", NULL};
    int rc = dk_shim_call(sbx, args, job->user, call);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return sbx->p->host->fail(call, CORRAL_EPERM, "job kill: not permitted");
    return 0;   /* 0 killed, 3 no such group (already ended) */
}

void dk_job_free(corral_sbx *sbx, corral_job *job)
{
    (void)sbx;
    if (!job)
        return;
    free(job->exec_id);
    free(job->base);
    free(job->user);
    free(job);
}
