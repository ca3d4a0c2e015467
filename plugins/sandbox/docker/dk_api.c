/* Engine API transport: every request goes through the host's HTTP service
 * (libcurl in the host) over the unix socket or tcp:// of DOCKER_HOST.
 * The API version is negotiated once with GET /_ping (Api-Version header),
 * clamped to [1.DK_API_MIN_MINOR, 1.DK_API_MAX_MINOR], and prefixed to
 * every path. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dk.h"

int dk_api_set_host(struct dk_plugin *p, const char *host, corral_call *call)
{
    const struct corral_host *h = p->host;
    free(p->socket);
    free(p->base);
    p->socket = p->base = NULL;
    if (!host || !*host)
        host = "unix:///var/run/docker.sock";
    if (strncmp(host, "unix://", 7) == 0 && host[7] == '/') {
        p->socket = strdup(host + 7);
        p->base = strdup("http://localhost");
    } else if (strncmp(host, "tcp://", 6) == 0 && host[6] && !strpbrk(host + 6, "/?#@ ")) {
        size_t n = strlen(host + 6) + 8;
        p->base = malloc(n);
        if (p->base)
            snprintf(p->base, n, "http://%s", host + 6);
    } else {
        return h->fail(call, CORRAL_ECONFIG,
                       "docker host '%s' is neither unix:///path nor tcp://host:port", host);
    }
    if (!p->base || (strncmp(host, "unix", 4) == 0 && !p->socket))
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    return 0;
}

char *dk_pathf(const char *fmt, ...)
{
    va_list ap;
    size_t cap = strlen(fmt) + 1;
    va_start(ap, fmt);
    for (const char *f = strstr(fmt, "%s"); f; f = strstr(f + 2, "%s"))
        cap += 3 * strlen(va_arg(ap, const char *)); /* always enough */
    va_end(ap);
    char *o = malloc(cap);
    if (!o)
        return NULL;
    size_t n = 0;
    va_start(ap, fmt);
    for (const char *f = fmt; *f;) {
        if (f[0] == '%' && f[1] == 's') {
            o[n] = '\0';
            corral_url_escape(o, cap, va_arg(ap, const char *), "/"); /* '/' kept, as in image names */
            n = strlen(o);
            f += 2;
        } else {
            o[n++] = *f++;
        }
    }
    va_end(ap);
    o[n] = '\0';
    return o;
}

void dk_resp_free(struct dk_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* One raw request without the version prefix logic. */
static int raw(struct dk_plugin *p, const char *method, const char *fullpath, const char *json,
               const struct corral_source *src, const char *ctype, const struct corral_sink *sink,
               int64_t timeout_ms, int attempts, const char *extra, const char *const *redact, struct dk_resp *r,
               corral_call *call)
{
    const struct corral_host *h = p->host;
    size_t ul = strlen(p->base) + strlen(fullpath) + 1;
    char *url = malloc(ul);
    if (!url)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    snprintf(url, ul, "%s%s", p->base, fullpath);
    char cth[96];
    const char *hdrs[4] = {NULL, NULL, NULL, NULL};
    size_t nh = 0;
    if (json || src) {
        snprintf(cth, sizeof cth, "Content-Type: %s", json ? "application/json" : ctype);
        hdrs[nh++] = cth;
    }
    if (!json && !src && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
        hdrs[nh++] = "Content-Length: 0";
    if (extra)
        hdrs[nh++] = extra;
    struct corral_http_request req = {
        .struct_size = sizeof req,
        .method = method,
        .url = url,
        .unix_socket = p->socket,
        .headers = hdrs,
        .body = json,
        .body_len = json ? strlen(json) : 0,
        .body_source = src,
        .timeout_ms = timeout_ms,
        .max_attempts = attempts < 1 ? 1 : attempts,
        .backoff_ms = 100,
        .body_sink = sink,
        .redact_headers = redact,
    };
    struct corral_http_response resp = {.struct_size = sizeof resp};
    int rc = h->http(&req, &resp, call);
    free(url);
    memset(r, 0, sizeof *r);
    r->status = resp.status;
    if (resp.body) {
        r->body = malloc(resp.body_len + 1);
        if (r->body) {
            memcpy(r->body, resp.body, resp.body_len);
            r->body[resp.body_len] = '\0';
            r->body_len = resp.body_len;
        }
    }
    if (resp.headers)
        r->headers = strdup(resp.headers);
    h->http_response_free(&resp);
    return rc;
}

static int negotiate(struct dk_plugin *p, corral_call *call)
{
    const struct corral_host *h = p->host;
    pthread_mutex_lock(&p->lock);
    if (p->api[0]) {
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    pthread_mutex_unlock(&p->lock);
    struct dk_resp r;
    int rc = raw(p, "GET", "/_ping", NULL, NULL, NULL, NULL, 10000, 2, NULL, NULL, &r, call);
    if (rc) {
        dk_resp_free(&r);
        return h->fail(call, rc, "docker daemon at %s%s unreachable",
                       p->socket ? "unix://" : p->base, p->socket ? p->socket : "");
    }
    char v[32];
    int major = 0, minor = 0;
    if (r.status != 200 || !r.headers || !crl_http_header_value(r.headers, "Api-Version", v, sizeof v) ||
        sscanf(v, "%d.%d", &major, &minor) != 2) {
        rc = h->fail(call, CORRAL_EPROTO, "docker /_ping answered %ld without an Api-Version", r.status);
        dk_resp_free(&r);
        return rc;
    }
    dk_resp_free(&r);
    if (major != 1 || minor < DK_API_MIN_MINOR)
        return h->fail(call, CORRAL_ENOTSUP, "docker API %d.%d is older than the 1.%d this plugin needs",
                       major, minor, DK_API_MIN_MINOR);
    if (minor > DK_API_MAX_MINOR)
        minor = DK_API_MAX_MINOR;
    pthread_mutex_lock(&p->lock);
    snprintf(p->api, sizeof p->api, "/v1.%d", minor);
    pthread_mutex_unlock(&p->lock);
    h->log(h, CORRAL_LOG_DEBUG, "docker: speaking API 1.%d", minor);
    return 0;
}

static int api(struct dk_plugin *p, const char *method, const char *path, const char *json,
               const struct corral_source *src, const char *content_type, const struct corral_sink *sink,
               int64_t timeout_ms, int attempts, const char *extra, const char *const *redact, struct dk_resp *r,
               corral_call *call)
{
    memset(r, 0, sizeof *r);
    int rc = negotiate(p, call);
    if (rc)
        return rc;
    char api[16];
    pthread_mutex_lock(&p->lock);
    memcpy(api, p->api, sizeof api);
    pthread_mutex_unlock(&p->lock);
    /* A NULL call (cleanup after a cancelled one) is never unbounded. */
    if (!call && timeout_ms <= 0)
        timeout_ms = 15000;
    size_t n = strlen(api) + strlen(path) + 1;
    char *full = malloc(n);
    if (!full)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    snprintf(full, n, "%s%s", api, path);
    rc = raw(p, method, full, json, src, content_type, sink, timeout_ms, attempts, extra, redact, r, call);
    free(full);
    return rc;
}

int dk_api(struct dk_plugin *p, const char *method, const char *path, const char *json,
           const struct corral_source *src, const char *content_type,
           const struct corral_sink *sink, int64_t timeout_ms, int attempts,
           struct dk_resp *r, corral_call *call)
{
    return api(p, method, path, json, src, content_type, sink, timeout_ms, attempts, NULL, NULL, r, call);
}

int dk_api_h(struct dk_plugin *p, const char *method, const char *path, const char *hname, const char *hvalue,
             const struct corral_sink *sink, int64_t timeout_ms, int attempts, struct dk_resp *r, corral_call *call)
{
    if (!hname || !hvalue)
        return api(p, method, path, NULL, NULL, NULL, sink, timeout_ms, attempts, NULL, NULL, r, call);
    size_t n = strlen(hname) + strlen(hvalue) + 3;
    char *hdr = malloc(n);
    if (!hdr) {
        memset(r, 0, sizeof *r);
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    snprintf(hdr, n, "%s: %s", hname, hvalue);
    const char *redact[] = {hname, NULL};
    int rc = api(p, method, path, NULL, NULL, NULL, sink, timeout_ms, attempts, hdr, redact, r, call);
    explicit_bzero(hdr, n); /* may be a registry login */
    free(hdr);
    return rc;
}

int dk_api_fail(struct dk_plugin *p, const struct dk_resp *r, const char *what, corral_call *call)
{
    char msg[512] = "";
    cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m))
        snprintf(msg, sizeof msg, "%s", m->valuestring);
    else if (r->body)
        snprintf(msg, sizeof msg, "%.200s", r->body);
    cJSON_Delete(j);
    int code = r->status == 404 ? CORRAL_ENOTFOUND
             : r->status == 409 ? CORRAL_ESTATE
             : r->status >= 500 ? CORRAL_ETRANSIENT
             : r->status == 400 ? CORRAL_EINVAL
             : r->status == 401 || r->status == 403 ? CORRAL_EPERM
             : CORRAL_EPROTO;
    return p->host->fail(call, code, "docker %s: HTTP %ld: %s", what, r->status, msg);
}

cJSON *dk_json(struct dk_plugin *p, const struct dk_resp *r, const char *what, corral_call *call)
{
    cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
    if (!j)
        p->host->fail(call, CORRAL_EPROTO, "docker %s: unparseable JSON answer", what);
    return j;
}

int dk_api_probe(struct dk_plugin *p, const char *method, const char *path, const char *what, corral_call *call)
{
    struct dk_resp r;
    int rc = dk_api(p, method, path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    if (rc == 0)
        rc = r.status == 200 ? 1 : r.status == 404 ? 0 : dk_api_fail(p, &r, what, call);
    dk_resp_free(&r);
    return rc;
}
