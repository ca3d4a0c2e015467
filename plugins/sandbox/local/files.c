/* sandbox_local: files and archives, done natively.
 *
 * A forked child joins the sandbox's user and mount namespaces (join.c, fn
 * mode) and does the file work there, so every path (and every symlink in
 * it) resolves inside the sandbox exactly as a command would see it; the
 * host's file system is never reachable.  Data flows over a pipe; a second
 * pipe carries a one-line error message back.  Archive extraction refuses
 * absolute paths, "..", writing through symlinks and device/fifo/socket
 * entries (libarchive's SECURE_* flags plus a type check). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "local.h"

/* Child exit codes -> corral status. */
enum { FX_OK = 0, FX_NOTFOUND = 2, FX_PERM = 3, FX_IO = 4, FX_INVAL = 5 };

struct fop {
    const char *path;     /* file or directory inside */
    uint32_t mode;
    int data_fd;          /* child's end of the data pipe */
    int msg_fd;           /* child's end of the message pipe */
};

static int msg(struct fop *f, int code, const char *what, const char *detail)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s: %s", what, detail ? detail : "");
    if (n > 0) {
        ssize_t w = write(f->msg_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        (void)w;
    }
    return code;
}

static int errno_code(int e)
{
    return e == ENOENT || e == ENOTDIR ? FX_NOTFOUND : e == EACCES || e == EPERM ? FX_PERM : FX_IO;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int mkparents(const char *path, int include_last)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len + 1);
    if (!include_last) {
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
            return 0;
        *slash = '\0';
    }
    for (char *s = buf + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* ---- child sides ------------------------------------------------------------ */

/* The child inherited every fd of the (possibly multithreaded) host; keep
 * only its two pipe ends so it holds no other pipe open (another thread's
 * exec would otherwise wait for our EOF). */
static void close_parent_fds(struct fop *f)
{
    int keep[2] = {f->data_fd < f->msg_fd ? f->data_fd : f->msg_fd, f->data_fd < f->msg_fd ? f->msg_fd : f->data_fd};
    if (keep[0] > 3)
        syscall(SYS_close_range, 3U, (unsigned)keep[0] - 1, 0U);
    if (keep[1] > keep[0] + 1)
        syscall(SYS_close_range, (unsigned)keep[0] + 1, (unsigned)keep[1] - 1, 0U);
    syscall(SYS_close_range, (unsigned)keep[1] + 1, ~0U, 0U);
}

static int child_read(void *arg)
{
    struct fop *f = arg;
    close_parent_fds(f);
    /* O_NONBLOCK: a fifo must not hang us; only regular files are read. */
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return msg(f, errno_code(errno), f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return msg(f, FX_INVAL, f->path, "not a regular file");
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return msg(f, FX_IO, f->path, strerror(errno));
        if (r == 0)
            return FX_OK;
        if (write_all(f->data_fd, buf, (size_t)r) < 0)
            return FX_IO;
    }
}

static int child_write(void *arg)
{
    struct fop *f = arg;
    close_parent_fds(f);
    if (mkparents(f->path, 0) < 0)
        return msg(f, errno_code(errno), "creating parents of", f->path);
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, f->mode & 07777);
    if (fd < 0)
        return msg(f, errno_code(errno), f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return msg(f, FX_INVAL, f->path, "not a regular file");
    fcntl(fd, F_SETFL, 0);
    fchmod(fd, f->mode & 07777);
    char buf[65536];
    for (;;) {
        ssize_t r = read(f->data_fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return msg(f, FX_IO, "reading data", strerror(errno));
        if (r == 0)
            break;
        if (write_all(fd, buf, (size_t)r) < 0)
            return msg(f, FX_IO, f->path, strerror(errno));
    }
    if (close(fd) < 0)
        return msg(f, FX_IO, f->path, strerror(errno));
    return FX_OK;
}

static int child_put_archive(void *arg)
{
    struct fop *f = arg;
    close_parent_fds(f);
    if (mkparents(f->path, 1) < 0 || chdir(f->path) < 0)
        return msg(f, errno_code(errno), f->path, strerror(errno));
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    if (!in || !out)
        return msg(f, FX_IO, "archive", "out of memory");
    archive_read_support_format_tar(in);
    archive_read_support_format_gnutar(in);
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK);
    if (archive_read_open_fd(in, f->data_fd, 65536) != ARCHIVE_OK)
        return msg(f, FX_INVAL, "tar", archive_error_string(in));
    struct archive_entry *e;
    int rc = FX_OK, r;
    while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(e);
        if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
            rc = msg(f, FX_PERM, "refusing a device, fifo or socket entry", archive_entry_pathname(e));
            break;
        }
        const char *hl = archive_entry_hardlink(e);
        if (hl && (hl[0] == '/' || strstr(hl, ".."))) {
            rc = msg(f, FX_PERM, "refusing a hard link outside the directory", archive_entry_pathname(e));
            break;
        }
        if (archive_write_header(out, e) != ARCHIVE_OK) {
            rc = msg(f, FX_PERM, "refused entry", archive_error_string(out));
            break;
        }
        const void *buf;
        size_t len;
        la_int64_t off;
        int dr;
        while ((dr = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
            if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK) {
                dr = ARCHIVE_FATAL;
                break;
            }
        }
        if (dr != ARCHIVE_EOF) {
            rc = msg(f, FX_IO, "extracting", archive_error_string(dr == ARCHIVE_FATAL ? out : in));
            break;
        }
        if (archive_write_finish_entry(out) != ARCHIVE_OK) {
            rc = msg(f, FX_IO, "extracting", archive_error_string(out));
            break;
        }
    }
    if (rc == FX_OK && r != ARCHIVE_EOF)
        rc = msg(f, FX_INVAL, "tar", archive_error_string(in));
    archive_write_close(out);
    archive_write_free(out);
    archive_read_free(in);
    return rc;
}

static int child_get_archive(void *arg)
{
    struct fop *f = arg;
    close_parent_fds(f);
    if (chdir(f->path) < 0)
        return msg(f, errno_code(errno), f->path, strerror(errno));
    struct archive *disk = archive_read_disk_new();
    struct archive *out = archive_write_new();
    if (!disk || !out)
        return msg(f, FX_IO, "archive", "out of memory");
    archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_standard_lookup(disk);
    archive_write_set_format_pax_restricted(out);
    archive_write_set_bytes_in_last_block(out, 1);
    if (archive_write_open_fd(out, f->data_fd) != ARCHIVE_OK ||
        archive_read_disk_open(disk, ".") != ARCHIVE_OK)
        return msg(f, FX_IO, "archive", archive_error_string(disk));
    int rc = FX_OK;
    for (;;) {
        struct archive_entry *e = archive_entry_new();
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = msg(f, FX_IO, "reading", archive_error_string(disk));
            archive_entry_free(e);
            break;
        }
        archive_read_disk_descend(disk);
        const char *p = archive_entry_pathname(e);
        if (!strcmp(p, ".")) {
            archive_entry_free(e);
            continue;
        }
        if (!strncmp(p, "./", 2))
            archive_entry_copy_pathname(e, p + 2);
        if (archive_write_header(out, e) != ARCHIVE_OK) {
            rc = msg(f, FX_IO, "writing tar", archive_error_string(out));
            archive_entry_free(e);
            break;
        }
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            int fd = open(archive_entry_sourcepath(e), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            char buf[65536];
            ssize_t n;
            while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                if (archive_write_data(out, buf, (size_t)n) < 0)
                    break;
            if (fd >= 0)
                close(fd);
        }
        archive_entry_free(e);
    }
    archive_read_close(disk);
    archive_read_free(disk);
    if (archive_write_close(out) != ARCHIVE_OK && rc == FX_OK)
        rc = msg(f, FX_IO, "writing tar", archive_error_string(out));
    archive_write_free(out);
    return rc;
}

/* ---- host side ------------------------------------------------------------- */

static char *inside_path(corral_sbx *sbx, const char *path)
{
    char *out = NULL;
    if (!path || !*path)
        return NULL;
    if (path[0] == '/')
        return strdup(path);
    return asprintf(&out, "%s/%s", sbx->meta.workdir, path) < 0 ? NULL : out;
}

/* Run fn in the sandbox.  to_child: stream src into it; from_child: stream
 * its data to sink. */
static int run_fop(corral_sbx *sbx, const char *what, const char *path, uint32_t mode, int (*fn)(void *),
                   const struct corral_source *src, const struct corral_sink *sink, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    char *p = inside_path(sbx, path);
    if (!p)
        return h->fail(call, CORRAL_EINVAL, "%s: a path is required", what);
    int data[2] = {-1, -1}, msgp[2] = {-1, -1};
    int rc = 0;
    if (pipe2(data, O_CLOEXEC) < 0 || pipe2(msgp, O_CLOEXEC) < 0) {
        rc = h->fail(call, CORRAL_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    struct fop f = {p, mode, src ? data[0] : data[1], msgp[1]};
    struct local_launch l = {.fn = fn, .arg = &f};
    pid_t a;
    int pidfd, stage, err;
    rc = local_launch(sbx, &l, &a, &pidfd, &stage, &err, call);
    if (rc)
        goto out;
    close(msgp[1]);
    msgp[1] = -1;
    int mine = src ? data[1] : data[0];
    close(src ? data[0] : data[1]);
    data[src ? 0 : 1] = -1;

    int xrc = 0;
    char *buf = malloc(65536);
    if (!buf)
        xrc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    while (!xrc) {
        if (h->cancelled && h->cancelled(call)) {
            xrc = h->fail(call, CORRAL_ECANCELED, "%s cancelled", what);
            break;
        }
        if (src) {
            long n = src->read(src->ud, buf, 65536);
            if (n < 0) {
                xrc = h->fail(call, (int)n, "%s: the source failed", what);
                break;
            }
            if (n == 0)
                break;
            const char *q = buf;
            size_t left = (size_t)n;
            while (left > 0) {
                ssize_t w = local_write_nosigpipe(mine, q, left);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0)
                    break; /* the child stopped reading: its status says why */
                q += w;
                left -= (size_t)w;
            }
            if (left > 0)
                break;
        } else {
            ssize_t n = read(mine, buf, 65536);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            int s = sink && sink->write ? sink->write(sink->ud, buf, (size_t)n) : 0;
            if (s < 0)
                xrc = h->fail(call, s, "%s: the sink refused data", what);
        }
    }
    free(buf);
    close(mine);
    data[src ? 1 : 0] = -1; /* closed once: in a threaded host the number is soon someone else's */
    if (xrc)
        kill(a, SIGKILL);
    int st = 0;
    while (waitpid(a, &st, 0) < 0 && errno == EINTR)
        ;
    char m[512];
    ssize_t mn = read(msgp[0], m, sizeof(m) - 1);
    m[mn > 0 ? mn : 0] = '\0';
    if (xrc) {
        rc = xrc;
    } else if (!WIFEXITED(st)) {
        rc = h->fail(call, CORRAL_EIO, "%s %s: the helper died", what, p);
    } else {
        switch (WEXITSTATUS(st)) {
        case FX_OK: rc = 0; break;
        case FX_NOTFOUND: rc = h->fail(call, CORRAL_ENOTFOUND, "%s: %s", what, m[0] ? m : p); break;
        case FX_PERM: rc = h->fail(call, CORRAL_EPERM, "%s: %s", what, m[0] ? m : p); break;
        case FX_INVAL: rc = h->fail(call, CORRAL_EINVAL, "%s: %s", what, m[0] ? m : p); break;
        default:
            rc = h->fail(call, CORRAL_EIO, "%s: %s", what, m[0] ? m : "could not enter the sandbox");
            break;
        }
    }
out:
    for (int i = 0; i < 2; i++) {
        if (data[i] >= 0)
            close(data[i]);
        if (msgp[i] >= 0)
            close(msgp[i]);
    }
    free(p);
    return rc;
}

int local_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call)
{
    return run_fop(sbx, "read_file", path, 0, child_read, NULL, sink, call);
}

int local_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                     corral_call *call)
{
    if (!src || !src->read)
        return sbx->lp->host->fail(call, CORRAL_EINVAL, "write_file: no source");
    return run_fop(sbx, "write_file", path, mode ? mode : 0644, child_write, src, NULL, call);
}

int local_put_archive(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call)
{
    if (!src || !src->read)
        return sbx->lp->host->fail(call, CORRAL_EINVAL, "put_archive: no source");
    return run_fop(sbx, "put_archive", dir, 0, child_put_archive, src, NULL, call);
}

int local_get_archive(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call)
{
    return run_fop(sbx, "get_archive", dir, 0, child_get_archive, NULL, sink, call);
}
