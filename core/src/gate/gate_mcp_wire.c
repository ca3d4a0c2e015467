/*
 * The MCP endpoint's wire (docs/gate.md "Tools over MCP"): JSON-RPC 2.0
 * messages an agent POSTs, the tools/call parameters, the trainer's tool
 * results, and the JSON-RPC bodies the gate answers with.  Pure functions
 * of bytes (no gate, no lock), so the fuzzer drives them alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_scan.h"
#include "gate/gate_internal.h"

static int fail(char *err, size_t errlen, int code, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return code;
}

void gate_mcp_msg_clear(struct gate_mcp_msg *m)
{
    free(m->id);
    free(m->method);
    cJSON_Delete(m->params);
    memset(m, 0, sizeof *m);
}

int gate_mcp_parse(const char *text, size_t len, struct gate_mcp_msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (!text || !crl_json_scan(text, len, NULL, NULL))
        return fail(err, errlen, GATE_MCP_PARSE_ERROR, "Parse error: the body is not one valid JSON value");
    cJSON *j = gate_json_parse_exact(text, len);
    if (!j)
        return fail(err, errlen, GATE_MCP_PARSE_ERROR, "Parse error: the body is not one valid JSON value");
    int rc = GATE_MCP_INVALID_REQUEST;
    if (cJSON_IsArray(j)) {
        fail(err, errlen, rc, "Invalid Request: JSON-RPC batches are not supported, send one message per POST");
        goto out;
    }
    if (!cJSON_IsObject(j)) {
        fail(err, errlen, rc, "Invalid Request: a JSON-RPC message is an object");
        goto out;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    /* An id the answer can echo: a string or an integer (MCP forbids
     * null), one a double holds exactly. */
    int integer = cJSON_IsNumber(id) && id->valuedouble >= -9007199254740992.0 &&
                  id->valuedouble <= 9007199254740992.0 && id->valuedouble == (double)(long long)id->valuedouble;
    if (cJSON_IsString(id) || integer) {
        char num[32];
        if (integer)
            snprintf(num, sizeof num, "%lld", (long long)id->valuedouble);
        if (!(m->id = integer ? strdup(num) : cJSON_PrintUnformatted(id))) {
            rc = fail(err, errlen, GATE_MCP_INTERNAL_ERROR, "out of memory");
            goto out;
        }
    } else if (id) {
        fail(err, errlen, rc, "Invalid Request: \"id\" must be a string or an integer (at most 2^53)");
        goto out;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
        fail(err, errlen, rc, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
        goto out;
    }
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(j, "method");
    if (!method) {
        if (!m->id || (!cJSON_HasObjectItem(j, "result") && !cJSON_HasObjectItem(j, "error"))) {
            fail(err, errlen, rc, "Invalid Request: no \"method\", and not a response");
            goto out;
        }
        m->kind = GATE_MCP_RESPONSE;
        rc = 0;
        goto out;
    }
    if (!cJSON_IsString(method) || !method->valuestring[0]) {
        fail(err, errlen, rc, "Invalid Request: \"method\" must be a non-empty string");
        goto out;
    }
    cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "params");
    if (params && !cJSON_IsObject(params)) {
        fail(err, errlen, rc, "Invalid Request: \"params\" must be an object");
        goto out;
    }
    if (!(m->method = strdup(method->valuestring))) {
        rc = fail(err, errlen, GATE_MCP_INTERNAL_ERROR, "out of memory");
        goto out;
    }
    m->params = params ? cJSON_DetachItemViaPointer(j, params) : NULL;
    m->kind = m->id ? GATE_MCP_REQUEST : GATE_MCP_NOTIFICATION;
    rc = 0;
out:
    cJSON_Delete(j);
    if (rc) {
        char *keep = m->id; /* an error answer still names the request when it could */
        m->id = NULL;
        gate_mcp_msg_clear(m);
        m->id = keep;
    }
    return rc;
}

int gate_mcp_call_params(const cJSON *params, char **name, char **arguments, char *err, size_t errlen)
{
    *name = *arguments = NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    if (!cJSON_IsString(n) || !n->valuestring[0])
        return fail(err, errlen, GATE_MCP_INVALID_PARAMS, "Invalid params: tools/call needs a string \"name\"");
    if (a && !cJSON_IsObject(a) && !cJSON_IsNull(a))
        return fail(err, errlen, GATE_MCP_INVALID_PARAMS, "Invalid params: \"arguments\" must be an object");
    *name = strdup(n->valuestring);
    *arguments = cJSON_IsObject(a) ? cJSON_PrintUnformatted(a) : strdup("{}");
    if (!*name || !*arguments) {
        free(*name);
        free(*arguments);
        *name = *arguments = NULL;
        return fail(err, errlen, GATE_MCP_INTERNAL_ERROR, "out of memory");
    }
    return 0;
}

/* One content item: an object with a string "type"; a "text" item has a
 * string "text". */
static int content_item_valid(const cJSON *it)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
    if (!cJSON_IsObject(it) || !cJSON_IsString(t) || !t->valuestring[0])
        return 0;
    return strcmp(t->valuestring, "text") != 0 || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "text"));
}

char *gate_mcp_result_normalize(const char *text, size_t len, char *err, size_t errlen)
{
    cJSON *j = text && crl_json_scan(text, len, NULL, NULL) ? gate_json_parse_exact(text, len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fail(err, errlen, 0, "a tool result is a JSON object: {\"content\":[{\"type\":\"text\",\"text\":\"...\"}],"
                             "\"isError\":false} or {\"text\":\"...\"}");
        return NULL;
    }
    cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
    const cJSON *txt = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(j, "isError");
    const cJSON *structured = cJSON_GetObjectItemCaseSensitive(j, "structuredContent");
    const char *why = NULL;
    if (content && txt)
        why = "a tool result has \"content\" or the \"text\" shorthand, not both";
    else if (!content && !cJSON_IsString(txt))
        why = "a tool result needs a \"content\" array (or a string \"text\")";
    else if (content && !cJSON_IsArray(content))
        why = "\"content\" must be an array of content items";
    else if (is_error && !cJSON_IsBool(is_error))
        why = "\"isError\" must be a boolean";
    else if (structured && !cJSON_IsObject(structured))
        why = "\"structuredContent\" must be an object";
    const cJSON *it;
    cJSON_ArrayForEach(it, content)
    {
        if (!why && !content_item_valid(it))
            why = "each content item is an object with a string \"type\" (and a string \"text\" when type is text)";
    }
    if (why) {
        cJSON_Delete(j);
        fail(err, errlen, 0, why);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *c = content ? cJSON_DetachItemViaPointer(j, content) : cJSON_CreateArray();
    if (out && c && txt) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddItemToArray(c, item);
        cJSON_AddStringToObject(item, "type", "text");
        cJSON_AddStringToObject(item, "text", txt->valuestring);
    }
    cJSON_AddItemToObject(out, "content", c);
    if (structured)
        cJSON_AddItemToObject(out, "structuredContent", cJSON_DetachItemViaPointer(j, (cJSON *)structured));
    cJSON_AddBoolToObject(out, "isError", cJSON_IsTrue(is_error));
    char *s = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    cJSON_Delete(j);
    if (!s)
        fail(err, errlen, 0, "out of memory");
    return s;
}

char *gate_mcp_text_result(const char *text, int is_error)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *c = cJSON_AddArrayToObject(o, "content");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddItemToArray(c, item);
    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", text);
    cJSON_AddBoolToObject(o, "isError", is_error);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *gate_mcp_result_body(const char *id, const char *result)
{
    size_t n = strlen(id) + strlen(result) + 40;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}", id, result);
    return s;
}

char *gate_mcp_error_body(const char *id, int code, const char *message, const char *data_code)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON *idj = id ? cJSON_Parse(id) : NULL;
    cJSON_AddItemToObject(o, "id", idj ? idj : cJSON_CreateNull());
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    if (data_code)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "data"), "code", data_code);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int gate_tool_name_valid(const char *name)
{
    size_t n = 0;
    for (; name && name[n]; n++) {
        char ch = name[n];
        if (n >= 64 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '_' || ch == '-'))
            return 0;
    }
    return n > 0;
}

/* The JSON-RPC message of a central gate's answer text[0..len): an object
 * with a "result" or an "error" object, else NULL.  Caller deletes it. */
static cJSON *central_answer(const char *text, size_t len)
{
    cJSON *j = text && crl_json_scan(text, len, NULL, NULL) ? gate_json_parse_exact(text, len) : NULL;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "result")) ||
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "error")))
        return j;
    cJSON_Delete(j);
    return NULL;
}

cJSON *gate_mcp_tools_from_answer(const char *text, size_t len)
{
    cJSON *j = central_answer(text, len);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "result"), "tools");
    cJSON *out = cJSON_IsArray(tools) ? cJSON_CreateArray() : NULL;
    const cJSON *t;
    int n = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(t, "description");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "inputSchema");
        if (!out || n >= GATE_TOOLS_MAX || !cJSON_IsString(name) || !gate_tool_name_valid(name->valuestring) ||
            (desc && !cJSON_IsString(desc)) || !cJSON_IsObject(schema))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", name->valuestring);
        if (desc)
            cJSON_AddStringToObject(e, "description", desc->valuestring);
        cJSON_AddItemToObject(e, "inputSchema", cJSON_Duplicate(schema, 1));
        cJSON_AddItemToArray(out, e);
        n++;
    }
    cJSON_Delete(j);
    return out;
}

char *gate_mcp_answer_relay(long status, const char *text, size_t len)
{
    cJSON *j = central_answer(text, len);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(j, "result");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const char *m = cJSON_IsString(msg) ? msg->valuestring : "the central gate failed the tool call";
    char *out = NULL;
    if (status == 200 && cJSON_IsObject(result)) { /* normalized: never read as an error answer */
        char err[256], *r = cJSON_PrintUnformatted(result);
        out = r ? gate_mcp_result_normalize(r, strlen(r), err, sizeof err) : NULL;
        free(r);
    } else if (status == 200 && cJSON_IsObject(e)) { /* e.g. a tool the central gate no longer has */
        out = gate_mcp_text_result(m, 1);
    } else if (status >= 400 && status <= 599 && cJSON_IsObject(e)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "data"), "code");
        cJSON *o = cJSON_CreateObject();
        cJSON *oe = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(oe, "message", m);
        cJSON_AddNumberToObject(oe, "status", (double)status);
        if (cJSON_IsString(code))
            cJSON_AddStringToObject(oe, "code", code->valuestring);
        out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    cJSON_Delete(j);
    return out;
}

const char *gate_mcp_version(const char *asked)
{
    static const char *const known[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
    for (size_t i = 0; asked && i < sizeof known / sizeof *known; i++)
        if (strcmp(asked, known[i]) == 0)
            return known[i];
    return NULL;
}
