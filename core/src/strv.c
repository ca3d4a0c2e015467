/* String vectors and growable buffers used across libcorral. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int crl_strv_push(struct crl_strv *sv, const char *s)
{
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return CORRAL_ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return CORRAL_ENOMEM;
    sv->v[sv->n++] = copy;
    sv->v[sv->n] = NULL;
    return 0;
}

int crl_strv_pushf(struct crl_strv *sv, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return CORRAL_ENOMEM;
    r = crl_strv_push(sv, s);
    free(s);
    return r;
}

void crl_strv_free(struct crl_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

const char *const *crl_strv_get(const struct crl_strv *sv)
{
    static const char *const empty[] = {NULL};
    return sv->v ? (const char *const *)sv->v : empty;
}

int crl_buf_add(struct crl_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
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

int crl_buf_addf(struct crl_buf *b, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return CORRAL_ENOMEM;
    r = crl_buf_add(b, s, (size_t)r);
    free(s);
    return r;
}

void crl_buf_free(struct crl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int crl_is_env_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

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
