/*
 * Rendering answers in Anthropic Messages form: a normalized response
 * (struct gate_completion) as the "message" object and as the SSE event
 * stream Anthropic clients consume, prepared once into templates like the
 * chat-completions forms (gate_render.c, whose template builder this
 * shares).  Holes: the "msg_" id, the model, fresh "toolu_" ids.
 *
 * Event order (docs/gate-dialects.md): message_start (content empty),
 * then per content block content_block_start, its deltas (text_delta, or
 * input_json_delta pieces whose partial_json concatenate to the tool's
 * input object), content_block_stop; one ping after the first block's
 * start (or after message_start when there is none); message_delta (the
 * stop reason and the output tokens); message_stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* partial_json pieces are at most this many bytes, cut only at the start
 * of a UTF-8 character, so each piece is a valid JSON string. */
#define PARTIAL_JSON_PIECE 64

/* The Messages stop reason of a normalized answer. */
static const char *stop_reason(const struct gate_completion *c)
{
    const char *f = c->finish_reason ? c->finish_reason : "stop";
    if (strcmp(f, "length") == 0 || strcmp(f, "max_tokens") == 0)
        return "max_tokens";
    if (c->n_tool_calls)
        return "tool_use";
    if (strcmp(f, "stop_sequence") == 0)
        return "stop_sequence";
    if (strcmp(f, "content_filter") == 0 || strcmp(f, "refusal") == 0)
        return "refusal";
    if (strcmp(f, "pause_turn") == 0)
        return "pause_turn";
    return "end_turn";
}

/* A tool call's arguments as the input object's compact JSON text; "{}"
 * when they are not a JSON object.  Caller frees; NULL out of memory. */

static void event(struct gate_sbuf *b, const char *name)
{
    gate_sb_lit(b, "event: ");
    gate_sb_lit(b, name);
    gate_sb_lit(b, "\ndata: ");
}

static void ping(struct gate_sbuf *b)
{
    event(b, "ping");
    gate_sb_lit(b, "{\"type\":\"ping\"}\n\n");
}

/* {"id","type","role","model","content":[...],"stop_reason","stop_sequence","usage"} */
static void message_template(struct gate_tb *t, const struct gate_completion *c, char **inputs)
{
    struct gate_sbuf *b = &t->text;
    gate_sb_lit(b, "{\"id\":");
    gate_tb_hole(t, GATE_HOLE_ID, 0);
    gate_sb_lit(b, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    gate_tb_hole(t, GATE_HOLE_MODEL, 0);
    gate_sb_lit(b, ",\"content\":[");
    int first = 1;
    if (c->content && c->content[0]) {
        gate_sb_lit(b, "{\"type\":\"text\",\"text\":");
        gate_sb_json_string(b, c->content);
        gate_sb_lit(b, "}");
        first = 0;
    }
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++, first = 0) {
        gate_sb_lit(b, first ? "{\"type\":\"tool_use\",\"id\":" : ",{\"type\":\"tool_use\",\"id\":");
        gate_tb_call_id(t, &c->tool_calls[i], &fresh);
        gate_sb_lit(b, ",\"name\":");
        gate_sb_json_string(b, c->tool_calls[i].name);
        gate_sb_lit(b, ",\"input\":");
        gate_sb_lit(b, inputs[i]);
        gate_sb_lit(b, "}");
    }
    gate_sb_lit(b, "],\"stop_reason\":");
    gate_sb_json_string(b, stop_reason(c));
    gate_sb_lit(b, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    gate_sb_int(b, c->has_usage ? c->prompt_tokens : 0);
    gate_sb_lit(b, ",\"output_tokens\":");
    gate_sb_int(b, c->has_usage ? c->completion_tokens : 0);
    gate_sb_lit(b, "}}");
}

static void block_start(struct gate_tb *t, size_t index)
{
    event(&t->text, "content_block_start");
    gate_sb_lit(&t->text, "{\"type\":\"content_block_start\",\"index\":");
    gate_sb_int(&t->text, (long long)index);
    gate_sb_lit(&t->text, ",\"content_block\":");
}

static void block_started(struct gate_tb *t, int *pinged)
{
    gate_sb_lit(&t->text, "}\n\n");
    if (!*pinged) {
        ping(&t->text);
        *pinged = 1;
    }
}

static void delta_open(struct gate_sbuf *b, size_t index)
{
    event(b, "content_block_delta");
    gate_sb_lit(b, "{\"type\":\"content_block_delta\",\"index\":");
    gate_sb_int(b, (long long)index);
    gate_sb_lit(b, ",\"delta\":");
}

static void block_stop(struct gate_sbuf *b, size_t index)
{
    event(b, "content_block_stop");
    gate_sb_lit(b, "{\"type\":\"content_block_stop\",\"index\":");
    gate_sb_int(b, (long long)index);
    gate_sb_lit(b, "}\n\n");
}

/* input's text as input_json_delta events of at most PARTIAL_JSON_PIECE
 * bytes each. */
static void input_deltas(struct gate_sbuf *b, size_t index, const char *input)
{
    size_t n = strlen(input);
    for (size_t off = 0; off < n;) {
        size_t k = gate_utf8_piece(input + off, n - off, PARTIAL_JSON_PIECE);
        char piece[PARTIAL_JSON_PIECE + 1];
        memcpy(piece, input + off, k);
        piece[k] = 0;
        delta_open(b, index);
        gate_sb_lit(b, "{\"type\":\"input_json_delta\",\"partial_json\":");
        gate_sb_json_string(b, piece);
        gate_sb_lit(b, "}}\n\n");
        off += k;
    }
}

static void stream_template(struct gate_tb *t, const struct gate_completion *c, char **inputs)
{
    struct gate_sbuf *b = &t->text;
    event(b, "message_start");
    gate_sb_lit(b, "{\"type\":\"message_start\",\"message\":{\"id\":");
    gate_tb_hole(t, GATE_HOLE_ID, 0);
    gate_sb_lit(b, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    gate_tb_hole(t, GATE_HOLE_MODEL, 0);
    gate_sb_lit(b, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    gate_sb_int(b, c->has_usage ? c->prompt_tokens : 0);
    gate_sb_lit(b, ",\"output_tokens\":0}}}\n\n");
    int pinged = 0;
    size_t index = 0;
    if (c->content && c->content[0]) {
        block_start(t, index);
        gate_sb_lit(b, "{\"type\":\"text\",\"text\":\"\"}");
        block_started(t, &pinged);
        delta_open(b, index);
        gate_sb_lit(b, "{\"type\":\"text_delta\",\"text\":");
        gate_sb_json_string(b, c->content);
        gate_sb_lit(b, "}}\n\n");
        block_stop(b, index++);
    }
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++, index++) {
        block_start(t, index);
        gate_sb_lit(b, "{\"type\":\"tool_use\",\"id\":");
        gate_tb_call_id(t, &c->tool_calls[i], &fresh);
        gate_sb_lit(b, ",\"name\":");
        gate_sb_json_string(b, c->tool_calls[i].name);
        gate_sb_lit(b, ",\"input\":{}}");
        block_started(t, &pinged);
        input_deltas(b, index, inputs[i]);
        block_stop(b, index);
    }
    if (!pinged)
        ping(b);
    event(b, "message_delta");
    gate_sb_lit(b, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
    gate_sb_json_string(b, stop_reason(c));
    gate_sb_lit(b, ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
    gate_sb_int(b, c->has_usage ? c->completion_tokens : 0);
    gate_sb_lit(b, "}}\n\n");
    event(b, "message_stop");
    gate_sb_lit(b, "{\"type\":\"message_stop\"}\n\n");
}

int gate_prepare_messages(const struct gate_completion *c, struct gate_prepared *out)
{
    return gate_prepare_with_inputs(c, message_template, stream_template, &out->msg_json, &out->msg_sse);
}
