/* sandbox_local: files and archives, done natively from the host.
 *
 * The sandbox's root is reached as /proc/<holder>/root (the holder is
 * re-checked after opening it, so a recycled pid cannot slip in).  Paths
 * are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so
 * every path and every symlink in it resolves inside the sandbox exactly
 * as a command there would see it ("/" and ".." stop at the sandbox's
 * root), through the sandbox's own mounts (a read-only one stays
 * read-only).  Archives go through the host's archive helpers, which never
 * follow a symlink below the directory they work in.
 *
 * Nothing forks: the host may be multithreaded (a batch), and a child
 * forked from it must not run anything but async-signal-safe code. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "local.h"

#define CHUNK 65536

/* The sandbox's root directory as an fd the caller closes. */
static int open_root(corral_sbx *sbx, int *root, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    int pdir;
    int rc = local_holder_open(sbx, &pdir, call);
    if (rc)
        return rc;
    *root = openat(pdir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    rc = local_holder_same(sbx, pdir, call);
    close(pdir);
    if (rc || *root < 0) {
        if (*root >= 0)
            close(*root);
        *root = -1;
        return rc ? rc : h->fail(call, CORRAL_EIO, "local sandbox %s: its root: %s", sbx->meta.id, strerror(e));
    }
    return 0;
}

/* openat2 below the sandbox's root; -1 with errno. */
static int open_in(int root, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd;
    do {
        fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN); /* a rename raced the lookup */
    return fd;
}

static int errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR: return CORRAL_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
    case ELOOP: return CORRAL_EPERM;
    default: return CORRAL_EIO;
    }
}

static int fail_errno(corral_sbx *sbx, corral_call *call, const char *what, const char *path, int e)
{
    return sbx->lp->host->fail(call, errno_status(e), "%s: %s: %s", what, path, strerror(e));
}

/* Make the directory `path` (and its parents) inside the sandbox; each
 * name is created in the directory its prefix resolves to inside. */
static int make_dirs(int root, char *path)
{
    int fd = open_in(root, path, O_PATH | O_DIRECTORY, 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != ENOENT)
        return -1;
    char *slash = strrchr(path, '/');
    while (slash && slash > path && slash[1] == '\0') { /* trailing slashes */
        *slash = '\0';
        slash = strrchr(path, '/');
    }
    if (!slash)
        return mkdirat(root, path, 0755) == 0 || errno == EEXIST ? 0 : -1;
    *slash = '\0';
    int r = slash == path ? 0 : make_dirs(root, path);
    int parent = r == 0 ? open_in(root, slash == path ? "/" : path, O_PATH | O_DIRECTORY, 0) : -1;
    *slash = '/';
    if (parent < 0)
        return -1;
    r = mkdirat(parent, slash + 1, 0755);
    int e = errno;
    close(parent);
    errno = e;
    return r == 0 || errno == EEXIST ? 0 : -1;
}

static int make_parents(int root, const char *path)
{
    char *copy = strdup(path);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    char *slash = strrchr(copy, '/');
    int r = 0;
    if (slash && slash != copy) {
        *slash = '\0';
        r = make_dirs(root, copy);
    }
    free(copy);
    return r;
}

static char *inside_path(corral_sbx *sbx, const char *path)
{
    char *out = NULL;
    if (!path || !*path)
        return NULL;
    if (path[0] == '/')
        return strdup(path);
    return asprintf(&out, "%s/%s", sbx->meta.workdir, path) < 0 ? NULL : out;
}

/* What every operation starts with: the path inside and the root. */
static int begin(corral_sbx *sbx, const char *what, const char *path, char **p, int *root, corral_call *call)
{
    *root = -1;
    if (!(*p = inside_path(sbx, path)))
        return sbx->lp->host->fail(call, path && *path ? CORRAL_ENOMEM : CORRAL_EINVAL, "%s: a path is required",
                                   what);
    int rc = open_root(sbx, root, call);
    if (rc) {
        free(*p);
        *p = NULL;
    }
    return rc;
}

static void end(char *p, int root)
{
    free(p);
    if (root >= 0)
        close(root);
}

int local_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    char *p;
    int root;
    int rc = begin(sbx, "read_file", path, &p, &root, call);
    if (rc)
        return rc;
    /* O_NONBLOCK: a fifo must not hang us; only regular files are read. */
    int fd = open_in(root, p, O_RDONLY | O_NONBLOCK, 0);
    struct stat st;
    char *buf = NULL;
    if (fd < 0)
        rc = fail_errno(sbx, call, "read_file", p, errno);
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = h->fail(call, CORRAL_EINVAL, "read_file: %s: not a regular file", p);
    else if (!(buf = malloc(CHUNK)))
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    while (!rc) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail_errno(sbx, call, "read_file", p, errno);
            break;
        }
        if (n == 0)
            break;
        int s = sink && sink->write ? sink->write(sink->ud, buf, (size_t)n) : 0;
        if (s < 0)
            rc = h->fail(call, s, "read_file: the sink refused data");
        else if (h->cancelled && h->cancelled(call))
            rc = h->fail(call, CORRAL_ECANCELED, "read_file cancelled");
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    end(p, root);
    return rc;
}


int local_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                     corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!src || !src->read)
        return h->fail(call, CORRAL_EINVAL, "write_file: no source");
    mode = (mode ? mode : 0644) & 07777;
    char *p;
    int root;
    int rc = begin(sbx, "write_file", path, &p, &root, call);
    if (rc)
        return rc;
    int fd = -1;
    struct stat st;
    char *buf = NULL;
    if (make_parents(root, p) != 0)
        rc = fail_errno(sbx, call, "write_file: creating the parents of", p, errno);
    else if ((fd = open_in(root, p, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, mode)) < 0)
        rc = fail_errno(sbx, call, "write_file", p, errno == ENXIO ? EIO : errno); /* ENXIO: a fifo */
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = h->fail(call, CORRAL_EINVAL, "write_file: %s: not a regular file", p);
    else if (fchmod(fd, mode) != 0)
        rc = fail_errno(sbx, call, "write_file", p, errno);
    else if (!(buf = malloc(CHUNK)))
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    while (!rc) {
        long n = src->read(src->ud, buf, CHUNK);
        if (n < 0)
            rc = h->fail(call, (int)n, "write_file: the source failed");
        else if (n == 0)
            break;
        else if (crl_write_all(fd, buf, (size_t)n) != 0)
            rc = fail_errno(sbx, call, "write_file", p, errno);
        else if (h->cancelled && h->cancelled(call))
            rc = h->fail(call, CORRAL_ECANCELED, "write_file cancelled");
    }
    free(buf);
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = fail_errno(sbx, call, "write_file", p, errno);
    end(p, root);
    return rc;
}

int local_put_archive(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!src || !src->read)
        return h->fail(call, CORRAL_EINVAL, "put_archive: no source");
    char *p;
    int root;
    int rc = begin(sbx, "put_archive", dir, &p, &root, call);
    if (rc)
        return rc;
    int fd = -1;
    if (make_dirs(root, p) != 0 || (fd = open_in(root, p, O_RDONLY | O_DIRECTORY, 0)) < 0)
        rc = fail_errno(sbx, call, "put_archive", p, errno);
    else
        rc = h->archive_extract_at(fd, src, 0, call);
    if (fd >= 0)
        close(fd);
    end(p, root);
    return rc;
}

int local_get_archive(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    char *p;
    int root;
    int rc = begin(sbx, "get_archive", dir, &p, &root, call);
    if (rc)
        return rc;
    int fd = open_in(root, p, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        rc = fail_errno(sbx, call, "get_archive", p, errno);
    else
        rc = h->archive_tree_at(fd, sink, 0, call);
    if (fd >= 0)
        close(fd);
    end(p, root);
    return rc;
}
