/*
 * The image cache on disk (docs/images.md "The cache"):
 *   lock                  flock: shared by pulls, exclusive for rm and prune
 *   locks/<kind>-<hex>    flock: one process fetches a blob / unpacks a rootfs
 *   blobs/sha256/<hex>    verified blobs (manifests, configs, layers)
 *   tmp/<hex>.part        a blob while it downloads (under its lock)
 *   rootfs/<hex>          a manifest's unpacked root filesystem
 *   refs/<hex>.json       a reference pulled: {"name", "digest", "pulled"}
 * Everything lands by rename() once complete, so a reader never sees half
 * an object; a crash leaves only .part / .tmp files that the next holder
 * of the same lock, or prune, removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "images/images_internal.h"

#define PROGRESS_EVERY_MS 5000

int corral_image_cache_dir(const corral_ctx *ctx, char *buf, size_t cap, struct corral_call *call)
{
    const char *cfg = crl_images_cache_dir(ctx), *env = getenv("CORRAL_IMAGE_CACHE");
    char root[4096];
    int n;
    if (cfg)
        n = snprintf(buf, cap, "%s", cfg);
    else if (env && *env) {
        if (env[0] != '/')
            return corral_call_fail(call, CORRAL_EINVAL, "CORRAL_IMAGE_CACHE must be an absolute path");
        n = snprintf(buf, cap, "%s", env);
    } else if (crl_cache_root(root, sizeof root) == 0) /* corral's cache rule, shared with agents and datasets */
        n = snprintf(buf, cap, "%s/images", root);
    else
        return corral_call_fail(call, CORRAL_EINVAL, "no image cache directory: CORRAL_CACHE_DIR must be absolute");
    if (n < 0 || (size_t)n >= cap)
        return corral_call_fail(call, CORRAL_EINVAL, "the image cache path is too long");
    return 0;
}

void crl_pull_note(const struct crl_pull_progress *p, const char *fmt, ...)
{
    if (!p || !p->fn)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->fn(p->ud, line);
}

int crl_cache_open(const corral_ctx *ctx, int exclusive, struct crl_image_cache *c, struct corral_call *call)
{
    memset(c, 0, sizeof *c);
    c->dirfd = c->lockfd = -1;
    int rc = corral_image_cache_dir(ctx, c->root, sizeof c->root, call);
    if (rc)
        return rc;
    static const char *const subs[] = {"blobs", "blobs/sha256", "tmp", "rootfs", "refs", "locks"};
    int e = crl_mkdir_p(c->root, 0755);
    if (e)
        return corral_call_fail(call, CORRAL_EIO, "image cache %s: %s", c->root, strerror(-e));
    c->dirfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dirfd < 0)
        return corral_call_fail(call, CORRAL_EIO, "image cache %s: %s", c->root, strerror(errno));
    for (size_t i = 0; i < CRL_ARRAY_LEN(subs); i++)
        if (mkdirat(c->dirfd, subs[i], 0755) != 0 && errno != EEXIST) {
            rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, subs[i], strerror(errno));
            crl_cache_close(c);
            return rc;
        }
    c->lockfd = openat(c->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (c->lockfd < 0 || flock(c->lockfd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/lock: %s", c->root, strerror(errno));
        crl_cache_close(c);
        return rc;
    }
    return 0;
}

void crl_cache_close(struct crl_image_cache *c)
{
    if (c->lockfd >= 0)
        close(c->lockfd);
    if (c->dirfd >= 0)
        close(c->dirfd);
    c->lockfd = c->dirfd = -1;
}

int crl_cache_lock(struct crl_image_cache *c, const char *kind, const char *hex, int *fd, struct corral_call *call)
{
    char name[128];
    snprintf(name, sizeof name, "locks/%s-%s", kind, hex);
    *fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    int r;
    while (*fd >= 0 && (r = flock(*fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (*fd < 0 || r != 0) {
        int e = errno;
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, name, strerror(e));
    }
    return 0;
}

static void blob_path(const char *digest, char *out, size_t cap)
{
    snprintf(out, cap, "blobs/sha256/%s", digest + 7);
}

int crl_cache_has_blob(const struct crl_image_cache *c, const char *digest)
{
    char p[128];
    struct stat st;
    blob_path(digest, p, sizeof p);
    return fstatat(c->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Write data into a new tmp file, then rename it to blobs/. */
int crl_cache_put_blob(struct crl_image_cache *c, const char *digest, const void *data, size_t len,
                       struct corral_call *call)
{
    char tmp[128], dst[128], rnd[17];
    if (crl_random_hex(rnd, 8) != 0)
        return corral_call_fail(call, CORRAL_EIO, "no random source");
    snprintf(tmp, sizeof tmp, "tmp/%.16s.%s.put", digest + 7, rnd);
    blob_path(digest, dst, sizeof dst);
    int fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, tmp, strerror(errno));
    int e = crl_write_all(fd, data, len) == 0 ? 0 : errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && renameat(c->dirfd, tmp, c->dirfd, dst) != 0)
        e = errno;
    if (e) {
        unlinkat(c->dirfd, tmp, 0);
        return corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, dst, strerror(e));
    }
    return 0;
}

char *crl_cache_read_blob(const struct crl_image_cache *c, const char *digest, size_t max, size_t *len,
                          struct corral_call *call)
{
    char p[128];
    blob_path(digest, p, sizeof p);
    int err = 0;
    char *s = crl_read_file_at(c->dirfd, p, CRL_READ_NOFOLLOW, max, len, &err);
    if (!s)
        corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, p, crl_file_strerror(err));
    return s;
}

/* ---- streaming a blob in ---- */

struct blob_sink {
    int fd;
    EVP_MD_CTX *md;
    int64_t got, want;
    int64_t next_note;
    const struct crl_descriptor *d;
    const struct crl_pull_progress *p;
    int err;                 /* errno of a failed write */
    int over;                /* more bytes than the descriptor's size */
};

static int blob_write(void *ud, const void *data, size_t len)
{
    struct blob_sink *s = ud;
    if (s->got + (int64_t)len > s->want) {
        s->over = 1;
        return CORRAL_EPROTO;
    }
    EVP_DigestUpdate(s->md, data, len);
    if (crl_write_all(s->fd, data, len) != 0) {
        s->err = errno;
        return CORRAL_EIO;
    }
    s->got += (int64_t)len;
    int64_t now = corral_now_ms();
    if (now >= s->next_note) {
        s->next_note = now + PROGRESS_EVERY_MS;
        crl_pull_note(s->p, "  %.19s: %lld of %lld bytes (%d%%)", s->d->digest, (long long)s->got,
                      (long long)s->want, s->want ? (int)(100 * s->got / s->want) : 100);
    }
    return 0;
}

/* Download d into the open fd, checking size and digest. */
static int download(struct crl_registry *r, const struct crl_descriptor *d, int fd, const struct crl_pull_progress *p,
                    struct corral_call *call)
{
    struct blob_sink s = {.fd = fd, .md = EVP_MD_CTX_new(), .want = d->size, .d = d, .p = p,
                          .next_note = corral_now_ms() + PROGRESS_EVERY_MS};
    if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(s.md);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    struct corral_sink sink = {.struct_size = sizeof sink, .write = blob_write, .ud = &s};
    struct corral_http_response resp = {0};
    char what[96];
    snprintf(what, sizeof what, "blobs/%s", d->digest);
    int rc = crl_registry_get(r, what, NULL, &sink, 0, &resp, call);
    if (rc && s.over)
        rc = corral_call_fail(call, CORRAL_EPROTO, "blob %s: the registry sent more than the %lld bytes the manifest says",
                              d->digest, (long long)d->size);
    else if (rc && s.err)
        rc = corral_call_fail(call, CORRAL_EIO, "blob %s: writing it: %s", d->digest, strerror(s.err));
    else if (rc && call && s.got > 0 && s.got < d->size) {
        char msg[sizeof call->message];
        snprintf(msg, sizeof msg, "%s", call->message);
        rc = corral_call_fail(call, rc, "blob %s: truncated after %lld of %lld bytes (%s)", d->digest,
                              (long long)s.got, (long long)d->size, msg);
    }
    crl_http_response_free(&resp);
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(s.md, md, &n);
    EVP_MD_CTX_free(s.md);
    if (rc)
        return rc;
    if (s.got != d->size)
        return corral_call_fail(call, CORRAL_EPROTO, "blob %s: truncated: got %lld of %lld bytes", d->digest,
                                (long long)s.got, (long long)d->size);
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(hex, d->digest + 7) != 0)
        return corral_call_fail(call, CORRAL_EPROTO, "blob %s: digest mismatch: the registry sent sha256:%s",
                                d->digest, hex);
    if (fsync(fd) != 0)
        return corral_call_fail(call, CORRAL_EIO, "blob %s: %s", d->digest, strerror(errno));
    return 0;
}

int crl_cache_fetch_blob(struct crl_image_cache *c, struct crl_registry *r, const struct crl_descriptor *d,
                         const struct crl_pull_progress *p, struct corral_call *call)
{
    if (crl_cache_has_blob(c, d->digest))
        return 0;
    int lfd;
    int rc = crl_cache_lock(c, "blob", d->digest + 7, &lfd, call);
    if (rc)
        return rc;
    if (crl_cache_has_blob(c, d->digest)) { /* another process fetched it meanwhile */
        close(lfd);
        crl_pull_note(p, "  %.19s: already fetched by another corral", d->digest);
        return 0;
    }
    char tmp[128], dst[128];
    snprintf(tmp, sizeof tmp, "tmp/%s.part", d->digest + 7);
    blob_path(d->digest, dst, sizeof dst);
    unlinkat(c->dirfd, tmp, 0); /* an interrupted download's; we hold the lock */
    int fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, tmp, strerror(errno));
        close(lfd);
        return rc;
    }
    crl_pull_note(p, "  %.19s: downloading %lld bytes", d->digest, (long long)d->size);
    rc = download(r, d, fd, p, call);
    if (close(fd) != 0 && !rc)
        rc = corral_call_fail(call, CORRAL_EIO, "blob %s: %s", d->digest, strerror(errno));
    if (!rc && renameat(c->dirfd, tmp, c->dirfd, dst) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, dst, strerror(errno));
    if (rc)
        unlinkat(c->dirfd, tmp, 0);
    close(lfd);
    return rc;
}
