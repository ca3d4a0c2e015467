/*
 * The per-rollout MCP endpoint (docs/gate.md "Tools over MCP"): MCP's
 * streamable HTTP transport answered with single JSON responses.
 *
 *   initialize       a new session (Mcp-Session-Id, random hex) on the
 *                    rollout; later messages must carry it (400 without,
 *                    404 for one that is unknown or ended)
 *   notifications    and client responses: 202, no body
 *   ping             {}
 *   tools/list       the tools the trainer registered (gate_tools.c)
 *   tools/call       a pending call on the trainer queue, answered by the
 *                    trainer's delivery like a model call
 *   DELETE           ends the session
 *
 * The transport checks (Origin, session, protocol version) come before
 * the body is parsed; batches are refused (-32600).  Sessions belong to
 * their rollout and end with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_scan.h"
#include "gate/gate_internal.h"

struct gate_mcp_session {
    struct gate_mcp_session *next;
    char id[33];
    const char *version;               /* negotiated, static */
};

void gate_mcp_sessions_free(struct gate_rollout *r)
{
    for (struct gate_mcp_session *s = r->mcp_sessions, *n; s; s = n) {
        n = s->next;
        free(s);
    }
    r->mcp_sessions = NULL;
}

static struct gate_mcp_session **session_find_locked(struct gate_rollout *r, const char *id)
{
    for (struct gate_mcp_session **pp = &r->mcp_sessions; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0)
            return pp;
    return NULL;
}

/* A new session at the head; past GATE_MCP_SESSIONS_MAX the oldest ends. */
static struct gate_mcp_session *session_new_locked(struct gate_rollout *r, const char *version)
{
    struct gate_mcp_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    gate_random_hex(s->id, 16);
    s->version = version;
    s->next = r->mcp_sessions;
    r->mcp_sessions = s;
    unsigned n = 0;
    for (struct gate_mcp_session **pp = &r->mcp_sessions; *pp; pp = &(*pp)->next)
        if (++n > GATE_MCP_SESSIONS_MAX) {
            free(*pp);
            *pp = NULL;
            break;
        }
    return s;
}

/* Answer st with body b (malloc'ed JSON; NULL: it could not be made, 503). */
static int answer(unsigned *status, char **body, unsigned st, char *b)
{
    *status = b ? st : 503;
    *body = b;
    return 0;
}

/* Answer st with no body. */
static int bare(unsigned *status, char **body, unsigned st)
{
    *status = st;
    *body = NULL;
    return 0;
}

static int rpc_error(unsigned *status, char **body, unsigned st, const char *id, int code, const char *message)
{
    return answer(status, body, st, gate_mcp_error_body(id, code, message, NULL));
}

static int rpc_result(unsigned *status, char **body, const char *id, cJSON *result)
{
    char *r = result ? cJSON_PrintUnformatted(result) : NULL;
    cJSON_Delete(result);
    char *b = r ? gate_mcp_result_body(id, r) : NULL;
    free(r);
    return answer(status, body, 200, b);
}

/* The InitializeResult for a client that asked for revision `asked`. */
static cJSON *initialize_result(const char *version)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "protocolVersion", version);
    cJSON *tools = cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "capabilities"), "tools");
    cJSON_AddFalseToObject(tools, "listChanged");
    cJSON *info = cJSON_AddObjectToObject(o, "serverInfo");
    cJSON_AddStringToObject(info, "name", "corral");
    cJSON_AddStringToObject(info, "version", CORRAL_VERSION_STRING);
    return o;
}

/* Answer tools/call c (set up, on the lock) with result (an MCP
 * CallToolResult as JSON text, taken over), recording it. */
static void answer_locked(struct corral_gate *g, struct gate_conn *c, char *result)
{
    char *body = gate_mcp_result_body(c->mcp_id, result);
    if (!body) {
        free(result);
        gate_fail_locked(g, c, 503, "corral gate: out of memory", "invalid_request_error", "out_of_memory");
        return;
    }
    gate_transcript_add_locked(c, 200, result, NULL, NULL);
    gate_complete_locked(g, c, 200, body, strlen(body), "application/json");
}

char *gate_mcp_fail_body(const struct gate_conn *c, unsigned status, const char *message, const char *code)
{
    (void)status;
    return gate_mcp_error_body(c->mcp_id, GATE_MCP_INTERNAL_ERROR, message, code);
}

/* tools/call on rollout r (locked): c becomes the call (recorded in the
 * transcript whatever its outcome, an unknown tool included).  Returns
 * what gate_mcp_serve returns. */
static int tools_call_locked(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c, const char *id,
                             struct gate_mcp_msg *m, const cJSON *remote, unsigned *status, char **body)
{
    char *name = NULL, *args = NULL, err[256];
    if (gate_mcp_call_params(m->params, &name, &args, err, sizeof err) != 0)
        return rpc_error(status, body, 200, m->id, GATE_MCP_INVALID_PARAMS, err);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "name", name);
    cJSON *a = cJSON_Parse(args);
    cJSON_AddItemToObject(req, "arguments", a ? a : cJSON_CreateObject());
    free(args);
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text) {
        free(name);
        return rpc_error(status, body, 503, m->id, GATE_MCP_INTERNAL_ERROR, "corral gate: out of memory");
    }
    free(c->buf);
    c->buf = text;
    c->len = c->cap = strlen(text);
    c->kind = GC_CHAT;
    c->dialect = GATE_DIALECT_MCP;
    c->tool_name = name;
    c->mcp_id = m->id;
    m->id = NULL;
    gate_random_hex(c->id, 16);
    snprintf(c->rollout_id, sizeof c->rollout_id, "%s", id);
    c->rollout = r;
    c->seq = ++r->seq;
    c->t_start = gate_now_ms();
    if (!gate_tool_visible_locked(g, id, name, remote)) { /* recorded too: the agent asked for it */
        snprintf(err, sizeof err, "Unknown tool: %.*s", gate_utf8_prec(name, 64), name);
        char *b = gate_mcp_error_body(c->mcp_id, GATE_MCP_INVALID_PARAMS, err, NULL);
        gate_transcript_add_locked(c, 200, NULL, err, NULL);
        gate_complete_locked(g, c, b ? 200 : 503, b, b ? strlen(b) : 0, "application/json");
    } else if (r->ops == &gate_trainer_ops) {
        gate_dispatch_locked(g, r, c);
    } else {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "corral gate: tool %s has no handler: this rollout's calls are answered by its %s responder, "
                 "not a trainer",
                 name, r->ops->name);
        char *result = gate_mcp_text_result(msg, 1);
        if (result)
            answer_locked(g, c, result);
        else
            gate_fail_locked(g, c, 503, "corral gate: out of memory", "invalid_request_error", "out_of_memory");
    }
    return 1;
}

/* An Origin header a local client may send: "null", or a loopback host
 * (localhost, 127.0.0.1, [::1]) over http or https, any port. */
static int origin_local(const char *o)
{
    if (strcmp(o, "null") == 0)
        return 1;
    if (strncmp(o, "http://", 7) == 0)
        o += 7;
    else if (strncmp(o, "https://", 8) == 0)
        o += 8;
    else
        return 0;
    static const char *const hosts[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
        size_t n = strlen(hosts[i]);
        if (strncmp(o, hosts[i], n) == 0 && (o[n] == 0 || o[n] == ':' || o[n] == '/'))
            return 1;
    }
    return 0;
}

/* DELETE: end the session named. */
static int serve_delete(struct corral_gate *g, const char *id, const struct gate_mcp_http *h, unsigned *status,
                        char **body)
{
    if (!h->session)
        return rpc_error(status, body, 400, NULL, GATE_MCP_INVALID_REQUEST,
                         "Bad Request: DELETE needs the Mcp-Session-Id header");
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, id);
    struct gate_mcp_session **pp = r ? session_find_locked(r, h->session) : NULL;
    struct gate_mcp_session *s = pp ? *pp : NULL;
    if (s)
        *pp = s->next;
    pthread_mutex_unlock(&g->lock);
    free(s);
    if (!r)
        return bare(status, body, 401);
    if (!s)
        return rpc_error(status, body, 404, NULL, GATE_MCP_INVALID_REQUEST, "Session not found");
    return bare(status, body, 200);
}

int gate_mcp_serve(struct corral_gate *g, struct gate_conn *c, const char *id, const struct gate_mcp_http *h,
                   unsigned *status, char **body, char session_out[33])
{
    session_out[0] = 0;
    *body = NULL;
    pthread_mutex_lock(&g->lock); /* as on the model routes: nothing is said of a body for no rollout */
    int known = gate_rollout_find_locked(g, id) != NULL || g->has_auto;
    pthread_mutex_unlock(&g->lock);
    if (!known)
        return bare(status, body, 401);
    if (h->origin && !origin_local(h->origin)) /* DNS rebinding: no remote page reaches a rollout's tools */
        return rpc_error(status, body, 403, NULL, GATE_MCP_INVALID_REQUEST,
                         "Forbidden: the gate's MCP endpoint serves no browser origin");
    if (strcmp(h->method, "DELETE") == 0)
        return serve_delete(g, id, h, status, body);
    char err[256];
    if (h->version && !gate_mcp_version(h->version)) {
        snprintf(err, sizeof err, "Bad Request: unsupported MCP-Protocol-Version %.32s", h->version);
        return rpc_error(status, body, 400, NULL, GATE_MCP_INVALID_REQUEST, err);
    }
    struct gate_mcp_msg m;
    int prc = gate_mcp_parse(c->buf, c->len, &m, err, sizeof err);
    if (prc) {
        rpc_error(status, body, prc == GATE_MCP_INTERNAL_ERROR ? 503 : 400, m.id, prc, err);
        gate_mcp_msg_clear(&m);
        return 0;
    }
    /* A node's agents see its central gate's tools too: asked before the
     * lock (an HTTP round trip, cached by the node). */
    cJSON *remote = m.kind == GATE_MCP_REQUEST && h->session &&
                            (strcmp(m.method, "tools/list") == 0 || strcmp(m.method, "tools/call") == 0)
                        ? gate_tools_remote(g, id)
                        : NULL;
    int rc = 0;
    struct gate_rollout *r = gate_rollout_get_and_lock(g, id); /* returns locked */
    if (!r || g->stopping) {
        bare(status, body, 401);
    } else if (m.kind == GATE_MCP_REQUEST && strcmp(m.method, "initialize") == 0) {
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(m.params, "protocolVersion");
        const char *v = cJSON_IsString(pv) ? gate_mcp_version(pv->valuestring) : NULL;
        struct gate_mcp_session *s = session_new_locked(r, v ? v : GATE_MCP_LATEST);
        if (s) {
            memcpy(session_out, s->id, 33);
            rpc_result(status, body, m.id, initialize_result(s->version));
        } else {
            rpc_error(status, body, 503, m.id, GATE_MCP_INTERNAL_ERROR, "corral gate: out of memory");
        }
    } else if (!h->session) {
        rpc_error(status, body, 400, m.id, GATE_MCP_INVALID_REQUEST,
                  "Bad Request: Mcp-Session-Id header is required (send initialize first)");
    } else if (!session_find_locked(r, h->session)) {
        rpc_error(status, body, 404, m.id, GATE_MCP_INVALID_REQUEST,
                  "Session not found: send initialize again, without Mcp-Session-Id");
    } else if (m.kind != GATE_MCP_REQUEST) {
        bare(status, body, 202);
    } else if (strcmp(m.method, "ping") == 0) {
        rpc_result(status, body, m.id, cJSON_CreateObject());
    } else if (strcmp(m.method, "tools/list") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON *tools = gate_tools_list_locked(g, id, remote);
        if (!tools) {
            cJSON_Delete(o);
            o = NULL;
        }
        cJSON_AddItemToObject(o, "tools", tools);
        rpc_result(status, body, m.id, o);
    } else if (strcmp(m.method, "tools/call") == 0) {
        rc = tools_call_locked(g, r, c, id, &m, remote, status, body);
    } else {
        snprintf(err, sizeof err, "Method not found: %.*s", gate_utf8_prec(m.method, 64), m.method);
        rpc_error(status, body, 200, m.id, GATE_MCP_METHOD_NOT_FOUND, err);
    }
    gate_unlock(g);
    gate_mcp_msg_clear(&m);
    cJSON_Delete(remote);
    return rc;
}

/* An error answer {"error":{"message","status","code"?}} for pending
 * tools/call request_id: it fails with that status (a JSON-RPC error
 * whose data.code is code).  Returns what gate_mcp_deliver returns. */
static int deliver_error(struct corral_gate *g, const char *request_id, const cJSON *j, char *err, size_t errlen)
{
    struct gate_completion comp;
    if (gate_completion_from_json(j, &comp, err, errlen) != 0)
        return CORRAL_EINVAL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, request_id);
    int rc = 0;
    if (!c || c->dialect != GATE_DIALECT_MCP || (c->state != GS_CLAIMED && c->state != GS_QUEUED)) {
        pthread_mutex_unlock(&g->lock);
        snprintf(err, errlen, "no pending request with that id (answered, expired or unregistered)");
        rc = CORRAL_ENOTFOUND;
    } else {
        gate_fail_locked(g, c, (unsigned)comp.error_status, comp.error_message, comp.error_type,
                         cJSON_IsString(code) && code->valuestring[0] ? code->valuestring : NULL);
        gate_unlock(g);
    }
    gate_completion_clear(&comp);
    return rc;
}

int gate_mcp_deliver(struct corral_gate *g, const char *request_id, const char *json, size_t len, char *err,
                     size_t errlen)
{
    cJSON *j = json && crl_json_scan(json, len, NULL, NULL) ? gate_json_parse_exact(json, len) : NULL;
    if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
        int rc = deliver_error(g, request_id, j, err, errlen);
        cJSON_Delete(j);
        return rc;
    }
    cJSON_Delete(j);
    char *result = gate_mcp_result_normalize(json, len, err, errlen);
    if (!result)
        return strcmp(err, "out of memory") == 0 ? CORRAL_ENOMEM : CORRAL_EINVAL;
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, request_id);
    if (!c || c->dialect != GATE_DIALECT_MCP || (c->state != GS_CLAIMED && c->state != GS_QUEUED)) {
        pthread_mutex_unlock(&g->lock);
        free(result);
        snprintf(err, errlen, "no pending request with that id (answered, expired or unregistered)");
        return CORRAL_ENOTFOUND;
    }
    answer_locked(g, c, result);
    gate_unlock(g);
    return 0;
}
