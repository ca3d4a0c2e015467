/*
 * Writing a whole buffer to a file descriptor: the one loop over short
 * writes and EINTR that file writers, result files and proxies share.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "crl_common.h"

static int write_loop(int fd, const void *buf, size_t n, int sock)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int crl_write_all(int fd, const void *buf, size_t n)
{
    return write_loop(fd, buf, n, 0);
}

int crl_send_all(int fd, const void *buf, size_t n)
{
    return write_loop(fd, buf, n, 1);
}
