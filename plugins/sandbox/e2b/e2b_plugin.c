/*
 * The e2b sandbox plugin: E2B's control plane (create, connect, pause,
 * list by metadata, delete) and envd (processes, files) over the host's
 * HTTP service.  See docs/backends/e2b.md for the wire format.
 *
 * Endpoint resolution, as the official SDKs do it: api_url option, else
 * $E2B_API_URL, else http://localhost:3000 when $E2B_DEBUG=true, else
 * https://api.<domain>; envd at the envd_url option, else $E2B_SANDBOX_URL,
 * else http://localhost:49983 in debug, else https://49983-<id>.<domain>.
 * Every envd request carries E2b-Sandbox-Id / E2b-Sandbox-Port so one
 * override URL (a self-hosted proxy or the test fake) can route them.
 *
 * Archives: put_archive/get_archive are left NULL (E2B has no archive API);
 * the host emulates them with exec + tar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "e2b.h"

#define AT(field) offsetof(struct e2b, field)
static const struct corral_option e2b_options[] = {
    {"api_key_env", CORRAL_OPT_STRING, CORRAL_OPT_SECRET_ENV | CORRAL_OPT_BIND, "\"E2B_API_KEY\"",
     "environment variable holding the E2B API key", AT(api_key_env), 0, 0},
    {"api_url", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL,
     "control-plane URL (default $E2B_API_URL or https://api.<domain>)", AT(api_url_cfg), 0, 0},
    {"domain", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL, "E2B domain (default $E2B_DOMAIN or e2b.app)",
     AT(domain_cfg), 0, 0},
    {"envd_url", CORRAL_OPT_STRING, CORRAL_OPT_BIND, NULL,
     "one URL for every envd call (default $E2B_SANDBOX_URL; self-hosted or debug setups)", AT(envd_url_cfg), 0, 0},
    {"template", CORRAL_OPT_STRING, CORRAL_OPT_BIND, "\"base\"", "template used when the spec names no image",
     AT(template_id), 0, 0},
    {"default_ttl_s", CORRAL_OPT_INT, CORRAL_OPT_BIND | CORRAL_OPT_MIN, "3600",
     "sandbox timeout when the spec gives no ttl", AT(default_ttl_s), 1, 0},
    {"request_timeout_ms", CORRAL_OPT_INT, CORRAL_OPT_BIND, "60000", "limit for one control-plane or envd request",
     AT(request_timeout_ms), 0, 0},
    {"max_attempts", CORRAL_OPT_INT, CORRAL_OPT_BIND | CORRAL_OPT_MIN | CORRAL_OPT_MAX, "4",
     "attempts for requests that are safe to retry", AT(max_attempts), 1, 100},
    {"backoff_ms", CORRAL_OPT_INT, CORRAL_OPT_BIND, "250", "first retry backoff (doubled per retry)", AT(backoff_ms),
     0, 0},
    {"secure", CORRAL_OPT_BOOL, CORRAL_OPT_BIND, "true", "ask for an envd access token (secure sandboxes)",
     AT(secure), 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

static char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    if (v && *v)
        return strdup(v);
    return fallback ? strdup(fallback) : NULL;
}

static void strip_slash(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* Options are bound and range-checked by the host; what is left is the
 * endpoint resolution the SDKs do (config, environment, defaults). */
static int e2b_init(const struct corral_host *h, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg;
    struct e2b *p = state;
    p->host = h;
    p->domain = p->domain_cfg ? strdup(p->domain_cfg) : env_or("E2B_DOMAIN", "e2b.app");
    const char *dbg = getenv("E2B_DEBUG");
    int debug = dbg && strcasecmp(dbg, "true") == 0;
    const char *v;
    if (p->api_url_cfg)
        p->api_url = strdup(p->api_url_cfg);
    else if ((v = getenv("E2B_API_URL")) && *v)
        p->api_url = strdup(v);
    else
        p->api_url = debug ? strdup("http://localhost:3000") : e2b_xasprintf("https://api.%s", p->domain);
    p->envd_url = p->envd_url_cfg ? strdup(p->envd_url_cfg)
                                  : env_or("E2B_SANDBOX_URL", debug ? "http://localhost:49983" : NULL);
    strip_slash(p->api_url);
    strip_slash(p->envd_url);
    if (!p->domain || !p->api_url)
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    return 0;
}

/* Releases what e2b_init made; the host frees the block itself. */
static void e2b_fini(void *state)
{
    struct e2b *p = state;
    free(p->domain);
    free(p->api_url);
    free(p->envd_url);
}

static void sbx_free(corral_sbx *s)
{
    if (!s)
        return;
    free(s->sandbox_id);
    free(s->corral_id);
    crl_wipe_free(s->token);
    free(s->envd_base);
    free(s->workdir);
    free(s->user);
    free(s->envd_version);
    free(s);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fill the handle's connection data from a Sandbox / SandboxDetail answer. */
static int sbx_adopt(corral_sbx *s, const cJSON *j, corral_call *call)
{
    const char *id = jstr(j, "sandboxID");
    if (!id)
        return s->p->host->fail(call, CORRAL_EPROTO, "e2b: the API answer has no sandboxID");
    if (!s->sandbox_id && !(s->sandbox_id = strdup(id)))
        return CORRAL_ENOMEM;
    const char *tok = jstr(j, "envdAccessToken");
    if (tok) {
        crl_wipe_free(s->token);
        s->token = strdup(tok);
    }
    const char *ver = jstr(j, "envdVersion");
    if (ver) {
        free(s->envd_version);
        s->envd_version = strdup(ver);
    }
    const char *dom = jstr(j, "domain");
    free(s->envd_base);
    if (s->p->envd_url)
        s->envd_base = strdup(s->p->envd_url);
    else
        s->envd_base = e2b_xasprintf("https://49983-%s.%s", s->sandbox_id, dom ? dom : s->p->domain);
    return s->envd_base ? 0 : CORRAL_ENOMEM;
}

static cJSON *kv_object(const char *const *kv)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; kv && kv[i]; i++) {
        const char *eq = strchr(kv[i], '=');
        char *k = eq ? strndup(kv[i], (size_t)(eq - kv[i])) : strdup(kv[i]);
        if (k && *k) {
            cJSON_DeleteItemFromObjectCaseSensitive(o, k);
            cJSON_AddStringToObject(o, k, eq ? eq + 1 : "");
        }
        free(k);
    }
    return o;
}

/* GET /v2/sandboxes filtered by metadata pairs; returns the array (caller frees). */
static int list_by_metadata(struct e2b *p, const cJSON *meta, cJSON **out, corral_call *call)
{
    struct crl_buf inner = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, meta)
    {
        char *k = e2b_url_encode(it->string), *v = e2b_url_encode(cJSON_IsString(it) ? it->valuestring : "");
        if (inner.len)
            crl_buf_puts(&inner, "&");
        if (k && v) {
            crl_buf_puts(&inner, k);
            crl_buf_puts(&inner, "=");
            crl_buf_puts(&inner, v);
        }
        free(k);
        free(v);
    }
    char *q = e2b_url_encode(inner.p ? inner.p : "");
    crl_buf_free(&inner);
    cJSON *all = cJSON_CreateArray();
    char *token = NULL;
    int rc = 0;
    for (int page = 0; page < 1000; page++) {
        char *tq = token ? e2b_url_encode(token) : NULL;
        char *path = e2b_xasprintf("/v2/sandboxes?state=running,paused&limit=100%s%s%s%s", q && *q ? "&metadata=" : "",
                               q && *q ? q : "", tq ? "&nextToken=" : "", tq ? tq : "");
        free(tq);
        free(token);
        token = NULL;
        cJSON *arr = NULL;
        char *hdrs = NULL;
        long status;
        rc = path ? e2b_api(p, "GET", path, NULL, 0, "list sandboxes", &arr, &status, &hdrs, call) : CORRAL_ENOMEM;
        free(path);
        if (rc != 0) {
            free(hdrs);
            break;
        }
        cJSON *x;
        while (arr && (x = cJSON_DetachItemFromArray(arr, 0)))
            cJSON_AddItemToArray(all, x);
        cJSON_Delete(arr);
        /* X-Next-Token: absent on the last page. */
        for (char *l = hdrs; l && *l;) {
            char *nl = strchr(l, '\n');
            if (strncasecmp(l, "X-Next-Token:", 13) == 0) {
                const char *v = l + 13;
                while (*v == ' ')
                    v++;
                size_t n = nl ? (size_t)(nl - v) : strlen(v);
                while (n && (v[n - 1] == '\r' || v[n - 1] == ' '))
                    n--;
                if (n)
                    token = strndup(v, n);
            }
            l = nl ? nl + 1 : NULL;
        }
        free(hdrs);
        if (!token)
            break;
    }
    free(token);
    free(q);
    if (rc != 0) {
        cJSON_Delete(all);
        return rc;
    }
    *out = all;
    return 0;
}

/* The sandbox carrying corral.id == id, or NULL (borrowed from arr). */
static const cJSON *find_by_corral_id(struct e2b *p, const char *id, cJSON **arr, corral_call *call, int *rc)
{
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "corral.id", id);
    *rc = list_by_metadata(p, meta, arr, call);
    cJSON_Delete(meta);
    if (*rc != 0)
        return NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, *arr)
    {
        const char *cid = jstr(cJSON_GetObjectItemCaseSensitive(it, "metadata"), "corral.id");
        if (cid && strcmp(cid, id) == 0)
            return it;
    }
    return NULL;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* GET /sandboxes/{id}: the detail (with envdAccessToken). */
static int get_detail(struct e2b *p, const char *sid, cJSON **out, corral_call *call)
{
    char *path = e2b_xasprintf("/sandboxes/%s", sid);
    long st;
    int rc = path ? e2b_api(p, "GET", path, NULL, 0, "get sandbox", out, &st, NULL, call) : CORRAL_ENOMEM;
    free(path);
    return rc;
}

static int e2b_destroy_id(struct e2b *p, const char *sid, corral_call *call);

/* e2b_destroy_id of a sandbox handle, for crl_retry_transient. */
static int destroy_op(void *ud, corral_call *call)
{
    corral_sbx *s = ud;
    return e2b_destroy_id(s->p, s->sandbox_id, call);
}

/* After a failed create whose outcome is unknown: delete whatever carries
 * corral.id == id, without the caller's call (it may be spent or
 * cancelled; each request is bounded by request_timeout_ms).  Best effort:
 * what it cannot reach, gc removes at the sandbox's corral.deadline. */
static void remove_by_corral_id(struct e2b *p, const char *id, const struct corral_host *h)
{
    cJSON *arr = NULL;
    int lrc;
    for (const cJSON *found; (found = find_by_corral_id(p, id, &arr, NULL, &lrc)) != NULL;) {
        const char *sid = jstr(found, "sandboxID");
        int drc = sid ? e2b_destroy_id(p, sid, NULL) : CORRAL_EPROTO;
        h->log(h, drc ? CORRAL_LOG_WARN : CORRAL_LOG_INFO, "e2b: removing %s (corral.id %s) left by a failed "
               "create: %s", sid ? sid : "?", id, drc ? "failed" : "done");
        cJSON_Delete(arr);
        arr = NULL;
        if (drc)
            return;
    }
    cJSON_Delete(arr);
    if (lrc)
        h->log(h, CORRAL_LOG_WARN, "e2b: could not look for sandboxes left by the failed create of %s; gc "
               "removes them at their corral.deadline", id);
}

static int e2b_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    struct e2b *p = ps;
    const struct corral_host *h = p->host;
    *out = NULL;
    if (!spec || !spec->id || !*spec->id)
        return h->fail(call, CORRAL_EINVAL, "e2b: create needs spec.id");
    if (spec->n_mounts > 0)
        return h->fail(call, CORRAL_ENOTSUP, "e2b: host mounts are impossible in a cloud sandbox");
    cJSON *network = NULL;
    if (spec->network == CORRAL_NET_POLICY) {
        char err[512];
        if (e2b_network_from_policy(spec->egress_json, &network, err, sizeof err))
            return h->fail(call, CORRAL_ENOTSUP, "e2b: %s", err);
    }
    corral_sbx *s = calloc(1, sizeof *s);
    if (!s) {
        cJSON_Delete(network);
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    }
    s->p = p;
    s->corral_id = strdup(spec->id);
    s->workdir = spec->workdir ? strdup(spec->workdir) : NULL;
    /* envd's default user is the template's ("user" on E2B's base image),
     * but a rollout prepares /workspace, /tests and /logs like on every
     * other backend, as root: ask for root unless the spec names a user. */
    s->user = strdup(spec->user ? spec->user : "root");
    if (!s->corral_id || !s->user || (spec->workdir && !s->workdir)) {
        cJSON_Delete(network);
        sbx_free(s);
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    }
    s->ttl_s = spec->ttl_s > 0 ? spec->ttl_s : p->default_ttl_s;
    for (const char *const *l = spec->labels; l && *l; l++)
        if (strncmp(*l, "corral.deadline=", 16) == 0)
            s->deadline = strtoll(*l + 16, NULL, 10);

    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "templateID", spec->image ? spec->image : p->template_id);
    cJSON_AddNumberToObject(body, "timeout", (double)s->ttl_s);
    cJSON_AddBoolToObject(body, "secure", p->secure);
    cJSON_AddBoolToObject(body, "allow_internet_access", spec->network != CORRAL_NET_NONE);
    if (network) /* a policy: the network rules decide (default deny is a denyOut of 0.0.0.0/0) */
        cJSON_AddItemToObject(body, "network", network);
    cJSON *meta = kv_object(spec->labels);
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "corral.id");
    cJSON_AddStringToObject(meta, "corral.id", spec->id);
    cJSON_AddItemToObject(body, "metadata", meta);
    cJSON_AddItemToObject(body, "envVars", kv_object(spec->env));
    if (spec->options_json) {
        cJSON *opt = cJSON_Parse(spec->options_json);
        if (!cJSON_IsObject(opt)) {
            cJSON_Delete(opt);
            cJSON_Delete(body);
            sbx_free(s);
            return h->fail(call, CORRAL_EINVAL, "e2b: options_json must be a JSON object");
        }
        cJSON *it;
        while ((it = opt->child)) {
            cJSON_DetachItemViaPointer(opt, it);
            if (strcmp(it->string, "metadata") == 0 || strcmp(it->string, "envVars") == 0) {
                cJSON_Delete(it); /* corral owns these */
                continue;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(body, it->string);
            cJSON_AddItemToObject(body, it->string, it);
        }
        cJSON_Delete(opt);
    }

    /* POST /sandboxes is not idempotent: a create whose answer was lost may
     * have made a sandbox.  So each attempt is a single try, and before the
     * next one we look for a sandbox carrying our corral.id.  We never create
     * again while that lookup has not answered: if it cannot answer, the
     * create fails (and a sandbox it may have made is removed by corral.id
     * below, or by gc at its corral.deadline). */
    int rc = 0, unknown = 0;
    int64_t backoff = p->backoff_ms > 0 ? p->backoff_ms : 250;
    for (int attempt = 1;; attempt++) {
        cJSON *resp = NULL;
        long status;
        rc = e2b_api(p, "POST", "/sandboxes", body, 1, "create sandbox", &resp, &status, NULL, call);
        if (rc == 0) {
            rc = sbx_adopt(s, resp, call);
            cJSON_Delete(resp);
            break;
        }
        unknown = 1;
        if (!corral_status_is_transient(rc) || attempt >= p->max_attempts || h->cancelled(call))
            break;
        sleep_ms(backoff < h->remaining_ms(call) ? backoff : 0);
        backoff *= 2;
        cJSON *arr = NULL;
        int lrc;
        const cJSON *found = find_by_corral_id(p, spec->id, &arr, call, &lrc);
        if (lrc != 0) {
            cJSON_Delete(arr);
            h->log(h, CORRAL_LOG_WARN, "e2b: create of %s failed and the lookup by corral.id did not answer; "
                   "not creating again", spec->id);
            rc = lrc;
            break;
        }
        if (found) {
            cJSON *detail = NULL;
            rc = get_detail(p, jstr(found, "sandboxID"), &detail, call);
            if (rc == 0)
                rc = sbx_adopt(s, detail, call);
            cJSON_Delete(detail);
            cJSON_Delete(arr);
            if (rc == 0)
                h->log(h, CORRAL_LOG_INFO, "e2b: create of %s was answered by a transport failure; found the "
                       "sandbox it made (%s)", spec->id, s->sandbox_id);
            break;
        }
        cJSON_Delete(arr);
    }
    if (rc != 0 && unknown)
        remove_by_corral_id(p, spec->id, h);
    cJSON_Delete(body);
    if (rc == 0 && s->workdir) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "path", s->workdir);
        rc = e2b_envd_unary(s, "filesystem.Filesystem/MakeDir", r, NULL, call);
        cJSON_Delete(r);
        if (rc == CORRAL_EEXIST)
            rc = 0;
        if (rc != 0) /* Do not leak the sandbox we just made (404 after a lost answer is gone). */
            crl_retry_transient(p->host, destroy_op, s, call);
    }
    if (rc != 0) {
        sbx_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int e2b_destroy_id(struct e2b *p, const char *sid, corral_call *call)
{
    char *path = e2b_xasprintf("/sandboxes/%s", sid);
    long st;
    int rc = path ? e2b_api(p, "DELETE", path, NULL, 0, "delete sandbox", NULL, &st, NULL, call) : CORRAL_ENOMEM;
    free(path);
    return rc == CORRAL_ENOTFOUND ? 0 : rc;
}

static int e2b_destroy(corral_sbx *s, corral_call *call)
{
    return e2b_destroy_id(s->p, s->sandbox_id, call);
}

static void e2b_close(corral_sbx *s)
{
    sbx_free(s);
}

static char *state_json(const char *sid, const char *cid, const char *workdir, const char *user, int64_t ttl,
                        int64_t deadline)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "backend", "e2b");
    cJSON_AddStringToObject(o, "sandbox_id", sid);
    if (cid)
        cJSON_AddStringToObject(o, "corral_id", cid);
    if (workdir)
        cJSON_AddStringToObject(o, "workdir", workdir);
    if (user)
        cJSON_AddStringToObject(o, "user", user);
    cJSON_AddNumberToObject(o, "ttl_s", (double)ttl);
    if (deadline > 0)
        cJSON_AddNumberToObject(o, "deadline", (double)deadline);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static int e2b_state(corral_sbx *s, char **json, corral_call *call)
{
    *json = state_json(s->sandbox_id, s->corral_id, s->workdir, s->user, s->ttl_s, s->deadline);
    return *json ? 0 : s->p->host->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
}

/* The timeout to send to /connect: what is left until corral.deadline (an
 * attach must not extend the sandbox past it), within [1, TTL]; the TTL when
 * the deadline is unknown. */
static int64_t connect_timeout_s(const corral_sbx *s)
{
    int64_t ttl = s->ttl_s > 0 ? s->ttl_s : s->p->default_ttl_s;
    if (s->deadline <= 0)
        return ttl;
    int64_t left = s->deadline - (int64_t)time(NULL);
    return left < 1 ? 1 : left < ttl ? left : ttl;
}

/* POST /sandboxes/{id}/connect: resumes a paused sandbox, extends a running one. */
static int connect_sbx(corral_sbx *s, corral_call *call)
{
    char *path = e2b_xasprintf("/sandboxes/%s/connect", s->sandbox_id);
    cJSON *body = cJSON_CreateObject(), *resp = NULL;
    cJSON_AddNumberToObject(body, "timeout", (double)connect_timeout_s(s));
    long st;
    int rc = path ? e2b_api(s->p, "POST", path, body, 0, "connect sandbox", &resp, &st, NULL, call) : CORRAL_ENOMEM;
    if (rc == 0)
        rc = resp ? sbx_adopt(s, resp, call) : s->p->host->fail(call, CORRAL_EPROTO, "e2b: empty connect answer");
    cJSON_Delete(resp);
    cJSON_Delete(body);
    free(path);
    return rc;
}

/* corral.deadline from a sandbox's metadata (state files written before
 * the deadline was kept there). */
static void deadline_from_detail(corral_sbx *s, corral_call *call)
{
    cJSON *d = NULL;
    if (get_detail(s->p, s->sandbox_id, &d, call) == 0) {
        const char *v = jstr(cJSON_GetObjectItemCaseSensitive(d, "metadata"), "corral.deadline");
        if (v)
            s->deadline = strtoll(v, NULL, 10);
    }
    cJSON_Delete(d);
}

int e2b_revive(corral_sbx *s, corral_call *call)
{
    cJSON *d = NULL;
    int rc = get_detail(s->p, s->sandbox_id, &d, call);
    const char *state = rc == 0 ? jstr(d, "state") : NULL;
    int paused = state && strcmp(state, "paused") == 0;
    cJSON_Delete(d);
    if (!paused)
        return CORRAL_ENOTFOUND;
    s->p->host->log(s->p->host, CORRAL_LOG_WARN, "e2b: sandbox %s was paused behind our back; resuming it and "
                    "retrying once", s->sandbox_id);
    return connect_sbx(s, call);
}

static int e2b_attach(void *ps, const char *json, corral_sbx **out, corral_call *call)
{
    const struct corral_host *h = ((struct e2b *)ps)->host;
    *out = NULL;
    cJSON *j = cJSON_Parse(json ? json : "");
    const char *sid = jstr(j, "sandbox_id");
    if (!sid) {
        cJSON_Delete(j);
        return h->fail(call, CORRAL_EINVAL, "e2b: state has no sandbox_id");
    }
    corral_sbx *s = calloc(1, sizeof *s);
    if (!s) {
        cJSON_Delete(j);
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    }
    s->p = ps;
    s->sandbox_id = strdup(sid);
    const char *v;
    if ((v = jstr(j, "corral_id")))
        s->corral_id = strdup(v);
    if ((v = jstr(j, "workdir")))
        s->workdir = strdup(v);
    if ((v = jstr(j, "user")))
        s->user = strdup(v);
    const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(j, "ttl_s");
    s->ttl_s = cJSON_IsNumber(ttl) ? (int64_t)ttl->valuedouble : 0;
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(j, "deadline");
    s->deadline = cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : 0;
    cJSON_Delete(j);
    if (s->deadline <= 0)
        deadline_from_detail(s, call);
    int rc = connect_sbx(s, call);
    if (rc != 0) {
        sbx_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int e2b_pause(corral_sbx *s, corral_call *call)
{
    char *path = e2b_xasprintf("/sandboxes/%s/pause", s->sandbox_id);
    long st;
    int rc = path ? e2b_api(s->p, "POST", path, NULL, 0, "pause sandbox", NULL, &st, NULL, call) : CORRAL_ENOMEM;
    free(path);
    return rc == CORRAL_ESTATE && st == 409 ? 0 : rc; /* already paused */
}

static int e2b_resume(corral_sbx *s, corral_call *call)
{
    return connect_sbx(s, call);
}

static int e2b_running(corral_sbx *s, corral_call *call)
{
    cJSON *d = NULL;
    int rc = get_detail(s->p, s->sandbox_id, &d, call);
    if (rc == CORRAL_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    const char *state = jstr(d, "state");
    int r = state && strcmp(state, "running") == 0;
    cJSON_Delete(d);
    return r;
}

static int e2b_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    struct e2b *p = ps;
    /* "k=v" filters go to the server; "k" (presence) is checked here. */
    cJSON *meta = cJSON_CreateObject();
    for (size_t i = 0; filters && filters[i]; i++) {
        const char *eq = strchr(filters[i], '=');
        if (!eq)
            continue;
        char *k = strndup(filters[i], (size_t)(eq - filters[i]));
        if (k)
            cJSON_AddStringToObject(meta, k, eq + 1);
        free(k);
    }
    cJSON *arr = NULL;
    int rc = list_by_metadata(p, meta, &arr, call);
    cJSON_Delete(meta);
    if (rc != 0)
        return rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
        const char *cid = jstr(md, "corral.id");
        const char *sid = jstr(it, "sandboxID");
        if (!cid || !sid)
            continue; /* not made by corral */
        int ok = 1;
        for (size_t i = 0; ok && filters && filters[i]; i++) {
            const char *eq = strchr(filters[i], '=');
            size_t kl = eq ? (size_t)(eq - filters[i]) : strlen(filters[i]);
            const cJSON *m;
            int found = 0;
            cJSON_ArrayForEach(m, md)
            {
                if (strlen(m->string) == kl && strncmp(m->string, filters[i], kl) == 0 && cJSON_IsString(m) &&
                    (!eq || strcmp(m->valuestring, eq + 1) == 0))
                    found = 1;
            }
            ok = found;
        }
        if (!ok)
            continue;
        size_t n = (size_t)cJSON_GetArraySize(md);
        char **labels = calloc(n + 1, sizeof *labels);
        size_t k = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, md)
        {
            if (labels && cJSON_IsString(m))
                labels[k++] = e2b_xasprintf("%s=%s", m->string, m->valuestring);
        }
        char *st = state_json(sid, cid, NULL, NULL, 0, 0);
        const char *state = jstr(it, "state");
        struct corral_sandbox_info info = {.struct_size = sizeof info, .id = cid,
                                           .status = state ? state : "unknown",
                                           .labels = (const char *const *)labels, .state_json = st};
        int stop = labels && st ? cb(ud, &info) : 0;
        for (size_t i = 0; labels && i < k; i++)
            free(labels[i]);
        free(labels);
        free(st);
        if (!labels || !st) {
            rc = p->host->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
            break;
        }
        if (stop)
            break;
    }
    cJSON_Delete(arr);
    return rc;
}

static int e2b_remove(void *ps, const char *json, corral_call *call)
{
    cJSON *j = cJSON_Parse(json ? json : "");
    const char *sid = jstr(j, "sandbox_id");
    int rc = sid ? e2b_destroy_id(ps, sid, call)
                 : ((struct e2b *)ps)->host->fail(call, CORRAL_EINVAL, "e2b: state has no sandbox_id");
    cJSON_Delete(j);
    return rc;
}

/* Replace a live sandbox's network rules (PUT /sandboxes/{id}/network,
 * the same allowOut/denyOut as at create); a policy E2B cannot express is
 * refused before any request. */
static int e2b_set_egress(corral_sbx *s, const char *policy_json, corral_call *call)
{
    const struct corral_host *h = s->p->host;
    cJSON *network = NULL;
    char err[512];
    if (e2b_network_from_policy(policy_json, &network, err, sizeof err))
        return h->fail(call, CORRAL_ENOTSUP, "e2b: %s", err);
    char *id = e2b_url_encode(s->sandbox_id);
    char *path = id ? e2b_xasprintf("/sandboxes/%s/network", id) : NULL;
    free(id);
    if (!path) {
        cJSON_Delete(network);
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    }
    long status;
    int rc = e2b_api(s->p, "PUT", path, network, 0, "update network rules", NULL, &status, NULL, call);
    free(path);
    cJSON_Delete(network);
    return rc;
}

static const struct corral_sandbox_ops e2b_ops = {
    .struct_size = sizeof(struct corral_sandbox_ops),
    .caps = CORRAL_CAP_CONCURRENT | CORRAL_CAP_PAUSE | CORRAL_CAP_PERSISTENT | CORRAL_CAP_TTL |
            CORRAL_CAP_EGRESS_RULES,
    .create = e2b_create,
    .exec = e2b_exec,
    .destroy = e2b_destroy,
    .close = e2b_close,
    .state = e2b_state,
    .attach = e2b_attach,
    .spawn = e2b_spawn,
    .job_wait = e2b_job_wait,
    .job_kill = e2b_job_kill,
    .job_free = e2b_job_free,
    .read_file = e2b_read_file,
    .write_file = e2b_write_file,
    .put_archive = NULL, /* host emulation: exec + tar */
    .get_archive = NULL,
    .pause = e2b_pause,
    .resume = e2b_resume,
    .running = e2b_running,
    .list = e2b_list,
    .remove = e2b_remove,
    .quiesce = NULL, /* envd runs inside: see sandbox.h */
    .set_egress = e2b_set_egress,
};

static const struct corral_plugin e2b_plugin = {
    .struct_size = sizeof(struct corral_plugin),
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "e2b",
    .version = "0.1.0",
    .description = "E2B cloud sandboxes (Firecracker microVMs) over the E2B API and envd",
    .options = e2b_options,
    .option_size = sizeof(struct corral_option),
    .ops = &e2b_ops,
    .init2 = e2b_init,
    .fini = e2b_fini,
    .state_size = sizeof(struct e2b),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    return corral_offer_host(offer, 1) ? &e2b_plugin : NULL;
}
