/*
 * The steps of a trajectory (docs/atif.md, "Steps"): the system and user
 * messages of the first model call, then one agent step per transcript
 * entry with the tool results that came back to the model, or, without a
 * transcript, what the agent's normalized events say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atif/atif_internal.h"
#include "crl_common.h"

struct steps {
    cJSON *arr;
    const cJSON *events;
    struct crl_atif_totals *t;
    int oom;
};

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A new step {step_id, source} at the end of the array; NULL when out of memory. */
static cJSON *new_step(struct steps *s, const char *source)
{
    cJSON *st = cJSON_CreateObject();
    if (!st || !cJSON_AddNumberToObject(st, "step_id", (double)cJSON_GetArraySize(s->arr) + 1) ||
        !cJSON_AddStringToObject(st, "source", source) || !cJSON_AddItemToArray(s->arr, st)) {
        cJSON_Delete(st);
        s->oom = 1;
        return NULL;
    }
    return st;
}

/* Take `item` into `o` under `key` (deleted when out of memory). */
static void put(struct steps *s, cJSON *o, const char *key, cJSON *item)
{
    if (!o || !item || !cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        s->oom = 1;
    }
}

/* The step's "timestamp": when its call came in (the entry's
 * "started_at"; nothing for an entry recorded before corral kept it). */
static void put_timestamp(struct steps *s, cJSON *st, const cJSON *entry)
{
    const cJSON *t = get(entry, "started_at");
    if (cJSON_IsString(t))
        put(s, st, "timestamp", cJSON_CreateString(t->valuestring));
}

/* Take `item` onto the end of array `arr`. */
static void push(struct steps *s, cJSON *arr, cJSON *item)
{
    if (!arr || !item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        s->oom = 1;
    }
}

static void put_string(struct steps *s, cJSON *o, const char *key, const char *v)
{
    put(s, o, key, cJSON_CreateString(v ? v : ""));
}

/* The chat request a responder saw for an entry: the normalized request
 * of a translated dialect, else the body itself; NULL when not kept or
 * when the entry is a tool call. */
int crl_atif_is_tool_entry(const cJSON *e)
{
    const cJSON *k = get(e, "kind");
    return cJSON_IsString(k) && strcmp(k->valuestring, "mcp_tool") == 0;
}

static const cJSON *request_of(const cJSON *entry)
{
    if (crl_atif_is_tool_entry(entry))
        return NULL;
    const cJSON *n = get(entry, "normalized_request");
    if (cJSON_IsObject(n))
        return n;
    const cJSON *r = get(entry, "request");
    return cJSON_IsObject(r) ? r : NULL;
}

static const char *role_of(const cJSON *msg)
{
    const cJSON *r = get(msg, "role");
    return cJSON_IsString(r) ? r->valuestring : "";
}

/* A system or user step with the text of a chat message. */
static void message_step(struct steps *s, const char *source, const cJSON *msg)
{
    cJSON *st = new_step(s, source);
    char *text = crl_atif_text(get(msg, "content"));
    if (!text)
        s->oom = 1;
    put_string(s, st, "message", text);
    free(text);
}

/* The system and user messages before the first assistant message. */
static void prompt_steps(struct steps *s, const cJSON *req)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, get(req, "messages")) {
        const char *role = role_of(m);
        if (strcmp(role, "assistant") == 0)
            break;
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
            message_step(s, "system", m);
        else if (strcmp(role, "user") == 0)
            message_step(s, "user", m);
    }
}

/* The user messages after the last assistant message of `req`: what the
 * agent's harness added before its next call. */
static void later_user_steps(struct steps *s, const cJSON *req)
{
    const cJSON *msgs = get(req, "messages"), *m, *after = NULL;
    cJSON_ArrayForEach(m, msgs)
        if (strcmp(role_of(m), "assistant") == 0)
            after = m;
    for (m = after ? after->next : NULL; m; m = m->next)
        if (strcmp(role_of(m), "user") == 0)
            message_step(s, "user", m);
}

/* The result of tool call `id`: a "tool" message of the next kept request,
 * else a tool_result event.  A new ObservationResult, or NULL (none, or
 * out of memory: s->oom). */
static cJSON *tool_result(struct steps *s, const char *id, const cJSON *next_req)
{
    const cJSON *m, *ev;
    cJSON_ArrayForEach(m, get(next_req, "messages")) {
        const cJSON *tid = get(m, "tool_call_id");
        if (strcmp(role_of(m), "tool") == 0 && cJSON_IsString(tid) && strcmp(tid->valuestring, id) == 0) {
            cJSON *r = cJSON_CreateObject();
            char *text = crl_atif_text(get(m, "content"));
            put_string(s, r, "source_call_id", id);
            put_string(s, r, "content", text);
            if (!text)
                s->oom = 1;
            free(text);
            return r;
        }
    }
    cJSON_ArrayForEach(ev, s->events) {
        const cJSON *kind = get(ev, "kind"), *eid = get(ev, "id");
        if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tool_result") != 0 || !cJSON_IsString(eid) ||
            strcmp(eid->valuestring, id) != 0)
            continue;
        const cJSON *out = get(ev, "output");
        char *text = cJSON_IsString(out) ? strdup(out->valuestring) : out ? cJSON_PrintUnformatted(out) : strdup("");
        cJSON *r = cJSON_CreateObject();
        put_string(s, r, "source_call_id", id);
        put_string(s, r, "content", text);
        if (!text)
            s->oom = 1;
        free(text);
        if (cJSON_IsTrue(get(ev, "is_error"))) {
            cJSON *x = cJSON_CreateObject();
            put(s, x, "is_error", cJSON_CreateTrue());
            put(s, r, "extra", x);
        }
        return r;
    }
    return NULL;
}

/* arr[key] copied when it is an array of token ids (counts) or, for
 * logprobs, of numbers. */
static void put_tokens(struct steps *s, cJSON *metrics, const char *key, const cJSON *arr, int ids)
{
    if (!cJSON_IsArray(arr))
        return;
    const cJSON *v;
    double n;
    cJSON_ArrayForEach(v, arr)
        if (ids ? crl_atif_count(v, &n) != 0 : !cJSON_IsNumber(v))
            return;
    put(s, metrics, key, cJSON_Duplicate(arr, 1));
}

static void add_total(const cJSON *metrics, const char *key, double *sum, int *has)
{
    double n;
    if (crl_atif_count(get(metrics, key), &n) == 0) {
        *sum += n;
        *has = 1;
    }
}

/* extra of an agent step: which transcript entry it is. */
static cJSON *entry_extra(struct steps *s, const cJSON *e, const char *finish_reason)
{
    static const char *const keys[] = {"seq", "request_id", "dialect", "status", "latency_ms",
                                       "call_kind", "policy_version", "truncated", "request_bytes",
                                       "response_bytes", NULL};
    cJSON *x = cJSON_CreateObject();
    for (size_t i = 0; x && keys[i]; i++) {
        const cJSON *v = get(e, keys[i]);
        if (v && !cJSON_IsNull(v) && (strcmp(keys[i], "request_bytes") != 0 || cJSON_IsTrue(get(e, "truncated"))))
            put(s, x, keys[i], cJSON_Duplicate(v, 1));
    }
    if (finish_reason)
        put_string(s, x, "finish_reason", finish_reason);
    if (!x)
        s->oom = 1;
    return x;
}

/* One agent step for transcript entry `e`, answered; `next` is the next
 * entry (NULL for the last). */
static void answered_step(struct steps *s, const cJSON *e, const cJSON *next)
{
    struct crl_atif_answer a;
    if (crl_atif_answer_read(get(e, "response"), &a) != 0) {
        s->oom = 1;
        return;
    }
    const cJSON *next_req = NULL;
    for (const cJSON *n = next; n && !next_req; n = n->next)
        next_req = request_of(n);
    cJSON *st = new_step(s, "agent");
    put_timestamp(s, st, e);
    put_string(s, st, "message", a.message);
    if (a.reasoning)
        put_string(s, st, "reasoning_content", a.reasoning);
    if (cJSON_GetArraySize(a.tool_calls) > 0) {
        cJSON *results = cJSON_CreateArray();
        const cJSON *tc;
        cJSON_ArrayForEach(tc, a.tool_calls) {
            cJSON *r = tool_result(s, get(tc, "tool_call_id")->valuestring, next_req);
            if (r)
                push(s, results, r);
        }
        put(s, st, "tool_calls", a.tool_calls);
        a.tool_calls = NULL;
        if (cJSON_GetArraySize(results) > 0) {
            cJSON *obs = cJSON_CreateObject();
            put(s, obs, "results", results);
            put(s, st, "observation", obs);
        } else {
            cJSON_Delete(results);
        }
    }
    cJSON *extra = cJSON_DetachItemFromObjectCaseSensitive(a.metrics, "extra");
    put_tokens(s, a.metrics, "prompt_token_ids", get(e, "prompt_token_ids"), 1);
    put_tokens(s, a.metrics, "completion_token_ids", get(e, "token_ids"), 1);
    put_tokens(s, a.metrics, "logprobs", get(e, "logprobs"), 0);
    if (extra)
        put(s, a.metrics, "extra", extra);
    struct crl_atif_totals *t = s->t;
    add_total(a.metrics, "prompt_tokens", &t->prompt, &t->has_prompt);
    add_total(a.metrics, "completion_tokens", &t->completion, &t->has_completion);
    add_total(a.metrics, "cached_tokens", &t->cached, &t->has_cached);
    if (a.metrics->child) {
        put(s, st, "metrics", a.metrics);
        a.metrics = NULL;
    }
    put(s, st, "llm_call_count", cJSON_CreateNumber(1));
    put(s, st, "extra", entry_extra(s, e, a.finish_reason));
    crl_atif_answer_clear(&a);
    t->model_calls++;
    if (next && !cJSON_IsTrue(get(next, "truncated")) && request_of(next))
        later_user_steps(s, request_of(next));
}

/* From the transcript: 0, or -1 when it holds no entry of a call. */
static int transcript_steps(struct steps *s, const cJSON *transcript)
{
    const cJSON *e;
    int any = 0, prompt = 0;
    cJSON_ArrayForEach(e, transcript) {
        double dropped;
        if (!cJSON_IsObject(e) || crl_atif_is_tool_entry(e))
            continue;
        if (crl_atif_count(get(e, "dropped"), &dropped) == 0) {
            s->t->dropped_calls += dropped;
            continue;
        }
        any = 1;
        if (!prompt && request_of(e)) {
            prompt_steps(s, request_of(e));
            prompt = 1;
        }
        if (cJSON_IsTrue(get(e, "truncated"))) {
            cJSON *st = new_step(s, "agent");
            put_timestamp(s, st, e);
            put_string(s, st, "message", "");
            put(s, st, "llm_call_count", cJSON_CreateNumber(1));
            put(s, st, "extra", entry_extra(s, e, NULL));
            s->t->truncated_calls++;
        } else if (cJSON_IsObject(get(e, "response"))) {
            const cJSON *next = e->next;
            while (next && crl_atif_is_tool_entry(next))
                next = next->next;
            answered_step(s, e, next);
        } else {
            s->t->failed_calls++;
        }
    }
    return any ? 0 : -1;
}

/* The "text" (or "thinking") parts of an event's content, or the content
 * when it is a string; NULL when there is none. */
static char *event_text(const cJSON *content, const char *type)
{
    if (cJSON_IsString(content))
        return strcmp(type, "text") == 0 ? strdup(content->valuestring) : NULL;
    struct crl_buf b = {0};
    const cJSON *p;
    cJSON_ArrayForEach(p, (cJSON_IsArray(content) ? content : NULL)) {
        const cJSON *ty = get(p, "type"), *v = get(p, type);
        if (cJSON_IsString(ty) && strcmp(ty->valuestring, type) == 0 && cJSON_IsString(v) &&
            ((b.len && crl_buf_puts(&b, "\n")) || crl_buf_puts(&b, v->valuestring))) {
            crl_buf_free(&b);
            return NULL;
        }
    }
    return b.p;
}

/* The step holding tool call `id`, or NULL. */
static cJSON *step_with_call(struct steps *s, const char *id)
{
    for (cJSON *st = s->arr->child ? s->arr->child->prev : NULL; st; st = st == s->arr->child ? NULL : st->prev) {
        const cJSON *tc;
        cJSON_ArrayForEach(tc, get(st, "tool_calls")) {
            const cJSON *tid = get(tc, "tool_call_id");
            if (cJSON_IsString(tid) && strcmp(tid->valuestring, id) == 0)
                return st;
        }
    }
    return NULL;
}

/* Without a transcript: an agent step per assistant event, its tool calls
 * and their results from tool_call and tool_result events. */
static void event_steps(struct steps *s)
{
    cJSON *cur = NULL;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, s->events) {
        const cJSON *kind = get(ev, "kind"), *id = get(ev, "id"), *name = get(ev, "name");
        const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
        if (strcmp(k, "assistant") == 0) {
            char *text = event_text(get(ev, "content"), "text");
            char *thinking = event_text(get(ev, "content"), "thinking");
            cur = new_step(s, "agent");
            put_string(s, cur, "message", text);
            if (thinking && *thinking)
                put_string(s, cur, "reasoning_content", thinking);
            put(s, cur, "llm_call_count", cJSON_CreateNumber(1));
            free(text);
            free(thinking);
        } else if (strcmp(k, "tool_call") == 0) {
            if (!cur || get(cur, "observation")) {
                cur = new_step(s, "agent");
                put_string(s, cur, "message", "");
            }
            cJSON *calls = cJSON_GetObjectItemCaseSensitive(cur, "tool_calls");
            if (!calls && cur) {
                calls = cJSON_CreateArray();
                put(s, cur, "tool_calls", calls);
            }
            char fallback[32];
            const cJSON *seq = get(ev, "seq");
            snprintf(fallback, sizeof fallback, "call_%.0f", cJSON_IsNumber(seq) ? seq->valuedouble : 0.0);
            cJSON *tc = crl_atif_tool_call(cJSON_IsString(id) ? id->valuestring : fallback,
                                           cJSON_IsString(name) ? name->valuestring : NULL, get(ev, "input"));
            push(s, calls, tc);
        } else if (strcmp(k, "tool_result") == 0) {
            cJSON *st = cJSON_IsString(id) ? step_with_call(s, id->valuestring) : NULL;
            cJSON *r = st ? tool_result(s, id->valuestring, NULL) : NULL;
            if (!st) {
                const cJSON *out = get(ev, "output");
                char *text = cJSON_IsString(out) ? strdup(out->valuestring)
                             : out               ? cJSON_PrintUnformatted(out)
                                                 : strdup("");
                st = cur ? cur : (cur = new_step(s, "agent"));
                if (st && !get(st, "message"))
                    put_string(s, st, "message", "");
                r = cJSON_CreateObject();
                put_string(s, r, "content", text);
                if (!text)
                    s->oom = 1;
                free(text);
            }
            cJSON *obs = cJSON_GetObjectItemCaseSensitive(st, "observation");
            if (!obs && st) {
                obs = cJSON_CreateObject();
                put(s, obs, "results", cJSON_CreateArray());
                put(s, st, "observation", obs);
            }
            push(s, cJSON_GetObjectItemCaseSensitive(obs, "results"), r);
        }
    }
}

cJSON *crl_atif_steps(const cJSON *result, struct crl_atif_totals *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *events = get(result, "events");
    struct steps s = {.arr = cJSON_CreateArray(), .events = cJSON_IsArray(events) ? events : NULL, .t = t};
    if (!s.arr)
        return NULL;
    const cJSON *transcript = get(result, "transcript");
    if (transcript_steps(&s, cJSON_IsArray(transcript) ? transcript : NULL) != 0)
        event_steps(&s);
    if (!s.oom && !s.arr->child) {
        cJSON *st = new_step(&s, "system");
        put_string(&s, st, "message", "corral: this rollout recorded no model call and no agent event");
    }
    if (s.oom) {
        cJSON_Delete(s.arr);
        return NULL;
    }
    return s.arr;
}
