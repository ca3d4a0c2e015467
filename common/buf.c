/* crl_buf: the growable buffer of libcorral and the in-tree plugins. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"

int crl_buf_add(struct crl_buf *b, const void *data, size_t len)
{
    if (len + 1 > b->cap - b->len) {
        if (len > SIZE_MAX / 2 - b->len)
            return CORRAL_ENOMEM;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return CORRAL_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int crl_buf_puts(struct crl_buf *b, const char *s)
{
    return crl_buf_add(b, s, strlen(s));
}

int crl_buf_vaddf(struct crl_buf *b, const char *fmt, va_list ap)
{
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    if (r < 0)
        return CORRAL_ENOMEM;
    r = crl_buf_add(b, s, (size_t)r);
    free(s);
    return r;
}

int crl_buf_addf(struct crl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = crl_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return r;
}

void crl_buf_free(struct crl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int crl_buf_sink_write(void *ud, const void *data, size_t len)
{
    struct crl_buf_sink *s = ud;
    if (len > s->max - s->buf.len) {
        s->over = 1;
        return CORRAL_EIO;
    }
    return crl_buf_add(&s->buf, data, len);
}
