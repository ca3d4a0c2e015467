/* Reading a whole file into memory: the one loop libcorral (config, tasks,
 * agent specs, the sandbox registry, gate replay files) and the plugins
 * (sandbox_local's state files) share. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crl_common.h"

char *crl_read_file_max(const char *path, size_t max, size_t *len, int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
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

char *crl_read_file(const char *path, size_t *len, int *err)
{
    return crl_read_file_max(path, 0, len, err);
}
