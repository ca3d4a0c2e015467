/* The HTTP host service against a real libmicrohttpd server on loopback:
 * retries on 5xx, no retry on 4xx, deadlines, streaming, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "base/internal.h"

static struct MHD_Daemon *daemon_;
static int port;
static int hits;
static int fail_first; /* answer 503 this many times, then 200 */
static char last_auth[256];

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) { /* swallow the body */
        *upload_size = 0;
        return MHD_YES;
    }
    hits++;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(last_auth, sizeof last_auth, "%s", auth ? auth : "");
    unsigned status = 200;
    const char *body = "{\"ok\":true}";
    char big[100000];
    if (strcmp(url, "/flaky") == 0 && hits <= fail_first) {
        status = 503;
        body = "{\"error\":\"busy\"}";
    } else if (strcmp(url, "/missing") == 0) {
        status = 404;
        body = "{\"error\":\"no such thing\"}";
    } else if (strcmp(url, "/slow") == 0) {
        usleep(600 * 1000);
    } else if (strcmp(url, "/big") == 0) {
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        body = big;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int setup(void **state)
{
    (void)state;
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                               answer, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    port = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    return 0;
}

static void url(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", port, path);
}

static void test_retries_transient_status_then_succeeds(void **state)
{
    (void)state;
    hits = 0;
    fail_first = 2;
    char u[128];
    url(u, sizeof u, "/flaky");
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "POST", .url = u, .body = "{}", .body_len = 2,
        .max_attempts = 4, .backoff_ms = 10};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    assert_string_equal(resp.body, "{\"ok\":true}");
    assert_int_equal(call.status, 0); /* earlier attempts' failures do not linger */
    crl_http_response_free(&resp);
}

static void test_gives_up_after_max_attempts_with_last_status(void **state)
{
    (void)state;
    hits = 0;
    fail_first = 100;
    char u[128];
    url(u, sizeof u, "/flaky");
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "GET", .url = u, .max_attempts = 2, .backoff_ms = 10};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), 0);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.attempts, 2);
    assert_string_equal(resp.body, "{\"error\":\"busy\"}");
    crl_http_response_free(&resp);
}

static void test_permanent_status_is_not_retried(void **state)
{
    (void)state;
    hits = 0;
    char u[128];
    url(u, sizeof u, "/missing");
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "GET", .url = u, .max_attempts = 5, .backoff_ms = 10};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), 0);
    assert_int_equal(resp.status, 404);
    assert_int_equal(hits, 1);
    crl_http_response_free(&resp);
}

static void test_deadline_bounds_the_request(void **state)
{
    (void)state;
    char u[128];
    url(u, sizeof u, "/slow");
    struct corral_http_request req = {.struct_size = sizeof req, .method = "GET", .url = u, .max_attempts = 1};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 150);
    int r = crl_http(&req, &resp, &call);
    assert_int_equal(r, CORRAL_ETIMEDOUT);
    assert_true(corral_status_is_transient(r));
    assert_non_null(strstr(call.message, "timed out"));
    crl_http_response_free(&resp);
}

static void test_connection_refused_is_transient(void **state)
{
    (void)state;
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "GET", .url = "http://127.0.0.1:1/", .max_attempts = 2, .backoff_ms = 5};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), CORRAL_ETRANSIENT);
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(resp.status, 0);
    crl_http_response_free(&resp);
}

struct counter {
    size_t bytes;
    int chunks;
};

static int count(void *ud, const void *buf, size_t len)
{
    (void)buf;
    struct counter *c = ud;
    c->bytes += len;
    c->chunks++;
    return 0;
}

static void test_body_streams_to_sink_and_cap_applies_when_buffered(void **state)
{
    (void)state;
    char u[128];
    url(u, sizeof u, "/big");
    struct counter c = {0};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = count, .ud = &c};
    struct corral_http_request req = {
        .struct_size = sizeof req, .method = "GET", .url = u, .max_attempts = 1, .body_sink = &sink};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), 0);
    assert_int_equal(c.bytes, 99999);
    assert_int_equal(resp.body_len, 0);
    crl_http_response_free(&resp);

    req.body_sink = NULL;
    req.max_body = 1000;
    assert_int_equal(crl_http(&req, &resp, &call), CORRAL_EPROTO);
    assert_non_null(strstr(call.message, "larger than 1000 bytes"));
    crl_http_response_free(&resp);
}

static void test_secret_headers_are_redacted_in_logs(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    corral_log_setup(CORRAL_LOG_DEBUG, log);
    char u[128];
    url(u, sizeof u, "/ok");
    const char *headers[] = {"Authorization: Bearer tok-SECRET-1", "X-Custom-Secret: tok-SECRET-2",
                             "Content-Type: application/json", NULL};
    const char *redact[] = {"x-custom-secret", NULL};
    struct corral_http_request req = {.struct_size = sizeof req, .method = "GET", .url = u, .headers = headers,
                                      .max_attempts = 1, .redact_headers = redact};
    struct corral_http_response resp = {.struct_size = sizeof resp};
    struct corral_call call;
    corral_call_init(&call, 5000);
    assert_int_equal(crl_http(&req, &resp, &call), 0);
    crl_http_response_free(&resp);
    corral_log_setup(CORRAL_LOG_WARN, stderr);
    fclose(log);
    assert_string_equal(last_auth, "Bearer tok-SECRET-1"); /* the server got it */
    assert_null(strstr(buf, "tok-SECRET"));               /* the log did not */
    assert_non_null(strstr(buf, "Authorization: <redacted>"));
    assert_non_null(strstr(buf, "X-Custom-Secret: <redacted>"));
    assert_non_null(strstr(buf, "Content-Type: application/json"));
    free(buf);
}

static void test_secret_lookup(void **state)
{
    (void)state;
    struct corral_call call;
    corral_call_init(&call, 0);
    char *v = NULL;
    setenv("CORRAL_TEST_SECRET", "hunter2", 1);
    assert_int_equal(crl_secret("CORRAL_TEST_SECRET", &v, &call), 0);
    assert_string_equal(v, "hunter2");
    free(v);
    unsetenv("CORRAL_TEST_SECRET");
    assert_int_equal(crl_secret("CORRAL_TEST_SECRET", &v, &call), CORRAL_EAUTH);
    assert_null(v);
    assert_non_null(strstr(call.message, "CORRAL_TEST_SECRET is not set"));
    assert_int_equal(crl_secret("not a name", &v, &call), CORRAL_ECONFIG);
}

/* The SDK's inline helpers every backend uses for URLs and its entry point. */
static void test_sdk_url_escape_and_offer(void **state)
{
    (void)state;
    char buf[32] = "files?path=";
    assert_int_equal(corral_url_escape(buf, sizeof buf, "/a b/é~", "/"), 0);
    assert_string_equal(buf, "files?path=/a%20b/%C3%A9~");
    char seg[16] = "";
    assert_int_equal(corral_url_escape(seg, sizeof seg, "x/y?&", NULL), 0);
    assert_string_equal(seg, "x%2Fy%3F%26");
    char small[8] = "ab";
    assert_int_equal(corral_url_escape(small, sizeof small, "cd ef", NULL), -1); /* needs 10 bytes */
    assert_string_equal(small, "ab");                                             /* left as it was */
    assert_int_equal(corral_url_escape(small, sizeof small, "cdefg", NULL), 0);   /* exactly fits */
    assert_string_equal(small, "abcdefg");

    uint32_t majors[] = {2, 1};
    struct corral_host h = {.struct_size = sizeof h};
    struct corral_host_offer o = {sizeof o, majors, 2, &h};
    assert_ptr_equal(corral_offer_host(&o, 1), &h);
    assert_null(corral_offer_host(&o, 3));
    o.n_abi_majors = 1;
    assert_null(corral_offer_host(&o, 1));
    assert_null(corral_offer_host(NULL, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retries_transient_status_then_succeeds),
        cmocka_unit_test(test_gives_up_after_max_attempts_with_last_status),
        cmocka_unit_test(test_permanent_status_is_not_retried),
        cmocka_unit_test(test_deadline_bounds_the_request),
        cmocka_unit_test(test_connection_refused_is_transient),
        cmocka_unit_test(test_body_streams_to_sink_and_cap_applies_when_buffered),
        cmocka_unit_test(test_secret_headers_are_redacted_in_logs),
        cmocka_unit_test(test_secret_lookup),
        cmocka_unit_test(test_sdk_url_escape_and_offer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
