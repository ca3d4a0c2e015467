/* The agent spec's "mcp" section and the agent's files: how a CLI is told
 * about MCP servers, rendered declaratively into its configuration (a JSON
 * object under a key, or TOML tables), never by per-agent code.  Keys are
 * documented in docs/plugin-abi.md ("Agent plugins: the spec"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/agent_spec.h"
#include "base/internal.h"

static const char *const transports[] = {"stdio", "sse", "streamable-http"};

/* A template string that is one of these is replaced by a JSON value of
 * the server's (env and headers: left out when empty). */
static const char *const whole[] = {"{args}", "{command_argv}", "{env}", "{headers}"};

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The extra template names of one server (pairs, NULL-terminated). */
static void server_vars(const cJSON *srv, const char *pairs[9])
{
    const char *names[] = {"name", "transport", "command", "url"};
    for (size_t i = 0; i < CRL_ARRAY_LEN(names); i++) {
        pairs[2 * i] = names[i];
        pairs[2 * i + 1] = srv ? str_of(srv, names[i]) : "x";
    }
    pairs[8] = NULL;
}

/* The value of template string t for server srv (ctx): one of `whole`, or
 * NULL (substituted as text). */
static cJSON *server_leaf(const cJSON *t, void *ctx)
{
    const cJSON *srv = ctx;
    for (size_t i = 0; i < CRL_ARRAY_LEN(whole); i++) {
        if (strcmp(t->valuestring, whole[i]) != 0)
            continue;
        if (i == 1) { /* command and args as one array */
            cJSON *a = cJSON_CreateArray();
            cJSON_AddItemToArray(a, cJSON_CreateString(str_of(srv, "command") ? str_of(srv, "command") : ""));
            const cJSON *x;
            cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(srv, "args"))
                cJSON_AddItemToArray(a, cJSON_Duplicate(x, 1));
            return a;
        }
        const char *key = i == 0 ? "args" : i == 2 ? "env" : "headers";
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(srv, key);
        if (i >= 2 && cJSON_GetArraySize(val) == 0)
            return &crl_agent_omit;
        return val ? cJSON_Duplicate(val, 1) : cJSON_CreateArray();
    }
    return NULL;
}

/* One template value rendered for server srv (vars v with its names). */
static cJSON *render(const cJSON *t, const cJSON *srv, const struct crl_agent_vars *v, char *why, size_t wl)
{
    return crl_agent_subst_json_with(t, v, server_leaf, (void *)srv, why, wl);
}

int crl_agent_mcp_parse(const cJSON *m, struct crl_agent_spec *s, char *why, size_t wl)
{
    if (!m)
        return 0;
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(m, "servers");
    const char *fmt = str_of(m, "format") ? str_of(m, "format") : "json";
    s->mcp_file = str_of(m, "file");
    s->mcp_key = str_of(m, "key");
    s->mcp_toml = strcmp(fmt, "toml") == 0;
    s->mcp_argv = cJSON_GetObjectItemCaseSensitive(m, "argv");
    s->mcp_templates = tpl;
    int n_tpl = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, tpl) {
        size_t k = 0;
        while (k < CRL_ARRAY_LEN(transports) && strcmp(transports[k], it->string) != 0)
            k++;
        if (k == CRL_ARRAY_LEN(transports) || !cJSON_IsObject(it))
            n_tpl = -1000;
        n_tpl++;
    }
    const char *bad = !cJSON_IsObject(m) ? "must be an object"
                      : !s->mcp_file ? "needs \"file\" (the path of the configuration it writes to)"
                      : !s->mcp_key || !s->mcp_key[0] ||
                              strspn(s->mcp_key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
                                  strlen(s->mcp_key)
                          ? "needs \"key\" (a dotted path of letters, digits, '_' and '-')"
                      : strcmp(fmt, "json") != 0 && !s->mcp_toml ? "\"format\" must be \"json\" or \"toml\""
                      : n_tpl <= 0 ? "\"servers\" must map \"stdio\", \"sse\" and/or \"streamable-http\" to templates"
                      : s->mcp_argv && !cJSON_IsArray(s->mcp_argv) ? "\"argv\" must be an array of strings"
                                                                  : NULL;
    cJSON_ArrayForEach(it, s->mcp_argv) if (!bad && !cJSON_IsString(it)) bad = "\"argv\" must be an array of strings";
    if (bad) {
        snprintf(why, wl, "agent spec: \"mcp\" %s", bad);
        return -1;
    }
    /* every template renders with placeholder values */
    const char *pairs[9];
    server_vars(NULL, pairs);
    const struct crl_agent_vars dummy = {"h", "w", "r", "a", "b", "m", "t", "g", pairs};
    cJSON *srv = cJSON_Parse("{\"name\":\"x\",\"command\":\"c\",\"args\":[],\"env\":{},\"url\":\"u\",\"headers\":{}}");
    cJSON *c = render(tpl, srv, &dummy, why, wl);
    cJSON_Delete(srv);
    if (c && c != &crl_agent_omit)
        cJSON_Delete(c);
    struct crl_agent_vars plain = dummy; /* file and argv know no server */
    plain.extra = NULL;
    char *f = c ? crl_agent_subst(s->mcp_file, &plain, why, wl) : NULL;
    free(f);
    cJSON *a = f && s->mcp_argv ? crl_agent_subst_json(s->mcp_argv, &plain, why, wl) : NULL;
    cJSON_Delete(a);
    if (!c || !f || (s->mcp_argv && !a)) {
        char inner[200];
        snprintf(inner, sizeof inner, "%s", why);
        snprintf(why, wl, "agent spec: \"mcp\": %s", inner);
        return -1;
    }
    return 0;
}

int crl_agent_mcp_check(const struct crl_agent_spec *s, const cJSON *servers, char *why, size_t wl)
{
    const cJSON *srv;
    if (!s->uses_model) /* nothing to tell an agent without a model (the oracle) */
        return 0;
    cJSON_ArrayForEach(srv, servers) {
        const char *t = str_of(srv, "transport");
        if (!s->mcp_templates) {
            snprintf(why, wl, "agent %s cannot use MCP servers (its spec declares no \"mcp\"), and the task "
                     "declares %d", s->name, cJSON_GetArraySize(servers));
            return -1;
        }
        if (!cJSON_GetObjectItemCaseSensitive(s->mcp_templates, t ? t : "")) {
            snprintf(why, wl, "agent %s cannot use MCP server \"%s\": it has no %s transport", s->name,
                     str_of(srv, "name"), t ? t : "?");
            return -1;
        }
    }
    return 0;
}

cJSON *crl_agent_mcp_render(const struct crl_agent_spec *s, const cJSON *servers, const struct crl_agent_vars *v,
                            char *why, size_t wl)
{
    if (crl_agent_mcp_check(s, servers, why, wl))
        return NULL;
    cJSON *out = cJSON_CreateObject();
    const cJSON *srv;
    cJSON_ArrayForEach(srv, servers) {
        const char *pairs[9];
        server_vars(srv, pairs);
        struct crl_agent_vars sv = *v;
        sv.extra = pairs;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(s->mcp_templates, str_of(srv, "transport"));
        cJSON *one = render(t, srv, &sv, why, wl);
        if (!one || one == &crl_agent_omit) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, str_of(srv, "name"), one);
    }
    return out;
}

/* A TOML basic string (TOML 1.0 escapes). */
static void toml_string(struct crl_buf *b, const char *s)
{
    crl_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            crl_buf_addf(b, "\\%c", *p);
        else if (*p == '\n')
            crl_buf_puts(b, "\\n");
        else if (*p == '\t')
            crl_buf_puts(b, "\\t");
        else if (*p == '\r')
            crl_buf_puts(b, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            crl_buf_addf(b, "\\u%04x", *p);
        else
            crl_buf_add(b, p, 1);
    }
    crl_buf_add(b, "\"", 1);
}

/* A JSON value as a TOML value (objects as inline tables, keys quoted). */
static void toml_value(struct crl_buf *b, const cJSON *v)
{
    const cJSON *it;
    int first = 1;
    if (cJSON_IsString(v)) {
        toml_string(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        crl_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        crl_buf_addf(b, "%.17g", v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        crl_buf_puts(b, "[");
        cJSON_ArrayForEach(it, v) {
            crl_buf_puts(b, first ? "" : ", ");
            toml_value(b, it);
            first = 0;
        }
        crl_buf_puts(b, "]");
    } else if (cJSON_IsObject(v)) {
        crl_buf_puts(b, "{");
        cJSON_ArrayForEach(it, v) {
            crl_buf_puts(b, first ? " " : ", ");
            toml_string(b, it->string);
            crl_buf_puts(b, " = ");
            toml_value(b, it);
            first = 0;
        }
        crl_buf_puts(b, first ? "}" : " }");
    } else {
        crl_buf_puts(b, "\"\"");
    }
}

/* The rendered servers as TOML tables [key.NAME] appended to b. */
static void toml_tables(struct crl_buf *b, const char *key, const cJSON *servers)
{
    const cJSON *srv, *it;
    cJSON_ArrayForEach(srv, servers) {
        crl_buf_addf(b, "\n[%s.%s]\n", key, srv->string); /* both bare keys: checked charsets */
        cJSON_ArrayForEach(it, srv) {
            toml_string(b, it->string);
            crl_buf_puts(b, " = ");
            toml_value(b, it);
            crl_buf_puts(b, "\n");
        }
    }
}

/* servers put at the dotted path key of the JSON document doc. */
static void json_insert(cJSON *doc, const char *key, const cJSON *servers)
{
    cJSON *cur = doc;
    char seg[128];
    for (const char *p = key; *p;) {
        size_t n = strcspn(p, ".");
        snprintf(seg, sizeof seg, "%.*s", (int)(n < sizeof seg ? n : sizeof seg - 1), p);
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
        if (!cJSON_IsObject(next)) {
            cJSON_DeleteItemFromObjectCaseSensitive(cur, seg);
            next = cJSON_AddObjectToObject(cur, seg);
        }
        cur = next;
        p += n + (p[n] == '.');
    }
    const cJSON *srv;
    cJSON_ArrayForEach(srv, servers) {
        cJSON_DeleteItemFromObjectCaseSensitive(cur, srv->string);
        cJSON_AddItemToObject(cur, srv->string, cJSON_Duplicate(srv, 1));
    }
}

int crl_agent_files(const struct crl_agent_spec *s, const struct crl_agent_vars *v, const cJSON *servers,
                    struct crl_strv *paths, struct crl_strv *bodies, char *why, size_t wl)
{
    cJSON *rendered = NULL;
    if (s->uses_model && cJSON_GetArraySize(servers) > 0 && !(rendered = crl_agent_mcp_render(s, servers, v, why, wl)))
        return -1;
    int matched = 0, r = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, s->files) {
        const char *ptmpl = cJSON_GetObjectItemCaseSensitive(f, "path")->valuestring;
        int here = rendered && strcmp(ptmpl, s->mcp_file) == 0;
        matched |= here;
        char *path = crl_agent_subst(ptmpl, v, why, wl);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(f, "text");
        char *body = NULL;
        if (path && cJSON_IsString(text)) {
            body = crl_agent_subst(text->valuestring, v, why, wl);
            if (body && here && s->mcp_toml) {
                struct crl_buf b = {0};
                crl_buf_puts(&b, body);
                if (b.len && b.p[b.len - 1] != '\n')
                    crl_buf_puts(&b, "\n");
                toml_tables(&b, s->mcp_key, rendered);
                free(body);
                body = b.p;
            } else if (body && here) {
                snprintf(why, wl, "agent spec: \"mcp\" file %s is a text file, not \"format\": \"toml\"", ptmpl);
                free(body);
                body = NULL;
            }
        } else if (path) {
            cJSON *j = crl_agent_subst_json(cJSON_GetObjectItemCaseSensitive(f, "json"), v, why, wl);
            if (j && here && s->mcp_toml)
                snprintf(why, wl, "agent spec: \"mcp\" file %s is a JSON file, not \"format\": \"toml\"", ptmpl);
            else if (j && here)
                json_insert(j, s->mcp_key, rendered);
            body = j && !(here && s->mcp_toml) ? cJSON_Print(j) : NULL;
            cJSON_Delete(j);
        }
        if (path && body) {
            crl_strv_push(paths, path);
            crl_strv_push(bodies, body);
        }
        free(path);
        free(body);
        if (!path || !body) {
            r = -1;
            break;
        }
    }
    if (!r && rendered && !matched) { /* a file of its own */
        char *path = crl_agent_subst(s->mcp_file, v, why, wl);
        struct crl_buf b = {0};
        if (s->mcp_toml) {
            toml_tables(&b, s->mcp_key, rendered);
        } else {
            cJSON *doc = cJSON_CreateObject();
            json_insert(doc, s->mcp_key, rendered);
            char *t = cJSON_Print(doc);
            crl_buf_puts(&b, t ? t : "");
            free(t);
            cJSON_Delete(doc);
        }
        if (path) {
            crl_strv_push(paths, path);
            crl_strv_push(bodies, b.p ? b.p : "");
        }
        r = path ? 0 : -1;
        free(path);
        crl_buf_free(&b);
    }
    cJSON_Delete(rendered);
    return r;
}

cJSON *crl_agent_mcp_list(const struct crl_agent_spec *s, const char *task_servers, const char *gate_url,
                          const char *token)
{
    cJSON *a = task_servers ? cJSON_Parse(task_servers) : cJSON_CreateArray();
    if (!a || !gate_url || !gate_url[0] || !cJSON_GetObjectItemCaseSensitive(s->mcp_templates, "streamable-http"))
        return a;
    struct crl_buf url = {0}, bearer = {0};
    crl_buf_addf(&url, "%s/mcp", gate_url);
    crl_buf_addf(&bearer, "Bearer %s", token);
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "name", CRL_MCP_GATE_SERVER);
    cJSON_AddStringToObject(g, "transport", "streamable-http");
    cJSON_AddStringToObject(g, "url", url.p ? url.p : "");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(g, "headers"), "Authorization", bearer.p ? bearer.p : "");
    cJSON_AddItemToArray(a, g);
    crl_buf_free(&url);
    crl_buf_free(&bearer);
    return a;
}
