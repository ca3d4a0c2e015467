/* Test helper: one HTTP request with libcurl, answer kept in memory. */
#ifndef CORRAL_TEST_HTTP_CLIENT_H
#define CORRAL_TEST_HTTP_CLIENT_H

#include <stddef.h>

struct http_resp {
    long status;      /* the HTTP status, or -CURLcode when the transfer failed */
    char *body;       /* NUL-terminated, owned by the caller (http_resp_free) */
    size_t len;
    char ctype[128];  /* the Content-Type header's value, "" when none */
    char mcp_session[80]; /* the Mcp-Session-Id header's value, "" when none */
};

/* method "GET"/"POST"/...; headers a NULL-terminated list added after
 * "Content-Type: application/json" and "Expect:" (may be NULL); body NULL:
 * none; unix_path NULL: TCP.  The caller frees the answer's body. */
struct http_resp http_request(const char *method, const char *url, const char *const *headers, const char *body,
                              const char *unix_path, long timeout_s);

/* Frees r's body and clears it. */
void http_resp_free(struct http_resp *r);

#endif
