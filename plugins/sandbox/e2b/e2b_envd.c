/*
 * The envd data plane (docs/backends/e2b.md): Connect RPC with the JSON
 * codec over HTTP/1.1, the process stream parsed incrementally from the
 * host's body_sink, and the /files upload/download endpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect_stream.h"
#include "e2b.h"

char **e2b_envd_headers(corral_sbx *s, const char *content_type, const char *user, int64_t timeout_ms)
{
    char **v = calloc(10, sizeof *v);
    int n = 0;
    if (!v)
        return NULL;
    v[n++] = e2b_xasprintf("E2b-Sandbox-Id: %s", s->sandbox_id);
    v[n++] = e2b_xasprintf("E2b-Sandbox-Port: 49983");
    if (s->token)
        v[n++] = e2b_xasprintf("X-Access-Token: %s", s->token);
    if (content_type) {
        v[n++] = e2b_xasprintf("Content-Type: %s", content_type);
        v[n++] = e2b_xasprintf("Connect-Protocol-Version: 1");
    }
    if (user) {
        char *cred = e2b_xasprintf("%s:", user);
        char *b = cred ? crl_b64_encode(cred, strlen(cred)) : NULL;
        v[n++] = b ? e2b_xasprintf("Authorization: Basic %s", b) : NULL;
        free(cred);
        free(b);
    }
    if (timeout_ms > 0)
        v[n++] = e2b_xasprintf("Connect-Timeout-Ms: %lld", (long long)timeout_ms);
    for (int i = 0; i < n; i++)
        if (!v[i]) {
            for (int j = 0; j < n; j++)
                crl_wipe_free(v[j]);
            free(v);
            return NULL;
        }
    return v;
}

static char *envd_url(corral_sbx *s, const char *path)
{
    return e2b_xasprintf("%s%s", s->envd_base, path);
}

/* Classify an envd failure answered with an HTTP status. */
static int envd_http_error(corral_sbx *s, long status, const char *body, const char *what, corral_call *call)
{
    const struct corral_host *h = s->p->host;
    cJSON *e = cJSON_Parse(body ? body : "");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    int rc;
    if (status == 502)
        rc = CORRAL_ENOTFOUND; /* the proxy: sandbox gone, expired or paused */
    else if (cJSON_IsString(code) && strcmp(code->valuestring, "not_found") == 0)
        rc = CORRAL_ENOTFOUND;
    else if (cJSON_IsString(code) && strcmp(code->valuestring, "already_exists") == 0)
        rc = CORRAL_EEXIST;
    else
        rc = e2b_api_classify(status);
    rc = h->fail(call, rc, "e2b: %s in sandbox %s: HTTP %ld: %.300s", what, s->sandbox_id, status,
                 cJSON_IsString(msg) ? msg->valuestring : (body ? body : ""));
    cJSON_Delete(e);
    return rc;
}

/* Whether a second run of the unary rpc changes nothing, so the host may
 * re-send it after a reset or a 503: MakeDir (a second one answers
 * "already exists", which callers take as success) and the reads. */
static int unary_idempotent(const char *rpc)
{
    static const char *const safe[] = {"filesystem.Filesystem/MakeDir", "filesystem.Filesystem/Stat",
                                       "filesystem.Filesystem/ListDir", NULL};
    for (const char *const *r = safe; *r; r++)
        if (strcmp(rpc, *r) == 0)
            return 1;
    return 0;
}

int e2b_envd_unary(corral_sbx *s, const char *rpc, const cJSON *reqj, cJSON **out, corral_call *call)
{
    const struct corral_host *h = s->p->host;
    if (out)
        *out = NULL;
    char *path = e2b_xasprintf("/%s", rpc);
    char *url = path ? envd_url(s, path) : NULL;
    char *text = cJSON_PrintUnformatted(reqj);
    char **hdrs = e2b_envd_headers(s, "application/json", s->user, 0);
    int rc;
    if (!url || !text || !hdrs) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "POST", .url = url, .headers = (const char *const *)hdrs,
        .body = text, .body_len = strlen(text), .timeout_ms = s->p->request_timeout_ms,
        .max_attempts = s->p->max_attempts, .backoff_ms = s->p->backoff_ms,
        .idempotent = unary_idempotent(rpc) ? CORRAL_HTTP_IDEMPOTENT : CORRAL_HTTP_BY_METHOD};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    rc = h->http(&req, &resp, call);
    if (rc == 0 && resp.status != 200)
        rc = envd_http_error(s, resp.status, resp.body, rpc, call);
    else if (rc == 0 && out) {
        *out = cJSON_Parse(resp.body_len ? resp.body : "{}");
        if (!*out)
            rc = h->fail(call, CORRAL_EPROTO, "e2b: %s: unparseable answer", rpc);
    }
    h->http_response_free(&resp);
out:
    free(path);
    free(url);
    free(text);
    crl_strv_wipe_array(hdrs);
    return rc;
}

/* ---- process streams ---- */

struct stream_ctx {
    struct cs_parser cs;
    struct proc_events *ev;
    unsigned char *dec;   /* base64 decode scratch */
    size_t dec_cap;
};

static int emit(struct stream_ctx *c, const struct corral_sink *sink, const cJSON *item)
{
    if (!cJSON_IsString(item))
        return CORRAL_EPROTO;
    size_t n = strlen(item->valuestring);
    if (n / 4 * 3 + 3 > c->dec_cap) {
        unsigned char *d = realloc(c->dec, n / 4 * 3 + 3);
        if (!d)
            return CORRAL_ENOMEM;
        c->dec = d;
        c->dec_cap = n / 4 * 3 + 3;
    }
    long m = crl_b64_decode(item->valuestring, n, c->dec);
    if (m < 0)
        return CORRAL_EPROTO;
    if (sink && m > 0)
        return sink->write(sink->ud, c->dec, (size_t)m);
    return 0;
}

static void copy_str(char *dst, size_t cap, const cJSON *v)
{
    snprintf(dst, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static int on_msg(void *ud, unsigned flags, const char *payload, size_t len)
{
    (void)len;
    struct stream_ctx *c = ud;
    struct proc_events *ev = c->ev;
    cJSON *m = cJSON_Parse(payload);
    if (!m)
        return CORRAL_EPROTO;
    int rc = 0;
    if (flags & CS_FLAG_END) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(m, "error");
        if (err) {
            copy_str(ev->rpc_error_code, sizeof ev->rpc_error_code, cJSON_GetObjectItemCaseSensitive(err, "code"));
            copy_str(ev->rpc_error_msg, sizeof ev->rpc_error_msg, cJSON_GetObjectItemCaseSensitive(err, "message"));
            if (!ev->rpc_error_code[0])
                snprintf(ev->rpc_error_code, sizeof ev->rpc_error_code, "unknown");
        }
        cJSON_Delete(m);
        return 0;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "event");
    const cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(e, "start"))) {
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(x, "pid");
        ev->pid = cJSON_IsNumber(pid) ? (int64_t)pid->valuedouble : 0;
        ev->started = 1;
        if (ev->stop_after_start)
            rc = CORRAL_ECANCELED; /* detach: envd keeps the process running */
    } else if ((x = cJSON_GetObjectItemCaseSensitive(e, "data"))) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(x, "stdout");
        const cJSON *er = cJSON_GetObjectItemCaseSensitive(x, "stderr");
        if (o)
            rc = emit(c, ev->out, o);
        else if (er)
            rc = emit(c, ev->err, er);
    } else if ((x = cJSON_GetObjectItemCaseSensitive(e, "end"))) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(x, "exitCode");
        ev->exit_code = cJSON_IsNumber(code) ? code->valueint : 0;
        ev->exited = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "exited"));
        copy_str(ev->status, sizeof ev->status, cJSON_GetObjectItemCaseSensitive(x, "status"));
        ev->ended = 1;
    } /* keepalive and unknown events are ignored */
    cJSON_Delete(m);
    return rc;
}

static int on_body(void *ud, const void *buf, size_t len)
{
    struct stream_ctx *c = ud;
    return e2b_cs_feed(&c->cs, buf, len, on_msg, c);
}

int e2b_envd_start(corral_sbx *s, const char *const *argv, const char *const *env, const char *cwd,
               const char *user, int64_t timeout_ms, int64_t http_timeout_ms, struct proc_events *ev,
               corral_call *call)
{
    const struct corral_host *h = s->p->host;
    cJSON *r = cJSON_CreateObject(), *proc = cJSON_AddObjectToObject(r, "process");
    cJSON_AddStringToObject(proc, "cmd", argv[0]);
    cJSON *args = cJSON_AddArrayToObject(proc, "args");
    for (size_t i = 1; argv[i]; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
    if (env && env[0]) {
        cJSON *envs = cJSON_AddObjectToObject(proc, "envs");
        for (size_t i = 0; env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (!eq)
                continue;
            char *k = strndup(env[i], (size_t)(eq - env[i]));
            if (k) {
                cJSON_DeleteItemFromObjectCaseSensitive(envs, k);
                cJSON_AddStringToObject(envs, k, eq + 1);
            }
            free(k);
        }
    }
    if (cwd)
        cJSON_AddStringToObject(proc, "cwd", cwd);
    cJSON_AddBoolToObject(r, "stdin", 0);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    char *url = envd_url(s, "/process.Process/Start");
    char **hdrs = e2b_envd_headers(s, "application/connect+json", user, timeout_ms);
    struct crl_buf body = {0};
    int rc = 0;
    if (!text || !url || !hdrs) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    size_t n = strlen(text);
    unsigned char hdr[5] = {0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                            (unsigned char)n};
    if (crl_buf_add(&body, hdr, 5) || crl_buf_add(&body, text, n)) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    /* Only an HTTP error answer proves the process did not start; a reset
     * may come after envd started it, so transport failures are not
     * retried here (that would run the command twice). */
    for (int attempt = 1;; attempt++) {
        struct stream_ctx c = {.ev = ev};
        e2b_cs_init(&c.cs, 0);
        struct corral_sink sink = {.struct_size = sizeof sink, .write = on_body, .ud = &c};
        struct corral_http_request req = {
            .struct_size = sizeof req, .method = "POST", .url = url, .headers = (const char *const *)hdrs,
            .body = body.p, .body_len = body.len, .timeout_ms = http_timeout_ms, .max_attempts = 1,
            .body_sink = &sink};
        struct corral_http_response resp = {.struct_size = sizeof resp};
        rc = h->http(&req, &resp, call);
        if (rc == CORRAL_ECANCELED && ev->stop_after_start && ev->started) {
            rc = 0; /* we detached on purpose */
        } else if (rc == 0 && resp.status != 200) {
            /* As the host's rule for POSTs: only 429 and 503 are refusals
             * before processing; a 500 or 504 may come after a start. */
            int transient = resp.status == 429 || resp.status == 503;
            if (transient && attempt < s->p->max_attempts && !h->cancelled(call)) {
                h->http_response_free(&resp);
                e2b_cs_free(&c.cs);
                free(c.dec);
                continue;
            }
            rc = envd_http_error(s, resp.status, resp.body, "process start", call);
        } else if (rc == 0 && e2b_cs_finish(&c.cs) != 0) {
            rc = h->fail(call, CORRAL_ETRANSIENT, "e2b: process stream in sandbox %s ended without its "
                                                  "end-of-stream message", s->sandbox_id);
        }
        h->http_response_free(&resp);
        e2b_cs_free(&c.cs);
        free(c.dec);
        break;
    }
out:
    free(text);
    free(url);
    crl_strv_wipe_array(hdrs);
    crl_buf_free(&body);
    return rc;
}

int e2b_envd_run(corral_sbx *s, const char *const *argv, char **out, int *exit_code, corral_call *call)
{
    struct crl_buf_sink o = {.max = 1u << 20};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = crl_buf_sink_write, .ud = &o};
    struct proc_events ev = {.out = &sink};
    int rc = e2b_envd_start(s, argv, NULL, NULL, s->user, 30000, 35000, &ev, call);
    if (rc == 0 && ev.rpc_error_code[0])
        rc = s->p->host->fail(call, CORRAL_EIO, "e2b: helper command failed in sandbox %s: %s: %s", s->sandbox_id,
                            ev.rpc_error_code, ev.rpc_error_msg);
    if (rc == 0 && !ev.ended)
        rc = s->p->host->fail(call, CORRAL_EPROTO, "e2b: helper command in sandbox %s has no end event",
                            s->sandbox_id);
    if (exit_code)
        *exit_code = ev.exit_code;
    if (out && rc == 0) {
        *out = o.buf.p ? o.buf.p : strdup("");
        o.buf.p = NULL;
    }
    crl_buf_free(&o.buf);
    return rc;
}

static char *files_url(corral_sbx *s, const char *path)
{
    char *enc = e2b_url_encode(path);
    char *user = s->user ? e2b_url_encode(s->user) : NULL;
    char *url = NULL;
    if (enc)
        url = user ? e2b_xasprintf("%s/files?path=%s&username=%s", s->envd_base, enc, user)
                   : e2b_xasprintf("%s/files?path=%s", s->envd_base, enc);
    free(enc);
    free(user);
    return url;
}

int e2b_envd_download(corral_sbx *s, const char *path, const struct corral_sink *sink, long *status,
                  corral_call *call)
{
    const struct corral_host *h = s->p->host;
    char *url = files_url(s, path);
    char **hdrs = e2b_envd_headers(s, NULL, NULL, 0);
    int rc;
    if (!url || !hdrs) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    } else {
        struct corral_http_request req = {
            .struct_size = sizeof req, .method = "GET", .url = url, .headers = (const char *const *)hdrs,
            .max_attempts = s->p->max_attempts, .backoff_ms = s->p->backoff_ms, .body_sink = sink};
        struct corral_http_response resp = {.struct_size = sizeof resp};
        rc = h->http(&req, &resp, call);
        if (status)
            *status = resp.status;
        if (rc == 0 && resp.status != 200)
            rc = envd_http_error(s, resp.status, resp.body, "download", call);
        h->http_response_free(&resp);
    }
    free(url);
    crl_strv_wipe_array(hdrs);
    return rc;
}

/* A source that wraps another between a multipart prefix and suffix. */
struct mp_src {
    const char *pre, *post;
    size_t pre_len, post_len, off;
    const struct corral_source *inner;
    const unsigned char *data;
    size_t data_len;
    int stage;
};

/* Start the body again (corral_source.rewind): always possible for a
 * memory middle, else only when the inner source rewinds. */
static int mp_rewind(void *ud)
{
    struct mp_src *m = ud;
    if (m->inner && !(CORRAL_HAS_FIELD(m->inner, rewind) && m->inner->rewind &&
                      m->inner->rewind(m->inner->ud) == 0))
        return CORRAL_EIO;
    m->stage = 0;
    m->off = 0;
    return 0;
}

static long mp_read(void *ud, void *out, size_t cap)
{
    struct mp_src *m = ud;
    for (;;) {
        const void *src = NULL;
        size_t avail = 0;
        if (m->stage == 0) {
            src = m->pre + m->off;
            avail = m->pre_len - m->off;
        } else if (m->stage == 1 && !m->inner) {
            src = m->data + m->off;
            avail = m->data_len - m->off;
        } else if (m->stage == 1) {
            long r = m->inner->read(m->inner->ud, out, cap);
            if (r != 0)
                return r;
            m->stage++;
            m->off = 0;
            continue;
        } else if (m->stage == 2) {
            src = m->post + m->off;
            avail = m->post_len - m->off;
        } else {
            return 0;
        }
        if (avail == 0) {
            m->stage++;
            m->off = 0;
            continue;
        }
        size_t n = avail < cap ? avail : cap;
        memcpy(out, src, n);
        m->off += n;
        return (long)n;
    }
}

int e2b_envd_upload(corral_sbx *s, const char *path, const struct corral_source *src, const void *data, size_t len,
                corral_call *call)
{
    const struct corral_host *h = s->p->host;
    char *bnd = e2b_random_hex(16);
    char *ctype = bnd ? e2b_xasprintf("multipart/form-data; boundary=corral%s", bnd) : NULL;
    /* The part's filename is ignored when the path query is given (envd
     * uses it as a full path otherwise); send the path in both. */
    char *pre = bnd ? e2b_xasprintf("--corral%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                                "Content-Type: application/octet-stream\r\n\r\n", bnd, path) : NULL;
    char *post = bnd ? e2b_xasprintf("\r\n--corral%s--\r\n", bnd) : NULL;
    char *url = files_url(s, path);
    char **hdrs = e2b_envd_headers(s, NULL, NULL, 0);
    char *ct_hdr = ctype ? e2b_xasprintf("Content-Type: %s", ctype) : NULL;
    char **all = NULL;
    int rc;
    if (!pre || !post || !url || !hdrs || !ct_hdr) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    size_t n = 0;
    while (hdrs[n])
        n++;
    all = calloc(n + 2, sizeof *all);
    if (!all) {
        rc = h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
        goto out;
    }
    memcpy(all, hdrs, n * sizeof *all);
    all[n] = ct_hdr;
    struct mp_src m = {.pre = pre, .post = post, .pre_len = strlen(pre), .post_len = strlen(post),
                       .inner = src, .data = data, .data_len = len};
    int64_t total = -1;
    if (!src)
        total = (int64_t)(m.pre_len + len + m.post_len);
    else if (src->length >= 0)
        total = (int64_t)(m.pre_len + (size_t)src->length + m.post_len);
    struct corral_source body = {.struct_size = sizeof body, .read = mp_read, .ud = &m, .length = total,
                                 .rewind = mp_rewind};
    /* Writing the same file again does no more than once: the host resends
     * it when the connection drops or envd answers 503. */
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "POST", .url = url, .headers = (const char *const *)all,
        .body_source = &body, .max_attempts = s->p->max_attempts, .backoff_ms = s->p->backoff_ms,
        .idempotent = CORRAL_HTTP_IDEMPOTENT};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    rc = h->http(&req, &resp, call);
    if (rc == 0 && resp.status != 200)
        rc = envd_http_error(s, resp.status, resp.body, "upload", call);
    h->http_response_free(&resp);
out:
    free(all);
    free(bnd);
    free(ctype);
    free(pre);
    free(post);
    free(url);
    free(ct_hdr);
    crl_strv_wipe_array(hdrs);
    return rc;
}
