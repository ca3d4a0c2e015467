/*
 * Rendering answers in OpenAI Responses form: a normalized response
 * (struct gate_completion) as the "response" object and as the SSE event
 * stream Responses clients consume, prepared once into templates with the
 * template builder of gate_render.c.  Holes: the call's id (the response
 * is "resp_<id>", its items "rs_/msg_/fc_<id>_<n>"), the time, the model,
 * fresh "call_" ids, each call's "name" (with its "namespace" when the
 * request's namespace tool was flattened: gate_render_answer()).
 *
 * Event order (docs/gate-dialects.md): response.created,
 * response.in_progress; per output item output_item.added, its content
 * (a reasoning item: reasoning_text.delta/.done; a message:
 * content_part.added, output_text.delta, output_text.done,
 * content_part.done; a function call: function_call_arguments.delta
 * pieces, function_call_arguments.done), output_item.done; then
 * response.completed (or response.incomplete) with the whole response.
 * Every event carries its sequence_number, from 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* Arguments deltas are at most this many bytes, never cut inside a UTF-8
 * character. */
#define ARGUMENTS_PIECE 64

/* What an answer's response object says of its end: "completed", or
 * "incomplete" with a reason. */
static const char *incomplete_reason(const struct gate_completion *c)
{
    const char *f = c->finish_reason ? c->finish_reason : "stop";
    if (c->n_tool_calls)
        return NULL;
    if (strcmp(f, "length") == 0 || strcmp(f, "max_tokens") == 0)
        return "max_output_tokens";
    if (strcmp(f, "content_filter") == 0)
        return "content_filter";
    return NULL;
}

/* "<prefix><id>_<n>" as a JSON string. */
static void item_id(struct gate_tb *t, const char *prefix, size_t n)
{
    gate_sb_lit(&t->text, "\"");
    gate_sb_lit(&t->text, prefix);
    gate_tb_hole(t, GATE_HOLE_ID_TEXT, 0);
    gate_sb_lit(&t->text, "_");
    gate_sb_int(&t->text, (long long)n);
    gate_sb_lit(&t->text, "\"");
}

/* The output items in order: reasoning, the message, the function calls. */
struct item {
    enum { IT_REASONING, IT_MESSAGE, IT_CALL } kind;
    size_t call;           /* IT_CALL: which tool call */
};

static size_t items_of(const struct gate_completion *c, struct item *items)
{
    size_t n = 0;
    if (c->reasoning && c->reasoning[0])
        items[n++] = (struct item){IT_REASONING, 0};
    if (c->content && c->content[0])
        items[n++] = (struct item){IT_MESSAGE, 0};
    for (size_t i = 0; i < c->n_tool_calls; i++)
        items[n++] = (struct item){IT_CALL, i};
    return n;
}

/* Item k (output index k) in full; done: completed, else as it starts
 * (status in_progress, no content, empty arguments).  fresh_of[i] is
 * tool call i's fresh-id hole number (when it has no id of its own). */
static void item_json(struct gate_tb *t, const struct gate_completion *c, const struct item *it, size_t k, int done,
                      const size_t *fresh_of)
{
    struct gate_sbuf *b = &t->text;
    const char *status = done ? "\"completed\"" : "\"in_progress\"";
    if (it->kind == IT_REASONING) {
        gate_sb_lit(b, "{\"id\":");
        item_id(t, "rs_", k);
        gate_sb_lit(b, ",\"type\":\"reasoning\",\"summary\":[],\"content\":[");
        if (done) {
            gate_sb_lit(b, "{\"type\":\"reasoning_text\",\"text\":");
            gate_sb_json_string(b, c->reasoning);
            gate_sb_lit(b, "}");
        }
        gate_sb_lit(b, "]}");
    } else if (it->kind == IT_MESSAGE) {
        gate_sb_lit(b, "{\"id\":");
        item_id(t, "msg_", k);
        gate_sb_lit(b, ",\"type\":\"message\",\"status\":");
        gate_sb_lit(b, status);
        gate_sb_lit(b, ",\"role\":\"assistant\",\"content\":[");
        if (done) {
            gate_sb_lit(b, "{\"type\":\"output_text\",\"text\":");
            gate_sb_json_string(b, c->content);
            gate_sb_lit(b, ",\"annotations\":[]}");
        }
        gate_sb_lit(b, "]}");
    } else {
        const struct gate_tool_call *tc = &c->tool_calls[it->call];
        gate_sb_lit(b, "{\"id\":");
        item_id(t, "fc_", k);
        gate_sb_lit(b, ",\"type\":\"function_call\",\"status\":");
        gate_sb_lit(b, status);
        gate_sb_lit(b, ",\"call_id\":");
        size_t fresh = fresh_of[it->call];
        gate_tb_call_id(t, tc, &fresh);
        gate_sb_lit(b, ",");
        gate_tb_hole(t, GATE_HOLE_CALL_NAME, it->call);
        gate_sb_lit(b, ",\"arguments\":");
        gate_sb_json_string(b, done ? tc->arguments : "");
        gate_sb_lit(b, "}");
    }
}

/* The response object; done: with its output, status and usage, else as
 * it starts (in_progress, no output, usage null). */
static void response_json(struct gate_tb *t, const struct gate_completion *c, const struct item *items, size_t n,
                          int done, const size_t *fresh_of)
{
    struct gate_sbuf *b = &t->text;
    const char *why = incomplete_reason(c);
    gate_sb_lit(b, "{\"id\":\"resp_");
    gate_tb_hole(t, GATE_HOLE_ID_TEXT, 0);
    gate_sb_lit(b, "\",\"object\":\"response\",\"created_at\":");
    gate_tb_hole(t, GATE_HOLE_CREATED, 0);
    gate_sb_lit(b, ",\"status\":");
    gate_sb_lit(b, !done ? "\"in_progress\"" : why ? "\"incomplete\"" : "\"completed\"");
    gate_sb_lit(b, ",\"error\":null,\"incomplete_details\":");
    if (done && why) {
        gate_sb_lit(b, "{\"reason\":");
        gate_sb_json_string(b, why);
        gate_sb_lit(b, "}");
    } else {
        gate_sb_lit(b, "null");
    }
    gate_sb_lit(b, ",\"model\":");
    gate_tb_hole(t, GATE_HOLE_MODEL, 0);
    gate_sb_lit(b, ",\"output\":[");
    for (size_t k = 0; done && k < n; k++) {
        if (k)
            gate_sb_lit(b, ",");
        item_json(t, c, &items[k], k, 1, fresh_of);
    }
    gate_sb_lit(b, "],\"parallel_tool_calls\":true,\"previous_response_id\":null,\"store\":false,\"usage\":");
    if (!done) {
        gate_sb_lit(b, "null}");
        return;
    }
    long long in = c->has_usage ? c->prompt_tokens : 0, out = c->has_usage ? c->completion_tokens : 0;
    gate_sb_lit(b, "{\"input_tokens\":");
    gate_sb_int(b, in);
    gate_sb_lit(b, ",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":");
    gate_sb_int(b, out);
    gate_sb_lit(b, ",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":");
    gate_sb_int(b, c->has_usage && c->total_tokens ? c->total_tokens : in + out);
    gate_sb_lit(b, "}}");
}

/* "event: NAME\ndata: {"type":"NAME","sequence_number":N" (the caller
 * adds the rest of the object and ends it with end()). */
static void ev(struct gate_tb *t, const char *name, long long *seq)
{
    struct gate_sbuf *b = &t->text;
    gate_sb_lit(b, "event: ");
    gate_sb_lit(b, name);
    gate_sb_lit(b, "\ndata: {\"type\":\"");
    gate_sb_lit(b, name);
    gate_sb_lit(b, "\",\"sequence_number\":");
    gate_sb_int(b, (*seq)++);
}

static void end(struct gate_tb *t)
{
    gate_sb_lit(&t->text, "}\n\n");
}

/* ,"item_id":"..","output_index":k */
static void item_ref(struct gate_tb *t, const struct item *it, size_t k)
{
    gate_sb_lit(&t->text, ",\"item_id\":");
    item_id(t, it->kind == IT_REASONING ? "rs_" : it->kind == IT_MESSAGE ? "msg_" : "fc_", k);
    gate_sb_lit(&t->text, ",\"output_index\":");
    gate_sb_int(&t->text, (long long)k);
}

static void stream_item(struct gate_tb *t, const struct gate_completion *c, const struct item *it, size_t k,
                        long long *seq, const size_t *fresh_of)
{
    struct gate_sbuf *b = &t->text;
    ev(t, "response.output_item.added", seq);
    gate_sb_lit(b, ",\"output_index\":");
    gate_sb_int(b, (long long)k);
    gate_sb_lit(b, ",\"item\":");
    item_json(t, c, it, k, 0, fresh_of);
    end(t);
    if (it->kind == IT_REASONING) {
        ev(t, "response.reasoning_text.delta", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"delta\":");
        gate_sb_json_string(b, c->reasoning);
        end(t);
        ev(t, "response.reasoning_text.done", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"text\":");
        gate_sb_json_string(b, c->reasoning);
        end(t);
    } else if (it->kind == IT_MESSAGE) {
        ev(t, "response.content_part.added", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}");
        end(t);
        ev(t, "response.output_text.delta", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"delta\":");
        gate_sb_json_string(b, c->content);
        gate_sb_lit(b, ",\"logprobs\":[]");
        end(t);
        ev(t, "response.output_text.done", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"text\":");
        gate_sb_json_string(b, c->content);
        gate_sb_lit(b, ",\"logprobs\":[]");
        end(t);
        ev(t, "response.content_part.done", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":");
        gate_sb_json_string(b, c->content);
        gate_sb_lit(b, ",\"annotations\":[]}");
        end(t);
    } else {
        const char *args = c->tool_calls[it->call].arguments;
        size_t n = strlen(args);
        for (size_t off = 0; off < n;) {
            size_t piece = gate_utf8_piece(args + off, n - off, ARGUMENTS_PIECE);
            char s[ARGUMENTS_PIECE + 1];
            memcpy(s, args + off, piece);
            s[piece] = 0;
            ev(t, "response.function_call_arguments.delta", seq);
            item_ref(t, it, k);
            gate_sb_lit(b, ",\"delta\":");
            gate_sb_json_string(b, s);
            end(t);
            off += piece;
        }
        ev(t, "response.function_call_arguments.done", seq);
        item_ref(t, it, k);
        gate_sb_lit(b, ",");
        gate_tb_hole(t, GATE_HOLE_CALL_NAME, it->call);
        gate_sb_lit(b, ",\"arguments\":");
        gate_sb_json_string(b, args);
        end(t);
    }
    ev(t, "response.output_item.done", seq);
    gate_sb_lit(b, ",\"output_index\":");
    gate_sb_int(b, (long long)k);
    gate_sb_lit(b, ",\"item\":");
    item_json(t, c, it, k, 1, fresh_of);
    end(t);
}

static void stream_template(struct gate_tb *t, const struct gate_completion *c, const struct item *items, size_t n,
                            const size_t *fresh_of)
{
    long long seq = 0;
    ev(t, "response.created", &seq);
    gate_sb_lit(&t->text, ",\"response\":");
    response_json(t, c, items, n, 0, fresh_of);
    end(t);
    ev(t, "response.in_progress", &seq);
    gate_sb_lit(&t->text, ",\"response\":");
    response_json(t, c, items, n, 0, fresh_of);
    end(t);
    for (size_t k = 0; k < n; k++)
        stream_item(t, c, &items[k], k, &seq, fresh_of);
    ev(t, incomplete_reason(c) ? "response.incomplete" : "response.completed", &seq);
    gate_sb_lit(&t->text, ",\"response\":");
    response_json(t, c, items, n, 1, fresh_of);
    end(t);
}

int gate_prepare_responses(const struct gate_completion *c, struct gate_prepared *out)
{
    size_t n_items = c->n_tool_calls + 2;
    struct item small[10], *items = small;
    size_t fsmall[8], *fresh_of = fsmall;
    if (n_items > 10 && !(items = calloc(n_items, sizeof *items)))
        return -1;
    if (c->n_tool_calls > 8 && !(fresh_of = calloc(c->n_tool_calls, sizeof *fresh_of))) {
        if (items != small)
            free(items);
        return -1;
    }
    /* tool call i's fresh-id hole number (the same in every form) */
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++)
        fresh_of[i] = c->tool_calls[i].id ? 0 : fresh++;
    size_t n = items_of(c, items);
    struct gate_tb t = {0}, s = {0};
    response_json(&t, c, items, n, 1, fresh_of);
    stream_template(&s, c, items, n, fresh_of);
    int bad = gate_tb_finish(&t, &out->resp_json);
    if (gate_tb_finish(&s, &out->resp_sse))
        bad = 1;
    if (items != small)
        free(items);
    if (fresh_of != fsmall)
        free(fresh_of);
    return bad ? -1 : 0;
}
