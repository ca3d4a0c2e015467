/*
 * The tools a trainer registers for the gate's MCP endpoint (docs/gate.md
 * "Tools over MCP"): a list on the gate, under gate->lock, of (rollout id
 * or every rollout, name, description, input schema).  A rollout's own
 * tool shadows a global one of the same name.  The C API and the trainer
 * listener's /v1/tools routes both land here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json_scan.h"
#include "gate/gate_internal.h"

struct gate_tool {
    struct gate_tool *next;
    char *rollout_id;                  /* NULL: every rollout */
    char *name;
    char *description;
    cJSON *schema;                     /* an object */
};

static int same_scope(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static struct gate_tool **tool_find_locked(struct corral_gate *g, const char *rollout_id, const char *name)
{
    for (struct gate_tool **pp = &g->tools; *pp; pp = &(*pp)->next)
        if (same_scope((*pp)->rollout_id, rollout_id) && strcmp((*pp)->name, name) == 0)
            return pp;
    return NULL;
}

static void tool_free(struct gate_tool *t)
{
    if (!t)
        return;
    free(t->rollout_id);
    free(t->name);
    free(t->description);
    cJSON_Delete(t->schema);
    free(t);
}

void gate_tools_free(struct corral_gate *g)
{
    for (struct gate_tool *t = g->tools, *n; t; t = n) {
        n = t->next;
        tool_free(t);
    }
    g->tools = NULL;
    g->n_tools = 0;
}

int corral_gate_add_tool(corral_gate *g, const char *rollout_id, const char *name, const char *description,
                         const char *input_schema_json, struct corral_call *call)
{
    if (!g || !gate_tool_name_valid(name))
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a tool name is 1-64 of [A-Za-z0-9_-]");
    if (rollout_id && !corral_gate_rollout_id_valid(rollout_id))
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a rollout id is 1-128 of [A-Za-z0-9._:-]");
    if (description && strlen(description) > GATE_TOOL_DESCRIPTION_MAX)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a tool description is at most %d bytes",
                                GATE_TOOL_DESCRIPTION_MAX);
    size_t slen = input_schema_json ? strlen(input_schema_json) : 0;
    if (slen > GATE_TOOL_SCHEMA_MAX)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a tool's input schema is at most %u bytes",
                                GATE_TOOL_SCHEMA_MAX);
    cJSON *schema = input_schema_json && crl_json_scan(input_schema_json, slen, NULL, NULL)
                        ? gate_json_parse_exact(input_schema_json, slen)
                        : NULL;
    if (!cJSON_IsObject(schema)) {
        cJSON_Delete(schema);
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a tool's input schema must be a JSON object");
    }
    struct gate_tool *t = calloc(1, sizeof *t);
    if (t) {
        t->schema = schema;
        t->name = strdup(name);
        t->description = strdup(description ? description : "");
        t->rollout_id = rollout_id ? strdup(rollout_id) : NULL;
    } else {
        cJSON_Delete(schema);
    }
    if (!t || !t->name || !t->description || (rollout_id && !t->rollout_id)) {
        tool_free(t);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: out of memory");
    }
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    if (tool_find_locked(g, rollout_id, name))
        rc = CORRAL_EEXIST;
    else if (g->n_tools >= GATE_TOOLS_MAX)
        rc = CORRAL_EINVAL;
    if (rc == 0) {
        struct gate_tool **pp = &g->tools;
        while (*pp)
            pp = &(*pp)->next;
        *pp = t;
        g->n_tools++;
    }
    pthread_mutex_unlock(&g->lock);
    if (rc) {
        tool_free(t);
        return rc == CORRAL_EEXIST
                   ? corral_call_fail(call, rc, "gate: tool %s is already registered%s%s", name,
                                      rollout_id ? " for rollout " : "", rollout_id ? rollout_id : "")
                   : corral_call_fail(call, rc, "gate: at most %d tools", GATE_TOOLS_MAX);
    }
    return 0;
}

int corral_gate_remove_tool(corral_gate *g, const char *rollout_id, const char *name, struct corral_call *call)
{
    if (!g || !name)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: remove_tool needs a gate and a name");
    pthread_mutex_lock(&g->lock);
    struct gate_tool **pp = tool_find_locked(g, rollout_id, name);
    struct gate_tool *t = pp ? *pp : NULL;
    if (t) {
        *pp = t->next;
        g->n_tools--;
    }
    pthread_mutex_unlock(&g->lock);
    if (!t)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "gate: no tool %s%s%s", name,
                                rollout_id ? " for rollout " : "", rollout_id ? rollout_id : "");
    tool_free(t);
    return 0;
}

/* The entry of remote (an MCP "tools" array, or NULL) called name. */
static const cJSON *remote_find(const cJSON *remote, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, remote)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return t;
    }
    return NULL;
}

int gate_tool_visible_locked(struct corral_gate *g, const char *rollout_id, const char *name, const cJSON *remote)
{
    return tool_find_locked(g, rollout_id, name) || tool_find_locked(g, NULL, name) || remote_find(remote, name);
}

void gate_tools_set_remote(struct corral_gate *g, cJSON *(*fn)(void *ctx, const char *rollout_id), void *ctx)
{
    pthread_mutex_lock(&g->lock);
    g->remote_tools = fn;
    g->remote_tools_ctx = ctx;
    while (!fn && g->remote_tools_busy) { /* the old source may be freed once this returns */
        pthread_mutex_unlock(&g->lock);
        usleep(5000);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
}

cJSON *gate_tools_remote(struct corral_gate *g, const char *rollout_id)
{
    pthread_mutex_lock(&g->lock);
    cJSON *(*fn)(void *, const char *) = g->remote_tools;
    void *ctx = g->remote_tools_ctx;
    const struct gate_rollout *r = fn ? gate_rollout_find_locked(g, rollout_id) : NULL;
    int use = r && r->ops == &gate_trainer_ops;
    if (use)
        g->remote_tools_busy++;
    pthread_mutex_unlock(&g->lock);
    if (!use)
        return NULL;
    cJSON *a = fn(ctx, rollout_id);
    pthread_mutex_lock(&g->lock);
    g->remote_tools_busy--;
    pthread_mutex_unlock(&g->lock);
    return a;
}

static cJSON *mcp_tool(const struct gate_tool *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    if (t->description[0])
        cJSON_AddStringToObject(o, "description", t->description);
    cJSON_AddItemToObject(o, "inputSchema", cJSON_Duplicate(t->schema, 1));
    return o;
}

cJSON *gate_tools_list_locked(struct corral_gate *g, const char *rollout_id, const cJSON *remote)
{
    cJSON *a = cJSON_CreateArray();
    for (const struct gate_tool *t = g->tools; a && t; t = t->next)
        if (t->rollout_id && strcmp(t->rollout_id, rollout_id) == 0)
            cJSON_AddItemToArray(a, mcp_tool(t));
    for (const struct gate_tool *t = g->tools; a && t; t = t->next)
        if (!t->rollout_id && !tool_find_locked(g, rollout_id, t->name))
            cJSON_AddItemToArray(a, mcp_tool(t));
    const cJSON *t;
    cJSON_ArrayForEach(t, remote)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (a && cJSON_IsString(n) && !tool_find_locked(g, rollout_id, n->valuestring) &&
            !tool_find_locked(g, NULL, n->valuestring)) /* a local tool shadows a central one */
            cJSON_AddItemToArray(a, cJSON_Duplicate(t, 1));
    }
    return a;
}

static unsigned answer(char **out, unsigned status, cJSON *o)
{
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? status : 503;
}

static unsigned error(char **out, unsigned status, const char *message, const char *code)
{
    *out = gate_error_body(message, "invalid_request_error", code);
    return *out ? status : 503;
}

/* GET /v1/tools[?rollout_id=R]: every tool, or those R sees. */
static unsigned tools_get(struct corral_gate *g, const char *rollout_id, char **out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "tools");
    pthread_mutex_lock(&g->lock);
    for (const struct gate_tool *t = g->tools; a && t; t = t->next) {
        if (rollout_id && t->rollout_id && strcmp(t->rollout_id, rollout_id) != 0)
            continue;
        if (rollout_id && !t->rollout_id && tool_find_locked(g, rollout_id, t->name))
            continue; /* shadowed for this rollout */
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", t->name);
        cJSON_AddStringToObject(e, "description", t->description);
        cJSON_AddItemToObject(e, "input_schema", cJSON_Duplicate(t->schema, 1));
        cJSON_AddItemToObject(e, "rollout_id", t->rollout_id ? cJSON_CreateString(t->rollout_id) : cJSON_CreateNull());
        cJSON_AddItemToArray(a, e);
    }
    pthread_mutex_unlock(&g->lock);
    return answer(out, 200, o);
}

/* Register the tool object b ({"name","description","input_schema",
 * "rollout_id"?}); 0 or CORRAL_E* with call's message saying why. */
static int add_tool_object(struct corral_gate *g, const cJSON *b, struct corral_call *call)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(b, "description");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(b, "input_schema");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(b, "rollout_id");
    const char *why = !cJSON_IsObject(b)                     ? "a tool must be a JSON object"
                      : !cJSON_IsString(name)                ? "\"name\" must be a string"
                      : desc && !cJSON_IsString(desc)        ? "\"description\" must be a string"
                      : !cJSON_IsObject(schema)              ? "\"input_schema\" must be a JSON object (a JSON Schema)"
                      : rid && !cJSON_IsString(rid) && !cJSON_IsNull(rid) ? "\"rollout_id\" must be a string or null"
                                                                           : NULL;
    if (why)
        return corral_call_fail(call, CORRAL_EINVAL, "%s", why);
    char *schema_text = cJSON_PrintUnformatted(schema);
    int rc = schema_text ? corral_gate_add_tool(g, cJSON_IsString(rid) ? rid->valuestring : NULL, name->valuestring,
                                                desc ? desc->valuestring : "", schema_text, call)
                         : corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    free(schema_text);
    return rc;
}

int corral_gate_add_tools_json(corral_gate *g, const char *json, size_t len, struct corral_call *call)
{
    cJSON *b = json && crl_json_scan(json, len, NULL, NULL) ? gate_json_parse_exact(json, len) : NULL;
    if (!cJSON_IsObject(b) && !cJSON_IsArray(b)) {
        cJSON_Delete(b);
        return corral_call_fail(call, CORRAL_EINVAL, "tools: not a JSON object or array of tool objects");
    }
    int rc = 0, i = 0;
    const cJSON *t;
    if (cJSON_IsObject(b))
        rc = add_tool_object(g, b, call);
    else
        cJSON_ArrayForEach(t, b) {
            if ((rc = add_tool_object(g, t, call)) != 0) {
                char msg[sizeof call->message];
                snprintf(msg, sizeof msg, "%s", call->message);
                corral_call_fail(call, rc, "tool %d: %s", i, msg);
                break;
            }
            i++;
        }
    cJSON_Delete(b);
    return rc;
}

/* POST /v1/tools {"name","description","input_schema","rollout_id"?}. */
static unsigned tools_post(struct corral_gate *g, const char *body, size_t len, char **out)
{
    cJSON *b = body && crl_json_scan(body, len, NULL, NULL) ? gate_json_parse_exact(body, len) : NULL;
    if (!cJSON_IsObject(b)) {
        cJSON_Delete(b);
        return error(out, 400, "the body must be a JSON object", "invalid_request");
    }
    struct corral_call call;
    memset(&call, 0, sizeof call);
    int rc = add_tool_object(g, b, &call);
    unsigned status;
    if (rc == 0) {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(b, "rollout_id");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring);
        cJSON_AddItemToObject(o, "rollout_id", cJSON_IsString(rid) ? cJSON_CreateString(rid->valuestring)
                                                                   : cJSON_CreateNull());
        status = answer(out, 201, o);
    } else {
        status = error(out, rc == CORRAL_EEXIST ? 409 : rc == CORRAL_ENOMEM ? 503 : 400,
                       rc == CORRAL_ENOMEM ? "out of memory" : call.message,
                       rc == CORRAL_EEXIST ? "exists" : "invalid_request");
    }
    cJSON_Delete(b);
    return status;
}

unsigned gate_tools_trainer(struct corral_gate *g, const char *method, const char *rest, const char *rollout_id,
                            const char *body, size_t len, char **out)
{
    *out = NULL;
    if (strcmp(rest, "") == 0 && strcmp(method, "GET") == 0)
        return tools_get(g, rollout_id, out);
    if (strcmp(rest, "") == 0 && strcmp(method, "POST") == 0)
        return tools_post(g, body, len, out);
    if (rest[0] == '/' && strcmp(method, "DELETE") == 0) {
        struct corral_call call;
        memset(&call, 0, sizeof call);
        if (corral_gate_remove_tool(g, rollout_id, rest + 1, &call) != 0)
            return error(out, 404, call.message, "not_found");
        *out = strdup("{\"ok\":true}");
        return *out ? 200 : 503;
    }
    return error(out, 404, "not found", "not_found");
}
