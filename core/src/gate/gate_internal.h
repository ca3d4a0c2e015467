/*
 * The gate's internals, shared by gate*.c only.
 *
 * Locking: one mutex per gate (gate->lock) guards the rollout table, the
 * pending list, the trainer queue, the trainer waiters and every
 * gate_conn field marked (L).  MHD callbacks, the timer thread, the
 * upstream thread and API callers all take it; nothing blocks while
 * holding it.  Loaded replay scripts have their own lock (gate->scripts,
 * fields marked (S)), which may be taken under gate->lock, never the
 * other way round.
 *
 * Lifetime of a call: the MHD access handler allocates a gate_conn per
 * HTTP request (it is MHD's req_cls).  A call that cannot be answered at
 * once is put on gate->pending and its connection suspended.  Whoever
 * answers it (deliver, replay, upstream, deadline, unregister, shutdown)
 * does so under the lock through gate_complete_locked(): it takes the
 * conn off every list, stores the answer, and resumes the connection.
 * From then on only MHD holds the gate_conn; the request-completed
 * callback frees it.  Other threads refer to pending calls by request id,
 * never by pointer, outside the lock.
 */
#ifndef CORRAL_GATE_INTERNAL_H
#define CORRAL_GATE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <corral/gate.h>
#include "crl_common.h"
#include "base/json_scan.h"

#define GATE_DEFAULT_BODY_LIMIT (4u * 1024u * 1024u)
#define GATE_TRAINER_BODY_LIMIT ((size_t)64 << 20)
#define GATE_DEFAULT_TRANSCRIPT_LIMIT ((size_t)32 << 20)
#define GATE_DEFAULT_ROLLOUT_CONNECTIONS 32
#define GATE_DEFAULT_SOCKET_CONNECTIONS 64
#define GATE_DEFAULT_IDLE_TIMEOUT_S 30
#define GATE_DEFAULT_MAX_TOKENS 32768
#define GATE_DEFAULT_TIMEOUT_MS 600000
#define GATE_TOKEN_HEX 64
#define GATE_ROLLOUT_BUCKETS 256
#define GATE_TRAINER_MAX_WAIT_MS 300000
#define GATE_VERSION_MAX 128

/* ---- wire formats (gate_wire.c) ----------------------------------------- */

/* What the gate needs of a chat request; the body itself stays the raw
 * bytes it arrived as (gate_conn.buf).  `model` is owned. */
struct gate_chat_request {
    int stream;            /* "stream": true */
    int include_usage;     /* "stream_options": {"include_usage": true} */
    char *model;           /* a non-empty "model", or NULL */
    /* What tells an agent's auxiliary calls from its main loop (see
     * struct gate_aux_rule): */
    int has_tools;         /* "tools" is a non-empty array */
    double max_tokens;     /* "max_tokens", else "max_completion_tokens"; -1: neither */
    char *system;          /* the first message's string content when it is a
                            * "system" or "developer" message, or NULL */
};

/* Which calls of a rollout are "auxiliary" (transcript "call_kind";
 * docs/gate.md): those for which every condition set holds.  None set:
 * every call is "agent". */
struct gate_aux_rule {
    int no_tools;          /* the call offers no tools */
    double max_tokens_below; /* > 0: it asks for fewer output tokens than this */
    char *system_prefix;   /* owned: its system message starts with this, or NULL */
};
/* 1 when request q is auxiliary under rule. */
int gate_call_is_auxiliary(const struct gate_aux_rule *rule, const struct gate_chat_request *q);

/* cJSON_Parse of exactly text[0..len): NULL if anything but whitespace
 * follows the value. */
cJSON *gate_json_parse_exact(const char *text, size_t len);

/* Check a chat-completions request body (strict JSON, see json_scan.h:
 * an object with a non-empty "messages" array, a boolean "stream" and a
 * string "model" when present; the first of duplicate keys counts, as in
 * cJSON) and read the fields above without building a tree.  Returns 0,
 * or CORRAL_EINVAL with a message in err (for the 400 answer); text stays
 * the caller's. */
int gate_parse_chat_request(const char *text, size_t len, struct gate_chat_request *out,
                            char *err, size_t errlen);
/* The same checks and fields as gate_parse_chat_request, read from a
 * chat request the gate built itself (a dialect edge's tree, the
 * caller's; trusted: no scan of its text).  0, CORRAL_EINVAL or
 * CORRAL_ENOMEM with err; out is the caller's to clear on 0. */
int gate_chat_request_from_tree(const cJSON *chat, struct gate_chat_request *out, char *err, size_t errlen);
void gate_chat_request_clear(struct gate_chat_request *r);

struct gate_tool_call {
    char *id;              /* NULL: the response gave none; each answer gets a fresh "call_<hex>" */
    char *name;
    char *arguments;       /* JSON text */
};

/* A normalized answer (any response form in gate.h). */
struct gate_completion {
    int is_error;          /* an {"error":...} answer */
    int error_status;      /* its HTTP status */
    char *error_message;
    char *error_type;
    char *content;         /* NULL: none */
    char *reasoning;       /* NULL: none */
    struct gate_tool_call *tool_calls;
    size_t n_tool_calls;
    char *finish_reason;
    int has_usage;
    long long prompt_tokens, completion_tokens, total_tokens;
    cJSON *token_ids;      /* owned, for the transcript, or NULL */
    cJSON *logprobs;       /* owned, for the transcript, or NULL */
    cJSON *prompt_token_ids; /* owned, for the transcript, or NULL (vLLM "return_token_ids") */
};

/* Normalize a response object (short, full OpenAI, or error form).
 * Returns 0 or CORRAL_EINVAL with a message in err. */
int gate_completion_from_json(const cJSON *in, struct gate_completion *out, char *err, size_t errlen);
int gate_completion_from_text(const char *text, size_t len, struct gate_completion *out,
                              char *err, size_t errlen);
void gate_completion_clear(struct gate_completion *c);
/* {"error":{"message":..,"type":..,"code":..}} as text.  Caller frees. */
char *gate_error_body(const char *message, const char *type, const char *code);

/* ---- rendering answers (gate_render.c) ------------------------------------ */

/* What differs between two answers of the same response; everything else
 * is rendered once, into a template. */
enum gate_hole {
    GATE_HOLE_ID,          /* "chatcmpl-..." as a JSON string */
    GATE_HOLE_CREATED,     /* the Unix time in digits */
    GATE_HOLE_MODEL,       /* the model as a JSON string */
    GATE_HOLE_CHUNK,       /* an SSE event's envelope up to "choices": (id, created, model) */
    GATE_HOLE_ID_TEXT,     /* the id's text inside a JSON string (no quotes) */
    GATE_HOLE_CALL_ID,     /* the arg-th fresh tool-call id, as a JSON string */
    GATE_HOLE_CALL_NAME,   /* Responses: tool call arg's "name" member, with its
                            * "namespace" when the request flattened one */
    GATE_HOLE_NONE         /* literal text */
};

struct gate_part {
    uint32_t off, len;     /* GATE_HOLE_NONE: text[off..off+len) */
    uint16_t hole;         /* enum gate_hole */
    uint16_t usage_only;   /* only when the agent asked for the usage chunk */
    uint32_t arg;          /* GATE_HOLE_CALL_ID: which fresh id; _CALL_NAME: which call */
};

struct gate_tmpl {
    char *text;
    struct gate_part *parts;
    size_t n;
};

/* Building a template (gate_render.c; the dialects' renderers share it). */
struct gate_sbuf {
    struct crl_buf buf;
    int oom;               /* an append failed: the rest was ignored */
};
struct gate_tb {
    struct gate_sbuf text;
    struct gate_part *parts;
    size_t n, cap;
    size_t lit_from;       /* where the open literal part starts in text */
    int usage_only;
};
/* Append s[0..n) / a C string / s as a JSON string (escaped as cJSON
 * does) / d as cJSON prints a number. */
void gate_sb_add(struct gate_sbuf *b, const char *s, size_t n);
void gate_sb_lit(struct gate_sbuf *b, const char *s);
void gate_sb_json_string(struct gate_sbuf *b, const char *s);
void gate_sb_json_number(struct gate_sbuf *b, double d);
/* Append n in decimal. */
void gate_sb_int(struct gate_sbuf *b, long long n);
/* A tool call's arguments as compact JSON object text (malloc'ed, the
 * caller's), "{}" when they are not an object; NULL out of memory. */
char *gate_tool_input_json(const struct gate_tool_call *tc);
/* Builds one template of c from the tool inputs (gate_tool_input_json). */
typedef void (*gate_inputs_tmpl_fn)(struct gate_tb *t, const struct gate_completion *c, char **inputs);
/* The frame of a dialect whose answer forms need each tool call's input
 * as JSON: the inputs made once, `whole` into *json, `stream` into *sse.
 * 0, or -1 out of memory (nothing kept). */
int gate_prepare_with_inputs(const struct gate_completion *c, gate_inputs_tmpl_fn whole, gate_inputs_tmpl_fn stream,
                             struct gate_tmpl *json, struct gate_tmpl *sse);
/* A hole of kind h (arg: GATE_HOLE_CALL_ID's index) at the end of t. */
void gate_tb_hole(struct gate_tb *t, enum gate_hole h, size_t arg);
/* Tool call tc's id: its own as a JSON string, or the next fresh-id hole. */
void gate_tb_call_id(struct gate_tb *t, const struct gate_tool_call *tc, size_t *fresh);
/* Move the finished template into out; 0, or -1 out of memory (t freed). */
int gate_tb_finish(struct gate_tb *t, struct gate_tmpl *out);

/* The dialects an agent may speak; the gate's one call is chat completions
 * (docs/gate-dialects.md). */
enum gate_dialect {
    GATE_DIALECT_CHAT = 0,   /* OpenAI chat completions */
    GATE_DIALECT_MESSAGES,   /* Anthropic Messages */
    GATE_DIALECT_RESPONSES,  /* OpenAI Responses */
    GATE_DIALECT_GEMINI,     /* Google Gemini generateContent */
    GATE_DIALECT_MCP         /* an MCP tools/call (gate_mcp.c), not a model call */
};
/* The dialect's name in the transcript and the trainer API ("chat_completions",
 * "messages", "responses", "gemini").  A static string. */
const char *gate_dialect_name(int dialect);

/* A response rendered as far as it can be before a call: the
 * chat.completion object and the SSE stream as templates, and the same in
 * Anthropic Messages form.  Immutable once made, so any number of calls
 * may render it at once. */
struct gate_prepared {
    int is_error;          /* answer with gate_fail_locked() and these: */
    int error_status;
    char *error_message;
    char *error_type;
    struct gate_tmpl json; /* the chat.completion object */
    struct gate_tmpl sse;  /* "data: {...}\n\n" ... "data: [DONE]\n\n" */
    struct gate_tmpl msg_json; /* the Messages "message" object */
    struct gate_tmpl msg_sse;  /* "event: message_start" ... "event: message_stop" */
    struct gate_tmpl resp_json; /* the Responses "response" object */
    struct gate_tmpl resp_sse;  /* "event: response.created" ... "event: response.completed" */
    struct gate_tmpl gem_json; /* the Gemini GenerateContentResponse */
    struct gate_tmpl gem_sse;  /* "data: {GenerateContentResponse chunk}\n\n" ... */
    size_t n_fresh_ids;    /* tool calls without an id of their own */
    char **call_names;     /* owned: the tool calls' names (GATE_HOLE_CALL_NAME) */
    size_t n_calls;
    cJSON *token_ids;      /* owned, for the transcript, or NULL */
    cJSON *logprobs;       /* owned, for the transcript, or NULL */
    cJSON *prompt_token_ids; /* owned, for the transcript, or NULL */
};

/* The function tools of a Responses request's namespace tools (an MCP
 * server's, in Codex), which the gate offers flattened as
 * "<namespace>__<name>"; a call of one is answered with its namespace
 * again (docs/gate-dialects.md).  Owned by whoever holds it. */
struct gate_ns_tool {
    char *ns, *name;
};
struct gate_resp_ns {
    struct gate_ns_tool *v;
    size_t n;
};
void gate_resp_ns_clear(struct gate_resp_ns *ns);

/* Render c into out; takes c's token_ids, logprobs and prompt_token_ids (the caller still
 * clears c).  Returns 0 or CORRAL_ENOMEM. */
int gate_prepare(struct gate_completion *c, struct gate_prepared *out);
void gate_prepared_clear(struct gate_prepared *p);

/* The per-call values of an answer. */
struct gate_answer_vars {
    const char *id;                /* "chatcmpl-..." */
    const char *model;
    long long created;
    int stream, include_usage;     /* the request's */
    const char *const *call_ids;   /* NULL: fresh random ids; else p->n_fresh_ids ids (tests) */
    int dialect;                   /* enum gate_dialect: which templates */
    const struct gate_resp_ns *ns; /* Responses: the request's namespace tools, or NULL */
};

/* One answer of p (not an error): *json the chat.completion object
 * (always: the transcript keeps it), and when v->stream *sse the event
 * stream.  Returns 0, or CORRAL_ENOMEM with nothing allocated.  The
 * caller frees *json and *sse. */
int gate_render_answer(const struct gate_prepared *p, const struct gate_answer_vars *v, char **json,
                       size_t *json_len, char **sse, size_t *sse_len);

/* The Messages templates of c (gate_render_messages.c), into out->msg_json
 * and out->msg_sse.  Returns 0 or -1 out of memory (nothing kept). */
int gate_prepare_messages(const struct gate_completion *c, struct gate_prepared *out);

/* The Responses templates of c (gate_render_responses.c), into
 * out->resp_json and out->resp_sse.  Returns 0 or -1 out of memory. */
int gate_prepare_responses(const struct gate_completion *c, struct gate_prepared *out);

/* The Gemini templates of c (gate_render_gemini.c), into out->gem_json
 * and out->gem_sse.  Returns 0 or -1 out of memory (nothing kept). */
int gate_prepare_gemini(const struct gate_completion *c, struct gate_prepared *out);

/* ---- what the dialect edges share (gate_translate.c) ------------------------ */

/* Put msg in err (when err is not NULL); returns CORRAL_EINVAL. */
int gate_tr_fail(char *err, size_t errlen, const char *msg);
/* An upper bound on the JSON values in text (one per ',' '[' '{' ':'
 * outside strings, plus one), in one pass without allocating, so a body of
 * millions of tiny values is refused before cJSON builds a tree of it. */
size_t gate_json_value_bound(const char *text, size_t len);
/* o's member key when it is a string (o's), else NULL. */
const char *gate_tr_str(const cJSON *o, const char *key);
/* Append s to b, with sep before it when b has text already; 0 or -1. */
int gate_tr_join(struct crl_buf *b, const char *sep, const char *s);
/* in's number member key copied into out as `as`; absent or null:
 * nothing; not a number >= min: CORRAL_EINVAL with err. */
int gate_tr_copy_number(const cJSON *in, const char *key, cJSON *out, const char *as, double min, char *err,
                        size_t errlen);
/* in's "stream" (a boolean or null) into out as "stream": true. */
int gate_tr_copy_stream(const cJSON *in, cJSON *out, char *err, size_t errlen);
/* A dialect's translation of its parsed body in into the chat request out
 * (both trees the caller's); 0 or CORRAL_EINVAL with err. */
typedef int (*gate_convert_fn)(const cJSON *in, cJSON *out, void *ctx, char *err, size_t errlen);
/* The frame of every dialect's translation: the body must be non-empty,
 * strict JSON (base/json_scan.h) of at most GATE_MESSAGES_MAX_VALUES
 * values; convert(ctx) writes the chat request from a light copy of the
 * body whose long strings are placeholders (gate_spans_lighten), returned,
 * with the strings put back, as malloc'ed text
 * (length in *out_len; the caller frees it), or NULL with err (a 400;
 * "out of memory" when it is ours).  text stays the caller's.  When req
 * is not NULL the request is also read into it from the converter's tree
 * (gate_chat_request_from_tree: the same checks and fields as
 * gate_parse_chat_request on the returned text, without scanning it;
 * the caller clears *req on success). */
char *gate_translate_body(const char *text, size_t len, gate_convert_fn convert, void *ctx,
                          struct gate_chat_request *req, size_t *out_len, char *err, size_t errlen);
/* How many bytes of s[0..n) (at most max) a streamed piece takes without
 * cutting a UTF-8 character (unless it is not UTF-8); > 0 when n > 0. */
size_t gate_utf8_piece(const char *s, size_t n, size_t max);
/* The printf precision printing at most max bytes of the string s
 * without cutting a UTF-8 character: "%.*s", gate_utf8_prec(s, 64), s
 * (what is printed stays UTF-8, as JSON needs). */
int gate_utf8_prec(const char *s, size_t max);

/* ---- the Anthropic Messages edge (gate_messages.c) ------------------------- */

/* The long string values of a dialect body, kept as spans of its text
 * while the converter works on a light copy (gate_tr_spans.c). */
struct gate_spans {
    struct crl_json_span *v;
    size_t n, cap;
};
/* Copy text (valid JSON, the caller's) into *light (malloc'ed, the
 * caller's) with each long string value, other than those the converters
 * read (ids, names, types...), replaced by a placeholder; sp records the
 * spans (pointing into text; gate_spans_clear frees the list).  *light is
 * NULL when the body itself holds the placeholder mark: translate text
 * whole then.  0 or CORRAL_ENOMEM. */
int gate_spans_lighten(const char *text, size_t len, struct gate_spans *sp, char **light, size_t *light_len);
/* printed[0..len) (a converter's output) with every placeholder replaced
 * by its span, escaped again for each JSON-in-a-string level it was
 * printed at: malloc'ed (the caller frees it), NULL when out of memory. */
char *gate_spans_expand(const char *printed, size_t len, const struct gate_spans *sp, size_t *out_len);
void gate_spans_clear(struct gate_spans *sp);
/* The shortest string value carried as a span (256 bytes); fuzz targets
 * and tests lower it to send every string that way.  Set before any
 * translation runs, never while one does. */
extern size_t gate_spans_min;

/* A Messages body with more JSON values than this is refused before a
 * tree is built of it (a 4 MiB body of tiny values would be ~150 MB). */
#define GATE_MESSAGES_MAX_VALUES 200000u

/* Translate a Messages request body (text stays the caller's) into the
 * chat-completions request the responders take: the gate's normalized
 * call.  Returns the malloc'ed JSON text (length in *out_len; the caller
 * frees it), or NULL with the reason in err (a 400; "out of memory" when
 * it is ours).  req (or NULL): the request's fields, read as
 * gate_translate_body() does. */
char *gate_messages_normalize(const char *text, size_t len, struct gate_chat_request *req, size_t *out_len, char *err,
                              size_t errlen);
/* count_tokens' answer: an estimate from the body's size, not a tokenizer. */
long long gate_messages_estimate_tokens(size_t len);
/* Anthropic's error type for an HTTP status; for a generic 4xx, `type`
 * when it is one of Anthropic's.  Static strings. */
const char *gate_messages_error_type(unsigned status, const char *type);
/* {"type":"error","error":{"type","message"}} as text.  Caller frees. */
char *gate_messages_error_body(unsigned status, const char *message, const char *type);

/* ---- the OpenAI Responses edge (gate_responses.c) ------------------------- */

/* Translate a Responses request body (text stays the caller's) into the
 * chat-completions request the responders take, as
 * gate_messages_normalize() does; a previous_response_id is refused (the
 * gate keeps no state between calls).  Namespace tools are flattened into
 * "<namespace>__<name>" tools, listed in *ns (when ns is not NULL; empty
 * on entry, the caller's to clear, also after a failure). */
char *gate_responses_normalize(const char *text, size_t len, struct gate_resp_ns *ns, struct gate_chat_request *req,
                               size_t *out_len, char *err, size_t errlen);
/* OpenAI's error body {"error":{"message","type","param":null,"code"}}
 * as text; type NULL: invalid_request_error by status (server_error for
 * 5xx).  Caller frees. */
char *gate_responses_error_body(unsigned status, const char *message, const char *type, const char *code);
/* ---- the Gemini generateContent edge (gate_gemini.c) ----------------------- */

/* Translate a generateContent request body (text stays the caller's) for
 * model (from the URL; NULL: none) into the chat request, "stream": true
 * when stream (the streamGenerateContent route).  Like
 * gate_messages_normalize: the malloc'ed text, or NULL with err. */
char *gate_gemini_normalize(const char *text, size_t len, const char *model, int stream, struct gate_chat_request *req,
                            size_t *out_len, char *err, size_t errlen);
/* Google's status name for an HTTP status ("INVALID_ARGUMENT", ...).
 * A static string. */
const char *gate_gemini_status(unsigned status);
/* {"error":{"code","message","status"}} as text.  Caller frees. */
char *gate_gemini_error_body(unsigned status, const char *message);

/* ---- replay scripts (gate_replay.c) --------------------------------------- */

struct gate_replay {
    struct gate_prepared *lines;   /* each validated and prepared */
    size_t n;
};
/* Parse a JSONL script: one response per non-blank line ("#" lines are
 * comments).  Returns 0 or CORRAL_EINVAL with the line number in err. */
int gate_replay_parse(const char *text, size_t len, struct gate_replay *out, char *err, size_t errlen);
void gate_replay_clear(struct gate_replay *r);

/* A loaded script, shared by every rollout of a gate registered with the
 * same text (by SHA-256), immutable once loaded. */
struct gate_script {
    struct gate_script *next;      /* (S) */
    size_t refs;                   /* (S) */
    int loading;                   /* (S) being parsed by the thread that added it */
    int rc;                        /* (S) the parse's result once loaded */
    char err[256];                 /* (S) its message */
    unsigned char digest[32];
    struct gate_scripts *cache;
    struct gate_replay replay;     /* read-only once loaded */
};

/* The scripts a gate has loaded.  Its own lock (S), never held while
 * parsing or while taking gate->lock; it may be taken under gate->lock. */
struct gate_scripts {
    pthread_mutex_t lock;
    pthread_cond_t loaded;
    struct gate_script *head;      /* (S) */
};
int gate_scripts_init(struct gate_scripts *s);
/* After every script has been released. */
void gate_scripts_destroy(struct gate_scripts *s);
/* A reference to the script of text[0..len), parsing it unless this gate
 * has it already (or waiting for the thread parsing it).  Returns 0, or
 * the parse's error with its message in err. */
int gate_script_acquire(struct gate_scripts *s, const char *text, size_t len, struct gate_script **out,
                        char *err, size_t errlen);
/* Drop a reference; the last one frees the script.  Any thread, with or
 * without gate->lock. */
void gate_script_release(struct gate_script *sc);

/* ---- MCP tools (gate_mcp_wire.c, gate_mcp.c, gate_tools.c) ------------------ */

/* JSON-RPC 2.0 error codes. */
#define GATE_MCP_PARSE_ERROR (-32700)
#define GATE_MCP_INVALID_REQUEST (-32600)
#define GATE_MCP_METHOD_NOT_FOUND (-32601)
#define GATE_MCP_INVALID_PARAMS (-32602)
#define GATE_MCP_INTERNAL_ERROR (-32603)
/* Our answer to a client that asks for a revision we do not know. */
#define GATE_MCP_LATEST "2025-06-18"
#define GATE_MCP_SESSIONS_MAX 16      /* per rollout; a new one ends the oldest */
#define GATE_TOOL_DESCRIPTION_MAX 8192
#define GATE_TOOL_SCHEMA_MAX (256u * 1024u)
#define GATE_TOOLS_MAX 1024

enum gate_mcp_kind { GATE_MCP_REQUEST = 1, GATE_MCP_NOTIFICATION, GATE_MCP_RESPONSE };

/* One JSON-RPC message an agent POSTed.  Every pointer is owned. */
struct gate_mcp_msg {
    int kind;              /* enum gate_mcp_kind */
    char *id;              /* the id as JSON text (string or integer); NULL: none */
    char *method;          /* NULL for a response */
    cJSON *params;         /* an object, or NULL */
};
/* Parse text[0..len) (strict JSON) into *m.  0, or the JSON-RPC error
 * code (GATE_MCP_PARSE_ERROR, GATE_MCP_INVALID_REQUEST for a batch or a
 * message of the wrong shape) with the reason in err; m->id may then still
 * be set (the id to answer with).  The caller clears *m either way. */
int gate_mcp_parse(const char *text, size_t len, struct gate_mcp_msg *m, char *err, size_t errlen);
void gate_mcp_msg_clear(struct gate_mcp_msg *m);
/* tools/call params: the tool name and its arguments as JSON object text
 * ("{}" when absent), both malloc'ed for the caller.  0, or
 * GATE_MCP_INVALID_PARAMS with err. */
int gate_mcp_call_params(const cJSON *params, char **name, char **arguments, char *err, size_t errlen);
/* A trainer's tool result ({"content":[...],"isError"?,"structuredContent"?}
 * or the {"text":"..."} shorthand) as the MCP CallToolResult text the
 * agent gets (malloc'ed), or NULL with the reason in err. */
char *gate_mcp_result_normalize(const char *text, size_t len, char *err, size_t errlen);
/* {"content":[{"type":"text","text":text}],"isError":is_error}; malloc'ed. */
char *gate_mcp_text_result(const char *text, int is_error);
/* {"jsonrpc":"2.0","id":id,"result":result} (id and result are JSON text). */
char *gate_mcp_result_body(const char *id, const char *result);
/* A JSON-RPC error answer; id NULL: null; data_code: error.data.code or NULL. */
char *gate_mcp_error_body(const char *id, int code, const char *message, const char *data_code);
/* The "tools" of a central gate's tools/list answer (a JSON-RPC response,
 * text[0..len)) as a new MCP "tools" array of its well-formed entries (a
 * valid name, "inputSchema" an object, "description" a string or absent;
 * at most GATE_TOOLS_MAX); NULL when the body is no such answer.  The
 * caller deletes it. */
cJSON *gate_mcp_tools_from_answer(const char *text, size_t len);
/* What a node delivers to its local tools/call for the central gate's
 * answer (HTTP status, JSON-RPC body text[0..len)): the result (as
 * gate_mcp_result_normalize makes it; NULL when it is no tool result); a JSON-RPC
 * error under 200 as an isError text result; one under 400..599 as
 * {"error":{"message","status","code"?}} (code: error.data.code).  NULL
 * when the body is none of these.  Malloc'ed, the caller's. */
char *gate_mcp_answer_relay(long status, const char *text, size_t len);
/* The revision we speak when a client asks for `asked`: itself when we
 * know it (2025-03-26, 2025-06-18, 2025-11-25), else NULL.  Static. */
const char *gate_mcp_version(const char *asked);

/* 1 when name is 1-64 of [A-Za-z0-9_-] (gate_mcp_wire.c). */
int gate_tool_name_valid(const char *name);

/* ---- the gate -------------------------------------------------------------- */

enum gate_conn_kind {
    GC_NEW = 0,
    GC_CHAT,               /* agent chat request */
    GC_TRAINER_WAIT        /* trainer long-poll */
};

enum gate_conn_state {
    GS_RECEIVING = 0,      /* body upload in progress */
    GS_QUEUED,             /* (L) on the trainer queue */
    GS_CLAIMED,            /* (L) taken by a trainer / the upstream thread */
    GS_WAITING,            /* (L) trainer long-poll waiting */
    GS_DONE,               /* (L) answered; resp_* set */
    GS_HELD                /* (L) arrived while the gate is paused: on gate->held */
};

struct gate_rollout;

struct gate_conn {
    struct corral_gate *gate;
    struct MHD_Connection *conn;
    int kind;
    int state;
    int suspended;
    int dialect;                       /* enum gate_dialect of the route */
    int answer_chat;                   /* a remote node's forwarded call: answered as an
                                        * unstreamed chat completion whatever its dialect */
    /* upload */
    char *buf;
    size_t len, cap;
    size_t limit;                      /* body limit of its listener */
    int too_large;
    int counted;                       /* (L) holds one of its rollout's connection slots */
    /* chat */
    char id[33];
    char rollout_id[130];
    unsigned seq;                      /* 1-based number within the rollout */
    int auxiliary;                     /* call_kind "auxiliary" (the rollout's rule) */
    char policy_version[GATE_VERSION_MAX + 1]; /* the gate's when the call reached its
                                        * responder; "" none */
    struct gate_rollout *rollout;      /* (L) NULL once unregistered */
    struct gate_chat_request req;
    char *raw;                         /* a non-chat dialect's body as it came (buf then holds
                                        * the normalized chat request), or NULL */
    struct gate_resp_ns resp_ns;       /* a Responses call's namespace tools */
    size_t raw_len;
    int64_t t_start, deadline;
    struct gate_conn *prev, *next;     /* (L) gate->pending or gate->waiters */
    int listed;                        /* (L) on gate->pending or gate->waiters */
    struct gate_conn *q_next;          /* (L) trainer queue, or gate->held */
    struct gate_conn *r_next;          /* (L) gate->resume_head */
    char *mcp_id;                      /* an MCP tools/call: its JSON-RPC id (JSON text), else NULL */
    char *tool_name;                   /* an MCP tools/call: the tool, else NULL */
    char *overrides;                   /* upstream: JSON object of what the gate changed
                                        * ({"n":{"asked":8,"sent":1}}), or NULL */
    /* answer */
    unsigned resp_status;
    char *resp_body;
    size_t resp_len;
    const char *resp_type;
    struct gate_stream *stream;        /* a relayed upstream stream to send instead of
                                        * resp_body (gate_stream.c), or NULL */
};

/* A responder (a small vtable; one instance per rollout). */
struct gate_responder_ops {
    const char *name;
    /* Called under the lock on the MHD thread for a parsed chat request.
     * Either answers at once with gate_complete_locked()/gate_answer_locked()
     * or leaves the conn pending (on gate->pending) to be answered later. */
    void (*submit)(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c);
    void (*free)(void *state);
};

struct gate_rsock;

struct gate_rollout {
    struct gate_rollout *next;         /* hash chain */
    struct gate_rsock *sock;           /* (L) its own socket, or NULL */
    char *id;
    const struct gate_responder_ops *ops;
    void *state;
    unsigned seq;                      /* requests received */
    struct gate_aux_rule aux;          /* which calls are auxiliary */
    cJSON *transcript;                 /* array */
    size_t transcript_bytes;           /* requests and responses kept in it */
    size_t dropped;                    /* calls past the limit, not recorded */
    char node[65];                     /* (L) the remote node that registered it, or "" */
    int64_t lease_until;               /* (L) gate_now_ms() it expires at (node set) */
    struct gate_mcp_session *mcp_sessions; /* (L) its MCP sessions, newest first */
};

/* Calls in progress per rollout id (registered or not), for the
 * per-rollout connection cap. */
struct gate_load {
    struct gate_load *next;
    unsigned n;
    char id[];
};

/* One open connection of any listener (its MHD socket context), so that
 * a client slow to send its request headers is cut off whatever the
 * pace of its bytes (slowloris): MHD 0.9.75 times out idleness only. */
struct gate_sock {
    struct gate_sock *prev, *next;     /* (L) gate->socks */
    int fd;
    int waiting;                       /* (L) no request's headers complete since since_ms */
    int64_t since_ms;                  /* (L) accepted, or the previous request ended */
};

/* A listening socket and its daemon; the agent handler's cls. */
struct gate_listener {
    struct MHD_Daemon *daemon;
    int fd;
    struct corral_gate *gate;
    const char *rollout_id;            /* a rollout's own socket: only its calls;
                                        * NULL: a shared listener */
};

struct gate_upstream;
struct gate_tomb;

struct corral_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;               /* trainer queue and live-count changes */
    pthread_cond_t timer_cond;
    pthread_t timer;
    int timer_running;
    int timer_stop;
    int stopping;
    struct gate_conn *resume_head;     /* (L) to resume once the lock is released */
    struct gate_stream *streams;       /* (L) relays alive (gate_stream.c) */
    unsigned char secret[64];
    size_t secret_len;
    EVP_MAC_CTX *mac;                  /* HMAC-SHA256 keyed with secret: dup'ed per token */
    size_t body_limit;
    size_t transcript_limit;           /* per rollout */
    unsigned rollout_connections;      /* calls in progress per rollout */
    unsigned socket_connections;       /* open connections per rollout socket */
    mode_t unix_mode;                  /* of the unix socket and the rollouts' */
    unsigned idle_timeout_s;
    unsigned upstream_max_n;
    int64_t upstream_max_tokens;       /* < 0: no cap */
    struct gate_load *loads[GATE_ROLLOUT_BUCKETS];   /* (L) */
    struct gate_sock *socks;           /* (L) open connections */
    unsigned max_connections;
    unsigned threads;                  /* MHD thread pool of each agent listener */
    int64_t timeout_ms;
    char *model;
    char *url;
    uint16_t port;
    char *unix_path;
    char *trainer_url;
    char *trainer_token;
    char *registration_token;          /* remote nodes' token, or NULL */
    int64_t lease_ms;                  /* of a node's rollouts */
    struct gate_node_drop *node_drops; /* (L) node rollouts the trainer unregistered, until
                                        * their node's next heartbeat */
    size_t n_node_drops;               /* (L) */
    struct corral_gate_responder auto_spec;
    int has_auto;
    char *auto_replay_text;            /* the auto responder's script, loaded once */
    char *auto_upstream_url, *auto_upstream_key_env, *auto_upstream_model, *auto_upstream_cache_salt;
    char *auto_aux_system_prefix;
    const struct gate_responder_ops *auto_ops;   /* the auto responder, checked once and */
    void *auto_state;                            /* kept so its script stays loaded */
    struct gate_scripts scripts;       /* replay scripts, shared by content */
    struct gate_listener tcp, unix_l, trainer;
    struct gate_rollout *buckets[GATE_ROLLOUT_BUCKETS];
    struct gate_tomb *tombs[GATE_ROLLOUT_BUCKETS];   /* unregistered ids (auto mode) */
    size_t n_rollouts;
    struct gate_conn *pending;         /* all unanswered chat calls */
    struct gate_conn *q_head, *q_tail; /* trainer queue (state GS_QUEUED) */
    struct gate_conn *waiters;         /* trainer HTTP long-polls */
    int paused;                        /* (L) new calls wait on held (gate_policy.c) */
    struct gate_conn *held_head, *held_tail; /* (L) calls that arrived while paused, in order */
    char policy_version[GATE_VERSION_MAX + 1]; /* (L) stamped on calls; "" none */
    size_t live;                       /* gate_conns alive (for shutdown) */
    size_t api_waiters;                /* threads inside corral_gate_next_request() */
    struct gate_upstream *upstream;
    struct gate_tool *tools;           /* (L) trainer-registered MCP tools, in order */
    size_t n_tools;                    /* (L) */
    /* (L) a remote node's source of its central gate's tools (gate_node.c):
     * called without the lock; busy counts the calls in progress. */
    cJSON *(*remote_tools)(void *ctx, const char *rollout_id);
    void *remote_tools_ctx;
    unsigned remote_tools_busy;
};

/* gate.c */
int64_t gate_now_ms(void);
/* Release the lock, then resume the connections answered meanwhile (MHD is
 * never called with the gate lock held). */
void gate_unlock(struct corral_gate *g);
struct gate_rollout *gate_rollout_get_and_lock(struct corral_gate *g, const char *id);
void gate_conn_unlink_locked(struct corral_gate *g, struct gate_conn *c);
struct gate_conn *gate_queue_pop_locked(struct corral_gate *g);
int gate_deliver(struct corral_gate *g, const char *request_id, const char *json, size_t len, char *err,
                 size_t errlen);
/* A replay file's text (at most 256 MiB; the caller frees it), or NULL
 * with the reason in err. */
char *gate_read_file(const char *path, size_t *len, char *err, size_t errlen);
struct gate_rollout *gate_rollout_find_locked(struct corral_gate *g, const char *id);
int gate_check_token(const struct corral_gate *g, const char *rollout_id, const char *header);
void gate_pending_add_locked(struct corral_gate *g, struct gate_conn *c);
/* Answer chat call c with a prepared response (rendered per c's stream
 * flag) and record it in the transcript.  Takes c off every list; resumes
 * it if suspended.  p stays the caller's. */
void gate_answer_locked(struct corral_gate *g, struct gate_conn *c, const struct gate_prepared *p);
/* Fail chat call c with a JSON error (recorded in the transcript). */
void gate_fail_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, const char *message,
                      const char *type, const char *code);
/* Answer chat call c with a same-dialect upstream's answer as it came
 * (takes body; sse: a text/event-stream) and record it: "response" the
 * answer when it is JSON or the object a stream reassembles into
 * (gate_sse.h; "stream_incomplete" when it stopped short of its end), and
 * "raw_response" the stream's text within the transcript limit. */
void gate_answer_passthrough_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, char *body,
                                    size_t len, int sse);
/* A same-dialect upstream's stream that ended (gate_stream.c relayed it):
 * fill call request_id's transcript entry of rollout rollout_id (made when
 * the stream started) with the reassembled response and the stream's text
 * body[0..len) within the transcript limit, error (mid-stream failure, or
 * NULL) and the whole latency since t_start.  Nothing when the rollout or
 * entry is gone.  body stays the caller's. */
void gate_passthrough_record_locked(struct corral_gate *g, const char *rollout_id, const char *request_id,
                                    int dialect, const char *body, size_t len, const char *error, int64_t t_start);

/* ---- gate_stream.c: an upstream stream relayed as it arrives ---- */
struct gate_stream;
/* A relay with two references: the producer's (ended by gate_stream_end)
 * and the agent response's (gate_stream_send or gate_stream_drop). */
struct gate_stream *gate_stream_new(struct corral_gate *g, const char *rollout_id);
/* Append n bytes for the agent (producer thread, lock not held); -1 when
 * the agent is gone or stopped reading (the producer should stop). */
int gate_stream_push(struct gate_stream *s, const char *p, size_t n);
/* The producer is done: tail (or NULL) is the last text sent; drops the
 * producer's reference.  Lock not held. */
void gate_stream_end(struct gate_stream *s, const char *tail);
/* Queue the relay as conn's response (MHD thread); takes the response's
 * reference. */
enum MHD_Result gate_stream_send(struct gate_stream *s, struct MHD_Connection *conn, unsigned status,
                                 const char *type);
/* Drop the response's reference of a relay never sent (lock not held). */
void gate_stream_drop(struct gate_stream *s);
/* End every relay of rollout_id toward its agent (the rollout ended):
 * none stays suspended, so its socket's daemon may stop; the producers'
 * next pushes fail and abort their transfers.  Lock not held. */
void gate_streams_close(struct corral_gate *g, const char *rollout_id);

/* Low level: store an answer and resume. Takes ownership of body. */
void gate_complete_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, char *body,
                          size_t len, const char *content_type);
void gate_queue_push_locked(struct corral_gate *g, struct gate_conn *c);
struct gate_conn *gate_pending_find_locked(struct corral_gate *g, const char *request_id);
void gate_random_hex(char *out, size_t nbytes);
void gate_timer_kick_locked(struct corral_gate *g);
/* Take one of rollout id's connection slots: 0, or -1 when it holds
 * g->rollout_connections already (or out of memory). */
int gate_load_take_locked(struct corral_gate *g, const char *id);
void gate_load_put_locked(struct corral_gate *g, const char *id);

/* gate_leases.c: rollouts of remote nodes (docs/gate.md "Remote nodes") */
/* Mark registered rollout id as node's, leased for g->lease_ms.
 * Returns 0, or CORRAL_ENOTFOUND. */
int gate_lease_set(struct corral_gate *g, const char *id, const char *node);
/* Renew the leases of node's rollouts; returns how many it holds. */
size_t gate_lease_renew(struct corral_gate *g, const char *node);
/* Whether rollout id was registered by node. */
int gate_lease_owned(struct corral_gate *g, const char *id, const char *node);
/* Whether some node's rollout's lease ran out by now (the timer thread
 * then sweeps). */
int gate_lease_expired_locked(struct corral_gate *g, int64_t now);
/* Unregister every rollout whose lease ran out (their pending calls get
 * 410).  Takes the lock itself. */
void gate_leases_sweep(struct corral_gate *g);
/* The trainer is unregistering rollout id: when a node holds it, note the
 * id for that node's next heartbeat answer ("dropped").  Takes the lock. */
void gate_lease_note_drop(struct corral_gate *g, const char *id);
/* Add node's noted drops to the heartbeat answer o as "dropped": [ids]
 * (always present, maybe empty) and forget them.  Takes the lock. */
void gate_lease_take_drops(struct corral_gate *g, const char *node, cJSON *o);
/* Free every noted drop (corral_gate_free). */
void gate_lease_drops_free(struct corral_gate *g);

/* gate_policy.c */
/* Hand chat call c of rollout r (seq and t_start set) to r's responder,
 * stamped with the policy version and given its deadline; while the gate
 * is paused, put it on gate->held instead (no deadline runs there) until
 * corral_gate_resume() dispatches it.  Under the lock. */
void gate_dispatch_locked(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c);
/* Take held call c off gate->held (state GS_HELD).  Under the lock. */
void gate_held_unlink_locked(struct corral_gate *g, struct gate_conn *c);
/* Fail the held calls of rollout r (NULL: all) with status and code. */
void gate_held_fail_locked(struct corral_gate *g, const struct gate_rollout *r, unsigned status, const char *message,
                           const char *code);

/* gate_tools.c: the trainer's MCP tools (docs/gate.md "Tools over MCP") */
/* The MCP "tools" array rollout_id sees: its own tools, then the global
 * ones it does not shadow, then those of remote (an MCP "tools" array
 * from the central gate, or NULL; borrowed) no local one shadows.  Caller
 * owns the array; NULL out of memory. */
cJSON *gate_tools_list_locked(struct corral_gate *g, const char *rollout_id, const cJSON *remote);
/* Whether rollout_id sees a tool called name (locally, or in remote as
 * above). */
int gate_tool_visible_locked(struct corral_gate *g, const char *rollout_id, const char *name, const cJSON *remote);
/* Install (fn non-NULL) or remove (fn NULL: returns once no call of the
 * old source is in progress) a remote node's source of central tools:
 * fn(ctx, rollout_id) returns a new MCP "tools" array (the caller's) or
 * NULL.  ctx stays the caller's. */
void gate_tools_set_remote(struct corral_gate *g, cJSON *(*fn)(void *ctx, const char *rollout_id), void *ctx);
/* The central tools trainer rollout rollout_id sees through the remote
 * source (without the lock); NULL when there is no source, the rollout is
 * not a trainer's, or the source has none.  Caller owns the array. */
cJSON *gate_tools_remote(struct corral_gate *g, const char *rollout_id);
/* Free every tool (corral_gate_free). */
void gate_tools_free(struct corral_gate *g);
/* The trainer routes under /v1/tools (rest: what follows "/v1/tools", ""
 * or "/NAME"; rollout_id: the ?rollout_id= argument or NULL): the HTTP
 * status, and the JSON answer in *out (malloc'ed, the caller's). */
unsigned gate_tools_trainer(struct corral_gate *g, const char *method, const char *rest, const char *rollout_id,
                            const char *body, size_t len, char **out);

/* gate_mcp.c: the per-rollout MCP endpoint (docs/gate.md "Tools over MCP") */
/* What the HTTP layer hands gate_mcp_serve: the method and the headers
 * (each NULL when absent). */
struct gate_mcp_http {
    const char *method;
    const char *session;               /* Mcp-Session-Id */
    const char *version;               /* MCP-Protocol-Version */
    const char *origin;                /* Origin */
};
/* Serve one authorized request c of rollout id (its body in c->buf).
 * Returns 0 with the answer in *status and *body (malloc'ed, the caller's;
 * NULL: none) and, after initialize, the new session id in session_out
 * ("" otherwise); 401 in *status means "unknown rollout" (the caller sends
 * its usual 401).  Returns 1 when c became a pending tools/call (on the
 * gate's lists, answered later like a model call: the caller parks it). */
int gate_mcp_serve(struct corral_gate *g, struct gate_conn *c, const char *id, const struct gate_mcp_http *h,
                   unsigned *status, char **body, char session_out[33]);
/* The body a failed tools/call c gets (a JSON-RPC error); caller frees. */
char *gate_mcp_fail_body(const struct gate_conn *c, unsigned status, const char *message, const char *code);
/* Deliver a trainer's tool result (gate_mcp_result_normalize forms) to
 * pending tools/call request_id, or an error answer
 * {"error":{"message","status","code"?}} (what a node relays from its
 * central gate: the call fails with that status).  0, CORRAL_ENOTFOUND,
 * or CORRAL_EINVAL with err (the call stays pending). */
int gate_mcp_deliver(struct corral_gate *g, const char *request_id, const char *json, size_t len, char *err,
                     size_t errlen);
/* Free rollout r's MCP sessions. */
void gate_mcp_sessions_free(struct gate_rollout *r);

/* gate.c, for gate_mcp.c: record call c in its rollout's transcript (see
 * gate.c); takes over response and c->buf. */
void gate_transcript_add_locked(struct gate_conn *c, unsigned status, char *response, const char *error,
                                const struct gate_prepared *p);

/* gate_listen.c */
/* A bound, listening TCP socket (numeric addr; port 0: any), its port in
 * *bound and whether it is IPv6 in *v6; or -1 with the reason in err. */
int gate_tcp_socket(const char *addr, uint16_t port, uint16_t *bound, int *v6, char *err, size_t errlen);
/* A listening unix socket at path with mode; replace: an existing socket
 * file there is removed first, else bind fails on it.  -1 with err. */
int gate_unix_socket(const char *path, mode_t mode, int replace, char *err, size_t errlen);
/* Start l's daemon on listening fd (taken over, closed on failure):
 * `threads` > 1 a thread pool, at most max_connections connections.
 * 0, or -1 with the reason in err. */
int gate_listener_start(struct corral_gate *g, struct gate_listener *l, int fd, int v6, unsigned threads,
                        unsigned max_connections, MHD_AccessHandlerCallback handler, char *err, size_t errlen);
/* Stop a rollout socket's daemon (WITHOUT the gate lock: its callbacks
 * take it), remove its file, free it.  NULL: nothing. */
void gate_rsock_close(struct gate_rsock *s);

/* gate_http.c */
enum MHD_Result gate_http_agent(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls);
enum MHD_Result gate_http_trainer(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls);
void gate_http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe);
/* MHD_OPTION_NOTIFY_CONNECTION: keep g->socks. */
void gate_http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);
/* Shut down connections that have not sent a request's headers within
 * idle_timeout_s; lowers *next_ms to the next such deadline. */
void gate_socks_reap_locked(struct corral_gate *g, int64_t now, int64_t *next_ms);
/* Hand a queued request to a waiting HTTP trainer, if any. */
void gate_waiters_dispatch_locked(struct corral_gate *g);

/* gate_responders.c */
extern const struct gate_responder_ops gate_trainer_ops;
extern const struct gate_responder_ops gate_replay_ops;
extern const struct gate_responder_ops gate_upstream_ops;
/* Build the responder state for spec.  Returns 0 or CORRAL_EINVAL. */
int gate_responder_make(struct corral_gate *g, const struct corral_gate_responder *spec,
                        const struct gate_responder_ops **ops, void **state, char *err, size_t errlen);

/* gate_upstream.c */
int gate_upstream_start(struct corral_gate *g);
void gate_upstream_stop(struct corral_gate *g);
/* Queue chat call c (claimed) for forwarding, with "X-Session-ID: <its
 * rollout id>"; token_ids: ask vLLM for completion and prompt token ids;
 * cache_salt: vLLM's "cache_salt", or NULL.  Strings stay the caller's.
 * Under the lock. */
int gate_upstream_submit_locked(struct corral_gate *g, struct gate_conn *c, const char *url,
                                const char *key_env, const char *model, int token_ids, const char *cache_salt);
/* Pass chat call c (claimed) through to a same-dialect upstream speaking
 * dialect (enum gate_dialect, not chat): the agent's own body (its model
 * replaced when model is set) to that dialect's route under url, the key
 * from key_env in that API's header; the answer, stream or not, goes back
 * to the agent as it came (gate_answer_passthrough_locked; a 2xx stream
 * relayed as it arrives, gate_stream.c).  A call in
 * another dialect fails 400 "dialect_mismatch".  Under the lock; c is
 * answered or queued when it returns. */
void gate_passthrough_submit_locked(struct corral_gate *g, struct gate_conn *c, const char *url, const char *key_env,
                                    const char *model, int dialect);

#endif
