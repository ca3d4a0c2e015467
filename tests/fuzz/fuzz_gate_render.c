/* Differential fuzzing of the answer renderer (gate_render.c): arbitrary
 * bytes as one response, the first line as the model name.  Whatever
 * normalizes must render, through the prepared templates, byte for byte
 * as the cJSON trees the gate used to print (the reference below, kept
 * as it was), in the JSON form and in the SSE form with and without the
 * usage chunk; every SSE event must parse with cJSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* ---- the reference: the cJSON renderer the gate had -------------------------- */

static cJSON *ref_object(const struct gate_completion *c, const char *id, const char *model, long long created)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", model);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON *msg = cJSON_AddObjectToObject(ch, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (c->content)
        cJSON_AddStringToObject(msg, "content", c->content);
    else
        cJSON_AddNullToObject(msg, "content");
    if (c->reasoning)
        cJSON_AddStringToObject(msg, "reasoning_content", c->reasoning);
    if (c->n_tool_calls) {
        cJSON *tcs = cJSON_AddArrayToObject(msg, "tool_calls");
        for (size_t i = 0; i < c->n_tool_calls; i++) {
            cJSON *tc = cJSON_CreateObject();
            cJSON_AddStringToObject(tc, "id", c->tool_calls[i].id);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", c->tool_calls[i].name);
            cJSON_AddStringToObject(fn, "arguments", c->tool_calls[i].arguments);
            cJSON_AddItemToArray(tcs, tc);
        }
    }
    cJSON_AddStringToObject(ch, "finish_reason", c->finish_reason ? c->finish_reason : "stop");
    if (c->has_usage) {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)c->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)c->completion_tokens);
        cJSON_AddNumberToObject(u, "total_tokens", (double)c->total_tokens);
    }
    return o;
}

struct buf {
    char *p;
    size_t len;
};

static void add(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    b->p = realloc(b->p, b->len + n + 1);
    if (!b->p)
        abort();
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void add_printed(struct buf *b, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (!s)
        abort();
    add(b, s);
    free(s);
    cJSON_Delete(j);
}

static void ref_delta(struct buf *b, const char *head, cJSON *delta, const char *finish_reason)
{
    add(b, head);
    add(b, "[{\"index\":0,\"delta\":");
    add_printed(b, delta);
    if (finish_reason) {
        add(b, ",\"finish_reason\":");
        add_printed(b, cJSON_CreateString(finish_reason));
    }
    add(b, "}]}\n\n");
}

static char *ref_sse(const struct gate_completion *c, const char *id, const char *model, long long created,
                     int include_usage)
{
    struct buf b = {0}, head = {0};
    char num[32];
    snprintf(num, sizeof num, "%lld", created);
    add(&head, "data: {\"id\":");
    add_printed(&head, cJSON_CreateString(id));
    add(&head, ",\"object\":\"chat.completion.chunk\",\"created\":");
    add(&head, num);
    add(&head, ",\"model\":");
    add_printed(&head, cJSON_CreateString(model));
    add(&head, ",\"choices\":");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "role", "assistant");
    ref_delta(&b, head.p, d, NULL);
    if (c->reasoning && c->reasoning[0]) {
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "reasoning_content", c->reasoning);
        ref_delta(&b, head.p, d, NULL);
    }
    if (c->content && c->content[0]) {
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "content", c->content);
        ref_delta(&b, head.p, d, NULL);
    }
    for (size_t i = 0; i < c->n_tool_calls; i++) {
        d = cJSON_CreateObject();
        cJSON *tcs = cJSON_AddArrayToObject(d, "tool_calls");
        cJSON *tc = cJSON_CreateObject();
        cJSON_AddItemToArray(tcs, tc);
        cJSON_AddNumberToObject(tc, "index", (double)i);
        cJSON_AddStringToObject(tc, "id", c->tool_calls[i].id);
        cJSON_AddStringToObject(tc, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(tc, "function");
        cJSON_AddStringToObject(fn, "name", c->tool_calls[i].name);
        cJSON_AddStringToObject(fn, "arguments", "");
        ref_delta(&b, head.p, d, NULL);
        if (c->tool_calls[i].arguments[0]) {
            d = cJSON_CreateObject();
            tcs = cJSON_AddArrayToObject(d, "tool_calls");
            tc = cJSON_CreateObject();
            cJSON_AddItemToArray(tcs, tc);
            cJSON_AddNumberToObject(tc, "index", (double)i);
            fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "arguments", c->tool_calls[i].arguments);
            ref_delta(&b, head.p, d, NULL);
        }
    }
    ref_delta(&b, head.p, cJSON_CreateObject(), c->finish_reason ? c->finish_reason : "stop");
    if (include_usage && c->has_usage) {
        char u[160];
        snprintf(u, sizeof u,
                 "[],\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld}}\n\n",
                 c->prompt_tokens, c->completion_tokens, c->total_tokens);
        add(&b, head.p);
        add(&b, u);
    }
    add(&b, "data: [DONE]\n\n");
    free(head.p);
    return b.p;
}

/* ---- the check ----------------------------------------------------------------- */

static void check_events(const char *sse, size_t len)
{
    const char *p = sse, *end = sse + len;
    while (p < end) {
        const char *e = strstr(p, "\n\n");
        if (strncmp(p, "data: ", 6) != 0 || !e)
            abort();
        if (strncmp(p + 6, "[DONE]\n\n", 8) != 0) {
            cJSON *j = cJSON_ParseWithLength(p + 6, (size_t)(e - p - 6));
            if (!j)
                abort();
            cJSON_Delete(j);
        }
        p = e + 2;
    }
}

static void check(struct gate_completion *c, const char *model, long long created)
{
    /* The reference needs concrete ids: give the fresh ones fixed values
     * (with characters that need escaping). */
    const char *fixed[64];
    size_t nf = 0;
    char names[64][24];
    if (c->n_tool_calls > 64)
        return; /* more than this check has room for */
    for (size_t i = 0; i < c->n_tool_calls; i++)
        if (!c->tool_calls[i].id) {
            snprintf(names[nf], sizeof names[nf], "call_\"%zu\n", nf);
            fixed[nf] = names[nf];
            nf++;
        }
    struct gate_completion ref = *c;
    struct gate_tool_call tcs[64];
    if (c->n_tool_calls) {
        size_t k = 0;
        for (size_t i = 0; i < c->n_tool_calls; i++) {
            tcs[i] = c->tool_calls[i];
            if (!tcs[i].id)
                tcs[i].id = (char *)fixed[k++];
        }
        ref.tool_calls = tcs;
    }
    const char *id = "chatcmpl-\x01\"x\\";
    cJSON *o = ref_object(&ref, id, model, created);
    char *want_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *want_sse[2] = {ref_sse(&ref, id, model, created, 0), ref_sse(&ref, id, model, created, 1)};
    if (!want_json)
        abort();

    struct gate_prepared p;
    if (gate_prepare(c, &p) != 0 || p.n_fresh_ids != nf)
        abort();
    for (int usage = 0; usage < 2; usage++) {
        struct gate_answer_vars v = {.id = id, .model = model, .created = created, .stream = 1,
                                     .include_usage = usage, .call_ids = fixed};
        char *json, *sse;
        size_t jl, sl;
        if (gate_render_answer(&p, &v, &json, &jl, &sse, &sl) != 0)
            abort();
        if (jl != strlen(want_json) || memcmp(json, want_json, jl) != 0)
            abort();
        if (sl != strlen(want_sse[usage]) || memcmp(sse, want_sse[usage], sl) != 0)
            abort();
        check_events(sse, sl);
        free(json);
        free(sse);
    }
    /* not streaming: no SSE; random fresh ids are JSON strings */
    struct gate_answer_vars v = {.id = id, .model = model, .created = created};
    char *json, *sse = (char *)"unset";
    size_t jl, sl;
    if (gate_render_answer(&p, &v, &json, &jl, &sse, &sl) != 0 || sse)
        abort();
    cJSON *back = cJSON_ParseWithLength(json, jl);
    if (!back)
        abort();
    cJSON_Delete(back);
    free(json);
    gate_prepared_clear(&p);
    free(want_json);
    free(want_sse[0]);
    free(want_sse[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t ml = nl ? (size_t)(nl - text) : 0;
    char *model = malloc(ml + 1);
    if (!model)
        return 0;
    memcpy(model, text, ml);
    model[ml] = 0; /* may end early at a NUL byte, as a decoded model does */
    const char *body = nl ? nl + 1 : text;
    size_t blen = size - (size_t)(body - text);
    char err[256];
    struct gate_completion c;
    if (gate_completion_from_text(body, blen, &c, err, sizeof err) == 0) {
        if (!c.is_error)
            check(&c, model, (long long)size * 1000003LL);
        gate_completion_clear(&c);
    }
    free(model);
    return 0;
}
