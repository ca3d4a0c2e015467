/* String vectors and small string checks used across libcorral. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

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
    struct crl_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    int r = crl_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (r == 0)
        r = crl_strv_push(sv, b.p ? b.p : "");
    crl_buf_free(&b);
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
