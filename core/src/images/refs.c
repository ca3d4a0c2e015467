/*
 * References pulled into the cache: refs/<sha256 of the name>.json holding
 * {"name": "docker.io/library/busybox:latest", "digest": "sha256:...",
 * "pulled": <unix seconds>}, written whole by rename().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/images_internal.h"

static void ref_file(const char *name, char *out, size_t cap)
{
    char d[72];
    crl_sha256_digest(name, strlen(name), d);
    snprintf(out, cap, "refs/%s.json", d + 7);
}

int crl_refs_put(struct crl_image_cache *c, const char *name, const char *digest, struct corral_call *call)
{
    char path[128], tmp[160], rnd[17];
    ref_file(name, path, sizeof path);
    if (crl_random_hex(rnd, 8) != 0)
        return corral_call_fail(call, CORRAL_EIO, "no random source");
    snprintf(tmp, sizeof tmp, "tmp/ref.%s", rnd);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "digest", digest);
    cJSON_AddNumberToObject(o, "pulled", (double)time(NULL));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    int fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    size_t n = strlen(text);
    int ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok)
        ok = 0, e = errno;
    free(text);
    if (ok && renameat(c->dirfd, tmp, c->dirfd, path) != 0)
        ok = 0, e = errno;
    if (!ok) {
        unlinkat(c->dirfd, tmp, 0);
        return corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, path, strerror(e));
    }
    return 0;
}

int crl_refs_each(struct crl_image_cache *c, int (*cb)(void *ud, const char *name, const char *digest), void *ud,
                  struct corral_call *call)
{
    int dfd = openat(c->dirfd, "refs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return corral_call_fail(call, CORRAL_EIO, "image cache %s/refs: %s", c->root, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n != 69 || strcmp(de->d_name + 64, ".json") != 0)
            continue;
        int err = 0;
        size_t len = 0;
        char *text = crl_read_file_at(dirfd(d), de->d_name, CRL_READ_NOFOLLOW, 64 * 1024, &len, &err);
        cJSON *o = text ? cJSON_ParseWithLength(text, len) : NULL;
        free(text);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *dg = cJSON_GetObjectItemCaseSensitive(o, "digest");
        if (cJSON_IsString(nm) && cJSON_IsString(dg) && crl_digest_valid(dg->valuestring))
            rc = cb(ud, nm->valuestring, dg->valuestring);
        else
            corral_log(CORRAL_LOG_WARN, "image", "image cache %s/refs/%s is unreadable: ignored", c->root,
                       de->d_name);
        cJSON_Delete(o);
    }
    closedir(d);
    return rc;
}

int crl_refs_remove(struct crl_image_cache *c, const char *name, struct corral_call *call)
{
    char path[128];
    ref_file(name, path, sizeof path);
    if (unlinkat(c->dirfd, path, 0) == 0)
        return 0;
    if (errno == ENOENT)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "%s is not in the image cache", name);
    return corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, path, strerror(errno));
}
