/*
 * The Anthropic Messages edge of the gate (POST /v1/messages): a Messages
 * request translated into the chat-completions request every responder
 * already takes (the gate's one normalized call), Anthropic's error
 * bodies, and the count_tokens estimate.  The answer side is
 * gate_render.c (gate_prepare renders both dialects).  The mapping, and
 * what is dropped or estimated, is in docs/gate-dialects.md.
 *
 * Pure functions of their inputs (no gate state), so the fuzz target
 * (tests/fuzz/fuzz_gate_messages.c) drives them directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* The text of a system prompt or a tool result: a string, or an array of
 * blocks whose text blocks are joined with "\n" (other blocks, in a tool
 * result, become "[<type>]"; in a system prompt they are refused). */
static int blocks_text(const cJSON *v, int others_ok, struct crl_buf *out, char *err, size_t errlen)
{
    if (cJSON_IsString(v))
        return crl_buf_puts(out, v->valuestring) ? gate_tr_fail(err, errlen, "out of memory") : 0;
    if (!cJSON_IsArray(v))
        return gate_tr_fail(err, errlen, "content must be a string or an array of blocks");
    const cJSON *blk;
    cJSON_ArrayForEach(blk, v) {
        const char *type = gate_tr_str(blk, "type");
        const char *text = gate_tr_str(blk, "text");
        char other[80];
        if (type && strcmp(type, "text") == 0 && text) {
            if (gate_tr_join(out, "\n", text))
                return gate_tr_fail(err, errlen, "out of memory");
        } else if (others_ok && type) {
            snprintf(other, sizeof other, "[%.*s]", gate_utf8_prec(type, 64), type);
            if (gate_tr_join(out, "\n", other))
                return gate_tr_fail(err, errlen, "out of memory");
        } else {
            return gate_tr_fail(err, errlen, "a text block needs \"type\": \"text\" and a string \"text\"");
        }
    }
    return 0;
}

/* Add text (or "" when b is empty) as member key of o and reset b. */
static int add_buf_string(cJSON *o, const char *key, struct crl_buf *b)
{
    cJSON *s = cJSON_AddStringToObject(o, key, b->p ? b->p : "");
    crl_buf_free(b);
    return s ? 0 : -1;
}

static int image_part(const cJSON *blk, cJSON *parts, char *err, size_t errlen)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(blk, "source");
    const char *st = gate_tr_str(src, "type");
    struct crl_buf url = {0};
    int bad;
    if (st && strcmp(st, "base64") == 0 && gate_tr_str(src, "media_type") && gate_tr_str(src, "data"))
        bad = crl_buf_addf(&url, "data:%s;base64,%s", gate_tr_str(src, "media_type"), gate_tr_str(src, "data"));
    else if (st && strcmp(st, "url") == 0 && gate_tr_str(src, "url"))
        bad = crl_buf_puts(&url, gate_tr_str(src, "url"));
    else
        return gate_tr_fail(err, errlen, "an image block needs a base64 or url \"source\"");
    cJSON *p = bad ? NULL : cJSON_CreateObject();
    cJSON *iu = p ? cJSON_AddObjectToObject(p, "image_url") : NULL;
    if (!p || !cJSON_AddStringToObject(p, "type", "image_url") || !iu || add_buf_string(iu, "url", &url)) {
        crl_buf_free(&url);
        cJSON_Delete(p);
        return gate_tr_fail(err, errlen, "out of memory");
    }
    /* "type" first, as OpenAI writes it */
    cJSON_DetachItemViaPointer(p, iu);
    cJSON_AddItemToObject(p, "image_url", iu);
    cJSON_AddItemToArray(parts, p);
    return 0;
}

/* A user turn: its tool_result blocks become "tool" messages (first, as
 * chat completions wants them right after the assistant's tool calls),
 * the rest one user message. */
static int user_turn(const cJSON *content, cJSON *out, char *err, size_t errlen)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", "user"))
        goto oom;
    if (cJSON_IsString(content)) {
        if (!cJSON_AddStringToObject(m, "content", content->valuestring))
            goto oom;
        cJSON_AddItemToArray(out, m);
        return 0;
    }
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(m);
        return gate_tr_fail(err, errlen, "\"content\" must be a string or an array of blocks");
    }
    cJSON *parts = cJSON_CreateArray();
    int n_text = 0, n_other = 0;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content) {
        const char *type = gate_tr_str(blk, "type");
        if (!type) {
            cJSON_Delete(parts);
            cJSON_Delete(m);
            return gate_tr_fail(err, errlen, "each content block needs a string \"type\"");
        }
        if (strcmp(type, "text") == 0) {
            const char *text = gate_tr_str(blk, "text");
            cJSON *p = text ? cJSON_CreateObject() : NULL;
            if (!p || !cJSON_AddStringToObject(p, "type", "text") || !cJSON_AddStringToObject(p, "text", text)) {
                cJSON_Delete(p);
                cJSON_Delete(parts);
                cJSON_Delete(m);
                return gate_tr_fail(err, errlen, "a text block needs a string \"text\"");
            }
            cJSON_AddItemToArray(parts, p);
            n_text++;
        } else if (strcmp(type, "image") == 0) {
            if (image_part(blk, parts, err, errlen)) {
                cJSON_Delete(parts);
                cJSON_Delete(m);
                return CORRAL_EINVAL;
            }
            n_other++;
        } else if (strcmp(type, "tool_result") == 0) {
            const char *id = gate_tr_str(blk, "tool_use_id");
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(blk, "content");
            struct crl_buf text = {0};
            cJSON *t = id ? cJSON_CreateObject() : NULL;
            if (!t || (c && !cJSON_IsNull(c) && blocks_text(c, 1, &text, err, errlen)) ||
                !cJSON_AddStringToObject(t, "role", "tool") || !cJSON_AddStringToObject(t, "tool_call_id", id) ||
                add_buf_string(t, "content", &text)) {
                crl_buf_free(&text);
                cJSON_Delete(t);
                cJSON_Delete(parts);
                cJSON_Delete(m);
                return gate_tr_fail(err, errlen, "a tool_result block needs a string \"tool_use_id\" and text content");
            }
            cJSON_AddItemToArray(out, t);
        } else if (strcmp(type, "thinking") != 0 && strcmp(type, "redacted_thinking") != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "content block type \"%.*s\" is not supported in a user turn", gate_utf8_prec(type, 64), type);
            cJSON_Delete(parts);
            cJSON_Delete(m);
            return gate_tr_fail(err, errlen, msg);
        }
    }
    if (n_text + n_other == 0 && cJSON_GetArraySize(content) > 0) {
        cJSON_Delete(parts); /* only tool results (or thinking): no user message */
        cJSON_Delete(m);
        return 0;
    }
    if (n_text == 1 && n_other == 0) { /* one text block: a plain string */
        cJSON *s = cJSON_DetachItemFromObjectCaseSensitive(cJSON_GetArrayItem(parts, 0), "text");
        cJSON_Delete(parts);
        cJSON_AddItemToObject(m, "content", s);
    } else if (n_text + n_other == 0) {
        cJSON_Delete(parts);
        cJSON_AddStringToObject(m, "content", "");
    } else {
        cJSON_AddItemToObject(m, "content", parts);
    }
    cJSON_AddItemToArray(out, m);
    return 0;
oom:
    cJSON_Delete(m);
    return gate_tr_fail(err, errlen, "out of memory");
}

/* An assistant turn: its text blocks joined as "content", thinking as
 * "reasoning_content", tool_use blocks as "tool_calls". */
static int assistant_turn(const cJSON *content, cJSON *out, char *err, size_t errlen)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    if (cJSON_IsString(content)) {
        cJSON_AddStringToObject(m, "content", content->valuestring);
        cJSON_AddItemToArray(out, m);
        return 0;
    }
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(m);
        return gate_tr_fail(err, errlen, "\"content\" must be a string or an array of blocks");
    }
    struct crl_buf text = {0}, thinking = {0};
    cJSON *calls = cJSON_CreateArray();
    const char *why = NULL;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content) {
        const char *type = gate_tr_str(blk, "type");
        if (!type) {
            why = "each content block needs a string \"type\"";
            break;
        }
        if (strcmp(type, "text") == 0) {
            if (!gate_tr_str(blk, "text")) {
                why = "a text block needs a string \"text\"";
                break;
            }
            gate_tr_join(&text, "\n", gate_tr_str(blk, "text"));
        } else if (strcmp(type, "thinking") == 0) {
            if (gate_tr_str(blk, "thinking"))
                gate_tr_join(&thinking, "\n", gate_tr_str(blk, "thinking"));
        } else if (strcmp(type, "tool_use") == 0) {
            const char *id = gate_tr_str(blk, "id"), *name = gate_tr_str(blk, "name");
            const cJSON *input = cJSON_GetObjectItemCaseSensitive(blk, "input");
            if (!id || !name || !cJSON_IsObject(input)) {
                why = "a tool_use block needs string \"id\" and \"name\" and an object \"input\"";
                break;
            }
            cJSON *tc = cJSON_CreateObject(), *fn;
            cJSON_AddStringToObject(tc, "id", id);
            cJSON_AddStringToObject(tc, "type", "function");
            fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", name);
            char *args = cJSON_PrintUnformatted(input);
            cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
            free(args);
            cJSON_AddItemToArray(calls, tc);
        } else if (strcmp(type, "redacted_thinking") != 0) {
            why = "this content block type is not supported in an assistant turn";
            break;
        }
    }
    if (why) {
        crl_buf_free(&text);
        crl_buf_free(&thinking);
        cJSON_Delete(calls);
        cJSON_Delete(m);
        return gate_tr_fail(err, errlen, why);
    }
    if (text.p)
        add_buf_string(m, "content", &text);
    else
        cJSON_AddNullToObject(m, "content");
    if (thinking.p)
        add_buf_string(m, "reasoning_content", &thinking);
    if (cJSON_GetArraySize(calls))
        cJSON_AddItemToObject(m, "tool_calls", calls);
    else
        cJSON_Delete(calls);
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* A system prompt (a string or text blocks, joined with "\n") as a
 * system message; nothing when it is empty. */
static int system_message(const cJSON *content, cJSON *out, char *err, size_t errlen)
{
    struct crl_buf text = {0};
    if (blocks_text(content, 0, &text, err, errlen)) {
        crl_buf_free(&text);
        return CORRAL_EINVAL;
    }
    if (text.len) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        add_buf_string(m, "content", &text);
        cJSON_AddItemToArray(out, m);
    }
    crl_buf_free(&text);
    return 0;
}

static int convert_tools(const cJSON *tools, cJSON *out, char *err, size_t errlen)
{
    if (!cJSON_IsArray(tools))
        return gate_tr_fail(err, errlen, "\"tools\" must be an array");
    cJSON *arr = cJSON_AddArrayToObject(out, "tools");
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const char *name = gate_tr_str(t, "name"), *type = gate_tr_str(t, "type");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "input_schema");
        if (type && strcmp(type, "custom") != 0)
            return gate_tr_fail(err, errlen, "server tools (a \"type\" other than \"custom\") are not supported by the gate");
        if (!name || !name[0] || !cJSON_IsObject(schema))
            return gate_tr_fail(err, errlen, "each tool needs a non-empty string \"name\" and an object \"input_schema\"");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "description");
        if (d && !cJSON_IsString(d))
            return gate_tr_fail(err, errlen, "a tool's \"description\" must be a string");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(o, "function");
        cJSON_AddStringToObject(fn, "name", name);
        if (d)
            cJSON_AddStringToObject(fn, "description", d->valuestring);
        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(schema, 1));
        cJSON_AddItemToArray(arr, o);
    }
    return 0;
}

/* tool_choice: auto -> "auto", any -> "required", none -> "none", tool ->
 * the named function; disable_parallel_tool_use -> parallel_tool_calls. */
static int convert_tool_choice(const cJSON *tc, cJSON *out, char *err, size_t errlen)
{
    const char *type = gate_tr_str(tc, "type");
    if (!type)
        return gate_tr_fail(err, errlen, "\"tool_choice\" must be an object with a string \"type\"");
    if (strcmp(type, "auto") == 0 || strcmp(type, "none") == 0) {
        cJSON_AddStringToObject(out, "tool_choice", type);
    } else if (strcmp(type, "any") == 0) {
        cJSON_AddStringToObject(out, "tool_choice", "required");
    } else if (strcmp(type, "tool") == 0 && gate_tr_str(tc, "name")) {
        cJSON *o = cJSON_AddObjectToObject(out, "tool_choice");
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", gate_tr_str(tc, "name"));
    } else {
        return gate_tr_fail(err, errlen, "\"tool_choice.type\" must be auto, any, tool (with a \"name\") or none");
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tc, "disable_parallel_tool_use")))
        cJSON_AddFalseToObject(out, "parallel_tool_calls");
    return 0;
}

static int convert(const cJSON *in, cJSON *out, void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    if (!cJSON_IsObject(in))
        return gate_tr_fail(err, errlen, "request body must be a JSON object");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(in, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model))
        return gate_tr_fail(err, errlen, "\"model\" must be a string");
    if (cJSON_IsString(model))
        cJSON_AddStringToObject(out, "model", model->valuestring);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(in, "messages");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return gate_tr_fail(err, errlen, "\"messages\" must be a non-empty array");
    cJSON *arr = cJSON_AddArrayToObject(out, "messages");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(in, "system");
    if (sys && !cJSON_IsNull(sys) && system_message(sys, arr, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = gate_tr_str(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        int rc;
        if (role && strcmp(role, "user") == 0)
            rc = user_turn(content, arr, err, errlen);
        else if (role && strcmp(role, "assistant") == 0)
            rc = assistant_turn(content, arr, err, errlen);
        else if (role && strcmp(role, "system") == 0)
            rc = system_message(content, arr, err, errlen); /* Claude Code sends these mid-conversation */
        else
            rc = gate_tr_fail(err, errlen, "each message needs \"role\": \"user\", \"assistant\" or \"system\"");
        if (rc)
            return rc;
    }
    if (cJSON_GetArraySize(arr) == 0)
        return gate_tr_fail(err, errlen, "\"messages\" holds nothing to answer");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(in, "tools");
    if (tools && !cJSON_IsNull(tools) && convert_tools(tools, out, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "tool_choice");
    if (tc && !cJSON_IsNull(tc) && convert_tool_choice(tc, out, err, errlen))
        return CORRAL_EINVAL;
    if (gate_tr_copy_number(in, "max_tokens", out, "max_tokens", 1, err, errlen) ||
        gate_tr_copy_number(in, "temperature", out, "temperature", 0, err, errlen) ||
        gate_tr_copy_number(in, "top_p", out, "top_p", 0, err, errlen) ||
        gate_tr_copy_number(in, "top_k", out, "top_k", 0, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(in, "stop_sequences");
    if (stop && !cJSON_IsNull(stop)) {
        const cJSON *s;
        int ok = cJSON_IsArray(stop);
        cJSON_ArrayForEach(s, stop) ok &= cJSON_IsString(s);
        if (!ok)
            return gate_tr_fail(err, errlen, "\"stop_sequences\" must be an array of strings");
        if (cJSON_GetArraySize(stop))
            cJSON_AddItemToObject(out, "stop", cJSON_Duplicate(stop, 1));
    }
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "metadata"), "user_id");
    if (cJSON_IsString(user))
        cJSON_AddStringToObject(out, "user", user->valuestring);
    return gate_tr_copy_stream(in, out, err, errlen);
}

char *gate_messages_normalize(const char *text, size_t len, struct gate_chat_request *req, size_t *out_len, char *err, size_t errlen)
{
    return gate_translate_body(text, len, convert, NULL, req, out_len, err, errlen);
}

long long gate_messages_estimate_tokens(size_t len)
{
    return (long long)((len + 3) / 4);
}

const char *gate_messages_error_type(unsigned status, const char *type)
{
    static const char *const known[] = {"invalid_request_error", "authentication_error", "permission_error",
                                        "not_found_error", "request_too_large", "rate_limit_error", "api_error",
                                        "overloaded_error", NULL};
    const char *by_status;
    switch (status) {
    case 401: by_status = "authentication_error"; break;
    case 403: by_status = "permission_error"; break;
    case 404: by_status = "not_found_error"; break;
    case 413: by_status = "request_too_large"; break;
    case 429: by_status = "rate_limit_error"; break;
    case 529: by_status = "overloaded_error"; break;
    default: by_status = status >= 500 ? "api_error" : "invalid_request_error"; break;
    }
    /* The status decides (a script's error line has the chat default
     * "invalid_request_error" whatever its status); a generic 4xx keeps
     * a type of Anthropic's that the response named. */
    if (strcmp(by_status, "invalid_request_error") == 0)
        for (size_t i = 0; type && known[i]; i++)
            if (strcmp(type, known[i]) == 0)
                return known[i];
    return by_status;
}

char *gate_messages_error_body(unsigned status, const char *message, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "type", gate_messages_error_type(status, type));
    cJSON_AddStringToObject(e, "message", message ? message : "error");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
