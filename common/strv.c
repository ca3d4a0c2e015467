/* NULL-terminated vectors of malloc'ed strings (argv, envp, labels,
 * headers): the growable one and the operations on a plain char ** that
 * libcorral and the plugins hand around. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"

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
    crl_strv_free_array(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

const char *const *crl_strv_get(const struct crl_strv *sv)
{
    static const char *const empty[] = {NULL};
    return sv->v ? (const char *const *)sv->v : empty;
}

char **crl_strv_take(struct crl_strv *sv)
{
    char **v = sv->v ? sv->v : calloc(1, sizeof *v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
    return v;
}

size_t crl_strv_len(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

char **crl_strv_dup(const char *const *v)
{
    size_t n = crl_strv_len(v);
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            crl_strv_free_array(out);
            return NULL;
        }
    }
    return out;
}

void crl_strv_free_array(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

void crl_strv_wipe_array(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        explicit_bzero(v[i], strlen(v[i]));
    crl_strv_free_array(v);
}
