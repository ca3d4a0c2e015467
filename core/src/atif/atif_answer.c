/*
 * A model answer as the transcript keeps it (what the agent got, in its
 * dialect's shape) read into the parts an ATIF agent step holds: message,
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
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        cJSON *t = crl_atif_tool_call(cJSON_IsString(id) ? id->valuestring : NULL,
                                      cJSON_IsString(name) ? name->valuestring : NULL,
                                      cJSON_GetObjectItemCaseSensitive(fn, "arguments"));
        if (!t || !cJSON_AddItemToArray(a->tool_calls, t)) {
            cJSON_Delete(t);
            return -1;
        }
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
    int bad = crl_buf_add(&text, "", 0) | crl_buf_add(&thinking, "", 0);
    const cJSON *blk;
    cJSON_ArrayForEach(blk, cJSON_GetObjectItemCaseSensitive(response, "content")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
        const char *ty = cJSON_IsString(type) ? type->valuestring : "";
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(blk, strcmp(ty, "thinking") == 0 ? "thinking" : "text");
        if (strcmp(ty, "tool_use") == 0) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(blk, "id");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(blk, "name");
            cJSON *t = crl_atif_tool_call(cJSON_IsString(id) ? id->valuestring : NULL,
                                          cJSON_IsString(name) ? name->valuestring : NULL,
                                          cJSON_GetObjectItemCaseSensitive(blk, "input"));
            if (!t || !cJSON_AddItemToArray(a->tool_calls, t)) {
                cJSON_Delete(t);
                bad = 1;
            }
        } else if (cJSON_IsString(s)) {
            struct crl_buf *b = strcmp(ty, "thinking") == 0 ? &thinking : &text;
            bad |= (b->len ? crl_buf_puts(b, "\n") : 0) | crl_buf_puts(b, s->valuestring);
        }
    }
    if (bad) {
        crl_buf_free(&text);
        crl_buf_free(&thinking);
        return -1;
    }
    a->message = text.p;
    if (thinking.len)
        a->reasoning = thinking.p;
    else
        crl_buf_free(&thinking);
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
        rc = messages ? read_messages(response, a) : read_chat(response, a);
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
