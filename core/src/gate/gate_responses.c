/*
 * The OpenAI Responses edge of the gate (POST /v1/responses): a Responses
 * request translated into the chat-completions request every responder
 * takes (the gate's one normalized call), and OpenAI's error body.  The
 * answer side is gate_render_responses.c.  The mapping, and what is
 * dropped or refused, is in docs/gate-dialects.md.
 *
 * Pure functions of their inputs (no gate state), so the fuzz target
 * (tests/fuzz/fuzz_gate_responses.c) drives them directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

static int oom(char *err, size_t errlen)
{
    return gate_tr_fail(err, errlen, "out of memory");
}

/* The last message of out when it is an assistant message a following
 * assistant item (text or a function call) joins, else a new one. */
static cJSON *assistant_msg(cJSON *out)
{
    int n = cJSON_GetArraySize(out);
    cJSON *last = n ? cJSON_GetArrayItem(out, n - 1) : NULL;
    const char *role = gate_tr_str(last, "role");
    if (role && strcmp(role, "assistant") == 0)
        return last;
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", "assistant") || !cJSON_AddNullToObject(m, "content")) {
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToArray(out, m);
    return m;
}

/* An input_image part as a chat image_url part; "detail" kept. */
static int image_part(const cJSON *part, cJSON *parts, char *err, size_t errlen)
{
    const char *url = gate_tr_str(part, "image_url");
    if (!url)
        return gate_tr_fail(err, errlen, "an input_image part needs a string \"image_url\" (file_id is not supported)");
    cJSON *p = cJSON_CreateObject();
    cJSON *iu = p && cJSON_AddStringToObject(p, "type", "image_url") ? cJSON_AddObjectToObject(p, "image_url") : NULL;
    if (!iu || !cJSON_AddStringToObject(iu, "url", url)) {
        cJSON_Delete(p);
        return oom(err, errlen);
    }
    const char *detail = gate_tr_str(part, "detail");
    if (detail)
        cJSON_AddStringToObject(iu, "detail", detail);
    cJSON_AddItemToArray(parts, p);
    return 0;
}

/* A message item: role user/system/developer (-> system)/assistant;
 * content a string or input_text/output_text/refusal/input_image parts.
 * An assistant message's text joins (with "\n") the open assistant
 * message. */
static int message_item(const cJSON *item, cJSON *out, char *err, size_t errlen)
{
    const char *role = gate_tr_str(item, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
    if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 && strcmp(role, "system") != 0 &&
                  strcmp(role, "developer") != 0))
        return gate_tr_fail(err, errlen, "a message item needs \"role\": user, assistant, system or developer");
    if (!cJSON_IsString(content) && !cJSON_IsArray(content))
        return gate_tr_fail(err, errlen, "a message item's \"content\" must be a string or an array of parts");
    int assistant = strcmp(role, "assistant") == 0, user = strcmp(role, "user") == 0;
    struct crl_buf text = {0};
    cJSON *parts = cJSON_CreateArray();
    int n_text = 0, n_image = 0;
    const char *why = NULL;
    if (cJSON_IsString(content)) {
        if (crl_buf_puts(&text, content->valuestring))
            why = "out of memory";
        n_text = 1;
    }
    const cJSON *part, *list = cJSON_IsArray(content) ? content : NULL;
    cJSON_ArrayForEach(part, list) {
        const char *type = gate_tr_str(part, "type");
        const char *t = gate_tr_str(part, type && strcmp(type, "refusal") == 0 ? "refusal" : "text");
        if (type && (strcmp(type, "input_text") == 0 || strcmp(type, "output_text") == 0 ||
                     strcmp(type, "refusal") == 0 || strcmp(type, "text") == 0) && t) {
            cJSON *p = cJSON_CreateObject();
            if (gate_tr_join(&text, "\n", t) || !p || !cJSON_AddStringToObject(p, "type", "text") ||
                !cJSON_AddStringToObject(p, "text", t)) {
                cJSON_Delete(p);
                why = "out of memory";
                break;
            }
            cJSON_AddItemToArray(parts, p);
            n_text++;
        } else if (type && strcmp(type, "input_image") == 0 && user) {
            if (image_part(part, parts, err, errlen)) {
                crl_buf_free(&text);
                cJSON_Delete(parts);
                return CORRAL_EINVAL;
            }
            n_image++;
        } else {
            why = "a message's content parts must be input_text, output_text, refusal or (from the user) "
                  "input_image, each with its text";
            break;
        }
    }
    if (why) {
        crl_buf_free(&text);
        cJSON_Delete(parts);
        return gate_tr_fail(err, errlen, why);
    }
    if (assistant) {
        cJSON_Delete(parts);
        cJSON *m = assistant_msg(out);
        if (!m) {
            crl_buf_free(&text);
            return oom(err, errlen);
        }
        const char *had = gate_tr_str(m, "content");
        struct crl_buf joined = {0};
        int bad = had ? crl_buf_puts(&joined, had) || gate_tr_join(&joined, "\n", text.p ? text.p : "")
                      : crl_buf_puts(&joined, text.p ? text.p : "");
        crl_buf_free(&text);
        if (bad || !cJSON_ReplaceItemInObjectCaseSensitive(m, "content", cJSON_CreateString(joined.p ? joined.p : ""))) {
            crl_buf_free(&joined);
            return oom(err, errlen);
        }
        crl_buf_free(&joined);
        return 0;
    }
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", user ? "user" : "system")) {
        cJSON_Delete(m);
        cJSON_Delete(parts);
        crl_buf_free(&text);
        return oom(err, errlen);
    }
    if (n_image) { /* parts as they came */
        cJSON_AddItemToObject(m, "content", parts);
    } else {
        cJSON_Delete(parts);
        cJSON_AddStringToObject(m, "content", text.p ? text.p : "");
    }
    crl_buf_free(&text);
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* "<ns>__<name>" as malloc'ed text (the caller's), or NULL out of memory:
 * the flat name of a namespace's tool (docs/gate-dialects.md). */
static char *flat_name(const char *ns, const char *name)
{
    struct crl_buf b = {0};
    if (crl_buf_puts(&b, ns) || crl_buf_puts(&b, "__") || crl_buf_puts(&b, name)) {
        crl_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* A function_call item {call_id, name, arguments, namespace?} as a tool
 * call of the open assistant message, named "<namespace>__<name>" when it
 * has a namespace. */
static int function_call_item(const cJSON *item, cJSON *out, char *err, size_t errlen)
{
    const char *id = gate_tr_str(item, "call_id"), *name = gate_tr_str(item, "name");
    const char *args = gate_tr_str(item, "arguments");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(item, "namespace");
    if (!id || !name || !args || (ns && !cJSON_IsNull(ns) && !cJSON_IsString(ns)))
        return gate_tr_fail(err, errlen, "a function_call item needs string \"call_id\", \"name\" and "
                                         "\"arguments\" (and a \"namespace\", if any, a string)");
    char *flat = cJSON_IsString(ns) ? flat_name(ns->valuestring, name) : NULL;
    if (cJSON_IsString(ns) && !flat)
        return oom(err, errlen);
    cJSON *m = assistant_msg(out);
    cJSON *calls = m ? cJSON_GetObjectItemCaseSensitive(m, "tool_calls") : NULL;
    if (m && !calls)
        calls = cJSON_AddArrayToObject(m, "tool_calls");
    cJSON *tc = calls ? cJSON_CreateObject() : NULL, *fn = NULL;
    if (!tc || !cJSON_AddStringToObject(tc, "id", id) || !cJSON_AddStringToObject(tc, "type", "function") ||
        !(fn = cJSON_AddObjectToObject(tc, "function")) ||
        !cJSON_AddStringToObject(fn, "name", flat ? flat : name) || !cJSON_AddStringToObject(fn, "arguments", args)) {
        free(flat);
        cJSON_Delete(tc);
        return oom(err, errlen);
    }
    free(flat);
    cJSON_AddItemToArray(calls, tc);
    return 0;
}

/* A function_call_output item {call_id, output} as a "tool" message; an
 * output of parts is their text joined with "\n" (others as "[<type>]"). */
static int function_output_item(const cJSON *item, cJSON *out, char *err, size_t errlen)
{
    const char *id = gate_tr_str(item, "call_id");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(item, "output");
    if (!id || (!cJSON_IsString(o) && !cJSON_IsArray(o)))
        return gate_tr_fail(err, errlen,
                            "a function_call_output item needs a string \"call_id\" and an \"output\" string or array");
    struct crl_buf text = {0};
    int bad = cJSON_IsString(o) ? crl_buf_puts(&text, o->valuestring) : 0;
    const cJSON *part, *list = cJSON_IsArray(o) ? o : NULL;
    cJSON_ArrayForEach(part, list) {
        const char *type = gate_tr_str(part, "type"), *t = gate_tr_str(part, "text");
        char other[80];
        if (!type) {
            crl_buf_free(&text);
            return gate_tr_fail(err, errlen, "each part of a function_call_output needs a string \"type\"");
        }
        if (!t) {
            snprintf(other, sizeof other, "[%.*s]", gate_utf8_prec(type, 64), type);
            t = other;
        }
        bad |= gate_tr_join(&text, "\n", t);
    }
    cJSON *m = cJSON_CreateObject();
    if (bad || !m || !cJSON_AddStringToObject(m, "role", "tool") || !cJSON_AddStringToObject(m, "tool_call_id", id) ||
        !cJSON_AddStringToObject(m, "content", text.p ? text.p : "")) {
        crl_buf_free(&text);
        cJSON_Delete(m);
        return oom(err, errlen);
    }
    crl_buf_free(&text);
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* A reasoning item's text (its reasoning_text content, else its summary
 * texts, joined with "\n") as the reasoning_content of the open assistant
 * message; one with encrypted_content only says nothing the gate can
 * read and is dropped. */
static int reasoning_item(const cJSON *item, cJSON *out, char *err, size_t errlen)
{
    struct crl_buf text = {0};
    int bad = 0;
    static const char *const lists[] = {"content", "summary"};
    for (size_t l = 0; l < 2 && !text.len; l++) {
        const cJSON *part, *list = cJSON_GetObjectItemCaseSensitive(item, lists[l]);
        if (list && !cJSON_IsNull(list) && !cJSON_IsArray(list))
            return gate_tr_fail(err, errlen, "a reasoning item's \"content\" and \"summary\" must be arrays");
        cJSON_ArrayForEach(part, list) {
            const char *t = gate_tr_str(part, "text");
            if (t && t[0])
                bad |= gate_tr_join(&text, "\n", t);
        }
    }
    if (!text.len || bad) {
        crl_buf_free(&text);
        return bad ? oom(err, errlen) : 0;
    }
    cJSON *m = assistant_msg(out);
    const char *had = m ? gate_tr_str(m, "reasoning_content") : NULL;
    struct crl_buf joined = {0};
    bad = !m || (had ? crl_buf_puts(&joined, had) || gate_tr_join(&joined, "\n", text.p) : crl_buf_puts(&joined, text.p));
    crl_buf_free(&text);
    cJSON *v = bad ? NULL : cJSON_CreateString(joined.p);
    crl_buf_free(&joined);
    if (!v)
        return oom(err, errlen);
    if (had)
        cJSON_ReplaceItemInObjectCaseSensitive(m, "reasoning_content", v);
    else
        cJSON_AddItemToObject(m, "reasoning_content", v);
    return 0;
}

static int input_items(const cJSON *input, cJSON *out, char *err, size_t errlen)
{
    if (cJSON_IsString(input)) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddStringToObject(m, "role", "user") ||
            !cJSON_AddStringToObject(m, "content", input->valuestring)) {
            cJSON_Delete(m);
            return oom(err, errlen);
        }
        cJSON_AddItemToArray(out, m);
        return 0;
    }
    if (!cJSON_IsArray(input))
        return gate_tr_fail(err, errlen, "\"input\" must be a string or an array of items");
    const cJSON *item;
    cJSON_ArrayForEach(item, input) {
        if (!cJSON_IsObject(item))
            return gate_tr_fail(err, errlen, "each input item must be an object");
        const char *type = gate_tr_str(item, "type");
        int rc;
        if (!type && !gate_tr_str(item, "role"))
            rc = gate_tr_fail(err, errlen, "each input item needs a string \"type\" (or, for a message, \"role\")");
        else if (!type || strcmp(type, "message") == 0)
            rc = message_item(item, out, err, errlen); /* an "easy" message has no type */
        else if (strcmp(type, "function_call") == 0)
            rc = function_call_item(item, out, err, errlen);
        else if (strcmp(type, "function_call_output") == 0)
            rc = function_output_item(item, out, err, errlen);
        else if (strcmp(type, "reasoning") == 0)
            rc = reasoning_item(item, out, err, errlen);
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "input item type \"%.*s\" is not supported by the gate", gate_utf8_prec(type, 64), type);
            rc = gate_tr_fail(err, errlen, msg);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* A function tool t as a chat tool in arr, named name (t's own, or the
 * flat name of a namespace's tool). */
static int function_tool(const cJSON *t, const char *name, cJSON *arr, char *err, size_t errlen)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "description");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
    const cJSON *strict = cJSON_GetObjectItemCaseSensitive(t, "strict");
    if (!name || !name[0] || (d && !cJSON_IsNull(d) && !cJSON_IsString(d)) ||
        (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) ||
        (strict && !cJSON_IsNull(strict) && !cJSON_IsBool(strict)))
        return gate_tr_fail(err, errlen, "a function tool needs a non-empty string \"name\", a string "
                                         "\"description\", an object \"parameters\" and a boolean \"strict\"");
    cJSON *o = cJSON_CreateObject(), *fn = NULL;
    if (!o || !cJSON_AddStringToObject(o, "type", "function") || !(fn = cJSON_AddObjectToObject(o, "function")) ||
        !cJSON_AddStringToObject(fn, "name", name)) {
        cJSON_Delete(o);
        return oom(err, errlen);
    }
    cJSON_AddItemToArray(arr, o);
    if (cJSON_IsString(d))
        cJSON_AddStringToObject(fn, "description", d->valuestring);
    if (cJSON_IsObject(params))
        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(params, 1));
    if (cJSON_IsBool(strict))
        cJSON_AddBoolToObject(fn, "strict", cJSON_IsTrue(strict));
    return 0;
}

/* A namespace tool {name, tools: [...]}: each function tool inside as a
 * chat tool named "<namespace>__<name>", listed in ns; the others
 * (custom tools) dropped like hosted ones. */
static int namespace_tool(const cJSON *t, cJSON *arr, struct gate_resp_ns *ns, char *err, size_t errlen)
{
    const char *nsname = gate_tr_str(t, "name");
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(t, "tools");
    if (!nsname || !nsname[0] || !cJSON_IsArray(inner))
        return gate_tr_fail(err, errlen, "a namespace tool needs a non-empty string \"name\" and an array \"tools\"");
    const cJSON *f;
    cJSON_ArrayForEach(f, inner) {
        const char *type = gate_tr_str(f, "type"), *name = gate_tr_str(f, "name");
        if (!type)
            return gate_tr_fail(err, errlen, "each tool of a namespace needs a string \"type\"");
        if (strcmp(type, "function") != 0)
            continue;
        if (!name || !name[0])
            return function_tool(f, name, arr, err, errlen); /* its error */
        char *flat = flat_name(nsname, name);
        int rc = flat ? function_tool(f, flat, arr, err, errlen) : oom(err, errlen);
        free(flat);
        if (rc)
            return rc;
        if (!ns)
            continue;
        struct gate_ns_tool *v = realloc(ns->v, (ns->n + 1) * sizeof *v);
        if (!v)
            return oom(err, errlen);
        ns->v = v;
        v[ns->n].ns = strdup(nsname);
        v[ns->n].name = strdup(name);
        ns->n++;
        if (!v[ns->n - 1].ns || !v[ns->n - 1].name)
            return oom(err, errlen);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* CORRAL_EINVAL when two of the chat tools in arr have one name (a
 * function tool and a namespace's flattened one, or two namespaces'):
 * the answer could not say which was called. */
static int unique_names(const cJSON *arr, char *err, size_t errlen)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), k = 0;
    if (n < 2)
        return 0;
    const char **names = malloc(n * sizeof *names);
    if (!names)
        return oom(err, errlen);
    const cJSON *t;
    cJSON_ArrayForEach(t, arr)
        names[k++] = gate_tr_str(cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
    qsort(names, n, sizeof *names, by_name);
    for (k = 1; k < n && strcmp(names[k - 1], names[k]) != 0; k++)
        ;
    if (k < n) {
        char msg[200];
        snprintf(msg, sizeof msg, "two tools are named \"%.*s\" once namespace tools are flattened "
                                  "(docs/gate-dialects.md)", gate_utf8_prec(names[k], 100), names[k]);
        free(names);
        return gate_tr_fail(err, errlen, msg);
    }
    free(names);
    return 0;
}

/* Function tools as chat tools, a namespace's function tools flattened
 * (namespace_tool); hosted tools (web_search, file_search, custom, ...)
 * are dropped: no responder can run them. */
static int convert_tools(const cJSON *tools, cJSON *out, struct gate_resp_ns *ns, char *err, size_t errlen)
{
    if (!cJSON_IsArray(tools))
        return gate_tr_fail(err, errlen, "\"tools\" must be an array");
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return oom(err, errlen);
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const char *type = gate_tr_str(t, "type");
        int rc = 0;
        if (!type)
            rc = gate_tr_fail(err, errlen, "each tool needs a string \"type\"");
        else if (strcmp(type, "function") == 0)
            rc = function_tool(t, gate_tr_str(t, "name"), arr, err, errlen);
        else if (strcmp(type, "namespace") == 0)
            rc = namespace_tool(t, arr, ns, err, errlen);
        if (rc) {
            cJSON_Delete(arr);
            return rc;
        }
    }
    if (unique_names(arr, err, errlen)) {
        cJSON_Delete(arr);
        return CORRAL_EINVAL;
    }
    if (cJSON_GetArraySize(arr))
        cJSON_AddItemToObject(out, "tools", arr);
    else
        cJSON_Delete(arr);
    return 0;
}

/* "auto" / "none" / "required" as they are; {"type":"function","name"}
 * as the named function. */
static int convert_tool_choice(const cJSON *tc, cJSON *out, char *err, size_t errlen)
{
    if (cJSON_IsString(tc) && (strcmp(tc->valuestring, "auto") == 0 || strcmp(tc->valuestring, "none") == 0 ||
                               strcmp(tc->valuestring, "required") == 0)) {
        cJSON_AddStringToObject(out, "tool_choice", tc->valuestring);
        return 0;
    }
    const char *type = gate_tr_str(tc, "type"), *name = gate_tr_str(tc, "name");
    if (!type || strcmp(type, "function") != 0 || !name)
        return gate_tr_fail(err, errlen, "\"tool_choice\" must be auto, none, required or "
                                         "{\"type\": \"function\", \"name\": ...}");
    cJSON *o = cJSON_AddObjectToObject(out, "tool_choice");
    cJSON_AddStringToObject(o, "type", "function");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", name);
    return 0;
}

static int convert(const cJSON *in, cJSON *out, void *ctx, char *err, size_t errlen)
{
    if (!cJSON_IsObject(in))
        return gate_tr_fail(err, errlen, "request body must be a JSON object");
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(in, "previous_response_id");
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(in, "conversation");
    if ((prev && !cJSON_IsNull(prev)) || (conv && !cJSON_IsNull(conv)))
        return gate_tr_fail(err, errlen, "previous_response_id and conversation are not supported: the corral "
                                         "gate keeps no state between calls; send the whole input");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(in, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model))
        return gate_tr_fail(err, errlen, "\"model\" must be a string");
    if (cJSON_IsString(model))
        cJSON_AddStringToObject(out, "model", model->valuestring);
    cJSON *arr = cJSON_AddArrayToObject(out, "messages");
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(in, "instructions");
    if (ins && !cJSON_IsNull(ins) && !cJSON_IsString(ins))
        return gate_tr_fail(err, errlen, "\"instructions\" must be a string");
    if (cJSON_IsString(ins) && ins->valuestring[0]) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, m);
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", ins->valuestring);
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(in, "input");
    if (!input || cJSON_IsNull(input))
        return gate_tr_fail(err, errlen, "\"input\" is required");
    if (input_items(input, arr, err, errlen))
        return CORRAL_EINVAL;
    if (cJSON_GetArraySize(arr) == 0)
        return gate_tr_fail(err, errlen, "\"input\" holds nothing to answer");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(in, "tools");
    if (tools && !cJSON_IsNull(tools) && convert_tools(tools, out, ctx, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "tool_choice");
    if (tc && !cJSON_IsNull(tc) && convert_tool_choice(tc, out, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(in, "parallel_tool_calls");
    if (par && !cJSON_IsNull(par) && !cJSON_IsBool(par))
        return gate_tr_fail(err, errlen, "\"parallel_tool_calls\" must be a boolean");
    if (cJSON_IsBool(par))
        cJSON_AddBoolToObject(out, "parallel_tool_calls", cJSON_IsTrue(par));
    if (gate_tr_copy_number(in, "max_output_tokens", out, "max_tokens", 1, err, errlen) ||
        gate_tr_copy_number(in, "temperature", out, "temperature", 0, err, errlen) ||
        gate_tr_copy_number(in, "top_p", out, "top_p", 0, err, errlen))
        return CORRAL_EINVAL;
    const char *effort = gate_tr_str(cJSON_GetObjectItemCaseSensitive(in, "reasoning"), "effort");
    if (effort)
        cJSON_AddStringToObject(out, "reasoning_effort", effort);
    const char *user = gate_tr_str(in, "user");
    if (user)
        cJSON_AddStringToObject(out, "user", user);
    return gate_tr_copy_stream(in, out, err, errlen);
}

char *gate_responses_normalize(const char *text, size_t len, struct gate_resp_ns *ns,
                               struct gate_chat_request *req, size_t *out_len, char *err,
                               size_t errlen)
{
    return gate_translate_body(text, len, convert, ns, req, out_len, err, errlen);
}

void gate_resp_ns_clear(struct gate_resp_ns *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i].ns);
        free(ns->v[i].name);
    }
    free(ns->v);
    ns->v = NULL;
    ns->n = 0;
}

char *gate_responses_error_body(unsigned status, const char *message, const char *type, const char *code)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message ? message : "error");
    cJSON_AddStringToObject(e, "type", type ? type : status >= 500 ? "server_error" : "invalid_request_error");
    cJSON_AddNullToObject(e, "param");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    else
        cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
