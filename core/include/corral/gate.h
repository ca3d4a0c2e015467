/*
 * The gate: corral's model-call interception endpoint.
 *
 * One HTTP server (libmicrohttpd) serves an OpenAI-compatible endpoint per
 * rollout:
 *
 *     POST {base}/rollout/{id}/v1/chat/completions   (SSE when "stream":true)
 *     GET  {base}/rollout/{id}/v1/models
 *
 * Every call carries "Authorization: Bearer <token>" where
 *
 *     token = lowercase hex(HMAC-SHA256(key = server secret, msg = rollout id))
 *
 * checked in constant time against the id in the PATH.  A wrong token and an
 * unknown rollout get byte-identical 401 answers.  Each registered rollout
 * has one responder that produces the answers:
 *
 *   trainer   requests wait in a queue; a training loop takes them with
 *             corral_gate_next_request() (or GET /v1/requests/next on the
 *             trainer listener) and answers with corral_gate_deliver() (or
 *             POST /v1/requests/{id}/response).
 *   upstream  the request is forwarded (libcurl) to an OpenAI-compatible
 *             server, with logprobs (and vLLM token ids) requested and
 *             recorded in the transcript.
 *   replay    answers come from a JSONL script: the n-th request of a
 *             rollout gets line n (format: docs in gate_replay.c and below).
 *
 * A response, wherever it comes from (a delivery, a replay line, an upstream
 * answer), is one JSON object in one of these forms:
 *
 *   short:  {"content": "text", "reasoning_content": "...",
 *            "tool_calls": [{"name": "bash", "arguments": {...} | "json text",
 *                            "id": "call_1"}],
 *            "finish_reason": "stop" | "tool_calls" | ...,     (derived if absent)
 *            "usage": {"prompt_tokens": n, "completion_tokens": n},
 *            "token_ids": [..], "logprobs": [..],
 *            "prompt_token_ids": [..]}                          (transcript only)
 *   full:   an OpenAI chat.completion object ({"choices":[{"message":...}]})
 *   error:  {"error": {"message": "...", "type": "...", "status": 400}}
 *           sent to the agent as that HTTP status (default 400).
 *
 * The agent receives it as a chat.completion JSON object, or as SSE chunks
 * (role delta, content deltas, tool_calls deltas with index, finish_reason,
 * a usage chunk when asked for and known, then "data: [DONE]").
 *
 * Errors that retrying cannot fix are 4xx with type "invalid_request_error",
 * which neither agent CLI retries, and a "code": 400 deadline_exceeded,
 * 400 replay_exhausted, 400 invalid_request (bad JSON, no messages), 401
 * unauthorized (wrong token or unknown rollout, one body for both), 410
 * rollout_ended (unregistered while pending), 410 gate_shutdown, 413
 * body_too_large.  429 too_many_connections (the rollout has
 * rollout_connections calls in progress) is retryable.  Upstream failures that may pass (unreachable, 5xx) are
 * 502 "server_error", which the agents retry.
 *
 * Threading: every function here may be called from any thread, except that
 * corral_gate_free() must not race with any other call on the same gate
 * (a thread blocked in corral_gate_next_request() is woken and waited for).
 */
#ifndef CORRAL_GATE_H
#define CORRAL_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <corral/corral.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corral_gate corral_gate;

enum corral_gate_responder_kind {
    CORRAL_GATE_TRAINER = 1,
    CORRAL_GATE_UPSTREAM = 2,
    CORRAL_GATE_REPLAY = 3
};

/* Which responder answers a rollout's calls.  Caller-owned; the gate copies
 * what it needs during the call it is passed to. */
struct corral_gate_responder {
    size_t struct_size;
    int kind;                          /* enum corral_gate_responder_kind */
    /* REPLAY: a JSONL file, read at registration, or the script text. */
    const char *replay_path;
    const char *replay_jsonl;
    /* UPSTREAM: base URL of an OpenAI-compatible API (e.g.
     * "http://127.0.0.1:8000/v1"); "/chat/completions" is appended. */
    const char *upstream_url;
    const char *upstream_api_key_env;  /* NAME of the env var with the key, or NULL */
    const char *upstream_model;        /* replaces the request's "model", or NULL */
    int upstream_token_ids;            /* 1: also ask for token ids (vLLM
                                        * "return_tokens_as_token_ids" and
                                        * "return_token_ids": the transcript
                                        * gets "prompt_token_ids" too) */
    /* vLLM's "cache_salt" on every forwarded request (prefix-cache
     * isolation), or NULL: none.  Every forwarded request also carries
     * "X-Session-ID: <rollout id>" (docs/gate.md). */
    const char *upstream_cache_salt;
    /* Which calls the transcript tags "call_kind": "auxiliary" rather than
     * "agent" (an agent's title or summary calls besides its main loop;
     * the agent spec's "auxiliary", docs/gate.md): those for which every
     * condition set here holds.  None set: every call is "agent".  Any
     * responder kind. */
    int aux_no_tools;                  /* 1: the call offers no tools */
    int64_t aux_max_tokens_below;      /* > 0: it asks for fewer output tokens than this */
    const char *aux_system_prefix;     /* its first message is a system one starting with this */
    /* UPSTREAM: the API the upstream speaks (docs/gate-dialects.md,
     * "Same-dialect upstreams").  CORRAL_GATE_DIALECT_CHAT (0): every call
     * is translated to chat completions.  Another: a call in that dialect
     * is passed through as the agent's body (streaming too) to its route
     * under upstream_url; a call in any other dialect is refused (400). */
    int upstream_dialect;
};

/* The dialects of upstream_dialect. */
enum corral_gate_dialect {
    CORRAL_GATE_DIALECT_CHAT = 0,      /* OpenAI chat completions */
    CORRAL_GATE_DIALECT_MESSAGES = 1,  /* Anthropic Messages: /messages, x-api-key */
    CORRAL_GATE_DIALECT_RESPONSES = 2, /* OpenAI Responses: /responses, Bearer */
    CORRAL_GATE_DIALECT_GEMINI = 3     /* Gemini: /models/{m}:generateContent, x-goog-api-key */
};

/* The dialect named "chat", "messages", "responses" or "gemini" into
 * *out; 0, or CORRAL_EINVAL for another name. */
int corral_gate_dialect_parse(const char *name, int *out);

/* How to start a gate.  Caller-owned; read only during corral_gate_new().
 * Zero/NULL fields take the defaults given. */
struct corral_gate_options {
    size_t struct_size;
    const char *bind_address;          /* "127.0.0.1" */
    uint16_t port;                     /* 0: the OS picks one */
    const char *unix_socket_path;      /* also listen on this AF_UNIX path (created
                                        * 0600, replaced if a socket); NULL: none */
    size_t body_limit;                 /* bytes, 4 MiB; larger bodies get 413 */
    int64_t request_timeout_ms;        /* per-request deadline, 600000 */
    const unsigned char *secret;       /* server secret; NULL: 32 random bytes */
    size_t secret_len;                 /* >= 16 when secret is given */
    const char *model;                 /* model id for /v1/models and answers
                                        * to requests without one: "corral" */
    /* The HTTP trainer API (own listener, own bearer token).  Off unless
     * trainer_listen is 1. */
    int trainer_listen;
    const char *trainer_bind_address;  /* "127.0.0.1" */
    uint16_t trainer_port;             /* 0: the OS picks one */
    const char *trainer_token;         /* NULL: 32 random bytes, hex */
    /* When set, a call with a valid token for a rollout that is not
     * registered registers it with this responder (for a standalone gate
     * whose trainer derives tokens itself).  NULL: such calls get 401.
     * An id unregistered while this is set is never auto-registered again
     * (only corral_gate_register() brings it back). */
    const struct corral_gate_responder *auto_register;
    unsigned unix_socket_mode;         /* permissions of the unix socket: 0600 */
    unsigned max_connections;          /* per listener, open HTTP connections
                                        * (pending calls included): 2048 */
    unsigned threads;                  /* HTTP threads serving agents, per listener:
                                        * 0 = one per online CPU, at most 4 */
    /* Limits an agent cannot raise (0 = the default given).  One rollout
     * must not exhaust the memory or the connections of the others. */
    size_t transcript_limit;           /* bytes of requests and responses kept per
                                        * rollout: 32 MiB; past it an entry keeps
                                        * sizes only ("truncated": true) */
    unsigned rollout_connections;      /* calls of one rollout in progress at once
                                        * (per listener kind): 32; more get 429 */
    unsigned idle_timeout_s;           /* a connection that sends nothing for this
                                        * long is closed (slow headers or body,
                                        * idle keep-alive; not a call waiting for
                                        * its answer): 30 */
    unsigned upstream_max_n;           /* upstream: "n" above it is lowered to it: 1 */
    int64_t upstream_max_tokens;       /* upstream: "max_tokens" and
                                        * "max_completion_tokens" above it are
                                        * lowered to it; 0: 32768, < 0: no cap */
    unsigned socket_connections;       /* connections one rollout's own socket
                                        * (corral_gate_rollout_socket) holds open
                                        * at once, counted from accept, headers
                                        * sent or not: 64 */
    /* Remote nodes (docs/gate.md "Remote nodes"): a second bearer token of
     * the trainer listener (16+ characters) that may only register, renew
     * and drop the rollouts of `corral run --gate` nodes; NULL: none (the
     * trainer token is accepted on those routes too). */
    const char *registration_token;
    unsigned lease_s;                  /* a node's rollouts not renewed this long
                                        * are unregistered: 30 */
};

/* Start a gate: bind the listeners and start their threads.  On success
 * *out owns the gate (release with corral_gate_free()). */
int corral_gate_new(const struct corral_gate_options *options, corral_gate **out,
                    struct corral_call *call);

/* Fail every pending request (the agents get a 410, trainer long-polls a
 * 503), close the listeners,
 * remove the unix socket file, and free everything the gate owns. */
void corral_gate_free(corral_gate *gate);

/* The base URL of the TCP listener, "http://127.0.0.1:PORT" (no slash at
 * the end).  A rollout's OpenAI base URL is
 * "{base}/rollout/{id}/v1".  Owned by the gate. */
const char *corral_gate_url(const corral_gate *gate);
/* The TCP port the gate listens on. */
uint16_t corral_gate_port(const corral_gate *gate);
/* The trainer listener's base URL, or NULL when it is off.  Owned by the gate. */
const char *corral_gate_trainer_url(const corral_gate *gate);
/* The trainer API's bearer token (a secret: never log it), or NULL when
 * the trainer listener is off.  Owned by the gate. */
const char *corral_gate_trainer_token(const corral_gate *gate);

/* Characters a rollout id may contain: [A-Za-z0-9._:-], 1..128 of them. */
int corral_gate_rollout_id_valid(const char *rollout_id);

/* Write the rollout's bearer token (64 hex chars + NUL) into token_out.
 * Works for any valid id, registered or not.  Returns 0 or CORRAL_EINVAL. */
int corral_gate_token(const corral_gate *gate, const char *rollout_id, char token_out[65]);

/* Register a rollout and its responder (copied).  When token_out is not
 * NULL it receives the rollout's bearer token.  Fails with CORRAL_EEXIST if
 * the id is already registered, CORRAL_EINVAL on a bad id or responder
 * (e.g. an unreadable or malformed replay script). */
int corral_gate_register(corral_gate *gate, const char *rollout_id,
                         const struct corral_gate_responder *responder,
                         char token_out[65], struct corral_call *call);

/* Give registered rollout_id a unix socket of its own, next to the gate's
 * unix socket ("<that path without .sock>-<16 hex>.sock", same mode), for
 * its sandbox to reach the gate by: only that rollout's calls are served
 * on it (any other id in the path is 401, whatever the token), and it
 * holds at most socket_connections connections, counted from accept, so
 * an agent that opens many connections and sends nothing blocks its own
 * socket only, never the shared listeners or another rollout's socket.
 * The path goes to path_out (cap bytes, 108 are enough).  The socket is
 * closed and its file removed by corral_gate_unregister() and
 * corral_gate_free().  CORRAL_ENOTSUP when the gate has no unix socket,
 * CORRAL_ENOTFOUND when the rollout is not registered, CORRAL_EEXIST when
 * it has its socket already, CORRAL_EIO when it cannot be made. */
int corral_gate_rollout_socket(corral_gate *gate, const char *rollout_id, char *path_out, size_t cap,
                               struct corral_call *call);

/* Unregister a rollout: every pending request of it fails with a 410
 * (non-retryable) and everything the gate held for it is freed.  When
 * transcript_out is not NULL it receives the final transcript (as
 * corral_gate_transcript() describes; caller frees).  CORRAL_ENOTFOUND when
 * it was not registered. */
int corral_gate_unregister(corral_gate *gate, const char *rollout_id, char **transcript_out,
                           struct corral_call *call);

/* The rollout's model-call transcript as JSON text (malloc'ed, caller
 * frees): an array, one object per answered or failed call, in order:
 *   {"seq", "request_id", "request": <body as received> | null (a failed
 *    call, or past transcript_limit), "request_bytes",
 *    "truncated": true, "response_bytes" (past transcript_limit),
 *    "upstream_overrides": {"n": {"asked", "sent"}, ...} (upstream),
 *    "response": <what the agent got, as a chat.completion object> | null,
 *    "status": <HTTP status>, "error": "..." (when failed),
 *    "latency_ms", "stream", "call_kind": "agent" | "auxiliary",
 *    "policy_version": "..." (when one was set),
 *    "token_ids": [...], "logprobs": [...], "prompt_token_ids": [...]
 *    (when the responder gave them)}
 * and a last {"truncated": true, "dropped": N} when calls past the limit
 * were not recorded at all.
 * NULL when the rollout is not registered. */
char *corral_gate_transcript(corral_gate *gate, const char *rollout_id);

/* The number of calls waiting for an answer (any responder); *queued, when
 * not NULL, gets how many of them no trainer has taken yet. */
size_t corral_gate_pending(corral_gate *gate, size_t *queued);

/* ---- The trainer responder's C API ---------------------------------------- */

enum corral_gate_request_kind {
    CORRAL_GATE_REQUEST_MODEL = 0,     /* a model call */
    CORRAL_GATE_REQUEST_TOOL_CALL = 1  /* an MCP tools/call of a registered tool */
};

/* A request taken from the trainer queue.  Caller-owned after
 * corral_gate_next_request(); release with corral_gate_request_free().
 * Only the gate allocates it: fields are appended, never reordered. */
struct corral_gate_request {
    char id[33];          /* 128 random bits, hex: the handle for deliver() */
    char *rollout_id;
    char *body;           /* a model call: the normalized (chat completions) request JSON;
                           * a tool call: {"name": "...", "arguments": {...}} */
    int kind;             /* enum corral_gate_request_kind */
    const char *dialect;  /* static: "chat_completions", "messages", "responses", "gemini", "mcp" */
    char *raw_request;    /* another dialect's body as the agent sent it, or NULL */
};

/* Take the oldest queued request of any trainer-responder rollout, waiting
 * up to timeout_ms (0: do not wait, < 0: no limit).  A thread blocked here
 * returns CORRAL_ECANCELED when another thread calls corral_gate_free(),
 * which waits for it to leave.  Returns 0 with *out set, CORRAL_ETIMEDOUT when none came, or
 * CORRAL_ECANCELED when the gate is shutting down.  A taken request stays
 * pending until delivered or until its deadline. */
int corral_gate_next_request(corral_gate *gate, int64_t timeout_ms,
                             struct corral_gate_request **out, struct corral_call *call);
void corral_gate_request_free(struct corral_gate_request *request);

/* Answer a pending request with response_json: for a model call one of
 * the forms in the comment at the top; for a tool call an MCP tool result,
 * {"content": [{"type": "text", "text": "..."}, ...], "isError": false,
 * "structuredContent": {...}} ("isError" and "structuredContent"
 * optional) or the shorthand {"text": "...", "isError": false}.  Returns 0, CORRAL_ENOTFOUND when no such request is
 * pending (already answered, expired, unregistered), or CORRAL_EINVAL when
 * the response is malformed (the request stays pending). */
int corral_gate_deliver(corral_gate *gate, const char *request_id, const char *response_json,
                        struct corral_call *call);

/* ---- Tools over MCP (docs/gate.md "Tools over MCP") --------------------------
 *
 * Each rollout has an MCP endpoint (streamable HTTP, JSON answers, the
 * rollout's bearer token):  POST {base}/rollout/{id}/mcp.  Its tools are
 * the ones registered here; an agent's tools/call of one becomes a request
 * on the trainer queue (kind CORRAL_GATE_REQUEST_TOOL_CALL), answered with
 * corral_gate_deliver() like a model call, under the same deadline, pause
 * and unregister rules.  A rollout whose responder is not the trainer gets
 * an isError result naming why. */

/* Register a tool: for rollout_id only (NULL: every rollout; a rollout's
 * own tool shadows a global one of the same name), name 1-64 of
 * [A-Za-z0-9_-], description at most 8 KiB (NULL: none), input_schema_json
 * a JSON object (the tool's JSON Schema).  The strings are copied.  The
 * rollout need not be registered yet.  0, CORRAL_EINVAL, or CORRAL_EEXIST
 * when that rollout (or every rollout) has a tool of that name already. */
int corral_gate_add_tool(corral_gate *gate, const char *rollout_id, const char *name, const char *description,
                         const char *input_schema_json, struct corral_call *call);
/* Register the tools of a JSON text (len bytes, the caller's): one object
 * of POST /v1/tools' form {"name","description","input_schema",
 * "rollout_id"?} or an array of them, in order (`corral run
 * --trainer-tools FILE`).  0, or the first failure (CORRAL_EINVAL,
 * CORRAL_EEXIST) with the call's message naming the tool's index; the
 * tools before it stay registered. */
int corral_gate_add_tools_json(corral_gate *gate, const char *json, size_t len, struct corral_call *call);
/* Remove the tool name registered for rollout_id (NULL: the global one).
 * Calls of it already pending go on.  0 or CORRAL_ENOTFOUND. */
int corral_gate_remove_tool(corral_gate *gate, const char *rollout_id, const char *name, struct corral_call *call);

/* ---- Remote nodes: forwarding a local gate's trainer queue (gate_node.c) ---- */

/* Forwards every call queued for the trainer on a local gate to a central
 * gate's trainer listener (docs/gate.md "Remote nodes"). */
typedef struct corral_gate_node corral_gate_node;

/* Check `registration_token` against the central trainer API at
 * `central_url` (a refused token fails here, CORRAL_EPERM), then start
 * `workers` threads that take calls from `local`'s trainer queue, register
 * their rollouts centrally, forward them and deliver the answers, and one
 * thread that renews the node's lease.  The strings are copied; `local`
 * must outlive the node.  *out is the caller's: corral_gate_node_stop(). */
int corral_gate_node_start(corral_gate *local, const char *central_url, const char *registration_token,
                           unsigned workers, corral_gate_node **out, struct corral_call *call);
/* Stop the threads, drop this node's rollouts from the central gate (best
 * effort) and free the node.  NULL is a no-op. */
void corral_gate_node_stop(corral_gate_node *node);

/* ---- Policy versions and pausing (RL weight updates; docs/gate.md) ----------- */

/* Stamp `version` (1 to 128 printable ASCII characters; NULL: none) on
 * every call that reaches its responder from now on: its transcript entry
 * says "policy_version".  Calls already at their responder keep theirs.
 * Returns 0 or CORRAL_EINVAL. */
int corral_gate_set_policy_version(corral_gate *gate, const char *version, struct corral_call *call);

/* Pause the gate: calls arriving from now on wait, in arrival order,
 * without a deadline (the agent's connection simply stays open) until
 * corral_gate_resume(); calls already at their responder go on.  Pausing
 * a paused gate changes nothing.  Unregistering a rollout answers its
 * waiting calls 410, as corral_gate_free() does all of them. */
void corral_gate_pause(corral_gate *gate);

/* Resume: the waiting calls go to their responders in arrival order, each
 * with the current policy version and a full request deadline from now.
 * Returns how many were waiting. */
size_t corral_gate_resume(corral_gate *gate);

/* Whether the gate is paused, and (when held is not NULL) how many calls
 * wait for corral_gate_resume(). */
int corral_gate_paused(corral_gate *gate, size_t *held);

/* Remove the private gate directories (corral-gate-* under $TMPDIR or
 * /tmp, owned by this user) whose corral process is gone, named by their
 * owner file; one without an owner file goes once a minute old with a dead
 * socket.  dry_run: only report.  cb (may be NULL) gets each path.
 * Returns how many were (or would be) removed. */
typedef void (*corral_gate_dir_cb)(void *ud, const char *path);
int corral_gate_dirs_gc(int dry_run, corral_gate_dir_cb cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_GATE_H */
