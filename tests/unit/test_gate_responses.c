/* The gate's OpenAI Responses edge (docs/gate-dialects.md): golden tests
 * of the request translation into the normalized chat request, of the
 * rendered "response" object and SSE event stream (event order, framing,
 * sequence numbers, function-call argument deltas reassembling), OpenAI
 * error bodies, and over real HTTP (libcurl against the real MHD server):
 * Bearer auth, non-retryable 4xx statuses, previous_response_id refused,
 * and the transcript keeping both forms. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "http_client.h"

#include <corral/gate.h>

#include "gate/gate_internal.h"

static char *normalize_ns(const char *body, struct gate_resp_ns *ns, char *err, size_t errlen)
{
    size_t n = 0;
    err[0] = 0;
    char *s = gate_responses_normalize(body, strlen(body), ns, NULL, &n, err, errlen);
    if (s)
        assert_int_equal(n, strlen(s));
    return s;
}

static char *normalize(const char *body, char *err, size_t errlen)
{
    return normalize_ns(body, NULL, err, errlen);
}

static void test_request_golden(void **state)
{
    (void)state;
    const char *in =
        "{\"model\":\"gpt-x\",\"instructions\":\"be brief\",\"max_output_tokens\":100,\"temperature\":0.5,"
        "\"top_p\":0.9,\"parallel_tool_calls\":false,\"stream\":true,\"store\":false,\"reasoning\":{\"effort\":\"low\"},"
        "\"input\":[{\"type\":\"message\",\"role\":\"developer\",\"content\":[{\"type\":\"input_text\",\"text\":\"rules\"}]},"
        "{\"role\":\"user\",\"content\":\"list files\"},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[],\"encrypted_content\":\"xx\"},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"running ls\"}]},"
        "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"a.txt\"},"
        "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"see\"},"
        "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,AA\"}]}],"
        "\"tools\":[{\"type\":\"function\",\"name\":\"exec_command\",\"description\":\"run\",\"strict\":false,"
        "\"parameters\":{\"type\":\"object\"}},{\"type\":\"web_search\"},{\"type\":\"namespace\",\"name\":\"x\",\"tools\":[]}],"
        "\"tool_choice\":\"auto\"}";
    char err[256];
    char *out = normalize(in, err, sizeof err);
    if (!out)
        fprintf(stderr, "%s\n", err);
    assert_non_null(out);
    assert_string_equal(
        out,
        "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"system\",\"content\":\"rules\"},{\"role\":\"user\",\"content\":\"list files\"},"
        "{\"role\":\"assistant\",\"content\":\"running ls\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"a.txt\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"image_url\",\"image_url\":"
        "{\"url\":\"data:image/png;base64,AA\"}}]}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"exec_command\",\"description\":\"run\","
        "\"parameters\":{\"type\":\"object\"},\"strict\":false}}],\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,"
        "\"max_tokens\":100,\"temperature\":0.5,\"top_p\":0.9,\"reasoning_effort\":\"low\",\"stream\":true}");
    free(out);
    /* reasoning text (as the gate renders it, or a summary) is carried as
     * the reasoning_content of the assistant turn it starts */
    out = normalize("{\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"type\":\"reasoning\",\"summary\":[],"
                    "\"content\":[{\"type\":\"reasoning_text\",\"text\":\"think\"}]},{\"type\":\"reasoning\","
                    "\"summary\":[{\"type\":\"summary_text\",\"text\":\"more\"}]},{\"type\":\"function_call\","
                    "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}]}",
                    err, sizeof err);
    assert_string_equal(out, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\","
                             "\"content\":null,\"reasoning_content\":\"think\\nmore\",\"tool_calls\":[{\"id\":\"c\","
                             "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}");
    free(out);
    /* an assistant message without text is an empty content, not a failure */
    out = normalize("{\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":[]}]}", err,
                    sizeof err);
    assert_string_equal(out, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\","
                             "\"content\":\"\"}]}");
    free(out);
    /* input as a string; a named function as tool_choice */
    out = normalize("{\"input\":\"hi\",\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"}}", err, sizeof err);
    assert_string_equal(out, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}");
    free(out);
}

/* Namespace tools (Codex's MCP servers) flattened into "<ns>__<name>"
 * chat tools, listed for the answer; a history call with a namespace
 * under its flat name. */
static void test_request_namespace(void **state)
{
    (void)state;
    struct gate_resp_ns ns = {0};
    char err[256];
    char *out = normalize_ns(
        "{\"input\":[{\"role\":\"user\",\"content\":\"a\"},{\"type\":\"function_call\",\"call_id\":\"c1\","
        "\"namespace\":\"mcp__echo\",\"name\":\"secret\",\"arguments\":\"{}\"},{\"type\":\"function_call_output\","
        "\"call_id\":\"c1\",\"output\":\"s3\"}],\"tools\":[{\"type\":\"function\",\"name\":\"exec_command\"},"
        "{\"type\":\"namespace\",\"name\":\"mcp__echo\",\"description\":\"echo server\",\"tools\":["
        "{\"type\":\"function\",\"name\":\"secret\",\"description\":\"tells\",\"strict\":false,"
        "\"parameters\":{\"type\":\"object\"}},{\"type\":\"custom\",\"name\":\"free\"},"
        "{\"type\":\"function\",\"name\":\"add\"}]}]}",
        &ns, err, sizeof err);
    if (!out)
        fprintf(stderr, "%s\n", err);
    assert_non_null(out);
    assert_string_equal(
        out, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":null,"
             "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"mcp__echo__secret\","
             "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"s3\"}],"
             "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"exec_command\"}},{\"type\":\"function\","
             "\"function\":{\"name\":\"mcp__echo__secret\",\"description\":\"tells\",\"parameters\":"
             "{\"type\":\"object\"},\"strict\":false}},{\"type\":\"function\",\"function\":{\"name\":"
             "\"mcp__echo__add\"}}]}");
    free(out);
    assert_int_equal(ns.n, 2);
    assert_string_equal(ns.v[0].ns, "mcp__echo");
    assert_string_equal(ns.v[0].name, "secret");
    assert_string_equal(ns.v[1].name, "add");
    gate_resp_ns_clear(&ns);
    assert_int_equal(ns.n, 0);
    /* names that collide once flattened are refused (the answer could not
     * say which tool was called); so is a malformed namespace */
    static const struct {
        const char *body, *says;
    } bad[] = {
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"function\",\"name\":\"a__b\"},{\"type\":\"namespace\","
         "\"name\":\"a\",\"tools\":[{\"type\":\"function\",\"name\":\"b\"}]}]}",
         "two tools are named \"a__b\""},
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"namespace\",\"name\":\"a__b\",\"tools\":[{\"type\":"
         "\"function\",\"name\":\"c\"}]},{\"type\":\"namespace\",\"name\":\"a\",\"tools\":[{\"type\":"
         "\"function\",\"name\":\"b__c\"}]}]}",
         "two tools are named \"a__b__c\""},
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"namespace\",\"name\":\"\",\"tools\":[]}]}",
         "a namespace tool needs"},
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":{}}]}",
         "a namespace tool needs"},
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{\"name\":\"x\"}]}]}",
         "each tool of a namespace needs"},
        {"{\"input\":\"a\",\"tools\":[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{\"type\":"
         "\"function\",\"name\":\"\"}]}]}",
         "a function tool needs"},
        {"{\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\",\"namespace\":1,\"name\":\"f\","
         "\"arguments\":\"{}\"}]}",
         "a function_call item needs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gate_resp_ns ns2 = {0};
        out = normalize_ns(bad[i].body, &ns2, err, sizeof err);
        if (out || !strstr(err, bad[i].says))
            fprintf(stderr, "case %zu: %s -> %s\n", i, bad[i].body, out ? out : err);
        assert_null(out);
        assert_non_null(strstr(err, bad[i].says));
        gate_resp_ns_clear(&ns2);
    }
}

static void test_request_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body, *says;
    } bad[] = {
        {"", "empty"},
        {"[1]", "JSON object"},
        {"{\"input\":\"hi\"", "not valid JSON"},
        {"{\"model\":\"m\"}", "\"input\" is required"},
        {"{\"input\":[]}", "nothing to answer"},
        {"{\"input\":\"hi\",\"previous_response_id\":\"resp_1\"}", "keeps no state"},
        {"{\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}", "item_reference"},
        {"{\"input\":[{\"ty@e\":\"function_call\",\"call_id\":\"c\"}]}", "needs a string \"type\""}, /* fuzz_gate_responses */
        {"{\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "role"},
        {"{\"input\":[{\"type\":\"function_call\",\"name\":\"f\",\"arguments\":\"{}\"}]}", "call_id"},
        {"{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\",\"file_id\":\"f\"}]}]}", "content parts"},
        {"{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"file_id\":\"f\"}]}]}", "file_id"},
        {"{\"input\":\"hi\",\"tools\":[{\"type\":\"function\"}]}", "name"},
        {"{\"input\":\"hi\",\"tool_choice\":{\"type\":\"web_search\"}}", "tool_choice"},
        {"{\"input\":\"hi\",\"stream\":1}", "boolean"},
        {"{\"input\":\"hi\",\"max_output_tokens\":0}", "max_output_tokens"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = normalize(bad[i].body, err, sizeof err);
        if (out || !strstr(err, bad[i].says))
            fprintf(stderr, "case %zu: %s -> %s\n", i, bad[i].body, out ? out : err);
        assert_null(out);
        assert_non_null(strstr(err, bad[i].says));
    }
}

/* response rendered in Responses form with id "0123" (the gate passes the
 * bare call id), fresh call ids from call_ids.  *sse only when stream. */
static char *render_ns(const char *response, int stream, const char *const *call_ids, char **sse,
                       const struct gate_resp_ns *ns)
{
    struct gate_completion c;
    struct gate_prepared p;
    char err[256];
    assert_int_equal(gate_completion_from_text(response, strlen(response), &c, err, sizeof err), 0);
    assert_int_equal(gate_prepare(&c, &p), 0);
    gate_completion_clear(&c);
    struct gate_answer_vars v = {.id = "0123", .model = "gpt-x", .created = 7, .stream = stream,
                                 .call_ids = call_ids, .dialect = GATE_DIALECT_RESPONSES, .ns = ns};
    char *json = NULL;
    size_t jl = 0, sl = 0;
    assert_int_equal(gate_render_answer(&p, &v, &json, &jl, sse, &sl), 0);
    assert_int_equal(jl, strlen(json));
    gate_prepared_clear(&p);
    return json;
}

static char *render(const char *response, int stream, const char *const *call_ids, char **sse)
{
    return render_ns(response, stream, call_ids, sse, NULL);
}

static void test_render_json_golden(void **state)
{
    (void)state;
    const char *ids[] = {"call_a"};
    char *json = render("{\"content\":\"ok\",\"tool_calls\":[{\"name\":\"exec_command\",\"arguments\":"
                        "\"{\\\"cmd\\\": \\\"ls\\\"}\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}",
                        0, ids, NULL);
    assert_string_equal(
        json, "{\"id\":\"resp_0123\",\"object\":\"response\",\"created_at\":7,\"status\":\"completed\",\"error\":null,"
              "\"incomplete_details\":null,\"model\":\"gpt-x\",\"output\":[{\"id\":\"msg_0123_0\",\"type\":\"message\","
              "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"ok\","
              "\"annotations\":[]}]},{\"id\":\"fc_0123_1\",\"type\":\"function_call\",\"status\":\"completed\","
              "\"call_id\":\"call_a\",\"name\":\"exec_command\",\"arguments\":\"{\\\"cmd\\\": \\\"ls\\\"}\"}],"
              "\"parallel_tool_calls\":true,\"previous_response_id\":null,\"store\":false,\"usage\":{\"input_tokens\":12,"
              "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":5,\"output_tokens_details\":"
              "{\"reasoning_tokens\":0},\"total_tokens\":17}}");
    free(json);
    /* a cut answer is "incomplete" with its reason */
    json = render("{\"content\":\"a\",\"finish_reason\":\"length\"}", 0, NULL, NULL);
    cJSON *j = cJSON_Parse(json);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "incomplete");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "incomplete_details"), "reason")->valuestring,
                        "max_output_tokens");
    cJSON_Delete(j);
    free(json);
}

struct events {
    char names[64][48];
    cJSON *datas[64];
    size_t n;
};

/* Split an SSE stream into its events, checking each frame is
 * "event: X\ndata: {...}\n\n" with type X and sequence_number i. */
static void parse_events(const char *sse, struct events *ev)
{
    memset(ev, 0, sizeof *ev);
    const char *p = sse;
    while (*p) {
        assert_int_equal(strncmp(p, "event: ", 7), 0);
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(ev->n < 64);
        snprintf(ev->names[ev->n], sizeof ev->names[0], "%.*s", (int)(nl - p - 7), p + 7);
        assert_int_equal(strncmp(nl + 1, "data: ", 6), 0);
        const char *end = strstr(nl + 1, "\n\n");
        assert_non_null(end);
        ev->datas[ev->n] = cJSON_ParseWithLength(nl + 7, (size_t)(end - nl - 7));
        assert_non_null(ev->datas[ev->n]);
        assert_string_equal(cJSON_GetObjectItem(ev->datas[ev->n], "type")->valuestring, ev->names[ev->n]);
        assert_int_equal(cJSON_GetObjectItem(ev->datas[ev->n], "sequence_number")->valueint, (int)ev->n);
        ev->n++;
        p = end + 2;
    }
}

static void events_free(struct events *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        cJSON_Delete(ev->datas[i]);
}

static void test_sse(void **state)
{
    (void)state;
    /* arguments of 150 bytes with a 2-byte character on the 64-byte cut */
    char args[200] = "{\"cmd\":\"";
    size_t n = strlen(args);
    while (n < 63)
        args[n++] = 'a';
    memcpy(args + n, "\xc3\xa9", 2);
    n += 2;
    while (n < 148)
        args[n++] = 'b';
    memcpy(args + n, "\"}", 3);
    cJSON *resp = cJSON_CreateObject();
    cJSON_AddStringToObject(resp, "content", "hello");
    cJSON_AddStringToObject(resp, "reasoning_content", "think");
    cJSON *calls = cJSON_AddArrayToObject(resp, "tool_calls");
    cJSON *call = cJSON_CreateObject();
    cJSON_AddStringToObject(call, "name", "exec_command");
    cJSON_AddStringToObject(call, "arguments", args);
    cJSON_AddItemToArray(calls, call);
    char *text = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    const char *ids[] = {"call_z"};
    char *sse = NULL;
    char *json = render(text, 1, ids, &sse);
    free(text);
    assert_non_null(sse);
    struct events ev;
    parse_events(sse, &ev);
    static const char *const want[] = {
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_text.delta", "response.reasoning_text.done",
        "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "response.completed"};
    size_t nw = sizeof want / sizeof want[0];
    for (size_t i = 0; i < ev.n && i < nw; i++)
        if (strcmp(ev.names[i], want[i]) != 0)
            fprintf(stderr, "event %zu: %s, want %s\n", i, ev.names[i], want[i]);
    assert_int_equal(ev.n, nw);
    for (size_t i = 0; i < nw; i++)
        assert_string_equal(ev.names[i], want[i]);
    /* the function call starts with its call_id and empty arguments; the
     * deltas, each at most 64 bytes and whole UTF-8, reassemble them */
    const cJSON *item = cJSON_GetObjectItem(ev.datas[12], "item");
    assert_string_equal(cJSON_GetObjectItem(item, "call_id")->valuestring, "call_z");
    assert_string_equal(cJSON_GetObjectItem(item, "arguments")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(item, "status")->valuestring, "in_progress");
    char joined[256] = "";
    for (size_t i = 13; i <= 15; i++) {
        const char *d = cJSON_GetObjectItem(ev.datas[i], "delta")->valuestring;
        assert_true(strlen(d) <= 64);
        assert_string_equal(cJSON_GetObjectItem(ev.datas[i], "item_id")->valuestring, "fc_0123_2");
        strcat(joined, d);
    }
    assert_int_equal(strlen(cJSON_GetObjectItem(ev.datas[13], "delta")->valuestring), 63);
    assert_string_equal(joined, args);
    assert_string_equal(cJSON_GetObjectItem(ev.datas[16], "arguments")->valuestring, args);
    /* the text delta and the completed response, as the JSON answer */
    assert_string_equal(cJSON_GetObjectItem(ev.datas[8], "delta")->valuestring, "hello");
    char *done = cJSON_PrintUnformatted(cJSON_GetObjectItem(ev.datas[18], "response"));
    cJSON *jo = cJSON_Parse(json);
    char *want_done = cJSON_PrintUnformatted(jo);
    assert_string_equal(done, want_done);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[0], "response"), "status")->valuestring,
                        "in_progress");
    free(done);
    free(want_done);
    cJSON_Delete(jo);
    events_free(&ev);
    free(sse);
    free(json);
}

/* A call of a flattened namespace tool is rendered with its namespace
 * (in the response object and in every SSE event naming it); a call whose
 * name only looks flat, or with no namespace list, keeps its name. */
static void test_render_namespace(void **state)
{
    (void)state;
    struct gate_ns_tool tools[] = {{"mcp__echo", "secret"}, {"mcp__echo", "add"}};
    struct gate_resp_ns ns = {tools, 2};
    const char *ids[] = {"call_a", "call_b", "call_c"};
    const char *resp = "{\"tool_calls\":[{\"name\":\"mcp__echo__secret\",\"arguments\":\"{}\"},"
                       "{\"name\":\"exec_command\",\"arguments\":\"{}\"},{\"name\":\"mcp__echo__other\","
                       "\"arguments\":\"{}\"}]}";
    char *json = render_ns(resp, 0, ids, NULL, &ns);
    assert_non_null(strstr(json, "{\"id\":\"fc_0123_0\",\"type\":\"function_call\",\"status\":\"completed\","
                                 "\"call_id\":\"call_a\",\"namespace\":\"mcp__echo\",\"name\":\"secret\","
                                 "\"arguments\":\"{}\"}"));
    assert_non_null(strstr(json, "\"call_id\":\"call_b\",\"name\":\"exec_command\","));
    assert_non_null(strstr(json, "\"call_id\":\"call_c\",\"name\":\"mcp__echo__other\","));
    free(json);
    json = render(resp, 0, ids, NULL);
    assert_non_null(strstr(json, "\"call_id\":\"call_a\",\"name\":\"mcp__echo__secret\","));
    assert_null(strstr(json, "namespace"));
    free(json);
    char *sse = NULL;
    json = render_ns(resp, 1, ids, &sse, &ns);
    struct events ev;
    parse_events(sse, &ev);
    size_t named = 0;
    for (size_t i = 0; i < ev.n; i++) {
        const cJSON *d = ev.datas[i], *item = cJSON_GetObjectItem(d, "item");
        if (strcmp(ev.names[i], "response.function_call_arguments.done") != 0 &&
            !(item && strcmp(cJSON_GetObjectItem(item, "call_id") ? cJSON_GetObjectItem(item, "call_id")->valuestring
                                                                  : "",
                             "call_a") == 0))
            continue;
        if (strcmp(ev.names[i], "response.function_call_arguments.done") == 0) {
            if (strcmp(cJSON_GetObjectItem(d, "item_id")->valuestring, "fc_0123_0") != 0)
                continue;
            item = d;
        }
        assert_string_equal(cJSON_GetObjectItem(item, "namespace")->valuestring, "mcp__echo");
        assert_string_equal(cJSON_GetObjectItem(item, "name")->valuestring, "secret");
        named++;
    }
    assert_int_equal(named, 3); /* output_item.added, arguments.done, output_item.done */
    const cJSON *out = cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[ev.n - 1], "response"), "output");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "namespace")->valuestring, "mcp__echo");
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 1), "namespace"));
    events_free(&ev);
    free(sse);
    free(json);
}

static void test_error_body(void **state)
{
    (void)state;
    char *b = gate_responses_error_body(400, "bad \"x\"", NULL, "invalid_request");
    assert_string_equal(b, "{\"error\":{\"message\":\"bad \\\"x\\\"\",\"type\":\"invalid_request_error\","
                           "\"param\":null,\"code\":\"invalid_request\"}}");
    free(b);
    b = gate_responses_error_body(503, "down", NULL, NULL);
    assert_string_equal(b, "{\"error\":{\"message\":\"down\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
    free(b);
}

/* ---- over HTTP ---------------------------------------------------------------------------- */

static struct http_resp post(const char *url, const char *auth, const char *body)
{
    const char *headers[] = {auth, NULL};
    return http_request("POST", url, headers, body, NULL, 30);
}

static void expect_error(struct http_resp *r, long status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "status %ld (want %ld): %s\n", r->status, status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "type")));
    assert_non_null(cJSON_GetObjectItem(e, "param"));
    if (code)
        assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring, code);
    cJSON_Delete(j);
    free(r->body);
    r->body = NULL;
}

static const char *REQ = "{\"model\":\"gpt-x\",\"input\":\"hi\"}";
static const char *REQ_STREAM = "{\"model\":\"gpt-x\",\"input\":\"hi\",\"stream\":true}";

static void test_http(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    corral_gate *g = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_new(&o, &g, &call), 0);
    struct corral_gate_responder rs = {.struct_size = sizeof rs, .kind = CORRAL_GATE_REPLAY,
                                       .replay_jsonl = "{\"content\":\"one\"}\n"
                                                       "{\"tool_calls\":[{\"name\":\"f\",\"arguments\":{\"a\":1}}]}\n"
                                                       "{\"error\":{\"message\":\"scripted\",\"status\":429}}\n"};
    char tok[65], url[512], bearer[128], other[65], other_bearer[128];
    assert_int_equal(corral_gate_register(g, "r1", &rs, tok, &call), 0);
    snprintf(url, sizeof url, "%s/rollout/r1/v1/responses", corral_gate_url(g));
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", tok);
    assert_int_equal(corral_gate_token(g, "r2", other), 0);
    snprintf(other_bearer, sizeof other_bearer, "Authorization: Bearer %s", other);

    struct http_resp r = post(url, NULL, REQ);
    expect_error(&r, 401, "invalid_api_key");
    r = post(url, other_bearer, REQ);
    expect_error(&r, 401, "invalid_api_key");

    r = post(url, bearer, REQ);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "response");
    assert_int_equal(strncmp(cJSON_GetObjectItem(j, "id")->valuestring, "resp_", 5), 0);
    const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "output"), 0);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(item, "content"), 0), "text")->valuestring,
                        "one");
    cJSON_Delete(j);
    free(r.body);

    r = post(url, bearer, REQ_STREAM);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");
    struct events ev;
    parse_events(r.body, &ev);
    assert_string_equal(ev.names[ev.n - 1], "response.completed");
    const cJSON *fc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[ev.n - 1], "response"), "output"), 0);
    assert_string_equal(cJSON_GetObjectItem(fc, "type")->valuestring, "function_call");
    assert_int_equal(strncmp(cJSON_GetObjectItem(fc, "call_id")->valuestring, "call_", 5), 0);
    events_free(&ev);
    free(r.body);

    /* the scripted 429 keeps its status; past the script's end a 400 the
     * client does not retry; a previous_response_id is a 400 too */
    r = post(url, bearer, REQ);
    expect_error(&r, 429, NULL);
    r = post(url, bearer, REQ);
    expect_error(&r, 400, NULL);
    r = post(url, bearer, "{\"input\":\"hi\",\"previous_response_id\":\"resp_1\"}");
    expect_error(&r, 400, "invalid_request");

    char *t = corral_gate_transcript(g, "r1");
    cJSON *tr = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(tr), 4);
    const cJSON *e0 = cJSON_GetArrayItem(tr, 0);
    assert_string_equal(cJSON_GetObjectItem(e0, "dialect")->valuestring, "responses");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "request"), "input")->valuestring, "hi");
    const cJSON *norm = cJSON_GetObjectItem(e0, "normalized_request");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(norm, "messages"), 0), "content")->valuestring, "hi");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "response"), "object")->valuestring, "response");
    cJSON_Delete(tr);
    corral_gate_free(g);
}

struct agent_call {
    const char *url, *auth;
    struct http_resp r;
};

static void *agent_main(void *p)
{
    struct agent_call *a = p;
    a->r = post(a->url, a->auth, "{\"model\":\"gpt-x\",\"stream\":true,\"instructions\":\"be brief\",\"input\":\"hi\"}");
    return NULL;
}

/* The trainer responder serves a Responses call: the long-poll hands over
 * the normalized chat request with the dialect and the agent's own body;
 * the trainer's answer reaches the agent as Responses events. */
static void test_trainer(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.trainer_listen = 1;
    corral_gate *g = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_new(&o, &g, &call), 0);
    struct corral_gate_responder tr = {.struct_size = sizeof tr, .kind = CORRAL_GATE_TRAINER};
    char tok[65], url[512], auth[128], next[512], tauth[128];
    assert_int_equal(corral_gate_register(g, "t1", &tr, tok, &call), 0);
    snprintf(url, sizeof url, "%s/rollout/t1/v1/responses", corral_gate_url(g));
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    snprintf(next, sizeof next, "%s/v1/requests/next?timeout=10", corral_gate_trainer_url(g));
    snprintf(tauth, sizeof tauth, "Authorization: Bearer %s", corral_gate_trainer_token(g));

    struct agent_call a = {.url = url, .auth = auth};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    const char *headers[] = {tauth, NULL};
    struct http_resp r = http_request("GET", next, headers, NULL, NULL, 30);
    assert_int_equal(r.status, 200);
    cJSON *env = cJSON_Parse(r.body);
    free(r.body);
    assert_string_equal(cJSON_GetObjectItem(env, "dialect")->valuestring, "responses");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "raw_request"), "instructions")->valuestring,
                        "be brief");
    const cJSON *msgs = cJSON_GetObjectItem(cJSON_GetObjectItem(env, "request"), "messages");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring, "hi");
    assert_int_equal(corral_gate_deliver(g, cJSON_GetObjectItem(env, "id")->valuestring,
                                         "{\"content\":\"yo\",\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}",
                                         &call),
                     0);
    cJSON_Delete(env);
    pthread_join(th, NULL);
    assert_int_equal(a.r.status, 200);
    struct events ev;
    parse_events(a.r.body, &ev);
    assert_string_equal(ev.names[ev.n - 1], "response.completed");
    const cJSON *usage = cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[ev.n - 1], "response"), "usage");
    assert_int_equal(cJSON_GetObjectItem(usage, "input_tokens")->valueint, 9);
    assert_int_equal(cJSON_GetObjectItem(usage, "output_tokens")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(usage, "total_tokens")->valueint, 13);
    events_free(&ev);
    free(a.r.body);
    corral_gate_free(g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_golden),
        cmocka_unit_test(test_request_namespace),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_render_json_golden),
        cmocka_unit_test(test_sse),
        cmocka_unit_test(test_render_namespace),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_trainer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
