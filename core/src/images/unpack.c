/*
 * A manifest's layers applied in order into one root filesystem per
 * manifest digest (rootfs/<hex>), with OCI whiteouts (the archive code's
 * CRL_TREE_LAYER extraction: no symlink followed, no absolute or ".."
 * paths, no devices).  Built in rootfs/<hex>.tmp under the rootfs's lock
 * and renamed into place only when complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>

#include "archive/archive_internal.h"
#include "images/images_internal.h"

#define READ_BLOCK ((size_t)256 << 10)

static int apply_layer(struct crl_image_cache *c, int dirfd, const struct crl_descriptor *d, size_t i,
                       struct corral_call *call)
{
    char p[128];
    snprintf(p, sizeof p, "blobs/sha256/%s", d->digest + 7);
    int fd = openat(c->dirfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return corral_call_fail(call, CORRAL_EIO, "layer %zu (%s): %s", i + 1, d->digest, strerror(errno));
    struct archive *a = archive_read_new();
    int rc;
    if (!a) {
        close(fd);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK)
        rc = corral_call_fail(call, CORRAL_EPROTO, "layer %zu (%s): %s", i + 1, d->digest,
                              archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
    else
        rc = crl_tree_extract(a, dirfd, CRL_TREE_LAYER, call);
    if (rc && call && rc != CORRAL_ENOMEM) {
        char msg[sizeof call->message];
        snprintf(msg, sizeof msg, "%s", call->message);
        rc = corral_call_fail(call, rc, "layer %zu (%.19s): %s", i + 1, d->digest, msg);
    }
    archive_read_free(a);
    close(fd);
    return rc;
}

int crl_image_unpack(struct crl_image_cache *c, const char *digest, const struct crl_manifest *m,
                     const struct crl_pull_progress *p, struct corral_call *call)
{
    const char *hex = digest + 7;
    char dst[128], tmp[128];
    snprintf(dst, sizeof dst, "rootfs/%s", hex);
    snprintf(tmp, sizeof tmp, "rootfs/%s.tmp", hex);
    struct stat st;
    if (fstatat(c->dirfd, dst, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return 0;
    int lfd;
    int rc = crl_cache_lock(c, "rootfs", hex, &lfd, call);
    if (rc)
        return rc;
    if (fstatat(c->dirfd, dst, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        close(lfd);
        return 0;
    }
    int rootfs = openat(c->dirfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    crl_tree_remove(rootfs, tmp + 7); /* an interrupted unpack's; we hold the lock */
    int dfd = -1;
    if (mkdirat(c->dirfd, tmp, 0755) != 0 ||
        (dfd = openat(c->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, tmp, strerror(errno));
    for (size_t i = 0; !rc && i < m->nlayers; i++) {
        crl_pull_note(p, "  unpacking layer %zu of %zu (%.19s)", i + 1, m->nlayers, m->layers[i].digest);
        rc = apply_layer(c, dfd, &m->layers[i], i, call);
    }
    if (!rc && fchmod(dfd, 0755) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, tmp, strerror(errno));
    if (!rc && syncfs(dfd) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, tmp, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    if (!rc && renameat(c->dirfd, tmp, c->dirfd, dst) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "image cache %s/%s: %s", c->root, dst, strerror(errno));
    if (rc && rootfs >= 0)
        crl_tree_remove(rootfs, tmp + 7);
    if (rootfs >= 0)
        close(rootfs);
    close(lfd);
    return rc;
}
