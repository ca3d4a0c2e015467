/*
 * The registry client: GETs (and HEADs) of the OCI distribution API over the host's
 * HTTP service (plugin_host/http.c: retries, deadlines, redaction), with
 * the token dance (401 + WWW-Authenticate: Bearer realm/service/scope ->
 * GET realm -> retry with the token), basic logins, and redirects to blob
 * storage followed by hand so the registry's Authorization never reaches
 * another host.  See docs/images.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "images/images_internal.h"

#define MAX_REDIRECTS 5
#define TOKEN_MAX_BODY ((size_t)1 << 20)
#define ERROR_MAX_BODY ((size_t)64 << 10)

int crl_registry_init(struct crl_registry *r, const char *base, const char *host, const char *repo, int64_t stall_ms,
                      struct corral_call *call)
{
    memset(r, 0, sizeof *r);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    if (bl >= sizeof r->base || strlen(host) >= sizeof r->host || strlen(repo) >= sizeof r->repo)
        return corral_call_fail(call, CORRAL_EINVAL, "registry address too long");
    memcpy(r->base, base, bl);
    r->base[bl] = '\0';
    snprintf(r->host, sizeof r->host, "%s", host);
    snprintf(r->repo, sizeof r->repo, "%s", repo);
    r->stall_ms = stall_ms;
    return 0;
}

void crl_registry_free(struct crl_registry *r)
{
    crl_wipe_free(r->auth);
    r->auth = NULL;
}

/* Percent-encode s (RFC 3986 unreserved kept) onto b. */
static int add_escaped(struct crl_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c);
        if (keep ? crl_buf_add(b, s, 1) : crl_buf_addf(b, "%%%02X", c))
            return -1;
    }
    return 0;
}

/* "Authorization: Basic base64(user:pass)" (wiped by the caller), or NULL. */
static char *basic_header(const char *user, const char *pass)
{
    struct crl_buf up = {0};
    char *h = NULL;
    if (crl_buf_addf(&up, "%s:%s", user, pass) == 0) {
        char *b = crl_b64_encode(up.p, up.len);
        if (b && asprintf(&h, "Authorization: Basic %s", b) < 0)
            h = NULL;
        crl_wipe_free(b);
    }
    if (up.p)
        explicit_bzero(up.p, up.len);
    crl_buf_free(&up);
    return h;
}

/* The Bearer token for r from the challenge's realm. */
static int fetch_token(struct crl_registry *r, const struct crl_www_auth *ch, struct corral_call *call)
{
    if (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0)
        return corral_call_fail(call, CORRAL_EPROTO, "%s: the token realm '%.200s' is not an http(s) URL", r->host,
                                ch->realm);
    char *user = NULL, *pass = NULL;
    int have = crl_registry_login(r->host, &user, &pass, call);
    if (have < 0)
        return have;
    struct crl_buf url = {0};
    int oom = crl_buf_puts(&url, ch->realm) || crl_buf_puts(&url, strchr(ch->realm, '?') ? "&" : "?");
    if (ch->service[0])
        oom = oom || crl_buf_puts(&url, "service=") || add_escaped(&url, ch->service) || crl_buf_puts(&url, "&");
    oom = oom || crl_buf_puts(&url, "scope=");
    if (ch->scope[0])
        oom = oom || add_escaped(&url, ch->scope);
    else
        oom = oom || crl_buf_puts(&url, "repository%3A") || add_escaped(&url, r->repo) || crl_buf_puts(&url, "%3Apull");
    char *auth = have ? basic_header(user, pass) : NULL;
    crl_wipe_free(user);
    crl_wipe_free(pass);
    if (oom || (have && !auth)) {
        crl_buf_free(&url);
        crl_wipe_free(auth);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    const char *hdrs[] = {auth, NULL};
    struct corral_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url.p,
                                      .headers = auth ? hdrs : NULL, .max_attempts = 3, .backoff_ms = 300,
                                      .max_body = TOKEN_MAX_BODY};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    corral_log(CORRAL_LOG_DEBUG, "image", "%s: asking %s for a token (%s)", r->host, ch->realm,
               have ? "with the login from config.json" : "anonymously");
    int rc = crl_http_stall(&req, &resp, r->stall_ms, call);
    crl_wipe_free(auth);
    crl_buf_free(&url);
    if (!rc && (resp.status == 401 || resp.status == 403))
        rc = corral_call_fail(call, CORRAL_EAUTH, "%s: the token service refused %s (HTTP %ld)", r->host,
                              have ? "the login from config.json" : "an anonymous pull", resp.status);
    else if (!rc && resp.status != 200)
        rc = corral_call_fail(call, CORRAL_EPROTO, "%s: the token service answered HTTP %ld", r->host, resp.status);
    if (rc) {
        crl_http_response_free(&resp);
        return rc;
    }
    cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
    if (!cJSON_IsString(t) || !t->valuestring[0])
        t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 64 * 1024 ||
        strpbrk(t->valuestring, "\r\n"))
        rc = corral_call_fail(call, CORRAL_EPROTO, "%s: the token service's answer has no token", r->host);
    else if (!(r->auth = crl_bearer_header(t->valuestring)))
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    if (cJSON_IsString(t))
        explicit_bzero(t->valuestring, strlen(t->valuestring));
    cJSON_Delete(j);
    explicit_bzero(resp.body, resp.body_len);
    crl_http_response_free(&resp);
    return rc;
}

/* Earn an Authorization header from a 401's challenge. */
static int answer_challenge(struct crl_registry *r, const struct corral_http_response *resp,
                            struct corral_call *call)
{
    char v[2048];
    struct crl_www_auth ch;
    if (!crl_http_header_value(resp->headers, "WWW-Authenticate", v, sizeof v) || crl_www_auth_parse(v, &ch) != 0)
        return corral_call_fail(call, CORRAL_EAUTH, "%s: HTTP 401 without a usable WWW-Authenticate challenge",
                                r->host);
    crl_wipe_free(r->auth);
    r->auth = NULL;
    if (strcasecmp(ch.scheme, "Bearer") == 0)
        return fetch_token(r, &ch, call);
    if (strcasecmp(ch.scheme, "Basic") != 0)
        return corral_call_fail(call, CORRAL_EAUTH, "%s: authentication scheme '%s' is not supported", r->host,
                                ch.scheme);
    char *user = NULL, *pass = NULL;
    int have = crl_registry_login(r->host, &user, &pass, call);
    if (have < 0)
        return have;
    if (!have)
        return corral_call_fail(call, CORRAL_EAUTH, "%s: the registry needs a login and config.json has none for it",
                                r->host);
    r->auth = basic_header(user, pass);
    crl_wipe_free(user);
    crl_wipe_free(pass);
    return r->auth ? 0 : corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
}

/* The redirect target of resp against url into out (absolute, or a path
 * on url's scheme and host). */
static int redirect_target(const char *url, const struct corral_http_response *resp, struct crl_buf *out)
{
    char loc[4096];
    if (!crl_http_header_value(resp->headers, "Location", loc, sizeof loc) || !loc[0])
        return -1;
    out->len = 0;
    if (strncmp(loc, "https://", 8) == 0 || strncmp(loc, "http://", 7) == 0)
        return crl_buf_puts(out, loc) ? -1 : 0;
    if (loc[0] != '/')
        return -1;
    const char *h = strstr(url, "://");
    if (!h)
        return -1;
    size_t origin = (size_t)(h + 3 - url) + strcspn(h + 3, "/");
    return crl_buf_add(out, url, origin) || crl_buf_puts(out, loc) ? -1 : 0;
}

/* Whether url has base's scheme, host and port (followed by its path). */
static int same_origin(const char *base, const char *url)
{
    const char *h = strstr(base, "://");
    if (!h)
        return 0;
    size_t n = (size_t)(h + 3 - base) + strcspn(h + 3, "/");
    return strncmp(base, url, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

int crl_registry_get(struct crl_registry *r, const char *what, const char *accept, const struct corral_sink *sink,
                     size_t max_body, struct corral_http_response *resp, struct corral_call *call)
{
    return crl_registry_request(r, "GET", what, accept, sink, max_body, resp, call);
}

int crl_registry_request(struct crl_registry *r, const char *method, const char *what, const char *accept,
                         const struct corral_sink *sink, size_t max_body, struct corral_http_response *resp,
                         struct corral_call *call)
{
    struct crl_buf url = {0};
    if (crl_buf_addf(&url, "%s/v2/%s/%s", r->base, r->repo, what))
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    int own = 1, challenged = 0, rc = 0;
    char acc[512];
    snprintf(acc, sizeof acc, "Accept: %s", accept ? accept : "*/*");
    for (int hop = 0;; hop++) {
        const char *hdrs[3] = {acc, own ? r->auth : NULL, NULL};
        struct corral_http_request req = {.struct_size = sizeof req, .method = method, .url = url.p, .headers = hdrs,
                                          .max_attempts = 3, .backoff_ms = 300, .body_sink = sink,
                                          .max_body = max_body ? max_body : ERROR_MAX_BODY};
        memset(resp, 0, sizeof *resp);
        resp->struct_size = sizeof *resp;
        rc = crl_http_stall(&req, resp, r->stall_ms, call);
        if (rc)
            break;
        long st = resp->status;
        if (st >= 200 && st < 300)
            break;
        if (st == 401 && own && !challenged) {
            challenged = 1;
            rc = answer_challenge(r, resp, call);
            crl_http_response_free(resp);
            if (rc)
                break;
            hop--;
            continue;
        }
        if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) && hop < MAX_REDIRECTS) {
            struct crl_buf next = {0};
            if (redirect_target(url.p, resp, &next) != 0) {
                crl_buf_free(&next);
                rc = corral_call_fail(call, CORRAL_EPROTO, "%s: redirect (HTTP %ld) without a usable Location",
                                      r->host, st);
                break;
            }
            crl_http_response_free(resp);
            crl_buf_free(&url);
            url = next;
            own = same_origin(r->base, url.p); /* the registry's Authorization stays with the registry */
            continue;
        }
        if (st == 401 || st == 403)
            rc = corral_call_fail(call, CORRAL_EAUTH, "%s: access to %s denied (HTTP %ld)%s", r->host, r->repo, st,
                                  r->auth ? "" : " (no login in config.json)");
        else if (st == 404)
            rc = corral_call_fail(call, CORRAL_ENOTFOUND, "%s: %s/%s not found (HTTP 404)", r->host, r->repo, what);
        else if (st == 429 || st >= 500)
            rc = corral_call_fail(call, CORRAL_ETRANSIENT, "%s: %s %s answered HTTP %ld", r->host, method, what, st);
        else
            rc = corral_call_fail(call, CORRAL_EPROTO, "%s: %s %s answered HTTP %ld", r->host, method, what, st);
        break;
    }
    if (rc)
        crl_http_response_free(resp);
    crl_buf_free(&url);
    return rc;
}
