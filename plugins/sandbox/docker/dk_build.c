/* sandbox_docker: building an image from a Dockerfile context through the
 * Engine API (POST /build), its NDJSON "stream" lines turned into
 * progress lines and its "error" line into a failed call.
 * docs/backends/docker.md "Building images". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk.h"

struct build_sink {
    void (*progress)(void *ud, const char *line);
    void *ud;
    char error[1024];        /* the first "error" / "errorDetail.message" of the stream */
    char last[512];          /* the last output line, for a build that failed without one */
};

/* Each non-empty line of a "stream" chunk to progress. */
static void stream_lines(struct build_sink *s, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\r\n");
        const char *a = text;
        text += n;
        text += strspn(text, "\r\n");
        while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
            n--;
        if (!n)
            continue;
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), a);
        snprintf(s->last, sizeof s->last, "%s", line);
        if (s->progress)
            s->progress(s->ud, line);
    }
}

static void build_line(void *ud, const cJSON *j)
{
    struct build_sink *s = ud;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stream");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "errorDetail"), "message");
    if (cJSON_IsString(st))
        stream_lines(s, st->valuestring);
    if (!s->error[0] && (cJSON_IsString(err) || cJSON_IsString(det)))
        snprintf(s->error, sizeof s->error, "%s", cJSON_IsString(err) ? err->valuestring : det->valuestring);
}

int dk_build_image(void *ps, const struct corral_image_build *req, corral_call *call)
{
    struct dk_plugin *p = ps;
    const struct corral_host *h = p->host;
    if (!req || !req->tag || !req->context || !req->dockerfile)
        return h->fail(call, CORRAL_EINVAL, "docker build: needs a tag, a Dockerfile and a context");
    int have = dk_image_present(p, req->tag, call);
    if (have < 0)
        return have;
    if (have) {
        char line[256];
        snprintf(line, sizeof line, "image %s exists: build skipped", req->tag);
        if (req->progress)
            req->progress(req->progress_ud, line);
        return 0;
    }
    char *path = dk_pathf("/build?t=%s&dockerfile=%s&labels=%s&rm=1&forcerm=1", req->tag, req->dockerfile,
                          "{\"corral.build\":\"1\"}");
    if (!path)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    struct build_sink s = {.progress = req->progress, .ud = req->progress_ud};
    struct dk_ndjson nd = {.one = build_line, .ud = &s};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = dk_ndjson_write, .ud = &nd};
    struct dk_resp r;
    int rc = dk_api(p, "POST", path, NULL, req->context, "application/x-tar", &sink, req->timeout_ms, 1, &r, call);
    free(path);
    dk_ndjson_finish(&nd);
    if (rc == CORRAL_ETIMEDOUT)
        rc = h->fail(call, CORRAL_ETIMEDOUT, "docker build of %s: not done after %lld s (build_timeout_sec)",
                     req->tag, (long long)(req->timeout_ms / 1000));
    else if (rc == 0 && s.error[0])
        rc = h->fail(call, CORRAL_EINVAL, "docker build: %s", s.error);
    else if (rc == 0 && r.status != 200)
        rc = dk_api_fail(p, &r, "build", call);
    dk_resp_free(&r);
    if (rc == 0 && (have = dk_image_present(p, req->tag, call)) <= 0)
        rc = have < 0 ? have
                      : h->fail(call, CORRAL_EPROTO, "docker build of %s ended without the image (last line: %s)",
                                req->tag, s.last);
    return rc;
}
