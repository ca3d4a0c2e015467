/*
 * The Gemini generateContent edge of the gate (POST
 * /v1beta/models/{model}:generateContent and :streamGenerateContent): a
 * GenerateContentRequest translated into the chat-completions request
 * every responder takes (the gate's one normalized call), and Google's
 * error bodies.  The answer side is gate_render_gemini.c.  The mapping,
 * the tool-call ids the gate makes up and what is dropped are in
 * docs/gate-dialects.md.
 *
 * Pure functions of their inputs (no gate state), so the fuzz target
 * (tests/fuzz/fuzz_gate_gemini.c) drives them directly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* The route's part of the call: the model in the URL, the stream flag. */
struct gemini_ctx {
    const char *model;
    int stream;
};

/* The most recent model turn's function calls, so a functionResponse
 * without an id gets the id of the first unanswered call of its name. */
struct pending_call {
    char id[48];
    char name[128];
    int answered;
};
struct pending {
    struct pending_call *v;
    size_t n, cap;
    size_t turn;           /* index of the content being translated */
};

static int pending_add(struct pending *p, const char *id, const char *name)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct pending_call *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    snprintf(p->v[p->n].id, sizeof p->v[p->n].id, "%s", id);
    snprintf(p->v[p->n].name, sizeof p->v[p->n].name, "%s", name);
    p->v[p->n++].answered = 0;
    return 0;
}

/* The id of a function call or response the agent sent without one:
 * "gemini-<content index>-<part index>", stable across the calls of a
 * rollout since the history only grows. */
static void synth_id(char *out, size_t n, size_t turn, size_t part)
{
    snprintf(out, n, "gemini-%zu-%zu", turn, part);
}

/* The text of a Content's text parts ({"parts":[{"text"}...]}, or a
 * plain string) joined with "\n"; thought parts are skipped. */
static int content_text(const cJSON *v, struct crl_buf *out, char *err, size_t errlen)
{
    if (cJSON_IsString(v))
        return crl_buf_puts(out, v->valuestring) ? gate_tr_fail(err, errlen, "out of memory") : 0;
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(v, "parts");
    if (!cJSON_IsArray(parts))
        return gate_tr_fail(err, errlen, "\"systemInstruction\" must be a Content with a \"parts\" array");
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const char *text = gate_tr_str(p, "text");
        if (!text)
            return gate_tr_fail(err, errlen, "\"systemInstruction\" may hold text parts only");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought")))
            continue;
        if ((out->len && crl_buf_puts(out, "\n")) || crl_buf_puts(out, text))
            return gate_tr_fail(err, errlen, "out of memory");
    }
    return 0;
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "text");
    cJSON_AddStringToObject(p, "text", text);
    return p;
}

/* inlineData {mimeType,data} / fileData {mimeType,fileUri}: an image as
 * an image_url part (a data: URL for inline bytes), anything else as a
 * "[<mimeType>]" text part. */
static int media_part(const cJSON *blob, int is_inline, cJSON *parts, char *err, size_t errlen)
{
    const char *mime = gate_tr_str(blob, "mimeType");
    const char *data = gate_tr_str(blob, is_inline ? "data" : "fileUri");
    if (!mime || !data)
        return gate_tr_fail(err, errlen, is_inline ? "an inlineData part needs string \"mimeType\" and \"data\""
                                           : "a fileData part needs string \"mimeType\" and \"fileUri\"");
    if (strncmp(mime, "image/", 6) != 0) {
        char other[96]; /* at most 64 bytes of it, never half a UTF-8 character */
        snprintf(other, sizeof other, "[%.*s]", gate_utf8_prec(mime, 64), mime);
        cJSON_AddItemToArray(parts, text_part(other));
        return 0;
    }
    struct crl_buf url = {0};
    if (is_inline ? crl_buf_addf(&url, "data:%s;base64,%s", mime, data) : crl_buf_puts(&url, data)) {
        crl_buf_free(&url);
        return gate_tr_fail(err, errlen, "out of memory");
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "image_url");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "image_url"), "url", url.p);
    crl_buf_free(&url);
    cJSON_AddItemToArray(parts, p);
    return 0;
}

/* A functionResponse {name, response, id?} as a "tool" message; its
 * content is the response object's compact JSON text. */
static int function_response(const cJSON *fr, struct pending *pd, size_t part, cJSON *out, char *err, size_t errlen)
{
    const char *name = gate_tr_str(fr, "name"), *id = gate_tr_str(fr, "id");
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(fr, "response");
    if (!name || !cJSON_IsObject(resp))
        return gate_tr_fail(err, errlen, "a functionResponse needs a string \"name\" and an object \"response\"");
    char made[48];
    struct pending_call *match = NULL;
    for (size_t i = 0; i < pd->n && !match; i++)
        if (!pd->v[i].answered && (id ? strcmp(pd->v[i].id, id) == 0 : strcmp(pd->v[i].name, name) == 0))
            match = &pd->v[i];
    if (match)
        match->answered = 1;
    if (!id && match)
        id = match->id;
    if (!id) {
        synth_id(made, sizeof made, pd->turn, part);
        id = made;
    }
    char *text = cJSON_PrintUnformatted(resp);
    cJSON *t = text ? cJSON_CreateObject() : NULL;
    if (!t) {
        free(text);
        return gate_tr_fail(err, errlen, "out of memory");
    }
    cJSON_AddStringToObject(t, "role", "tool");
    cJSON_AddStringToObject(t, "tool_call_id", id);
    cJSON_AddStringToObject(t, "content", text);
    free(text);
    cJSON_AddItemToArray(out, t);
    return 0;
}

/* A user turn: its functionResponse parts become "tool" messages (first,
 * as chat completions wants them right after the assistant's calls), its
 * text and media one user message (a plain string when it is one text). */
static int user_turn(const cJSON *parts, struct pending *pd, cJSON *out, char *err, size_t errlen)
{
    cJSON *arr = cJSON_CreateArray();
    int n_text = 0, n_other = 0;
    size_t i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const char *text = gate_tr_str(p, "text");
        const cJSON *v;
        int rc = 0;
        if (!cJSON_IsObject(p)) {
            rc = gate_tr_fail(err, errlen, "each part must be an object");
        } else if (text) {
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought"))) {
                cJSON_AddItemToArray(arr, text_part(text));
                n_text++;
            }
        } else if ((v = cJSON_GetObjectItemCaseSensitive(p, "functionResponse"))) {
            rc = function_response(v, pd, i, out, err, errlen);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(p, "inlineData"))) {
            rc = media_part(v, 1, arr, err, errlen);
            n_other++;
        } else if ((v = cJSON_GetObjectItemCaseSensitive(p, "fileData"))) {
            rc = media_part(v, 0, arr, err, errlen);
            n_other++;
        } else {
            rc = gate_tr_fail(err, errlen, "a user part must be text, functionResponse, inlineData or fileData");
        }
        if (rc) {
            cJSON_Delete(arr);
            return rc;
        }
        i++;
    }
    if (n_text + n_other == 0) {
        cJSON_Delete(arr); /* only function responses: no user message */
        if (cJSON_GetArraySize(parts) > 0)
            return 0;
        arr = cJSON_CreateString("");
    } else if (n_text == 1 && n_other == 0) {
        cJSON *s = cJSON_DetachItemFromObjectCaseSensitive(cJSON_GetArrayItem(arr, 0), "text");
        cJSON_Delete(arr);
        arr = s;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddItemToObject(m, "content", arr);
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* A model turn: text parts joined as "content", thought text as
 * "reasoning_content", functionCall parts as "tool_calls" (ids made up
 * where the agent sent none; remembered for the next user turn). */
static int model_turn(const cJSON *parts, struct pending *pd, cJSON *out, char *err, size_t errlen)
{
    struct crl_buf text = {0}, thinking = {0};
    cJSON *calls = cJSON_CreateArray();
    const char *why = NULL;
    size_t i = 0;
    pd->n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        const char *t = gate_tr_str(p, "text");
        const cJSON *fc = cJSON_GetObjectItemCaseSensitive(p, "functionCall");
        if (t) {
            struct crl_buf *b = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought")) ? &thinking : &text;
            if ((b->len && crl_buf_puts(b, "\n")) || crl_buf_puts(b, t))
                why = "out of memory";
        } else if (fc) {
            const char *name = gate_tr_str(fc, "name"), *id = gate_tr_str(fc, "id");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
            if (!name || !name[0] || (args && !cJSON_IsNull(args) && !cJSON_IsObject(args))) {
                why = "a functionCall needs a non-empty string \"name\" and an object \"args\"";
                break;
            }
            char made[48];
            if (!id) {
                synth_id(made, sizeof made, pd->turn, i);
                id = made;
            }
            char *a = cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
            cJSON *tc = cJSON_CreateObject();
            cJSON_AddStringToObject(tc, "id", id);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", name);
            cJSON_AddStringToObject(fn, "arguments", a ? a : "{}");
            free(a);
            cJSON_AddItemToArray(calls, tc);
            if (pending_add(pd, id, name))
                why = "out of memory";
        } else if (!cJSON_IsObject(p)) {
            why = "each part must be an object";
            break;
        } else if (!cJSON_GetObjectItemCaseSensitive(p, "thoughtSignature")) {
            why = "a model part must be text or functionCall";
            break;
        }
        i++;
    }
    if (why) {
        crl_buf_free(&text);
        crl_buf_free(&thinking);
        cJSON_Delete(calls);
        return gate_tr_fail(err, errlen, why);
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    if (text.p)
        cJSON_AddStringToObject(m, "content", text.p);
    else
        cJSON_AddNullToObject(m, "content");
    if (thinking.p)
        cJSON_AddStringToObject(m, "reasoning_content", thinking.p);
    crl_buf_free(&text);
    crl_buf_free(&thinking);
    if (cJSON_GetArraySize(calls))
        cJSON_AddItemToObject(m, "tool_calls", calls);
    else
        cJSON_Delete(calls);
    cJSON_AddItemToArray(out, m);
    return 0;
}

static int convert_contents(const cJSON *contents, cJSON *arr, char *err, size_t errlen)
{
    struct pending pd = {0};
    int rc = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, contents) {
        const char *role = gate_tr_str(c, "role");
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(c, "parts");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "role");
        if (!cJSON_IsObject(c) || !cJSON_IsArray(parts))
            rc = gate_tr_fail(err, errlen, "each content needs a \"parts\" array");
        else if (r && !cJSON_IsNull(r) && !role)
            rc = gate_tr_fail(err, errlen, "a content's \"role\" must be \"user\" or \"model\"");
        else if (!role || strcmp(role, "user") == 0 || strcmp(role, "function") == 0)
            rc = user_turn(parts, &pd, arr, err, errlen);
        else if (strcmp(role, "model") == 0)
            rc = model_turn(parts, &pd, arr, err, errlen);
        else
            rc = gate_tr_fail(err, errlen, "a content's \"role\" must be \"user\" or \"model\"");
        if (rc)
            break;
        pd.turn++;
    }
    free(pd.v);
    return rc;
}

/* A Gemini Schema as JSON Schema: its "type" names lowercased ("OBJECT"
 * -> "object"), everything else as it is.  In place. */
static void lower_types(cJSON *s, int depth)
{
    if (depth > 64 || (!cJSON_IsObject(s) && !cJSON_IsArray(s)))
        return;
    cJSON *v;
    cJSON_ArrayForEach(v, s) {
        if (cJSON_IsString(v) && v->string && strcmp(v->string, "type") == 0)
            for (char *q = v->valuestring; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        else
            lower_types(v, depth + 1);
    }
}

static int convert_tools(const cJSON *tools, cJSON *out, char *err, size_t errlen)
{
    if (!cJSON_IsArray(tools))
        return gate_tr_fail(err, errlen, "\"tools\" must be an array");
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToObject(out, "tools", arr);
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const cJSON *decls = cJSON_GetObjectItemCaseSensitive(t, "functionDeclarations");
        if (!cJSON_IsObject(t) || (cJSON_GetArraySize(t) != (decls ? 1 : 0)))
            return gate_tr_fail(err, errlen, "only \"functionDeclarations\" tools are supported by the gate");
        if (!cJSON_IsArray(decls))
            return gate_tr_fail(err, errlen, "\"functionDeclarations\" must be an array");
        const cJSON *d;
        cJSON_ArrayForEach(d, decls) {
            const char *name = gate_tr_str(d, "name");
            const cJSON *desc = cJSON_GetObjectItemCaseSensitive(d, "description");
            const cJSON *js = cJSON_GetObjectItemCaseSensitive(d, "parametersJsonSchema");
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(d, "parameters");
            const cJSON *schema = js && !cJSON_IsNull(js) ? js : ps && !cJSON_IsNull(ps) ? ps : NULL;
            if (!name || !name[0])
                return gate_tr_fail(err, errlen, "each function declaration needs a non-empty string \"name\"");
            if (desc && !cJSON_IsString(desc))
                return gate_tr_fail(err, errlen, "a function declaration's \"description\" must be a string");
            if (schema && !cJSON_IsObject(schema))
                return gate_tr_fail(err, errlen, "a function declaration's parameters must be an object");
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(o, "function");
            cJSON_AddStringToObject(fn, "name", name);
            if (desc)
                cJSON_AddStringToObject(fn, "description", desc->valuestring);
            cJSON *params = schema ? cJSON_Duplicate(schema, 1)
                                   : cJSON_Parse("{\"type\":\"object\",\"properties\":{}}");
            if (schema == ps)
                lower_types(params, 0);
            cJSON_AddItemToObject(fn, "parameters", params);
            cJSON_AddItemToArray(arr, o);
        }
    }
    return 0;
}

/* toolConfig.functionCallingConfig: AUTO/VALIDATED -> "auto", NONE ->
 * "none", ANY -> "required", or the named function when
 * allowedFunctionNames holds exactly one name. */
static int convert_tool_config(const cJSON *tc, cJSON *out, char *err, size_t errlen)
{
    const cJSON *fcc = cJSON_GetObjectItemCaseSensitive(tc, "functionCallingConfig");
    if (!cJSON_IsObject(tc) || (fcc && !cJSON_IsNull(fcc) && !cJSON_IsObject(fcc)))
        return gate_tr_fail(err, errlen, "\"toolConfig.functionCallingConfig\" must be an object");
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(fcc, "mode");
    const char *mode = gate_tr_str(fcc, "mode");
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(fcc, "allowedFunctionNames");
    if (mv && !cJSON_IsNull(mv) && !mode)
        return gate_tr_fail(err, errlen, "\"functionCallingConfig.mode\" must be a string");
    if (allowed && !cJSON_IsNull(allowed) && !cJSON_IsArray(allowed))
        return gate_tr_fail(err, errlen, "\"allowedFunctionNames\" must be an array of strings");
    if (!mode || strcmp(mode, "MODE_UNSPECIFIED") == 0)
        return 0;
    if (strcmp(mode, "AUTO") == 0 || strcmp(mode, "VALIDATED") == 0) {
        cJSON_AddStringToObject(out, "tool_choice", "auto");
    } else if (strcmp(mode, "NONE") == 0) {
        cJSON_AddStringToObject(out, "tool_choice", "none");
    } else if (strcmp(mode, "ANY") == 0) {
        const cJSON *one = cJSON_GetArraySize(allowed) == 1 ? cJSON_GetArrayItem(allowed, 0) : NULL;
        if (cJSON_IsString(one)) {
            cJSON *o = cJSON_AddObjectToObject(out, "tool_choice");
            cJSON_AddStringToObject(o, "type", "function");
            cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", one->valuestring);
        } else {
            cJSON_AddStringToObject(out, "tool_choice", "required");
        }
    } else {
        return gate_tr_fail(err, errlen, "\"functionCallingConfig.mode\" must be AUTO, ANY, NONE or VALIDATED");
    }
    return 0;
}

static int convert_generation(const cJSON *gc, cJSON *out, char *err, size_t errlen)
{
    if (!cJSON_IsObject(gc))
        return gate_tr_fail(err, errlen, "\"generationConfig\" must be an object");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(gc, "candidateCount");
    if (n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1))
        return gate_tr_fail(err, errlen, "\"candidateCount\" must be 1: the gate answers one candidate");
    if (gate_tr_copy_number(gc, "maxOutputTokens", out, "max_tokens", 1, err, errlen) ||
        gate_tr_copy_number(gc, "temperature", out, "temperature", 0, err, errlen) ||
        gate_tr_copy_number(gc, "topP", out, "top_p", 0, err, errlen) ||
        gate_tr_copy_number(gc, "topK", out, "top_k", 0, err, errlen) ||
        gate_tr_copy_number(gc, "seed", out, "seed", -9.3e18, err, errlen) ||
        gate_tr_copy_number(gc, "presencePenalty", out, "presence_penalty", -2, err, errlen) ||
        gate_tr_copy_number(gc, "frequencyPenalty", out, "frequency_penalty", -2, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(gc, "stopSequences");
    if (stop && !cJSON_IsNull(stop)) {
        const cJSON *s;
        int ok = cJSON_IsArray(stop);
        cJSON_ArrayForEach(s, stop) ok &= cJSON_IsString(s);
        if (!ok)
            return gate_tr_fail(err, errlen, "\"stopSequences\" must be an array of strings");
        if (cJSON_GetArraySize(stop))
            cJSON_AddItemToObject(out, "stop", cJSON_Duplicate(stop, 1));
    }
    /* Structured output: a schema as json_schema, bare JSON as json_object. */
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(gc, "responseJsonSchema");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(gc, "responseSchema");
    const cJSON *schema = cJSON_IsObject(js) ? js : cJSON_IsObject(rs) ? rs : NULL;
    const char *mime = gate_tr_str(gc, "responseMimeType");
    if (schema) {
        cJSON *rf = cJSON_AddObjectToObject(out, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON *j = cJSON_AddObjectToObject(rf, "json_schema");
        cJSON_AddStringToObject(j, "name", "response");
        cJSON *s = cJSON_Duplicate(schema, 1);
        if (schema == rs)
            lower_types(s, 0);
        cJSON_AddItemToObject(j, "schema", s);
    } else if (mime && strcmp(mime, "application/json") == 0) {
        cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "response_format"), "type", "json_object");
    }
    return 0;
}

static int convert(const cJSON *in, cJSON *out, void *ctxp, char *err, size_t errlen)
{
    const struct gemini_ctx *ctx = ctxp;
    if (!cJSON_IsObject(in))
        return gate_tr_fail(err, errlen, "request body must be a JSON object");
    if (ctx->model && ctx->model[0])
        cJSON_AddStringToObject(out, "model", ctx->model);
    const cJSON *contents = cJSON_GetObjectItemCaseSensitive(in, "contents");
    if (!cJSON_IsArray(contents) || cJSON_GetArraySize(contents) == 0)
        return gate_tr_fail(err, errlen, "\"contents\" must be a non-empty array");
    cJSON *arr = cJSON_AddArrayToObject(out, "messages");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(in, "systemInstruction");
    if (sys && !cJSON_IsNull(sys)) {
        struct crl_buf text = {0};
        if (content_text(sys, &text, err, errlen)) {
            crl_buf_free(&text);
            return CORRAL_EINVAL;
        }
        if (text.len) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", "system");
            cJSON_AddStringToObject(m, "content", text.p);
            cJSON_AddItemToArray(arr, m);
        }
        crl_buf_free(&text);
    }
    if (convert_contents(contents, arr, err, errlen))
        return CORRAL_EINVAL;
    if (cJSON_GetArraySize(arr) == 0)
        return gate_tr_fail(err, errlen, "\"contents\" holds nothing to answer");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(in, "tools");
    if (tools && !cJSON_IsNull(tools) && convert_tools(tools, out, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(in, "toolConfig");
    if (tc && !cJSON_IsNull(tc) && convert_tool_config(tc, out, err, errlen))
        return CORRAL_EINVAL;
    const cJSON *gc = cJSON_GetObjectItemCaseSensitive(in, "generationConfig");
    if (gc && !cJSON_IsNull(gc) && convert_generation(gc, out, err, errlen))
        return CORRAL_EINVAL;
    if (ctx->stream) {
        cJSON_AddTrueToObject(out, "stream");
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(out, "stream_options"), "include_usage");
    }
    return 0;
}

char *gate_gemini_normalize(const char *text, size_t len, const char *model, int stream,
                            struct gate_chat_request *req, size_t *out_len, char *err,
                            size_t errlen)
{
    struct gemini_ctx ctx = {.model = model, .stream = stream};
    return gate_translate_body(text, len, convert, &ctx, req, out_len, err, errlen);
}

const char *gate_gemini_status(unsigned status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}

char *gate_gemini_error_body(unsigned status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddStringToObject(e, "message", message ? message : "error");
    cJSON_AddStringToObject(e, "status", gate_gemini_status(status));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
