/* A task's MCP servers (task.json "mcp_servers", task.toml
 * [[environment.mcp_servers]], Harbor's shape): every entry checked and
 * normalized into one JSON array the agent phase renders into the agent's
 * configuration (docs/harbor.md, "MCP servers"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout_internal.h"

#define NAME_MAX_LEN 64

static int bad(struct corral_call *call, const char *where, int i, const char *key, const char *why)
{
    return corral_call_fail(call, CORRAL_EINVAL, "%s[%d]%s%s: %s", where, i, key ? "." : "", key ? key : "", why);
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= NAME_MAX_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* An object of strings: environment variable names to any value (env), or
 * HTTP header names (RFC 9110 token) to values without CR or LF (headers). */
static int string_map(const cJSON *m, int headers)
{
    if (!cJSON_IsObject(m))
        return 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, m) {
        if (!cJSON_IsString(e))
            return 0;
        if (headers ? (!e->string[0] || strspn(e->string, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                          "!#$%&'*+-.^_`|~") != strlen(e->string) ||
                       strpbrk(e->valuestring, "\r\n"))
                    : !crl_is_env_name(e->string))
            return 0;
    }
    return 1;
}

static int string_array(const cJSON *a)
{
    if (!cJSON_IsArray(a))
        return 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, a) if (!cJSON_IsString(s)) return 0;
    return 1;
}

/* One entry, checked, as its normalized copy (transport always set, args,
 * env and headers always present for their transport). */
static int one_server(const cJSON *s, int i, const char *where, cJSON *out, struct corral_call *call)
{
    static const char *const keys[] = {"name", "transport", "command", "args", "env", "url", "headers"};
    if (!cJSON_IsObject(s))
        return bad(call, where, i, NULL, "must be a table (object) with name, transport and command or url");
    const cJSON *it;
    cJSON_ArrayForEach(it, s) {
        size_t k = 0;
        while (k < CRL_ARRAY_LEN(keys) && strcmp(keys[k], it->string) != 0)
            k++;
        if (k == CRL_ARRAY_LEN(keys))
            return bad(call, where, i, it->string, "is not a field of an MCP server (name, transport, command, args, "
                       "env, url, headers)");
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(s, "transport");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(s, "command");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(s, "args");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(s, "env");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(s, "url");
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(s, "headers");
    if (!cJSON_IsString(name) || !name_ok(name->valuestring))
        return bad(call, where, i, "name", "must be 1 to 64 letters, digits, '_' or '-'");
    if (strcmp(name->valuestring, CRL_MCP_GATE_SERVER) == 0)
        return bad(call, where, i, "name", "\"corral\" is reserved for the gate's own MCP server");
    const cJSON *prev;
    cJSON_ArrayForEach(prev, out) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(prev, "name")->valuestring, name->valuestring) == 0)
            return bad(call, where, i, "name", "names a server listed before it (names must be unique)");
    }
    const char *t = cJSON_IsString(tr) ? tr->valuestring : tr ? NULL : "sse"; /* Harbor's default */
    if (!t || (strcmp(t, "stdio") != 0 && strcmp(t, "sse") != 0 && strcmp(t, "streamable-http") != 0))
        return bad(call, where, i, "transport", "must be \"stdio\", \"sse\" or \"streamable-http\"");
    int stdio = strcmp(t, "stdio") == 0;
    if (cmd && url)
        return bad(call, where, i, "url", "and command both given: a server is either a command (stdio) or a URL");
    if (stdio && (!cJSON_IsString(cmd) || !cmd->valuestring[0]))
        return bad(call, where, i, "command", "must be a non-empty string (transport \"stdio\")");
    if (stdio && (url || hdr))
        return bad(call, where, i, url ? "url" : "headers", "is for HTTP servers, not transport \"stdio\"");
    if (!stdio && (!cJSON_IsString(url) || (strncmp(url->valuestring, "http://", 7) != 0 &&
                                            strncmp(url->valuestring, "https://", 8) != 0)))
        return bad(call, where, i, "url", "must be an http:// or https:// URL (transport sse or streamable-http)");
    if (!stdio && (cmd || args || env))
        return bad(call, where, i, cmd ? "command" : args ? "args" : "env",
                   "is for stdio servers, not an HTTP transport");
    if (args && !string_array(args))
        return bad(call, where, i, "args", "must be an array of strings");
    if (env && !string_map(env, 0))
        return bad(call, where, i, "env", "must be a table of strings with valid variable names");
    if (hdr && !string_map(hdr, 1))
        return bad(call, where, i, "headers", "must be a table of strings (header names, values without CR or LF)");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name->valuestring);
    cJSON_AddStringToObject(o, "transport", t);
    if (stdio) {
        cJSON_AddStringToObject(o, "command", cmd->valuestring);
        cJSON_AddItemToObject(o, "args", args ? cJSON_Duplicate(args, 1) : cJSON_CreateArray());
        cJSON_AddItemToObject(o, "env", env ? cJSON_Duplicate(env, 1) : cJSON_CreateObject());
    } else {
        cJSON_AddStringToObject(o, "url", url->valuestring);
        cJSON_AddItemToObject(o, "headers", hdr ? cJSON_Duplicate(hdr, 1) : cJSON_CreateObject());
    }
    cJSON_AddItemToArray(out, o);
    return 0;
}

int crl_task_mcp_servers(const cJSON *arr, const char *where, char **out, struct corral_call *call)
{
    *out = NULL;
    if (!cJSON_IsArray(arr))
        return corral_call_fail(call, CORRAL_EINVAL, "%s: must be an array of MCP server tables", where);
    if (cJSON_GetArraySize(arr) > CRL_TASK_MAX_MCP_SERVERS)
        return corral_call_fail(call, CORRAL_EINVAL, "%s: more than %d servers", where, CRL_TASK_MAX_MCP_SERVERS);
    cJSON *norm = cJSON_CreateArray();
    int i = 0, r = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, arr) {
        if ((r = one_server(s, i++, where, norm, call)) != 0)
            break;
    }
    if (!r && cJSON_GetArraySize(norm) > 0 && !(*out = cJSON_PrintUnformatted(norm)))
        r = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    cJSON_Delete(norm);
    return r;
}
