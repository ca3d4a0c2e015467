/*
 * A model answer as the transcript keeps it (what the agent got, in its
 * dialect's shape: chat.completion, Anthropic message, OpenAI Responses
 * object, Gemini generateContent answer) read into the parts an ATIF agent step holds: message,
 * reasoning, tool calls, token counts (docs/atif.md, "Agent steps").
 */
#include <stdlib.h>
#include <string.h>

#include "atif/atif_internal.h"
#include "crl_common.h"

#define MAX_COUNT 9007199254740992.0 /* 2^53: every larger count is already inexact in JSON */

int crl_atif_count(const cJSON *v, double *out)
{
    int64_t n;
    if (!cJSON_IsNumber(v) || crl_number_i64(v->valuedouble, 0, (int64_t)MAX_COUNT, &n) != 0 ||
        (double)n != v->valuedouble)
        return -1;
    *out = (double)n;
    return 0;
}

char *crl_atif_text(const cJSON *content)
{
    if (cJSON_IsString(content))
        return strdup(content->valuestring);
    struct crl_buf b = {0};
    int bad = crl_buf_add(&b, "", 0);
    const cJSON *part;
    size_t n = 0;
    cJSON_ArrayForEach(part, (cJSON_IsArray(content) ? content : NULL)) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (n++)
            bad |= crl_buf_puts(&b, "\n");
        if (cJSON_IsString(part))
            bad |= crl_buf_puts(&b, part->valuestring);
        else if (cJSON_IsString(text))
            bad |= crl_buf_puts(&b, text->valuestring);
        else
            bad |= crl_buf_addf(&b, "[%s]", cJSON_IsString(type) ? type->valuestring : "part");
    }
    if (bad) {
        crl_buf_free(&b);
        return NULL;
    }
    return b.p;
}

cJSON *crl_atif_tool_call(const char *id, const char *name, const cJSON *args)
{
    cJSON *tc = cJSON_CreateObject();
    cJSON *parsed = cJSON_IsString(args) ? cJSON_Parse(args->valuestring) : NULL;
    const cJSON *obj = cJSON_IsObject(args) ? args : cJSON_IsObject(parsed) ? parsed : NULL;
    int ok = tc && cJSON_AddStringToObject(tc, "tool_call_id", id ? id : "") &&
             cJSON_AddStringToObject(tc, "function_name", name ? name : "") &&
             cJSON_AddItemToObject(tc, "arguments", obj ? cJSON_Duplicate(obj, 1) : cJSON_CreateObject());
    if (ok && !obj && args && !cJSON_IsNull(args)) {
        cJSON *extra = cJSON_AddObjectToObject(tc, "extra");
        ok = extra && cJSON_AddItemToObject(extra, "raw_arguments", cJSON_Duplicate(args, 1));
    }
    cJSON_Delete(parsed);
    if (!ok) {
        cJSON_Delete(tc);
        return NULL;
    }
    return tc;
}

/* metrics[key] = the count at `v`, when it is one. */
static int add_count(cJSON *metrics, const char *key, const cJSON *v)
{
    double n;
    return crl_atif_count(v, &n) != 0 || cJSON_AddNumberToObject(metrics, key, n) ? 0 : -1;
}

/* metrics.extra[key] = the count at `v`, when it is one. */
static int add_extra_count(cJSON *metrics, const char *key, const cJSON *v)
{
    double n;
    if (crl_atif_count(v, &n) != 0)
        return 0;
    cJSON *extra = cJSON_GetObjectItemCaseSensitive(metrics, "extra");
    if (!extra && !(extra = cJSON_AddObjectToObject(metrics, "extra")))
        return -1;
    return cJSON_AddNumberToObject(extra, key, n) ? 0 : -1;
}

/* Append `s` to a text buffer, "\n" between pieces; 0 or nonzero. */
static int add_piece(struct crl_buf *b, const char *s)
{
    return (b->len ? crl_buf_puts(b, "\n") : 0) | crl_buf_puts(b, s);
}

/* Hand the two buffers over as message and reasoning (none when empty). */
static int take_texts(struct crl_atif_answer *a, struct crl_buf *text, struct crl_buf *thinking, int bad)
{
    if (!bad && !text->p)
        bad = crl_buf_add(text, "", 0);
    if (bad) {
        crl_buf_free(text);
        crl_buf_free(thinking);
        return -1;
    }
    a->message = text->p;
    if (thinking->len)
        a->reasoning = thinking->p;
    else
        crl_buf_free(thinking);
    return 0;
}

static int add_call(struct crl_atif_answer *a, const cJSON *id, const cJSON *name, const cJSON *args)
{
    cJSON *t = crl_atif_tool_call(cJSON_IsString(id) ? id->valuestring : NULL,
                                  cJSON_IsString(name) ? name->valuestring : NULL, args);
    if (!t || !cJSON_AddItemToArray(a->tool_calls, t)) {
        cJSON_Delete(t);
        return -1;
    }
    return 0;
}

/* An OpenAI chat.completion: choices[0].message and usage. */
static int read_chat(const cJSON *response, struct crl_atif_answer *a)
{
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(response, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    a->finish_reason = cJSON_IsString(fr) ? fr->valuestring : NULL;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (!(a->message = crl_atif_text(content)))
        return -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");
    if (!cJSON_IsString(r))
        r = cJSON_GetObjectItemCaseSensitive(msg, "reasoning");
    if (cJSON_IsString(r) && r->valuestring[0] && !(a->reasoning = strdup(r->valuestring)))
        return -1;
    const cJSON *tc;
    cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        if (add_call(a, cJSON_GetObjectItemCaseSensitive(tc, "id"), cJSON_GetObjectItemCaseSensitive(fn, "name"),
                     cJSON_GetObjectItemCaseSensitive(fn, "arguments")))
            return -1;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(response, "usage");
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details");
    return add_count(a->metrics, "prompt_tokens", cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens")) ||
                   add_count(a->metrics, "completion_tokens", cJSON_GetObjectItemCaseSensitive(u, "completion_tokens")) ||
                   add_count(a->metrics, "cached_tokens", cJSON_GetObjectItemCaseSensitive(pd, "cached_tokens")) ||
                   add_extra_count(a->metrics, "reasoning_tokens", cJSON_GetObjectItemCaseSensitive(cd, "reasoning_tokens"))
               ? -1
               : 0;
}

/* An Anthropic message: content blocks (text, thinking, tool_use) and
 * usage, whose input_tokens leave out the cache reads and writes that ATIF
 * counts in prompt_tokens. */
static int read_messages(const cJSON *response, struct crl_atif_answer *a)
{
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(response, "stop_reason");
    a->finish_reason = cJSON_IsString(sr) ? sr->valuestring : NULL;
    struct crl_buf text = {0}, thinking = {0};
    int bad = 0;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(response, "content")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
        const char *ty = cJSON_IsString(type) ? type->valuestring : "";
        int th = strcmp(ty, "thinking") == 0;
        const cJSON *str = cJSON_GetObjectItemCaseSensitive(blk, th ? "thinking" : "text");
        if (strcmp(ty, "tool_use") == 0)
            bad |= add_call(a, cJSON_GetObjectItemCaseSensitive(blk, "id"), cJSON_GetObjectItemCaseSensitive(blk, "name"),
                            cJSON_GetObjectItemCaseSensitive(blk, "input"));
        else if (cJSON_IsString(str))
            bad |= add_piece(th ? &thinking : &text, str->valuestring);
    }
    if (take_texts(a, &text, &thinking, bad))
        return -1;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(response, "usage");
    double in, rd = 0, wr = 0;
    int has_in = crl_atif_count(cJSON_GetObjectItemCaseSensitive(u, "input_tokens"), &in) == 0;
    int has_rd = crl_atif_count(cJSON_GetObjectItemCaseSensitive(u, "cache_read_input_tokens"), &rd) == 0;
    crl_atif_count(cJSON_GetObjectItemCaseSensitive(u, "cache_creation_input_tokens"), &wr);
    if ((has_in && !cJSON_AddNumberToObject(a->metrics, "prompt_tokens", in + rd + wr)) ||
        add_count(a->metrics, "completion_tokens", cJSON_GetObjectItemCaseSensitive(u, "output_tokens")) ||
        (has_rd && !cJSON_AddNumberToObject(a->metrics, "cached_tokens", rd)) ||
        add_extra_count(a->metrics, "cache_creation_input_tokens",
                        cJSON_GetObjectItemCaseSensitive(u, "cache_creation_input_tokens")))
        return -1;
    return 0;
}

/* An OpenAI Responses object: output items (message, function_call,
 * reasoning) and usage, whose input_tokens include the cached ones. */
static int read_responses(const cJSON *response, struct crl_atif_answer *a)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(response, "status");
    a->finish_reason = cJSON_IsString(status) ? status->valuestring : NULL;
    struct crl_buf text = {0}, thinking = {0};
    int bad = 0;
    const cJSON *it, *part;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(response, "output")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
        const char *ty = cJSON_IsString(type) ? type->valuestring : "";
        if (strcmp(ty, "function_call") == 0) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "call_id");
            bad |= add_call(a, cJSON_IsString(id) ? id : cJSON_GetObjectItemCaseSensitive(it, "id"),
                            cJSON_GetObjectItemCaseSensitive(it, "name"),
                            cJSON_GetObjectItemCaseSensitive(it, "arguments"));
            continue;
        }
        int reasoning = strcmp(ty, "reasoning") == 0;
        if (!reasoning && strcmp(ty, "message") != 0)
            continue;
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (reasoning && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "summary")) > 0)
            parts = cJSON_GetObjectItemCaseSensitive(it, "summary");
        cJSON_ArrayForEach(part, parts) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(t))
                t = cJSON_GetObjectItemCaseSensitive(part, "refusal");
            if (cJSON_IsString(t))
                bad |= add_piece(reasoning ? &thinking : &text, t->valuestring);
        }
    }
    if (take_texts(a, &text, &thinking, bad))
        return -1;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(response, "usage");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(u, "input_tokens_details");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(u, "output_tokens_details");
    return add_count(a->metrics, "prompt_tokens", cJSON_GetObjectItemCaseSensitive(u, "input_tokens")) ||
                   add_count(a->metrics, "completion_tokens", cJSON_GetObjectItemCaseSensitive(u, "output_tokens")) ||
                   add_count(a->metrics, "cached_tokens", cJSON_GetObjectItemCaseSensitive(in, "cached_tokens")) ||
                   add_extra_count(a->metrics, "reasoning_tokens",
                                   cJSON_GetObjectItemCaseSensitive(out, "reasoning_tokens"))
               ? -1
               : 0;
}

/* A Gemini generateContent answer: the first candidate's parts (text,
 * thought text, functionCall) and usageMetadata, whose candidate count
 * leaves out the thoughts that ATIF counts in completion_tokens. */
static int read_gemini(const cJSON *response, struct crl_atif_answer *a)
{
    const cJSON *cand = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(response, "candidates"), 0);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(cand, "finishReason");
    a->finish_reason = cJSON_IsString(fr) ? fr->valuestring : NULL;
    struct crl_buf text = {0}, thinking = {0};
    int bad = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts")) {
        const cJSON *fc = cJSON_GetObjectItemCaseSensitive(part, "functionCall");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsObject(fc))
            bad |= add_call(a, cJSON_GetObjectItemCaseSensitive(fc, "id"), cJSON_GetObjectItemCaseSensitive(fc, "name"),
                            cJSON_GetObjectItemCaseSensitive(fc, "args"));
        else if (cJSON_IsString(t))
            bad |= add_piece(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")) ? &thinking : &text,
                             t->valuestring);
    }
    if (take_texts(a, &text, &thinking, bad))
        return -1;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(response, "usageMetadata");
    double out, thoughts = 0;
    int has_out = crl_atif_count(cJSON_GetObjectItemCaseSensitive(u, "candidatesTokenCount"), &out) == 0;
    crl_atif_count(cJSON_GetObjectItemCaseSensitive(u, "thoughtsTokenCount"), &thoughts);
    if (add_count(a->metrics, "prompt_tokens", cJSON_GetObjectItemCaseSensitive(u, "promptTokenCount")) ||
        (has_out && !cJSON_AddNumberToObject(a->metrics, "completion_tokens", out + thoughts)) ||
        add_count(a->metrics, "cached_tokens", cJSON_GetObjectItemCaseSensitive(u, "cachedContentTokenCount")) ||
        add_extra_count(a->metrics, "reasoning_tokens", cJSON_GetObjectItemCaseSensitive(u, "thoughtsTokenCount")))
        return -1;
    return 0;
}

int crl_atif_answer_read(const cJSON *response, struct crl_atif_answer *a)
{
    memset(a, 0, sizeof *a);
    a->tool_calls = cJSON_CreateArray();
    a->metrics = cJSON_CreateObject();
    int rc = -1;
    if (a->tool_calls && a->metrics) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(response, "type");
        int messages = cJSON_IsString(type) && strcmp(type->valuestring, "message") == 0 &&
                       cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(response, "content"));
        const cJSON *object = cJSON_GetObjectItemCaseSensitive(response, "object");
        int responses = (cJSON_IsString(object) && strcmp(object->valuestring, "response") == 0) ||
                        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(response, "output"));
        int gemini = cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(response, "candidates"));
        rc = messages ? read_messages(response, a)
             : responses ? read_responses(response, a)
             : gemini    ? read_gemini(response, a)
                         : read_chat(response, a);
    }
    if (rc)
        crl_atif_answer_clear(a);
    return rc;
}

void crl_atif_answer_clear(struct crl_atif_answer *a)
{
    free(a->message);
    free(a->reasoning);
    cJSON_Delete(a->tool_calls);
    cJSON_Delete(a->metrics);
    memset(a, 0, sizeof *a);
}
