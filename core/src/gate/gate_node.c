/* A remote node of a central gate (`corral run --gate URL`): the calls
 * its sandboxes make reach the local gate's trainer queue; worker threads
 * take them, register their rollout on the central gate (once each), send
 * them there as an agent would and deliver the answers; one thread renews
 * the node's lease.  Protocol: docs/gate.md "Remote nodes". */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <corral/gate.h>

#include "base/internal.h"
#include "gate/gate_internal.h"
#include "crl_common.h"

#define NODE_MAX_WORKERS 256
#define NODE_TOOLS_TTL_MS 2000 /* how long a rollout's central tools are cached */

struct node_rollout {
    struct node_rollout *next;
    char *id;
    char *base_url;
    char token[65];
    int dropped;                 /* (lock) the trainer unregistered it centrally */
    char session[33];            /* (lock) its MCP session on the central gate, "" none */
    cJSON *tools;                /* (lock) its central MCP tools, cached, or NULL */
    int64_t tools_at;            /* (lock) when they were fetched (gate_now_ms) */
};

struct corral_gate_node {
    corral_gate *local;
    char *url;                   /* the central trainer API */
    char auth[160];              /* "Authorization: Bearer <registration token>" */
    char node[65];
    unsigned lease_s;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;                    /* (lock) */
    struct node_rollout *rollouts; /* (lock) registered centrally */
    pthread_t *workers, heart;
    unsigned n_workers;
    int heart_started;
};

/* One request to the central gate (extra, extra2: more headers, or NULL;
 * extra2 only after extra); resp is the caller's to free. */
static int central(struct corral_gate_node *nd, const char *method, const char *url, const char *auth,
                   const char *extra, const char *extra2, const char *body, struct corral_http_response *resp,
                   struct corral_call *call)
{
    const char *headers[] = {auth, "Content-Type: application/json", extra, extra2, NULL};
    struct corral_http_request rq = {.struct_size = sizeof rq, .method = method, .url = url, .headers = headers,
                                     .body = body, .body_len = body ? strlen(body) : 0, .max_attempts = 3};
    (void)nd;
    resp->struct_size = sizeof *resp;
    return crl_http(&rq, resp, call);
}

/* Copy the base URL and the bearer header of rollout id (registered
 * entry r) into the caller's buffers, under nd->lock: heart() may free r. */
static void copy_out(const struct node_rollout *r, char url[1024], char auth[128])
{
    snprintf(url, 1024, "%s", r->base_url);
    snprintf(auth, 128, "Authorization: Bearer %s", r->token);
}

/* The central base URL and bearer header of rollout id into the caller's
 * buffers, registering it on first use.  Returns 0, 1 when the trainer
 * dropped that rollout centrally, or -1 with err set. */
static int rollout_of(struct corral_gate_node *nd, const char *id, char url_out[1024], char auth_out[128], char *err,
                      size_t cap)
{
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout *r = nd->rollouts; r; r = r->next)
        if (strcmp(r->id, id) == 0) {
            int dropped = r->dropped;
            copy_out(r, url_out, auth_out);
            pthread_mutex_unlock(&nd->lock);
            return dropped;
        }
    pthread_mutex_unlock(&nd->lock);
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/nodes/%s/rollouts/%s", nd->url, nd->node, id);
    struct corral_http_response resp;
    struct corral_call call;
    corral_call_init(&call, 30000);
    int rc = central(nd, "POST", url, nd->auth, NULL, NULL, "{}", &resp, &call);
    cJSON *o = rc == 0 && resp.status == 201 && resp.body ? cJSON_Parse(resp.body) : NULL;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "token");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(o, "base_url");
    struct node_rollout *r = NULL;
    if (cJSON_IsString(tok) && cJSON_IsString(base) && strlen(tok->valuestring) < sizeof r->token) {
        r = calloc(1, sizeof *r);
        if (r) {
            r->id = strdup(id);
            r->base_url = strdup(base->valuestring);
            snprintf(r->token, sizeof r->token, "%s", tok->valuestring);
        }
        if (r && (!r->id || !r->base_url)) {
            free(r->id);
            free(r->base_url);
            free(r);
            r = NULL;
        }
    }
    if (r) {
        pthread_mutex_lock(&nd->lock);
        copy_out(r, url_out, auth_out);
        r->next = nd->rollouts;
        nd->rollouts = r;
        pthread_mutex_unlock(&nd->lock);
    } else if (rc == 0 && resp.status == 409) {
        /* Another worker may have registered it meanwhile (parallel calls). */
        pthread_mutex_lock(&nd->lock);
        for (struct node_rollout *e = nd->rollouts; e && !r; e = e->next)
            if (strcmp(e->id, id) == 0) {
                copy_out(e, url_out, auth_out);
                r = e;
            }
        pthread_mutex_unlock(&nd->lock);
        if (!r)
            snprintf(err, cap, "the central gate refused rollout %s (HTTP 409): that id is registered already", id);
    } else if (rc) {
        snprintf(err, cap, "cannot register rollout %s on the central gate: %.300s", id, call.message);
    } else {
        snprintf(err, cap, "the central gate refused rollout %s (HTTP %ld)", id, resp.status);
    }
    cJSON_Delete(o);
    crl_http_response_free(&resp);
    return r ? 0 : -1;
}

/* Deliver an error answer (the agent gets it as its call's error, with
 * HTTP status, 400..599). */
static void deliver_error(struct corral_gate_node *nd, const char *rid, const char *msg, long status)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddNumberToObject(e, "status", (double)status);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    corral_log(CORRAL_LOG_WARN, "gate", "%s", msg);
    if (s)
        corral_gate_deliver(nd->local, rid, s, NULL);
    free(s);
}

/* Mark rollout id dropped by the trainer: its later calls fail 410 here. */
static void mark_dropped(struct corral_gate_node *nd, const char *id)
{
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout *r = nd->rollouts; r; r = r->next)
        if (strcmp(r->id, id) == 0)
            r->dropped = 1;
    pthread_mutex_unlock(&nd->lock);
}

/* The central route of queued call q under base (its rollout's base URL):
 * the route of q's own dialect, so the central gate queues the same
 * request, dialect and raw body as a local call's.  Gemini's model and
 * streaming come from the normalized request (its path's). */
static void route_url(const struct corral_gate_request *q, const char *base, char *url, size_t cap)
{
    if (!q->raw_request || strcmp(q->dialect, "chat_completions") == 0) {
        snprintf(url, cap, "%s/chat/completions", base);
    } else if (strcmp(q->dialect, "gemini") == 0) {
        cJSON *b = cJSON_Parse(q->body);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(b, "model");
        snprintf(url, cap, "%s/models/%s:%s", base, cJSON_IsString(m) ? m->valuestring : "model",
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "stream")) ? "streamGenerateContent?alt=sse"
                                                                            : "generateContent");
        cJSON_Delete(b);
    } else {
        snprintf(url, cap, "%s/%s", base, q->dialect);
    }
}

/* Rollout id's MCP session on the central gate into sess ("" none). */
static void session_get(struct corral_gate_node *nd, const char *id, char sess[33])
{
    sess[0] = 0;
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout *r = nd->rollouts; r; r = r->next)
        if (strcmp(r->id, id) == 0)
            memcpy(sess, r->session, 33);
    pthread_mutex_unlock(&nd->lock);
}

/* Make rollout id's session sess ("": none) if it is still old. */
static void session_set(struct corral_gate_node *nd, const char *id, const char *old, const char *sess)
{
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout *r = nd->rollouts; r; r = r->next)
        if (strcmp(r->id, id) == 0 && strcmp(r->session, old) == 0)
            snprintf(r->session, sizeof r->session, "%s", sess);
    pthread_mutex_unlock(&nd->lock);
}

/* 1 when s is 32 hex digits (a session id the central gate hands out). */
static int session_valid(const char *s)
{
    size_t n = strspn(s, "0123456789abcdefABCDEF");
    return n == 32 && s[n] == 0;
}

/* POST JSON-RPC message msg to rollout id's MCP endpoint on the central
 * gate with the rollout's token, as an agent there would: the rollout is
 * registered and a session opened on first use (opened again, once, when
 * the central gate no longer knows the session).  timeout_ms 0: none.
 * Returns 0 with the answer in resp (the caller frees it), 1 when the
 * trainer dropped the rollout, -1 with err set. */
static int mcp_post(struct corral_gate_node *nd, const char *id, const char *msg, int64_t timeout_ms,
                    struct corral_http_response *resp, char *err, size_t cap)
{
    static const char *const init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                                    "\"protocolVersion\":\"" GATE_MCP_LATEST "\",\"capabilities\":{},"
                                    "\"clientInfo\":{\"name\":\"corral-node\",\"version\":\"" CORRAL_VERSION_STRING
                                    "\"}}}";
    char base[1024], auth[128], url[1100], sess[33], hdr[64];
    memset(resp, 0, sizeof *resp);
    int rc = rollout_of(nd, id, base, auth, err, cap);
    if (rc) {
        OPENSSL_cleanse(auth, sizeof auth);
        return rc;
    }
    size_t bl = strlen(base); /* base_url is {central}/rollout/{id}/v1; MCP is at {central}/rollout/{id}/mcp */
    if (bl >= 3 && strcmp(base + bl - 3, "/v1") == 0)
        base[bl - 3] = 0;
    snprintf(url, sizeof url, "%s/mcp", base);
    rc = -1;
    for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
        struct corral_call call;
        corral_call_init(&call, timeout_ms);
        session_get(nd, id, sess);
        if (!sess[0]) {
            struct corral_http_response ir;
            int hr = central(nd, "POST", url, auth, NULL, NULL, init, &ir, &call);
            int ok = hr == 0 && ir.status == 200 && crl_http_header_value(ir.headers, "Mcp-Session-Id", sess, sizeof sess) &&
                     session_valid(sess);
            if (!ok)
                snprintf(err, cap, "corral gate node: the central gate did not open an MCP session for rollout %s: %.300s",
                         id, hr ? call.message : "no valid Mcp-Session-Id in its answer");
            crl_http_response_free(&ir);
            if (!ok)
                break;
            session_set(nd, id, "", sess);
        }
        snprintf(hdr, sizeof hdr, "Mcp-Session-Id: %s", sess);
        if (central(nd, "POST", url, auth, hdr, NULL, msg, resp, &call) != 0) {
            snprintf(err, cap, "corral gate node: the central gate did not answer: %.400s", call.message);
            crl_http_response_free(resp);
            break;
        }
        if (resp->status == 404 && attempt == 0) { /* the session ended there: open another */
            session_set(nd, id, sess, "");
            crl_http_response_free(resp);
            continue;
        }
        rc = 0;
    }
    OPENSSL_cleanse(auth, sizeof auth);
    return rc;
}

/* The local gate's source of central tools (gate_tools_set_remote): the
 * MCP tools the central gate shows rollout id, cached NODE_TOOLS_TTL_MS.
 * A new array, the caller's; NULL when the central gate gives none. */
static cJSON *node_tools(void *ctx, const char *id)
{
    struct corral_gate_node *nd = ctx;
    int64_t now = gate_now_ms();
    cJSON *tools = NULL;
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout *r = nd->rollouts; r; r = r->next)
        if (strcmp(r->id, id) == 0 && r->tools && (now - r->tools_at < NODE_TOOLS_TTL_MS || r->dropped))
            tools = cJSON_Duplicate(r->tools, 1); /* a dropped rollout keeps its last: its calls get 410 */
    pthread_mutex_unlock(&nd->lock);
    if (tools)
        return tools;
    char err[512];
    struct corral_http_response resp;
    int rc = mcp_post(nd, id, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", 10000, &resp, err,
                      sizeof err);
    if (rc == 0)
        tools = resp.status == 200 && resp.body ? gate_mcp_tools_from_answer(resp.body, resp.body_len) : NULL;
    if (rc == 0 && !tools)
        corral_log(CORRAL_LOG_WARN, "gate", "the central gate answered HTTP %ld to tools/list of rollout %s",
                   resp.status, id);
    else if (rc < 0)
        corral_log(CORRAL_LOG_WARN, "gate", "%s", err);
    crl_http_response_free(&resp);
    if (tools) {
        pthread_mutex_lock(&nd->lock);
        for (struct node_rollout *r = nd->rollouts; r; r = r->next)
            if (strcmp(r->id, id) == 0) {
                cJSON_Delete(r->tools);
                r->tools = cJSON_Duplicate(tools, 1);
                r->tools_at = now;
            }
        pthread_mutex_unlock(&nd->lock);
    }
    return tools;
}

/* Forward queued tools/call q ({"name","arguments"}) to its rollout's MCP
 * endpoint on the central gate, where it is a tool call on the trainer
 * queue like a local one, and deliver the answer: the trainer's result,
 * or the central gate's error with its status (410 marks the rollout
 * dropped, as for model calls). */
static void forward_tool(struct corral_gate_node *nd, const struct corral_gate_request *q)
{
    char err[512];
    size_t n = strlen(q->body) + 64;
    char *msg = malloc(n);
    if (!msg) {
        deliver_error(nd, q->id, "corral gate node: out of memory", 503);
        return;
    }
    snprintf(msg, n, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":%s}", q->body);
    struct corral_http_response resp;
    int rc = mcp_post(nd, q->rollout_id, msg, 0, &resp, err, sizeof err);
    free(msg);
    if (rc != 0) {
        if (rc == 1)
            deliver_error(nd, q->id, "corral gate node: the trainer ended this rollout", 410);
        else
            deliver_error(nd, q->id, err, 502);
        return;
    }
    if (resp.status == 410)
        mark_dropped(nd, q->rollout_id);
    char *text = resp.body ? gate_mcp_answer_relay(resp.status, resp.body, resp.body_len) : NULL;
    if (!text || corral_gate_deliver(nd->local, q->id, text, NULL) != 0) {
        snprintf(err, sizeof err, "corral gate node: the central gate answered HTTP %ld to a tool call", resp.status);
        deliver_error(nd, q->id, err, resp.status >= 400 && resp.status <= 599 ? resp.status : 502);
    }
    free(text);
    crl_http_response_free(&resp);
}

/* Forward one queued call to the central gate as its agent sent it (the
 * raw body of its dialect, streaming flag and all) with
 * "X-Corral-Answer-Form: chat": the central gate answers an unstreamed
 * chat completion, which the local gate renders in the agent's dialect. */
static void forward(struct corral_gate_node *nd, const struct corral_gate_request *q)
{
    char err[512], base[1024], url[1200], auth[128];
    if (q->kind == CORRAL_GATE_REQUEST_TOOL_CALL) {
        forward_tool(nd, q);
        return;
    }
    int rc = rollout_of(nd, q->rollout_id, base, auth, err, sizeof err);
    if (rc != 0) {
        OPENSSL_cleanse(auth, sizeof auth);
        if (rc == 1)
            deliver_error(nd, q->id, "corral gate node: the trainer ended this rollout", 410);
        else
            deliver_error(nd, q->id, err, 502);
        return;
    }
    route_url(q, base, url, sizeof url);
    struct corral_http_response resp;
    struct corral_call call;
    corral_call_init(&call, 0);
    rc = central(nd, "POST", url, auth, "X-Corral-Answer-Form: chat", NULL,
                 q->raw_request ? q->raw_request : q->body, &resp, &call);
    OPENSSL_cleanse(auth, sizeof auth);
    if (rc) {
        snprintf(err, sizeof err, "corral gate node: the central gate did not answer: %.400s", call.message);
        deliver_error(nd, q->id, err, 502);
        return;
    }
    if (resp.status == 200 && resp.body && corral_gate_deliver(nd->local, q->id, resp.body, NULL) == 0) {
        crl_http_response_free(&resp);
        return;
    }
    /* An error answer ({"error":{..}}) passes through with its status; a
     * 410 means the trainer ended the rollout: so do its later calls. */
    if (resp.status == 410)
        mark_dropped(nd, q->rollout_id);
    cJSON *o = resp.body ? cJSON_Parse(resp.body) : NULL;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    long st = resp.status >= 400 && resp.status <= 599 ? resp.status : 502;
    if (cJSON_IsObject(e) && !cJSON_GetObjectItemCaseSensitive(e, "status"))
        cJSON_AddNumberToObject(e, "status", (double)st);
    char *text = cJSON_IsObject(e) ? cJSON_PrintUnformatted(o) : NULL;
    if (!text || corral_gate_deliver(nd->local, q->id, text, NULL) != 0) {
        snprintf(err, sizeof err, "corral gate node: the central gate answered HTTP %ld", resp.status);
        deliver_error(nd, q->id, err, st);
    }
    free(text);
    cJSON_Delete(o);
    crl_http_response_free(&resp);
}

static int stopping(struct corral_gate_node *nd)
{
    pthread_mutex_lock(&nd->lock);
    int s = nd->stop;
    pthread_mutex_unlock(&nd->lock);
    return s;
}

static void *worker(void *arg)
{
    struct corral_gate_node *nd = arg;
    while (!stopping(nd)) {
        struct corral_gate_request *q = NULL;
        int rc = corral_gate_next_request(nd->local, 500, &q, NULL);
        if (rc == CORRAL_ECANCELED)
            break;
        if (rc == 0 && q) {
            forward(nd, q);
            corral_gate_request_free(q);
        }
    }
    return NULL;
}

/* POST NODE/heartbeat; 0 with the lease length, or the HTTP status / -1. */
static long heartbeat(struct corral_gate_node *nd, struct corral_call *call)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/nodes/%s/heartbeat", nd->url, nd->node);
    struct corral_http_response resp;
    int rc = central(nd, "POST", url, nd->auth, NULL, NULL, "{}", &resp, call);
    long st = rc ? -1 : resp.status == 200 ? 0 : resp.status;
    if (st == 0) {
        cJSON *o = resp.body ? cJSON_Parse(resp.body) : NULL;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "lease_seconds");
        if (cJSON_IsNumber(l) && l->valuedouble >= 1 && l->valuedouble < 86400)
            nd->lease_s = (unsigned)l->valuedouble;
        const cJSON *d = NULL;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(o, "dropped"))
            if (cJSON_IsString(d))
                mark_dropped(nd, d->valuestring);
        cJSON_Delete(o);
    }
    crl_http_response_free(&resp);
    return st;
}

/* DELETE rollout r on the central gate (best effort) and free it. */
static void drop_central(struct corral_gate_node *nd, struct node_rollout *r)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/nodes/%s/rollouts/%s", nd->url, nd->node, r->id);
    struct corral_http_response resp = {0};
    struct corral_call call;
    corral_call_init(&call, 5000);
    if (!r->dropped) /* else gone centrally already */
        central(nd, "DELETE", url, nd->auth, NULL, NULL, NULL, &resp, &call);
    crl_http_response_free(&resp);
    free(r->id);
    free(r->base_url);
    cJSON_Delete(r->tools);
    OPENSSL_cleanse(r->token, sizeof r->token);
    free(r);
}

/* Drop from the central gate the rollouts that ended here (no longer
 * registered on the local gate), so it does not keep them until the node
 * stops. */
static void drop_ended(struct corral_gate_node *nd)
{
    struct node_rollout *ended = NULL;
    pthread_mutex_lock(&nd->lock);
    for (struct node_rollout **pp = &nd->rollouts; *pp;) {
        struct node_rollout *r = *pp;
        pthread_mutex_lock(&nd->local->lock);
        int live = gate_rollout_find_locked(nd->local, r->id) != NULL;
        pthread_mutex_unlock(&nd->local->lock);
        if (live) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        r->next = ended;
        ended = r;
    }
    pthread_mutex_unlock(&nd->lock);
    for (struct node_rollout *r = ended, *n; r; r = n) {
        n = r->next;
        drop_central(nd, r);
    }
}

static void *heart(void *arg)
{
    struct corral_gate_node *nd = arg;
    pthread_mutex_lock(&nd->lock);
    while (!nd->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned period_ms = nd->lease_s * 1000 / 3;
        ts.tv_sec += period_ms / 1000;
        ts.tv_nsec += (long)(period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&nd->cond, &nd->lock, &ts);
        if (nd->stop)
            break;
        pthread_mutex_unlock(&nd->lock);
        struct corral_call call;
        corral_call_init(&call, 10000);
        if (heartbeat(nd, &call) != 0)
            corral_log(CORRAL_LOG_WARN, "gate", "the central gate did not renew this node's lease");
        drop_ended(nd);
        pthread_mutex_lock(&nd->lock);
    }
    pthread_mutex_unlock(&nd->lock);
    return NULL;
}

int corral_gate_node_start(corral_gate *local, const char *central_url, const char *registration_token,
                           unsigned workers, corral_gate_node **out, struct corral_call *call)
{
    *out = NULL;
    if (!local || !central_url || !registration_token || strlen(registration_token) > 128 ||
        (strncmp(central_url, "http://", 7) != 0 && strncmp(central_url, "https://", 8) != 0) ||
        strlen(central_url) > 512)
        return corral_call_fail(call, CORRAL_EINVAL,
                                "gate node: wants an http(s) URL of at most 512 bytes and a token of 16-128 characters");
    struct corral_gate_node *nd = calloc(1, sizeof *nd);
    if (!nd || !(nd->url = strdup(central_url))) {
        free(nd);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate node: out of memory");
    }
    size_t ul = strlen(nd->url);
    while (ul > 0 && nd->url[ul - 1] == '/')
        nd->url[--ul] = 0;
    snprintf(nd->auth, sizeof nd->auth, "Authorization: Bearer %s", registration_token);
    char host[33] = "node", rnd[9];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "node");
    for (char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = '-';
    if (crl_random_hex(rnd, 4) != 0)
        snprintf(rnd, sizeof rnd, "%08x", (unsigned)getpid());
    snprintf(nd->node, sizeof nd->node, "%s-%d-%s", host, (int)getpid(), rnd);
    nd->local = local;
    nd->lease_s = 30;
    pthread_mutex_init(&nd->lock, NULL);
    pthread_cond_init(&nd->cond, NULL);
    struct corral_call hc;
    corral_call_init(&hc, 30000);
    long st = heartbeat(nd, &hc);
    if (st) {
        if (st == 401)
            corral_call_fail(call, CORRAL_EAUTH, "the central gate at %s refused the registration token (401)",
                             nd->url);
        else if (st < 0)
            corral_call_fail(call, CORRAL_EIO, "cannot reach the central gate at %s: %s", nd->url, hc.message);
        else
            corral_call_fail(call, CORRAL_EPROTO, "the central gate at %s answered HTTP %ld to this node's heartbeat",
                             nd->url, st);
        corral_gate_node_stop(nd);
        return call ? call->status : (int)CORRAL_EIO;
    }
    nd->n_workers = workers < 1 ? 1 : workers > NODE_MAX_WORKERS ? NODE_MAX_WORKERS : workers;
    nd->workers = calloc(nd->n_workers, sizeof *nd->workers);
    unsigned started = 0;
    while (nd->workers && started < nd->n_workers && pthread_create(&nd->workers[started], NULL, worker, nd) == 0)
        started++;
    nd->n_workers = started;
    nd->heart_started = pthread_create(&nd->heart, NULL, heart, nd) == 0;
    if (!started || !nd->heart_started) {
        corral_gate_node_stop(nd);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate node: cannot start its threads");
    }
    gate_tools_set_remote(local, node_tools, nd); /* its agents see the central tools */
    corral_log(CORRAL_LOG_INFO, "gate", "node %s forwards to %s", nd->node, nd->url);
    *out = nd;
    return 0;
}

void corral_gate_node_stop(corral_gate_node *nd)
{
    if (!nd)
        return;
    gate_tools_set_remote(nd->local, NULL, NULL); /* waits for its calls in progress */
    pthread_mutex_lock(&nd->lock);
    nd->stop = 1;
    pthread_cond_broadcast(&nd->cond);
    pthread_mutex_unlock(&nd->lock);
    for (unsigned i = 0; i < nd->n_workers; i++)
        pthread_join(nd->workers[i], NULL);
    if (nd->heart_started)
        pthread_join(nd->heart, NULL);
    for (struct node_rollout *r = nd->rollouts, *n; r; r = n) {
        n = r->next;
        drop_central(nd, r);
    }
    OPENSSL_cleanse(nd->auth, sizeof nd->auth);
    free(nd->workers);
    free(nd->url);
    pthread_mutex_destroy(&nd->lock);
    pthread_cond_destroy(&nd->cond);
    free(nd);
}
