/*
 * The gate: lifecycle, the rollout table, per-rollout tokens, answering
 * and failing pending calls, the deadline timer and the trainer C API.
 * See gate_internal.h for the locking and lifetime rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crl_common.h"
#include "gate/gate_internal.h"
#include "gate/gate_sse.h"

int64_t gate_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int corral_gate_rollout_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == ':' || ch == '-'))
            return 0;
        if (n >= 128)
            return 0;
    }
    return n > 0 && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* The keyed HMAC the tokens come from, made once: OpenSSL 3's one-shot
 * HMAC() fetches the algorithm and schedules the key on every call, which
 * was a sixth of the gate's CPU per model call. */
static int mac_init(struct corral_gate *g)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
    return g->mac && EVP_MAC_init(g->mac, g->secret, g->secret_len, params) == 1 ? 0 : -1;
}

/* The token of rollout id, as 64 hex digits.  Returns 0, or -1 when
 * OpenSSL fails (out of memory): out is then a value no client holds. */
static int token_of(const struct corral_gate *g, const char *id, char out[GATE_TOKEN_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    static const char hexd[] = "0123456789abcdef";
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(g->mac);
    int ok = c && EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) == 1 &&
             EVP_MAC_final(c, md, &mdlen, sizeof md) == 1 && mdlen >= 32;
    EVP_MAC_CTX_free(c);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = ok ? hexd[md[i] >> 4] : '!';
        out[2 * i + 1] = ok ? hexd[md[i] & 15] : '!';
    }
    out[GATE_TOKEN_HEX] = 0;
    OPENSSL_cleanse(md, sizeof md);
    return ok ? 0 : -1;
}

int corral_gate_token(const corral_gate *g, const char *rollout_id, char token_out[65])
{
    if (!g || !token_out || !corral_gate_rollout_id_valid(rollout_id))
        return CORRAL_EINVAL;
    return token_of(g, rollout_id, token_out) ? CORRAL_ENOMEM : 0;
}

int gate_check_token(const struct corral_gate *g, const char *rollout_id, const char *header)
{
    /* The HMAC is computed whatever the header says, so the time taken
     * does not depend on the token's validity. */
    char want[GATE_TOKEN_HEX + 1], got[GATE_TOKEN_HEX + 1];
    memset(got, 0, sizeof got);
    int ok = corral_gate_rollout_id_valid(rollout_id);
    if (token_of(g, ok ? rollout_id : "-", want))
        ok = 0;
    if (header && strncmp(header, "Bearer ", 7) == 0 && strlen(header + 7) == GATE_TOKEN_HEX)
        memcpy(got, header + 7, GATE_TOKEN_HEX);
    else
        ok = 0;
    ok &= CRYPTO_memcmp(want, got, GATE_TOKEN_HEX) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return ok;
}

/* ---- the rollout table ------------------------------------------------------ */

static unsigned bucket_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % GATE_ROLLOUT_BUCKETS;
}

struct gate_rollout *gate_rollout_find_locked(struct corral_gate *g, const char *id)
{
    for (struct gate_rollout *r = g->buckets[bucket_of(id)]; r; r = r->next)
        if (strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

static void rollout_free(struct gate_rollout *r)
{
    if (!r)
        return;
    if (r->ops && r->ops->free)
        r->ops->free(r->state);
    cJSON_Delete(r->transcript);
    gate_mcp_sessions_free(r);
    free(r->aux.system_prefix);
    free(r->id);
    free(r);
}

/* Build a rollout (outside the lock: may read files, parse scripts). */
static int rollout_make(struct corral_gate *g, const char *id, const struct corral_gate_responder *spec,
                        struct gate_rollout **out, char *err, size_t errlen)
{
    if (!corral_gate_rollout_id_valid(id)) {
        snprintf(err, errlen, "invalid rollout id (allowed: 1-128 of [A-Za-z0-9._:-])");
        return CORRAL_EINVAL;
    }
    struct gate_rollout *r = calloc(1, sizeof *r);
    if (!r || !(r->id = strdup(id)) || !(r->transcript = cJSON_CreateArray())) {
        rollout_free(r);
        snprintf(err, errlen, "out of memory");
        return CORRAL_ENOMEM;
    }
    int rc = gate_responder_make(g, spec, &r->ops, &r->state, err, errlen);
    if (rc) {
        rollout_free(r);
        return rc;
    }
    if (CORRAL_HAS_FIELD(spec, aux_system_prefix)) {
        r->aux.no_tools = spec->aux_no_tools;
        r->aux.max_tokens_below = (double)spec->aux_max_tokens_below;
        if (spec->aux_system_prefix && !(r->aux.system_prefix = strdup(spec->aux_system_prefix))) {
            rollout_free(r);
            snprintf(err, errlen, "out of memory");
            return CORRAL_ENOMEM;
        }
    }
    *out = r;
    return 0;
}

static void rollout_insert_locked(struct corral_gate *g, struct gate_rollout *r)
{
    unsigned b = bucket_of(r->id);
    r->next = g->buckets[b];
    g->buckets[b] = r;
    g->n_rollouts++;
}

static void rollout_unlink_locked(struct corral_gate *g, struct gate_rollout *r)
{
    for (struct gate_rollout **pp = &g->buckets[bucket_of(r->id)]; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            g->n_rollouts--;
            return;
        }
}

/* Ids unregistered while auto-registration is on: a straggling call with
 * the old token must not bring a finished rollout back. */
struct gate_tomb {
    struct gate_tomb *next;
    char id[];
};

static int tomb_find_locked(struct corral_gate *g, const char *id, int remove)
{
    for (struct gate_tomb **pp = &g->tombs[bucket_of(id)]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            if (remove) {
                struct gate_tomb *t = *pp;
                *pp = t->next;
                free(t);
            }
            return 1;
        }
    return 0;
}

static void tomb_add_locked(struct corral_gate *g, const char *id)
{
    if (tomb_find_locked(g, id, 0))
        return;
    size_t n = strlen(id) + 1;
    struct gate_tomb *t = malloc(sizeof *t + n);
    if (!t)
        return;
    memcpy(t->id, id, n);
    unsigned b = bucket_of(id);
    t->next = g->tombs[b];
    g->tombs[b] = t;
}

/* Lookup, registering with the auto responder when configured.  Called
 * WITHOUT the lock (building a responder may parse a script); returns with
 * the lock held and the rollout (or NULL). */
struct gate_rollout *gate_rollout_get_and_lock(struct corral_gate *g, const char *id)
{
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, id);
    if (r || !g->has_auto || g->stopping || tomb_find_locked(g, id, 0))
        return r;
    pthread_mutex_unlock(&g->lock);
    char err[256];
    struct gate_rollout *made = NULL;
    if (rollout_make(g, id, &g->auto_spec, &made, err, sizeof err) != 0)
        corral_log(CORRAL_LOG_WARN, "gate", "auto-registering rollout %s: %s", id, err);
    pthread_mutex_lock(&g->lock);
    r = gate_rollout_find_locked(g, id);
    if (!r && made && !g->stopping && !tomb_find_locked(g, id, 0)) {
        rollout_insert_locked(g, made);
        return made;
    }
    rollout_free(made);
    return r;
}

int corral_gate_register(corral_gate *g, const char *rollout_id, const struct corral_gate_responder *responder,
                         char token_out[65], struct corral_call *call)
{
    char err[512];
    struct gate_rollout *r = NULL;
    if (!g || !responder)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: register needs a gate and a responder");
    int rc = rollout_make(g, rollout_id, responder, &r, err, sizeof err);
    if (rc)
        return corral_call_fail(call, rc, "gate: register %s: %s", rollout_id ? rollout_id : "(null)", err);
    if (token_out && token_of(g, rollout_id, token_out)) {
        rollout_free(r);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: OpenSSL could not compute the token of %s", rollout_id);
    }
    pthread_mutex_lock(&g->lock);
    if (g->stopping || gate_rollout_find_locked(g, rollout_id)) {
        int stopping = g->stopping;
        pthread_mutex_unlock(&g->lock);
        rollout_free(r);
        if (stopping)
            return corral_call_fail(call, CORRAL_ESTATE, "gate: shutting down");
        return corral_call_fail(call, CORRAL_EEXIST, "gate: rollout %s is already registered", rollout_id);
    }
    tomb_find_locked(g, rollout_id, 1); /* explicitly registered again */
    rollout_insert_locked(g, r);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

/* ---- pending calls and answers -------------------------------------------- */

static void resume_later_locked(struct corral_gate *g, struct gate_conn *c)
{
    c->r_next = g->resume_head;
    g->resume_head = c;
}

void gate_unlock(struct corral_gate *g)
{
    struct gate_conn *r = g->resume_head;
    g->resume_head = NULL;
    pthread_mutex_unlock(&g->lock);
    while (r) {
        struct gate_conn *next = r->r_next; /* r may be freed once resumed */
        MHD_resume_connection(r->conn);
        r = next;
    }
}

void gate_pending_add_locked(struct corral_gate *g, struct gate_conn *c)
{
    c->prev = NULL;
    c->next = g->pending;
    if (g->pending)
        g->pending->prev = c;
    g->pending = c;
    c->listed = 1;
    gate_timer_kick_locked(g);
}

static void list_unlink(struct gate_conn **head, struct gate_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (*head == c)
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void queue_unlink_locked(struct corral_gate *g, struct gate_conn *c)
{
    struct gate_conn *prev = NULL;
    for (struct gate_conn *q = g->q_head; q; prev = q, q = q->q_next)
        if (q == c) {
            if (prev)
                prev->q_next = q->q_next;
            else
                g->q_head = q->q_next;
            if (g->q_tail == q)
                g->q_tail = prev;
            c->q_next = NULL;
            return;
        }
}

/* Take c off every list it is on. */
void gate_conn_unlink_locked(struct corral_gate *g, struct gate_conn *c)
{
    if (c->state == GS_QUEUED)
        queue_unlink_locked(g, c);
    if (c->state == GS_HELD)
        gate_held_unlink_locked(g, c);
    if (c->listed) {
        list_unlink(c->kind == GC_TRAINER_WAIT ? &g->waiters : &g->pending, c);
        c->listed = 0;
    }
}

void gate_complete_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, char *body, size_t len,
                          const char *content_type)
{
    gate_conn_unlink_locked(g, c);
    c->state = GS_DONE;
    c->resp_status = status;
    free(c->resp_body);
    c->resp_body = body;
    c->resp_len = body ? len : 0;
    c->resp_type = content_type;
    if (c->suspended) {
        c->suspended = 0;
        resume_later_locked(g, c);
    }
}

/* Malloc'ed JSON text as a raw cJSON item that takes it over: printed
 * verbatim, no copy (cJSON allocates with malloc: no cJSON_InitHooks).
 * A null item when text is NULL or out of memory. */
static cJSON *raw_take(char *text)
{
    cJSON *raw = text ? cJSON_CreateRaw("") : NULL;
    if (!raw) {
        free(text);
        return cJSON_CreateNull();
    }
    cJSON_free(raw->valuestring);
    raw->valuestring = text;
    return raw;
}

/* The request body, valid JSON (gate_parse_chat_request checked it), as a
 * raw transcript item that takes over c->buf.  Nothing reads c->buf once
 * the call is answered. */
static cJSON *raw_request(struct gate_conn *c)
{
    cJSON *raw = raw_take(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    return raw;
}

/* What an entry costs besides the request and response it keeps. */
#define TRANSCRIPT_ENTRY_BYTES 256

/* Record call c's outcome in its rollout's transcript (nowhere once the
 * rollout is unregistered).  Takes over response (JSON text, or NULL) and
 * c->buf; p (for token ids and logprobs, or NULL) stays the caller's.
 * The agent decides how much it sends, so what is kept is bounded: a
 * failed call keeps its request's size and the reason, not the request;
 * past the rollout's transcript limit an entry keeps sizes only
 * ("truncated": true), and past a quarter more, calls are only counted
 * (r->dropped, reported when the transcript is printed). */
void gate_transcript_add_locked(struct gate_conn *c, unsigned status, char *response, const char *error,
                                const struct gate_prepared *p)
{
    struct gate_rollout *r = c->rollout;
    size_t limit = c->gate->transcript_limit;
    size_t req_bytes = c->raw ? c->raw_len : c->len, resp_bytes = response ? strlen(response) : 0;
    int keep_request = !error;
    size_t cost = TRANSCRIPT_ENTRY_BYTES + (keep_request ? req_bytes + (c->raw ? c->len : 0) : 0) + resp_bytes;
    int truncated = r && r->transcript_bytes + cost > limit;
    if (!r || (truncated && r->transcript_bytes + TRANSCRIPT_ENTRY_BYTES > limit + limit / 4)) {
        if (r)
            r->dropped++;
        free(response);
        return;
    }
    r->transcript_bytes += truncated ? TRANSCRIPT_ENTRY_BYTES : cost;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "seq", c->seq);
    cJSON_AddStringToObject(e, "request_id", c->id);
    cJSON_AddStringToObject(e, "dialect", gate_dialect_name(c->dialect));
    cJSON_AddStringToObject(e, "call_kind", c->auxiliary ? "auxiliary" : "agent");
    if (c->dialect == GATE_DIALECT_MCP) { /* a tool call: request {"name","arguments"}, response its result */
        cJSON_AddStringToObject(e, "kind", "mcp_tool");
        cJSON_AddStringToObject(e, "tool", c->tool_name ? c->tool_name : "");
    }
    if (keep_request && !truncated && c->raw) {
        /* the agent's own body, and the chat request the responder saw */
        cJSON_AddItemToObject(e, "request", raw_take(c->raw));
        c->raw = NULL;
        cJSON_AddItemToObject(e, "normalized_request", raw_request(c));
    } else if (keep_request && !truncated) {
        cJSON_AddItemToObject(e, "request", raw_request(c));
    } else {
        cJSON_AddNullToObject(e, "request");
        free(c->buf);
        c->buf = NULL;
        c->len = c->cap = 0;
        free(c->raw);
        c->raw = NULL;
    }
    cJSON_AddNumberToObject(e, "request_bytes", (double)req_bytes);
    if (truncated) {
        free(response);
        response = NULL;
        cJSON_AddTrueToObject(e, "truncated");
        cJSON_AddNumberToObject(e, "response_bytes", (double)resp_bytes);
    }
    cJSON_AddItemToObject(e, "response", raw_take(response));
    cJSON_AddNumberToObject(e, "status", status);
    if (error)
        cJSON_AddStringToObject(e, "error", error);
    int64_t now = gate_now_ms();
    char started[32]; /* wall clock when the call came in (ATIF's step timestamp) */
    crl_time_rfc3339_ms(crl_time_now_unix_ms() - (now - c->t_start), started);
    cJSON_AddStringToObject(e, "started_at", started);
    cJSON_AddNumberToObject(e, "latency_ms", (double)(now - c->t_start));
    cJSON_AddBoolToObject(e, "stream", c->req.stream);
    if (c->policy_version[0])
        cJSON_AddStringToObject(e, "policy_version", c->policy_version);
    if (c->overrides) {
        cJSON_AddItemToObject(e, "upstream_overrides", raw_take(c->overrides));
        c->overrides = NULL;
    }
    if (p && p->token_ids && !truncated)
        cJSON_AddItemToObject(e, "token_ids", cJSON_Duplicate(p->token_ids, 1));
    if (p && p->logprobs && !truncated)
        cJSON_AddItemToObject(e, "logprobs", cJSON_Duplicate(p->logprobs, 1));
    if (p && p->prompt_token_ids && !truncated)
        cJSON_AddItemToObject(e, "prompt_token_ids", cJSON_Duplicate(p->prompt_token_ids, 1));
    cJSON_AddItemToArray(r->transcript, e);
}

/* The transcript as text, with a last {"truncated":true,"dropped":N}
 * entry when calls were not recorded at all.  Caller frees. */
static char *transcript_print_locked(struct gate_rollout *r)
{
    cJSON *last = NULL;
    if (r->dropped) {
        last = cJSON_CreateObject();
        cJSON_AddTrueToObject(last, "truncated");
        cJSON_AddNumberToObject(last, "dropped", (double)r->dropped);
        cJSON_AddItemToArray(r->transcript, last);
    }
    char *s = cJSON_PrintUnformatted(r->transcript);
    if (last)
        cJSON_Delete(cJSON_DetachItemViaPointer(r->transcript, last));
    return s;
}

/* ---- per-rollout connection slots ------------------------------------------ */

int gate_load_take_locked(struct corral_gate *g, const char *id)
{
    struct gate_load **pp = &g->loads[bucket_of(id)];
    for (struct gate_load *l = *pp; l; l = l->next)
        if (strcmp(l->id, id) == 0) {
            if (l->n >= g->rollout_connections)
                return -1;
            l->n++;
            return 0;
        }
    size_t n = strlen(id) + 1;
    struct gate_load *l = malloc(sizeof *l + n);
    if (!l)
        return -1;
    memcpy(l->id, id, n);
    l->n = 1;
    l->next = *pp;
    *pp = l;
    return 0;
}

void gate_load_put_locked(struct corral_gate *g, const char *id)
{
    for (struct gate_load **pp = &g->loads[bucket_of(id)]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            struct gate_load *l = *pp;
            if (--l->n == 0) {
                *pp = l->next;
                free(l);
            }
            return;
        }
}

_Static_assert((int)CORRAL_GATE_DIALECT_MESSAGES == (int)GATE_DIALECT_MESSAGES &&
                   (int)CORRAL_GATE_DIALECT_RESPONSES == (int)GATE_DIALECT_RESPONSES &&
                   (int)CORRAL_GATE_DIALECT_GEMINI == (int)GATE_DIALECT_GEMINI,
               "the public dialect numbers are the gate's own");

int corral_gate_dialect_parse(const char *name, int *out)
{
    static const char *const names[] = {"chat", "messages", "responses", "gemini"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return CORRAL_EINVAL;
}

const char *gate_dialect_name(int dialect)
{
    return dialect == GATE_DIALECT_MESSAGES    ? "messages"
           : dialect == GATE_DIALECT_RESPONSES ? "responses"
           : dialect == GATE_DIALECT_GEMINI    ? "gemini"
           : dialect == GATE_DIALECT_MCP       ? "mcp"
                                               : "chat_completions";
}

void gate_fail_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, const char *message,
                      const char *type, const char *code)
{
    if (c->kind == GC_CHAT)
        gate_transcript_add_locked(c, status, NULL, message, NULL);
    int d = c->answer_chat ? GATE_DIALECT_CHAT : c->dialect;
    char *body = d == GATE_DIALECT_MESSAGES    ? gate_messages_error_body(status, message, type)
                 : d == GATE_DIALECT_RESPONSES ? gate_responses_error_body(status, message, type, code)
                 : d == GATE_DIALECT_GEMINI    ? gate_gemini_error_body(status, message)
                 : d == GATE_DIALECT_MCP       ? gate_mcp_fail_body(c, status, message, code)
                                               : gate_error_body(message, type, code);
    gate_complete_locked(g, c, status, body, body ? strlen(body) : 0, "application/json");
}

void gate_answer_passthrough_locked(struct corral_gate *g, struct gate_conn *c, unsigned status, char *body,
                                    size_t len, int sse)
{
    cJSON *parsed = sse || !body ? NULL : gate_json_parse_exact(body, len);
    int json = parsed != NULL, complete = 0;
    cJSON_Delete(parsed);
    /* a stream's answer is recorded as the object it streams */
    cJSON *whole = sse && body ? crl_gate_sse_assemble(c->dialect, body, len, &complete) : NULL;
    char *assembled = whole ? cJSON_PrintUnformatted(whole) : NULL;
    cJSON_Delete(whole);
    char *copy = body ? strndup(body, len) : NULL;
    struct gate_rollout *r = c->rollout;
    int before = r ? cJSON_GetArraySize(r->transcript) : 0;
    gate_transcript_add_locked(c, status, json ? copy : assembled, NULL, NULL);
    cJSON *e = r && cJSON_GetArraySize(r->transcript) > before ? cJSON_GetArrayItem(r->transcript, before) : NULL;
    if (assembled && e && !complete && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "response")))
        cJSON_AddTrueToObject(e, "stream_incomplete");
    if (!json && copy && e && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "truncated")) &&
        r->transcript_bytes + len <= c->gate->transcript_limit) {
        cJSON_AddStringToObject(e, "raw_response", copy);
        r->transcript_bytes += len;
    }
    if (!json)
        free(copy);
    gate_complete_locked(g, c, status, body, body ? len : 0, sse ? "text/event-stream" : "application/json");
}

void gate_passthrough_record_locked(struct corral_gate *g, const char *rollout_id, const char *request_id,
                                    int dialect, const char *body, size_t len, const char *error, int64_t t_start)
{
    struct gate_rollout *r = gate_rollout_find_locked(g, rollout_id);
    cJSON *e = NULL;
    for (cJSON *x = r && r->transcript ? r->transcript->child : NULL; x; x = x->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "request_id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, request_id) == 0)
            e = x;
    }
    if (!e)
        return;
    cJSON_ReplaceItemInObjectCaseSensitive(e, "latency_ms", cJSON_CreateNumber((double)(gate_now_ms() - t_start)));
    if (error)
        cJSON_AddStringToObject(e, "error", error);
    int complete = 0;
    cJSON *whole = body ? crl_gate_sse_assemble(dialect, body, len, &complete) : NULL;
    char *text = whole ? cJSON_PrintUnformatted(whole) : NULL;
    cJSON_Delete(whole);
    size_t cost = (text ? strlen(text) : 0) + len;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "truncated")) ||
        r->transcript_bytes + cost > g->transcript_limit) {
        free(text);
        if (!cJSON_GetObjectItemCaseSensitive(e, "truncated"))
            cJSON_AddTrueToObject(e, "truncated");
        cJSON_AddNumberToObject(e, "response_bytes", (double)len);
        return;
    }
    r->transcript_bytes += cost;
    if (text) {
        cJSON_ReplaceItemInObjectCaseSensitive(e, "response", raw_take(text));
        if (!complete)
            cJSON_AddTrueToObject(e, "stream_incomplete");
    }
    cJSON *raw = cJSON_CreateString("");
    char *copy = body ? strndup(body, len) : NULL;
    if (raw && copy) { /* the stream's text as it came */
        cJSON_free(raw->valuestring);
        raw->valuestring = copy;
        cJSON_AddItemToObject(e, "raw_response", raw);
    } else {
        cJSON_Delete(raw);
        free(copy);
    }
}

void gate_answer_locked(struct corral_gate *g, struct gate_conn *c, const struct gate_prepared *p)
{
    if (p->is_error) {
        gate_fail_locked(g, c, (unsigned)p->error_status, p->error_message, p->error_type, NULL);
        return;
    }
    char cid[48];
    int d = c->answer_chat ? GATE_DIALECT_CHAT : c->dialect; /* a node's call: its node renders */
    /* Responses and Gemini templates write their ids around the bare one */
    snprintf(cid, sizeof cid,
             d == GATE_DIALECT_MESSAGES                                   ? "msg_%s"
             : d == GATE_DIALECT_RESPONSES || d == GATE_DIALECT_GEMINI ? "%s"
                                                                           : "chatcmpl-%s",
             c->id);
    struct gate_answer_vars v = {.id = cid, .model = c->req.model ? c->req.model : g->model,
                                 .created = (long long)time(NULL), .stream = c->req.stream && !c->answer_chat,
                                 .include_usage = c->req.include_usage, .dialect = d,
                                 .ns = &c->resp_ns};
    char *json, *body = NULL;
    size_t json_len, len = 0;
    int rc = gate_render_answer(p, &v, &json, &json_len, &body, &len);
    if (rc == 0 && !v.stream && (body = malloc(json_len + 1)))
        memcpy(body, json, (len = json_len) + 1); /* one for the agent, one for the transcript */
    if (!body) {
        free(json);
        gate_fail_locked(g, c, 500, "corral gate: out of memory rendering the answer", "invalid_request_error",
                         NULL);
        return;
    }
    gate_transcript_add_locked(c, 200, json, NULL, p);
    gate_complete_locked(g, c, 200, body, len, v.stream ? "text/event-stream" : "application/json");
}

void gate_queue_push_locked(struct corral_gate *g, struct gate_conn *c)
{
    c->state = GS_QUEUED;
    c->q_next = NULL;
    if (g->q_tail)
        g->q_tail->q_next = c;
    else
        g->q_head = c;
    g->q_tail = c;
    gate_waiters_dispatch_locked(g);
    pthread_cond_broadcast(&g->cond);
}

struct gate_conn *gate_queue_pop_locked(struct corral_gate *g)
{
    struct gate_conn *c = g->q_head;
    if (!c)
        return NULL;
    g->q_head = c->q_next;
    if (!g->q_head)
        g->q_tail = NULL;
    c->q_next = NULL;
    c->state = GS_CLAIMED;
    return c;
}

struct gate_conn *gate_pending_find_locked(struct corral_gate *g, const char *request_id)
{
    if (!request_id || strlen(request_id) != 32)
        return NULL;
    for (struct gate_conn *c = g->pending; c; c = c->next)
        if (CRYPTO_memcmp(c->id, request_id, 32) == 0)
            return c;
    return NULL;
}

/* ---- the deadline timer --------------------------------------------------- */

void gate_timer_kick_locked(struct corral_gate *g)
{
    pthread_cond_signal(&g->timer_cond);
}

static void deadline_to_ts(int64_t deadline_ms, struct timespec *ts)
{
    ts->tv_sec = deadline_ms / 1000;
    ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

static void *timer_main(void *arg)
{
    struct corral_gate *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->timer_stop) {
        int64_t now = gate_now_ms(), next = now + 1000;
        for (struct gate_conn *c = g->pending, *n; c; c = n) {
            n = c->next;
            if (c->deadline <= now) {
                char msg[160];
                snprintf(msg, sizeof msg, "corral gate: no answer within the request deadline (%lld ms)",
                         (long long)g->timeout_ms);
                gate_fail_locked(g, c, 400, msg, "invalid_request_error", "deadline_exceeded");
            } else if (c->deadline < next) {
                next = c->deadline;
            }
        }
        for (struct gate_conn *c = g->waiters, *n; c; c = n) {
            n = c->next;
            if (c->deadline <= now)
                gate_complete_locked(g, c, 204, NULL, 0, "application/json");
            else if (c->deadline < next)
                next = c->deadline;
        }
        gate_socks_reap_locked(g, now, &next);
        if (gate_lease_expired_locked(g, now)) {
            pthread_mutex_unlock(&g->lock);
            gate_leases_sweep(g);
            pthread_mutex_lock(&g->lock);
            continue;
        }
        if (g->resume_head) {
            gate_unlock(g);
            pthread_mutex_lock(&g->lock);
            continue;
        }
        struct timespec ts;
        deadline_to_ts(next, &ts);
        pthread_cond_timedwait(&g->timer_cond, &g->lock, &ts);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int corral_gate_new(const struct corral_gate_options *o, corral_gate **out, struct corral_call *call)
{
    char err[512];
    *out = NULL;
    struct corral_gate_options def;
    memset(&def, 0, sizeof def);
    def.struct_size = sizeof def;
    if (!o)
        o = &def;
#define OPT(f) (CORRAL_HAS_FIELD(o, f) ? o->f : def.f)
    struct corral_gate *g = calloc(1, sizeof *g);
    if (!g)
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: out of memory");
    pthread_mutex_init(&g->lock, NULL);
    if (gate_scripts_init(&g->scripts) != 0) {
        pthread_mutex_destroy(&g->lock);
        free(g);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: out of memory");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_cond_init(&g->timer_cond, &ca);
    pthread_condattr_destroy(&ca);
    g->tcp.fd = g->unix_l.fd = g->trainer.fd = -1;

    int rc = CORRAL_EINVAL;
    const unsigned char *secret = OPT(secret);
    size_t secret_len = OPT(secret_len);
    if (secret) {
        if (secret_len < 16 || secret_len > sizeof g->secret) {
            corral_call_fail(call, CORRAL_EINVAL, "gate: the server secret must be 16..64 bytes");
            goto fail;
        }
        memcpy(g->secret, secret, secret_len);
        g->secret_len = secret_len;
    } else {
        if (RAND_bytes(g->secret, 32) != 1) {
            corral_call_fail(call, CORRAL_EINTERNAL, "gate: no randomness for the server secret");
            goto fail;
        }
        g->secret_len = 32;
    }
    if (mac_init(g)) {
        corral_call_fail(call, CORRAL_ENOMEM, "gate: OpenSSL could not set up HMAC-SHA256");
        goto fail;
    }
    g->body_limit = OPT(body_limit) ? OPT(body_limit) : GATE_DEFAULT_BODY_LIMIT;
    g->timeout_ms = OPT(request_timeout_ms) > 0 ? OPT(request_timeout_ms) : GATE_DEFAULT_TIMEOUT_MS;
    g->model = strdup(OPT(model) ? OPT(model) : "corral");
    g->max_connections = CORRAL_HAS_FIELD(o, max_connections) && o->max_connections ? o->max_connections : 2048;
    g->threads = CORRAL_HAS_FIELD(o, threads) ? o->threads : 0;
    g->transcript_limit = OPT(transcript_limit) ? OPT(transcript_limit) : GATE_DEFAULT_TRANSCRIPT_LIMIT;
    g->rollout_connections = OPT(rollout_connections) ? OPT(rollout_connections) : GATE_DEFAULT_ROLLOUT_CONNECTIONS;
    g->idle_timeout_s = OPT(idle_timeout_s) ? OPT(idle_timeout_s) : GATE_DEFAULT_IDLE_TIMEOUT_S;
    g->socket_connections = OPT(socket_connections) ? OPT(socket_connections) : GATE_DEFAULT_SOCKET_CONNECTIONS;
    g->upstream_max_n = OPT(upstream_max_n) ? OPT(upstream_max_n) : 1;
    g->upstream_max_tokens = OPT(upstream_max_tokens) ? OPT(upstream_max_tokens) : GATE_DEFAULT_MAX_TOKENS;
    if (!g->threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        g->threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
    }

    const struct corral_gate_responder *auto_spec = OPT(auto_register);
    if (auto_spec) {
        if (auto_spec->struct_size < offsetof(struct corral_gate_responder, upstream_token_ids) + sizeof(int)) {
            corral_call_fail(call, CORRAL_EINVAL, "gate: auto_register responder has an unknown struct_size");
            goto fail;
        }
        /* An older caller's struct is shorter: copy what it has, the rest stays zero. */
        memset(&g->auto_spec, 0, sizeof g->auto_spec);
        memcpy(&g->auto_spec, auto_spec,
               auto_spec->struct_size < sizeof g->auto_spec ? auto_spec->struct_size : sizeof g->auto_spec);
        g->auto_spec.struct_size = sizeof g->auto_spec;
        g->has_auto = 1;
        if (auto_spec->kind == CORRAL_GATE_REPLAY && auto_spec->replay_path && !auto_spec->replay_jsonl) {
            size_t len;
            g->auto_replay_text = gate_read_file(auto_spec->replay_path, &len, err, sizeof err);
            if (!g->auto_replay_text) {
                corral_call_fail(call, CORRAL_EINVAL, "gate: %s", err);
                goto fail;
            }
            g->auto_spec.replay_path = NULL;
        } else if (auto_spec->replay_jsonl) {
            g->auto_replay_text = strdup(auto_spec->replay_jsonl);
        }
        g->auto_spec.replay_jsonl = g->auto_replay_text;
        g->auto_upstream_url = auto_spec->upstream_url ? strdup(auto_spec->upstream_url) : NULL;
        g->auto_upstream_key_env = auto_spec->upstream_api_key_env ? strdup(auto_spec->upstream_api_key_env) : NULL;
        g->auto_upstream_model = auto_spec->upstream_model ? strdup(auto_spec->upstream_model) : NULL;
        g->auto_spec.upstream_url = g->auto_upstream_url;
        g->auto_spec.upstream_api_key_env = g->auto_upstream_key_env;
        g->auto_spec.upstream_model = g->auto_upstream_model;
        g->auto_upstream_cache_salt = CORRAL_HAS_FIELD(auto_spec, upstream_cache_salt) && auto_spec->upstream_cache_salt
                                          ? strdup(auto_spec->upstream_cache_salt)
                                          : NULL;
        g->auto_spec.upstream_cache_salt = g->auto_upstream_cache_salt;
        g->auto_spec.upstream_dialect = CORRAL_HAS_FIELD(auto_spec, upstream_dialect) ? auto_spec->upstream_dialect : 0;
        int has_aux = CORRAL_HAS_FIELD(auto_spec, aux_system_prefix);
        g->auto_spec.aux_no_tools = has_aux ? auto_spec->aux_no_tools : 0;
        g->auto_spec.aux_max_tokens_below = has_aux ? auto_spec->aux_max_tokens_below : 0;
        g->auto_aux_system_prefix = has_aux && auto_spec->aux_system_prefix ? strdup(auto_spec->aux_system_prefix)
                                                                            : NULL;
        g->auto_spec.aux_system_prefix = g->auto_aux_system_prefix;
        /* Validate it once now, so a bad spec fails here, not per rollout;
         * kept until the gate is freed, so its script stays loaded. */
        if (gate_responder_make(g, &g->auto_spec, &g->auto_ops, &g->auto_state, err, sizeof err) != 0) {
            corral_call_fail(call, CORRAL_EINVAL, "gate: auto_register responder: %s", err);
            goto fail;
        }
    }

    const char *addr = OPT(bind_address) ? OPT(bind_address) : "127.0.0.1";
    int v6 = 0;
    int fd = gate_tcp_socket(addr, OPT(port), &g->port, &v6, err, sizeof err);
    if (fd < 0 || gate_listener_start(g, &g->tcp, fd, v6, g->threads, g->max_connections, gate_http_agent, err,
                                      sizeof err) != 0) {
        corral_call_fail(call, CORRAL_EIO, "gate: %s", err);
        goto fail;
    }
    size_t ul = strlen(addr) + 32;
    g->url = malloc(ul);
    snprintf(g->url, ul, v6 ? "http://[%s]:%u" : "http://%s:%u", addr, (unsigned)g->port);

    if (OPT(unix_socket_path)) {
        g->unix_mode = CORRAL_HAS_FIELD(o, unix_socket_mode) && o->unix_socket_mode ? (mode_t)o->unix_socket_mode
                                                                                      : 0600;
        fd = gate_unix_socket(OPT(unix_socket_path), g->unix_mode, 1, err, sizeof err);
        if (fd < 0 || gate_listener_start(g, &g->unix_l, fd, 0, g->threads, g->max_connections, gate_http_agent, err,
                                          sizeof err) != 0) {
            corral_call_fail(call, CORRAL_EIO, "gate: %s", err);
            goto fail;
        }
        g->unix_path = strdup(OPT(unix_socket_path));
    }

    if (OPT(trainer_listen)) {
        const char *taddr = OPT(trainer_bind_address) ? OPT(trainer_bind_address) : "127.0.0.1";
        uint16_t tport;
        if (OPT(trainer_token)) {
            if (strlen(OPT(trainer_token)) < 16) {
                corral_call_fail(call, CORRAL_EINVAL, "gate: the trainer token must have at least 16 characters");
                goto fail;
            }
            g->trainer_token = strdup(OPT(trainer_token));
        } else {
            g->trainer_token = malloc(65);
            gate_random_hex(g->trainer_token, 32);
        }
        if (OPT(registration_token)) {
            if (strlen(OPT(registration_token)) < 16) {
                corral_call_fail(call, CORRAL_EINVAL, "gate: the registration token must have at least 16 characters");
                goto fail;
            }
            g->registration_token = strdup(OPT(registration_token));
        }
        g->lease_ms = (int64_t)(OPT(lease_s) ? OPT(lease_s) : 30) * 1000;
        fd = gate_tcp_socket(taddr, OPT(trainer_port), &tport, &v6, err, sizeof err);
        if (fd < 0 ||
            gate_listener_start(g, &g->trainer, fd, v6, 1, g->max_connections, gate_http_trainer, err, sizeof err) != 0) {
            corral_call_fail(call, CORRAL_EIO, "gate: trainer listener: %s", err);
            goto fail;
        }
        ul = strlen(taddr) + 32;
        g->trainer_url = malloc(ul);
        snprintf(g->trainer_url, ul, v6 ? "http://[%s]:%u" : "http://%s:%u", taddr, (unsigned)tport);
    }

    if (pthread_create(&g->timer, NULL, timer_main, g) != 0) {
        corral_call_fail(call, CORRAL_EINTERNAL, "gate: cannot start the timer thread");
        goto fail;
    }
    g->timer_running = 1;
    *out = g;
    return 0;
#undef OPT
fail:
    rc = call ? call->status : CORRAL_EINVAL;
    corral_gate_free(g);
    return rc ? rc : CORRAL_EINVAL;
}

char *gate_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int e;
    char *text = crl_read_file_max(path, (size_t)256 << 20, len, &e);
    if (!text && e == EFBIG)
        snprintf(err, errlen, "%s is larger than 256 MiB", path);
    else if (!text)
        snprintf(err, errlen, "cannot read %s: %s", path, crl_file_strerror(e));
    return text;
}

void corral_gate_free(corral_gate *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    __atomic_store_n(&g->stopping, 1, __ATOMIC_RELEASE);
    gate_held_fail_locked(g, NULL, 410, "corral gate: shutting down", "gate_shutdown");
    while (g->pending)
        gate_fail_locked(g, g->pending, 410, "corral gate: shutting down", "invalid_request_error",
                         "gate_shutdown");
    while (g->waiters) {
        char *b = gate_error_body("corral gate: shutting down", "invalid_request_error", "gate_shutdown");
        gate_complete_locked(g, g->waiters, 503, b, b ? strlen(b) : 0, "application/json");
    }
    g->timer_stop = 1;
    pthread_cond_broadcast(&g->cond);
    pthread_cond_broadcast(&g->timer_cond);
    gate_unlock(g);
    if (g->timer_running)
        pthread_join(g->timer, NULL);
    gate_upstream_stop(g);

    /* Let the failed calls' answers go out before the listeners close. */
    pthread_mutex_lock(&g->lock);
    int64_t until = gate_now_ms() + 2000;
    while ((g->live > 0 && gate_now_ms() < until) || g->api_waiters > 0) {
        struct timespec ts;
        deadline_to_ts(gate_now_ms() + 50, &ts);
        pthread_cond_timedwait(&g->cond, &g->lock, &ts);
    }
    pthread_mutex_unlock(&g->lock);

    struct gate_listener *ls[] = {&g->tcp, &g->unix_l, &g->trainer};
    for (size_t i = 0; i < 3; i++)
        if (ls[i]->daemon)
            MHD_stop_daemon(ls[i]->daemon);
    if (g->unix_path)
        unlink(g->unix_path);
    for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
        for (struct gate_rollout *r = g->buckets[b], *n; r; r = n) {
            n = r->next;
            gate_rsock_close(r->sock); /* its daemon's callbacks are done once it stops */
            rollout_free(r);
        }
    if (g->auto_ops && g->auto_ops->free)
        g->auto_ops->free(g->auto_state);
    gate_scripts_destroy(&g->scripts); /* every user of a script is gone */
    for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
        for (struct gate_tomb *t = g->tombs[b], *n; t; t = n) {
            n = t->next;
            free(t);
        }
    gate_lease_drops_free(g);
    for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
        for (struct gate_load *l = g->loads[b], *n; l; l = n) {
            n = l->next;
            free(l);
        }
    gate_tools_free(g);
    free(g->unix_path);
    free(g->url);
    free(g->model);
    free(g->trainer_url);
    crl_wipe_free(g->trainer_token);
    crl_wipe_free(g->registration_token);
    free(g->auto_replay_text);
    free(g->auto_upstream_url);
    free(g->auto_upstream_key_env);
    free(g->auto_upstream_model);
    free(g->auto_upstream_cache_salt);
    free(g->auto_aux_system_prefix);
    EVP_MAC_CTX_free(g->mac);
    OPENSSL_cleanse(g->secret, sizeof g->secret);
    pthread_cond_destroy(&g->cond);
    pthread_cond_destroy(&g->timer_cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

const char *corral_gate_url(const corral_gate *g)
{
    return g ? g->url : NULL;
}

uint16_t corral_gate_port(const corral_gate *g)
{
    return g ? g->port : 0;
}

const char *corral_gate_trainer_url(const corral_gate *g)
{
    return g ? g->trainer_url : NULL;
}

const char *corral_gate_trainer_token(const corral_gate *g)
{
    return g ? g->trainer_token : NULL;
}

/* ---- unregister and transcripts ------------------------------------------- */

int corral_gate_unregister(corral_gate *g, const char *rollout_id, char **transcript_out, struct corral_call *call)
{
    if (transcript_out)
        *transcript_out = NULL;
    if (!g || !rollout_id)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: unregister needs a gate and a rollout id");
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, rollout_id);
    if (!r) {
        pthread_mutex_unlock(&g->lock);
        return corral_call_fail(call, CORRAL_ENOTFOUND, "gate: rollout %s is not registered", rollout_id);
    }
    rollout_unlink_locked(g, r);
    struct gate_rsock *sock = r->sock;
    r->sock = NULL;
    if (g->has_auto)
        tomb_add_locked(g, rollout_id);
    gate_held_fail_locked(g, r, 410, "corral gate: the rollout has ended", "rollout_ended");
    for (struct gate_conn *c = g->pending, *n; c; c = n) {
        n = c->next;
        if (c->rollout == r) {
            gate_fail_locked(g, c, 410, "corral gate: the rollout has ended", "invalid_request_error",
                             "rollout_ended");
            c->rollout = NULL;
        }
    }
    gate_unlock(g);
    gate_streams_close(g, rollout_id); /* relayed streams end: none stays suspended */
    /* Its own socket closes now: the 410s above were resumed; a call
     * arriving meanwhile finds no rollout (401). */
    gate_rsock_close(sock);
    /* Calls answered but not yet sent still point at r only through
     * c->rollout, which nothing reads after GS_DONE. */
    if (transcript_out)
        *transcript_out = transcript_print_locked(r); /* r is ours alone now */
    rollout_free(r);
    return 0;
}

size_t corral_gate_pending(corral_gate *g, size_t *queued)
{
    size_t n = 0, q = 0;
    pthread_mutex_lock(&g->lock);
    for (struct gate_conn *c = g->pending; c; c = c->next)
        n++;
    for (struct gate_conn *c = g->q_head; c; c = c->q_next)
        q++;
    pthread_mutex_unlock(&g->lock);
    if (queued)
        *queued = q;
    return n;
}

char *corral_gate_transcript(corral_gate *g, const char *rollout_id)
{
    if (!g || !rollout_id)
        return NULL;
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, rollout_id);
    char *s = r ? transcript_print_locked(r) : NULL;
    pthread_mutex_unlock(&g->lock);
    return s;
}

/* ---- trainer C API ------------------------------------------------------------ */

void corral_gate_request_free(struct corral_gate_request *r)
{
    if (!r)
        return;
    free(r->rollout_id);
    free(r->body);
    free(r->raw_request);
    free(r);
}

int corral_gate_next_request(corral_gate *g, int64_t timeout_ms, struct corral_gate_request **out,
                             struct corral_call *call)
{
    *out = NULL;
    int64_t until = timeout_ms > 0 ? gate_now_ms() + timeout_ms : 0;
    pthread_mutex_lock(&g->lock);
    g->api_waiters++;
    while (!g->q_head && !g->stopping && timeout_ms != 0) {
        if (timeout_ms > 0) {
            if (gate_now_ms() >= until)
                break;
            struct timespec ts;
            deadline_to_ts(until, &ts);
            pthread_cond_timedwait(&g->cond, &g->lock, &ts);
        } else {
            pthread_cond_wait(&g->cond, &g->lock);
        }
    }
    g->api_waiters--;
    if (g->stopping) {
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
        return corral_call_fail(call, CORRAL_ECANCELED, "gate: shutting down");
    }
    struct gate_conn *c = gate_queue_pop_locked(g);
    if (!c) {
        pthread_mutex_unlock(&g->lock);
        return corral_call_fail(call, CORRAL_ETIMEDOUT, "gate: no request within %lld ms", (long long)timeout_ms);
    }
    struct corral_gate_request *r = calloc(1, sizeof *r);
    if (r) {
        memcpy(r->id, c->id, sizeof r->id);
        r->rollout_id = strdup(c->rollout_id);
        r->body = strndup(c->buf ? c->buf : "", c->len);
        r->kind = c->dialect == GATE_DIALECT_MCP ? CORRAL_GATE_REQUEST_TOOL_CALL : CORRAL_GATE_REQUEST_MODEL;
        r->dialect = gate_dialect_name(c->dialect);
        r->raw_request = c->raw ? strndup(c->raw, c->raw_len) : NULL;
    }
    if (!r || !r->rollout_id || !r->body || (c->raw && !r->raw_request)) {
        corral_gate_request_free(r);
        /* Put it back at the head so it is not lost. */
        c->state = GS_QUEUED;
        c->q_next = g->q_head;
        g->q_head = c;
        if (!g->q_tail)
            g->q_tail = c;
        pthread_mutex_unlock(&g->lock);
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: out of memory");
    }
    pthread_mutex_unlock(&g->lock);
    *out = r;
    return 0;
}

int gate_deliver(struct corral_gate *g, const char *request_id, const char *json, size_t len, char *err,
                 size_t errlen)
{
    pthread_mutex_lock(&g->lock);
    const struct gate_conn *t = gate_pending_find_locked(g, request_id);
    int tool = t && t->dialect == GATE_DIALECT_MCP;
    pthread_mutex_unlock(&g->lock);
    if (tool)
        return gate_mcp_deliver(g, request_id, json, len, err, errlen);
    struct gate_completion comp;
    struct gate_prepared p;
    if (gate_completion_from_text(json, len, &comp, err, errlen) != 0)
        return CORRAL_EINVAL;
    int rc = gate_prepare(&comp, &p);
    gate_completion_clear(&comp);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, request_id);
    if (!c || (c->state != GS_CLAIMED && c->state != GS_QUEUED)) {
        pthread_mutex_unlock(&g->lock);
        gate_prepared_clear(&p);
        snprintf(err, errlen, "no pending request with that id (answered, expired or unregistered)");
        return CORRAL_ENOTFOUND;
    }
    gate_answer_locked(g, c, &p);
    gate_unlock(g);
    gate_prepared_clear(&p);
    return 0;
}

int corral_gate_deliver(corral_gate *g, const char *request_id, const char *response_json, struct corral_call *call)
{
    char err[256];
    if (!g || !request_id || !response_json)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: deliver needs a gate, a request id and a response");
    int rc = gate_deliver(g, request_id, response_json, strlen(response_json), err, sizeof err);
    if (rc)
        return corral_call_fail(call, rc, "gate: deliver: %s", err);
    return 0;
}
