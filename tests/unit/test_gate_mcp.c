/* The gate's MCP endpoint (docs/gate.md "Tools over MCP") over real HTTP:
 * sessions, the transport's errors, tools/list of trainer-registered
 * tools, tools/call through the trainer queue, per-rollout tools,
 * unregister while pending, replay rollouts, and the trainer's /v1/tools. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include <corral/gate.h>

#include "http_client.h"

struct mresp {
    long status;
    char *body;
    size_t len;
    char session[80];      /* the Mcp-Session-Id answered, "" none */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct mresp *r = ud;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, sz * n);
    r->len += sz * n;
    b[r->len] = 0;
    r->body = b;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct mresp *r = ud;
    size_t len = sz * n;
    if (len > 16 && strncasecmp(p, "Mcp-Session-Id:", 15) == 0) {
        const char *v = p + 15;
        while (*v == ' ')
            v++;
        size_t k = 0;
        while (v + k < p + len && v[k] != '\r' && v[k] != '\n' && k + 1 < sizeof r->session)
            k++;
        memcpy(r->session, v, k);
        r->session[k] = 0;
    }
    return len;
}

/* One request to an MCP endpoint as an MCP client sends it; session and
 * extra (a header line) may be NULL. */
static struct mresp mcp(const char *method, const char *url, const char *token, const char *session,
                        const char *extra, const char *body)
{
    struct mresp r;
    memset(&r, 0, sizeof r);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = curl_slist_append(hs, "Accept: application/json, text/event-stream");
    char line[256];
    snprintf(line, sizeof line, "Authorization: Bearer %s", token);
    hs = curl_slist_append(hs, line);
    if (session) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", session);
        hs = curl_slist_append(hs, line);
    }
    if (extra)
        hs = curl_slist_append(hs, extra);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    else
        r.status = -(long)rc;
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return r;
}

static const char INIT[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                           "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
static const char SCHEMA[] = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}";

struct fixture {
    corral_gate *g;
    char url[256];         /* the rollout's MCP endpoint */
    char token[65];
    char session[80];
};

/* A gate (request deadline timeout_ms, 0: the default) with trainer rollout
 * id (replay: a replay one) and an MCP session on it. */
static void fixture_up_with(struct fixture *f, const char *id, int replay, int64_t timeout_ms)
{
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.trainer_listen = 1;
    o.request_timeout_ms = timeout_ms;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_new(&o, &f->g, &call), 0);
    struct corral_gate_responder rs = {.struct_size = sizeof rs, .kind = CORRAL_GATE_TRAINER};
    if (replay) {
        rs.kind = CORRAL_GATE_REPLAY;
        rs.replay_jsonl = "{\"content\":\"done\"}\n";
    }
    assert_int_equal(corral_gate_register(f->g, id, &rs, f->token, &call), 0);
    snprintf(f->url, sizeof f->url, "%s/rollout/%s/mcp", corral_gate_url(f->g), id);
    struct mresp r = mcp("POST", f->url, f->token, NULL, NULL, INIT);
    assert_int_equal(r.status, 200);
    assert_int_equal(strlen(r.session), 32);
    snprintf(f->session, sizeof f->session, "%s", r.session);
    free(r.body);
}

static void fixture_up(struct fixture *f, const char *id, int replay)
{
    fixture_up_with(f, id, replay, 0);
}

/* The JSON-RPC answer's "result" (or "error" when err), parsed; the caller deletes root. */
static const cJSON *part(struct mresp *r, const char *which, cJSON **root)
{
    *root = cJSON_Parse(r->body);
    assert_non_null(*root);
    assert_string_equal(cJSON_GetObjectItem(*root, "jsonrpc")->valuestring, "2.0");
    const cJSON *p = cJSON_GetObjectItem(*root, which);
    assert_non_null(p);
    return p;
}

static void expect_rpc_error(struct mresp *r, long status, int code)
{
    if (r->status != status)
        fprintf(stderr, "status %ld (want %ld): %s\n", r->status, status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    cJSON *root;
    const cJSON *e = part(r, "error", &root);
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, code);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    cJSON_Delete(root);
    free(r->body);
    r->body = NULL;
}

/* initialize, version negotiation, notifications, ping, the transport's
 * refusals, and the same 401 as the model routes. */
static void test_transport(void **state)
{
    (void)state;
    struct fixture f;
    fixture_up(&f, "r1", 0);
    struct mresp r = mcp("POST", f.url, f.token, NULL, NULL, INIT);
    cJSON *root;
    const cJSON *res = part(&r, "result", &root);
    assert_string_equal(cJSON_GetObjectItem(res, "protocolVersion")->valuestring, "2025-06-18");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "serverInfo"), "name")->valuestring, "corral");
    assert_true(cJSON_IsFalse(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "capabilities"), "tools"), "listChanged")));
    assert_int_equal(cJSON_GetObjectItem(root, "id")->valueint, 1);
    assert_string_not_equal(r.session, f.session); /* a new session each time */
    cJSON_Delete(root);
    free(r.body);
    /* the client's revision when known, else ours */
    const char *vers[][2] = {{"2025-03-26", "2025-03-26"}, {"2025-11-25", "2025-11-25"}, {"1999-01-01", "2025-06-18"}};
    for (int i = 0; i < 3; i++) {
        char b[256];
        snprintf(b, sizeof b, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"initialize\",\"params\":"
                              "{\"protocolVersion\":\"%s\"}}", vers[i][0]);
        r = mcp("POST", f.url, f.token, NULL, NULL, b);
        res = part(&r, "result", &root);
        assert_string_equal(cJSON_GetObjectItem(res, "protocolVersion")->valuestring, vers[i][1]);
        assert_string_equal(cJSON_GetObjectItem(root, "id")->valuestring, "x");
        cJSON_Delete(root);
        free(r.body);
    }
    const char *v = "MCP-Protocol-Version: 2025-06-18";
    r = mcp("POST", f.url, f.token, f.session, v, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    assert_int_equal(r.status, 202);
    assert_int_equal(r.len, 0);
    free(r.body);
    r = mcp("POST", f.url, f.token, f.session, v, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
    assert_int_equal(r.status, 200);
    res = part(&r, "result", &root);
    assert_true(cJSON_IsObject(res) && cJSON_GetArraySize(res) == 0);
    cJSON_Delete(root);
    free(r.body);

    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}";
    r = mcp("POST", f.url, f.token, NULL, v, ping); /* no session */
    expect_rpc_error(&r, 400, -32600);
    r = mcp("POST", f.url, f.token, "0123456789abcdef0123456789abcdef", v, ping); /* unknown session */
    expect_rpc_error(&r, 404, -32600);
    r = mcp("POST", f.url, f.token, f.session, "MCP-Protocol-Version: 1999-01-01", ping);
    expect_rpc_error(&r, 400, -32600);
    r = mcp("POST", f.url, f.token, f.session, "Origin: http://evil.example", ping);
    expect_rpc_error(&r, 403, -32600);
    r = mcp("POST", f.url, f.token, f.session, "Origin: http://localhost.evil.example", ping);
    expect_rpc_error(&r, 403, -32600);
    r = mcp("POST", f.url, f.token, f.session, "Origin: http://127.0.0.1:6274", ping); /* a local client */
    assert_int_equal(r.status, 200);
    free(r.body);
    r = mcp("POST", f.url, f.token, f.session, v, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"resources/list\"}");
    expect_rpc_error(&r, 200, -32601);
    r = mcp("POST", f.url, f.token, f.session, v, "{\"jsonrpc\":\"2.0\",\"id\":9,");
    expect_rpc_error(&r, 400, -32700);
    r = mcp("POST", f.url, f.token, f.session, v, "[{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}]");
    expect_rpc_error(&r, 400, -32600);
    r = mcp("POST", f.url, f.token, f.session, v, "{\"jsonrpc\":\"1.0\",\"id\":9,\"method\":\"ping\"}");
    expect_rpc_error(&r, 400, -32600);
    r = mcp("GET", f.url, f.token, f.session, v, NULL);
    assert_int_equal(r.status, 405);
    free(r.body);

    /* a wrong token: the model routes' 401, byte for byte */
    char chat[256];
    snprintf(chat, sizeof chat, "%s/rollout/r1/v1/chat/completions", corral_gate_url(f.g));
    struct mresp bad = mcp("POST", f.url, "00", f.session, v, ping);
    struct mresp bad_chat = mcp("POST", chat, "00", NULL, NULL, "{\"messages\":[]}");
    assert_int_equal(bad.status, 401);
    assert_int_equal(bad_chat.status, 401);
    assert_string_equal(bad.body, bad_chat.body);
    char bad_chat_body[512];
    snprintf(bad_chat_body, sizeof bad_chat_body, "%s", bad_chat.body);
    free(bad.body);
    free(bad_chat.body);
    char tok2[65];
    assert_int_equal(corral_gate_token(f.g, "r2", tok2), 0);
    r = mcp("POST", f.url, tok2, NULL, NULL, INIT); /* another rollout's token */
    assert_int_equal(r.status, 401);
    free(r.body);
    char url2[256];
    snprintf(url2, sizeof url2, "%s/rollout/r2/mcp", corral_gate_url(f.g));
    r = mcp("POST", url2, tok2, NULL, NULL, "{"); /* a valid token, no such rollout: nothing about the body */
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, bad_chat_body);
    free(r.body);

    /* DELETE ends the session */
    r = mcp("DELETE", f.url, f.token, f.session, v, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = mcp("POST", f.url, f.token, f.session, v, ping);
    expect_rpc_error(&r, 404, -32600);
    r = mcp("DELETE", f.url, f.token, NULL, v, NULL);
    expect_rpc_error(&r, 400, -32600);
    corral_gate_free(f.g);
}

struct agent {
    struct fixture *f;
    const char *body;
    struct mresp r;
};

static void *agent_main(void *p)
{
    struct agent *a = p;
    a->r = mcp("POST", a->f->url, a->f->token, a->f->session, "MCP-Protocol-Version: 2025-06-18", a->body);
    return NULL;
}

static const char CALL[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"x\":1}}}";

/* tools/list shows the registered tool; tools/call reaches the trainer
 * through corral_gate_next_request, its answer (validated) comes back,
 * and the transcript records the call. */
static void test_tool_call(void **state)
{
    (void)state;
    struct fixture f;
    fixture_up(&f, "r1", 0);
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "echo", "Echo x back.", SCHEMA, &call), 0);
    struct mresp r = mcp("POST", f.url, f.token, f.session, NULL, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_int_equal(r.status, 200);
    cJSON *root;
    const cJSON *tools = cJSON_GetObjectItem(part(&r, "result", &root), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 1);
    const cJSON *t = cJSON_GetArrayItem(tools, 0);
    assert_string_equal(cJSON_GetObjectItem(t, "name")->valuestring, "echo");
    assert_string_equal(cJSON_GetObjectItem(t, "description")->valuestring, "Echo x back.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "inputSchema"), "type")->valuestring, "object");
    cJSON_Delete(root);
    free(r.body);

    struct agent a = {.f = &f, .body = CALL};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    struct corral_gate_request *q = NULL;
    assert_int_equal(corral_gate_next_request(f.g, 10000, &q, &call), 0);
    assert_int_equal(q->kind, CORRAL_GATE_REQUEST_TOOL_CALL);
    assert_string_equal(q->rollout_id, "r1");
    assert_string_equal(q->body, "{\"name\":\"echo\",\"arguments\":{\"x\":1}}");
    /* malformed answers are refused and the call stays pending */
    assert_int_equal(corral_gate_deliver(f.g, q->id, "{\"content\":\"not an array\"}", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_deliver(f.g, q->id, "{\"content\":\"hi\"}", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_deliver(f.g, q->id, "[]", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_pending(f.g, NULL), 1);
    assert_int_equal(corral_gate_deliver(f.g, q->id, "{\"text\":\"x is 1\"}", &call), 0);
    assert_int_equal(corral_gate_deliver(f.g, q->id, "{\"content\":\"again\"}", &call), CORRAL_ENOTFOUND);
    pthread_join(th, NULL);
    assert_int_equal(a.r.status, 200);
    const cJSON *res = part(&a.r, "result", &root);
    assert_string_equal(cJSON_GetObjectItem(root, "id")->valuestring, "c1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0), "text")->valuestring,
                        "x is 1");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "isError")));
    cJSON_Delete(root);
    free(a.r.body);
    corral_gate_request_free(q);

    /* an unknown tool is a JSON-RPC error and reaches no trainer */
    r = mcp("POST", f.url, f.token, f.session, NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}");
    expect_rpc_error(&r, 200, -32602);
    size_t queued;
    assert_int_equal(corral_gate_pending(f.g, &queued), 0);

    char *tr = corral_gate_transcript(f.g, "r1");
    cJSON *tj = cJSON_Parse(tr);
    free(tr);
    assert_int_equal(cJSON_GetArraySize(tj), 2);
    const cJSON *unknown = cJSON_GetArrayItem(tj, 1);
    assert_string_equal(cJSON_GetObjectItem(unknown, "tool")->valuestring, "nope");
    assert_string_equal(cJSON_GetObjectItem(unknown, "error")->valuestring, "Unknown tool: nope");
    const cJSON *e = cJSON_GetArrayItem(tj, 0);
    assert_string_equal(cJSON_GetObjectItem(e, "kind")->valuestring, "mcp_tool");
    assert_string_equal(cJSON_GetObjectItem(e, "tool")->valuestring, "echo");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "arguments"), "x")->valueint,
                     1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "response"), "content"), 0),
                            "text")
            ->valuestring,
        "x is 1");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(e, "latency_ms")));
    cJSON_Delete(tj);
    corral_gate_free(f.g);
}

/* A rollout's own tool is seen by it alone and shadows a global one. */
static void test_per_rollout(void **state)
{
    (void)state;
    struct fixture f, f2;
    fixture_up(&f, "r1", 0);
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_gate_responder tr = {.struct_size = sizeof tr, .kind = CORRAL_GATE_TRAINER};
    f2.g = f.g;
    assert_int_equal(corral_gate_register(f.g, "r2", &tr, f2.token, &call), 0);
    snprintf(f2.url, sizeof f2.url, "%s/rollout/r2/mcp", corral_gate_url(f.g));
    struct mresp r = mcp("POST", f2.url, f2.token, NULL, NULL, INIT);
    snprintf(f2.session, sizeof f2.session, "%s", r.session);
    free(r.body);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "echo", "global", SCHEMA, &call), 0);
    assert_int_equal(corral_gate_add_tool(f.g, "r1", "secret", "r1 only", SCHEMA, &call), 0);
    assert_int_equal(corral_gate_add_tool(f.g, "r1", "echo", "r1's echo", SCHEMA, &call), 0);
    const char *list = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";
    cJSON *root;
    r = mcp("POST", f.url, f.token, f.session, NULL, list);
    const cJSON *tools = cJSON_GetObjectItem(part(&r, "result", &root), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 0), "name")->valuestring, "secret");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 1), "description")->valuestring, "r1's echo");
    cJSON_Delete(root);
    free(r.body);
    r = mcp("POST", f2.url, f2.token, f2.session, NULL, list);
    tools = cJSON_GetObjectItem(part(&r, "result", &root), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 0), "description")->valuestring, "global");
    cJSON_Delete(root);
    free(r.body);
    r = mcp("POST", f2.url, f2.token, f2.session, NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"secret\"}}");
    expect_rpc_error(&r, 200, -32602);
    /* r1's session is not r2's */
    r = mcp("POST", f2.url, f2.token, f.session, NULL, list);
    expect_rpc_error(&r, 404, -32600);
    assert_int_equal(corral_gate_remove_tool(f.g, "r1", "secret", &call), 0);
    assert_int_equal(corral_gate_remove_tool(f.g, "r1", "secret", &call), CORRAL_ENOTFOUND);
    corral_gate_free(f.g);
}

/* Unregistering a rollout fails its pending tool call (410, a JSON-RPC
 * error); the HTTP trainer sees the call's kind; a replay rollout answers
 * isError at once. */
static void test_unregister_and_replay(void **state)
{
    (void)state;
    struct fixture f;
    fixture_up(&f, "r1", 0);
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "echo", NULL, SCHEMA, &call), 0);
    struct agent a = {.f = &f, .body = CALL};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    char next[512], tauth[128];
    snprintf(next, sizeof next, "%s/v1/requests/next?timeout=10", corral_gate_trainer_url(f.g));
    snprintf(tauth, sizeof tauth, "Authorization: Bearer %s", corral_gate_trainer_token(f.g));
    const char *headers[] = {tauth, NULL};
    struct http_resp h = http_request("GET", next, headers, NULL, NULL, 30);
    assert_int_equal(h.status, 200);
    cJSON *env = cJSON_Parse(h.body);
    http_resp_free(&h);
    assert_string_equal(cJSON_GetObjectItem(env, "kind")->valuestring, "tool_call");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "request"), "name")->valuestring, "echo");
    /* a model-call answer is not a tool result: 400, still pending */
    char resp[256];
    snprintf(resp, sizeof resp, "%s/v1/requests/%s/response", corral_gate_trainer_url(f.g),
             cJSON_GetObjectItem(env, "id")->valuestring);
    h = http_request("POST", resp, headers, "{\"content\":\"a model answer\"}", NULL, 30);
    assert_int_equal(h.status, 400);
    http_resp_free(&h);
    cJSON_Delete(env);
    assert_int_equal(corral_gate_pending(f.g, NULL), 1);
    assert_int_equal(corral_gate_unregister(f.g, "r1", NULL, &call), 0);
    pthread_join(th, NULL);
    assert_int_equal(a.r.status, 410);
    cJSON *root;
    const cJSON *e = part(&a.r, "error", &root);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "code")->valuestring, "rollout_ended");
    cJSON_Delete(root);
    free(a.r.body);
    corral_gate_free(f.g);

    fixture_up(&f, "p1", 1);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "echo", NULL, SCHEMA, &call), 0);
    struct mresp r = mcp("POST", f.url, f.token, f.session, NULL, CALL);
    assert_int_equal(r.status, 200);
    const cJSON *res = part(&r, "result", &root);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0), "text")
                               ->valuestring,
                           "replay"));
    cJSON_Delete(root);
    free(r.body);
    corral_gate_free(f.g);
}

/* A tool call arriving while the gate is paused waits (no deadline runs)
 * and reaches the trainer on resume; one nobody answers fails at the
 * request deadline as a model call does (400 deadline_exceeded). */
static void test_pause_and_deadline(void **state)
{
    (void)state;
    struct fixture f;
    fixture_up_with(&f, "r1", 0, 1500);
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "echo", NULL, SCHEMA, &call), 0);
    corral_gate_pause(f.g);
    struct agent a = {.f = &f, .body = CALL};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    size_t held = 0;
    for (int i = 0; i < 200 && held == 0; i++) {
        corral_gate_paused(f.g, &held);
        if (!held)
            usleep(10000);
    }
    assert_int_equal(held, 1);
    struct corral_gate_request *q = NULL;
    assert_int_equal(corral_gate_next_request(f.g, 2000, &q, &call), CORRAL_ETIMEDOUT); /* past the deadline: held */
    assert_int_equal(corral_gate_resume(f.g), 1);
    assert_int_equal(corral_gate_next_request(f.g, 5000, &q, &call), 0);
    assert_int_equal(q->kind, CORRAL_GATE_REQUEST_TOOL_CALL);
    corral_gate_request_free(q);
    pthread_join(th, NULL); /* nobody answers: the deadline */
    assert_int_equal(a.r.status, 400);
    cJSON *root;
    const cJSON *e = part(&a.r, "error", &root);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "code")->valuestring, "deadline_exceeded");
    assert_string_equal(cJSON_GetObjectItem(root, "id")->valuestring, "c1");
    cJSON_Delete(root);
    free(a.r.body);
    char *tr = corral_gate_transcript(f.g, "r1");
    cJSON *tj = cJSON_Parse(tr);
    free(tr);
    const cJSON *te = cJSON_GetArrayItem(tj, 0);
    assert_string_equal(cJSON_GetObjectItem(te, "kind")->valuestring, "mcp_tool");
    assert_int_equal(cJSON_GetObjectItem(te, "status")->valueint, 400);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(te, "error")));
    cJSON_Delete(tj);
    corral_gate_free(f.g);
}

/* corral_gate_add_tool's validation and the trainer's /v1/tools routes. */
static void test_registry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_up(&f, "r1", 0);
    struct corral_call call;
    corral_call_init(&call, 0);
    char longd[8200];
    memset(longd, 'd', sizeof longd - 1);
    longd[sizeof longd - 1] = 0;
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "", NULL, SCHEMA, &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "a b", NULL, SCHEMA, &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "x", NULL, "[]", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "x", NULL, "{", &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "x", longd, SCHEMA, &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, "bad id!", "x", NULL, SCHEMA, &call), CORRAL_EINVAL);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "x", NULL, SCHEMA, &call), 0);
    assert_int_equal(corral_gate_add_tool(f.g, NULL, "x", NULL, SCHEMA, &call), CORRAL_EEXIST);

    char tools[512], tauth[128];
    snprintf(tools, sizeof tools, "%s/v1/tools", corral_gate_trainer_url(f.g));
    snprintf(tauth, sizeof tauth, "Authorization: Bearer %s", corral_gate_trainer_token(f.g));
    const char *headers[] = {tauth, NULL};
    struct http_resp h =
        http_request("POST", tools, headers,
                     "{\"name\":\"grep\",\"description\":\"search\",\"input_schema\":{\"type\":\"object\"},"
                     "\"rollout_id\":\"r1\"}",
                     NULL, 30);
    assert_int_equal(h.status, 201);
    http_resp_free(&h);
    const char *bad[] = {"{\"name\":\"n!\",\"input_schema\":{}}", "{\"name\":\"n\",\"input_schema\":[]}",
                         "{\"name\":\"n\"}", "not json", "{\"name\":\"n\",\"input_schema\":{},\"description\":3}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        h = http_request("POST", tools, headers, bad[i], NULL, 30);
        assert_int_equal(h.status, 400);
        assert_non_null(strstr(h.body, "\"message\""));
        http_resp_free(&h);
    }
    h = http_request("POST", tools, headers, "{\"name\":\"x\",\"input_schema\":{}}", NULL, 30);
    assert_int_equal(h.status, 409);
    http_resp_free(&h);
    h = http_request("GET", tools, headers, NULL, NULL, 30);
    assert_int_equal(h.status, 200);
    cJSON *j = cJSON_Parse(h.body);
    http_resp_free(&h);
    const cJSON *list = cJSON_GetObjectItem(j, "tools");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "rollout_id")->valuestring, "r1");
    cJSON_Delete(j);
    char del[600];
    snprintf(del, sizeof del, "%s/grep?rollout_id=r1", tools);
    h = http_request("DELETE", del, headers, NULL, NULL, 30);
    assert_int_equal(h.status, 200);
    http_resp_free(&h);
    h = http_request("DELETE", del, headers, NULL, NULL, 30);
    assert_int_equal(h.status, 404);
    http_resp_free(&h);
    const char *noauth[] = {"Authorization: Bearer nope", NULL};
    h = http_request("GET", tools, noauth, NULL, NULL, 30);
    assert_int_equal(h.status, 401);
    http_resp_free(&h);
    corral_gate_free(f.g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_tool_call),
        cmocka_unit_test(test_per_rollout),
        cmocka_unit_test(test_unregister_and_replay),
        cmocka_unit_test(test_pause_and_deadline),
        cmocka_unit_test(test_registry),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
