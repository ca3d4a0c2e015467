/* A remote node (corral_gate_node) between a local gate and a central
 * one, over real HTTP: the central trainer sees a Messages or Gemini call
 * with its dialect and raw body as it would locally; the trainer's DELETE
 * of a node's rollout fails the node's pending call with 410 at once, and
 * (through the heartbeat's "dropped") its later calls too
 * (docs/gate.md "Remote nodes"); the "auxiliary" rule of an HTTP
 * registration; the transcript's "started_at"; the central gate's MCP
 * tools listed and called through a node's MCP endpoint (docs/gate.md
 * "Tools over MCP"). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include <corral/gate.h>

#include "http_client.h"

static const char *REG = "registration-token-0123456789";
static const char *MSGS = "{\"model\":\"claude-x\",\"max_tokens\":64,\"stream\":true,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *GEMINI = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";

static struct http_resp call(const char *method, const char *url, const char *token, const char *body)
{
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = {auth, NULL};
    return http_request(method, url, h, body, NULL, 30);
}

struct agent_call {
    char url[512];
    const char *token, *body;
    struct http_resp resp;
};

static void *agent_main(void *p)
{
    struct agent_call *a = p;
    a->resp = call("POST", a->url, a->token, a->body);
    return NULL;
}

static corral_gate *gate(int trainer)
{
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.trainer_listen = trainer;
    o.registration_token = trainer ? REG : NULL;
    o.lease_s = 3; /* the node beats every second */
    corral_gate *g = NULL;
    assert_int_equal(corral_gate_new(&o, &g, NULL), 0);
    return g;
}

static void reg_trainer(corral_gate *g, const char *id, char token[65])
{
    struct corral_gate_responder r = {.struct_size = sizeof r, .kind = CORRAL_GATE_TRAINER};
    assert_int_equal(corral_gate_register(g, id, &r, token, NULL), 0);
}

/* The central trainer's next envelope (200 asserted); caller deletes it. */
static cJSON *next_envelope(corral_gate *central)
{
    char u[512];
    snprintf(u, sizeof u, "%s/v1/requests/next?timeout=10", corral_gate_trainer_url(central));
    struct http_resp r = call("GET", u, corral_gate_trainer_token(central), NULL);
    assert_int_equal(r.status, 200);
    cJSON *e = cJSON_Parse(r.body);
    http_resp_free(&r);
    assert_non_null(e);
    return e;
}

static long trainer(corral_gate *central, const char *method, const char *path, const char *body)
{
    char u[512];
    snprintf(u, sizeof u, "%s%s", corral_gate_trainer_url(central), path);
    struct http_resp r = call(method, u, corral_gate_trainer_token(central), body);
    long st = r.status;
    http_resp_free(&r);
    return st;
}

static void start_call(struct agent_call *a, pthread_t *t, corral_gate *local, const char *id, const char *route,
                       const char *token, const char *body)
{
    snprintf(a->url, sizeof a->url, "%s/rollout/%s/v1/%s", corral_gate_url(local), id, route);
    a->token = token;
    a->body = body;
    assert_int_equal(pthread_create(t, NULL, agent_main, a), 0);
}

static void test_node_dialects_and_drop(void **state)
{
    (void)state;
    corral_gate *central = gate(1), *local = gate(0);
    corral_gate_node *nd = NULL;
    assert_int_equal(corral_gate_node_start(local, corral_gate_trainer_url(central), REG, 2, &nd, NULL), 0);
    char tok[65], tok2[65];
    reg_trainer(local, "r1", tok);
    reg_trainer(local, "r2", tok2);

    /* A streamed Messages call: the central trainer gets dialect and raw body as sent. */
    struct agent_call a = {0};
    pthread_t t;
    start_call(&a, &t, local, "r1", "messages", tok, MSGS);
    cJSON *e = next_envelope(central);
    assert_string_equal(cJSON_GetObjectItem(e, "rollout_id")->valuestring, "r1");
    assert_string_equal(cJSON_GetObjectItem(e, "dialect")->valuestring, "messages");
    cJSON *want = cJSON_Parse(MSGS);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(e, "raw_request"), want, 1));
    cJSON_Delete(want);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "messages")));
    char path[128];
    snprintf(path, sizeof path, "/v1/requests/%s/response", cJSON_GetObjectItem(e, "id")->valuestring);
    cJSON_Delete(e);
    assert_int_equal(trainer(central, "POST", path, "{\"content\":\"hello from the trainer\"}"), 200);
    pthread_join(t, NULL);
    /* the node's gate renders the agent's own stream */
    assert_int_equal(a.resp.status, 200);
    assert_non_null(strstr(a.resp.body, "event: message_start"));
    assert_non_null(strstr(a.resp.body, "hello from the trainer"));
    http_resp_free(&a.resp);

    /* A Gemini call reaches the central trainer as gemini; the trainer's
     * DELETE of the rollout fails the node's pending call with 410 now. */
    start_call(&a, &t, local, "r1", "models/gem-x:generateContent", tok, GEMINI);
    e = next_envelope(central);
    assert_string_equal(cJSON_GetObjectItem(e, "dialect")->valuestring, "gemini");
    want = cJSON_Parse(GEMINI);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(e, "raw_request"), want, 1));
    cJSON_Delete(want);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "model")->valuestring, "gem-x");
    cJSON_Delete(e);
    time_t t0 = time(NULL);
    assert_int_equal(trainer(central, "DELETE", "/v1/rollouts/r1", NULL), 200);
    pthread_join(t, NULL);
    assert_int_equal(a.resp.status, 410);
    assert_true(time(NULL) - t0 < 5);
    http_resp_free(&a.resp);
    /* and its next call too, without reaching the central gate */
    start_call(&a, &t, local, "r1", "chat/completions", tok, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    pthread_join(t, NULL);
    assert_int_equal(a.resp.status, 410);
    http_resp_free(&a.resp);

    /* r2: answered once, then dropped by the trainer with nothing pending:
     * the next heartbeat tells the node, whose later call gets 410 (not
     * the central gate's 401 for an unknown rollout). */
    start_call(&a, &t, local, "r2", "chat/completions", tok2, "{\"messages\":[{\"role\":\"user\",\"content\":\"y\"}]}");
    e = next_envelope(central);
    assert_null(cJSON_GetObjectItem(e, "dialect")); /* as for a local chat call */
    assert_null(cJSON_GetObjectItem(e, "raw_request"));
    snprintf(path, sizeof path, "/v1/requests/%s/response", cJSON_GetObjectItem(e, "id")->valuestring);
    cJSON_Delete(e);
    assert_int_equal(trainer(central, "POST", path, "{\"content\":\"ok\"}"), 200);
    pthread_join(t, NULL);
    assert_int_equal(a.resp.status, 200);
    http_resp_free(&a.resp);
    assert_int_equal(trainer(central, "DELETE", "/v1/rollouts/r2", NULL), 200);
    sleep(2); /* at least one heartbeat (every lease / 3 = 1 s) */
    start_call(&a, &t, local, "r2", "chat/completions", tok2, "{\"messages\":[{\"role\":\"user\",\"content\":\"z\"}]}");
    pthread_join(t, NULL);
    assert_int_equal(a.resp.status, 410);
    http_resp_free(&a.resp);

    /* a heartbeat lists a node's drops once */
    char hb[128];
    snprintf(hb, sizeof hb, "%s/v1/nodes/n9/heartbeat", corral_gate_trainer_url(central));
    struct http_resp r = call("POST", hb, REG, "{}");
    assert_int_equal(r.status, 200);
    cJSON *o = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "dropped")), 0);
    cJSON_Delete(o);
    http_resp_free(&r);

    corral_gate_node_stop(nd);
    corral_gate_free(local);
    corral_gate_free(central);
}

/* POST /v1/rollouts/ID with {"auxiliary": {...}}: validated like an agent
 * spec's rule, and the rollout's calls tagged by it. */
static void test_register_auxiliary(void **state)
{
    (void)state;
    corral_gate *g = gate(1);
    static const char *bad[] = {"{\"auxiliary\":{}}", "{\"auxiliary\":{\"no_tools\":1}}",
                                "{\"auxiliary\":{\"max_tokens_below\":0}}",
                                "{\"auxiliary\":{\"system_prefix\":\"\"}}",
                                "{\"auxiliary\":{\"no_tools\":true,\"other\":1}}", "{\"auxiliary\":[]}", "[1]",
                                "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(trainer(g, "POST", "/v1/rollouts/a1", bad[i]), 400);
    char u[512];
    snprintf(u, sizeof u, "%s/v1/rollouts/a1", corral_gate_trainer_url(g));
    struct http_resp r = call("POST", u, corral_gate_trainer_token(g), "{\"auxiliary\":{\"system_prefix\":\"Title:\"}}");
    assert_int_equal(r.status, 201);
    cJSON *o = cJSON_Parse(r.body);
    char tok[65];
    snprintf(tok, sizeof tok, "%s", cJSON_GetObjectItem(o, "token")->valuestring);
    cJSON_Delete(o);
    http_resp_free(&r);
    /* a title call (auxiliary) and a main-loop call */
    static const char *bodies[] = {
        "{\"messages\":[{\"role\":\"system\",\"content\":\"Title: name it\"},{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You code\"},{\"role\":\"user\",\"content\":\"x\"}]}"};
    for (int i = 0; i < 2; i++) {
        struct agent_call a = {0};
        pthread_t t;
        start_call(&a, &t, g, "a1", "chat/completions", tok, bodies[i]);
        cJSON *e = next_envelope(g);
        char path[128];
        snprintf(path, sizeof path, "/v1/requests/%s/response", cJSON_GetObjectItem(e, "id")->valuestring);
        cJSON_Delete(e);
        assert_int_equal(trainer(g, "POST", path, "{\"content\":\"ok\"}"), 200);
        pthread_join(t, NULL);
        assert_int_equal(a.resp.status, 200);
        http_resp_free(&a.resp);
    }
    char *tr = corral_gate_transcript(g, "a1");
    cJSON *arr = cJSON_Parse(tr);
    free(tr);
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "call_kind")->valuestring, "auxiliary");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "call_kind")->valuestring, "agent");
    /* every entry says when its call came in: UTC RFC 3339 with milliseconds, now */
    for (int i = 0; i < 2; i++) {
        const char *at = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "started_at")->valuestring;
        struct tm tm = {0};
        const char *rest = strptime(at, "%Y-%m-%dT%H:%M:%S", &tm);
        assert_non_null(rest);
        assert_true(strlen(at) == 24 && rest[0] == '.' && rest[4] == 'Z');
        double ago = difftime(time(NULL), timegm(&tm));
        assert_true(ago >= -1 && ago < 60);
    }
    cJSON_Delete(arr);
    corral_gate_free(g);
}


/* One MCP message to the local gate's endpoint of rollout id (session
 * NULL: none). */
static struct http_resp mcp(corral_gate *local, const char *id, const char *token, const char *session,
                            const char *body)
{
    char u[512], auth[160], sess[128];
    snprintf(u, sizeof u, "%s/rollout/%s/mcp", corral_gate_url(local), id);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    snprintf(sess, sizeof sess, "Mcp-Session-Id: %s", session ? session : "");
    const char *h[] = {auth, "Accept: application/json, text/event-stream", session ? sess : NULL, NULL};
    return http_request("POST", u, h, body, NULL, 30);
}

struct mcp_call {
    corral_gate *local;
    const char *id, *token, *session, *body;
    struct http_resp resp;
};

static void *mcp_main(void *p)
{
    struct mcp_call *m = p;
    m->resp = mcp(m->local, m->id, m->token, m->session, m->body);
    return NULL;
}

static const char *CALL_SEARCH = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                                 "\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"corral\"}}}";

/* A node's agent lists the central gate's tools (beside and under the
 * node's own), calls one through the central trainer queue, and gets
 * 410 once the trainer drops its rollout. */
static void test_node_tools(void **state)
{
    (void)state;
    corral_gate *central = gate(1), *local = gate(0);
    corral_gate_node *nd = NULL;
    assert_int_equal(corral_gate_node_start(local, corral_gate_trainer_url(central), REG, 2, &nd, NULL), 0);
    char tok[65], tok2[65];
    reg_trainer(local, "t1", tok);
    reg_trainer(local, "t2", tok2);
    /* central: two global tools and one of t1's own; the node: its own "lookup" */
    assert_int_equal(trainer(central, "POST", "/v1/tools",
                             "{\"name\":\"search\",\"description\":\"central search\","
                             "\"input_schema\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}"),
                     201);
    assert_int_equal(trainer(central, "POST", "/v1/tools",
                             "{\"name\":\"lookup\",\"description\":\"central lookup\",\"input_schema\":{}}"),
                     201);
    assert_int_equal(trainer(central, "POST", "/v1/tools",
                             "{\"name\":\"only_t1\",\"input_schema\":{},\"rollout_id\":\"t1\"}"),
                     201);
    assert_int_equal(corral_gate_add_tool(local, NULL, "lookup", "node lookup", "{}", NULL), 0);

    struct http_resp r = mcp(local, "t1", tok, NULL,
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                             "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    assert_int_equal(r.status, 200);
    assert_int_equal(strlen(r.mcp_session), 32);
    char session[80];
    snprintf(session, sizeof session, "%s", r.mcp_session);
    http_resp_free(&r);

    r = mcp(local, "t1", tok, session, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_int_equal(r.status, 200);
    cJSON *o = cJSON_Parse(r.body);
    http_resp_free(&r);
    const cJSON *tools = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "result"), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 3); /* lookup (the node's), search, only_t1 */
    int seen = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const char *name = cJSON_GetObjectItem(t, "name")->valuestring;
        const cJSON *d = cJSON_GetObjectItem(t, "description");
        if (strcmp(name, "lookup") == 0) {
            assert_string_equal(d->valuestring, "node lookup"); /* the node's shadows the central one */
            seen |= 1;
        } else if (strcmp(name, "search") == 0) {
            assert_string_equal(d->valuestring, "central search");
            assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "inputSchema"), "properties"));
            seen |= 2;
        } else if (strcmp(name, "only_t1") == 0) {
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    cJSON_Delete(o);

    /* t2 does not see t1's own tool */
    r = mcp(local, "t2", tok2, NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
    char session2[80];
    snprintf(session2, sizeof session2, "%s", r.mcp_session);
    http_resp_free(&r);
    r = mcp(local, "t2", tok2, session2, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "only_t1"));
    assert_non_null(strstr(r.body, "central search"));
    http_resp_free(&r);

    /* a call of a central tool: the central trainer gets it as a tool_call of t1 and answers */
    struct mcp_call m = {.local = local, .id = "t1", .token = tok, .session = session, .body = CALL_SEARCH};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, mcp_main, &m), 0);
    cJSON *e = next_envelope(central);
    assert_string_equal(cJSON_GetObjectItem(e, "kind")->valuestring, "tool_call");
    assert_string_equal(cJSON_GetObjectItem(e, "rollout_id")->valuestring, "t1");
    cJSON *want = cJSON_Parse("{\"name\":\"search\",\"arguments\":{\"q\":\"corral\"}}");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(e, "request"), want, 1));
    cJSON_Delete(want);
    char path[128];
    snprintf(path, sizeof path, "/v1/requests/%s/response", cJSON_GetObjectItem(e, "id")->valuestring);
    cJSON_Delete(e);
    assert_int_equal(trainer(central, "POST", path, "{\"text\":\"found 3 results\"}"), 200);
    pthread_join(th, NULL);
    assert_int_equal(m.resp.status, 200);
    o = cJSON_Parse(m.resp.body);
    http_resp_free(&m.resp);
    assert_int_equal(cJSON_GetObjectItem(o, "id")->valueint, 5);
    const cJSON *res = cJSON_GetObjectItem(o, "result");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0), "text")->valuestring,
                        "found 3 results");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(res, "isError")));
    cJSON_Delete(o);

    /* a tool neither gate has: unknown, answered on the node */
    r = mcp(local, "t1", tok, session,
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"nosuch\"}}");
    assert_int_equal(r.status, 200);
    o = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"), "code")->valueint, -32602);
    cJSON_Delete(o);
    http_resp_free(&r);

    /* the trainer drops t1 while its tool call is pending: 410 to the agent
     * at once, and so to its next tool call */
    m.resp = (struct http_resp){0};
    assert_int_equal(pthread_create(&th, NULL, mcp_main, &m), 0);
    e = next_envelope(central);
    assert_string_equal(cJSON_GetObjectItem(e, "kind")->valuestring, "tool_call");
    cJSON_Delete(e);
    time_t t0 = time(NULL);
    assert_int_equal(trainer(central, "DELETE", "/v1/rollouts/t1", NULL), 200);
    pthread_join(th, NULL);
    assert_int_equal(m.resp.status, 410);
    assert_true(time(NULL) - t0 < 5);
    o = cJSON_Parse(m.resp.body);
    assert_non_null(cJSON_GetObjectItem(o, "error"));
    assert_null(cJSON_GetObjectItem(o, "result"));
    cJSON_Delete(o);
    http_resp_free(&m.resp);
    r = mcp(local, "t1", tok, session, CALL_SEARCH);
    assert_int_equal(r.status, 410);
    http_resp_free(&r);

    /* the node's transcript of t1 records the tool calls */
    char *tr = corral_gate_transcript(local, "t1");
    cJSON *arr = cJSON_Parse(tr);
    free(tr);
    assert_int_equal(cJSON_GetArraySize(arr), 4);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "kind")->valuestring, "mcp_tool");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "status")->valueint, 200);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "status")->valueint, 410);
    cJSON_Delete(arr);

    corral_gate_node_stop(nd);
    corral_gate_free(local);
    corral_gate_free(central);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_dialects_and_drop),
        cmocka_unit_test(test_register_auxiliary),
        cmocka_unit_test(test_node_tools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
