/* The gate over real HTTP: libcurl clients against the real MHD server on
 * 127.0.0.1:0 (and a unix socket).  Auth, cross-rollout refusal, SSE and
 * JSON shapes, limits, deadlines, the three responders, unregister with a
 * call pending, and 128 concurrent rollouts. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#include <corral/gate.h>

#include "http_client.h"

#include "gate/gate_internal.h" /* some tests peek at the waiter count and the loaded scripts */

/* ---- an HTTP client (http_client.c) ------------------------------------------------ */

static const char *extra_header; /* one more request header, or NULL */
static long http_timeout = 30;   /* seconds */

/* method "GET"/"POST"/"DELETE"; token NULL = no Authorization header. */
static struct http_resp http(const char *method, const char *url, const char *token, const char *body,
                        const char *unix_path)
{
    char auth[512];
    const char *headers[3] = {0};
    size_t n = 0;
    if (extra_header)
        headers[n++] = extra_header;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    return http_request(method, url, headers, body, unix_path, http_timeout);
}

static void resp_free(struct http_resp *r)
{
    http_resp_free(r);
}

static const char *CHAT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *CHAT_STREAM = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void chat_url(corral_gate *g, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/rollout/%s/v1/chat/completions", corral_gate_url(g), id);
}

static corral_gate *gate_with(struct corral_gate_options *o)
{
    struct corral_gate_options def;
    memset(&def, 0, sizeof def);
    if (!o)
        o = &def;
    o->struct_size = sizeof *o;
    corral_gate *g = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_gate_new(o, &g, &call);
    if (rc)
        fprintf(stderr, "gate_new: %s\n", call.message);
    assert_int_equal(rc, 0);
    return g;
}

static void reg_replay(corral_gate *g, const char *id, const char *script, char token[65])
{
    struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_REPLAY, .replay_jsonl = script};
    struct corral_call call;
    corral_call_init(&call, 0);
    int rc = corral_gate_register(g, id, &r, token, &call);
    if (rc)
        fprintf(stderr, "register: %s\n", call.message);
    assert_int_equal(rc, 0);
}

static void reg_trainer(corral_gate *g, const char *id, char token[65])
{
    struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_TRAINER};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_register(g, id, &r, token, &call), 0);
}

/* content of choices[0].message of a JSON chat.completion */
static char *message_content(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    const cJSON *c = cJSON_GetObjectItem(m, "content");
    char *s = cJSON_IsString(c) ? strdup(c->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

static const char *error_code(cJSON *j)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
    return cJSON_IsString(c) ? c->valuestring : "";
}

/* ---- auth ------------------------------------------------------------------------ */

static void test_auth(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_replay(g, "r1", "{\"content\":\"a\"}\n{\"content\":\"b\"}\n", tok);
    chat_url(g, "r1", url, sizeof url);

    struct http_resp ok = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(ok.status, 200);
    char *content = message_content(ok.body);
    assert_string_equal(content, "a");
    free(content);
    assert_string_equal(ok.ctype, "application/json");

    char bad[65];
    memcpy(bad, tok, 65);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    struct http_resp wrong = http("POST", url, bad, CHAT, NULL);
    assert_int_equal(wrong.status, 401);
    struct http_resp missing = http("POST", url, NULL, CHAT, NULL);
    assert_int_equal(missing.status, 401);
    assert_string_equal(wrong.body, missing.body);
    struct http_resp shortt = http("POST", url, "abc", CHAT, NULL);
    assert_int_equal(shortt.status, 401);

    /* token derivation is stable and documented: the same as corral_gate_token */
    char again[65];
    assert_int_equal(corral_gate_token(g, "r1", again), 0);
    assert_string_equal(again, tok);
    assert_int_equal(strlen(tok), 64);

    /* the failed calls did not consume a replay line */
    struct http_resp ok2 = http("POST", url, tok, CHAT, NULL);
    content = message_content(ok2.body);
    assert_string_equal(content, "b");
    free(content);

    resp_free(&ok), resp_free(&ok2), resp_free(&wrong), resp_free(&missing), resp_free(&shortt);
    corral_gate_free(g);
}

static void test_cross_rollout(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char ta[65], tb[65], tu[65], url[512];
    reg_replay(g, "A", "{\"content\":\"a\"}\n", ta);
    reg_replay(g, "B", "{\"content\":\"b\"}\n", tb);
    assert_string_not_equal(ta, tb);
    chat_url(g, "B", url, sizeof url);
    struct http_resp cross = http("POST", url, ta, CHAT, NULL);
    assert_int_equal(cross.status, 401);

    /* unknown rollout with a token valid for its id, and with a wrong one */
    assert_int_equal(corral_gate_token(g, "ghost", tu), 0);
    chat_url(g, "ghost", url, sizeof url);
    struct http_resp ghost_valid = http("POST", url, tu, CHAT, NULL);
    struct http_resp ghost_wrong = http("POST", url, ta, CHAT, NULL);
    assert_int_equal(ghost_valid.status, 401);
    assert_int_equal(ghost_wrong.status, 401);
    assert_string_equal(cross.body, ghost_valid.body);
    assert_string_equal(cross.body, ghost_wrong.body);
    /* malformed body on someone else's rollout: still the 401, not a 400 */
    chat_url(g, "B", url, sizeof url);
    struct http_resp cross_bad = http("POST", url, ta, "{nope", NULL);
    assert_int_equal(cross_bad.status, 401);
    assert_string_equal(cross.body, cross_bad.body);

    /* B's own call still gets B's answer */
    struct http_resp own = http("POST", url, tb, CHAT, NULL);
    assert_int_equal(own.status, 200);
    char *content = message_content(own.body);
    assert_string_equal(content, "b");
    free(content);
    resp_free(&cross), resp_free(&ghost_valid), resp_free(&ghost_wrong), resp_free(&cross_bad), resp_free(&own);
    corral_gate_free(g);
}

/* ---- shapes ---------------------------------------------------------------------- */

static int has_null(const cJSON *j)
{
    if (cJSON_IsNull(j))
        return 1;
    for (const cJSON *c = j->child; c; c = c->next)
        if (has_null(c))
            return 1;
    return 0;
}

static void test_sse_shape(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_replay(g, "s",
               "{\"content\":\"Let me run it.\",\"tool_calls\":[{\"name\":\"bash\",\"arguments\":{\"command\":\"echo hi\"}},"
               "{\"name\":\"read\",\"arguments\":\"{\\\"path\\\":\\\"x\\\"}\"}],"
               "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}\n",
               tok);
    chat_url(g, "s", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT_STREAM, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");

    int saw_role = 0, saw_done = 0, saw_usage = 0, events = 0;
    char content[256] = "", args[2][256] = {"", ""}, names[2][32] = {"", ""}, ids[2][64] = {"", ""};
    char finish[32] = "";
    char *save = NULL;
    /* every event is "data: ...\n\n" */
    assert_true(r.len > 2 && strcmp(r.body + r.len - 2, "\n\n") == 0);
    for (char *ev = strtok_r(r.body, "\n", &save); ev; ev = strtok_r(NULL, "\n", &save)) {
        assert_true(strncmp(ev, "data: ", 6) == 0);
        events++;
        assert_false(saw_done); /* nothing after [DONE] */
        if (strcmp(ev + 6, "[DONE]") == 0) {
            saw_done = 1;
            continue;
        }
        cJSON *j = cJSON_Parse(ev + 6);
        assert_non_null(j);
        assert_false(has_null(j));
        assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion.chunk");
        const cJSON *choices = cJSON_GetObjectItem(j, "choices");
        assert_true(cJSON_IsArray(choices));
        const cJSON *usage = cJSON_GetObjectItem(j, "usage");
        if (usage) {
            saw_usage = 1;
            assert_int_equal(cJSON_GetArraySize(choices), 0);
            assert_int_equal(cJSON_GetObjectItem(usage, "total_tokens")->valueint, 15);
            assert_true(finish[0]); /* usage comes after the finish chunk */
        }
        const cJSON *ch = cJSON_GetArrayItem(choices, 0);
        if (ch) {
            assert_int_equal(cJSON_GetObjectItem(ch, "index")->valueint, 0);
            const cJSON *d = cJSON_GetObjectItem(ch, "delta");
            assert_true(cJSON_IsObject(d));
            const cJSON *role = cJSON_GetObjectItem(d, "role");
            if (role) {
                assert_int_equal(events, 1); /* the role comes first */
                assert_string_equal(role->valuestring, "assistant");
                saw_role = 1;
            }
            const cJSON *c = cJSON_GetObjectItem(d, "content");
            if (c)
                strcat(content, c->valuestring);
            const cJSON *tc;
            cJSON_ArrayForEach(tc, cJSON_GetObjectItem(d, "tool_calls")) {
                const cJSON *idx = cJSON_GetObjectItem(tc, "index");
                assert_true(cJSON_IsNumber(idx));
                int i = idx->valueint;
                assert_true(i == 0 || i == 1);
                const cJSON *id = cJSON_GetObjectItem(tc, "id");
                if (id)
                    snprintf(ids[i], sizeof ids[i], "%s", id->valuestring);
                const cJSON *fn = cJSON_GetObjectItem(tc, "function");
                const cJSON *nm = cJSON_GetObjectItem(fn, "name");
                if (nm)
                    snprintf(names[i], sizeof names[i], "%s", nm->valuestring);
                const cJSON *a = cJSON_GetObjectItem(fn, "arguments");
                if (a)
                    strcat(args[i], a->valuestring);
            }
            const cJSON *fr = cJSON_GetObjectItem(ch, "finish_reason");
            if (fr)
                snprintf(finish, sizeof finish, "%s", fr->valuestring);
        }
        cJSON_Delete(j);
    }
    assert_true(saw_role);
    assert_true(saw_done);
    assert_true(saw_usage);
    assert_string_equal(content, "Let me run it.");
    assert_string_equal(names[0], "bash");
    assert_string_equal(names[1], "read");
    assert_string_equal(args[0], "{\"command\":\"echo hi\"}");
    assert_string_equal(args[1], "{\"path\":\"x\"}");
    assert_true(strncmp(ids[0], "call_", 5) == 0);
    assert_string_not_equal(ids[0], ids[1]);
    assert_string_equal(finish, "tool_calls");
    resp_free(&r);
    corral_gate_free(g);
}

static void test_json_shape(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_replay(g, "j",
               "{\"tool_calls\":[{\"id\":\"call_9\",\"name\":\"bash\",\"arguments\":{\"command\":\"ls\"}}]}\n"
               "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"full form\"},\"finish_reason\":\"length\"}]}\n",
               tok);
    chat_url(g, "j", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m"); /* the request's model */
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(cJSON_GetObjectItem(ch, "finish_reason")->valuestring, "tool_calls");
    const cJSON *tc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "message"), "tool_calls"), 0);
    assert_string_equal(cJSON_GetObjectItem(tc, "id")->valuestring, "call_9");
    assert_string_equal(cJSON_GetObjectItem(tc, "type")->valuestring, "function");
    const cJSON *fn = cJSON_GetObjectItem(tc, "function");
    assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring, "bash");
    assert_string_equal(cJSON_GetObjectItem(fn, "arguments")->valuestring, "{\"command\":\"ls\"}");
    cJSON_Delete(j);
    resp_free(&r);

    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(cJSON_GetObjectItem(ch, "finish_reason")->valuestring, "length");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "message"), "content")->valuestring, "full form");
    cJSON_Delete(j);
    resp_free(&r);

    /* /v1/models lists the model; no token -> 401 */
    snprintf(url, sizeof url, "%s/rollout/j/v1/models", corral_gate_url(g));
    r = http("GET", url, tok, NULL, NULL);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "id")->valuestring,
                        "corral");
    cJSON_Delete(j);
    resp_free(&r);
    r = http("GET", url, NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);

    /* transcript: two entries in order with request and response */
    char *t = corral_gate_transcript(g, "j");
    j = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    const cJSON *e0 = cJSON_GetArrayItem(j, 0);
    assert_int_equal(cJSON_GetObjectItem(e0, "seq")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(e0, "status")->valueint, 200);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "request"), "model")->valuestring, "m");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(e0, "response")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e0, "latency_ms")));
    cJSON_Delete(j);
    corral_gate_free(g);
}

static void test_limits(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.body_limit = 1024;
    corral_gate *g = gate_with(&o);
    char tok[65], url[512];
    reg_replay(g, "l", "{\"content\":\"x\"}\n", tok);
    chat_url(g, "l", url, sizeof url);

    size_t n = 4096;
    char *big = malloc(n + 100);
    snprintf(big, n + 100, "{\"messages\":[{\"role\":\"user\",\"content\":\"%*s\"}]}", (int)n, "");
    struct http_resp r = http("POST", url, tok, big, NULL);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    /* chunked: no Content-Length to refuse early; the body is dropped as it
     * comes and the answer is still 413 */
    extra_header = "Transfer-Encoding: chunked";
    r = http("POST", url, tok, big, NULL);
    extra_header = NULL;
    assert_int_equal(r.status, 413);
    free(big);
    resp_free(&r);
    /* the limit did not cost the rollout its replay line */
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    r = http("POST", url, tok, "{\"messages\": [", NULL);
    assert_int_equal(r.status, 400);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
                        "invalid_request_error");
    cJSON_Delete(j);
    resp_free(&r);
    r = http("POST", url, tok, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing", NULL);
    assert_int_equal(r.status, 400); /* one JSON value, nothing after it */
    resp_free(&r);
    r = http("POST", url, tok, "{\"model\":\"m\"}", NULL); /* no messages */
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = http("GET", url, tok, NULL, NULL);
    assert_int_equal(r.status, 405);
    resp_free(&r);
    snprintf(url, sizeof url, "%s/elsewhere", corral_gate_url(g));
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    corral_gate_free(g);
}

static void test_deadline(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.request_timeout_ms = 300;
    corral_gate *g = gate_with(&o);
    char tok[65], url[512];
    reg_trainer(g, "d", tok);
    chat_url(g, "d", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT_STREAM, NULL);
    assert_int_equal(r.status, 400); /* non-retryable for both CLIs */
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(error_code(j), "deadline_exceeded");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
                        "invalid_request_error");
    cJSON_Delete(j);
    resp_free(&r);
    /* the expired request cannot be delivered any more */
    struct corral_gate_request *req = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_next_request(g, 0, &req, &call), CORRAL_ETIMEDOUT);
    char *t = corral_gate_transcript(g, "d");
    j = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(j), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "status")->valueint, 400);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "error"));
    cJSON_Delete(j);
    corral_gate_free(g);
}

static void test_replay_order_and_exhaustion(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_replay(g, "o", "# a comment\n{\"content\":\"one\"}\n\n{\"content\":\"two\"}\n"
                       "{\"error\":{\"message\":\"scripted\",\"status\":429}}\n", tok);
    chat_url(g, "o", url, sizeof url);
    const char *want[] = {"one", "two"};
    for (int i = 0; i < 2; i++) {
        struct http_resp r = http("POST", url, tok, CHAT, NULL);
        assert_int_equal(r.status, 200);
        char *c = message_content(r.body);
        assert_string_equal(c, want[i]);
        free(c);
        resp_free(&r);
    }
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 429); /* a scripted error line */
    resp_free(&r);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 400);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(error_code(j), "replay_exhausted");
    cJSON_Delete(j);
    resp_free(&r);

    /* a bad script fails registration, naming the line */
    struct corral_gate_responder bad = {.struct_size = sizeof bad, .kind = CORRAL_GATE_REPLAY,
                                        .replay_jsonl = "{\"content\":\"ok\"}\n{\"contnet\":\"typo\"}\n"};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_register(g, "bad", &bad, NULL, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "line 2"));
    /* a duplicate id is refused */
    assert_int_equal(corral_gate_register(g, "o", &bad, NULL, &call), CORRAL_EINVAL);
    struct corral_gate_responder tr = {.struct_size = sizeof tr, .kind = CORRAL_GATE_TRAINER};
    assert_int_equal(corral_gate_register(g, "o", &tr, NULL, &call), CORRAL_EEXIST);
    assert_int_equal(corral_gate_register(g, "bad/id", &tr, NULL, &call), CORRAL_EINVAL);
    corral_gate_free(g);
}

/* A replay line is prepared once at load and answered many times: each
 * answer still gets its own tool-call ids, the exact SSE framing the CLIs
 * parse, and the transcript keeps the very object the agent got. */
static void test_replay_prepared_answers(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    const char *script = "{\"tool_calls\":[{\"name\":\"bash\",\"arguments\":{\"command\":\"ls\"}}]}\n"
                         "{\"content\":\"h\xc3\xa9llo \\\"q\\\"\\n\\u0001\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n";
    char tok[2][65], url[2][512], ids[2][64];
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        reg_replay(g, id, script, tok[i]);
        chat_url(g, id, url[i], sizeof url[i]);
        struct http_resp r = http("POST", url[i], tok[i], CHAT, NULL);
        assert_int_equal(r.status, 200);
        cJSON *j = cJSON_Parse(r.body);
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const cJSON *tc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "message"), "tool_calls"), 0);
        snprintf(ids[i], sizeof ids[i], "%s", cJSON_GetObjectItem(tc, "id")->valuestring);
        assert_int_equal(strlen(ids[i]), 29); /* call_ and 24 hex */
        assert_true(strncmp(ids[i], "call_", 5) == 0);
        cJSON_Delete(j);
        if (i == 0) { /* the transcript keeps the object as sent */
            char *t = corral_gate_transcript(g, id);
            cJSON *tj = cJSON_Parse(t);
            char *kept = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(tj, 0), "response"));
            assert_string_equal(kept, r.body);
            free(kept);
            cJSON_Delete(tj);
            free(t);
        }
        resp_free(&r);
    }
    assert_string_not_equal(ids[0], ids[1]); /* fresh per answer, not per script */

    struct http_resp r = http("POST", url[0], tok[0], CHAT_STREAM, NULL);
    assert_int_equal(r.status, 200);
    char cid[64];
    long long created = 0;
    assert_int_equal(sscanf(r.body, "data: {\"id\":\"%63[^\"]\",\"object\":\"chat.completion.chunk\",\"created\":%lld",
                            cid, &created), 2);
    char head[256], want[2048];
    snprintf(head, sizeof head,
             "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":\"m\",\"choices\":",
             cid, created);
    snprintf(want, sizeof want,
             "%s[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
             "%s[{\"index\":0,\"delta\":{\"content\":\"h\xc3\xa9llo \\\"q\\\"\\n\\u0001\"}}]}\n\n"
             "%s[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
             "%s[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
             "data: [DONE]\n\n",
             head, head, head, head);
    assert_string_equal(r.body, want);
    resp_free(&r);
    corral_gate_free(g);
}

/* The gate's loaded scripts: how many, and the users of the one with text. */
static size_t scripts_loaded(corral_gate *g, const char *text, size_t *refs)
{
    unsigned char want[32];
    assert_true(EVP_Digest(text, strlen(text), want, NULL, EVP_sha256(), NULL));
    size_t n = 0;
    *refs = 0;
    pthread_mutex_lock(&g->scripts.lock);
    for (const struct gate_script *sc = g->scripts.head; sc; sc = sc->next, n++)
        if (memcmp(sc->digest, want, sizeof want) == 0)
            *refs = sc->refs;
    pthread_mutex_unlock(&g->scripts.lock);
    return n;
}

static void unreg(corral_gate *g, const char *id)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_unregister(g, id, NULL, &call), 0);
}

/* Rollouts registered with the same script (inline or from a file) share
 * one loaded copy, each with its own position; the last one out frees it. */
static void test_replay_script_shared(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    const char *one = "{\"content\":\"one\"}\n{\"content\":\"two\"}\n", *other = "{\"content\":\"else\"}\n";
    char path[] = "/tmp/corral-test-replay-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, one, strlen(one)), (ssize_t)strlen(one));
    close(fd);

    char tok[3][65], url[3][512];
    reg_replay(g, "a", one, tok[0]);
    struct corral_gate_responder byfile = {.struct_size = sizeof byfile, .kind = CORRAL_GATE_REPLAY,
                                           .replay_path = path};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_register(g, "b", &byfile, tok[1], &call), 0);
    reg_replay(g, "c", other, tok[2]);
    unlink(path);
    size_t refs;
    assert_int_equal(scripts_loaded(g, one, &refs), 2);
    assert_int_equal(refs, 2);

    const char *want[] = {"one", "one", "two"};
    const int who[] = {0, 1, 0};
    for (int i = 0; i < 3; i++) {
        char id[2] = {(char)('a' + who[i]), 0};
        chat_url(g, id, url[who[i]], sizeof url[who[i]]);
        struct http_resp r = http("POST", url[who[i]], tok[who[i]], CHAT, NULL);
        assert_int_equal(r.status, 200);
        char *c = message_content(r.body);
        assert_string_equal(c, want[i]);
        free(c);
        resp_free(&r);
    }

    unreg(g, "a");
    assert_int_equal(scripts_loaded(g, one, &refs), 2);
    assert_int_equal(refs, 1);
    unreg(g, "b");
    assert_int_equal(scripts_loaded(g, one, &refs), 1); /* freed with its last user */
    assert_int_equal(refs, 0);
    unreg(g, "c");
    assert_null(g->scripts.head);

    /* a bad script fails every registration and stays loaded for none */
    struct corral_gate_responder bad = {.struct_size = sizeof bad, .kind = CORRAL_GATE_REPLAY,
                                        .replay_jsonl = "{\"content\":\"ok\"}\n{\"nope\":1}\n"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(corral_gate_register(g, "bad", &bad, NULL, &call), CORRAL_EINVAL);
        assert_non_null(strstr(call.message, "line 2"));
    }
    assert_null(g->scripts.head);
    corral_gate_free(g);
}

#define NSHARE 64
struct share_arg {
    corral_gate *g;
    const char *script;
    int i, rc;
};

static void *share_main(void *p)
{
    struct share_arg *a = p;
    char id[16];
    snprintf(id, sizeof id, "s%d", a->i);
    struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_REPLAY, .replay_jsonl = a->script};
    struct corral_call call;
    corral_call_init(&call, 0);
    a->rc = corral_gate_register(a->g, id, &r, NULL, &call);
    return NULL;
}

/* Many rollouts registering one (large) script at once: loaded once. */
static void test_replay_script_shared_threads(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    const char *line = "{\"content\":\"a line of the script\",\"tool_calls\":[{\"name\":\"bash\",\"arguments\":{}}]}\n";
    size_t ll = strlen(line), lines = 2000;
    char *script = malloc(ll * lines + 1);
    for (size_t i = 0; i < lines; i++)
        memcpy(script + i * ll, line, ll);
    script[ll * lines] = 0;
    struct share_arg args[NSHARE];
    pthread_t th[NSHARE];
    for (int i = 0; i < NSHARE; i++) {
        args[i] = (struct share_arg){.g = g, .script = script, .i = i};
        assert_int_equal(pthread_create(&th[i], NULL, share_main, &args[i]), 0);
    }
    for (int i = 0; i < NSHARE; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    size_t refs;
    assert_int_equal(scripts_loaded(g, script, &refs), 1);
    assert_int_equal(refs, NSHARE);
    assert_int_equal(g->scripts.head->replay.n, lines);
    for (int i = 0; i < NSHARE / 2; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        unreg(g, id);
    }
    assert_int_equal(scripts_loaded(g, script, &refs), 1);
    assert_int_equal(refs, NSHARE / 2);
    free(script);
    corral_gate_free(g); /* frees the other half's references */
}

/* ---- trainer ------------------------------------------------------------------------- */

struct client_arg {
    const char *url;
    const char *token;
    const char *body;
    const char *unix_path;
    struct http_resp r;
};

static void *client_main(void *p)
{
    struct client_arg *a = p;
    a->r = http("POST", a->url, a->token, a->body, a->unix_path);
    return NULL;
}

struct trainer_arg {
    corral_gate *g;
    int served;
    char seen_rollout[64];
    char seen_body[512];
};

static void *trainer_main(void *p)
{
    struct trainer_arg *a = p;
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_request *req = NULL;
    if (corral_gate_next_request(a->g, 10000, &req, &call) != 0)
        return NULL;
    snprintf(a->seen_rollout, sizeof a->seen_rollout, "%s", req->rollout_id);
    snprintf(a->seen_body, sizeof a->seen_body, "%s", req->body);
    char resp[256];
    snprintf(resp, sizeof resp, "{\"content\":\"from trainer for %s\",\"token_ids\":[1,2,3],\"logprobs\":[-0.5,-1,-2]}",
             req->rollout_id);
    if (corral_gate_deliver(a->g, req->id, resp, &call) == 0)
        a->served = 1;
    /* a second delivery for the same id finds nothing */
    if (corral_gate_deliver(a->g, req->id, resp, &call) != CORRAL_ENOTFOUND)
        a->served = -1;
    corral_gate_request_free(req);
    return NULL;
}

static void test_trainer_c_api(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_trainer(g, "t1", tok);
    chat_url(g, "t1", url, sizeof url);
    struct trainer_arg ta = {.g = g};
    pthread_t th;
    pthread_create(&th, NULL, trainer_main, &ta);
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    pthread_join(th, NULL);
    assert_int_equal(ta.served, 1);
    assert_string_equal(ta.seen_rollout, "t1");
    assert_string_equal(ta.seen_body, CHAT);
    assert_int_equal(r.status, 200);
    char *c = message_content(r.body);
    assert_string_equal(c, "from trainer for t1");
    free(c);
    resp_free(&r);

    char *t = corral_gate_transcript(g, "t1");
    cJSON *j = cJSON_Parse(t);
    free(t);
    const cJSON *e = cJSON_GetArrayItem(j, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "token_ids")), 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "logprobs")), 3);
    cJSON_Delete(j);

    /* a malformed delivery is refused and leaves the request pending */
    struct client_arg ca = {.url = url, .token = tok, .body = CHAT};
    pthread_create(&th, NULL, client_main, &ca);
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_request *req = NULL;
    assert_int_equal(corral_gate_next_request(g, 10000, &req, &call), 0);
    assert_int_equal(corral_gate_deliver(g, req->id, "{\"bogus\":1}", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_deliver(g, req->id, "{\"content\":\"second\"}", &call), 0);
    pthread_join(th, NULL);
    assert_int_equal(ca.r.status, 200);
    c = message_content(ca.r.body);
    assert_string_equal(c, "second");
    free(c);
    corral_gate_request_free(req);
    resp_free(&ca.r);
    assert_int_equal(corral_gate_deliver(g, "00000000000000000000000000000000", "{\"content\":\"x\"}", &call),
                     CORRAL_ENOTFOUND);
    corral_gate_free(g);
}

static void test_trainer_http_api(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.trainer_listen = 1;
    corral_gate *g = gate_with(&o);
    const char *turl = corral_gate_trainer_url(g);
    const char *ttok = corral_gate_trainer_token(g);
    assert_non_null(turl);
    assert_non_null(ttok);
    char u[512];

    /* the trainer registers a rollout over HTTP */
    snprintf(u, sizeof u, "%s/v1/rollouts/h1", turl);
    struct http_resp r = http("POST", u, "wrong-token-wrong-token", "", NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    r = http("POST", u, ttok, "", NULL);
    assert_int_equal(r.status, 201);
    cJSON *j = cJSON_Parse(r.body);
    char tok[65], base[256];
    snprintf(tok, sizeof tok, "%s", cJSON_GetObjectItem(j, "token")->valuestring);
    snprintf(base, sizeof base, "%s", cJSON_GetObjectItem(j, "base_url")->valuestring);
    cJSON_Delete(j);
    resp_free(&r);
    char want[65];
    corral_gate_token(g, "h1", want);
    assert_string_equal(tok, want);

    /* nothing queued: the long-poll times out with 204 */
    snprintf(u, sizeof u, "%s/v1/requests/next?timeout=0.2", turl);
    r = http("GET", u, ttok, NULL, NULL);
    assert_int_equal(r.status, 204);
    resp_free(&r);

    /* the agent calls; a long-poll that started first gets it */
    char url[512];
    snprintf(url, sizeof url, "%s/chat/completions", base);
    struct client_arg ca = {.url = url, .token = tok, .body = CHAT_STREAM};
    pthread_t th;
    snprintf(u, sizeof u, "%s/v1/requests/next?timeout=10", turl);
    pthread_create(&th, NULL, client_main, &ca);
    r = http("GET", u, ttok, NULL, NULL);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    char rid[64];
    snprintf(rid, sizeof rid, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    assert_int_equal(strlen(rid), 32);
    assert_string_equal(cJSON_GetObjectItem(j, "rollout_id")->valuestring, "h1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "stream")));
    cJSON_Delete(j);
    resp_free(&r);

    snprintf(u, sizeof u, "%s/v1/requests/%s/response", turl, rid);
    r = http("POST", u, ttok, "not json", NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = http("POST", u, ttok, "{\"content\":\"over http\"}", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("POST", u, ttok, "{\"content\":\"again\"}", NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    pthread_join(th, NULL);
    assert_int_equal(ca.r.status, 200);
    assert_non_null(strstr(ca.r.body, "\"content\":\"over http\""));
    assert_non_null(strstr(ca.r.body, "data: [DONE]"));
    resp_free(&ca.r);

    /* transcript and unregister over HTTP */
    snprintf(u, sizeof u, "%s/v1/rollouts/h1/transcript", turl);
    r = http("GET", u, ttok, NULL, NULL);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetArraySize(j), 1);
    cJSON_Delete(j);
    resp_free(&r);
    snprintf(u, sizeof u, "%s/v1/rollouts/h1", turl);
    r = http("DELETE", u, ttok, NULL, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("DELETE", u, ttok, NULL, NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    /* the agent's token no longer opens anything */
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    corral_gate_free(g);
}

static void test_unregister_pending(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_trainer(g, "u", tok);
    chat_url(g, "u", url, sizeof url);
    struct client_arg ca[2] = {{.url = url, .token = tok, .body = CHAT}, {.url = url, .token = tok, .body = CHAT_STREAM}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, client_main, &ca[i]);
    /* wait until one is taken by the trainer (claimed) and one is queued */
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_request *req = NULL;
    assert_int_equal(corral_gate_next_request(g, 10000, &req, &call), 0);
    size_t queued = 0;
    for (int i = 0; i < 1000 && !(corral_gate_pending(g, &queued) == 2 && queued == 1); i++)
        usleep(10000);
    assert_int_equal(corral_gate_pending(g, &queued), 2);
    assert_int_equal(queued, 1);
    char *transcript = NULL;
    assert_int_equal(corral_gate_unregister(g, "u", &transcript, &call), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ca[i].r.status, 410);
        assert_int_equal(corral_gate_pending(g, NULL), 0);
        cJSON *j = cJSON_Parse(ca[i].r.body);
        assert_string_equal(error_code(j), "rollout_ended");
        cJSON_Delete(j);
        resp_free(&ca[i].r);
    }
    cJSON *t = cJSON_Parse(transcript);
    assert_int_equal(cJSON_GetArraySize(t), 2);
    cJSON_Delete(t);
    free(transcript);
    /* delivering for the dead request finds nothing; the gate is still fine */
    assert_int_equal(corral_gate_deliver(g, req->id, "{\"content\":\"late\"}", &call), CORRAL_ENOTFOUND);
    corral_gate_request_free(req);
    assert_int_equal(corral_gate_unregister(g, "u", NULL, &call), CORRAL_ENOTFOUND);
    corral_gate_free(g);
}

static void test_free_with_pending(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    char tok[65], url[512];
    reg_trainer(g, "f", tok);
    chat_url(g, "f", url, sizeof url);
    struct client_arg ca = {.url = url, .token = tok, .body = CHAT};
    pthread_t th;
    pthread_create(&th, NULL, client_main, &ca);
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_request *req = NULL;
    assert_int_equal(corral_gate_next_request(g, 10000, &req, &call), 0);
    corral_gate_request_free(req);
    corral_gate_free(g); /* the pending call is failed, not left hanging */
    pthread_join(th, NULL);
    assert_int_equal(ca.r.status, 410);
    resp_free(&ca.r);
}

static int blocked_rc;
static void *blocked_next(void *p)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_request *req = NULL;
    blocked_rc = corral_gate_next_request(p, -1, &req, &call);
    corral_gate_request_free(req);
    return NULL;
}

static void test_free_wakes_trainer(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    pthread_t th;
    blocked_rc = 1;
    pthread_create(&th, NULL, blocked_next, g);
    /* free() only after the thread is inside next_request() (internal view) */
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&g->lock);
        size_t w = g->api_waiters;
        pthread_mutex_unlock(&g->lock);
        if (w == 1)
            break;
        usleep(1000);
    }
    corral_gate_free(g);
    pthread_join(th, NULL);
    assert_int_equal(blocked_rc, CORRAL_ECANCELED);
}

/* Pending calls hold connections; past max_connections the gate takes no
 * new connection (they wait in the kernel's backlog) until some end. */
static void test_connection_limit(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.max_connections = 4;
    corral_gate *g = gate_with(&o);
    char tok[65], url[512];
    reg_trainer(g, "c", tok);
    chat_url(g, "c", url, sizeof url);
    struct client_arg ca[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ca[i] = (struct client_arg){.url = url, .token = tok, .body = CHAT};
        pthread_create(&th[i], NULL, client_main, &ca[i]);
    }
    for (int i = 0; i < 1000 && corral_gate_pending(g, NULL) < 4; i++)
        usleep(10000);
    assert_int_equal(corral_gate_pending(g, NULL), 4);
    http_timeout = 1;
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    http_timeout = 30;
    assert_int_equal(r.status, -(long)CURLE_OPERATION_TIMEDOUT); /* not taken */
    resp_free(&r);
    assert_int_equal(corral_gate_pending(g, NULL), 4);
    struct corral_call call;
    corral_call_init(&call, 0);
    for (int i = 0; i < 4; i++) {
        struct corral_gate_request *req = NULL;
        assert_int_equal(corral_gate_next_request(g, 5000, &req, &call), 0);
        assert_int_equal(corral_gate_deliver(g, req->id, "{\"content\":\"ok\"}", &call), 0);
        corral_gate_request_free(req);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ca[i].r.status, 200);
        resp_free(&ca[i].r);
    }
    struct client_arg again = {.url = url, .token = tok, .body = CHAT};
    pthread_create(&th[0], NULL, client_main, &again);
    /* the refused call's request may also arrive now, from the backlog
     * (its client is gone): answer whatever comes until ours is done */
    int joined = 0;
    for (int i = 0; i < 100 && !(joined = pthread_tryjoin_np(th[0], NULL) == 0); i++) {
        struct corral_gate_request *req = NULL;
        if (corral_gate_next_request(g, 100, &req, &call) == 0)
            corral_gate_deliver(g, req->id, "{\"content\":\"ok\"}", &call);
        corral_gate_request_free(req);
    }
    if (!joined)
        pthread_join(th[0], NULL);
    assert_int_equal(again.r.status, 200);
    resp_free(&again.r);
    corral_gate_free(g);
}

/* ---- concurrency ------------------------------------------------------------------------ */

#define NROLL 128
#define NCALLS 3

struct roll_arg {
    corral_gate *g;
    int i;
    int ok;
};

static void *roll_main(void *p)
{
    struct roll_arg *a = p;
    char id[32], tok[65], url[512], script[512];
    snprintf(id, sizeof id, "roll-%d", a->i);
    snprintf(script, sizeof script, "{\"content\":\"%d-1\"}\n{\"content\":\"%d-2\"}\n{\"content\":\"%d-3\"}\n", a->i,
             a->i, a->i);
    struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_REPLAY, .replay_jsonl = script};
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_gate_register(a->g, id, &r, tok, &call) != 0)
        return NULL;
    chat_url(a->g, id, url, sizeof url);
    int ok = 0;
    for (int n = 1; n <= NCALLS; n++) {
        struct http_resp x = http("POST", url, tok, (n % 2) ? CHAT : CHAT_STREAM, NULL);
        char want[64];
        snprintf(want, sizeof want, "\"content\":\"%d-%d\"", a->i, n);
        if (x.status == 200 && x.body && strstr(x.body, want))
            ok++;
        resp_free(&x);
    }
    a->ok = ok == NCALLS;
    char *t = NULL;
    if (corral_gate_unregister(a->g, id, &t, &call) != 0)
        a->ok = 0;
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    if (cJSON_GetArraySize(j) != NCALLS)
        a->ok = 0;
    cJSON_Delete(j);
    free(t);
    return NULL;
}

static void test_128_rollouts(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    struct roll_arg args[NROLL];
    pthread_t th[NROLL];
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (int i = 0; i < NROLL; i++) {
        args[i] = (struct roll_arg){.g = g, .i = i};
        assert_int_equal(pthread_create(&th[i], &at, roll_main, &args[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < NROLL; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    pthread_attr_destroy(&at);
    assert_int_equal(ok, NROLL);
    corral_gate_free(g);
}

/* 128 trainer rollouts all waiting at once: none blocks the others. */
static void *deliver_all(void *p)
{
    corral_gate *g = p;
    struct corral_call call;
    corral_call_init(&call, 0);
    for (int n = 0; n < NROLL; n++) {
        struct corral_gate_request *req = NULL;
        if (corral_gate_next_request(g, 20000, &req, &call) != 0)
            return NULL;
        char resp[160];
        snprintf(resp, sizeof resp, "{\"content\":\"answer for %s\"}", req->rollout_id);
        corral_gate_deliver(g, req->id, resp, &call);
        corral_gate_request_free(req);
    }
    return NULL;
}

static void test_128_pending_trainer(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    static char urls[NROLL][256], toks[NROLL][65];
    struct client_arg ca[NROLL];
    pthread_t th[NROLL], tr;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (int i = 0; i < NROLL; i++) {
        char id[32];
        snprintf(id, sizeof id, "p%d", i);
        reg_trainer(g, id, toks[i]);
        chat_url(g, id, urls[i], sizeof urls[i]);
        ca[i] = (struct client_arg){.url = urls[i], .token = toks[i], .body = CHAT};
        pthread_create(&th[i], &at, client_main, &ca[i]);
    }
    /* all 128 calls are pending at once before the trainer answers any */
    for (int i = 0; i < 3000 && corral_gate_pending(g, NULL) < NROLL; i++)
        usleep(10000);
    assert_int_equal(corral_gate_pending(g, NULL), NROLL);
    pthread_create(&tr, NULL, deliver_all, g);
    int ok = 0;
    for (int i = 0; i < NROLL; i++) {
        pthread_join(th[i], NULL);
        char want[64];
        snprintf(want, sizeof want, "answer for p%d\"", i);
        ok += ca[i].r.status == 200 && strstr(ca[i].r.body, want) != NULL;
        resp_free(&ca[i].r);
    }
    pthread_join(tr, NULL);
    pthread_attr_destroy(&at);
    assert_int_equal(ok, NROLL);
    corral_gate_free(g);
}

/* ---- unix socket --------------------------------------------------------------------------- */

static void test_unix_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/corral-gate-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/gate.sock", dir);
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.unix_socket_path = path;
    corral_gate *g = gate_with(&o);
    char tok[65];
    reg_replay(g, "x", "{\"content\":\"via unix\"}\n", tok);
    /* the host part is ignored by curl when a unix socket is used */
    struct http_resp r = http("POST", "http://gate/rollout/x/v1/chat/completions", tok, CHAT, path);
    assert_int_equal(r.status, 200);
    char *c = message_content(r.body);
    assert_string_equal(c, "via unix");
    free(c);
    resp_free(&r);
    r = http("POST", "http://gate/rollout/x/v1/chat/completions", "0000", CHAT, path);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    corral_gate_free(g);
    assert_int_equal(access(path, F_OK), -1); /* removed on free */
    rmdir(dir);
}

/* Binding a socket must not touch the process umask: a rollout's socket is
 * bound while other threads create sandboxes, and a workspace made with
 * mkdir(0755) under a borrowed umask 0177 came out 0600, so bwrap could
 * not chdir into it (CI: "Can't chdir to /workspace: Permission denied"). */
struct bind_loop {
    char dir[64];
    int stop; /* written by the test's thread, read by the binder: __atomic only */
    int binds;
};

static void *bind_loop_thread(void *arg)
{
    struct bind_loop *b = arg;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/s.sock", b->dir);
    while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
        int fd = gate_unix_socket(path, 0600, 1, err, sizeof err);
        if (fd >= 0)
            close(fd);
        b->binds++;
    }
    return NULL;
}

static void test_unix_socket_keeps_umask(void **state)
{
    (void)state;
    struct bind_loop b = {.dir = "/tmp/corral-gate-umask-XXXXXX"};
    assert_non_null(mkdtemp(b.dir));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/d", b.dir);
    mode_t old = umask(022);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bind_loop_thread, &b), 0);
    int bad = 0, n;
    for (n = 0; n < 20000 && !bad; n++) {
        struct stat st;
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(stat(sub, &st), 0);
        bad = (st.st_mode & 07777) != 0755;
        rmdir(sub);
    }
    __atomic_store_n(&b.stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    umask(old);
    char path[128];
    snprintf(path, sizeof path, "%s/s.sock", b.dir);
    unlink(path);
    rmdir(b.dir);
    print_message("%d mkdirs against %d binds\n", n, b.binds);
    assert_int_equal(bad, 0);
    assert_true(b.binds > 0);
}

/* ---- upstream, against a fake OpenAI server ---------------------------------------------- */

static char up_last_body[8192];
static char up_last_auth[256];
static char up_last_session[256];
static int up_status = 200;
static int up_sleep_ms;

static enum MHD_Result up_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version;
    static size_t len;
    if (*con_cls == NULL) {
        *con_cls = c;
        len = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (len + n < sizeof up_last_body) {
            memcpy(up_last_body + len, upload, n);
            len += n;
            up_last_body[len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    int sleep_ms = __atomic_load_n(&up_sleep_ms, __ATOMIC_RELAXED); /* set by the test's thread */
    if (sleep_ms)
        usleep((useconds_t)sleep_ms * 1000);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(up_last_auth, sizeof up_last_auth, "%s", auth ? auth : "");
    const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Session-ID");
    snprintf(up_last_session, sizeof up_last_session, "%s", sid ? sid : "");
    const char *body =
        up_status == 200 && strcmp(url, "/v1/chat/completions") == 0
            ? "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              "\"content\":\"upstream says hi\"},\"finish_reason\":\"stop\",\"logprobs\":{\"content\":["
              "{\"token\":\"token_id:11\",\"logprob\":-0.25},{\"token\":\"token_id:22\",\"logprob\":-1.5}]}}],"
              "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9},"
              "\"prompt_token_ids\":[1,2,3,4,5,6,7]}"
            : "{\"error\":{\"message\":\"model not found\",\"type\":\"invalid_request_error\"}}";
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, up_status == 200 ? 200 : (unsigned)up_status, r);
    MHD_destroy_response(r);
    return rc;
}

static void test_upstream(void **state)
{
    (void)state;
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, up_answer, NULL,
                                            MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    assert_non_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char upurl[128];
    snprintf(upurl, sizeof upurl, "http://127.0.0.1:%u/v1/", (unsigned)info->port);
    setenv("GATE_TEST_UPSTREAM_KEY", "sk-test-123", 1);

    corral_gate *g = gate_with(NULL);
    struct corral_gate_responder up = {.struct_size = sizeof up, .kind = CORRAL_GATE_UPSTREAM,
                                       .upstream_url = upurl, .upstream_api_key_env = "GATE_TEST_UPSTREAM_KEY",
                                       .upstream_model = "org/real-model", .upstream_token_ids = 1,
                                       .upstream_cache_salt = "salt-1"};
    char tok[65], url[512];
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_register(g, "up", &up, tok, &call), 0);
    chat_url(g, "up", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT_STREAM, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream"); /* the agent still gets SSE */
    assert_non_null(strstr(r.body, "\"content\":\"upstream says hi\""));
    assert_non_null(strstr(r.body, "\"total_tokens\":9"));
    resp_free(&r);

    cJSON *sent = cJSON_Parse(up_last_body);
    assert_non_null(sent);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(sent, "stream")));
    assert_null(cJSON_GetObjectItem(sent, "stream_options"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(sent, "logprobs")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(sent, "return_tokens_as_token_ids")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(sent, "return_token_ids")));
    assert_string_equal(cJSON_GetObjectItem(sent, "cache_salt")->valuestring, "salt-1");
    assert_string_equal(cJSON_GetObjectItem(sent, "model")->valuestring, "org/real-model");
    cJSON_Delete(sent);
    assert_string_equal(up_last_auth, "Bearer sk-test-123");
    assert_string_equal(up_last_session, "up"); /* the rollout id, for the router's prefix cache */

    /* the agent's "n" and "max_tokens" do not reach the upstream as asked */
    r = http("POST", url, tok,
             "{\"model\":\"m\",\"n\":8,\"max_tokens\":1000000000,\"max_completion_tokens\":5,"
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    sent = cJSON_Parse(up_last_body);
    assert_int_equal(cJSON_GetObjectItem(sent, "n")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(sent, "max_tokens")->valueint, 32768);
    assert_int_equal(cJSON_GetObjectItem(sent, "max_completion_tokens")->valueint, 5);
    cJSON_Delete(sent);

    char *t = corral_gate_transcript(g, "up");
    cJSON *j = cJSON_Parse(t);
    free(t);
    const cJSON *ov = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "upstream_overrides");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ov, "n"), "asked")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ov, "n"), "sent")->valueint, 1);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(ov, "max_tokens"), "asked")->valuedouble == 1e9);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ov, "max_tokens"), "sent")->valueint, 32768);
    assert_null(cJSON_GetObjectItem(ov, "max_completion_tokens"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "request"), "n")));
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "upstream_overrides"));
    const cJSON *e = cJSON_GetArrayItem(j, 0);
    const cJSON *ids = cJSON_GetObjectItem(e, "token_ids");
    assert_int_equal(cJSON_GetArraySize(ids), 2);
    assert_int_equal(cJSON_GetArrayItem(ids, 1)->valueint, 22);
    assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "logprobs"), 0)->valuedouble == -0.25);
    const cJSON *pids = cJSON_GetObjectItem(e, "prompt_token_ids");
    assert_int_equal(cJSON_GetArraySize(pids), 7);
    assert_int_equal(cJSON_GetArrayItem(pids, 6)->valueint, 7);
    cJSON_Delete(j);

    /* without token ids or a salt: neither vLLM field is sent (OpenAI
     * itself refuses unknown fields); the session header always is */
    struct corral_gate_responder plain = {.struct_size = sizeof plain, .kind = CORRAL_GATE_UPSTREAM,
                                          .upstream_url = upurl};
    char ptok[65], purl[512];
    assert_int_equal(corral_gate_register(g, "plain.1", &plain, ptok, &call), 0);
    chat_url(g, "plain.1", purl, sizeof purl);
    r = http("POST", purl, ptok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    sent = cJSON_Parse(up_last_body);
    assert_null(cJSON_GetObjectItem(sent, "return_token_ids"));
    assert_null(cJSON_GetObjectItem(sent, "return_tokens_as_token_ids"));
    assert_null(cJSON_GetObjectItem(sent, "cache_salt"));
    cJSON_Delete(sent);
    assert_string_equal(up_last_session, "plain.1");

    /* an upstream 4xx reaches the agent as a non-retryable 4xx */
    up_status = 404;
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "model not found"));
    assert_null(strstr(r.body, "sk-test-123"));
    resp_free(&r);
    /* an upstream 5xx is a retryable 502 for the agent */
    up_status = 500;
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 502);
    resp_free(&r);
    up_status = 200;
    corral_gate_free(g);

    /* an upstream slower than the deadline: the agent gets the deadline
     * error, the late answer is dropped, freeing the gate mid-transfer is fine */
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.request_timeout_ms = 300;
    g = gate_with(&o);
    assert_int_equal(corral_gate_register(g, "slow", &up, tok, &call), 0);
    chat_url(g, "slow", url, sizeof url);
    __atomic_store_n(&up_sleep_ms, 1500, __ATOMIC_RELAXED);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 400);
    cJSON *ej = cJSON_Parse(r.body);
    assert_string_equal(error_code(ej), "deadline_exceeded");
    cJSON_Delete(ej);
    resp_free(&r);
    assert_int_equal(corral_gate_pending(g, NULL), 0);
    corral_gate_free(g);
    usleep(1600 * 1000); /* let the fake finish its sleeping handler */
    __atomic_store_n(&up_sleep_ms, 0, __ATOMIC_RELAXED);
    MHD_stop_daemon(d);

    /* an unreachable upstream: 502 */
    g = gate_with(NULL);
    up.upstream_url = "http://127.0.0.1:1/v1";
    assert_int_equal(corral_gate_register(g, "up2", &up, tok, &call), 0);
    chat_url(g, "up2", url, sizeof url);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 502);
    resp_free(&r);
    corral_gate_free(g);
}

/* ---- call kinds ---------------------------------------------------------------------------- */

/* The rollout's rule tags each transcript entry "agent" or "auxiliary":
 * every condition given must hold; without a rule every call is "agent". */
static void test_call_kinds(void **state)
{
    (void)state;
    corral_gate *g = gate_with(NULL);
    struct corral_gate_responder rule = {.struct_size = sizeof rule, .kind = CORRAL_GATE_REPLAY,
                                         .replay_jsonl = "{\"content\":\"a\"}\n{\"content\":\"b\"}\n"
                                                         "{\"content\":\"c\"}\n{\"content\":\"d\"}\n",
                                         .aux_no_tools = 1, .aux_system_prefix = "You are a title generator"};
    char tok[65], url[512];
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_register(g, "k", &rule, tok, &call), 0);
    chat_url(g, "k", url, sizeof url);
    static const char *const bodies[] = {
        /* the main loop: tools offered */
        "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bash\"}}],"
        "\"messages\":[{\"role\":\"system\",\"content\":\"You are a title generator too\"}]}",
        /* a title call: no tools, the title prompt (escaped, and tools: []) */
        "{\"model\":\"m\",\"tools\":[ ],\"messages\":[{\"content\":\"You are a title \\u0067enerator. Go\","
        "\"role\":\"system\"},{\"role\":\"user\",\"content\":\"hi\"}]}",
        /* no tools but another system prompt */
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"You are opencode\"}]}",
        /* no tools, the prefix in a user message only */
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"You are a title generator\"}]}",
    };
    for (size_t i = 0; i < 4; i++) {
        struct http_resp r = http("POST", url, tok, bodies[i], NULL);
        assert_int_equal(r.status, 200);
        resp_free(&r);
    }
    char *t = corral_gate_transcript(g, "k");
    cJSON *j = cJSON_Parse(t);
    free(t);
    static const char *const want[] = {"agent", "auxiliary", "agent", "agent"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, i), "call_kind")->valuestring, want[i]);
    cJSON_Delete(j);

    /* max_tokens_below alone; and a rollout without a rule */
    struct corral_gate_responder small = {.struct_size = sizeof small, .kind = CORRAL_GATE_REPLAY,
                                          .replay_jsonl = "{\"content\":\"a\"}\n{\"content\":\"b\"}\n",
                                          .aux_max_tokens_below = 100};
    assert_int_equal(corral_gate_register(g, "s", &small, tok, &call), 0);
    chat_url(g, "s", url, sizeof url);
    struct http_resp r = http("POST", url, tok, "{\"max_completion_tokens\":32,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    resp_free(&r);
    r = http("POST", url, tok, "{\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    resp_free(&r);
    t = corral_gate_transcript(g, "s");
    j = cJSON_Parse(t);
    free(t);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "call_kind")->valuestring, "auxiliary");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "call_kind")->valuestring, "agent");
    cJSON_Delete(j);
    reg_replay(g, "plain", "{\"content\":\"a\"}\n", tok);
    chat_url(g, "plain", url, sizeof url);
    r = http("POST", url, tok, "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a title generator\"}]}", NULL);
    resp_free(&r);
    t = corral_gate_transcript(g, "plain");
    j = cJSON_Parse(t);
    free(t);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "call_kind")->valuestring, "agent");
    cJSON_Delete(j);
    corral_gate_free(g);
}

/* ---- policy version, pause and resume ------------------------------------------------------ */

/* Wait until the paused gate holds n calls (5 s at most). */
static void wait_held(corral_gate *g, size_t n)
{
    size_t held = 0;
    for (int i = 0; i < 500 && (corral_gate_paused(g, &held), held != n); i++)
        usleep(10 * 1000);
    assert_int_equal(held, n);
}

static const char *entry_version(const cJSON *e)
{
    const cJSON *v = cJSON_GetObjectItem(e, "policy_version");
    return cJSON_IsString(v) ? v->valuestring : "(none)";
}

/* Calls that arrive while the gate is paused wait, past their request
 * deadline, and reach the responder in arrival order on resume, stamped
 * with the version current then; unregistering answers the held calls. */
static void test_pause_resume(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.request_timeout_ms = 300;
    corral_gate *g = gate_with(&o);
    char tok[65], url[512];
    reg_replay(g, "p", "{\"content\":\"one\"}\n{\"content\":\"two\"}\n{\"content\":\"three\"}\n"
                       "{\"content\":\"four\"}\n{\"content\":\"five\"}\n", tok);
    chat_url(g, "p", url, sizeof url);
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_set_policy_version(g, "step-1", &call), 0);
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    corral_gate_pause(g);
    corral_gate_pause(g); /* twice: still one pause */
    assert_true(corral_gate_paused(g, NULL));
    assert_int_equal(corral_gate_set_policy_version(g, "step-2", &call), 0);
    struct client_arg ca[3];
    pthread_t th[3];
    for (size_t i = 0; i < 3; i++) {
        ca[i] = (struct client_arg){.url = url, .token = tok, .body = CHAT};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &ca[i]), 0);
        wait_held(g, i + 1); /* so the arrival order is known */
    }
    usleep(600 * 1000); /* twice the request deadline: the pause fails nothing */
    wait_held(g, 3);
    assert_int_equal(corral_gate_pending(g, NULL), 0);
    assert_int_equal(corral_gate_resume(g), 3);
    assert_false(corral_gate_paused(g, NULL));
    static const char *const want[] = {"\"two\"", "\"three\"", "\"four\""};
    for (size_t i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ca[i].r.status, 200);
        if (!strstr(ca[i].r.body, want[i]))
            fail_msg("call %zu got %s, not %s", i, ca[i].r.body, want[i]);
        resp_free(&ca[i].r);
    }
    char *t = corral_gate_transcript(g, "p");
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(j), 4);
    assert_string_equal(entry_version(cJSON_GetArrayItem(j, 0)), "step-1");
    for (int i = 1; i < 4; i++) {
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, i), "seq")->valueint, i + 1);
        assert_string_equal(entry_version(cJSON_GetArrayItem(j, i)), "step-2");
    }
    cJSON_Delete(j);

    /* no version: the entry says none; a bad version is refused */
    assert_int_equal(corral_gate_set_policy_version(g, "bad\nversion", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_set_policy_version(g, "", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_set_policy_version(g, NULL, &call), 0);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    t = corral_gate_transcript(g, "p");
    j = cJSON_Parse(t);
    free(t);
    assert_string_equal(entry_version(cJSON_GetArrayItem(j, 4)), "(none)");
    cJSON_Delete(j);

    /* a call held when its rollout ends gets the 410 the pending ones get */
    corral_gate_pause(g);
    ca[0] = (struct client_arg){.url = url, .token = tok, .body = CHAT};
    assert_int_equal(pthread_create(&th[0], NULL, client_main, &ca[0]), 0);
    wait_held(g, 1);
    assert_int_equal(corral_gate_unregister(g, "p", NULL, &call), 0);
    pthread_join(th[0], NULL);
    assert_int_equal(ca[0].r.status, 410);
    resp_free(&ca[0].r);
    wait_held(g, 0);

    /* and one held at shutdown gets a 410 too */
    reg_replay(g, "q", "{\"content\":\"one\"}\n", tok);
    chat_url(g, "q", url, sizeof url);
    ca[1] = (struct client_arg){.url = url, .token = tok, .body = CHAT};
    assert_int_equal(pthread_create(&th[1], NULL, client_main, &ca[1]), 0);
    wait_held(g, 1);
    corral_gate_free(g);
    pthread_join(th[1], NULL);
    assert_int_equal(ca[1].r.status, 410);
    resp_free(&ca[1].r);
}

/* The same over the trainer API: /v1/pause, /v1/resume, /v1/policy_version
 * and what /v1/health says of them. */
static void test_pause_http(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.trainer_listen = 1;
    corral_gate *g = gate_with(&o);
    const char *turl = corral_gate_trainer_url(g), *ttok = corral_gate_trainer_token(g);
    char tok[65], url[512], u[512];
    reg_replay(g, "h", "{\"content\":\"one\"}\n", tok);
    chat_url(g, "h", url, sizeof url);

    snprintf(u, sizeof u, "%s/v1/policy_version", turl);
    struct http_resp r = http("POST", u, ttok, "{\"version\":\"ckpt-7\"}", NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("POST", u, ttok, "{\"version\":7}", NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = http("POST", u, "wrong-token-wrong-token", "{\"version\":\"x\"}", NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);

    snprintf(u, sizeof u, "%s/v1/pause", turl);
    r = http("POST", u, ttok, "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"paused\":true"));
    resp_free(&r);
    struct client_arg ca = {.url = url, .token = tok, .body = CHAT};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, &ca), 0);
    wait_held(g, 1);
    snprintf(u, sizeof u, "%s/v1/health", turl);
    r = http("GET", u, ttok, NULL, NULL);
    cJSON *j = cJSON_Parse(r.body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "paused")));
    assert_int_equal(cJSON_GetObjectItem(j, "held")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(j, "policy_version")->valuestring, "ckpt-7");
    cJSON_Delete(j);
    resp_free(&r);

    snprintf(u, sizeof u, "%s/v1/resume", turl);
    r = http("POST", u, ttok, "", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"released\":1"));
    resp_free(&r);
    pthread_join(th, NULL);
    assert_int_equal(ca.r.status, 200);
    resp_free(&ca.r);
    char *t = corral_gate_transcript(g, "h");
    j = cJSON_Parse(t);
    free(t);
    assert_string_equal(entry_version(cJSON_GetArrayItem(j, 0)), "ckpt-7");
    cJSON_Delete(j);
    corral_gate_free(g);
}

/* ---- limits an agent cannot raise (issue 15) --------------------------------------------- */

/* A chat body of about n bytes. */
static char *big_chat(size_t n)
{
    char *b = malloc(n + 128);
    int k = sprintf(b, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"");
    memset(b + k, 'x', n);
    strcpy(b + k + n, "\"}]}");
    return b;
}

/* The transcript keeps at most about transcript_limit bytes however much
 * the agent sends; failed calls keep the request's size, not the request. */
static void test_transcript_bounded(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.transcript_limit = 16384;
    corral_gate *g = gate_with(&o);
    char tok[65], url[512], script[64 * 20];
    script[0] = 0;
    for (int i = 0; i < 60; i++)
        strcat(script, "{\"content\":\"ok\"}\n");
    reg_replay(g, "t", script, tok);
    chat_url(g, "t", url, sizeof url);
    char *body = big_chat(3000);
    for (int i = 0; i < 62; i++) { /* the last two: replay_exhausted */
        struct http_resp r = http("POST", url, tok, body, NULL);
        assert_int_equal(r.status, i < 60 ? 200 : 400);
        resp_free(&r);
    }
    free(body);
    char *t = corral_gate_transcript(g, "t");
    assert_true(strlen(t) < 16384 + 16384 / 4 + 4096);
    cJSON *j = cJSON_Parse(t);
    free(t);
    const cJSON *first = cJSON_GetArrayItem(j, 0);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(first, "request")));
    assert_true(cJSON_GetObjectItem(first, "request_bytes")->valuedouble > 3000);
    int truncated = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) if (cJSON_IsTrue(cJSON_GetObjectItem(e, "truncated")) &&
                                 cJSON_GetObjectItem(e, "request_bytes")) {
        truncated++;
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "request")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "response")));
    }
    assert_true(truncated > 0);
    const cJSON *last = cJSON_GetArrayItem(j, cJSON_GetArraySize(j) - 1);
    assert_true(cJSON_GetObjectItem(last, "dropped")->valuedouble > 0);
    cJSON_Delete(j);
    unreg(g, "t");

    /* a failed call (here: the script is exhausted at once) keeps sizes and the reason */
    o.transcript_limit = 0;
    corral_gate_free(g);
    g = gate_with(&o);
    reg_replay(g, "f", "{\"content\":\"ok\"}\n", tok);
    chat_url(g, "f", url, sizeof url);
    for (int i = 0; i < 2; i++) {
        struct http_resp r = http("POST", url, tok, CHAT, NULL);
        resp_free(&r);
    }
    t = corral_gate_transcript(g, "f");
    j = cJSON_Parse(t);
    free(t);
    e = cJSON_GetArrayItem(j, 1);
    assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, 400);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "request")));
    assert_int_equal(cJSON_GetObjectItem(e, "request_bytes")->valueint, (int)strlen(CHAT));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "error")));
    cJSON_Delete(j);
    corral_gate_free(g);
}

/* A TCP connection to the gate that sends text and keeps quiet. */
static int raw_connect(corral_gate *g, const char *text)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(corral_gate_port(g))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (text)
        assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
    return fd;
}

/* Wait (up to 5 s) until rollout id holds n connection slots. */
static void wait_slots(corral_gate *g, const char *id, unsigned n)
{
    unsigned have = 0;
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&g->lock);
        have = 0;
        for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
            for (struct gate_load *l = g->loads[b]; l; l = l->next)
                if (strcmp(l->id, id) == 0)
                    have = l->n;
        pthread_mutex_unlock(&g->lock);
        if (have == n)
            return;
        usleep(10000);
    }
    assert_int_equal(have, n);
}

/* One rollout holding its connection slots (calls whose bodies never come)
 * gets 429 for more, and another rollout is served as usual. */
static void test_rollout_connections(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.rollout_connections = 4;
    corral_gate *g = gate_with(&o);
    char tok_a[65], tok_b[65], url[512], head[1024];
    reg_replay(g, "a", "{\"content\":\"a\"}\n{\"content\":\"a\"}\n", tok_a);
    reg_replay(g, "b", "{\"content\":\"b\"}\n", tok_b);
    snprintf(head, sizeof head,
             "POST /rollout/a/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
             tok_a);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = raw_connect(g, head);
    wait_slots(g, "a", 4);
    chat_url(g, "a", url, sizeof url);
    struct http_resp r = http("POST", url, tok_a, CHAT, NULL);
    assert_int_equal(r.status, 429);
    resp_free(&r);
    chat_url(g, "b", url, sizeof url);
    r = http("POST", url, tok_b, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* a wrong token is refused before its body is read */
    int bad = raw_connect(g, "POST /rollout/b/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                             "Authorization: Bearer nope\r\nContent-Length: 100000\r\n\r\n");
    char buf[64] = {0};
    struct timeval tv = {.tv_sec = 5};
    setsockopt(bad, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_true(recv(bad, buf, sizeof buf - 1, 0) > 0);
    assert_non_null(strstr(buf, " 401 "));
    close(bad);
    /* closing them gives the slots back */
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    wait_slots(g, "a", 0);
    chat_url(g, "a", url, sizeof url);
    r = http("POST", url, tok_a, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    corral_gate_free(g);
}

/* An idle client (part of its headers, then nothing) and a slowloris one
 * (headers a byte at a time, never idle) are both cut off once
 * idle_timeout_s has passed without complete headers. */
static void test_idle_timeout(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.idle_timeout_s = 1;
    corral_gate *g = gate_with(&o);
    for (int trickle = 0; trickle < 2; trickle++) {
        int fd = raw_connect(g, "POST /rollout/a/v1/chat/completions HTTP/1.1\r\nHo");
        time_t t0 = time(NULL);
        int closed = 0;
        for (int i = 0; i < 40 && !closed; i++) {
            if (trickle && send(fd, "x", 1, MSG_NOSIGNAL) != 1)
                closed = 1;
            char b;
            ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                closed = 1;
            usleep(250 * 1000);
        }
        assert_true(closed);
        assert_true(time(NULL) - t0 <= 5);
        close(fd);
    }
    corral_gate_free(g);
}

/* ---- a rollout's own socket ------------------------------------------------------------- */

/* A unix connection to path that sends nothing (non-blocking connect: a
 * full backlog is not waited for); -1 when refused. */
static int unix_connect_quiet(const char *path)
{
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    snprintf(su.sun_path, sizeof su.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&su, sizeof su) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Connections the gate has accepted (on any of its listeners). */
static unsigned gate_socks(corral_gate *g)
{
    unsigned n = 0;
    pthread_mutex_lock(&g->lock);
    for (struct gate_sock *s = g->socks; s; s = s->next)
        n++;
    pthread_mutex_unlock(&g->lock);
    return n;
}

static int rollout_socket(corral_gate *g, const char *id, char *path, size_t cap)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    return corral_gate_rollout_socket(g, id, path, cap, &call);
}

/* Each rollout's own socket: only its calls are served there, and what
 * one agent holds open (connections that never send a byte, counted from
 * accept) fills its own socket only, never another rollout's or the
 * shared listeners.  Closed and removed on unregister and free. */
static void test_rollout_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/corral-gate-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char shared[256], pa[128], pb[128], url[512];
    snprintf(shared, sizeof shared, "%s/gate.sock", dir);
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.unix_socket_path = shared;
    o.unix_socket_mode = 0660;
    o.socket_connections = 4;
    corral_gate *g = gate_with(&o);
    char tok_a[65], tok_b[65];
    reg_replay(g, "a", "{\"content\":\"a1\"}\n{\"content\":\"a2\"}\n", tok_a);
    reg_replay(g, "b", "{\"content\":\"b1\"}\n{\"content\":\"b2\"}\n{\"content\":\"b3\"}\n", tok_b);
    assert_int_equal(rollout_socket(g, "a", pa, sizeof pa), 0);
    assert_int_equal(rollout_socket(g, "b", pb, sizeof pb), 0);
    assert_int_equal(rollout_socket(g, "a", url, sizeof url), CORRAL_EEXIST);
    assert_int_equal(rollout_socket(g, "nobody", url, sizeof url), CORRAL_ENOTFOUND);
    /* next to the shared one, a fresh name each, the same mode */
    assert_int_equal(strncmp(pa, dir, strlen(dir)), 0);
    assert_non_null(strstr(pa, "/gate-"));
    assert_string_not_equal(pa, pb);
    struct stat st;
    assert_int_equal(stat(pa, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    /* a's calls on a's socket; b's valid token on a's socket is 401 */
    const char *a_url = "http://gate/rollout/a/v1/chat/completions";
    const char *b_url = "http://gate/rollout/b/v1/chat/completions";
    struct http_resp r = http("POST", a_url, tok_a, CHAT, pa);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("POST", b_url, tok_b, CHAT, pa);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    r = http("GET", "http://gate/rollout/b/v1/models", tok_b, NULL, pa);
    assert_int_equal(r.status, 401);
    resp_free(&r);

    /* a holds its socket's 4 connections, and more wait in the backlog */
    int fds[12];
    for (int i = 0; i < 12; i++)
        fds[i] = unix_connect_quiet(pa);
    for (int i = 0; i < 500 && gate_socks(g) < 4; i++)
        usleep(10000);
    usleep(200 * 1000);
    assert_int_equal(gate_socks(g), 4); /* accepted: the cap, no more */
    http_timeout = 1;
    r = http("POST", a_url, tok_a, CHAT, pa);
    http_timeout = 30;
    assert_int_not_equal(r.status, 200); /* a starves itself only */
    resp_free(&r);
    r = http("POST", b_url, tok_b, CHAT, pb);
    assert_int_equal(r.status, 200);
    char *c = message_content(r.body);
    assert_string_equal(c, "b1");
    free(c);
    resp_free(&r);
    r = http("POST", b_url, tok_b, CHAT, shared);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    /* closed, they count no more */
    for (int i = 0; i < 12; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    for (int i = 0; i < 500 && gate_socks(g) > 0; i++)
        usleep(10000);
    assert_int_equal(gate_socks(g), 0);
    r = http("POST", a_url, tok_a, CHAT, pa);
    assert_int_equal(r.status, 200);
    c = message_content(r.body);
    assert_string_equal(c, "a2");
    free(c);
    resp_free(&r);

    /* unregister closes a's socket; free closes b's */
    unreg(g, "a");
    assert_int_equal(access(pa, F_OK), -1);
    assert_int_equal(unix_connect_quiet(pa), -1);
    assert_int_equal(access(pb, F_OK), 0);
    corral_gate_free(g);
    assert_int_equal(access(pb, F_OK), -1);
    rmdir(dir);

    /* a gate without a unix socket has nowhere to put one */
    g = gate_with(NULL);
    reg_replay(g, "a", "{\"content\":\"a\"}\n", tok_a);
    assert_int_equal(rollout_socket(g, "a", pa, sizeof pa), CORRAL_ENOTSUP);
    corral_gate_free(g);
}

/* ---- auto-registration (standalone gate) ----------------------------------------------- */

/* A caller built against the first responder struct (no cache salt, no
 * auxiliary rule) passes a shorter struct: the gate reads only its bytes
 * (ASan reports a heap over-read otherwise) and serves it. */
static void test_auto_register_old_struct(void **state)
{
    (void)state;
    size_t old_size = offsetof(struct corral_gate_responder, upstream_cache_salt);
    struct corral_gate_responder full = {.struct_size = old_size, .kind = CORRAL_GATE_REPLAY,
                                         .replay_jsonl = "{\"content\":\"old\"}\n"};
    void *rep = malloc(old_size); /* exactly the old caller's bytes */
    assert_non_null(rep);
    memcpy(rep, &full, old_size);
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.auto_register = rep;
    corral_gate *g = gate_with(&o);
    free(rep); /* read only during corral_gate_new() */
    char tok[65], url[512];
    corral_gate_token(g, "old-caller", tok);
    chat_url(g, "old-caller", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "old"));
    resp_free(&r);
    corral_gate_free(g);
}

static void test_auto_register(void **state)
{
    (void)state;
    struct corral_gate_responder rep = {.struct_size = sizeof rep, .kind = CORRAL_GATE_REPLAY,
                                        .replay_jsonl = "{\"content\":\"auto\"}\n"};
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.auto_register = &rep;
    static const unsigned char secret[32] = "0123456789abcdef0123456789abcdef";
    o.secret = secret;
    o.secret_len = sizeof secret;
    corral_gate *g = gate_with(&o);
    size_t refs;
    assert_int_equal(scripts_loaded(g, rep.replay_jsonl, &refs), 1); /* loaded once, with the gate */
    assert_int_equal(refs, 1);
    char tok[65], url[512];
    corral_gate_token(g, "new-one", tok);
    chat_url(g, "new-one", url, sizeof url);
    struct http_resp r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("POST", url, "f00", CHAT, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    /* each auto rollout has its own script position */
    corral_gate_token(g, "other", tok);
    chat_url(g, "other", url, sizeof url);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    /* an unregistered id is not brought back by a straggling call... */
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_unregister(g, "other", NULL, &call), 0);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    /* ...only an explicit registration is */
    assert_int_equal(corral_gate_register(g, "other", &rep, NULL, &call), 0);
    r = http("POST", url, tok, CHAT, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(scripts_loaded(g, rep.replay_jsonl, &refs), 1); /* the gate's, new-one's, other's */
    assert_int_equal(refs, 3);
    corral_gate_free(g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_cross_rollout),
        cmocka_unit_test(test_sse_shape),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_replay_order_and_exhaustion),
        cmocka_unit_test(test_replay_prepared_answers),
        cmocka_unit_test(test_replay_script_shared),
        cmocka_unit_test(test_replay_script_shared_threads),
        cmocka_unit_test(test_trainer_c_api),
        cmocka_unit_test(test_trainer_http_api),
        cmocka_unit_test(test_unregister_pending),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_free_wakes_trainer),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_128_rollouts),
        cmocka_unit_test(test_128_pending_trainer),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_unix_socket_keeps_umask),
        cmocka_unit_test(test_upstream),
        cmocka_unit_test(test_call_kinds),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_pause_http),
        cmocka_unit_test(test_auto_register),
        cmocka_unit_test(test_auto_register_old_struct),
        cmocka_unit_test(test_transcript_bounded),
        cmocka_unit_test(test_rollout_connections),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_rollout_socket),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
