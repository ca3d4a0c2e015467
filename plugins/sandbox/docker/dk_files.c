/* Files and archives through the Engine's archive endpoints:
 *   PUT  /containers/{id}/archive?path=DIR   extract a tar into DIR
 *   GET  /containers/{id}/archive?path=P     a tar of P (prefixed with P's
 *                                            base name)
 *   HEAD /containers/{id}/archive?path=P     stat (404 when missing)
 * Responses are spooled to an unlinked temporary file (constant memory)
 * and read back with libarchive, because the host's HTTP service pushes
 * the body while libarchive pulls it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dk.h"

static int path_ok(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) >= PATH_MAX)
        return 0;
    for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2)
        if (q[-1] == '/' && (q[2] == '\0' || q[2] == '/'))
            return 0;
    return 1;
}

static int spool_fd(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/corral-docker-XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd >= 0)
        unlink(tmpl);
    return fd;
}

static int fd_write(void *ud, const void *buf, size_t len)
{
    int fd = *(int *)ud;
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CORRAL_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long fd_read(void *ud, void *buf, size_t cap)
{
    int fd = *(int *)ud;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0)
            return (long)n;
        if (errno != EINTR)
            return CORRAL_EIO;
    }
}

/* GET the archive of path into a fresh spool; *fd_out on success. */
static int get_spooled(struct dk_plugin *p, const char *cid, const char *path, int *fd_out,
                       const char *what, corral_call *call)
{
    const struct corral_host *h = p->host;
    int fd = spool_fd();
    if (fd < 0)
        return h->fail(call, CORRAL_EIO, "docker %s: no temporary file: %s", what, strerror(errno));
    char *u = dk_pathf("/containers/%s/archive?path=%s", cid, path);
    if (!u) {
        close(fd);
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    struct corral_sink sink = {.struct_size = sizeof sink, .write = fd_write, .ud = &fd};
    struct dk_resp r;
    int rc = dk_api(p, "GET", u, NULL, NULL, NULL, &sink, 0, 1, &r, call);
    free(u);
    if (rc == 0 && r.status != 200) {
        if (r.status == 404)
            rc = h->fail(call, CORRAL_ENOTFOUND, "docker %s: %s: no such file or directory", what, path);
        else
            rc = dk_api_fail(p, &r, what, call);
    }
    dk_resp_free(&r);
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int dk_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    char cur[PATH_MAX], link[PATH_MAX], err[256] = "";
    if (!path_ok(path))
        return h->fail(call, CORRAL_EINVAL, "read_file: '%s' is not an absolute path", path ? path : "");
    snprintf(cur, sizeof cur, "%s", path);
    for (int hops = 0; hops < 8; hops++) {
        int fd, rc = get_spooled(sbx->p, sbx->cid, cur, &fd, "read_file", call);
        if (rc)
            return rc;
        rc = dk_tar_first_file(fd, sink, link, sizeof link, err, sizeof err);
        close(fd);
        if (rc < 0)
            return h->fail(call, rc, "read_file %s: %s", path, err);
        if (rc == 0)
            return 0;
        /* A symlink: follow it like open() would. */
        if (link[0] == '/') {
            snprintf(cur, sizeof cur, "%s", link);
        } else {
            char *slash = strrchr(cur, '/');
            *slash = '\0';
            char next[PATH_MAX];
            if ((size_t)snprintf(next, sizeof next, "%s/%s", cur, link) >= sizeof next)
                return h->fail(call, CORRAL_EINVAL, "read_file %s: link path too long", path);
            memcpy(cur, next, sizeof cur);
        }
    }
    return h->fail(call, CORRAL_EINVAL, "read_file %s: too many levels of symbolic links", path);
}

static long mem_read(void *ud, void *buf, size_t cap)
{
    struct dk_memsrc *m = ud;
    size_t n = m->left < cap ? m->left : cap;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (long)n;
}

void dk_memsrc_init(struct dk_memsrc *m, struct corral_source *src, const void *p, size_t len)
{
    m->p = p;
    m->left = len;
    memset(src, 0, sizeof *src);
    src->struct_size = sizeof *src;
    src->read = mem_read;
    src->ud = m;
    src->length = (int64_t)len;
}

int dk_put_tar(struct dk_plugin *p, const char *cid, const char *dir, const struct corral_source *src,
               corral_call *call)
{
    char *u = dk_pathf("/containers/%s/archive?path=%s&noOverwriteDirNonDir=1", cid, dir);
    if (!u)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    struct dk_resp r;
    int rc = dk_api(p, "PUT", u, NULL, src, "application/x-tar", NULL, 0, 1, &r, call);
    free(u);
    if (rc == 0 && r.status != 200)
        rc = r.status == 404 ? p->host->fail(call, CORRAL_ENOTFOUND, "docker put archive: %s does not exist", dir)
                             : dk_api_fail(p, &r, "put archive", call);
    dk_resp_free(&r);
    return rc;
}

int dk_owner(corral_sbx *sbx, long *uid, long *gid, corral_call *call)
{
    *uid = *gid = 0;
    if (!sbx->user || !*sbx->user)
        return 0;
    if (sbx->uid < 0) {
        char out[64] = "";
        const char *args[] = {"ids", NULL};
        int rc = dk_shim_output(sbx, args, sbx->user, out, sizeof out, call);
        if (rc < 0)
            return rc;
        long u, g;
        if (rc != 0 || sscanf(out, "%ld %ld", &u, &g) != 2 || u < 0 || g < 0)
            return sbx->p->host->fail(call, CORRAL_EINVAL, "cannot resolve the sandbox user '%s'", sbx->user);
        sbx->uid = u;
        sbx->gid = g;
    }
    *uid = sbx->uid;
    *gid = sbx->gid;
    return 0;
}

/* 1 if path exists in the container, 0 if not, <0 on error. */
static int exists(struct dk_plugin *p, const char *cid, const char *path, corral_call *call)
{
    char *u = dk_pathf("/containers/%s/archive?path=%s", cid, path);
    if (!u)
        return p->host->fail(call, CORRAL_ENOMEM, "out of memory");
    int rc = dk_api_probe(p, "HEAD", u, "stat", call);
    free(u);
    return rc;
}

/* mkdir -p dir inside, as the sandbox user (so it owns what it asked for). */
static int make_dir(corral_sbx *sbx, const char *dir, corral_call *call)
{
    const char *args[] = {"mkdir", dir, NULL};
    int rc = dk_shim_call(sbx, args, sbx->user, call);
    if (rc > 0)
        return sbx->p->host->fail(call, CORRAL_EIO, "cannot create directory %s in the sandbox", dir);
    return rc;
}

int dk_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                  corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    if (!path_ok(path) || path[strlen(path) - 1] == '/')
        return h->fail(call, CORRAL_EINVAL, "write_file: '%s' is not an absolute file path", path ? path : "");
    int spool = -1, rc;
    struct corral_source fsrc;
    const struct corral_source *use = src;
    if (src->length < 0) {
        /* Unknown length: a tar header needs it, so spool first. */
        if ((spool = spool_fd()) < 0)
            return h->fail(call, CORRAL_EIO, "write_file: no temporary file: %s", strerror(errno));
        char buf[65536];
        int64_t total = 0;
        long n;
        while ((n = src->read(src->ud, buf, sizeof buf)) > 0) {
            if (fd_write(&spool, buf, (size_t)n)) {
                close(spool);
                return h->fail(call, CORRAL_EIO, "write_file: spooling failed: %s", strerror(errno));
            }
            total += n;
        }
        if (n < 0) {
            close(spool);
            return h->fail(call, (int)n, "write_file %s: the source failed", path);
        }
        lseek(spool, 0, SEEK_SET);
        fsrc = (struct corral_source){.struct_size = sizeof fsrc, .read = fd_read, .ud = &spool, .length = total};
        use = &fsrc;
    }
    /* The parent: with a sandbox user it must exist and belong to that
     * user, so create it through the shim; as root the daemon creates
     * missing parents itself (0755) when the entry is relative to "/". */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *name;
    if (sbx->user && *sbx->user) {
        *slash = '\0';
        if (!parent[0])
            strcpy(parent, "/");
        name = path + (size_t)(slash - parent) + 1;
        rc = exists(sbx->p, sbx->cid, parent, call);
        if (rc == 0)
            rc = make_dir(sbx, parent, call);
        if (rc < 0)
            goto out;
    } else {
        strcpy(parent, "/");
        name = path + 1;
    }
    struct dk_tarsrc *t;
    long uid, gid;
    if ((rc = dk_owner(sbx, &uid, &gid, call)))
        goto out;
    rc = dk_tarsrc_new(name, mode ? mode : 0644, uid, gid, use, &t);
    if (rc) {
        rc = h->fail(call, rc, "write_file %s: cannot build the archive", path);
        goto out;
    }
    struct corral_source tsrc;
    dk_tarsrc_source(t, &tsrc);
    rc = dk_put_tar(sbx->p, sbx->cid, parent, &tsrc, call);
    if (rc && dk_tarsrc_error(t))
        h->fail(call, rc, "write_file %s: %s", path, dk_tarsrc_error(t));
    dk_tarsrc_free(t);
out:
    if (spool >= 0)
        close(spool);
    return rc;
}

int dk_put_archive(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    if (!path_ok(dir))
        return h->fail(call, CORRAL_EINVAL, "put_archive: '%s' is not an absolute path", dir ? dir : "");
    int rc = exists(sbx->p, sbx->cid, dir, call);
    if (rc == 0)
        rc = make_dir(sbx, dir, call);
    if (rc < 0)
        return rc;
    /* Without a sandbox user entries keep their tar's owners; with one,
     * everything extracted is the user's (a hydrated workspace must be
     * writable by the agent), rewritten on the fly. */
    if (!sbx->user || !*sbx->user)
        return dk_put_tar(sbx->p, sbx->cid, dir, src, call);
    long uid, gid;
    if ((rc = dk_owner(sbx, &uid, &gid, call)))
        return rc;
    struct dk_tarchown *t;
    if ((rc = dk_tarchown_new(src, uid, gid, &t)))
        return h->fail(call, rc, "put_archive %s: cannot read the archive", dir);
    struct corral_source csrc;
    dk_tarchown_source(t, &csrc);
    rc = dk_put_tar(sbx->p, sbx->cid, dir, &csrc, call);
    if (rc && dk_tarchown_error(t))
        h->fail(call, rc, "put_archive %s: %s", dir, dk_tarchown_error(t));
    dk_tarchown_free(t);
    return rc;
}

int dk_get_archive(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call)
{
    const struct corral_host *h = sbx->p->host;
    char err[256] = "";
    if (!path_ok(dir))
        return h->fail(call, CORRAL_EINVAL, "get_archive: '%s' is not an absolute path", dir ? dir : "");
    /* "/a/b/" and "/a/b" both name b; Docker prefixes entries with "b/". */
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", dir);
    for (size_t n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
        d[n - 1] = '\0';
    int fd, rc = get_spooled(sbx->p, sbx->cid, d, &fd, "get_archive", call);
    if (rc)
        return rc;
    rc = dk_tar_reroot(fd, sink, err, sizeof err);
    close(fd);
    if (rc)
        return h->fail(call, rc, "get_archive %s: %s", dir, err);
    return 0;
}
