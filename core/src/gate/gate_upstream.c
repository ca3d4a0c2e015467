/*
 * The upstream responder's transport: one thread per gate driving a curl
 * multi handle, so any number of forwarded calls run concurrently without
 * a thread each.
 *
 * A forwarded request is the agent's body with "stream": false (the gate
 * renders SSE itself), "stream_options" removed, "logprobs": true, the
 * model replaced when configured, and, for vLLM, "return_tokens_as_token_ids":
 * true so each logprob entry's token reads "token_id:<n>" and
 * "return_token_ids": true for the prompt's ids; "cache_salt" when
 * configured; "n" (and
 * "best_of") above the gate's upstream_max_n and "max_tokens" /
 * "max_completion_tokens" above upstream_max_tokens are lowered to them
 * (noted in the transcript's "upstream_overrides").  The API key
 * is read from the named environment variable for each request and only
 * ever placed in the Authorization header.  Jobs refer to the pending call
 * by request id: if the call was failed meanwhile (deadline, unregister)
 * the answer is dropped.  Every request carries "X-Session-ID: <rollout
 * id>", so a router keeps a rollout's calls on one replica (prefix cache).
 *
 * A same-dialect upstream (docs/gate-dialects.md, "Same-dialect
 * upstreams") gets the agent's own body instead, on its dialect's route,
 * with the key in that API's header; its answer goes back as it came: a
 * 2xx stream relayed piece by piece as it arrives (gate_stream.c), and
 * recorded reassembled when it ends (gate_passthrough_record_locked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "crl_common.h"
#include "gate/gate_internal.h"

#define UPSTREAM_MAX_RESPONSE (64u * 1024u * 1024u)

struct up_job {
    struct up_job *next;
    char id[33];
    char session[160];         /* "X-Session-ID: <rollout id>" */
    char *url;
    char *body;
    char *key_env;
    int64_t deadline;
    CURL *easy;
    struct curl_slist *hdrs;
    char *resp;
    size_t len, cap;
    int too_big;
    int dialect;               /* a pass-through's enum gate_dialect; chat: translated */
    /* a streamed pass-through: relayed as it arrives (gate_stream.c) */
    struct corral_gate *g;
    int want_stream;           /* the agent asked for a stream */
    int relay_checked;         /* the first bytes decided whether to relay */
    int agent_gone;            /* the relay refused more: the agent left */
    int rec_cut;               /* too long to record whole */
    struct gate_stream *stream;
    char rollout[130];
    int64_t t_start;
};

struct gate_upstream {
    pthread_t thread;
    CURLM *multi;
    struct up_job *incoming;   /* (gate lock) */
    struct up_job *active;     /* upstream thread only */
    int stop;                  /* (gate lock) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void job_free(struct up_job *j)
{
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->hdrs);
    free(j->url);
    free(j->body);
    free(j->key_env);
    free(j->resp);
    free(j);
}

/* The first bytes of a streamed pass-through: a 2xx text/event-stream
 * answers the agent's call at once with a relay (its transcript entry made
 * now, completed at the end); anything else is buffered as before.  -1
 * when the call is gone. */
static int relay_start(struct up_job *j)
{
    long status = 0;
    char *ctype = NULL;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (status < 200 || status >= 300 || !ctype || strncmp(ctype, "text/event-stream", 17) != 0)
        return 0;
    struct corral_gate *g = j->g;
    struct gate_stream *s = gate_stream_new(g, j->rollout);
    if (!s)
        return 0; /* buffered instead */
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, j->id);
    if (c) {
        gate_transcript_add_locked(c, (unsigned)status, NULL, NULL, NULL);
        c->stream = s;
        gate_complete_locked(g, c, (unsigned)status, NULL, 0, "text/event-stream");
        j->stream = s;
    }
    gate_unlock(g);
    if (!c) {
        gate_stream_drop(s); /* both references: nobody else saw it */
        gate_stream_end(s, NULL);
        return -1;
    }
    return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct up_job *j = ud;
    size_t k = size * n;
    if (j->want_stream && !j->relay_checked) {
        j->relay_checked = 1;
        if (relay_start(j) != 0)
            return 0;
    }
    if (j->stream) {
        if (gate_stream_push(j->stream, p, k) != 0) {
            j->agent_gone = 1;
            return 0; /* aborts the transfer */
        }
        if (j->len + k > UPSTREAM_MAX_RESPONSE) /* recorded up to here, relayed to the end */
            j->rec_cut = 1;
        if (j->rec_cut)
            return k;
    }
    if (j->len + k > UPSTREAM_MAX_RESPONSE) {
        j->too_big = 1;
        return 0;
    }
    if (j->len + k + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 16384;
        while (cap < j->len + k + 1)
            cap *= 2;
        char *b = realloc(j->resp, cap);
        if (!b)
            return 0;
        j->resp = b;
        j->cap = cap;
    }
    memcpy(j->resp + j->len, p, k);
    j->len += k;
    j->resp[j->len] = 0;
    return k;
}

static int job_start(struct gate_upstream *u, struct up_job *j)
{
    j->easy = curl_easy_init();
    if (!j->easy)
        return -1;
    j->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    j->hdrs = curl_slist_append(j->hdrs, "Expect:");
    j->hdrs = curl_slist_append(j->hdrs, j->session);
    const char *key = j->key_env ? getenv(j->key_env) : NULL;
    if (j->dialect == GATE_DIALECT_MESSAGES)
        j->hdrs = curl_slist_append(j->hdrs, "anthropic-version: 2023-06-01");
    if (key && *key) {
        /* each API's own key header; never logged */
        const char *name = j->dialect == GATE_DIALECT_MESSAGES ? "x-api-key: "
                           : j->dialect == GATE_DIALECT_GEMINI ? "x-goog-api-key: "
                                                               : NULL;
        char *h = name ? malloc(strlen(name) + strlen(key) + 1) : crl_bearer_header(key);
        if (h && name)
            strcat(strcpy(h, name), key);
        if (h) {
            j->hdrs = curl_slist_append(j->hdrs, h);
            crl_wipe_free(h);
        }
    }
    int64_t left = j->deadline - gate_now_ms();
    curl_easy_setopt(j->easy, CURLOPT_URL, j->url);
    curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body));
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(u->multi, j->easy) != CURLM_OK)
        return -1;
    j->next = u->active;
    u->active = j;
    return 0;
}

/* A pass-through's finished transfer: the answer goes back as it came
 * (any status); only a failed transfer becomes the gate's own 502. */
static void passthrough_finish(struct corral_gate *g, struct up_job *j, CURLcode res, long status)
{
    if (j->stream) { /* relayed: record it, then end the agent's stream */
        char err[512], tail[700] = "";
        int failed = res != CURLE_OK && !j->agent_gone;
        snprintf(err, sizeof err, "corral gate: the upstream stream broke off: %s", curl_easy_strerror(res));
        if (failed && j->dialect == GATE_DIALECT_MESSAGES) /* the Messages API's own mid-stream error */
            snprintf(tail, sizeof tail,
                     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"%s\"}}\n\n",
                     err);
        pthread_mutex_lock(&g->lock);
        gate_passthrough_record_locked(g, j->rollout, j->id, j->dialect, j->resp, j->len,
                                       failed ? err : j->agent_gone ? "corral gate: the agent left mid-stream" : NULL,
                                       j->t_start);
        pthread_mutex_unlock(&g->lock);
        gate_stream_end(j->stream, tail[0] ? tail : NULL);
        j->stream = NULL;
        return;
    }
    char *ctype = NULL;
    if (res == CURLE_OK && j->easy)
        curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ctype);
    int sse = ctype && strncmp(ctype, "text/event-stream", 17) == 0;
    char err[512];
    snprintf(err, sizeof err, "corral gate: upstream request failed: %s",
             j->too_big ? "response too large" : curl_easy_strerror(res));
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, j->id);
    if (c && (res != CURLE_OK || status < 100)) {
        gate_fail_locked(g, c, 502, err, "server_error", NULL);
    } else if (c) {
        char *body = j->resp;
        size_t len = j->len;
        j->resp = NULL;
        j->len = j->cap = 0;
        gate_answer_passthrough_locked(g, c, (unsigned)status, body ? body : strdup(""), len, sse);
    }
    gate_unlock(g);
}

/* Turn a finished transfer into the call's answer. */
static void job_finish(struct corral_gate *g, struct up_job *j, CURLcode res)
{
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (j->dialect != GATE_DIALECT_CHAT) {
        passthrough_finish(g, j, res, status);
        return;
    }
    struct gate_completion comp;
    memset(&comp, 0, sizeof comp);
    char err[512] = "";
    unsigned fail_status = 0;
    const char *fail_type = "server_error", *fail_code = NULL;
    if (res == CURLE_OPERATION_TIMEDOUT && gate_now_ms() >= j->deadline - 5) {
        /* Our own request deadline, reached by curl a moment before the
         * gate's timer: the same non-retryable answer the timer gives. */
        snprintf(err, sizeof err, "corral gate: no answer within the request deadline");
        fail_status = 400;
        fail_type = "invalid_request_error";
        fail_code = "deadline_exceeded";
    } else if (res != CURLE_OK) {
        snprintf(err, sizeof err, "corral gate: upstream request failed: %s",
                 j->too_big ? "response too large" : curl_easy_strerror(res));
        fail_status = 502;
    } else if (status < 200 || status >= 300) {
        /* Pass the upstream's own message; 4xx stay non-retryable. */
        const char *msg = NULL;
        cJSON *e = j->resp ? cJSON_ParseWithLength(j->resp, j->len) : NULL;
        const cJSON *eo = cJSON_GetObjectItemCaseSensitive(e, "error");
        const cJSON *m = cJSON_IsObject(eo) ? cJSON_GetObjectItemCaseSensitive(eo, "message") : eo;
        if (cJSON_IsString(m))
            msg = m->valuestring;
        snprintf(err, sizeof err, "upstream answered HTTP %ld: %.400s", status, msg ? msg : "(no message)");
        cJSON_Delete(e);
        if (status >= 400 && status < 500 && status != 401 && status != 403) {
            fail_status = (unsigned)status;
            fail_type = status == 429 ? "rate_limit_error" : "invalid_request_error";
        } else {
            fail_status = 502;
        }
    } else if (gate_completion_from_text(j->resp, j->len, &comp, err, sizeof err) != 0) {
        char why[512];
        snprintf(why, sizeof why, "corral gate: unusable upstream answer: %.400s", err);
        snprintf(err, sizeof err, "%s", why);
        fail_status = 502;
    }
    struct gate_prepared p;
    memset(&p, 0, sizeof p);
    if (!fail_status && gate_prepare(&comp, &p) != 0) {
        snprintf(err, sizeof err, "corral gate: out of memory rendering the answer");
        fail_status = 500;
        fail_type = "invalid_request_error";
    }
    gate_completion_clear(&comp);
    pthread_mutex_lock(&g->lock);
    struct gate_conn *c = gate_pending_find_locked(g, j->id);
    if (c) {
        if (fail_status)
            gate_fail_locked(g, c, fail_status, err, fail_type, fail_code);
        else
            gate_answer_locked(g, c, &p);
    }
    gate_unlock(g);
    gate_prepared_clear(&p);
}

static void *upstream_main(void *arg)
{
    struct corral_gate *g = arg;
    struct gate_upstream *u = g->upstream;
    for (;;) {
        pthread_mutex_lock(&g->lock);
        int stop = u->stop;
        struct up_job *in = NULL;
        while (u->incoming) { /* reverse: start them in arrival order */
            struct up_job *j = u->incoming;
            u->incoming = j->next;
            j->next = in;
            in = j;
        }
        pthread_mutex_unlock(&g->lock);
        while (in) {
            struct up_job *n = in->next;
            if (stop || job_start(u, in) != 0) {
                if (!stop)
                    job_finish(g, in, CURLE_FAILED_INIT);
                job_free(in);
            }
            in = n;
        }
        if (stop)
            break;
        int running = 0;
        curl_multi_perform(u->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(u->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct up_job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(u->multi, j->easy);
            for (struct up_job **pp = &u->active; *pp; pp = &(*pp)->next)
                if (*pp == j) {
                    *pp = j->next;
                    break;
                }
            job_finish(g, j, res);
            job_free(j);
        }
        curl_multi_poll(u->multi, NULL, 0, 1000, NULL);
    }
    while (u->active) {
        struct up_job *j = u->active;
        u->active = j->next;
        curl_multi_remove_handle(u->multi, j->easy);
        if (j->stream) /* shutting down: the agent's stream ends here */
            gate_stream_end(j->stream, NULL);
        job_free(j);
    }
    return NULL;
}

int gate_upstream_start(struct corral_gate *g)
{
    pthread_once(&curl_once, curl_init_once);
    pthread_mutex_lock(&g->lock);
    if (g->upstream) {
        pthread_mutex_unlock(&g->lock);
        return 0;
    }
    struct gate_upstream *u = calloc(1, sizeof *u);
    if (!u || !(u->multi = curl_multi_init())) {
        free(u);
        pthread_mutex_unlock(&g->lock);
        return -1;
    }
    g->upstream = u;
    if (pthread_create(&u->thread, NULL, upstream_main, g) != 0) {
        curl_multi_cleanup(u->multi);
        free(u);
        g->upstream = NULL;
        pthread_mutex_unlock(&g->lock);
        return -1;
    }
    pthread_mutex_unlock(&g->lock);
    return 0;
}

void gate_upstream_stop(struct corral_gate *g)
{
    pthread_mutex_lock(&g->lock);
    struct gate_upstream *u = g->upstream;
    if (u)
        u->stop = 1;
    pthread_mutex_unlock(&g->lock);
    if (!u)
        return;
    curl_multi_wakeup(u->multi);
    pthread_join(u->thread, NULL);
    while (u->incoming) {
        struct up_job *j = u->incoming;
        u->incoming = j->next;
        job_free(j);
    }
    curl_multi_cleanup(u->multi);
    free(u);
    g->upstream = NULL;
}

/* Lower field `key` of request b to cap when the agent asked for more (a
 * number above it, or not a number at all), noting {"asked","sent"} in
 * *ov (made on first use).  The operator's key pays for what the agent
 * chooses here. */
static void cap_field(cJSON *b, const char *key, double cap, cJSON **ov)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);
    if (!v || cJSON_IsNull(v) || (cJSON_IsNumber(v) && v->valuedouble <= cap))
        return;
    if (!*ov)
        *ov = cJSON_CreateObject();
    cJSON *note = cJSON_AddObjectToObject(*ov, key);
    cJSON_AddItemToObject(note, "asked", cJSON_Duplicate(v, 1));
    cJSON_AddNumberToObject(note, "sent", cap);
    cJSON_ReplaceItemInObjectCaseSensitive(b, key, cJSON_CreateNumber(cap)); /* keeps the key */
}

int gate_upstream_submit_locked(struct corral_gate *g, struct gate_conn *c, const char *url, const char *key_env,
                                const char *model, int token_ids, const char *cache_salt)
{
    struct gate_upstream *u = g->upstream;
    if (!u || u->stop)
        return -1;
    cJSON *b = gate_json_parse_exact(c->buf, c->len);
    if (!b)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(b, "stream");
    cJSON_DeleteItemFromObjectCaseSensitive(b, "stream_options");
    cJSON_AddFalseToObject(b, "stream");
    cJSON_DeleteItemFromObjectCaseSensitive(b, "logprobs");
    cJSON_AddTrueToObject(b, "logprobs");
    if (model) {
        cJSON_DeleteItemFromObjectCaseSensitive(b, "model");
        cJSON_AddStringToObject(b, "model", model);
    }
    if (token_ids) {
        cJSON_DeleteItemFromObjectCaseSensitive(b, "return_tokens_as_token_ids");
        cJSON_AddTrueToObject(b, "return_tokens_as_token_ids");
        cJSON_DeleteItemFromObjectCaseSensitive(b, "return_token_ids");
        cJSON_AddTrueToObject(b, "return_token_ids");
    }
    if (cache_salt) {
        cJSON_DeleteItemFromObjectCaseSensitive(b, "cache_salt");
        cJSON_AddStringToObject(b, "cache_salt", cache_salt);
    }
    cJSON *ov = NULL;
    cap_field(b, "n", g->upstream_max_n, &ov);
    cap_field(b, "best_of", g->upstream_max_n, &ov);
    if (g->upstream_max_tokens >= 0) {
        cap_field(b, "max_tokens", (double)g->upstream_max_tokens, &ov);
        cap_field(b, "max_completion_tokens", (double)g->upstream_max_tokens, &ov);
    }
    free(c->overrides);
    c->overrides = ov ? cJSON_PrintUnformatted(ov) : NULL;
    cJSON_Delete(ov);
    struct up_job *j = calloc(1, sizeof *j);
    size_t ul = strlen(url) + sizeof "/chat/completions";
    if (j) {
        j->body = cJSON_PrintUnformatted(b);
        j->url = malloc(ul);
        j->key_env = key_env ? strdup(key_env) : NULL;
    }
    cJSON_Delete(b);
    if (!j || !j->body || !j->url || (key_env && !j->key_env)) {
        job_free(j);
        return -1;
    }
    snprintf(j->url, ul, "%s/chat/completions", url);
    memcpy(j->id, c->id, sizeof j->id);
    snprintf(j->session, sizeof j->session, "X-Session-ID: %s", c->rollout_id); /* [A-Za-z0-9._:-]{1,128} */
    j->deadline = c->deadline;
    j->next = u->incoming;
    u->incoming = j;
    curl_multi_wakeup(u->multi);
    return 0;
}

/* The upstream route of a pass-through call c in dialect d under url
 * (malloc'ed), or NULL when out of memory. */
static char *passthrough_url(const struct gate_conn *c, const char *url, const char *model, int d)
{
    const char *m = model ? model : c->req.model ? c->req.model : "model";
    size_t n = strlen(url) + strlen(m) + 64;
    char *u = malloc(n);
    if (!u)
        return NULL;
    if (d == GATE_DIALECT_GEMINI)
        snprintf(u, n, "%s/models/%s:%s", url, m, c->req.stream ? "streamGenerateContent?alt=sse" : "generateContent");
    else
        snprintf(u, n, "%s/%s", url, d == GATE_DIALECT_MESSAGES ? "messages" : "responses");
    return u;
}

void gate_passthrough_submit_locked(struct corral_gate *g, struct gate_conn *c, const char *url, const char *key_env,
                                    const char *model, int dialect)
{
    struct gate_upstream *u = g->upstream;
    if (c->answer_chat) { /* a remote node wants the chat form, which a pass-through does not give */
        gate_fail_locked(g, c, 400, "corral gate: a remote node's call cannot reach a same-dialect upstream: "
                         "give the node that upstream (corral run --model upstream:URL --upstream-dialect)",
                         "invalid_request_error", "dialect_mismatch");
        return;
    }
    if (c->dialect != dialect || !c->raw) {
        char m[256];
        snprintf(m, sizeof m, "corral gate: the upstream speaks %s only (--upstream-dialect); a %s call cannot reach it",
                 gate_dialect_name(dialect), gate_dialect_name(c->dialect));
        gate_fail_locked(g, c, 400, m, "invalid_request_error", "dialect_mismatch");
        return;
    }
    struct up_job *j = u && !u->stop ? calloc(1, sizeof *j) : NULL;
    if (j) {
        j->dialect = dialect;
        j->url = passthrough_url(c, url, model, dialect);
        j->key_env = key_env ? strdup(key_env) : NULL;
        if (model && dialect != GATE_DIALECT_GEMINI) { /* Gemini's model is in the path */
            cJSON *b = gate_json_parse_exact(c->raw, c->raw_len);
            if (cJSON_IsObject(b)) {
                cJSON_DeleteItemFromObjectCaseSensitive(b, "model");
                cJSON_AddStringToObject(b, "model", model);
                j->body = cJSON_PrintUnformatted(b);
            }
            cJSON_Delete(b);
        } else {
            j->body = strndup(c->raw, c->raw_len);
        }
    }
    if (!j || !j->body || !j->url || (key_env && !j->key_env)) {
        job_free(j);
        gate_fail_locked(g, c, 502, "corral gate: cannot start the upstream request", "server_error",
                         "upstream_unavailable");
        return;
    }
    memcpy(j->id, c->id, sizeof j->id);
    snprintf(j->session, sizeof j->session, "X-Session-ID: %s", c->rollout_id);
    j->deadline = c->deadline;
    j->g = g;
    j->want_stream = c->req.stream;
    memcpy(j->rollout, c->rollout_id, sizeof j->rollout);
    j->t_start = c->t_start;
    j->next = u->incoming;
    u->incoming = j;
    curl_multi_wakeup(u->multi);
}
