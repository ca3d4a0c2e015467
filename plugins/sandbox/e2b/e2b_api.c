/* The E2B control plane (REST + JSON over host->http), see docs/backends/e2b.md. */
#include <stdlib.h>
#include <string.h>

#include "e2b.h"

int e2b_api_classify(long status)
{
    /* E2B answers 403 for a key it does not accept: an auth failure. */
    return status == 403 ? CORRAL_EAUTH : corral_status_from_http(status);
}

/* 1 for the POSTs whose second run changes nothing (connect, pause). */
static int e2b_api_rerun_safe(const char *method, const char *path)
{
    const char *slash = strrchr(path, '/');
    return strcmp(method, "POST") == 0 && slash && slash != path &&
           (strcmp(slash, "/connect") == 0 || strcmp(slash, "/pause") == 0);
}

int e2b_api(struct e2b *p, const char *method, const char *path, const cJSON *body, int attempts,
            const char *what, cJSON **out_json, long *status, char **out_headers, corral_call *call)
{
    const struct corral_host *h = p->host;
    if (out_json)
        *out_json = NULL;
    if (out_headers)
        *out_headers = NULL;
    *status = 0;
    char *key = NULL;
    int rc = h->secret(p->api_key_env, &key, call);
    if (rc != 0)
        return rc;
    char *key_hdr = e2b_xasprintf("X-API-Key: %s", key);
    crl_wipe_free(key);
    char *url = e2b_xasprintf("%s%s", p->api_url, path);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (!key_hdr || !url || (body && !text)) {
        crl_wipe_free(key_hdr);
        free(url);
        free(text);
        return h->fail(call, CORRAL_ENOMEM, "e2b: out of memory");
    }
    const char *headers[] = {key_hdr, "Content-Type: application/json", "Accept: application/json", NULL};
    struct corral_http_request req = {
        .struct_size = sizeof req,
        .method = method,
        .url = url,
        .headers = headers,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .timeout_ms = p->request_timeout_ms,
        .max_attempts = attempts > 0 ? attempts : p->max_attempts,
        .backoff_ms = p->backoff_ms,
        /* A non-idempotent create must reach the server at most once per
         * attempt (see e2b_create). */
        .fresh_connection = strcmp(method, "POST") == 0 && strcmp(path, "/sandboxes") == 0,
        /* connect sets the timeout to the time left until corral.deadline
         * and resumes; pause is a state change (409 when already paused):
         * twice is once, so a lost answer is re-sent. */
        .idempotent = e2b_api_rerun_safe(method, path) ? CORRAL_HTTP_IDEMPOTENT : CORRAL_HTTP_BY_METHOD,
    };
    struct corral_http_response resp = {.struct_size = sizeof resp};
    rc = h->http(&req, &resp, call);
    crl_wipe_free(key_hdr);
    free(text);
    *status = resp.status;
    if (rc == 0 && (resp.status < 200 || resp.status >= 300)) {
        cJSON *e = cJSON_Parse(resp.body ? resp.body : "");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        rc = h->fail(call, e2b_api_classify(resp.status), "e2b: %s: HTTP %ld: %.300s", what, resp.status,
                     cJSON_IsString(m) ? m->valuestring : (resp.body ? resp.body : ""));
        cJSON_Delete(e);
    } else if (rc == 0 && out_json && resp.body_len > 0) {
        *out_json = cJSON_Parse(resp.body);
        if (!*out_json)
            rc = h->fail(call, CORRAL_EPROTO, "e2b: %s: the API answered unparseable JSON", what);
    }
    if (rc == 0 && out_headers && resp.headers) {
        *out_headers = resp.headers;
        resp.headers = NULL;
    }
    h->http_response_free(&resp);
    free(url);
    return rc;
}
