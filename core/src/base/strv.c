/* Reading a whole file into memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

char *crl_read_file(const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return NULL;
    }
    struct crl_buf b = {0};
    char chunk[8192];
    size_t n;
    *err = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (crl_buf_add(&b, chunk, n) != 0) {
            *err = ENOMEM;
            break;
        }
    if (!*err && ferror(f))
        *err = EIO;
    fclose(f);
    if (!*err && !b.p && crl_buf_add(&b, "", 0) != 0)
        *err = ENOMEM;
    if (*err) {
        crl_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
