/*
 * Rendering answers in Gemini form: a normalized response (struct
 * gate_completion) as a GenerateContentResponse and as the SSE stream of
 * streamGenerateContent?alt=sse, prepared once into templates like the
 * other dialects (gate_render.c's template builder).  Holes: the
 * responseId, the modelVersion, fresh function-call ids.
 *
 * The stream (docs/gate-dialects.md): "data: <chunk>\n\n" per chunk, no
 * event names, no terminator.  Each part but the last has a chunk of its
 * own (a thought, the text); the last chunk holds the function calls,
 * whole (or the text when there are none), the finishReason and the usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* The Gemini finishReason of a normalized answer. */
static const char *finish_reason(const struct gate_completion *c)
{
    const char *f = c->finish_reason ? c->finish_reason : "stop";
    if (strcmp(f, "length") == 0 || strcmp(f, "max_tokens") == 0)
        return "MAX_TOKENS";
    if (strcmp(f, "content_filter") == 0 || strcmp(f, "refusal") == 0)
        return "SAFETY";
    return "STOP";
}

/* A tool call's arguments as an object's compact JSON text; "{}" when
 * they are not a JSON object.  Caller frees; NULL out of memory. */

static void text_part(struct gate_sbuf *b, const char *text, int thought)
{
    gate_sb_lit(b, "{\"text\":");
    gate_sb_json_string(b, text);
    gate_sb_lit(b, thought ? ",\"thought\":true}" : "}");
}

static void call_part(struct gate_tb *t, const struct gate_tool_call *tc, const char *args, size_t *fresh)
{
    gate_sb_lit(&t->text, "{\"functionCall\":{\"id\":");
    gate_tb_call_id(t, tc, fresh);
    gate_sb_lit(&t->text, ",\"name\":");
    gate_sb_json_string(&t->text, tc->name);
    gate_sb_lit(&t->text, ",\"args\":");
    gate_sb_lit(&t->text, args);
    gate_sb_lit(&t->text, "}}");
}

/* {"candidates":[{"content":{"parts":[ */
static void open_response(struct gate_sbuf *b)
{
    gate_sb_lit(b, "{\"candidates\":[{\"content\":{\"parts\":[");
}

/* ],"role":"model"}[,"finishReason"],"index":0}],"usageMetadata",
 * "modelVersion","responseId"} */
static void close_response(struct gate_tb *t, const struct gate_completion *c, int last)
{
    struct gate_sbuf *b = &t->text;
    gate_sb_lit(b, "],\"role\":\"model\"}");
    if (last) {
        gate_sb_lit(b, ",\"finishReason\":");
        gate_sb_json_string(b, finish_reason(c));
    }
    gate_sb_lit(b, ",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":");
    gate_sb_int(b, c->has_usage ? c->prompt_tokens : 0);
    gate_sb_lit(b, ",\"candidatesTokenCount\":");
    gate_sb_int(b, c->has_usage ? c->completion_tokens : 0);
    gate_sb_lit(b, ",\"totalTokenCount\":");
    gate_sb_int(b, c->has_usage ? (c->total_tokens ? c->total_tokens : c->prompt_tokens + c->completion_tokens) : 0);
    gate_sb_lit(b, "},\"modelVersion\":");
    gate_tb_hole(t, GATE_HOLE_MODEL, 0);
    gate_sb_lit(b, ",\"responseId\":");
    gate_tb_hole(t, GATE_HOLE_ID, 0);
    gate_sb_lit(b, "}");
}

static int has_text(const char *s)
{
    return s && s[0];
}

static void response_template(struct gate_tb *t, const struct gate_completion *c, char **args)
{
    struct gate_sbuf *b = &t->text;
    open_response(b);
    int first = 1;
    if (has_text(c->reasoning)) {
        text_part(b, c->reasoning, 1);
        first = 0;
    }
    if (has_text(c->content) || (first && !c->n_tool_calls)) {
        if (!first)
            gate_sb_lit(b, ",");
        text_part(b, c->content ? c->content : "", 0);
        first = 0;
    }
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++, first = 0) {
        if (!first)
            gate_sb_lit(b, ",");
        call_part(t, &c->tool_calls[i], args[i], &fresh);
    }
    close_response(t, c, 1);
}

static void stream_template(struct gate_tb *t, const struct gate_completion *c, char **args)
{
    struct gate_sbuf *b = &t->text;
    int text = has_text(c->content);
    if (has_text(c->reasoning)) {
        gate_sb_lit(b, "data: ");
        open_response(b);
        text_part(b, c->reasoning, 1);
        close_response(t, c, 0);
        gate_sb_lit(b, "\n\n");
    }
    if (text && c->n_tool_calls) {
        gate_sb_lit(b, "data: ");
        open_response(b);
        text_part(b, c->content, 0);
        close_response(t, c, 0);
        gate_sb_lit(b, "\n\n");
    }
    gate_sb_lit(b, "data: ");
    open_response(b);
    size_t fresh = 0;
    for (size_t i = 0; i < c->n_tool_calls; i++) {
        if (i)
            gate_sb_lit(b, ",");
        call_part(t, &c->tool_calls[i], args[i], &fresh);
    }
    if (!c->n_tool_calls)
        text_part(b, text ? c->content : "", 0);
    close_response(t, c, 1);
    gate_sb_lit(b, "\n\n");
}

int gate_prepare_gemini(const struct gate_completion *c, struct gate_prepared *out)
{
    return gate_prepare_with_inputs(c, response_template, stream_template, &out->gem_json, &out->gem_sse);
}
