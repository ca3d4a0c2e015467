/*
 * sandbox_islo: corral's backend for Islo sandboxes (docs/backends/islo.md).
 *
 * Names: the Islo sandbox name is the host's spec->id ("islo-<hex>"), so a
 * create retried after a lost answer finds its own sandbox (409
 * SANDBOX_ALREADY_EXISTS -> adopt) instead of making a second one.
 * Labels: Islo has none, so they live in a file inside the sandbox
 * (LABELS_PATH) that list() reads; the backend TTL is lifecycle.delete_after.
 * Timeouts: Islo does not enforce exec timeouts, so a command with a limit
 * runs under coreutils `timeout`, which kills its whole process group.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "islo.h"

#define LABELS_PATH "/var/tmp/corral-labels.json"

#define AT(field) offsetof(struct islo, field)
#define BOUND CORRAL_OPT_BIND
#define AT_LEAST (CORRAL_OPT_BIND | CORRAL_OPT_MIN) /* with the minimum after the offset */
static const struct corral_option islo_options[] = {
    {"control_url", CORRAL_OPT_STRING, AT_LEAST, "\"https://api.islo.dev\"",
     "Islo control host (auth, gateway profiles)", AT(control_url), 1, 0},
    {"compute_url", CORRAL_OPT_STRING, BOUND, "\"https://ca.compute.islo.dev\"",
     "Islo compute host (sandboxes)", AT(compute_url), 0, 0},
    {"api_key_env", CORRAL_OPT_STRING, CORRAL_OPT_SECRET_ENV | BOUND, "\"ISLO_API_KEY\"",
     "environment variable holding the Islo API key (ak_...)", AT(api_key_env), 0, 0},
    {"image", CORRAL_OPT_STRING, BOUND, NULL, "default image (Islo's default when unset)", AT(image), 0, 0},
    {"workdir", CORRAL_OPT_STRING, BOUND, "\"/workspace\"", "default working directory", AT(workdir), 0, 0},
    {"gateway_profile", CORRAL_OPT_STRING, BOUND, NULL,
     "gateway profile (name or id) used as is for sandboxes without an inline egress policy", AT(gateway_profile), 0,
     0},
    {"init", CORRAL_OPT_STRING, BOUND, "\"minimal\"", "init type: minimal, full, or \"\" to omit", AT(init), 0, 0},
    {"name_prefix", CORRAL_OPT_STRING, BOUND, "\"islo-\"", "list() considers sandboxes whose name starts with this",
     AT(name_prefix), 0, 0},
    {"poll_interval_ms", CORRAL_OPT_INT, AT_LEAST, "500", "exec/status polling interval", AT(poll_ms), 10, 0},
    {"ready_timeout_s", CORRAL_OPT_INT, BOUND, "300", "how long create/resume wait for status running",
     AT(ready_timeout_s), 0, 0},
    {"http_attempts", CORRAL_OPT_INT, AT_LEAST, "3", "attempts per request on transient failures", AT(attempts), 1, 0},
    {"backoff_ms", CORRAL_OPT_INT, AT_LEAST, "500", "first retry backoff (doubled per retry)", AT(backoff_ms), 1, 0},
    {"request_timeout_ms", CORRAL_OPT_INT, BOUND, "60000", "limit of one HTTP request", AT(request_timeout_ms), 0, 0},
    {"profile_delete_timeout_s", CORRAL_OPT_INT, BOUND, "60",
     "how long to retry deleting an inline gateway profile while its sandbox is torn down",
     AT(profile_delete_timeout_s), 0, 0},
    {"orphan_profile_grace_s", CORRAL_OPT_INT, BOUND, "600",
     "list() reports a corral-* gateway profile whose sandbox is gone (for gc to delete) once it is this old",
     AT(orphan_profile_grace_s), 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0}};

/* ---- small helpers ---- */

static int ok2xx(const struct corral_http_response *r)
{
    return r->status >= 200 && r->status < 300;
}

static int sbpath(char *buf, size_t cap, const char *name, const char *rest)
{
    snprintf(buf, cap, "sandboxes/");
    if (corral_url_escape(buf, cap, name, NULL))
        return -1;
    if (rest && strlen(buf) + strlen(rest) + 1 < cap)
        strcat(buf, rest);
    else if (rest)
        return -1;
    return 0;
}

static int sbpath_q(char *buf, size_t cap, const char *name, const char *rest, const char *path)
{
    if (sbpath(buf, cap, name, rest))
        return -1;
    if (strlen(buf) + 7 >= cap)
        return -1;
    strcat(buf, "?path=");
    return corral_url_escape(buf, cap, path, NULL);
}

static cJSON *kv_object(const char *const *kv)
{
    cJSON *o = cJSON_CreateObject();
    for (; kv && *kv; kv++) {
        const char *eq = strchr(*kv, '=');
        if (!eq || eq == *kv)
            continue;
        char *k = strndup(*kv, (size_t)(eq - *kv));
        cJSON_DeleteItemFromObjectCaseSensitive(o, k);
        cJSON_AddStringToObject(o, k, eq + 1);
        free(k);
    }
    return o;
}

/* GET the sandbox; 0 with *info filled, or a corral status (ENOTFOUND on 404). */
static int get_sandbox(struct islo *p, const char *name, struct islo_sandbox_info *info, corral_call *call)
{
    char path[512];
    if (sbpath(path, sizeof path, name, NULL))
        return p->host->fail(call, CORRAL_EINVAL, "islo: sandbox name too long");
    struct corral_http_response resp;
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "GET", .path = path};
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, "get sandbox", call);
    else if (rc == 0 && islo_parse_sandbox(resp.body, resp.body_len, info))
        rc = p->host->fail(call, CORRAL_EPROTO, "islo: get sandbox: unparseable SandboxResponse");
    p->host->http_response_free(&resp);
    return rc;
}

static int is_running(const char *s)
{
    return strcmp(s, "running") == 0 || strcmp(s, "started") == 0 || strcmp(s, "ready") == 0;
}

static int is_fatal(const char *s)
{
    return strcmp(s, "failed") == 0 || strcmp(s, "error") == 0;
}

static int is_gone(const char *s)
{
    return strcmp(s, "deleted") == 0 || strcmp(s, "deleting") == 0;
}

/* Poll until the sandbox runs (ready_timeout_ms). */
static int wait_running(struct islo *p, const char *name, corral_call *call)
{
    const struct corral_host *h = p->host;
    int64_t end = h->now_ms() + p->ready_timeout_ms;
    int64_t wait = 50;
    /* Leave part of the call's time for cleanup (deleting what was made). */
    int64_t left = h->remaining_ms(call);
    if (left < INT64_MAX / 2 && h->now_ms() + left - left / 4 < end)
        end = h->now_ms() + left - left / 4;
    for (;;) {
        struct islo_sandbox_info info;
        int rc = get_sandbox(p, name, &info, call);
        if (rc)
            return rc;
        char st[64];
        snprintf(st, sizeof st, "%s", info.status);
        islo_sandbox_info_free(&info);
        if (is_running(st))
            return 0;
        if (is_fatal(st))
            return h->fail(call, CORRAL_EIO, "islo: sandbox %s failed to start (status %s)", name, st);
        if (is_gone(st))
            return h->fail(call, CORRAL_ENOTFOUND, "islo: sandbox %s is %s", name, st);
        if (strcmp(st, "paused") == 0 || strcmp(st, "stopped") == 0)
            return h->fail(call, CORRAL_ESTATE, "islo: sandbox %s is %s", name, st);
        if (h->now_ms() + wait > end)
            return h->fail(call, CORRAL_ETIMEDOUT, "islo: sandbox %s not running after %lld s (status %s)", name,
                           (long long)(p->ready_timeout_ms / 1000), st);
        if ((rc = islo_sleep(p, wait, call)) != 0)
            return rc;
        if (wait < p->poll_ms)
            wait = wait * 2 < p->poll_ms ? wait * 2 : p->poll_ms;
    }
}

static int delete_sandbox(struct islo *p, const char *name, corral_call *call)
{
    char path[512];
    if (sbpath(path, sizeof path, name, NULL))
        return p->host->fail(call, CORRAL_EINVAL, "islo: sandbox name too long");
    struct corral_http_response resp;
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "DELETE", .path = path};
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && !ok2xx(&resp) && resp.status != 404)
        rc = islo_fail_http(p, &resp, "delete sandbox", call);
    p->host->http_response_free(&resp);
    return rc;
}

/* delete_sandbox for crl_retry_transient: a create that failed after the
 * service made the sandbox must not leave it running on a few 503s. */
struct cleanup_ctx {
    struct islo *p;
    const char *name;
};

static int delete_sandbox_op(void *ud, corral_call *call)
{
    struct cleanup_ctx *c = ud;
    return delete_sandbox(c->p, c->name, call);
}

/* ---- multipart upload body: prefix, a streamed middle, suffix ---- */

struct mp_src {
    const char *pre, *post;
    size_t pre_len, post_len, off;
    int phase; /* 0 pre, 1 middle, 2 post, 3 done */
    const struct corral_source *mid;
    int fd;    /* middle from fd when mid is NULL */
};

/* Start the body again (corral_source.rewind): possible when the middle
 * is a seekable fd or a source that rewinds, so a safe upload can be resent. */
static int mp_rewind(void *ud)
{
    struct mp_src *m = ud;
    if (m->mid ? !(CORRAL_HAS_FIELD(m->mid, rewind) && m->mid->rewind && m->mid->rewind(m->mid->ud) == 0)
               : lseek(m->fd, 0, SEEK_SET) != 0)
        return CORRAL_EIO;
    m->phase = 0;
    m->off = 0;
    return 0;
}

static long mp_read(void *ud, void *buf, size_t cap)
{
    struct mp_src *m = ud;
    for (;;) {
        if (m->phase == 0 || m->phase == 2) {
            const char *s = m->phase == 0 ? m->pre : m->post;
            size_t len = m->phase == 0 ? m->pre_len : m->post_len;
            if (m->off < len) {
                size_t n = len - m->off < cap ? len - m->off : cap;
                memcpy(buf, s + m->off, n);
                m->off += n;
                return (long)n;
            }
            m->phase++;
            m->off = 0;
            continue;
        }
        if (m->phase == 1) {
            long n = m->mid ? m->mid->read(m->mid->ud, buf, cap) : (long)read(m->fd, buf, cap);
            if (n < 0)
                return m->mid ? n : CORRAL_EIO;
            if (n > 0)
                return n;
            m->phase = 2;
            continue;
        }
        return 0;
    }
}

/* POST bytes (mid or fd) as the one multipart part `file` to path. */
static int upload(struct islo *p, const char *path, const char *filename, const char *ctype,
                  const struct corral_source *mid, int fd, int64_t mid_len, const char *what, corral_call *call)
{
    char boundary[40], pre[512], post[64], hdr[96];
    char hex[17];
    if (crl_random_hex(hex, 8))
        return p->host->fail(call, CORRAL_EIO, "islo: no random bytes for a multipart boundary");
    snprintf(boundary, sizeof boundary, "corral-%s", hex);
    int pl = snprintf(pre, sizeof pre,
                      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                      "Content-Type: %s\r\n\r\n",
                      boundary, filename, ctype);
    int ql = snprintf(post, sizeof post, "\r\n--%s--\r\n", boundary);
    snprintf(hdr, sizeof hdr, "multipart/form-data; boundary=%s", boundary);
    struct mp_src m = {.pre = pre, .post = post, .pre_len = (size_t)pl, .post_len = (size_t)ql, .mid = mid,
                       .fd = fd};
    struct corral_source src = {.struct_size = sizeof src, .read = mp_read, .ud = &m,
                                .length = mid_len >= 0 ? mid_len + pl + ql : -1, .rewind = mp_rewind};
    struct corral_http_response resp;
    /* Writing the same file again does no more than once. */
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "POST", .path = path, .ctype = hdr, .src = &src,
                         .idempotent = CORRAL_HTTP_IDEMPOTENT};
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, what, call);
    p->host->http_response_free(&resp);
    return rc;
}

/* ---- exec ---- */

static int write_all(const struct corral_sink *s, const char *data)
{
    if (!s || !data || !*data)
        return 0;
    return s->write(s->ud, data, strlen(data));
}

static int islo_read_file(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call);

/* Stream the captured output file at path to sink (missing = empty). */
static int fetch_output(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call)
{
    if (!sink)
        return 0;
    int rc = islo_read_file(sb, path, sink, call);
    return rc == CORRAL_ENOTFOUND ? 0 : rc;
}

/* Run `cmd` (a cJSON array, consumed, already wrapped) to completion.  With
 * cap_out/cap_err the output was redirected to those files inside and is
 * downloaded from there (binary-safe, not capped by the exec API);
 * otherwise the exec result's text is used. */
static int resume_and_wait(struct islo *p, const char *name, corral_call *call);

/* Whether an answer is Islo's "the sandbox is not running" (409
 * SANDBOX_INVALID_STATE): nothing ran or was read. */
static int invalid_state(const struct corral_http_response *resp)
{
    char code[64], msg[8];
    if (resp->status != 409)
        return 0;
    islo_parse_error(resp->body, resp->body_len, code, sizeof code, msg, sizeof msg);
    return strcmp(code, "SANDBOX_INVALID_STATE") == 0;
}

/* Idle pause and stop are normal on Islo: after an invalid-state answer, a
 * live handle resumes a paused or stopped sandbox (logged) so the request
 * can be sent once more.  Returns 0 when it is running again. */
static int revive(corral_sbx *sb, corral_call *call)
{
    struct islo_sandbox_info info;
    if (get_sandbox(sb->p, sb->name, &info, call) != 0)
        return -1;
    int resumable = strcmp(info.status, "paused") == 0 || strcmp(info.status, "stopped") == 0;
    if (resumable)
        sb->p->host->log(sb->p->host, CORRAL_LOG_WARN, "islo: sandbox %s was %s behind our back; resuming it and "
                         "retrying once", sb->name, info.status);
    islo_sandbox_info_free(&info);
    return resumable ? resume_and_wait(sb->p, sb->name, call) : -1;
}

static int run_cmd(corral_sbx *sb, cJSON *cmd, const char *cwd, const char *const *env, const char *user,
                   int64_t timeout_ms, const struct corral_sink *out, const struct corral_sink *err,
                   const char *cap_out, const char *cap_err, int rerun_ok, struct corral_exec_result *res,
                   corral_call *call)
{
    struct islo *p = sb->p;
    const struct corral_host *h = p->host;
    int64_t t0 = h->now_ms();
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "command", cmd);
    cJSON_AddStringToObject(b, "workdir", cwd ? cwd : sb->workdir);
    if (env && *env)
        cJSON_AddItemToObject(b, "env", kv_object(env));
    if (user || sb->user)
        cJSON_AddStringToObject(b, "user", user ? user : sb->user);
    if (timeout_ms > 0)
        cJSON_AddNumberToObject(b, "timeout_secs", (double)((timeout_ms + 999) / 1000));
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[512];
    sbpath(path, sizeof path, sb->name, "/exec");
    struct corral_http_response resp;
    /* A POST: the host resends it only when it was not processed (no
     * connection, 429, 503), never after a lost answer; unless running the
     * command twice is running it once (rerun_ok: corral's own helpers). */
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "POST", .path = path, .json = body,
                         .idempotent = rerun_ok ? CORRAL_HTTP_IDEMPOTENT : CORRAL_HTTP_BY_METHOD};
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && invalid_state(&resp) && revive(sb, call) == 0) {
        h->http_response_free(&resp);
        rc = islo_http(p, &r, &resp, call);
    }
    free(body);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(p, &resp, "exec", call);
    char exec_id[128] = "";
    if (rc == 0) {
        cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "exec_id");
        if (cJSON_IsString(id) && id->valuestring[0] && strlen(id->valuestring) < 100)
            snprintf(exec_id, sizeof exec_id, "%s", id->valuestring);
        else
            rc = h->fail(call, CORRAL_EPROTO, "islo: exec answered without exec_id");
        cJSON_Delete(j);
    }
    h->http_response_free(&resp);
    if (rc)
        return rc;

    char ppath[768];
    snprintf(ppath, sizeof ppath, "%s/", path);
    corral_url_escape(ppath, sizeof ppath, exec_id, NULL);
    int64_t wait = 20, grace = timeout_ms > 0 ? t0 + timeout_ms + 10000 : 0;
    int errors = 0;
    for (;;) {
        struct islo_req g = {.hostsel = ISLO_COMPUTE, .method = "GET", .path = ppath};
        rc = islo_http(p, &g, &resp, call);
        if (rc == 0 && ok2xx(&resp)) {
            errors = 0;
            struct islo_exec_info e;
            if (islo_parse_exec(resp.body, resp.body_len, &e)) {
                h->http_response_free(&resp);
                return h->fail(call, CORRAL_EPROTO, "islo: unparseable exec result");
            }
            h->http_response_free(&resp);
            if (islo_exec_terminal(e.status)) {
                res->duration_ms = h->now_ms() - t0;
                res->signal = 0;
                res->timed_out = 0;
                if (strcmp(e.status, "timeout") == 0) {
                    res->exit_code = 124;
                    res->timed_out = 1;
                } else if (e.has_exit && e.exit_code >= 0 && e.exit_code <= 255) {
                    res->exit_code = e.exit_code;
                    if (timeout_ms > 0 && e.exit_code == 124 && res->duration_ms >= timeout_ms)
                        res->timed_out = 1;
                } else {
                    /* failed without an exit code: the command could not run. */
                    res->exit_code = strcmp(e.status, "completed") == 0 ? 0 : 127;
                }
                int w;
                if (cap_out) {
                    islo_exec_info_free(&e);
                    w = fetch_output(sb, cap_out, out, call);
                    if (w == 0)
                        w = fetch_output(sb, cap_err, err, call);
                    return w;
                }
                if (e.truncated)
                    h->log(h, CORRAL_LOG_WARN, "islo: exec %s output was truncated by the server", exec_id);
                w = write_all(out, e.out);
                if (w == 0)
                    w = write_all(err, e.err);
                islo_exec_info_free(&e);
                return w < 0 ? h->fail(call, w, "islo: output consumer failed") : 0;
            }
            islo_exec_info_free(&e);
        } else if (rc == 0 && resp.status < 500 && resp.status != 429) {
            rc = islo_fail_http(p, &resp, "exec result", call);
            h->http_response_free(&resp);
            return rc;
        } else {
            h->http_response_free(&resp);
            if (rc == CORRAL_ECANCELED || h->remaining_ms(call) <= 0)
                return rc ? rc : h->fail(call, CORRAL_ETIMEDOUT, "islo: deadline passed");
            if (++errors > 5)
                return rc ? rc : h->fail(call, CORRAL_ETRANSIENT, "islo: exec result kept failing (HTTP 5xx)");
        }
        if (grace && h->now_ms() > grace) {
            /* The in-sandbox timeout should have ended it; report what we promised. */
            res->exit_code = 124;
            res->timed_out = 1;
            res->duration_ms = h->now_ms() - t0;
            h->log(h, CORRAL_LOG_WARN, "islo: exec %s still running past its timeout", exec_id);
            if (cap_out && fetch_output(sb, cap_out, out, call) == 0)
                fetch_output(sb, cap_err, err, call);
            return 0;
        }
        if ((rc = islo_sleep(p, wait, call)) != 0)
            return rc;
        if (wait < p->poll_ms)
            wait = wait * 2 < p->poll_ms ? wait * 2 : p->poll_ms;
    }
}

/* Run one of corral's helper commands (true, mkdir -p, chmod, rm -f) as
 * user (NULL: the handle's): a second run changes nothing, so a start whose
 * answer was lost is re-sent (docs/backends/islo.md).  Never for a
 * caller's command. */
static int run_argv_as(corral_sbx *sb, const char *const *argv, const char *user, corral_call *call)
{
    const struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv};
    cJSON *cmd = crl_cmd_json(&req, 60000);
    if (!cmd)
        return sb->p->host->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    struct corral_exec_result res = {.struct_size = sizeof res};
    int rc = run_cmd(sb, cmd, "/", NULL, user, 60000, NULL, NULL, NULL, NULL, 1, &res, call);
    if (rc == 0 && res.exit_code != 0)
        rc = sb->p->host->fail(call, CORRAL_EIO, "islo: helper command %s exited %d", argv[0], res.exit_code);
    return rc;
}

static int run_argv(corral_sbx *sb, const char *const *argv, corral_call *call)
{
    return run_argv_as(sb, argv, NULL, call);
}

static int islo_exec(corral_sbx *sb, const struct corral_exec_request *req, struct corral_exec_result *res,
                     corral_call *call)
{
    struct islo *p = sb->p;
    if (!req->shell && !(req->argv && req->argv[0]))
        return p->host->fail(call, CORRAL_EINVAL, "islo: exec needs argv or shell");
    /* The plain directory for the handle's user, a suffixed one for another. */
    const char *user = req->user ? req->user : sb->user;
    const char *other = req->user && !(sb->user && strcmp(req->user, sb->user) == 0) ? req->user : NULL;
    char hex[17], dir[160], outf[200], errf[200], inf[200] = "";
    if (crl_exec_dir(dir, sizeof dir, other))
        return p->host->fail(call, CORRAL_EINVAL, "islo: user '%.64s' is not a plain name", user);
    if (crl_random_hex(hex, 8))
        return p->host->fail(call, CORRAL_EIO, "islo: no random bytes for the output file names");
    snprintf(outf, sizeof outf, "%s/out-%s", dir, hex);
    snprintf(errf, sizeof errf, "%s/err-%s", dir, hex);
    if (req->stdin_data && req->stdin_len) {
        /* Islo exec has no stdin: stage it as a file the command reads. */
        snprintf(inf, sizeof inf, "%s/in-%s", dir, hex);
        char qpath[512];
        sbpath_q(qpath, sizeof qpath, sb->name, "/files", inf);
        char tmpl[] = "/tmp/corral-islo-stdin-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd < 0)
            return p->host->fail(call, CORRAL_EIO, "islo: cannot stage stdin");
        unlink(tmpl);
        size_t off = 0;
        while (off < req->stdin_len) {
            ssize_t w = write(fd, (const char *)req->stdin_data + off, req->stdin_len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        lseek(fd, 0, SEEK_SET);
        /* corral's directory first, as the command's user, mode 0700 (two
         * helpers that are safe to re-send, not one shell line) */
        const char *mk[] = {"mkdir", "-p", "--", dir, NULL}, *ch[] = {"chmod", "700", "--", dir, NULL};
        int rc = run_argv_as(sb, mk, user, call);
        if (rc == 0)
            rc = run_argv_as(sb, ch, user, call);
        if (rc == 0)
            rc = upload(p, qpath, "stdin", "application/octet-stream", NULL, fd, (int64_t)req->stdin_len,
                        "staging stdin", call);
        close(fd);
        if (rc)
            return rc;
    }
    cJSON *cmd = crl_cmd_json(req, req->timeout_ms);
    if (!cmd)
        return p->host->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    /* Take the files a finished exec left (concurrent execs each take their own). */
    pthread_mutex_lock(&sb->lock);
    char *old_out = sb->prev_out, *old_err = sb->prev_err;
    sb->prev_out = sb->prev_err = NULL;
    pthread_mutex_unlock(&sb->lock);
    /* Output goes to files inside (the exec API returns capped UTF-8 text),
     * in corral's directory; the previous exec's files are removed first,
     * stdin's once it is open. */
    const char *pre[] = {"/bin/sh", "-c",
                         "[ -z \"$1\" ] || rm -f -- \"$1\" \"$2\"; d=$3 o=$4 e=$5 i=$6; shift 6; "
                         "mkdir -p -- \"$d\" && chmod 700 -- \"$d\" || exit 125; "
                         "if [ -n \"$i\" ]; then exec <\"$i\"; rm -f -- \"$i\"; fi; exec \"$@\" >\"$o\" 2>\"$e\"",
                         "sh", old_out ? old_out : "", old_err ? old_err : "", dir, outf, errf, inf};
    for (int i = 9; i >= 0; i--)
        cJSON_InsertItemInArray(cmd, 0, cJSON_CreateString(pre[i]));
    int rc = run_cmd(sb, cmd, req->cwd, req->env, req->user, req->timeout_ms, req->out, req->err, outf, errf, 0,
                     res, call);
    free(old_out);
    free(old_err);
    /* The captured output may hold secrets: remove it now that it was read
     * (and stdin, should the command never have started).  After a failure
     * (the call may be spent or cancelled, and its message must stay) or
     * when that rm fails, it is left for the next exec's prologue. */
    const char *rm[] = {"rm", "-f", "--", outf, errf, inf, NULL};
    if (!inf[0])
        rm[5] = NULL;
    if (rc == 0 && run_argv_as(sb, rm, req->user, call) == 0)
        return rc;
    pthread_mutex_lock(&sb->lock);
    if (!sb->prev_out) { /* else another exec's files are queued: ours stay */
        sb->prev_out = strdup(outf);
        sb->prev_err = strdup(errf);
    }
    pthread_mutex_unlock(&sb->lock);
    return rc;
}

/* ---- create / attach / destroy ---- */

static void sbx_free(corral_sbx *sb)
{
    if (!sb)
        return;
    free(sb->name);
    free(sb->id);
    free(sb->workdir);
    free(sb->user);
    free(sb->profile_id);
    free(sb->prev_out);
    free(sb->prev_err);
    pthread_mutex_destroy(&sb->lock);
    free(sb);
}

/* Labels go to LABELS_PATH inside; its directory may be missing in a
 * minimal image (the upload does not make parents). */
static int write_labels(corral_sbx *sb, const char *const *labels, corral_call *call)
{
    const char *mk[] = {"mkdir", "-p", "--", "/var/tmp", NULL};
    int mrc = run_argv(sb, mk, call);
    if (mrc)
        return mrc;
    cJSON *o = kv_object(labels);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char path[512];
    sbpath_q(path, sizeof path, sb->name, "/files", LABELS_PATH);
    int fd;
    char tmpl[] = "/tmp/corral-islo-labels-XXXXXX";
    if ((fd = mkstemp(tmpl)) < 0) {
        free(s);
        return sb->p->host->fail(call, CORRAL_EIO, "islo: cannot stage labels");
    }
    unlink(tmpl);
    size_t len = strlen(s);
    int ok = write(fd, s, len) == (ssize_t)len;
    free(s);
    lseek(fd, 0, SEEK_SET);
    int rc = ok ? upload(sb->p, path, "corral-labels.json", "application/json", NULL, fd, (int64_t)len,
                         "writing labels", call)
                : sb->p->host->fail(call, CORRAL_EIO, "islo: cannot stage labels");
    close(fd);
    return rc;
}

static int valid_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int islo_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    struct islo *p = ps;
    const struct corral_host *h = p->host;
    *out = NULL;
    char name[64];
    if (spec->id && spec->id[0]) {
        size_t i = 0;
        for (const char *c = spec->id; *c && i < sizeof name - 1; c++)
            name[i++] = valid_name_char(*c) ? *c : (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : '-';
        name[i] = '\0';
    } else {
        char hex[25];
        if (crl_random_hex(hex, 12))
            return h->fail(call, CORRAL_EIO, "islo: no random bytes for a sandbox name");
        snprintf(name, sizeof name, "islo-%s", hex);
    }

    /* Options: gateway_profile, disk_gb, vcpus, memory_mb, snapshot_name. */
    cJSON *opts = spec->options_json ? cJSON_Parse(spec->options_json) : NULL;
    if (spec->options_json && !cJSON_IsObject(opts)) {
        cJSON_Delete(opts);
        return h->fail(call, CORRAL_EINVAL, "islo: options_json must be a JSON object");
    }
    for (const cJSON *k = opts ? opts->child : NULL; k; k = k->next)
        if (strcmp(k->string, "gateway_profile") && strcmp(k->string, "disk_gb") && strcmp(k->string, "vcpus") &&
            strcmp(k->string, "memory_mb") && strcmp(k->string, "snapshot_name")) {
            int rc = h->fail(call, CORRAL_EINVAL,
                             "islo: unknown option '%.64s' (valid: gateway_profile, disk_gb, vcpus, memory_mb, "
                             "snapshot_name)",
                             k->string);
            cJSON_Delete(opts);
            return rc;
        }
    const cJSON *named = cJSON_GetObjectItemCaseSensitive(opts, "gateway_profile");
    if (named && !cJSON_IsString(named)) {
        cJSON_Delete(opts);
        return h->fail(call, CORRAL_EINVAL, "islo: option gateway_profile must be a string");
    }
    if (named && spec->network == CORRAL_NET_POLICY) {
        /* A requested restriction is never dropped silently. */
        cJSON_Delete(opts);
        return h->fail(call, CORRAL_EINVAL, "islo: the inline egress policy and the gateway_profile option "
                                            "conflict (a sandbox has one profile): drop one of them");
    }

    corral_sbx *sb = calloc(1, sizeof *sb);
    pthread_mutex_init(&sb->lock, NULL);
    sb->p = p;
    sb->name = strdup(name);
    sb->workdir = strdup(spec->workdir ? spec->workdir : p->workdir);
    sb->user = spec->user ? strdup(spec->user) : NULL;

    int rc = 0, internet = spec->network != CORRAL_NET_NONE;
    const char *profile = NULL;
    if (named) {
        profile = named->valuestring; /* used as is, never modified or deleted */
    } else if (spec->network == CORRAL_NET_POLICY) {
        if (!spec->egress_json)
            rc = h->fail(call, CORRAL_EINVAL, "islo: network policy without egress_json");
        else
            rc = islo_profile_create(p, name, spec->egress_json, &sb->profile_id, &internet, call);
        profile = sb->profile_id;
    } else if (p->gateway_profile && p->gateway_profile[0]) {
        profile = p->gateway_profile;
    }
    if (rc) {
        cJSON_Delete(opts);
        sbx_free(sb);
        return rc;
    }

    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    const char *image = spec->image ? spec->image : p->image;
    if (image && image[0])
        cJSON_AddStringToObject(b, "image", image);
    if (spec->cpus > 0)
        cJSON_AddNumberToObject(b, "vcpus", (double)(int64_t)(spec->cpus + 0.999));
    if (spec->memory_bytes > 0)
        cJSON_AddNumberToObject(b, "memory_mb", (double)((spec->memory_bytes + (1 << 20) - 1) >> 20));
    static const char *const sizes[] = {"vcpus", "memory_mb", "disk_gb"};
    for (size_t i = 0; i < 3; i++) {
        const char *k = sizes[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, k);
        if (cJSON_IsNumber(v)) {
            cJSON_DeleteItemFromObjectCaseSensitive(b, k);
            cJSON_AddNumberToObject(b, k, v->valuedouble);
        }
    }
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(opts, "snapshot_name");
    if (cJSON_IsString(snap))
        cJSON_AddStringToObject(b, "snapshot_name", snap->valuestring);
    if (spec->env && spec->env[0])
        cJSON_AddItemToObject(b, "env", kv_object(spec->env));
    cJSON_AddStringToObject(b, "workdir", sb->workdir);
    if (profile)
        cJSON_AddStringToObject(b, "gateway_profile", profile);
    cJSON_AddBoolToObject(b, "internet_enabled", internet);
    if (spec->ttl_s > 0) {
        cJSON *lc = cJSON_AddObjectToObject(b, "lifecycle");
        cJSON_AddNumberToObject(lc, "delete_after", (double)spec->ttl_s);
    }
    if (p->init && p->init[0]) {
        cJSON *in = cJSON_AddObjectToObject(b, "init");
        cJSON_AddStringToObject(in, "type", p->init);
    }
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON_Delete(opts);

    char path[512];
    sbpath(path, sizeof path, name, NULL);
    int maybe_made = 0; /* an attempt may have created it without us hearing */
    int64_t wait = p->backoff_ms;
    for (int attempt = 1;; attempt++) {
        struct corral_http_response resp;
        struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "POST", .path = "sandboxes", .json = body,
                             .attempts = 1};
        rc = islo_http(p, &r, &resp, call);
        if (rc == 0 && ok2xx(&resp)) {
            struct islo_sandbox_info info;
            if (islo_parse_sandbox(resp.body, resp.body_len, &info) == 0) {
                sb->id = info.id ? strdup(info.id) : NULL;
                islo_sandbox_info_free(&info);
            }
            h->http_response_free(&resp);
            maybe_made = 1;
            break;
        }
        if (rc == 0) {
            rc = islo_fail_http(p, &resp, "create sandbox", call);
            h->http_response_free(&resp);
            if (rc == CORRAL_EEXIST) {
                /* The name is the host's unique id, so an existing sandbox of
                 * that name is ours: an earlier attempt whose answer was lost
                 * (by us, or by libcurl's silent resend on a dead keep-alive
                 * connection).  Adopt it, don't duplicate. */
                h->log(h, CORRAL_LOG_INFO, "islo: %s already exists (lost answer?); adopting it", name);
                struct islo_sandbox_info info;
                int g = get_sandbox(p, name, &info, call);
                if (g == 0) {
                    sb->id = info.id ? strdup(info.id) : NULL;
                    islo_sandbox_info_free(&info);
                    maybe_made = 1;
                    rc = 0;
                } else if (g == CORRAL_ENOTFOUND) {
                    rc = h->fail(call, CORRAL_EEXIST, "islo: the name %s is still reserved by a deleted sandbox",
                                 name);
                } else {
                    rc = g;
                }
                break;
            }
            if (rc != CORRAL_ETRANSIENT)
                break;
        } else {
            h->http_response_free(&resp);
            if (!corral_status_is_transient(rc))
                break;
        }
        maybe_made = 1;
        if (attempt >= p->attempts)
            break;
        h->log(h, CORRAL_LOG_INFO, "islo: create %s: transient failure; retrying (attempt %d of %lld)", name,
               attempt + 1, (long long)p->attempts);
        if (islo_sleep(p, wait, call))
            break;
        wait *= 2;
    }
    free(body);
    if (rc == 0)
        rc = wait_running(p, name, call);
    if (rc == 0 && spec->labels)
        rc = write_labels(sb, spec->labels, call);
    if (rc) {
        /* Leave nothing behind: the sandbox (if it may exist), then the profile. */
        int saved = rc;
        struct cleanup_ctx cu = {p, name};
        if (maybe_made)
            crl_retry_transient(p->host, delete_sandbox_op, &cu, call);
        if (sb->profile_id)
            islo_profile_delete(p, sb->profile_id, call);
        sbx_free(sb);
        return saved;
    }
    *out = sb;
    return 0;
}

static int islo_destroy(corral_sbx *sb, corral_call *call)
{
    int rc = delete_sandbox(sb->p, sb->name, call);
    if (rc == 0 && sb->profile_id) {
        rc = islo_profile_delete(sb->p, sb->profile_id, call);
        if (rc == 0) {
            free(sb->profile_id);
            sb->profile_id = NULL;
        }
    }
    return rc;
}

static void islo_close(corral_sbx *sb)
{
    sbx_free(sb);
}

static char *state_json(corral_sbx *sb)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "backend", "islo");
    cJSON_AddStringToObject(o, "name", sb->name);
    if (sb->id)
        cJSON_AddStringToObject(o, "id", sb->id);
    cJSON_AddStringToObject(o, "workdir", sb->workdir);
    if (sb->user)
        cJSON_AddStringToObject(o, "user", sb->user);
    if (sb->profile_id)
        cJSON_AddStringToObject(o, "owned_gateway_profile", sb->profile_id);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int islo_state(corral_sbx *sb, char **json, corral_call *call)
{
    *json = state_json(sb);
    return *json ? 0 : sb->p->host->fail(call, CORRAL_ENOMEM, "islo: out of memory");
}

static int from_state(struct islo *p, const char *json, corral_sbx **out, corral_call *call)
{
    cJSON *j = cJSON_Parse(json ? json : "");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (!cJSON_IsString(n) || !n->valuestring[0]) {
        cJSON_Delete(j);
        return p->host->fail(call, CORRAL_EINVAL, "islo: state without a sandbox name");
    }
    corral_sbx *sb = calloc(1, sizeof *sb);
    pthread_mutex_init(&sb->lock, NULL);
    sb->p = p;
    sb->name = strdup(n->valuestring);
    const cJSON *v;
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "id")))
        sb->id = strdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "workdir");
    sb->workdir = strdup(cJSON_IsString(v) ? v->valuestring : p->workdir);
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "user")))
        sb->user = strdup(v->valuestring);
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "owned_gateway_profile")))
        sb->profile_id = strdup(v->valuestring);
    cJSON_Delete(j);
    *out = sb;
    return 0;
}

static int resume_and_wait(struct islo *p, const char *name, corral_call *call)
{
    char path[512];
    sbpath(path, sizeof path, name, "/resume");
    struct corral_http_response resp;
    /* resuming twice is resuming once */
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "POST", .path = path,
                         .idempotent = CORRAL_HTTP_IDEMPOTENT};
    int rc = islo_http(p, &r, &resp, call), already = 0;
    if (rc == 0 && invalid_state(&resp)) {
        /* Not paused or stopped (any more): already running or starting
         * is what was asked for (a CLI resume attaches first, and attach
         * resumes); anything else stays the error it is. */
        struct islo_sandbox_info info;
        if (get_sandbox(p, name, &info, call) == 0) {
            already = is_running(info.status) || strcmp(info.status, "starting") == 0;
            islo_sandbox_info_free(&info);
        }
    }
    if (rc == 0 && !ok2xx(&resp) && !already)
        rc = islo_fail_http(p, &resp, "resume", call);
    p->host->http_response_free(&resp);
    return rc ? rc : wait_running(p, name, call);
}

static int islo_attach(void *ps, const char *json, corral_sbx **out, corral_call *call)
{
    struct islo *p = ps;
    const struct corral_host *h = p->host;
    corral_sbx *sb;
    int rc = from_state(p, json, &sb, call);
    if (rc)
        return rc;
    struct islo_sandbox_info info;
    rc = get_sandbox(p, sb->name, &info, call);
    if (rc == 0) {
        if (is_gone(info.status))
            rc = h->fail(call, CORRAL_ENOTFOUND, "islo: sandbox %s is %s", sb->name, info.status);
        else if (is_fatal(info.status))
            rc = h->fail(call, CORRAL_ESTATE, "islo: sandbox %s is %s", sb->name, info.status);
        else if (strcmp(info.status, "paused") == 0 || strcmp(info.status, "stopped") == 0) {
            h->log(h, CORRAL_LOG_INFO, "islo: resuming %s sandbox %s", info.status, sb->name);
            rc = resume_and_wait(p, sb->name, call);
        } else if (!is_running(info.status))
            rc = wait_running(p, sb->name, call);
        islo_sandbox_info_free(&info);
    }
    if (rc == 0) {
        /* Probe: stale metadata answers 404 here. */
        const char *argv[] = {"true", NULL};
        rc = run_argv(sb, argv, call);
    }
    if (rc) {
        sbx_free(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

/* Removes by state (gc).  A state from list() does not know the inline
 * profile (it is not echoed by Islo), so it is found by its name after the
 * sandbox is gone: a corral killed during create leaves both. */
static int islo_remove(void *ps, const char *json, corral_call *call)
{
    struct islo *p = ps;
    corral_sbx *sb;
    int rc = from_state(p, json, &sb, call);
    if (rc)
        return rc;
    if (!sb->profile_id) {
        char pname[160];
        islo_profile_name(pname, sizeof pname, sb->name);
        sb->profile_id = islo_profile_find(p, pname, call);
    }
    rc = islo_destroy(sb, call);
    sbx_free(sb);
    return rc;
}

static int post_simple(corral_sbx *sb, const char *op, corral_call *call)
{
    char path[512];
    sbpath(path, sizeof path, sb->name, op);
    struct corral_http_response resp;
    /* pause and stop are state transitions: twice is once */
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "POST", .path = path,
                         .idempotent = CORRAL_HTTP_IDEMPOTENT};
    int rc = islo_http(sb->p, &r, &resp, call);
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(sb->p, &resp, op + 1, call);
    sb->p->host->http_response_free(&resp);
    return rc;
}

static int islo_pause(corral_sbx *sb, corral_call *call)
{
    return post_simple(sb, "/pause", call);
}

static int islo_resume(corral_sbx *sb, corral_call *call)
{
    return resume_and_wait(sb->p, sb->name, call);
}

static int islo_running(corral_sbx *sb, corral_call *call)
{
    struct islo_sandbox_info info;
    int rc = get_sandbox(sb->p, sb->name, &info, call);
    if (rc == CORRAL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = is_running(info.status);
    islo_sandbox_info_free(&info);
    return rc;
}

/* ---- files ---- */

static int islo_read_file(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call)
{
    char q[1024];
    if (sbpath_q(q, sizeof q, sb->name, "/files", path))
        return sb->p->host->fail(call, CORRAL_EINVAL, "islo: path too long");
    struct corral_http_response resp;
    struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "GET", .path = q, .sink = sink};
    int rc = islo_http(sb->p, &r, &resp, call);
    if (rc == 0 && invalid_state(&resp) && revive(sb, call) == 0) {
        sb->p->host->http_response_free(&resp);
        rc = islo_http(sb->p, &r, &resp, call);
    }
    if (rc == 0 && !ok2xx(&resp))
        rc = islo_fail_http(sb->p, &resp, "read file", call);
    sb->p->host->http_response_free(&resp);
    return rc;
}

static char *parent_of(const char *path)
{
    char *d = strdup(path);
    char *s = strrchr(d, '/');
    if (s == d)
        s[1] = '\0';
    else if (s)
        *s = '\0';
    return d;
}

static int islo_write_file(corral_sbx *sb, const char *path, const struct corral_source *src, uint32_t mode,
                           corral_call *call)
{
    if (!path || path[0] != '/')
        return sb->p->host->fail(call, CORRAL_EINVAL, "islo: write_file needs an absolute path");
    char *dir = parent_of(path);
    const char *mk[] = {"mkdir", "-p", "--", dir, NULL};
    int rc = run_argv(sb, mk, call);
    free(dir);
    if (rc)
        return rc;
    char q[1024];
    if (sbpath_q(q, sizeof q, sb->name, "/files", path))
        return sb->p->host->fail(call, CORRAL_EINVAL, "islo: path too long");
    const char *base = strrchr(path, '/') + 1;
    char fname[256];
    snprintf(fname, sizeof fname, "%s", *base && !strpbrk(base, "\"\r\n") ? base : "file");
    rc = upload(sb->p, q, fname, "application/octet-stream", src, -1, src->length, "write file", call);
    if (rc == 0 && (mode & 07777) != 0644) {
        char m[16];
        snprintf(m, sizeof m, "%o", (unsigned)(mode & 07777));
        const char *ch[] = {"chmod", m, "--", path, NULL};
        rc = run_argv(sb, ch, call);
    }
    return rc;
}

static int islo_put_archive(corral_sbx *sb, const char *dir, const struct corral_source *src, corral_call *call)
{
    struct islo *p = sb->p;
    char tmpl[] = "/tmp/corral-islo-put-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return p->host->fail(call, CORRAL_EIO, "islo: cannot make a spool file");
    unlink(tmpl);
    int rc = islo_tar_to_targz(p, src, fd, call);
    if (rc == 0) {
        const char *mk[] = {"mkdir", "-p", "--", dir, NULL};
        rc = run_argv(sb, mk, call);
    }
    if (rc == 0) {
        off_t len = lseek(fd, 0, SEEK_END);
        lseek(fd, 0, SEEK_SET);
        char q[1024];
        if (sbpath_q(q, sizeof q, sb->name, "/files-archive", dir))
            rc = p->host->fail(call, CORRAL_EINVAL, "islo: path too long");
        else
            rc = upload(p, q, "archive.tar.gz", "application/gzip", NULL, fd, (int64_t)len, "put archive", call);
    }
    close(fd);
    return rc;
}

static int fd_write(void *ud, const void *buf, size_t len)
{
    int fd = *(int *)ud;
    const char *b = buf;
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w <= 0)
            return CORRAL_EIO;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

static int islo_get_archive(corral_sbx *sb, const char *dir, const struct corral_sink *sink, corral_call *call)
{
    struct islo *p = sb->p;
    char tmpl[] = "/tmp/corral-islo-get-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return p->host->fail(call, CORRAL_EIO, "islo: cannot make a spool file");
    unlink(tmpl);
    struct corral_sink spool = {.struct_size = sizeof spool, .write = fd_write, .ud = &fd};
    char q[1024];
    int rc = 0;
    if (sbpath_q(q, sizeof q, sb->name, "/files-archive", dir))
        rc = p->host->fail(call, CORRAL_EINVAL, "islo: path too long");
    if (rc == 0) {
        struct corral_http_response resp;
        struct islo_req r = {.hostsel = ISLO_COMPUTE, .method = "GET", .path = q, .sink = &spool};
        rc = islo_http(p, &r, &resp, call);
        if (rc == 0 && invalid_state(&resp) && revive(sb, call) == 0) {
            p->host->http_response_free(&resp);
            rc = islo_http(p, &r, &resp, call);
        }
        if (rc == 0 && !ok2xx(&resp))
            rc = islo_fail_http(p, &resp, "get archive", call);
        p->host->http_response_free(&resp);
    }
    if (rc == 0)
        rc = islo_targz_to_tar(p, fd, sink, call);
    close(fd);
    return rc;
}

/* ---- list ---- */


static int label_match(const char *const *labels, const char *const *filters)
{
    for (; filters && *filters; filters++) {
        const char *f = *filters, *eq = strchr(f, '=');
        size_t klen = eq ? (size_t)(eq - f) : strlen(f);
        int hit = 0;
        for (const char *const *l = labels; *l && !hit; l++)
            if (strncmp(*l, f, klen) == 0 && (*l)[klen] == '=')
                hit = !eq || strcmp(*l + klen + 1, eq + 1) == 0;
        if (!hit)
            return 0;
    }
    return 1;
}

static int list_one(struct islo *p, const cJSON *item, const char *const *filters, corral_sandbox_list_cb cb,
                    void *ud, corral_call *call)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "name");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(item, "status");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(item, "workdir");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
    if (!cJSON_IsString(n) || !cJSON_IsString(s) || is_gone(s->valuestring))
        return 0;
    /* A borrowed-only handle, never freed: dropping const is safe here. */
    corral_sbx tmp = {.p = p, .name = n->valuestring,
                      .workdir = cJSON_IsString(w) ? w->valuestring : (char *)p->workdir,
                      .id = cJSON_IsString(id) ? id->valuestring : NULL};
    /* Labels from the file inside (readable only while it runs). */
    struct crl_buf_sink b = {.max = 65536};
    cJSON *lj = NULL;
    if (is_running(s->valuestring)) {
        struct corral_sink sink = {.struct_size = sizeof sink, .write = crl_buf_sink_write, .ud = &b};
        if (islo_read_file(&tmp, LABELS_PATH, &sink, call) == 0 && b.buf.p)
            lj = cJSON_Parse(b.buf.p);
    }
    crl_buf_free(&b.buf);
    size_t nl = cJSON_IsObject(lj) ? (size_t)cJSON_GetArraySize(lj) : 0;
    char **labels = calloc(nl + 2, sizeof *labels);
    size_t k = 0;
    int has_id = 0;
    for (const cJSON *e = cJSON_IsObject(lj) ? lj->child : NULL; e; e = e->next)
        if (cJSON_IsString(e)) {
            size_t len = strlen(e->string) + strlen(e->valuestring) + 2;
            labels[k] = malloc(len);
            snprintf(labels[k++], len, "%s=%s", e->string, e->valuestring);
            has_id |= strcmp(e->string, "corral.id") == 0;
        }
    if (!has_id) {
        size_t len = strlen(n->valuestring) + 16;
        labels[k] = malloc(len);
        snprintf(labels[k++], len, "corral.id=%s", n->valuestring);
    }
    cJSON_Delete(lj);
    int rc = 0;
    if (label_match((const char *const *)labels, filters)) {
        const char *cid = n->valuestring;
        for (size_t i = 0; i < k; i++)
            if (strncmp(labels[i], "corral.id=", 10) == 0)
                cid = labels[i] + 10;
        char *st = state_json(&tmp);
        const char *status = is_running(s->valuestring) ? "running"
                             : strcmp(s->valuestring, "paused") == 0 ? "paused"
                             : strcmp(s->valuestring, "stopped") == 0 ? "stopped"
                                                                      : "unknown";
        struct corral_sandbox_info info = {.struct_size = sizeof info, .id = cid, .status = status,
                                           .labels = (const char *const *)labels, .state_json = st};
        rc = cb(ud, &info) ? 1 : 0;
        free(st);
    }
    for (size_t i = 0; i < k; i++)
        free(labels[i]);
    free(labels);
    return rc;
}

static int islo_list_sandboxes(struct islo *p, const char *const *filters, corral_sandbox_list_cb cb, void *ud,
                               struct crl_strv *seen, corral_call *call);

/* Seconds since the epoch of an ISO 8601 UTC time ("2026-12-03T21:00:00Z",
 * fractions ignored), or -1. */
static int64_t iso_utc(const char *s)
{
    struct tm tm = {0};
    const char *e = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    return e ? (int64_t)timegm(&tm) : -1;
}

/* Reports every inline profile ("corral-<name_prefix>...") whose sandbox is
 * not among `seen` as a "dead" sandbox of that name owning it, so that gc
 * removes it (islo_remove: the sandbox is already gone, then the profile).
 * Only profiles older than orphan_profile_grace_s: a create elsewhere makes
 * its profile just before its sandbox (a create on this machine is also
 * protected by its pending registry entry). */
static int list_orphan_profiles(struct islo *p, const struct crl_strv *seen, const char *const *filters,
                                corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    cJSON *j;
    int rc = islo_get_json(p, ISLO_CONTROL, "gateway/profiles", "list gateway profiles", &j, call);
    if (rc)
        return rc;
    char prefix[160];
    islo_profile_name(prefix, sizeof prefix, p->name_prefix);
    int64_t now = (int64_t)time(NULL);
    const cJSON *it;
    int stop = 0;
    cJSON_ArrayForEach(it, j)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(it, "created_at");
        if (!cJSON_IsString(n) || !cJSON_IsString(id) || strncmp(n->valuestring, prefix, strlen(prefix)) != 0)
            continue;
        const char *sbname = n->valuestring + strlen("corral-");
        int found = 0;
        for (const char *const *v = crl_strv_get(seen); v && *v && !found; v++)
            found = strcmp(*v, sbname) == 0;
        int64_t t = iso_utc(cJSON_IsString(at) ? at->valuestring : NULL);
        if (found || t < 0 || now - t < p->orphan_profile_grace_s)
            continue;
        char lid[200];
        snprintf(lid, sizeof lid, "corral.id=%s", sbname);
        const char *labels[] = {lid, NULL};
        if (!label_match(labels, filters))
            continue;
        corral_sbx tmp = {.p = p, .name = (char *)sbname, .workdir = (char *)p->workdir,
                          .profile_id = id->valuestring};
        char *st = state_json(&tmp);
        struct corral_sandbox_info info = {.struct_size = sizeof info, .id = sbname, .status = "dead",
                                           .labels = labels, .state_json = st};
        stop = cb(ud, &info) ? 1 : 0;
        free(st);
        if (stop)
            break;
    }
    cJSON_Delete(j);
    return stop;
}

static int islo_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    struct islo *p = ps;
    struct crl_strv seen = {0};
    int rc = islo_list_sandboxes(p, filters, cb, ud, &seen, call);
    if (rc == 0)
        rc = list_orphan_profiles(p, &seen, filters, cb, ud, call);
    crl_strv_free(&seen);
    return rc < 0 ? rc : 0;
}

/* Lists the sandboxes (every page); the names of all of them, gone or not,
 * go to seen.  Returns 0, 1 when cb stopped, or an error. */
static int islo_list_sandboxes(struct islo *p, const char *const *filters, corral_sandbox_list_cb cb, void *ud,
                               struct crl_strv *seen, corral_call *call)
{
    for (int offset = 0;;) {
        char path[512];
        snprintf(path, sizeof path, "sandboxes?limit=100&offset=%d&name_prefix=", offset);
        corral_url_escape(path, sizeof path, p->name_prefix, NULL);
        cJSON *j;
        int rc = islo_get_json(p, ISLO_COMPUTE, path, "list sandboxes", &j, call);
        if (rc)
            return rc;
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
        if (!cJSON_IsArray(items)) {
            cJSON_Delete(j);
            return p->host->fail(call, CORRAL_EPROTO, "islo: list answered without items");
        }
        int n = cJSON_GetArraySize(items), stop = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *stt = cJSON_GetObjectItemCaseSensitive(it, "status");
            if (cJSON_IsString(nm) && !(cJSON_IsString(stt) && is_gone(stt->valuestring)))
                crl_strv_push(seen, nm->valuestring);
            if ((stop = list_one(p, it, filters, cb, ud, call)) != 0)
                break;
        }
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(j, "total");
        int more = n > 0 && cJSON_IsNumber(total) && offset + n < total->valuedouble;
        cJSON_Delete(j);
        if (stop)
            return stop;
        if (!more)
            return 0;
        offset += n;
    }
}

/* ---- plugin ---- */

/* Length of url without trailing slashes. */
static int unslashed_len(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    return (int)n;
}

/* Releases what islo_init made; the host frees the block itself. */
static void islo_fini(void *ps)
{
    struct islo *p = ps;
    if (p->token) {
        memset(p->token, 0, strlen(p->token));
        free(p->token);
    }
    pthread_mutex_destroy(&p->lock);
}

/* Types, limits and defaults of the options are the host's (bound above);
 * what is left are derived values. */
static int islo_init(const struct corral_host *h, const corral_config *cfg, void *ps, corral_call *call)
{
    (void)cfg, (void)call;
    struct islo *p = ps;
    p->host = h;
    pthread_mutex_init(&p->lock, NULL);
    p->control_len = unslashed_len(p->control_url);
    if (!unslashed_len(p->compute_url))
        p->compute_url = p->control_url;
    p->compute_len = unslashed_len(p->compute_url);
    p->ready_timeout_ms = p->ready_timeout_s * 1000;
    p->profile_delete_timeout_ms = p->profile_delete_timeout_s * 1000;
    return 0;
}

/* A new egress policy for a live sandbox (between a rollout's phases):
 * the gateway profile made for it at create is updated in place (a
 * sandbox's profile is chosen at create only); a configured profile is
 * never changed. */
static int islo_set_egress(corral_sbx *sb, const char *policy_json, corral_call *call)
{
    if (!sb->profile_id)
        return sb->p->host->fail(call, CORRAL_ENOTSUP,
                                 "islo: sandbox %s was not created with an inline egress policy; corral changes "
                                 "only a gateway profile it made",
                                 sb->name);
    return islo_profile_update(sb->p, sb->profile_id, policy_json, call);
}

static const struct corral_sandbox_ops islo_ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PAUSE | CORRAL_CAP_EGRESS_RULES | CORRAL_CAP_PERSISTENT |
            CORRAL_CAP_LIMITS | CORRAL_CAP_TTL,
    .create = islo_create,
    .exec = islo_exec,
    .destroy = islo_destroy,
    .close = islo_close,
    .state = islo_state,
    .attach = islo_attach,
    .read_file = islo_read_file,
    .write_file = islo_write_file,
    .put_archive = islo_put_archive,
    .get_archive = islo_get_archive,
    .pause = islo_pause,
    .resume = islo_resume,
    .running = islo_running,
    .list = islo_list,
    .remove = islo_remove,
    .quiesce = NULL,
    .set_egress = islo_set_egress,
};

static const struct corral_plugin islo_plugin = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "islo",
    .version = "0.1.0",
    .description = "Islo cloud sandboxes (api.islo.dev), with gateway-profile egress policies",
    .options = islo_options,
    .option_size = sizeof(struct corral_option),
    .ops = &islo_ops,
    .init2 = islo_init,
    .fini = islo_fini,
    .state_size = sizeof(struct islo),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    const struct corral_host *h = corral_offer_host(offer, 1);
    if (!h || !CORRAL_HAS(h, http_response_free))
        return NULL;
    return &islo_plugin;
}
