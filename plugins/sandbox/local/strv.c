/* sandbox_local: NULL-terminated string vectors (argv, envp, labels). */
#include <stdlib.h>
#include <string.h>

#include "local.h"

size_t local_strv_len(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

void local_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

void local_strv_free_wipe(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        explicit_bzero(v[i], strlen(v[i]));
    local_strv_free(v);
}

char **local_strv_dup(const char *const *v)
{
    size_t n = local_strv_len(v);
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            local_strv_free(out);
            return NULL;
        }
    }
    return out;
}

int local_strv_push(char ***v, size_t *n, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return -1;
    char **nv = realloc(*v, (*n + 2) * sizeof(**v));
    if (!nv) {
        free(copy);
        return -1;
    }
    nv[(*n)++] = copy;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

int local_env_set(char ***v, size_t *n, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < *n; i++) {
        if (strncmp((*v)[i], kv, klen) == 0 && (*v)[i][klen] == '=') {
            char *copy = strdup(kv);
            if (!copy)
                return -1;
            free((*v)[i]);
            (*v)[i] = copy;
            return 0;
        }
    }
    return local_strv_push(v, n, kv);
}
