/* Test helper: one HTTP request with libcurl (see http_client.h). */
#include "http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t k = s * n;
    char *b = realloc(r->body, r->len + k + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, k);
    r->body = b;
    r->len += k;
    b[r->len] = 0;
    return k;
}

/* Header line p[0..k) into out (cap bytes) when it is header name: (its
 * trimmed value). */
static void header_into(const char *p, size_t k, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (k <= nl || strncasecmp(p, name, nl) != 0)
        return;
    size_t m = k - nl;
    while (m && (p[nl + m - 1] == '\r' || p[nl + m - 1] == '\n'))
        m--;
    const char *v = p + nl;
    while (m && *v == ' ')
        v++, m--;
    if (m >= cap)
        m = cap - 1;
    memcpy(out, v, m);
    out[m] = 0;
}

static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t k = s * n;
    header_into(p, k, "content-type:", r->ctype, sizeof r->ctype);
    header_into(p, k, "mcp-session-id:", r->mcp_session, sizeof r->mcp_session);
    return k;
}

struct http_resp http_request(const char *method, const char *url, const char *const *headers, const char *body,
                              const char *unix_path, long timeout_s)
{
    struct http_resp r;
    memset(&r, 0, sizeof r);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (unix_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        r.status = -(long)rc;
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

void http_resp_free(struct http_resp *r)
{
    free(r->body);
    r->body = NULL;
}
