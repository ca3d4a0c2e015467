/*
 * Inside the ATIF subsystem: the steps of a trajectory (atif_steps.c) and
 * a model answer read from a transcript entry (atif_answer.c), assembled
 * into the document by atif.c.  See docs/atif.md.
 */
#ifndef CRL_ATIF_INTERNAL_H
#define CRL_ATIF_INTERNAL_H

#include <cjson/cJSON.h>

/* What the steps add up to, for final_metrics and the root's extra. */
struct crl_atif_totals {
    double prompt, completion, cached;
    int has_prompt, has_completion, has_cached;
    size_t model_calls;      /* transcript entries that became agent steps */
    size_t failed_calls;     /* entries of calls that got no answer */
    size_t truncated_calls;  /* entries cut to their sizes by the transcript limit */
    double dropped_calls;    /* calls not recorded at all (the last entry's "dropped") */
};

/* The trajectory's "steps" for the RolloutResult `result` (a parsed JSON
 * object the caller keeps): a new array the caller deletes, never empty;
 * NULL when out of memory.  Fills *t. */
cJSON *crl_atif_steps(const cJSON *result, struct crl_atif_totals *t);

/* The model's answer in a transcript entry's "response", whatever the
 * dialect's shape (chat.completion, Anthropic message): its text, its
 * reasoning (NULL when none), its tool calls as ATIF ToolCall objects and
 * its token counts as ATIF metrics members.  Everything the caller's
 * (crl_atif_answer_clear). */
struct crl_atif_answer {
    char *message;           /* never NULL after a successful read: "" when the model said nothing */
    char *reasoning;
    cJSON *tool_calls;       /* array, maybe empty */
    cJSON *metrics;          /* object, maybe empty: prompt_tokens, completion_tokens, cached_tokens, extra */
    const char *finish_reason; /* points into the response; NULL when absent */
};
/* 0, or -1 when out of memory (*a then holds nothing). */
int crl_atif_answer_read(const cJSON *response, struct crl_atif_answer *a);
void crl_atif_answer_clear(struct crl_atif_answer *a);

/* A chat message's or content block list's text: a string as is, an array
 * of parts as their "text" members joined with "\n" (other parts as
 * "[<type>]"), anything else "".  malloc'ed; NULL when out of memory. */
char *crl_atif_text(const cJSON *content);

/* A ToolCall object {tool_call_id, function_name, arguments[, extra]}:
 * `args` a JSON object is copied, a string holding a JSON object is parsed,
 * anything else gives {} and extra.raw_arguments keeps what there was.
 * NULL when out of memory. */
cJSON *crl_atif_tool_call(const char *id, const char *name, const cJSON *args);

/* 1 when transcript entry e is an MCP tool call the gate served
 * ("kind": "mcp_tool", docs/gate.md "Tools over MCP"), not a model call:
 * no step of its own (its result reaches the model in the agent's next
 * request, which the steps show). */
int crl_atif_is_tool_entry(const cJSON *e);

/* `v` when it is a whole number from 0 to 2^53, into *out: 0, else -1. */
int crl_atif_count(const cJSON *v, double *out);

#endif
