/*
 * The HTTP host service: libcurl with retries, exponential backoff with
 * jitter, the call's deadline and cancellation, streaming bodies, and
 * header redaction in logs.  Each thread reuses one curl handle so
 * connections (including unix-socket ones to dockerd) stay alive.  This is
 * the one place that decides whether a request may be sent again: only
 * idempotent ones (by method or the request's word), and non-idempotent
 * ones only when the failure proves they were not processed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base/internal.h"

#define HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static pthread_key_t http_key;

static void http_handle_free(void *h)
{
    curl_easy_cleanup(h);
}

static void http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&http_key, http_handle_free);
}

static CURL *http_handle(void)
{
    pthread_once(&http_once, http_global_init);
    CURL *h = pthread_getspecific(http_key);
    if (!h) {
        h = curl_easy_init();
        if (h)
            pthread_setspecific(http_key, h);
    } else {
        curl_easy_reset(h);
    }
    return h;
}

struct xfer {
    const struct corral_http_request *req;
    struct corral_call *call;
    CURL *h;
    struct crl_buf body, hdrs;
    size_t max_body;
    int streamed;       /* bytes of a 2xx body went to the caller's sink */
    int sink_status;    /* the sink's error, if it aborted */
    int overflow;
    int idempotent;     /* request_idempotent(req) */
};

static int is_success(CURL *h)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = sz * n;
    const struct corral_sink *sink = x->req->body_sink;
    /* Only a successful body streams to the caller; error bodies are kept
     * for the message and so that the request can still be retried. */
    if (sink && is_success(x->h)) {
        x->streamed = 1;
        int r = sink->write(sink->ud, p, len);
        if (r < 0) {
            x->sink_status = r;
            return 0;
        }
        return len;
    }
    if (x->body.len + len > x->max_body) {
        x->overflow = 1;
        return 0;
    }
    return crl_buf_add(&x->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        x->hdrs.len = 0; /* a new response (after 100 Continue or a redirect) */
    return crl_buf_add(&x->hdrs, p, len) == 0 ? len : 0;
}

static int source_rewindable(const struct corral_source *src)
{
    return src && CORRAL_HAS_FIELD(src, rewind) && src->rewind;
}

/* Whether sending the request twice does no more than sending it once: the
 * request's explicit word, else its method (see corral_http_request). */
static int request_idempotent(const struct corral_http_request *req)
{
    if (CORRAL_HAS_FIELD(req, fresh_connection) && req->fresh_connection)
        return 0;
    if (CORRAL_HAS_FIELD(req, idempotent) && req->idempotent != CORRAL_HTTP_BY_METHOD)
        return req->idempotent > 0;
    static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < CRL_ARRAY_LEN(safe); i++)
        if (strcmp(req->method, safe[i]) == 0)
            return 1;
    return 0;
}

static size_t on_upload(char *p, size_t sz, size_t n, void *ud)
{
    struct xfer *x = ud;
    const struct corral_source *src = x->req->body_source;
    long r = src->read(src->ud, p, sz * n);
    if (r < 0)
        return CURL_READFUNC_ABORT;
    return (size_t)r;
}

/* libcurl asks to rewind the body when it must send it again on a new
 * connection; only a source that can start over may be resent. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct xfer *x = ud;
    const struct corral_source *src = x->req->body_source;
    if (offset != 0 || origin != SEEK_SET || !source_rewindable(src))
        return CURL_SEEKFUNC_CANTSEEK;
    return src->rewind(src->ud) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct xfer *x = ud;
    return corral_call_cancelled(x->call) ? 1 : 0;
}

static int always_redacted(const char *name, size_t len)
{
    static const char *const names[] = {"authorization", "x-api-key", "x-access-token",
                                        "x-sandbox-token", "proxy-authorization", "cookie"};
    for (size_t i = 0; i < CRL_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

/* Whether the header line "Name: value" must be shown as "Name: <redacted>". */
static int header_redacted(const struct corral_http_request *req, const char *line)
{
    const char *colon = strchr(line, ':');
    size_t len = colon ? (size_t)(colon - line) : strlen(line);
    if (always_redacted(line, len))
        return 1;
    if (CORRAL_HAS_FIELD(req, redact_headers) && req->redact_headers)
        for (const char *const *r = req->redact_headers; *r; r++)
            if (strlen(*r) == len && strncasecmp(*r, line, len) == 0)
                return 1;
    return 0;
}

static void log_request(const struct corral_http_request *req, int attempt)
{
    corral_log(CORRAL_LOG_DEBUG, "http", "%s %s%s%s (attempt %d)", req->method, req->url,
               req->unix_socket ? " via " : "", req->unix_socket ? req->unix_socket : "", attempt);
    if (req->headers)
        for (const char *const *h = req->headers; *h; h++) {
            if (header_redacted(req, *h)) {
                const char *colon = strchr(*h, ':');
                int len = colon ? (int)(colon - *h) : (int)strlen(*h);
                corral_log(CORRAL_LOG_DEBUG, "http", "  %.*s: <redacted>", len, *h);
            } else {
                corral_log(CORRAL_LOG_DEBUG, "http", "  %s", *h);
            }
        }
}

static int curl_transient(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_FAIL_REWIND: /* the connection died under a one-shot body */
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Perform one attempt; returns the CURLcode. */
static CURLcode perform(struct xfer *x, struct curl_slist *hl, int64_t timeout_ms, int64_t stall_ms)
{
    const struct corral_http_request *req = x->req;
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->unix_socket)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
    if (!x->idempotent) {
        /* A new connection is never "reused", so libcurl does not resend
         * the request if it dies before the answer. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (req->body_source) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
        if (req->body_source->length >= 0)
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_source->length);
    } else if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if (timeout_ms > 0 && timeout_ms < INT64_MAX)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (stall_ms > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((stall_ms + 999) / 1000));
    }
    x->body.len = 0;
    x->hdrs.len = 0;
    if (x->body.p)
        x->body.p[0] = '\0';
    return curl_easy_perform(h);
}

int crl_http(const struct corral_http_request *req, struct corral_http_response *resp,
             struct corral_call *call)
{
    return crl_http_stall(req, resp, 0, call);
}

int crl_http_stall(const struct corral_http_request *req, struct corral_http_response *resp, int64_t stall_ms,
                   struct corral_call *call)
{
    size_t rsize = resp->struct_size ? resp->struct_size : sizeof *resp;
    memset(resp, 0, rsize < sizeof *resp ? rsize : sizeof *resp);
    resp->struct_size = rsize;
    if (!req || !req->method || !req->url)
        return corral_call_fail(call, CORRAL_EINVAL, "http: request without method or url");

    struct xfer x = {.req = req, .call = call, .idempotent = request_idempotent(req)};
    x.max_body = CORRAL_HAS_FIELD(req, max_body) && req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
    x.h = http_handle();
    if (!x.h)
        return corral_call_fail(call, CORRAL_ENOMEM, "http: cannot create a curl handle");

    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    if (req->headers)
        for (const char *const *hp = req->headers; *hp; hp++)
            hl = curl_slist_append(hl, *hp);

    int attempts = req->max_attempts > 0 ? req->max_attempts : 1;
    int64_t backoff = req->backoff_ms > 0 ? req->backoff_ms : 200;
    int rc = 0, failed_before = 0;
    /* A failure the caller recorded before this request (e.g. the one a
     * cleanup request follows) is put back if a failed attempt of ours
     * is overcome, never wiped with ours. */
    int prior_status = call ? call->status : 0;
    char prior_message[sizeof call->message];
    if (prior_status)
        memcpy(prior_message, call->message, sizeof prior_message);
    for (int attempt = 1;; attempt++) {
        int64_t left = corral_call_remaining_ms(call);
        if (left <= 0) {
            rc = corral_call_fail(call, CORRAL_ETIMEDOUT, "%s %s: deadline passed", req->method, req->url);
            break;
        }
        int64_t limit = req->timeout_ms > 0 && req->timeout_ms < left ? req->timeout_ms : left;
        log_request(req, attempt);
        int64_t t0 = corral_now_ms();
        CURLcode cc = perform(&x, hl, limit, stall_ms);
        resp->attempts = attempt;
        curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &resp->status);

        int transient, unprocessed;
        if (cc == CURLE_OK) {
            transient = resp->status >= 500 || resp->status == 429;
            /* 429 and 503 are the services' refusals before processing. */
            unprocessed = resp->status == 429 || resp->status == 503;
            rc = 0;
        } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
            rc = corral_call_fail(call, CORRAL_ECANCELED, "%s %s: cancelled", req->method, req->url);
            break;
        } else if (cc == CURLE_WRITE_ERROR && x.sink_status) {
            rc = corral_call_fail(call, x.sink_status, "%s %s: the response consumer failed", req->method,
                                  req->url);
            break;
        } else if (cc == CURLE_WRITE_ERROR && x.overflow) {
            rc = corral_call_fail(call, CORRAL_EPROTO, "%s %s: response body larger than %zu bytes",
                                  req->method, req->url, x.max_body);
            break;
        } else if (cc == CURLE_OPERATION_TIMEDOUT) {
            transient = 1;
            unprocessed = 0;
            if (stall_ms > 0 && corral_now_ms() - t0 < limit)
                rc = corral_call_fail(call, CORRAL_ETIMEDOUT, "%s %s: stalled (no data for %lld s)", req->method,
                                      req->url, (long long)((stall_ms + 999) / 1000));
            else
                rc = corral_call_fail(call, CORRAL_ETIMEDOUT, "%s %s: timed out after %lld ms", req->method,
                                      req->url, (long long)limit);
        } else {
            transient = curl_transient(cc);
            /* Nothing was sent when no connection was made. */
            unprocessed = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
            if (transient && !x.idempotent && !unprocessed)
                rc = corral_call_fail(call, CORRAL_ETRANSIENT,
                                      "%s %s: %s after the request may have been sent (not resent: not "
                                      "idempotent)",
                                      req->method, req->url, curl_easy_strerror(cc));
            else
                rc = corral_call_fail(call, transient ? CORRAL_ETRANSIENT : CORRAL_EIO, "%s %s: %s",
                                      req->method, req->url, curl_easy_strerror(cc));
        }
        failed_before |= rc != 0;
        int retriable = transient && (x.idempotent || unprocessed) && !x.streamed &&
                        (!req->body_source || source_rewindable(req->body_source)) && attempt < attempts &&
                        !corral_call_cancelled(call);
        if (retriable && req->body_source && req->body_source->rewind(req->body_source->ud) != 0)
            retriable = 0;
        if (!retriable)
            break;
        /* Full jitter on an exponential backoff, bounded by the deadline. */
        int64_t wait = backoff / 2 + (int64_t)(rand() % (int)(backoff / 2 + 1));
        if (wait >= corral_call_remaining_ms(call))
            break;
        corral_log(CORRAL_LOG_INFO, "http", "%s %s: %s; retrying in %lld ms (attempt %d of %d)", req->method,
                   req->url, cc == CURLE_OK ? "server answered an error status" : curl_easy_strerror(cc),
                   (long long)wait, attempt + 1, attempts);
        sleep_ms(wait);
        backoff *= 2;
    }
    curl_slist_free_all(hl);
    if (rc == 0 && failed_before && call) {
        call->status = prior_status; /* an earlier attempt's failure was overcome */
        if (prior_status)
            memcpy(call->message, prior_message, sizeof call->message);
        else
            call->message[0] = '\0';
    }
    resp->body = x.body.p ? x.body.p : strdup("");
    resp->body_len = x.body.len;
    resp->headers = x.hdrs.p ? x.hdrs.p : strdup("");
    return rc;
}

void crl_http_response_free(struct corral_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->headers);
    resp->body = resp->headers = NULL;
}

int crl_secret(const char *env_name, char **out, struct corral_call *call)
{
    *out = NULL;
    if (!crl_is_env_name(env_name))
        return corral_call_fail(call, CORRAL_ECONFIG, "secret: '%s' is not an environment variable name",
                                env_name ? env_name : "(null)");
    const char *v = getenv(env_name);
    if (!v || !*v)
        return corral_call_fail(call, CORRAL_EAUTH, "secret: environment variable %s is not set", env_name);
    *out = strdup(v);
    return *out ? 0 : corral_call_fail(call, CORRAL_ENOMEM, "secret: out of memory");
}
