/* Reading a whole file into memory: the one loop libcorral (config, tasks,
 * agent specs, the sandbox registry, gate replay files) and the plugins
 * (sandbox_local's state files) share.  Every input file is opened the
 * same way: without blocking (a FIFO or a device given where a file is
 * expected would otherwise hang the open, and a FIFO's read forever) and
 * refused unless it is a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crl_common.h"

int crl_open_regular(int dirfd, const char *path, unsigned flags, int *err)
{
    int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if (flags & CRL_READ_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    int fd = openat(dirfd, path, oflags);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = S_ISDIR(st.st_mode) ? EISDIR : CRL_ENOTREG;
        close(fd);
        return -1;
    }
    /* Regular files ignore O_NONBLOCK; cleared anyway for the reader. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *err = 0;
    return fd;
}

const char *crl_file_strerror(int err)
{
    if (err == CRL_ENOTREG)
        return "not a regular file (refused)";
    if (err == ELOOP)
        return "a symbolic link (refused)";
    return strerror(err);
}

char *crl_read_file_at(int dirfd, const char *path, unsigned flags, size_t max, size_t *len, int *err)
{
    int fd = crl_open_regular(dirfd, path, flags, err);
    if (fd < 0)
        return NULL;
    struct crl_buf b = {0};
    char chunk[8192];
    *err = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *err = errno;
            break;
        }
        if (r == 0)
            break;
        if (max && (size_t)r > max - b.len) {
            *err = EFBIG;
            break;
        }
        if (crl_buf_add(&b, chunk, (size_t)r) != 0) {
            *err = ENOMEM;
            break;
        }
    }
    close(fd);
    explicit_bzero(chunk, sizeof chunk); /* the file may hold a secret */
    if (!*err && !b.p && crl_buf_add(&b, "", 0) != 0)
        *err = ENOMEM;
    if (*err) {
        if (b.p)
            explicit_bzero(b.p, b.len);
        crl_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

char *crl_read_file_max(const char *path, size_t max, size_t *len, int *err)
{
    return crl_read_file_at(AT_FDCWD, path, 0, max, len, err);
}

char *crl_read_file(const char *path, size_t *len, int *err)
{
    return crl_read_file_max(path, 0, len, err);
}
