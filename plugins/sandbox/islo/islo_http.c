/*
 * The Islo HTTP client: API-key -> session token exchange (cached, renewed
 * 60 s before cookie_max_age runs out, and once more after a 401), the two
 * base URLs, and the classification of error answers.  The API key and the
 * token travel only in request bodies/headers the host redacts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "islo.h"

int islo_sleep(struct islo *p, int64_t ms, corral_call *call)
{
    const struct corral_host *h = p->host;
    int64_t end = h->now_ms() + ms;
    for (;;) {
        if (h->cancelled(call))
            return h->fail(call, CORRAL_ECANCELED, "islo: cancelled");
        int64_t left = end - h->now_ms();
        if (left <= 0)
            return 0;
        if (h->remaining_ms(call) <= left)
            return h->fail(call, CORRAL_ETIMEDOUT, "islo: the call's deadline passed while waiting");
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

int islo_status_code(long status, const char *code, const char *msg)
{
    if (status == 409 && strcmp(code, "SANDBOX_ALREADY_EXISTS") == 0)
        return CORRAL_EEXIST;
    if (status == 400 && strstr(msg, "already exists"))
        return CORRAL_EEXIST;
    if (strncmp(code, "AUTH_", 5) == 0)
        return CORRAL_EAUTH;
    return corral_status_from_http(status);
}

int islo_fail_http(struct islo *p, const struct corral_http_response *resp, const char *what, corral_call *call)
{
    char code[64], msg[256];
    islo_parse_error(resp->body, resp->body_len, code, sizeof code, msg, sizeof msg);
    int rc = islo_status_code(resp->status, code, msg);
    return p->host->fail(call, rc, "islo: %s: HTTP %ld%s%s%s%s", what, resp->status, code[0] ? " " : "", code,
                         msg[0] ? ": " : "", msg);
}

/* Exchange the API key for a session token.  Caller holds p->lock. */
static int exchange(struct islo *p, corral_call *call)
{
    const struct corral_host *h = p->host;
    char *key = NULL;
    int rc = h->secret(p->api_key_env, &key, call);
    if (rc)
        return rc;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "access_key", key);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    crl_wipe_free(key);
    if (!body)
        return h->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    char url[1024];
    snprintf(url, sizeof url, "%.*s/auth/token", p->control_len, p->control_url);
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", NULL};
    struct corral_http_request req = {.struct_size = sizeof req, .method = "POST", .url = url, .headers = hdrs,
                                      .body = body, .body_len = strlen(body), .timeout_ms = 10000,
                                      .max_attempts = (int)p->attempts, .backoff_ms = p->backoff_ms,
                                      .idempotent = CORRAL_HTTP_IDEMPOTENT}; /* a second token is harmless */
    struct corral_http_response resp = {.struct_size = sizeof resp};
    rc = h->http(&req, &resp, call);
    crl_wipe_free(body);
    if (rc == 0 && (resp.status < 200 || resp.status >= 300)) {
        rc = islo_fail_http(p, &resp, "token exchange", call);
        if (resp.status == 401)
            rc = h->fail(call, CORRAL_EAUTH, "islo: the API key in %s was refused (HTTP 401)", p->api_key_env);
    } else if (rc == 0) {
        cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "session_token");
        const cJSON *age = cJSON_GetObjectItemCaseSensitive(j, "cookie_max_age");
        if (!cJSON_IsString(t) || !t->valuestring[0]) {
            rc = h->fail(call, CORRAL_EPROTO, "islo: token exchange answered without session_token");
        } else {
            double a = cJSON_IsNumber(age) ? age->valuedouble : 600;
            int64_t keep_ms = (int64_t)(a - 60) * 1000;
            crl_wipe_free(p->token);
            p->token = strdup(t->valuestring);
            p->token_expires_ms = h->now_ms() + (keep_ms > 0 ? keep_ms : 0);
        }
        cJSON_Delete(j);
    }
    h->http_response_free(&resp);
    return rc;
}

/* A copy of a valid token in *out (exchanging first when needed or forced). */
static int get_token(struct islo *p, int force, char **out, corral_call *call)
{
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    if (force || !p->token || p->host->now_ms() >= p->token_expires_ms)
        rc = exchange(p, call);
    if (rc == 0) {
        *out = strdup(p->token);
        if (!*out)
            rc = p->host->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int islo_http(struct islo *p, const struct islo_req *r, struct corral_http_response *resp, corral_call *call)
{
    const struct corral_host *h = p->host;
    char url[4096];
    int ctl = r->hostsel == ISLO_CONTROL;
    snprintf(url, sizeof url, "%.*s/%s", ctl ? p->control_len : p->compute_len, ctl ? p->control_url : p->compute_url,
             r->path[0] == '/' ? r->path + 1 : r->path);
    for (int round = 0;; round++) {
        char *tok = NULL;
        memset(resp, 0, sizeof *resp);
        resp->struct_size = sizeof *resp;
        int rc = get_token(p, round > 0, &tok, call);
        if (rc)
            return rc;
        char *auth = crl_bearer_header(tok);
        crl_wipe_free(tok);
        if (!auth)
            return h->fail(call, CORRAL_ENOMEM, "islo: out of memory");
        char ctype[256] = "Accept: application/json";
        const char *hdrs[4] = {auth, "Accept: application/json", NULL, NULL};
        if (r->json)
            hdrs[2] = "Content-Type: application/json";
        else if (r->ctype) {
            snprintf(ctype, sizeof ctype, "Content-Type: %s", r->ctype);
            hdrs[2] = ctype;
        }
        struct corral_http_request req = {
            .struct_size = sizeof req, .method = r->method, .url = url, .headers = hdrs,
            .body = r->json ? r->json : r->body, .body_len = r->json ? strlen(r->json) : r->body_len,
            .body_source = r->src, .timeout_ms = p->request_timeout_ms,
            .max_attempts = r->attempts ? r->attempts : (int)p->attempts, .backoff_ms = p->backoff_ms,
            .body_sink = r->sink, .idempotent = r->idempotent};
        rc = h->http(&req, resp, call);
        crl_wipe_free(auth);
        if (rc == 0 && resp->status == 401 && round == 0 && !r->src) {
            char code[64], msg[64];
            islo_parse_error(resp->body, resp->body_len, code, sizeof code, msg, sizeof msg);
            h->log(h, CORRAL_LOG_INFO, "islo: %s %s: token refused (%s); exchanging the API key again", r->method,
                   r->path, code[0] ? code : "401");
            h->http_response_free(resp);
            continue;
        }
        return rc;
    }
}

int islo_get_json(struct islo *p, int hostsel, const char *path, const char *what, cJSON **out, corral_call *call)
{
    struct corral_http_response resp;
    struct islo_req r = {.hostsel = hostsel, .method = "GET", .path = path};
    *out = NULL;
    int rc = islo_http(p, &r, &resp, call);
    if (rc == 0 && !(resp.status >= 200 && resp.status < 300))
        rc = islo_fail_http(p, &resp, what, call);
    if (rc == 0)
        *out = cJSON_ParseWithLength(resp.body, resp.body_len);
    p->host->http_response_free(&resp);
    return rc;
}
