/* sandbox_docker: pulling a missing image through the Engine API
 * (POST /images/create), its NDJSON progress turned into log lines and
 * its in-stream errors into a failed call.  docs/backends/docker.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk.h"

/* One progress line in 16 KiB is plenty; longer lines are cut. */
#define LINE_MAX_BYTES 16384
/* A progress log line at most this often. */
#define NOTE_EVERY_MS 3000

static void ndjson_line(struct dk_ndjson *n)
{
    cJSON *j = cJSON_ParseWithLength(n->line.p ? n->line.p : "", n->line.len);
    n->one(n->ud, j);
    cJSON_Delete(j);
}

int dk_ndjson_write(void *ud, const void *buf, size_t len)
{
    struct dk_ndjson *s = ud;
    const char *p = buf, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (s->line.len + n > LINE_MAX_BYTES) {
            s->cut = 1;
            n = s->line.len < LINE_MAX_BYTES ? LINE_MAX_BYTES - s->line.len : 0;
        }
        if (n && crl_buf_add(&s->line, p, n) != 0)
            return CORRAL_ENOMEM;
        if (!nl)
            break;
        if (!s->cut)
            ndjson_line(s);
        s->line.len = 0;
        s->cut = 0;
        p = nl + 1;
    }
    return 0;
}

void dk_ndjson_finish(struct dk_ndjson *n)
{
    if (n->line.len && !n->cut)
        ndjson_line(n); /* a last line without its newline */
    crl_buf_free(&n->line);
}

struct pull_sink {
    struct dk_plugin *p;
    const char *image;
    char error[512];         /* the first "error" (or a lone "message") of the stream */
    int64_t next_note;
    long layers_done;
};

static void one_line(void *ud, const cJSON *j)
{
    struct pull_sink *s = ud;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (!s->error[0] && (cJSON_IsString(err) || cJSON_IsString(msg)))
        snprintf(s->error, sizeof s->error, "%s", cJSON_IsString(err) ? err->valuestring : msg->valuestring);
    if (cJSON_IsString(st)) {
        if (strcmp(st->valuestring, "Pull complete") == 0)
            s->layers_done++;
        int64_t now = s->p->host->now_ms();
        if (now >= s->next_note) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
            s->p->host->log(s->p->host, CORRAL_LOG_INFO, "pulling %s: %.120s%s%.80s (%ld layers done)", s->image,
                            st->valuestring, cJSON_IsString(id) ? " " : "", cJSON_IsString(id) ? id->valuestring : "",
                            s->layers_done);
            s->next_note = now + NOTE_EVERY_MS;
        }
    }
}

int dk_image_pull(struct dk_plugin *p, const char *image, corral_call *call)
{
    const struct corral_host *h = p->host;
    char *enc = dk_urlenc(image);
    size_t n = enc ? strlen(enc) + 40 : 0;
    char *path = enc ? malloc(n) : NULL;
    if (!path) {
        free(enc);
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    snprintf(path, n, "/images/create?fromImage=%s", enc);
    free(enc);
    h->log(h, CORRAL_LOG_INFO, "docker image '%s' is not on the daemon: pulling it", image);
    struct pull_sink s = {.p = p, .image = image};
    struct dk_ndjson nd = {.one = one_line, .ud = &s};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = dk_ndjson_write, .ud = &nd};
    struct dk_resp r;
    int rc = dk_api(p, "POST", path, NULL, NULL, NULL, &sink, 0, 1, &r, call);
    free(path);
    dk_ndjson_finish(&nd);
    if (rc == 0 && s.error[0]) {
        int code = r.status == 404 || strstr(s.error, "not found") || strstr(s.error, "manifest unknown")
                       ? CORRAL_ENOTFOUND
                       : CORRAL_EPROTO;
        rc = h->fail(call, code, "docker pull %s: %s", image, s.error);
    } else if (rc == 0 && r.status != 200) {
        char what[600];
        snprintf(what, sizeof what, "pull %s", image);
        rc = dk_api_fail(p, &r, what, call); /* the message from a buffered error body */
    }
    dk_resp_free(&r);
    if (rc == 0)
        h->log(h, CORRAL_LOG_INFO, "docker image '%s' pulled", image);
    return rc;
}
