/*
 * sandbox_hf: corral's backend for Hugging Face sandboxes: an HF Job that
 * runs the hf-sandbox server, reached through the Jobs proxy
 * (docs/backends/hf.md).
 *
 * - The job carries the label corral.id, so a create whose answer was lost
 *   finds its job instead of starting a second one, and a create that fails
 *   after the job exists cancels it: no orphan jobs.
 * - The sandbox token (X-Sandbox-Token) is HMAC-SHA256(HF token, corral id):
 *   attach re-derives it, so the state JSON holds no secret.
 * - The server's /exec has no env and kills only its direct child on
 *   timeout: env and stdin are staged as files (never in any argv) and a
 *   limited command runs under coreutils `timeout`, which kills its group.
 * - The spec's env goes into the job's secrets (values may be secrets).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <corral/sandbox.h>

#include "crl_common.h"
#include "hf.h"

/* Plugin state, allocated by the host (ABI 1.1 state_size).  The bound
 * options are filled and range-checked by the host before hf_init and
 * borrowed from it until fini. */
struct hf {
    const struct corral_host *host;
    /* bound options */
    const char *endpoint, *ns, *token_env, *image, *flavor, *url_tmpl, *workdir, *server_api;
    const char *const *server_cmd;
    int allow_net_none;
    int64_t timeout_s, ready_timeout_s, poll_ms, attempts, backoff_ms, request_timeout_ms;
    /* derived by hf_init */
    size_t endpoint_len; /* without trailing slashes */
    int64_t ready_timeout_ms;
    int v1; /* server_api "v1": huggingface/sandbox-server instead of hf-sandbox 0.1 */
};

struct corral_sbx {
    struct hf *p;
    char *job_id, *id, *url, *workdir;
    pthread_mutex_t lock;      /* guards prev_out/prev_err, dir_made (execs may run concurrently) */
    char *prev_out, *prev_err; /* output files of a finished exec, removed by the next */
    int dir_made;              /* CRL_EXEC_DIR was made by this handle (a hint: a command may remove it) */
};

#define AT(field) offsetof(struct hf, field)
#define BOUND CORRAL_OPT_BIND
#define AT_LEAST (CORRAL_OPT_BIND | CORRAL_OPT_MIN) /* with the minimum after the offset */
static const struct corral_option hf_options[] = {
    {"endpoint", CORRAL_OPT_STRING, AT_LEAST, "\"https://huggingface.co\"", "Hugging Face Hub endpoint (Jobs API)",
     AT(endpoint), 1, 0},
    {"namespace", CORRAL_OPT_STRING, BOUND, NULL, "user or organisation that runs the jobs (required to create)",
     AT(ns), 0, 0},
    {"token_env", CORRAL_OPT_STRING, CORRAL_OPT_SECRET_ENV | AT_LEAST, "\"HF_TOKEN\"",
     "environment variable holding the Hugging Face token", AT(token_env), 1, 0},
    {"image", CORRAL_OPT_STRING, AT_LEAST, "\"python:3.12\"", "default Docker image (or hf.co/spaces/<id>)",
     AT(image), 1, 0},
    {"flavor", CORRAL_OPT_STRING, AT_LEAST, "\"cpu-basic\"", "hardware flavor", AT(flavor), 1, 0},
    {"sandbox_url", CORRAL_OPT_STRING, AT_LEAST, "\"https://{job_id}--8000.hf.jobs\"",
     "URL of a job's sandbox server; {job_id} is replaced", AT(url_tmpl), 1, 0},
    {"server_command", CORRAL_OPT_STRINGS, AT_LEAST,
     "[\"bash\", \"-c\", \"pip install -q hf-sandbox && exec python -m hf_sandbox.server --host 0.0.0.0 --port 8000\"]",
     "the job's command: starts the sandbox server on port 8000", AT(server_cmd), 1, 0},
    {"server_api", CORRAL_OPT_STRING, BOUND, "\"v0\"",
     "sandbox server protocol: v0 (hf-sandbox 0.1 JSON RPC) or v1 (sandbox-server: NDJSON /v1/exec, raw files)",
     AT(server_api), 0, 0},
    {"workdir", CORRAL_OPT_STRING, AT_LEAST, "\"/workspace\"", "default working directory (created at start)",
     AT(workdir), 1, 0},
    {"allow_network_none", CORRAL_OPT_BOOL, BOUND, "false",
     "HF jobs always have internet access: accept sandboxes asked for without network anyway", AT(allow_net_none), 0,
     0},
    {"timeout_s", CORRAL_OPT_INT, BOUND, "3600", "job timeout when the spec gives no ttl", AT(timeout_s), 0, 0},
    {"ready_timeout_s", CORRAL_OPT_INT, BOUND, "300", "how long create waits for the sandbox server",
     AT(ready_timeout_s), 0, 0},
    {"poll_interval_ms", CORRAL_OPT_INT, AT_LEAST, "1000", "readiness polling interval", AT(poll_ms), 10, 0},
    {"http_attempts", CORRAL_OPT_INT, AT_LEAST, "3", "attempts per request on transient failures", AT(attempts), 1, 0},
    {"backoff_ms", CORRAL_OPT_INT, AT_LEAST, "500", "first retry backoff (doubled per retry)", AT(backoff_ms), 1, 0},
    {"request_timeout_ms", CORRAL_OPT_INT, BOUND, "60000", "limit of one HTTP request (exec adds its own timeout)",
     AT(request_timeout_ms), 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0}};

/* ---- helpers ---- */

static int ok2xx(long s)
{
    return s >= 200 && s < 300;
}

static int hf_sleep(struct hf *p, int64_t ms, corral_call *call)
{
    const struct corral_host *h = p->host;
    int64_t end = h->now_ms() + ms;
    for (int64_t left; (left = end - h->now_ms()) > 0;) {
        if (h->cancelled(call))
            return h->fail(call, CORRAL_ECANCELED, "hf: cancelled");
        if (h->remaining_ms(call) <= left)
            return h->fail(call, CORRAL_ETIMEDOUT, "hf: the call's deadline passed while waiting");
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int fail_http(struct hf *p, const struct corral_http_response *r, const char *what, corral_call *call)
{
    char msg[200] = "";
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "detail");
    if (cJSON_IsString(e))
        snprintf(msg, sizeof msg, ": %s", e->valuestring);
    else if (cJSON_IsString(d))
        snprintf(msg, sizeof msg, ": %s", d->valuestring);
    cJSON_Delete(j);
    return p->host->fail(call, corral_status_from_http(r->status), "hf: %s: HTTP %ld%s", what, r->status, msg);
}

static char *bearer(struct hf *p, corral_call *call, int *rc)
{
    char *tok = NULL;
    *rc = p->host->secret(p->token_env, &tok, call);
    if (*rc)
        return NULL;
    char *h = crl_bearer_header(tok);
    crl_wipe_free(tok);
    if (!h)
        *rc = p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
    return h;
}

/* A request to the Hub. */
static int hub(struct hf *p, const char *method, const char *path, const char *json, int attempts,
               struct corral_http_response *resp, corral_call *call)
{
    memset(resp, 0, sizeof *resp);
    resp->struct_size = sizeof *resp;
    int rc;
    char *auth = bearer(p, call, &rc);
    if (!auth)
        return rc;
    char url[2048];
    snprintf(url, sizeof url, "%.*s%s", (int)p->endpoint_len, p->endpoint, path);
    const char *hdrs[] = {auth, "Content-Type: application/json", "Accept: application/json", NULL};
    struct corral_http_request req = {.struct_size = sizeof req, .method = method, .url = url, .headers = hdrs,
                                      .body = json, .body_len = json ? strlen(json) : 0,
                                      .timeout_ms = p->request_timeout_ms,
                                      .max_attempts = attempts ? attempts : (int)p->attempts,
                                      .backoff_ms = p->backoff_ms,
                                      /* cancelling twice is cancelling once */
                                      .idempotent = strstr(path, "/cancel") ? CORRAL_HTTP_IDEMPOTENT
                                                                            : CORRAL_HTTP_BY_METHOD};
    rc = p->host->http(&req, resp, call);
    crl_wipe_free(auth);
    return rc;
}

static void derive_token(struct hf *p, const char *id, char out[65], corral_call *call, int *rc)
{
    char *tok = NULL;
    *rc = p->host->secret(p->token_env, &tok, call);
    if (*rc)
        return;
    unsigned char mac[32];
    unsigned int n = 0;
    char msg[256];
    snprintf(msg, sizeof msg, "corral-hf-sandbox:%s", id);
    HMAC(EVP_sha256(), tok, (int)strlen(tok), (const unsigned char *)msg, strlen(msg), mac, &n);
    crl_wipe_free(tok);
    for (unsigned i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", mac[i]);
}

/* A request to the job's sandbox server (through the Jobs proxy). */
static int sbx_http(corral_sbx *sb, const char *method, const char *path, const char *json, const void *raw,
                    size_t raw_len, const struct corral_sink *sink, int64_t timeout_ms,
                    struct corral_http_response *resp, corral_call *call);

static int sbx_req(corral_sbx *sb, const char *method, const char *path, const char *json, int64_t timeout_ms,
                   struct corral_http_response *resp, corral_call *call)
{
    return sbx_http(sb, method, path, json, NULL, 0, NULL, timeout_ms, resp, call);
}

/* A request to the job's sandbox server: a JSON body, or raw bytes, and an
 * optional sink for a 2xx body. */
static int sbx_http(corral_sbx *sb, const char *method, const char *path, const char *json, const void *raw,
                    size_t raw_len, const struct corral_sink *sink, int64_t timeout_ms,
                    struct corral_http_response *resp, corral_call *call)
{
    struct hf *p = sb->p;
    memset(resp, 0, sizeof *resp);
    resp->struct_size = sizeof *resp;
    int rc;
    char tok[65], xs[96];
    derive_token(p, sb->id, tok, call, &rc);
    if (rc)
        return rc;
    snprintf(xs, sizeof xs, "X-Sandbox-Token: %s", tok);
    char *auth = bearer(p, call, &rc);
    if (!auth)
        return rc;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", sb->url, path);
    const char *hdrs[] = {auth, xs, raw ? "Content-Type: application/octet-stream" : "Content-Type: application/json",
                          NULL};
    struct corral_http_request req = {.struct_size = sizeof req, .method = method, .url = url, .headers = hdrs,
                                      .body = raw ? raw : json, .body_len = raw ? raw_len : json ? strlen(json) : 0,
                                      .body_sink = sink,
                                      .timeout_ms = timeout_ms ? timeout_ms : p->request_timeout_ms,
                                      /* The host resends only what is safe: by method,
                                       * and /read, /write (POSTs) do no more twice. */
                                      .max_attempts = (int)p->attempts, .backoff_ms = p->backoff_ms,
                                      .idempotent = strcmp(path, "/read") == 0 || strcmp(path, "/write") == 0
                                                        ? CORRAL_HTTP_IDEMPOTENT
                                                        : CORRAL_HTTP_BY_METHOD};
    rc = p->host->http(&req, resp, call);
    memset(xs, 0, sizeof xs);
    memset(tok, 0, sizeof tok);
    crl_wipe_free(auth);
    return rc;
}

static char *make_url(struct hf *p, const char *job_id)
{
    const char *at = strstr(p->url_tmpl, "{job_id}");
    size_t n = strlen(p->url_tmpl) + strlen(job_id) + 1;
    char *u = malloc(n);
    if (at)
        snprintf(u, n, "%.*s%s%s", (int)(at - p->url_tmpl), p->url_tmpl, job_id, at + 8);
    else
        snprintf(u, n, "%s", p->url_tmpl);
    for (size_t l = strlen(u); l && u[l - 1] == '/'; l--)
        u[l - 1] = '\0';
    return u;
}

static corral_sbx *sbx_new(struct hf *p, const char *job_id, const char *id, const char *workdir)
{
    corral_sbx *sb = calloc(1, sizeof *sb);
    pthread_mutex_init(&sb->lock, NULL);
    sb->p = p;
    sb->job_id = strdup(job_id);
    sb->id = strdup(id);
    sb->url = make_url(p, job_id);
    sb->workdir = strdup(workdir ? workdir : p->workdir);
    return sb;
}

static void sbx_free(corral_sbx *sb)
{
    if (!sb)
        return;
    free(sb->job_id);
    free(sb->id);
    free(sb->url);
    free(sb->workdir);
    free(sb->prev_out);
    free(sb->prev_err);
    pthread_mutex_destroy(&sb->lock);
    free(sb);
}

static int job_path(struct hf *p, char *buf, size_t n, const char *job_id, const char *op)
{
    return snprintf(buf, n, "/api/jobs/%s%s%s%s", p->ns, job_id ? "/" : "", job_id ? job_id : "", op ? op : "") <
                   (int)n
               ? 0
               : -1;
}

static int cancel_job(struct hf *p, const char *job_id, corral_call *call)
{
    char path[512];
    job_path(p, path, sizeof path, job_id, "/cancel");
    struct corral_http_response r;
    int rc = hub(p, "POST", path, NULL, 0, &r, call);
    if (rc == 0 && !ok2xx(r.status) && r.status != 404)
        rc = fail_http(p, &r, "cancel job", call);
    p->host->http_response_free(&r);
    return rc;
}

static int inspect(struct hf *p, const char *job_id, struct hf_job *job, corral_call *call)
{
    char path[512];
    job_path(p, path, sizeof path, job_id, NULL);
    struct corral_http_response r;
    int rc = hub(p, "GET", path, NULL, 0, &r, call);
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(p, &r, "inspect job", call);
    else if (rc == 0 && hf_parse_job(r.body, r.body_len, NULL, job))
        rc = p->host->fail(call, CORRAL_EPROTO, "hf: unparseable JobInfo");
    p->host->http_response_free(&r);
    return rc;
}

static int has_label(char **labels, const char *kv)
{
    for (; labels && *labels; labels++)
        if (strcmp(*labels, kv) == 0)
            return 1;
    return 0;
}

static int label_match(char **labels, const char *const *filters)
{
    for (; filters && *filters; filters++) {
        const char *f = *filters, *eq = strchr(f, '=');
        size_t k = eq ? (size_t)(eq - f) : strlen(f);
        int hit = 0;
        for (char **l = labels; l && *l && !hit; l++)
            if (strncmp(*l, f, k) == 0 && (*l)[k] == '=')
                hit = !eq || strcmp(*l + k + 1, eq + 1) == 0;
        if (!hit)
            return 0;
    }
    return 1;
}

/* Running jobs of the namespace; calls fn for each (stop when it returns non-zero). */
static int each_job(struct hf *p, int (*fn)(void *, const struct hf_job *), void *ud, corral_call *call)
{
    char path[512];
    job_path(p, path, sizeof path, NULL, NULL);
    struct corral_http_response r;
    int rc = hub(p, "GET", path, NULL, 0, &r, call);
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(p, &r, "list jobs", call);
    cJSON *arr = rc == 0 ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
    p->host->http_response_free(&r);
    if (rc)
        return rc;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return p->host->fail(call, CORRAL_EPROTO, "hf: list jobs did not answer an array");
    }
    const cJSON *it;
    int stop = 0;
    cJSON_ArrayForEach(it, arr)
    {
        struct hf_job j;
        if (hf_parse_job(NULL, 0, it, &j))
            continue;
        if (!hf_stage_done(j.stage))
            stop = fn(ud, &j);
        hf_job_free(&j);
        if (stop)
            break;
    }
    cJSON_Delete(arr);
    return stop < 0 ? stop : 0;
}

struct find {
    char kv[160];
    char *job_id;
};

static int find_cb(void *ud, const struct hf_job *j)
{
    struct find *f = ud;
    if (has_label(j->labels, f->kv)) {
        f->job_id = strdup(j->id);
        return 1;
    }
    return 0;
}

/* The running job labelled corral.id=<id>, or NULL; *rc says whether the
 * list answered (a NULL with *rc != 0 tells nothing). */
static char *find_job(struct hf *p, const char *id, corral_call *call, int *rc)
{
    struct find f = {0};
    snprintf(f.kv, sizeof f.kv, "corral.id=%s", id);
    *rc = each_job(p, find_cb, &f, call);
    return f.job_id;
}

struct dup {
    char kv[160];
    const char *keep;
    char *ids[16];
    int n;
};

static int dup_cb(void *ud, const struct hf_job *j)
{
    struct dup *d = ud;
    if (has_label(j->labels, d->kv) && strcmp(j->id, d->keep) != 0 && d->n < 16)
        d->ids[d->n++] = strdup(j->id);
    return 0;
}

/* libcurl silently resends a request whose reused connection died before
 * any answer, so one create can start two jobs: cancel all but ours. */
static void cancel_duplicates(struct hf *p, const char *id, const char *keep, corral_call *call)
{
    struct dup d = {.keep = keep};
    snprintf(d.kv, sizeof d.kv, "corral.id=%s", id);
    each_job(p, dup_cb, &d, call);
    for (int i = 0; i < d.n; i++) {
        p->host->log(p->host, CORRAL_LOG_INFO, "hf: cancelling duplicate job %s of %s", d.ids[i], id);
        cancel_job(p, d.ids[i], call);
        free(d.ids[i]);
    }
}

/* Wait until the job runs and its server answers /health. */
static int wait_ready(corral_sbx *sb, corral_call *call)
{
    struct hf *p = sb->p;
    const struct corral_host *h = p->host;
    int64_t end = h->now_ms() + p->ready_timeout_ms, wait = 50;
    /* Leave part of the call's time for cleanup (cancelling the job). */
    int64_t left = h->remaining_ms(call);
    if (left < INT64_MAX / 2 && h->now_ms() + left - left / 4 < end)
        end = h->now_ms() + left - left / 4;
    for (;;) {
        struct hf_job j;
        int rc = inspect(p, sb->job_id, &j, call);
        if (rc)
            return rc;
        int done = hf_stage_done(j.stage);
        char stage[32];
        snprintf(stage, sizeof stage, "%s", j.stage);
        hf_job_free(&j);
        if (done)
            return h->fail(call, strcmp(stage, "ERROR") == 0 ? CORRAL_EIO : CORRAL_ENOTFOUND,
                           "hf: job %s ended (stage %s)", sb->job_id, stage);
        struct corral_http_response r;
        rc = sbx_req(sb, "GET", "/health", NULL, 10000, &r, call);
        int up = rc == 0 && r.status == 200;
        h->http_response_free(&r);
        if (up)
            return 0;
        if (rc == CORRAL_ECANCELED)
            return rc;
        if (h->now_ms() + wait > end)
            return h->fail(call, CORRAL_ETIMEDOUT, "hf: sandbox server of job %s not up after %lld s", sb->job_id,
                           (long long)(p->ready_timeout_ms / 1000));
        if ((rc = hf_sleep(p, wait, call)) != 0)
            return rc;
        if (wait < p->poll_ms)
            wait = wait * 2 < p->poll_ms ? wait * 2 : p->poll_ms;
    }
}

/* ---- files ---- */

/* v1: PUT the bytes raw (parents created, mode applied by the server). */
static int put_bytes_v1(corral_sbx *sb, const char *path, const void *data, size_t len, uint32_t mode,
                        corral_call *call)
{
    char q[2048] = "/v1/files/write?path=";
    if (corral_url_escape(q, sizeof q - 16, path, "/"))
        return sb->p->host->fail(call, CORRAL_EINVAL, "hf: path too long");
    snprintf(q + strlen(q), 16, "&mode=%o", (unsigned)(mode & 07777));
    struct corral_http_response r;
    int rc = sbx_http(sb, "PUT", q, NULL, len ? data : "", len, NULL, 0, &r, call);
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(sb->p, &r, "write", call);
    sb->p->host->http_response_free(&r);
    return rc;
}

static int put_bytes(corral_sbx *sb, const char *path, const void *data, size_t len, corral_call *call)
{
    if (sb->p->v1)
        return put_bytes_v1(sb, path, data, len, 0600, call);
    char *enc = crl_b64_encode(data, len);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "path", path);
    cJSON_AddStringToObject(b, "content_b64", enc);
    free(enc);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct corral_http_response r;
    int rc = sbx_req(sb, "POST", "/write", body, 0, &r, call);
    crl_wipe_free(body);
    if (rc == 0 && !ok2xx(r.status))
        rc = r.status == 500 ? sb->p->host->fail(call, CORRAL_EIO, "hf: write %s failed on the server", path)
                             : fail_http(sb->p, &r, "write", call);
    sb->p->host->http_response_free(&r);
    return rc;
}

/* ---- exec ---- */

static int sink_all(const struct corral_sink *s, const char *d)
{
    return s && d && *d ? s->write(s->ud, d, strlen(d)) : 0;
}

static int hf_read_file(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call);

/* Stream the captured output file at path to sink (missing = empty). */
static int fetch_output(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call)
{
    if (!sink || !path)
        return 0;
    int rc = hf_read_file(sb, path, sink, call);
    return rc == CORRAL_ENOTFOUND ? 0 : rc;
}

/* v1: POST /v1/exec; the server enforces the timeout on the whole process
 * group and answers NDJSON events ending with exit{exit_code, signal,
 * timed_out, duration_ms}. */
static int run_v1(corral_sbx *sb, cJSON *cmd, const char *cwd, int64_t timeout_ms, const struct corral_sink *out,
                  const struct corral_sink *err, const char *cap_out, const char *cap_err,
                  struct corral_exec_result *res, corral_call *call)
{
    struct hf *p = sb->p;
    const struct corral_host *h = p->host;
    int64_t t0 = h->now_ms();
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "cmd", cmd);
    cJSON_AddBoolToObject(b, "shell", 0);
    cJSON_AddStringToObject(b, "cwd", cwd ? cwd : sb->workdir);
    if (timeout_ms > 0)
        cJSON_AddNumberToObject(b, "timeout", (double)timeout_ms / 1000.0);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct corral_http_response r;
    int64_t http_ms = timeout_ms > 0 ? timeout_ms + 30000 : 0;
    int rc = sbx_http(sb, "POST", "/v1/exec", body, NULL, 0, NULL, http_ms ? http_ms : INT64_MAX / 4, &r, call);
    free(body);
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(p, &r, "exec", call);
    struct hf_exit ex;
    if (rc == 0 && hf_parse_ndjson_exit(r.body, r.body_len, &ex))
        rc = h->fail(call, CORRAL_EPROTO, "hf: exec stream ended without an exit event");
    int w = 0;
    if (rc == 0 && !cap_out) {
        w = hf_ndjson_output(r.body, r.body_len, out, err);
    }
    h->http_response_free(&r);
    if (rc)
        return rc;
    res->duration_ms = h->now_ms() - t0;
    res->timed_out = ex.timed_out;
    res->signal = ex.timed_out ? 0 : ex.signal;
    if (ex.timed_out)
        res->exit_code = 124;
    else if (ex.signal > 0)
        res->exit_code = 128 + ex.signal;
    else
        res->exit_code = ex.exit_code >= 0 && ex.exit_code <= 255 ? ex.exit_code : 255;
    if (cap_out) {
        w = fetch_output(sb, cap_out, out, call);
        return w ? w : fetch_output(sb, cap_err, err, call);
    }
    return w < 0 ? h->fail(call, w, "hf: output consumer failed") : 0;
}

/* Run cmd (consumed).  With cap_out/cap_err the output was redirected to
 * those files inside and is read back from there. */
static int run(corral_sbx *sb, cJSON *cmd, const char *cwd, int64_t timeout_ms, const struct corral_sink *out,
               const struct corral_sink *err, const char *cap_out, const char *cap_err,
               struct corral_exec_result *res, corral_call *call)
{
    struct hf *p = sb->p;
    const struct corral_host *h = p->host;
    int64_t t0 = h->now_ms();
    if (p->v1)
        return run_v1(sb, cmd, cwd, timeout_ms, out, err, cap_out, cap_err, res, call);
    int64_t server_s = timeout_ms > 0 ? (timeout_ms + 999) / 1000 + 10 : 86400;
    crl_cmd_prefix_timeout(cmd, timeout_ms);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "cmd", cmd);
    cJSON_AddStringToObject(b, "workdir", cwd ? cwd : sb->workdir);
    cJSON_AddNumberToObject(b, "timeout", (double)server_s);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct corral_http_response r;
    int rc = sbx_req(sb, "POST", "/exec", body, (server_s + 15) * 1000, &r, call);
    free(body);
    if (rc == 0 && r.status == 500) {
        /* hf-sandbox answers 500 when the command cannot start (missing
         * binary, bad cwd): report it like a shell would. */
        h->http_response_free(&r);
        res->exit_code = 127;
        res->signal = res->timed_out = 0;
        res->duration_ms = h->now_ms() - t0;
        return sink_all(err, "hf: the sandbox server could not start the command\n") < 0
                   ? h->fail(call, CORRAL_EIO, "hf: output consumer failed")
                   : 0;
    }
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(p, &r, "exec", call);
    struct hf_exec e = {0};
    if (rc == 0 && hf_parse_exec(r.body, r.body_len, &e))
        rc = h->fail(call, CORRAL_EPROTO, "hf: unparseable exec reply");
    h->http_response_free(&r);
    if (rc)
        return rc;
    res->duration_ms = h->now_ms() - t0;
    res->signal = 0;
    res->timed_out = 0;
    if (e.rc == -1 && strcmp(e.err, "timeout") == 0) {
        res->exit_code = 124;
        res->timed_out = 1;
    } else if (e.rc < 0 && e.rc >= -64) {
        /* Python's returncode: -N for a command killed by signal N, which
         * a shell reports as 128+N. */
        res->signal = -e.rc;
        res->exit_code = 128 + res->signal;
    } else {
        res->exit_code = e.rc >= 0 && e.rc <= 255 ? e.rc : 255;
        if (timeout_ms > 0 && e.rc == 124 && res->duration_ms >= timeout_ms)
            res->timed_out = 1;
    }
    if (cap_out) {
        hf_exec_free(&e);
        int w = fetch_output(sb, cap_out, out, call);
        return w ? w : fetch_output(sb, cap_err, err, call);
    }
    int w = sink_all(out, e.out);
    if (w == 0)
        w = sink_all(err, e.err);
    hf_exec_free(&e);
    return w < 0 ? h->fail(call, w, "hf: output consumer failed") : 0;
}

static int run_argv(corral_sbx *sb, const char *const *argv, corral_call *call)
{
    const struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv};
    cJSON *cmd = crl_cmd_json(&req, 0);
    if (!cmd)
        return sb->p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
    struct corral_exec_result res = {.struct_size = sizeof res};
    int rc = run(sb, cmd, "/", 60000, NULL, NULL, NULL, NULL, &res, call);
    if (rc == 0 && res.exit_code != 0)
        rc = sb->p->host->fail(call, CORRAL_EIO, "hf: helper command %s exited %d", argv[0], res.exit_code);
    return rc;
}

/* Makes CRL_EXEC_DIR (mode 0700): hf-sandbox 0.1's /write makes no
 * parents. */
static int make_exec_dir(corral_sbx *sb, corral_call *call)
{
    const char *mk[] = {"mkdir", "-p", "--", CRL_EXEC_DIR, NULL}, *ch[] = {"chmod", "700", "--", CRL_EXEC_DIR, NULL};
    int rc = run_argv(sb, mk, call);
    if (rc == 0)
        rc = run_argv(sb, ch, call);
    pthread_mutex_lock(&sb->lock);
    sb->dir_made = rc == 0;
    pthread_mutex_unlock(&sb->lock);
    return rc;
}

/* Stages data at path in CRL_EXEC_DIR, making the directory first when
 * this handle has not (or once more when the write fails: a command may
 * have removed it). */
static int stage_bytes(corral_sbx *sb, const char *path, const void *data, size_t len, corral_call *call)
{
    pthread_mutex_lock(&sb->lock);
    int made = sb->dir_made;
    pthread_mutex_unlock(&sb->lock);
    int rc = made ? 0 : make_exec_dir(sb, call);
    if (rc == 0 && (rc = put_bytes(sb, path, data, len, call)) != 0 && made && rc != CORRAL_ECANCELED &&
        make_exec_dir(sb, call) == 0)
        rc = put_bytes(sb, path, data, len, call);
    return rc;
}

static int hf_exec(corral_sbx *sb, const struct corral_exec_request *req, struct corral_exec_result *res,
                   corral_call *call)
{
    struct hf *p = sb->p;
    if (req->user)
        return p->host->fail(call, CORRAL_ENOTSUP, "hf: running as another user is not supported");
    if (!req->shell && !(req->argv && req->argv[0]))
        return p->host->fail(call, CORRAL_EINVAL, "hf: exec needs argv or shell");
    cJSON *cmd = crl_cmd_json(req, 0);
    if (!cmd)
        return p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
    int has_env = req->env && req->env[0], has_in = req->stdin_data && req->stdin_len;
    char outf[96], errf[96], *old_out = NULL, *old_err = NULL;
    {
        /* Stage env (as a sourced file) and stdin inside the sandbox; the
         * output goes to files there (the server's exec reply is UTF-8 text). */
        char hex[17], envf[96] = "/dev/null", inf[96] = "";
        int rc = crl_random_hex(hex, 8) ? p->host->fail(call, CORRAL_EIO, "hf: no random bytes for file names") : 0;
        if (has_env) {
            char *script = NULL;
            size_t len = 0;
            for (const char *const *e = req->env; *e && rc == 0; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || !hf_env_name(*e, (size_t)(eq - *e))) {
                    rc = p->host->fail(call, CORRAL_EINVAL, "hf: bad environment entry (not NAME=value)");
                    break;
                }
                size_t nl = (size_t)(eq - *e);
                char *ns = realloc(script, len + nl + 16);
                if (!ns) {
                    rc = p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
                    break;
                }
                script = ns;
                len += (size_t)sprintf(script + len, "export %.*s=", (int)nl, *e);
                char *grown = NULL;
                if (hf_shquote_append(&script, &len, eq + 1) || !(grown = realloc(script, len + 2))) {
                    rc = p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
                    break;
                }
                script = grown;
                script[len++] = '\n';
                script[len] = '\0';
            }
            snprintf(envf, sizeof envf, CRL_EXEC_DIR "/env-%s", hex);
            if (rc == 0)
                rc = stage_bytes(sb, envf, script, len, call);
            if (script)
                memset(script, 0, len);
            free(script);
        }
        if (rc == 0 && has_in) {
            snprintf(inf, sizeof inf, CRL_EXEC_DIR "/in-%s", hex);
            rc = stage_bytes(sb, inf, req->stdin_data, req->stdin_len, call);
        }
        if (rc) {
            cJSON_Delete(cmd);
            return rc;
        }
        /* Take the files a finished exec left (concurrent execs each take their own). */
        pthread_mutex_lock(&sb->lock);
        old_out = sb->prev_out;
        old_err = sb->prev_err;
        sb->prev_out = sb->prev_err = NULL;
        pthread_mutex_unlock(&sb->lock);
        snprintf(outf, sizeof outf, CRL_EXEC_DIR "/out-%s", hex);
        snprintf(errf, sizeof errf, CRL_EXEC_DIR "/err-%s", hex);
        const char *pre[] = {"/bin/sh", "-c",
                             /* the server's token is a job secret, so in the
                              * server's environment: not the command's */
                             "unset HF_SANDBOX_TOKEN SBX_TOKEN; "
                             "[ -z \"$1\" ] || rm -f -- \"$1\" \"$2\"; set -a; . \"$3\"; set +a; "
                             "[ \"$3\" = /dev/null ] || rm -f -- \"$3\"; o=$4 e=$5 i=$6; shift 6; "
                             "mkdir -p -- \"${o%/*}\" && chmod 700 -- \"${o%/*}\" || exit 125; "
                             "if [ -n \"$i\" ]; then exec <\"$i\"; rm -f -- \"$i\"; fi; exec \"$@\" >\"$o\" 2>\"$e\"",
                             "sh", old_out ? old_out : "", old_err ? old_err : "",
                             envf, outf, errf, inf};
        for (int i = 9; i >= 0; i--)
            cJSON_InsertItemInArray(cmd, 0, cJSON_CreateString(pre[i]));
    }
    int rc = run(sb, cmd, req->cwd, req->timeout_ms, req->out, req->err, outf, errf, res, call);
    free(old_out);
    free(old_err);
    /* The captured output may hold secrets: remove it now that it was
     * read.  After a failure (the call may be spent or cancelled, and its
     * message must stay) or when that rm fails, it is left for the next
     * exec's prologue. */
    const char *rm[] = {"rm", "-f", "--", outf, errf, NULL};
    if (rc == 0 && run_argv(sb, rm, call) == 0)
        return rc;
    pthread_mutex_lock(&sb->lock);
    if (!sb->prev_out) { /* else another exec's files are queued: ours stay */
        sb->prev_out = strdup(outf);
        sb->prev_err = strdup(errf);
    }
    pthread_mutex_unlock(&sb->lock);
    return rc;
}

static int hf_read_file(corral_sbx *sb, const char *path, const struct corral_sink *sink, corral_call *call)
{
    if (sb->p->v1) {
        char q[2048] = "/v1/files/read?path=";
        if (corral_url_escape(q, sizeof q, path, "/"))
            return sb->p->host->fail(call, CORRAL_EINVAL, "hf: path too long");
        struct corral_http_response r;
        int rc = sbx_http(sb, "GET", q, NULL, NULL, 0, sink, 0, &r, call);
        if (rc == 0 && !ok2xx(r.status))
            rc = fail_http(sb->p, &r, "read", call);
        sb->p->host->http_response_free(&r);
        return rc;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "path", path);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct corral_http_response r;
    int rc = sbx_req(sb, "POST", "/read", body, 0, &r, call);
    free(body);
    if (rc == 0 && !ok2xx(r.status))
        rc = fail_http(sb->p, &r, "read", call);
    cJSON *j = rc == 0 ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
    sb->p->host->http_response_free(&r);
    if (rc)
        return rc;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "content_b64");
    if (!cJSON_IsString(c)) {
        cJSON_Delete(j);
        return sb->p->host->fail(call, CORRAL_EPROTO, "hf: read answered without content_b64");
    }
    size_t n = strlen(c->valuestring);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    long len = out ? crl_b64_decode(c->valuestring, n, out) : -1;
    if (len < 0 || n % 4) {
        free(out);
        cJSON_Delete(j);
        return sb->p->host->fail(call, out ? CORRAL_EPROTO : CORRAL_ENOMEM, "hf: read answered bad base64");
    }
    cJSON_Delete(j);
    rc = len > 0 ? sink->write(sink->ud, out, (size_t)len) : 0;
    free(out);
    return rc < 0 ? sb->p->host->fail(call, rc, "hf: read consumer failed") : 0;
}

static int hf_write_file(corral_sbx *sb, const char *path, const struct corral_source *src, uint32_t mode,
                         corral_call *call)
{
    struct hf *p = sb->p;
    if (!path || path[0] != '/')
        return p->host->fail(call, CORRAL_EINVAL, "hf: write_file needs an absolute path");
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)256 << 20) {
                free(buf);
                return p->host->fail(call, CORRAL_EINVAL, "hf: file larger than 256 MiB");
            }
            cap *= 2;
            buf = realloc(buf, cap);
        }
        long n = src->read(src->ud, buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return p->host->fail(call, (int)n, "hf: source failed");
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (p->v1) {
        int rc = put_bytes_v1(sb, path, buf, len, mode, call);
        free(buf);
        return rc;
    }
    char *dir = strdup(path);
    char *slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    const char *mk[] = {"mkdir", "-p", "--", dir, NULL};
    int rc = run_argv(sb, mk, call);
    free(dir);
    if (rc == 0)
        rc = put_bytes(sb, path, buf, len, call);
    free(buf);
    if (rc == 0 && (mode & 07777) != 0644) {
        char m[16];
        snprintf(m, sizeof m, "%o", (unsigned)(mode & 07777));
        const char *ch[] = {"chmod", m, "--", path, NULL};
        rc = run_argv(sb, ch, call);
    }
    return rc;
}

/* ---- lifecycle ---- */

static int hf_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    struct hf *p = ps;
    const struct corral_host *h = p->host;
    *out = NULL;
    /* before anything else: no job may exist for a policy nobody enforces */
    if (spec->network == CORRAL_NET_POLICY)
        return h->fail(call, CORRAL_ENOTSUP, "hf: HF jobs offer no network control (every job has full internet "
                                             "access), so an egress policy cannot be enforced; use local, docker, "
                                             "e2b or islo");
    if (!p->ns || !p->ns[0])
        return h->fail(call, CORRAL_ECONFIG, "hf: set sandbox.hf.namespace (the user or org that runs the jobs)");
    if (spec->network == CORRAL_NET_NONE && !p->allow_net_none)
        return h->fail(call, CORRAL_ENOTSUP, "hf: HF jobs always have internet access; set "
                                             "sandbox.hf.allow_network_none to accept that");
    if (spec->user)
        return h->fail(call, CORRAL_ENOTSUP, "hf: running as another user is not supported");
    if (spec->options_json)
        return h->fail(call, CORRAL_EINVAL, "hf: no backend options are defined");
    char id[96];
    if (spec->id && spec->id[0])
        snprintf(id, sizeof id, "%s", spec->id);
    else {
        strcpy(id, "hf-");
        if (crl_random_hex(id + 3, 12))
            return h->fail(call, CORRAL_EIO, "hf: no random bytes for a sandbox id");
    }
    int rc;
    char sbtok[65];
    derive_token(p, id, sbtok, call, &rc);
    if (rc)
        return rc;

    cJSON *b = cJSON_CreateObject();
    const char *image = spec->image ? spec->image : p->image;
    static const char *const space_prefixes[] = {"https://huggingface.co/spaces/", "https://hf.co/spaces/",
                                                 "huggingface.co/spaces/", "hf.co/spaces/"};
    int is_space = 0;
    for (size_t i = 0; i < 4 && !is_space; i++)
        if (strncmp(image, space_prefixes[i], strlen(space_prefixes[i])) == 0) {
            cJSON_AddStringToObject(b, "spaceId", image + strlen(space_prefixes[i]));
            is_space = 1;
        }
    if (!is_space)
        cJSON_AddStringToObject(b, "dockerImage", image);
    cJSON *cmd = cJSON_AddArrayToObject(b, "command");
    for (const char *const *c = p->server_cmd; c && *c; c++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(*c));
    cJSON_AddArrayToObject(b, "arguments");
    cJSON_AddObjectToObject(b, "environment");
    cJSON_AddStringToObject(b, "flavor", p->flavor);
    cJSON *sec = cJSON_AddObjectToObject(b, "secrets");
    for (const char *const *e = spec->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !hf_env_name(*e, (size_t)(eq - *e))) {
            cJSON_Delete(b);
            return h->fail(call, CORRAL_EINVAL, "hf: bad environment entry (not NAME=value)");
        }
        char *k = strndup(*e, (size_t)(eq - *e));
        cJSON_DeleteItemFromObjectCaseSensitive(sec, k);
        cJSON_AddStringToObject(sec, k, eq + 1);
        free(k);
    }
    /* The server's token, under the name its generation reads: hf-sandbox
     * 0.1 checks HF_SANDBOX_TOKEN, sandbox-server (v1) SBX_TOKEN (without it
     * a v1 server runs with no token check at all). */
    cJSON_DeleteItemFromObjectCaseSensitive(sec, "HF_SANDBOX_TOKEN");
    cJSON_DeleteItemFromObjectCaseSensitive(sec, "SBX_TOKEN");
    cJSON_AddStringToObject(sec, p->v1 ? "SBX_TOKEN" : "HF_SANDBOX_TOKEN", sbtok);
    memset(sbtok, 0, sizeof sbtok);
    /* The job's clock starts before the image is pulled and the server is
     * up: give the boot its allowance (ready_timeout_s) on top of the TTL.
     * corral's own deadline (gc, the rollout) still ends the job on time. */
    cJSON_AddNumberToObject(b, "timeoutSeconds",
                            (double)((spec->ttl_s > 0 ? spec->ttl_s : p->timeout_s) + p->ready_timeout_ms / 1000));
    cJSON *labels = cJSON_AddObjectToObject(b, "labels");
    for (const char *const *l = spec->labels; l && *l; l++) {
        const char *eq = strchr(*l, '=');
        char *k = eq ? strndup(*l, (size_t)(eq - *l)) : strdup(*l);
        cJSON_DeleteItemFromObjectCaseSensitive(labels, k);
        cJSON_AddStringToObject(labels, k, eq ? eq + 1 : "");
        free(k);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(labels, "corral.id");
    cJSON_AddStringToObject(labels, "corral.id", id);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);

    char path[512];
    job_path(p, path, sizeof path, NULL, NULL);
    char *job_id = NULL;
    int maybe = 0;
    int64_t wait = p->backoff_ms;
    for (int attempt = 1; !job_id; attempt++) {
        struct corral_http_response r;
        rc = hub(p, "POST", path, body, 1, &r, call);
        if (rc == 0 && ok2xx(r.status)) {
            struct hf_job j;
            if (hf_parse_job(r.body, r.body_len, NULL, &j) == 0) {
                job_id = strdup(j.id);
                hf_job_free(&j);
            } else {
                rc = h->fail(call, CORRAL_EPROTO, "hf: run job answered an unparseable JobInfo");
                maybe = 1;
            }
        } else if (rc == 0) {
            rc = fail_http(p, &r, "run job", call);
            maybe |= rc == CORRAL_ETRANSIENT;
        } else {
            maybe |= corral_status_is_transient(rc);
        }
        h->http_response_free(&r);
        if (job_id || !corral_status_is_transient(rc))
            break;
        /* The job may exist although we did not hear back: find it by
         * label, and never run it again before that lookup has answered. */
        int lrc;
        if ((job_id = find_job(p, id, call, &lrc)) != NULL) {
            h->log(h, CORRAL_LOG_INFO, "hf: adopting job %s after a lost answer", job_id);
            rc = 0;
            break;
        }
        if (lrc) {
            h->log(h, CORRAL_LOG_WARN, "hf: run job for %s failed and the lookup by corral.id did not answer; "
                   "not running it again", id);
            rc = lrc;
            break;
        }
        if (attempt >= p->attempts || hf_sleep(p, wait, call))
            break;
        wait *= 2;
    }
    crl_wipe_free(body);
    if (!job_id) {
        /* Never leave an orphan job behind: cancel every job with our
         * corral.id, without the caller's call (it may be spent; each
         * request is bounded by request_timeout_ms).  What this cannot
         * reach, gc cancels at its corral.deadline. */
        if (maybe)
            cancel_duplicates(p, id, "", NULL);
        return rc ? rc : h->fail(call, CORRAL_EIO, "hf: job creation failed");
    }
    cancel_duplicates(p, id, job_id, call);
    corral_sbx *sb = sbx_new(p, job_id, id, spec->workdir);
    free(job_id);
    rc = wait_ready(sb, call);
    if (rc == 0) {
        const char *mk[] = {"mkdir", "-p", "--", sb->workdir, NULL};
        rc = run_argv(sb, mk, call);
    }
    if (rc) {
        cancel_job(p, sb->job_id, call);
        sbx_free(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

static int hf_destroy(corral_sbx *sb, corral_call *call)
{
    return cancel_job(sb->p, sb->job_id, call);
}

static void hf_close(corral_sbx *sb)
{
    sbx_free(sb);
}

static char *state_of(struct hf *p, const char *job_id, const char *id, const char *workdir)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "backend", "hf");
    cJSON_AddStringToObject(o, "namespace", p->ns ? p->ns : "");
    cJSON_AddStringToObject(o, "job_id", job_id);
    cJSON_AddStringToObject(o, "id", id);
    if (workdir)
        cJSON_AddStringToObject(o, "workdir", workdir);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int hf_state(corral_sbx *sb, char **json, corral_call *call)
{
    *json = state_of(sb->p, sb->job_id, sb->id, sb->workdir);
    return *json ? 0 : sb->p->host->fail(call, CORRAL_ENOMEM, "hf: out of memory");
}

static int from_state(struct hf *p, const char *json, corral_sbx **out, corral_call *call)
{
    cJSON *j = cJSON_Parse(json ? json : "");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "job_id");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(j, "workdir");
    if (!cJSON_IsString(jid) || !cJSON_IsString(id) || strchr(jid->valuestring, '/')) {
        cJSON_Delete(j);
        return p->host->fail(call, CORRAL_EINVAL, "hf: state without job_id/id");
    }
    *out = sbx_new(p, jid->valuestring, id->valuestring, cJSON_IsString(wd) ? wd->valuestring : NULL);
    cJSON_Delete(j);
    return 0;
}

static int hf_attach(void *ps, const char *json, corral_sbx **out, corral_call *call)
{
    struct hf *p = ps;
    corral_sbx *sb;
    int rc = from_state(p, json, &sb, call);
    if (rc)
        return rc;
    struct hf_job j;
    rc = inspect(p, sb->job_id, &j, call);
    if (rc == 0) {
        if (hf_stage_done(j.stage)) /* jobs cannot be resumed */
            rc = p->host->fail(call, CORRAL_ENOTFOUND, "hf: job %s has ended (stage %s)", sb->job_id, j.stage);
        hf_job_free(&j);
    }
    if (rc == 0)
        rc = wait_ready(sb, call);
    if (rc) {
        sbx_free(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

static int hf_running(corral_sbx *sb, corral_call *call)
{
    struct hf_job j;
    int rc = inspect(sb->p, sb->job_id, &j, call);
    if (rc == CORRAL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    int done = hf_stage_done(j.stage);
    hf_job_free(&j);
    if (done)
        return 0;
    struct corral_http_response r;
    rc = sbx_req(sb, "GET", "/health", NULL, 10000, &r, call);
    int up = rc == 0 && r.status == 200;
    sb->p->host->http_response_free(&r);
    return up;
}

struct listctx {
    struct hf *p;
    const char *const *filters;
    corral_sandbox_list_cb cb;
    void *ud;
};

static int list_cb(void *ud, const struct hf_job *j)
{
    struct listctx *l = ud;
    const char *cid = NULL;
    for (char **lb = j->labels; *lb; lb++)
        if (strncmp(*lb, "corral.id=", 10) == 0)
            cid = *lb + 10;
    if (!cid || !label_match(j->labels, l->filters))
        return 0;
    char *st = state_of(l->p, j->id, cid, NULL);
    struct corral_sandbox_info info = {.struct_size = sizeof info, .id = cid, .status = "running",
                                       .labels = (const char *const *)j->labels, .state_json = st};
    int r = l->cb(l->ud, &info);
    free(st);
    return r ? 1 : 0;
}

static int hf_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    struct hf *p = ps;
    if (!p->ns || !p->ns[0])
        return p->host->fail(call, CORRAL_ECONFIG, "hf: set sandbox.hf.namespace");
    struct listctx l = {p, filters, cb, ud};
    return each_job(p, list_cb, &l, call);
}

static int hf_remove(void *ps, const char *json, corral_call *call)
{
    corral_sbx *sb;
    int rc = from_state(ps, json, &sb, call);
    if (rc)
        return rc;
    rc = cancel_job(ps, sb->job_id, call);
    sbx_free(sb);
    return rc;
}

/* ---- plugin ---- */

/* Types, limits and defaults of the options are the host's (bound above);
 * what is left is hf's own: the protocol name and derived values. */
static int hf_init(const struct corral_host *h, const corral_config *cfg, void *ps, corral_call *call)
{
    (void)cfg;
    struct hf *p = ps;
    p->host = h;
    if (strcmp(p->server_api, "v0") != 0 && strcmp(p->server_api, "v1") != 0)
        return h->fail(call, CORRAL_ECONFIG, "hf: server_api must be \"v0\" or \"v1\"");
    p->v1 = strcmp(p->server_api, "v1") == 0;
    for (p->endpoint_len = strlen(p->endpoint); p->endpoint_len && p->endpoint[p->endpoint_len - 1] == '/';)
        p->endpoint_len--;
    p->ready_timeout_ms = p->ready_timeout_s * 1000;
    return 0;
}

static const struct corral_sandbox_ops hf_ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PERSISTENT | CORRAL_CAP_TTL,
    .create = hf_create,
    .exec = hf_exec,
    .destroy = hf_destroy,
    .close = hf_close,
    .state = hf_state,
    .attach = hf_attach,
    .read_file = hf_read_file,
    .write_file = hf_write_file,
    .running = hf_running,
    .list = hf_list,
    .remove = hf_remove,
};

static const struct corral_plugin hf_plugin = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "hf",
    .version = "0.1.0",
    .description = "Hugging Face sandboxes: an HF Job running the hf-sandbox server",
    .options = hf_options,
    .option_size = sizeof(struct corral_option),
    .ops = &hf_ops,
    .init2 = hf_init,
    .state_size = sizeof(struct hf),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    const struct corral_host *h = corral_offer_host(offer, 1);
    if (!h || !CORRAL_HAS(h, http_response_free))
        return NULL;
    return &hf_plugin;
}
