/* crl_cmd_json: an exec request as the JSON command array that the HTTP
 * sandbox servers (hf-sandbox, Islo) take. */
#include <stdio.h>

#include "crl_common.h"

void crl_cmd_prefix_timeout(cJSON *cmd, int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return;
    char secs[32];
    snprintf(secs, sizeof secs, "%lld.%03lld", (long long)(timeout_ms / 1000), (long long)(timeout_ms % 1000));
    const char *pre[] = {"timeout", "-k", "2", secs};
    for (int i = 3; i >= 0; i--)
        cJSON_InsertItemInArray(cmd, 0, cJSON_CreateString(pre[i]));
}

cJSON *crl_cmd_json(const struct corral_exec_request *req, int64_t timeout_ms)
{
    if (!req->shell && !(req->argv && req->argv[0]))
        return NULL;
    cJSON *cmd = cJSON_CreateArray();
    if (!cmd)
        return NULL;
    if (req->shell) {
        const char *sh[] = {"/bin/sh", "-c", req->shell};
        for (size_t i = 0; i < 3; i++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(sh[i]));
    } else {
        for (const char *const *a = req->argv; *a; a++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(*a));
    }
    crl_cmd_prefix_timeout(cmd, timeout_ms);
    return cmd;
}

int crl_exec_dir(char *buf, size_t cap, const char *user)
{
    if (user && *user) {
        if (*user == '.' || *user == '-')
            return -1;
        for (const char *c = user; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                  *c == '_' || *c == '-'))
                return -1;
    }
    int n = user && *user ? snprintf(buf, cap, "%s-%s", CRL_EXEC_DIR, user) : snprintf(buf, cap, "%s", CRL_EXEC_DIR);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
