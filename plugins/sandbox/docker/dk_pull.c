/* sandbox_docker: whether the daemon has an image (GET
 * /images/{name}/json, the image_present slot), and pulling a missing one
 * through the Engine API (POST /images/create), its NDJSON progress
 * turned into log lines and its in-stream errors into a failed call.
 * docs/backends/docker.md. */
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

/* One POST /images/create?fromImage=ref (with X-Registry-Auth when auth).
 * With `next` (another source follows) a refusal is logged as a warning
 * and only returned, for the caller to try that source. */
static int pull_one(struct dk_plugin *p, const char *ref, const char *auth, int next, corral_call *call)
{
    const struct corral_host *h = p->host;
    char *path = dk_pathf("/images/create?fromImage=%s", ref);
    if (!path)
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    struct pull_sink s = {.p = p, .image = ref};
    struct dk_ndjson nd = {.one = one_line, .ud = &s};
    struct corral_sink sink = {.struct_size = sizeof sink, .write = dk_ndjson_write, .ud = &nd};
    struct dk_resp r;
    int rc = dk_api_h(p, "POST", path, auth ? "X-Registry-Auth" : NULL, auth, &sink, 0, 1, &r, call);
    free(path);
    dk_ndjson_finish(&nd);
    if (rc == 0 && s.error[0]) {
        int code = r.status == 404 || strstr(s.error, "not found") || strstr(s.error, "manifest unknown")
                       ? CORRAL_ENOTFOUND
                       : CORRAL_EPROTO;
        if (next) {
            h->log(h, CORRAL_LOG_WARN, "docker pull %s: %s; trying the next source", ref, s.error);
            rc = code;
        } else {
            rc = h->fail(call, code, "docker pull %s: %s", ref, s.error);
        }
    } else if (rc == 0 && r.status != 200 && next) {
        h->log(h, CORRAL_LOG_WARN, "docker pull %s: the daemon answered %ld; trying the next source", ref, r.status);
        rc = CORRAL_EPROTO;
    } else if (rc == 0 && r.status != 200) {
        char what[600];
        snprintf(what, sizeof what, "pull %s", ref);
        rc = dk_api_fail(p, &r, what, call); /* the message from a buffered error body */
    }
    dk_resp_free(&r);
    return rc;
}

/* Tag the pulled `from` as `image` (repository and tag split at the last
 * ':' after the last '/'); a digest reference is not tagged. */
static int tag_as(struct dk_plugin *p, const char *from, const char *image, corral_call *call)
{
    const char *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
    if (strchr(image, '@'))
        return 0;
    char repo[600], tag[160];
    if (colon && (!slash || colon > slash)) {
        snprintf(repo, sizeof repo, "%.*s", (int)(colon - image), image);
        snprintf(tag, sizeof tag, "%s", colon + 1);
    } else {
        snprintf(repo, sizeof repo, "%s", image);
        snprintf(tag, sizeof tag, "latest");
    }
    char *path = dk_pathf("/images/%s/tag?repo=%s&tag=%s", from, repo, tag);
    if (!path)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp r;
    int rc = dk_api(p, "POST", path, NULL, NULL, NULL, NULL, 0, 3, &r, call);
    free(path);
    if (rc == 0 && r.status != 201 && r.status != 200)
        rc = dk_api_fail(p, &r, "image tag", call);
    dk_resp_free(&r);
    return rc;
}

int dk_image_pull(struct dk_plugin *p, const char *image, const struct corral_image_source *src, size_t n,
                  const char **used, corral_call *call)
{
    const struct corral_host *h = p->host;
    *used = image;
    h->log(h, CORRAL_LOG_INFO, "docker image '%s' is not on the daemon: pulling it", image);
    int rc = 0;
    if (!n) {
        rc = pull_one(p, image, NULL, 0, call);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!src[i].ref)
                continue;
            rc = pull_one(p, src[i].ref, src[i].registry_auth, i + 1 < n, call);
            if (rc == 0) {
                /* Known by the task's name from now on (digests: by the source's). */
                if (i + 1 < n && strchr(image, '@'))
                    *used = src[i].ref;
                else if (i + 1 < n)
                    rc = tag_as(p, src[i].ref, image, call);
                if (rc == 0)
                    h->log(h, CORRAL_LOG_INFO, "docker image '%s' pulled from %s", image, src[i].ref);
                break;
            }
            if (h->cancelled(call))
                break;
        }
        return rc;
    }
    if (rc == 0)
        h->log(h, CORRAL_LOG_INFO, "docker image '%s' pulled", image);
    return rc;
}

int dk_image_present(void *ps, const char *image, corral_call *call)
{
    struct dk_plugin *p = ps;
    if (!image || !image[0])
        return p->host->fail(call, CORRAL_EINVAL, "docker image inspect: no image named");
    char *path = dk_pathf("/images/%s/json", image);
    if (!path)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    int rc = dk_api_probe(p, "GET", path, "image inspect", call);
    free(path);
    return rc;
}
