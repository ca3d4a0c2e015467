/* sandbox_local: environment vectors (K=V entries, later ones replace). */
#include <stdlib.h>
#include <string.h>

#include "local.h"

int local_env_set(struct crl_strv *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], kv, klen) == 0 && env->v[i][klen] == '=') {
            char *copy = strdup(kv);
            if (!copy)
                return -1;
            crl_wipe_free(env->v[i]);
            env->v[i] = copy;
            return 0;
        }
    }
    return crl_strv_push(env, kv) == 0 ? 0 : -1;
}
