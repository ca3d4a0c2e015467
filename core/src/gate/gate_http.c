/*
 * The gate's HTTP surface (libmicrohttpd callbacks).
 *
 * Agent listener (TCP and the optional unix socket):
 *   POST /rollout/{id}/v1/chat/completions
 *   POST /rollout/{id}/v1/messages               Anthropic Messages (docs/gate-dialects.md)
 *   POST /rollout/{id}/v1/messages/count_tokens  an estimate, answered by the gate
 *   POST /rollout/{id}/v1/responses              OpenAI Responses (docs/gate-dialects.md)
 *   POST /rollout/{id}/v1beta/models/{m}:generateContent        Gemini (docs/gate-dialects.md;
 *   POST /rollout/{id}/v1beta/models/{m}:streamGenerateContent   also under /v1/)
 *   POST /rollout/{id}/v1beta/models/{m}:countTokens            an estimate, answered by the gate
 *   GET  /rollout/{id}/v1/models
 *   POST /rollout/{id}/mcp                       MCP, streamable HTTP (gate_mcp.c; DELETE ends
 *                                                a session, GET is 405)
 * Trainer listener (own port, own bearer token):
 *   GET    /v1/requests/next?timeout=S   long-poll: 200 {"id","rollout_id","kind","request"} or 204
 *                                        (+ "dialect", "raw_request" for another dialect;
 *                                        "kind": "model", or "tool_call" for an MCP tools/call)
 *   POST   /v1/requests/{id}/response    body: a response (gate.h forms) -> 200 / 400 / 404
 *   POST   /v1/rollouts/{id}             register (the gate's auto responder, else trainer)
 *                                        -> 201 {"rollout_id","token","base_url"}
 *   DELETE /v1/rollouts/{id}             unregister -> 200 {"rollout_id","transcript":[...]}
 *   GET    /v1/rollouts/{id}/transcript  -> 200 [...]
 *   GET    /v1/health                    -> 200 {"status":"ok","rollouts","pending","queued",
 *                                                  "paused","held","policy_version"}
 *   POST   /v1/policy_version            {"version": "..." | null} -> 200 {"policy_version"} / 400
 *   POST   /v1/pause                     -> 200 {"paused":true,"held":N}
 *   POST   /v1/resume                    -> 200 {"paused":false,"released":N}
 *   POST   /v1/tools                     register an MCP tool -> 201 / 400 / 409 (gate_tools.c)
 *   GET    /v1/tools[?rollout_id=R]      -> 200 {"tools":[...]}
 *   DELETE /v1/tools/{name}[?rollout_id=R] -> 200 / 404
 *
 * Order of checks on the agent side: route shape (404), method (405),
 * body limit (413), token for the id in the path (401), rollout lookup
 * (the same 401), JSON (400).  The 401 body never says which check failed.
 * A Messages route answers its errors in Anthropic's shape and takes the
 * token from x-api-key as well as from Authorization: Bearer; a Responses
 * route answers in OpenAI's shape with "param"; a Gemini route answers in
 * Google's shape and takes the token from x-goog-api-key or ?key=.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "gate/gate_internal.h"
#include "gate/gate_aux.h"
#include "gate/gate_node_path.h"

static const char UNAUTHORIZED[] =
    "{\"error\":{\"message\":\"invalid token or unknown rollout\",\"type\":\"invalid_request_error\","
    "\"code\":\"unauthorized\"}}";

static const char UNAUTHORIZED_MESSAGES[] =
    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
    "\"message\":\"invalid token or unknown rollout\"}}";

static const char UNAUTHORIZED_RESPONSES[] =
    "{\"error\":{\"message\":\"invalid token or unknown rollout\",\"type\":\"invalid_request_error\","
    "\"param\":null,\"code\":\"invalid_api_key\"}}";

static const char UNAUTHORIZED_GEMINI[] =
    "{\"error\":{\"code\":401,\"message\":\"invalid token or unknown rollout\",\"status\":\"UNAUTHENTICATED\"}}";

/* What a route of the agent listener is. */
enum agent_route {
    ROUTE_NONE = 0,
    ROUTE_CHAT,            /* POST chat/completions */
    ROUTE_MESSAGES,        /* POST messages */
    ROUTE_COUNT_TOKENS,    /* POST messages/count_tokens */
    ROUTE_RESPONSES,       /* POST responses */
    ROUTE_MODELS,          /* GET models */
    ROUTE_GEMINI,          /* POST models/{m}:generateContent */
    ROUTE_GEMINI_STREAM,   /* POST models/{m}:streamGenerateContent */
    ROUTE_GEMINI_COUNT,    /* POST models/{m}:countTokens */
    ROUTE_MCP              /* POST, DELETE /rollout/{id}/mcp */
};

/* "models/{m}:{method}", a Gemini route: its kind, and m in model[0..mlen)
 * when model is not NULL (ROUTE_NONE when it does not fit). */
static enum agent_route gemini_route(const char *rest, char *model, size_t mlen)
{
    if (strncmp(rest, "models/", 7) != 0)
        return ROUTE_NONE;
    const char *m = rest + 7, *colon = strchr(m, ':');
    if (!colon || colon == m || memchr(m, '/', (size_t)(colon - m)))
        return ROUTE_NONE;
    if (model) {
        if ((size_t)(colon - m) >= mlen)
            return ROUTE_NONE;
        memcpy(model, m, (size_t)(colon - m));
        model[colon - m] = 0;
    }
    if (strcmp(colon + 1, "generateContent") == 0)
        return ROUTE_GEMINI;
    if (strcmp(colon + 1, "streamGenerateContent") == 0)
        return ROUTE_GEMINI_STREAM;
    if (strcmp(colon + 1, "countTokens") == 0)
        return ROUTE_GEMINI_COUNT;
    return ROUTE_NONE;
}

static enum agent_route route_of(const char *rest)
{
    if (!rest)
        return ROUTE_NONE;
    if (strncmp(rest, "v1beta/", 7) == 0) /* split_rollout_path: only Gemini lives there */
        return gemini_route(rest + 7, NULL, 0);
    if (strncmp(rest, "models/", 7) == 0)
        return gemini_route(rest, NULL, 0);
    if (strcmp(rest, "chat/completions") == 0)
        return ROUTE_CHAT;
    if (strcmp(rest, "messages") == 0)
        return ROUTE_MESSAGES;
    if (strcmp(rest, "messages/count_tokens") == 0)
        return ROUTE_COUNT_TOKENS;
    if (strcmp(rest, "models") == 0)
        return ROUTE_MODELS;
    if (strcmp(rest, "responses") == 0)
        return ROUTE_RESPONSES;
    if (strcmp(rest, "/mcp") == 0) /* split_rollout_path: "/rollout/{id}/mcp" */
        return ROUTE_MCP;
    return ROUTE_NONE;
}

static int route_is_messages(enum agent_route r)
{
    return r == ROUTE_MESSAGES || r == ROUTE_COUNT_TOKENS;
}

static int route_is_gemini(enum agent_route r)
{
    return r == ROUTE_GEMINI || r == ROUTE_GEMINI_STREAM || r == ROUTE_GEMINI_COUNT;
}

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                                const char *type)
{
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (type && len)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (type && strcmp(type, "text/event-stream") == 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_static(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg, const char *code)
{
    char *b = gate_error_body(msg, "invalid_request_error", code);
    return send_buf(conn, status, b, b ? strlen(b) : 0, "application/json");
}

/* An error in the route's dialect: Anthropic's shape on a Messages route. */
static enum MHD_Result send_route_error(struct MHD_Connection *conn, enum agent_route route, unsigned status,
                                        const char *msg, const char *code)
{
    if (route == ROUTE_RESPONSES) {
        char *b = gate_responses_error_body(status, msg, NULL, code);
        return send_buf(conn, status, b, b ? strlen(b) : 0, "application/json");
    }
    if (!route_is_messages(route) && !route_is_gemini(route))
        return send_error(conn, status, msg, code);
    char *b = route_is_gemini(route) ? gate_gemini_error_body(status, msg)
                                     : gate_messages_error_body(status, msg, NULL);
    return send_buf(conn, status, b, b ? strlen(b) : 0, "application/json");
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *conn, enum agent_route route)
{
    return send_static(conn, MHD_HTTP_UNAUTHORIZED,
                       route == ROUTE_RESPONSES   ? UNAUTHORIZED_RESPONSES
                       : route_is_messages(route) ? UNAUTHORIZED_MESSAGES
                       : route_is_gemini(route)   ? UNAUTHORIZED_GEMINI
                                                  : UNAUTHORIZED);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_buf(conn, status, s, s ? strlen(s) : 0, "application/json");
}

static enum MHD_Result send_stored(struct gate_conn *c)
{
    if (c->stream) { /* a same-dialect upstream's stream, relayed as it arrives */
        struct gate_stream *s = c->stream;
        c->stream = NULL;
        return gate_stream_send(s, c->conn, c->resp_status, c->resp_type);
    }
    char *b = c->resp_body;
    c->resp_body = NULL;
    return send_buf(c->conn, c->resp_status, b, c->resp_len, c->resp_type);
}

/* The connection's gate_sock, or NULL. */
static struct gate_sock *sock_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void gate_http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct corral_gate *g = cls;
    struct gate_sock *s = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(s = calloc(1, sizeof *s)))
            return; /* not watched: the idle timeout still applies */
        s->fd = ci->connect_fd;
        s->waiting = 1;
        s->since_ms = gate_now_ms();
        pthread_mutex_lock(&g->lock);
        s->next = g->socks;
        if (g->socks)
            g->socks->prev = s;
        g->socks = s;
        pthread_mutex_unlock(&g->lock);
        *socket_context = s;
    } else if (s) { /* closed: MHD closes the fd after this returns */
        pthread_mutex_lock(&g->lock);
        if (s->prev)
            s->prev->next = s->next;
        else
            g->socks = s->next;
        if (s->next)
            s->next->prev = s->prev;
        pthread_mutex_unlock(&g->lock);
        free(s);
        *socket_context = NULL;
    }
}

void gate_socks_reap_locked(struct corral_gate *g, int64_t now, int64_t *next_ms)
{
    int64_t limit = (int64_t)g->idle_timeout_s * 1000;
    for (struct gate_sock *s = g->socks; s; s = s->next) {
        if (!s->waiting)
            continue;
        if (s->since_ms + limit <= now) {
            shutdown(s->fd, SHUT_RDWR); /* MHD sees the end and closes it; the fd is still its own */
            s->waiting = 0;
        } else if (s->since_ms + limit < *next_ms) {
            *next_ms = s->since_ms + limit;
        }
    }
}

/* A request's headers are in (waiting = 0) or it ended (the next one's
 * header time starts). */
static void sock_mark(struct corral_gate *g, struct MHD_Connection *conn, int waiting)
{
    struct gate_sock *s = sock_of(conn);
    if (!s)
        return;
    pthread_mutex_lock(&g->lock);
    s->waiting = waiting;
    s->since_ms = gate_now_ms();
    pthread_mutex_unlock(&g->lock);
}

void gate_http_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct corral_gate *g = cls;
    struct gate_conn *c = *req_cls;
    sock_mark(g, conn, 1);
    if (!c)
        return;
    *req_cls = NULL;
    pthread_mutex_lock(&g->lock);
    gate_conn_unlink_locked(g, c); /* only if MHD dropped it while pending */
    if (c->counted)
        gate_load_put_locked(g, c->rollout_id);
    g->live--;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    gate_chat_request_clear(&c->req);
    free(c->buf);
    free(c->raw);
    gate_resp_ns_clear(&c->resp_ns);
    free(c->mcp_id);
    free(c->tool_name);
    free(c->overrides);
    free(c->resp_body);
    if (c->stream)
        gate_stream_drop(c->stream);
    free(c);
}

/* First call for a request: allocate its state.  Returns NULL on OOM. */
static struct gate_conn *conn_new(struct corral_gate *g, struct MHD_Connection *conn)
{
    struct gate_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->gate = g;
    c->conn = conn;
    pthread_mutex_lock(&g->lock);
    g->live++;
    pthread_mutex_unlock(&g->lock);
    return c;
}

/* Accumulate the body up to c->limit; beyond it, drop and remember. */
static void take_upload(struct gate_conn *c, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (c->too_large)
        return;
    if (c->len + n > c->limit) {
        c->too_large = 1;
        free(c->buf);
        c->buf = NULL;
        c->len = c->cap = 0;
        return;
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) {
            c->too_large = 1; /* answered as 413: we cannot hold it */
            free(c->buf);
            c->buf = NULL;
            c->len = c->cap = 0;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = 0;
}

/* Common start of both handlers; `limit` is the listener's body limit.
 * Returns 1 when the caller should return *rc now (headers-only first
 * call, or an upload chunk). */
static int request_prologue(struct corral_gate *g, struct MHD_Connection *conn, size_t limit, enum agent_route route,
                            const char *upload_data, size_t *upload_data_size, void **req_cls, enum MHD_Result *rc)
{
    struct gate_conn *c = *req_cls;
    if (!c) {
        sock_mark(g, conn, 0);
        c = conn_new(g, conn);
        if (!c) {
            *rc = MHD_NO;
            return 1;
        }
        *req_cls = c;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        c->limit = limit;
        if (cl && strtoull(cl, NULL, 10) > limit) {
            /* Refuse before reading the body; MHD closes the connection. */
            c->too_large = 1;
            char m[128];
            snprintf(m, sizeof m, "request body larger than the gate's limit (%zu bytes)", limit);
            *rc = send_route_error(conn, route, 413, m, "body_too_large");
            return 1;
        }
        if (cl && strtoull(cl, NULL, 10) > 0) { /* one buffer of the right size, not a doubling series */
            size_t want = (size_t)strtoull(cl, NULL, 10) + 1;
            c->buf = malloc(want);
            c->cap = c->buf ? want : 0;
        }
        *rc = MHD_YES;
        return 1;
    }
    if (*upload_data_size) {
        take_upload(c, upload_data, upload_data_size);
        *rc = MHD_YES;
        return 1;
    }
    return 0;
}

/* Park c (already on a gate list, state set) until someone answers it.
 * Returns the result for MHD. */
static enum MHD_Result park(struct corral_gate *g, struct gate_conn *c)
{
    MHD_suspend_connection(c->conn);
    pthread_mutex_lock(&g->lock);
    int done = c->state == GS_DONE;
    if (!done)
        c->suspended = 1;
    pthread_mutex_unlock(&g->lock);
    if (done) /* answered while we were suspending it */
        MHD_resume_connection(c->conn);
    return MHD_YES;
}

/* "/rollout/{id}/v1/<rest>": copies id, returns rest ("chat/completions");
 * "/rollout/{id}/v1beta/<rest>" returns "v1beta/<rest>", "/rollout/{id}/mcp"
 * returns "/mcp"; NULL when the
 * path has another shape. */
static const char *split_rollout_path(const char *url, char *id, size_t idlen)
{
    static const char pre[] = "/rollout/";
    if (strncmp(url, pre, sizeof pre - 1) != 0)
        return NULL;
    const char *s = url + sizeof pre - 1;
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || (size_t)(slash - s) >= idlen)
        return NULL;
    memcpy(id, s, (size_t)(slash - s));
    id[slash - s] = 0;
    if (strncmp(slash, "/v1beta/", 8) == 0)
        return slash + 1; /* "v1beta/...": route_of knows */
    if (strcmp(slash, "/mcp") == 0)
        return slash; /* "/mcp": route_of knows */
    if (strncmp(slash, "/v1/", 4) != 0)
        return NULL;
    return slash + 4;
}

static enum MHD_Result models_answer(struct corral_gate *g, struct MHD_Connection *conn)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", g->model);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "corral");
    cJSON_AddItemToArray(data, m);
    return send_json(conn, 200, o);
}

/* Whether a call for rollout id with Authorization header auth may be
 * served on listener l: the token is id's, and on a rollout's own socket
 * id is that rollout (a call for another rollout is the same 401, whatever
 * its token).  The token is checked either way, so the time taken does
 * not say which. */
static int agent_authorized(const struct gate_listener *l, const char *id, const char *auth)
{
    int ok = gate_check_token(l->gate, id, auth);
    return ok && (!l->rollout_id || strcmp(l->rollout_id, id) == 0);
}

/* agent_authorized() with the route's headers: Authorization, and on a
 * Messages route also x-api-key (Anthropic clients send the key there,
 * the auth token in Authorization), on a Gemini route x-goog-api-key or
 * the ?key= query argument.  Both are checked when both are present, so
 * the time taken does not say which one was right. */
static int route_authorized(const struct gate_listener *l, struct MHD_Connection *conn, enum agent_route route,
                            const char *id)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    int ok = agent_authorized(l, id, auth);
    const char *key = route_is_messages(route) ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key")
                                               : NULL;
    if (route_is_gemini(route)) {
        key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-goog-api-key");
        if (!key)
            key = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key");
    }
    if (key) {
        char bearer[7 + GATE_TOKEN_HEX + 1] = "Bearer ";
        size_t n = strlen(key);
        if (n == GATE_TOKEN_HEX)
            memcpy(bearer + 7, key, n + 1);
        ok |= agent_authorized(l, id, n == GATE_TOKEN_HEX ? bearer : NULL);
        OPENSSL_cleanse(bearer, sizeof bearer);
    }
    return ok;
}

/* The first call of an agent request, once its headers are in: a request
 * for a rollout with a valid token takes one of that rollout's connection
 * slots before its body is read, so one agent holding many connections
 * (or sending bodies slowly) uses up its own slots, never the others'.
 * A wrong token is refused before the body is read (nothing is spent on
 * it).  Returns 1 with *rc set when the request is answered now. */
static int agent_headers(const struct gate_listener *l, struct gate_conn *c, const char *url, const char *method,
                         enum MHD_Result *rc)
{
    struct corral_gate *g = l->gate;
    char id[130];
    enum agent_route route = route_of(split_rollout_path(url, id, sizeof id));
    int is_call = (route == ROUTE_CHAT || route == ROUTE_RESPONSES || route_is_messages(route) ||
                   route_is_gemini(route) || route == ROUTE_MCP) &&
                  strcmp(method, "POST") == 0;
    if (!is_call || c->too_large)
        return 0; /* answered by the usual checks */
    if (!route_authorized(l, c->conn, route, id)) {
        *rc = send_unauthorized(c->conn, route);
        return 1;
    }
    pthread_mutex_lock(&g->lock);
    int full = gate_load_take_locked(g, id) != 0;
    if (!full) {
        c->counted = 1;
        snprintf(c->rollout_id, sizeof c->rollout_id, "%s", id);
    }
    pthread_mutex_unlock(&g->lock);
    if (full) {
        char m[160];
        snprintf(m, sizeof m, "corral gate: this rollout already has %u calls in progress", g->rollout_connections);
        *rc = send_route_error(c->conn, route, 429, m, "too_many_connections");
        return 1;
    }
    return 0;
}

/* Translate a Messages, Responses or Gemini call's body into the
 * normalized chat request: c->raw keeps the agent's body, c->buf the chat
 * request.  0, or the parse's error with its message in err. */
static int dialect_normalize(struct gate_conn *c, const char *rest, enum agent_route route, char *err,
                             size_t errlen)
{
    size_t n = 0;
    char *chat = NULL;
    if (c->dialect == GATE_DIALECT_GEMINI) {
        char model[256];
        if (gemini_route(strncmp(rest, "v1beta/", 7) == 0 ? rest + 7 : rest, model, sizeof model) == ROUTE_NONE)
            return gate_tr_fail(err, errlen, "the model name in the path is too long");
        chat = gate_gemini_normalize(c->buf, c->len, model, route == ROUTE_GEMINI_STREAM, &c->req, &n, err, errlen);
    } else {
        chat = c->dialect == GATE_DIALECT_RESPONSES ? gate_responses_normalize(c->buf, c->len, &c->resp_ns, &c->req, &n, err, errlen)
                                                    : gate_messages_normalize(c->buf, c->len, &c->req, &n, err, errlen);
    }
    if (!chat)
        return strcmp(err, "out of memory") == 0 ? CORRAL_ENOMEM : CORRAL_EINVAL;
    c->raw = c->buf;
    c->raw_len = c->len;
    c->buf = chat;
    c->len = c->cap = n;
    return 0;
}

/* count_tokens: {"input_tokens": N}, N estimated from the normalized
 * request's size (docs/gate-dialects.md); nothing is recorded. */
static enum MHD_Result count_tokens_answer(struct gate_conn *c, enum agent_route route)
{
    char *b = malloc(64);
    if (!b)
        return send_route_error(c->conn, route, 503, "corral gate: out of memory", NULL);
    int n = snprintf(b, 64, c->dialect == GATE_DIALECT_GEMINI ? "{\"totalTokens\":%lld}" : "{\"input_tokens\":%lld}",
                     gate_messages_estimate_tokens(c->len));
    return send_buf(c->conn, 200, b, (size_t)n, "application/json");
}

/* An authorized MCP request (gate_mcp.c answers it). */
static enum MHD_Result mcp_answer(struct corral_gate *g, struct gate_conn *c, const char *id, const char *method)
{
    struct MHD_Connection *conn = c->conn;
    struct gate_mcp_http h = {
        .method = method,
        .session = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id"),
        .version = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "MCP-Protocol-Version"),
        .origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
    };
    unsigned status = 0;
    char *body = NULL, session[33];
    if (gate_mcp_serve(g, c, id, &h, &status, &body, session) == 1) {
        pthread_mutex_lock(&g->lock); /* a node's worker may be answering it already */
        int done = c->state == GS_DONE;
        pthread_mutex_unlock(&g->lock);
        return done ? send_stored(c) : park(g, c);
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        return send_unauthorized(conn, ROUTE_MCP);
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (body)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (session[0])
        MHD_add_response_header(r, "Mcp-Session-Id", session);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result gate_http_agent(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **req_cls)
{
    (void)version;
    const struct gate_listener *l = cls;
    struct corral_gate *g = l->gate;
    enum MHD_Result rc;
    int first = *req_cls == NULL;
    char id[130];
    const char *rest = split_rollout_path(url, id, sizeof id);
    enum agent_route route = route_of(rest);
    if (request_prologue(g, conn, g->body_limit, route, upload_data, upload_data_size, req_cls, &rc)) {
        if (first && rc == MHD_YES && *req_cls)
            agent_headers(l, *req_cls, url, method, &rc);
        return rc;
    }
    struct gate_conn *c = *req_cls;
    if (c->state == GS_DONE)
        return send_stored(c);
    if (c->state != GS_RECEIVING)
        return send_route_error(conn, route, 500, "corral gate: internal state error", NULL);

    if (route == ROUTE_NONE)
        return send_error(conn, 404,
                          "not found: the gate serves /rollout/{id}/v1/chat/completions, /rollout/{id}/v1/messages "
                          "and /rollout/{id}/v1/responses",
                          "not_found");
    if (strcmp(method, route == ROUTE_MODELS ? "GET" : "POST") != 0 &&
        !(route == ROUTE_MCP && strcmp(method, "DELETE") == 0))
        return send_route_error(conn, route, 405, "method not allowed", "method_not_allowed");
    if (c->too_large) {
        char m[128];
        snprintf(m, sizeof m, "request body larger than the gate's limit (%zu bytes)", g->body_limit);
        return send_route_error(conn, route, 413, m, "body_too_large");
    }
    if (!route_authorized(l, conn, route, id))
        return send_unauthorized(conn, route);
    if (__atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE))
        return send_route_error(conn, route, 410, "corral gate: shutting down", "gate_shutdown");
    if (route == ROUTE_MCP)
        return mcp_answer(g, c, id, method);
    if (route == ROUTE_MODELS) {
        pthread_mutex_lock(&g->lock);
        int known = gate_rollout_find_locked(g, id) != NULL || g->has_auto;
        pthread_mutex_unlock(&g->lock);
        if (!known)
            return send_static(conn, MHD_HTTP_UNAUTHORIZED, UNAUTHORIZED);
        return models_answer(g, conn);
    }

    char err[256];
    c->dialect = route_is_messages(route)   ? GATE_DIALECT_MESSAGES
                 : route == ROUTE_RESPONSES ? GATE_DIALECT_RESPONSES
                 : route_is_gemini(route)   ? GATE_DIALECT_GEMINI
                                            : GATE_DIALECT_CHAT;
    /* A dialect's normalized request is the gate's own output: its fields
     * are read from the tree it was printed from, not scanned again. */
    int prc = c->dialect != GATE_DIALECT_CHAT ? dialect_normalize(c, rest, route, err, sizeof err)
                                              : gate_parse_chat_request(c->buf, c->len, &c->req, err, sizeof err);
    if (prc != 0 || route == ROUTE_COUNT_TOKENS || route == ROUTE_GEMINI_COUNT) {
        /* The rollout must exist before we say anything about the body. */
        pthread_mutex_lock(&g->lock);
        int known = gate_rollout_find_locked(g, id) != NULL;
        pthread_mutex_unlock(&g->lock);
        if (!known && !g->has_auto)
            return send_unauthorized(conn, route);
        if (prc == CORRAL_ENOMEM) /* ours, and passing: the agent may retry */
            return send_route_error(conn, route, 503, "corral gate: out of memory", "out_of_memory");
        if (prc != 0)
            return send_route_error(conn, route, 400, err, "invalid_request");
        return count_tokens_answer(c, route);
    }

    struct gate_rollout *r = gate_rollout_get_and_lock(g, id); /* returns locked */
    if (!r || g->stopping) {
        pthread_mutex_unlock(&g->lock);
        return send_unauthorized(conn, route);
    }
    c->kind = GC_CHAT;
    gate_random_hex(c->id, 16);
    snprintf(c->rollout_id, sizeof c->rollout_id, "%s", id);
    c->rollout = r;
    c->seq = ++r->seq;
    c->auxiliary = gate_call_is_auxiliary(&r->aux, &c->req);
    /* A remote node forwarding its call wants the chat form, which its own
     * gate renders for its agent (docs/gate.md "Remote nodes"). */
    const char *form = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Corral-Answer-Form");
    c->answer_chat = r->node[0] && form && strcmp(form, "chat") == 0;
    c->t_start = gate_now_ms();
    gate_dispatch_locked(g, r, c);
    if (c->state == GS_DONE) {
        gate_unlock(g);
        return send_stored(c);
    }
    gate_unlock(g);
    return park(g, c);
}

/* ---- trainer listener -------------------------------------------------------- */

/* 2: the trainer token, 1: the registration token (remote nodes' routes
 * only), 0: neither. */
static int trainer_auth(struct corral_gate *g, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    const char *want[2] = {g->trainer_token, g->registration_token};
    for (int i = 0; i < 2; i++)
        if (want[i] && strlen(h) == strlen(want[i]) && CRYPTO_memcmp(h, want[i], strlen(h)) == 0)
            return 2 - i;
    return 0;
}

/* The long-poll answer for queued call q: the normalized (chat) request,
 * and for another dialect its name and the agent's own body. */
static char *request_envelope(const struct gate_conn *q, size_t *len)
{
    size_t n = q->len + q->raw_len + strlen(q->rollout_id) + 200;
    char *s = malloc(n);
    if (!s)
        return NULL;
    int k = snprintf(s, n, "{\"id\":\"%s\",\"rollout_id\":\"%s\",\"kind\":\"%s\",\"request\":%.*s", q->id,
                     q->rollout_id, q->dialect == GATE_DIALECT_MCP ? "tool_call" : "model", (int)q->len,
                     q->buf ? q->buf : "null");
    if (q->raw)
        k += snprintf(s + k, n - (size_t)k, ",\"dialect\":\"%s\",\"raw_request\":%.*s", gate_dialect_name(q->dialect),
                      (int)q->raw_len, q->raw);
    k += snprintf(s + k, n - (size_t)k, "}");
    *len = (size_t)k;
    return s;
}

void gate_waiters_dispatch_locked(struct corral_gate *g)
{
    while (g->waiters && g->q_head) {
        struct gate_conn *w = g->waiters;
        struct gate_conn *q = gate_queue_pop_locked(g);
        size_t len = 0;
        char *body = request_envelope(q, &len);
        if (!body) {
            gate_complete_locked(g, w, 503, NULL, 0, "application/json");
            q->state = GS_QUEUED; /* back to the head, nothing lost */
            q->q_next = g->q_head;
            g->q_head = q;
            if (!g->q_tail)
                g->q_tail = q;
            return;
        }
        gate_complete_locked(g, w, 200, body, len, "application/json");
    }
}

static enum MHD_Result trainer_next(struct corral_gate *g, struct gate_conn *c, struct MHD_Connection *conn)
{
    const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "timeout");
    double secs = t ? crl_strtod_c(t, NULL) : 30.0;
    if (!(secs >= 0))
        secs = 0;
    int64_t wait_ms = (int64_t)(secs * 1000.0);
    if (wait_ms > GATE_TRAINER_MAX_WAIT_MS)
        wait_ms = GATE_TRAINER_MAX_WAIT_MS;
    pthread_mutex_lock(&g->lock);
    struct gate_conn *q = gate_queue_pop_locked(g);
    if (q) {
        size_t len = 0;
        char *body = request_envelope(q, &len);
        if (!body) {
            q->state = GS_QUEUED;
            q->q_next = g->q_head;
            g->q_head = q;
            if (!g->q_tail)
                g->q_tail = q;
        }
        pthread_mutex_unlock(&g->lock);
        return body ? send_buf(conn, 200, body, len, "application/json")
                    : send_error(conn, 503, "out of memory", NULL);
    }
    if (wait_ms == 0 || g->stopping) {
        pthread_mutex_unlock(&g->lock);
        return send_buf(conn, 204, NULL, 0, NULL);
    }
    c->kind = GC_TRAINER_WAIT;
    c->state = GS_WAITING;
    c->deadline = gate_now_ms() + wait_ms;
    c->prev = NULL;
    c->next = g->waiters;
    if (g->waiters)
        g->waiters->prev = c;
    g->waiters = c;
    c->listed = 1;
    gate_timer_kick_locked(g);
    pthread_mutex_unlock(&g->lock);
    return park(g, c);
}

/* POST /v1/rollouts/ID, or a remote node's registration (node: its id,
 * the rollout then leased to it; NULL: the trainer's).  The body (c's
 * upload; empty or an object) may carry the "auxiliary" rule. */
static enum MHD_Result trainer_register(struct corral_gate *g, struct gate_conn *c, struct MHD_Connection *conn,
                                        const char *id, const char *node)
{
    struct corral_gate_responder spec = {.struct_size = sizeof spec, .kind = CORRAL_GATE_TRAINER};
    if (g->has_auto)
        spec = g->auto_spec;
    char why[256];
    cJSON *b = c->buf && c->len ? gate_json_parse_exact(c->buf, c->len) : NULL;
    const cJSON *aux = cJSON_GetObjectItemCaseSensitive(b, "auxiliary");
    int bad = c->buf && c->len && !cJSON_IsObject(b)
                  ? snprintf(why, sizeof why, "the registration body must be a JSON object (or empty)")
                  : aux && crl_gate_aux_parse(aux, &spec, why, sizeof why) != 0;
    if (bad) {
        cJSON_Delete(b);
        return send_error(conn, 400, why, "invalid_request");
    }
    struct corral_call call;
    memset(&call, 0, sizeof call);
    char token[65];
    int rc = corral_gate_register(g, id, &spec, token, &call);
    cJSON_Delete(b);
    if (rc == CORRAL_EEXIST)
        return send_error(conn, 409, "rollout already registered", "exists");
    if (rc)
        return send_error(conn, 400, call.message, "invalid_request");
    if (node)
        gate_lease_set(g, id, node);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "rollout_id", id);
    cJSON_AddStringToObject(o, "token", token);
    size_t n = strlen(g->url) + strlen(id) + 16;
    char *base = malloc(n);
    if (base) {
        snprintf(base, n, "%s/rollout/%s/v1", g->url, id);
        cJSON_AddStringToObject(o, "base_url", base);
        free(base);
    }
    OPENSSL_cleanse(token, sizeof token);
    return send_json(conn, 201, o);
}

/* The remote nodes' routes (docs/gate.md "Remote nodes"), url past
 * "/v1/nodes/": NODE/heartbeat, NODE/rollouts/ID (POST, DELETE). */
static enum MHD_Result node_route(struct corral_gate *g, struct gate_conn *c, struct MHD_Connection *conn,
                                  const char *url, int post, int del)
{
    char node[GATE_NODE_ID_MAX + 1], id[GATE_NODE_ROLLOUT_MAX + 1];
    int kind = gate_node_path_parse(url, node, id);
    if (kind == GATE_NODE_PATH_BAD_NODE)
        return send_error(conn, 400, "node ids are 1-64 of [A-Za-z0-9._-]", "invalid_request");
    if (kind == GATE_NODE_PATH_HEARTBEAT && post) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rollouts", (double)gate_lease_renew(g, node));
        cJSON_AddNumberToObject(o, "lease_seconds", (double)(g->lease_ms / 1000));
        gate_lease_take_drops(g, node, o);
        return send_json(conn, 200, o);
    }
    if (kind != GATE_NODE_PATH_ROLLOUT)
        return send_error(conn, 404, "not found", "not_found");
    if (post)
        return trainer_register(g, c, conn, id, node);
    if (del) {
        if (!gate_lease_owned(g, id, node))
            return send_error(conn, 404, "no such rollout of this node", "not_found");
        corral_gate_unregister(g, id, NULL, NULL);
        return send_static(conn, 200, "{\"ok\":true}");
    }
    return send_error(conn, 404, "not found", "not_found");
}

static enum MHD_Result trainer_unregister(struct corral_gate *g, struct MHD_Connection *conn, const char *id)
{
    struct corral_call call;
    memset(&call, 0, sizeof call);
    char *tr = NULL;
    gate_lease_note_drop(g, id);
    if (corral_gate_unregister(g, id, &tr, &call) != 0)
        return send_error(conn, 404, "no such rollout", "not_found");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "rollout_id", id);
    cJSON *t = tr ? cJSON_Parse(tr) : NULL;
    free(tr);
    cJSON_AddItemToObject(o, "transcript", t ? t : cJSON_CreateArray());
    return send_json(conn, 200, o);
}

/* POST /v1/policy_version {"version": "..." | null}. */
static enum MHD_Result trainer_policy_version(struct corral_gate *g, struct gate_conn *c, struct MHD_Connection *conn)
{
    cJSON *b = c->buf ? gate_json_parse_exact(c->buf, c->len) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "version");
    int rc = CORRAL_EINVAL;
    if (cJSON_IsString(v) || cJSON_IsNull(v))
        rc = corral_gate_set_policy_version(g, cJSON_IsString(v) ? v->valuestring : NULL, NULL);
    cJSON *o = NULL;
    if (rc == 0) {
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "policy_version", cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
                                                                       : cJSON_CreateNull());
    }
    cJSON_Delete(b);
    if (rc)
        return send_error(conn, 400, "the body must be {\"version\": \"1 to 128 printable ASCII characters\" | null}",
                          "invalid_request");
    return send_json(conn, 200, o);
}

enum MHD_Result gate_http_trainer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    struct corral_gate *g = ((const struct gate_listener *)cls)->gate;
    enum MHD_Result rc;
    /* The trainer is the operator's: its answers (long completions with
     * logprobs) may be larger than any agent request. */
    if (request_prologue(g, conn, g->body_limit > GATE_TRAINER_BODY_LIMIT ? g->body_limit : GATE_TRAINER_BODY_LIMIT,
                         ROUTE_NONE, upload_data, upload_data_size, req_cls, &rc))
        return rc;
    struct gate_conn *c = *req_cls;
    if (c->state == GS_DONE)
        return send_stored(c);
    int auth = trainer_auth(g, conn);
    static const char node_pre[] = "/v1/nodes/";
    int node_url = strncmp(url, node_pre, sizeof node_pre - 1) == 0;
    if (!auth || (auth == 1 && !node_url))
        return send_static(conn, MHD_HTTP_UNAUTHORIZED, UNAUTHORIZED);
    if (c->too_large)
        return send_error(conn, 413, "request body too large", "body_too_large");
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
    if (node_url)
        return node_route(g, c, conn, url + sizeof node_pre - 1, post, del);

    if (strcmp(url, "/v1/health") == 0 && get) {
        pthread_mutex_lock(&g->lock);
        size_t pending = 0, queued = 0;
        for (struct gate_conn *p = g->pending; p; p = p->next)
            pending++;
        for (struct gate_conn *q = g->q_head; q; q = q->q_next)
            queued++;
        size_t n = g->n_rollouts;
        char version[GATE_VERSION_MAX + 1];
        memcpy(version, g->policy_version, sizeof version);
        pthread_mutex_unlock(&g->lock);
        size_t held;
        int paused = corral_gate_paused(g, &held);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddNumberToObject(o, "rollouts", (double)n);
        cJSON_AddNumberToObject(o, "pending", (double)pending);
        cJSON_AddNumberToObject(o, "queued", (double)queued);
        cJSON_AddBoolToObject(o, "paused", paused);
        cJSON_AddNumberToObject(o, "held", (double)held);
        if (version[0])
            cJSON_AddStringToObject(o, "policy_version", version);
        else
            cJSON_AddNullToObject(o, "policy_version");
        return send_json(conn, 200, o);
    }
    if (post && (strcmp(url, "/v1/pause") == 0 || strcmp(url, "/v1/resume") == 0)) {
        cJSON *o = cJSON_CreateObject();
        if (url[4] == 'p') {
            corral_gate_pause(g);
            size_t held;
            corral_gate_paused(g, &held);
            cJSON_AddTrueToObject(o, "paused");
            cJSON_AddNumberToObject(o, "held", (double)held);
        } else {
            cJSON_AddFalseToObject(o, "paused");
            cJSON_AddNumberToObject(o, "released", (double)corral_gate_resume(g));
        }
        return send_json(conn, 200, o);
    }
    if (post && strcmp(url, "/v1/policy_version") == 0)
        return trainer_policy_version(g, c, conn);
    if (strcmp(url, "/v1/requests/next") == 0 && get)
        return trainer_next(g, c, conn);
    if (strncmp(url, "/v1/tools", 9) == 0 && (url[9] == 0 || url[9] == '/')) {
        char *out = NULL;
        unsigned st = gate_tools_trainer(g, method, url + 9,
                                         MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "rollout_id"),
                                         c->buf, c->len, &out);
        return send_buf(conn, st, out, out ? strlen(out) : 0, "application/json");
    }

    static const char req_pre[] = "/v1/requests/";
    if (strncmp(url, req_pre, sizeof req_pre - 1) == 0 && post) {
        const char *id = url + sizeof req_pre - 1;
        const char *slash = strchr(id, '/');
        if (!slash || strcmp(slash, "/response") != 0 || slash - id != 32)
            return send_error(conn, 404, "not found", "not_found");
        char rid[33];
        memcpy(rid, id, 32);
        rid[32] = 0;
        char err[256];
        int drc = gate_deliver(g, rid, c->buf ? c->buf : "", c->len, err, sizeof err);
        if (drc == CORRAL_ENOTFOUND)
            return send_error(conn, 404, err, "not_found");
        if (drc)
            return send_error(conn, 400, err, "invalid_response");
        return send_static(conn, 200, "{\"ok\":true}");
    }

    static const char ro_pre[] = "/v1/rollouts/";
    if (strncmp(url, ro_pre, sizeof ro_pre - 1) == 0) {
        char id[130];
        const char *s = url + sizeof ro_pre - 1;
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        if (n == 0 || n >= sizeof id)
            return send_error(conn, 404, "not found", "not_found");
        memcpy(id, s, n);
        id[n] = 0;
        if (!slash && post)
            return trainer_register(g, c, conn, id, NULL);
        if (!slash && del)
            return trainer_unregister(g, conn, id);
        if (slash && strcmp(slash, "/transcript") == 0 && get) {
            char *t = corral_gate_transcript(g, id);
            if (!t)
                return send_error(conn, 404, "no such rollout", "not_found");
            return send_buf(conn, 200, t, strlen(t), "application/json");
        }
    }
    return send_error(conn, 404, "not found", "not_found");
}
