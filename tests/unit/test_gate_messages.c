/* The gate's Anthropic Messages edge (docs/gate-dialects.md): golden tests
 * of the request translation into the normalized chat request, of the
 * rendered "message" object and SSE event stream (event order, text and
 * tool_use blocks, partial_json reassembling into the input object), and
 * over real HTTP (libcurl against the real MHD server): auth by x-api-key
 * and by Bearer, Anthropic error bodies with non-retryable 4xx statuses,
 * count_tokens, and the transcript recording the dialect. */
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

/* ---- the request ------------------------------------------------------------------ */

static char *normalize(const char *body, char *err, size_t errlen)
{
    size_t n = 0;
    char *s = gate_messages_normalize(body, strlen(body), NULL, &n, err, errlen);
    if (s)
        assert_int_equal(n, strlen(s));
    return s;
}

static void test_request_golden(void **state)
{
    (void)state;
    const char *in =
        "{\"model\":\"claude-x\",\"max_tokens\":1024,\"temperature\":0.5,\"stop_sequences\":[\"END\"],"
        "\"stream\":true,\"metadata\":{\"user_id\":\"u1\"},"
        "\"system\":[{\"type\":\"text\",\"text\":\"be brief\",\"cache_control\":{\"type\":\"ephemeral\"}},"
        "{\"type\":\"text\",\"text\":\"be kind\"}],"
        "\"messages\":[{\"role\":\"user\",\"content\":\"list files\"},"
        "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"# Env\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"},"
        "{\"type\":\"text\",\"text\":\"running ls\"},"
        "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
        "\"content\":[{\"type\":\"text\",\"text\":\"a.txt\"},{\"type\":\"image\",\"source\":{}}]},"
        "{\"type\":\"text\",\"text\":\"now read it\"}]}],"
        "\"tools\":[{\"name\":\"Bash\",\"description\":\"run\",\"input_schema\":{\"type\":\"object\"}}],"
        "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true}}";
    char err[256] = "";
    char *out = normalize(in, err, sizeof err);
    assert_non_null(out);
    assert_string_equal(
        out,
        "{\"model\":\"claude-x\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"be brief\\nbe kind\"},"
        "{\"role\":\"user\",\"content\":\"list files\"},"
        "{\"role\":\"system\",\"content\":\"# Env\"},"
        "{\"role\":\"assistant\",\"content\":\"running ls\",\"reasoning_content\":\"hmm\",\"tool_calls\":["
        "{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"a.txt\\n[image]\"},"
        "{\"role\":\"user\",\"content\":\"now read it\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"description\":\"run\","
        "\"parameters\":{\"type\":\"object\"}}}],"
        "\"tool_choice\":\"required\",\"parallel_tool_calls\":false,"
        "\"max_tokens\":1024,\"temperature\":0.5,\"stop\":[\"END\"],\"user\":\"u1\",\"stream\":true}");
    /* the normalized call is a chat request the chat path accepts */
    struct gate_chat_request req;
    assert_int_equal(gate_parse_chat_request(out, strlen(out), &req, err, sizeof err), 0);
    assert_true(req.stream);
    assert_string_equal(req.model, "claude-x");
    gate_chat_request_clear(&req);
    free(out);

    /* images become image_url parts; tool_choice tool names the function */
    out = normalize("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},"
                    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"QUJD\"}}]}],"
                    "\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\"}}",
                    err, sizeof err);
    assert_non_null(out);
    assert_string_equal(out, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},"
                             "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}}]}],"
                             "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}");
    free(out);
}

static void test_request_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing", "not valid JSON"},
        {"[1]", "JSON object"},
        {"{\"messages\":[]}", "non-empty array"},
        {"{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "\"model\""},
        {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "\"role\""},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"system\",\"content\":[{\"type\":\"image\"}]}]}",
         "text block"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\"}]}]}", "\"document\""},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "\"text\""},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\","
         "\"input\":\"x\"}]}]}",
         "\"input\""},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}]}", "tool_use_id"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"name\":\"f\"}]}", "input_schema"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"web_search_20250305\","
         "\"name\":\"web_search\"}]}",
         "server tools"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":{\"type\":\"maybe\"}}", "tool_choice"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "boolean"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop_sequences\":[1]}", "stop_sequences"},
        {"{\"system\":[{\"type\":\"image\"}],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "text block"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        size_t n = 0;
        char *out = gate_messages_normalize(bad[i].body, strlen(bad[i].body), NULL, &n, err, sizeof err);
        if (out || !strstr(err, bad[i].why))
            fprintf(stderr, "case %zu: %s -> %s (%s)\n", i, bad[i].body, out ? out : "NULL", err);
        assert_null(out);
        assert_non_null(strstr(err, bad[i].why));
    }
    /* millions of tiny values are refused before a tree is built of them */
    size_t k = GATE_MESSAGES_MAX_VALUES + 10;
    char *big = malloc(64 + 2 * k);
    char *w = big + sprintf(big, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"z\":[");
    for (size_t i = 0; i < k; i++) {
        *w++ = '0';
        *w++ = ',';
    }
    strcpy(w - 1, "]}");
    char err[256] = "";
    size_t n;
    assert_null(gate_messages_normalize(big, strlen(big), NULL, &n, err, sizeof err));
    assert_non_null(strstr(err, "JSON values"));
    free(big);
}

/* ---- the answer ---------------------------------------------------------------------- */

/* Render response (a gate.h form) for the Messages dialect; call_ids NULL:
 * fresh ids.  *sse only when stream. */
static char *render(const char *response, int stream, const char *const *call_ids, char **sse)
{
    struct gate_completion c;
    struct gate_prepared p;
    char err[256];
    assert_int_equal(gate_completion_from_text(response, strlen(response), &c, err, sizeof err), 0);
    assert_int_equal(gate_prepare(&c, &p), 0);
    gate_completion_clear(&c);
    struct gate_answer_vars v = {.id = "msg_1", .model = "claude-x", .created = 1, .stream = stream,
                                 .call_ids = call_ids, .dialect = GATE_DIALECT_MESSAGES};
    char *json = NULL;
    size_t jl = 0, sl = 0;
    assert_int_equal(gate_render_answer(&p, &v, &json, &jl, sse, &sl), 0);
    assert_int_equal(jl, strlen(json));
    gate_prepared_clear(&p);
    return json;
}

/* Token counts in an answer's usage are whole numbers from 0 to 2^53: a
 * count such as 2e49 once reached a double-to-long-long conversion, which
 * is undefined (found by fuzz_gate_render, seed usage_tokens_out_of_range). */
static void test_usage_counts_bounded(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"content\":\"a\",\"usage\":{\"prompt_tokens\":2.03507e+49}}",
        "{\"content\":\"a\",\"usage\":{\"completion_tokens\":-1}}",
        "{\"content\":\"a\",\"usage\":{\"total_tokens\":1e300}}",
        "{\"content\":\"a\",\"usage\":{\"prompt_tokens\":\"3\"}}",
    };
    struct gate_completion c;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(gate_completion_from_text(bad[i], strlen(bad[i]), &c, err, sizeof err), 0);
        assert_non_null(strstr(err, "usage"));
    }
    const char *ok = "{\"content\":\"a\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}";
    assert_int_equal(gate_completion_from_text(ok, strlen(ok), &c, err, sizeof err), 0);
    assert_true(c.has_usage);
    assert_int_equal(c.total_tokens, 17);
    gate_completion_clear(&c);
}

static void test_render_json_golden(void **state)
{
    (void)state;
    const char *ids[] = {"toolu_a"};
    char *json = render("{\"content\":\"ok\",\"tool_calls\":[{\"name\":\"Write\",\"arguments\":"
                        "\"{\\\"path\\\": \\\"a\\\", \\\"n\\\": 2}\"}],\"usage\":{\"prompt_tokens\":12,"
                        "\"completion_tokens\":5}}",
                        0, ids, NULL);
    assert_string_equal(json, "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
                              "\"content\":[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":\"toolu_a\","
                              "\"name\":\"Write\",\"input\":{\"path\":\"a\",\"n\":2}}],\"stop_reason\":\"tool_use\","
                              "\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":5}}");
    free(json);
    /* the stop reasons; arguments that are not an object become {} */
    static const struct {
        const char *resp, *stop;
    } cases[] = {
        {"{\"content\":\"a\"}", "end_turn"},
        {"{\"content\":\"a\",\"finish_reason\":\"length\"}", "max_tokens"},
        {"{\"content\":\"a\",\"finish_reason\":\"stop_sequence\"}", "stop_sequence"},
        {"{\"content\":\"a\",\"finish_reason\":\"content_filter\"}", "refusal"},
        {"{\"tool_calls\":[{\"name\":\"f\",\"arguments\":\"[1]\"}],\"finish_reason\":\"stop\"}", "tool_use"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json = render(cases[i].resp, 0, NULL, NULL);
        cJSON *j = cJSON_Parse(json);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "stop_reason")->valuestring, cases[i].stop);
        const cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
        if (strcmp(cases[i].stop, "tool_use") == 0) {
            assert_true(cJSON_IsObject(cJSON_GetObjectItem(blk, "input")));
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(blk, "input")), 0);
            assert_int_equal(strncmp(cJSON_GetObjectItem(blk, "id")->valuestring, "toolu_", 6), 0);
        }
        cJSON_Delete(j);
        free(json);
    }
}

/* An SSE stream split into its events: names[i] and datas[i] (parsed),
 * checking each frame is "event: X\ndata: {...}\n\n" with type X. */
struct events {
    char names[64][32];
    cJSON *datas[64];
    size_t n;
};

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
        ev->n++;
        p = end + 2;
    }
}

static void events_free(struct events *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        cJSON_Delete(ev->datas[i]);
}

static void assert_order(const struct events *ev, const char *const *want, size_t n)
{
    for (size_t i = 0; i < ev->n && i < n; i++)
        if (strcmp(ev->names[i], want[i]) != 0)
            fprintf(stderr, "event %zu: %s, want %s\n", i, ev->names[i], want[i]);
    assert_int_equal(ev->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ev->names[i], want[i]);
}

static void test_sse_text(void **state)
{
    (void)state;
    char *sse = NULL;
    char *json = render("{\"content\":\"Hello \\\"there\\\"\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}",
                        1, NULL, &sse);
    assert_non_null(sse);
    struct events ev;
    parse_events(sse, &ev);
    static const char *const want[] = {"message_start", "content_block_start", "ping", "content_block_delta",
                                       "content_block_stop", "message_delta", "message_stop"};
    assert_order(&ev, want, 7);
    const cJSON *msg = cJSON_GetObjectItem(ev.datas[0], "message");
    assert_string_equal(cJSON_GetObjectItem(msg, "id")->valuestring, "msg_1");
    assert_string_equal(cJSON_GetObjectItem(msg, "model")->valuestring, "claude-x");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(msg, "content")), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "stop_reason")));
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "usage"), "input_tokens")->valueint, 7);
    const cJSON *delta = cJSON_GetObjectItem(ev.datas[3], "delta");
    assert_string_equal(cJSON_GetObjectItem(delta, "type")->valuestring, "text_delta");
    assert_string_equal(cJSON_GetObjectItem(delta, "text")->valuestring, "Hello \"there\"");
    const cJSON *md = ev.datas[5];
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(md, "delta"), "stop_reason")->valuestring, "end_turn");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(md, "usage"), "output_tokens")->valueint, 3);
    events_free(&ev);
    free(sse);
    free(json);
}

/* Tool input that is not UTF-8: a run of continuation bytes longer than a
 * piece is still cut into pieces of at most 64 bytes (the cut once grew the
 * piece until a character boundary, past its stack buffer: found by
 * fuzz_gate_render, seed partial_json_continuation_run). */
static void test_sse_tool_use_not_utf8(void **state)
{
    (void)state;
    char resp[512], *w = resp;
    w += sprintf(w, "{\"tool_calls\":[{\"name\":\"f\",\"arguments\":\"{\\\"c\\\":\\\"");
    for (int i = 0; i < 200; i++)
        *w++ = (char)0x80;
    sprintf(w, "\\\"}\"}]}");
    char *sse = NULL;
    char *json = render(resp, 1, NULL, &sse);
    size_t deltas = 0;
    for (const char *p = sse; (p = strstr(p, "\"partial_json\":")); p++)
        deltas++;
    assert_true(deltas >= 4); /* 200 bytes in pieces of at most 64 */
    free(sse);
    free(json);
}

static void test_sse_tool_use(void **state)
{
    (void)state;
    /* long arguments with multi-byte characters: several partial_json pieces */
    char args[600], *w = args;
    w += sprintf(w, "{\"file_path\":\"/w/hello.txt\",\"content\":\"");
    for (int i = 0; i < 60; i++)
        w += sprintf(w, "h\xc3\xa9llo ");
    sprintf(w, "\",\"n\":[1,2,{\"x\":null}]}");
    cJSON *argj = cJSON_Parse(args);
    assert_non_null(argj);
    cJSON *resp = cJSON_CreateObject();
    cJSON *tcs = cJSON_AddArrayToObject(resp, "tool_calls");
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddStringToObject(tc, "name", "Write");
    cJSON_AddStringToObject(tc, "arguments", args);
    cJSON_AddItemToArray(tcs, tc);
    tc = cJSON_CreateObject();
    cJSON_AddStringToObject(tc, "id", "own_id");
    cJSON_AddStringToObject(tc, "name", "Bash");
    cJSON_AddStringToObject(tc, "arguments", "{\"command\":\"ls\"}");
    cJSON_AddItemToArray(tcs, tc);
    char *rtext = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);

    char *sse = NULL;
    char *json = render(rtext, 1, NULL, &sse);
    struct events ev;
    parse_events(sse, &ev);
    /* block 0 (Write), its pieces, block 1 (Bash), one piece */
    assert_string_equal(ev.names[0], "message_start");
    assert_string_equal(ev.names[1], "content_block_start");
    assert_string_equal(ev.names[2], "ping");
    size_t i = 3, pieces = 0;
    struct crl_buf partial = {0};
    while (strcmp(ev.names[i], "content_block_delta") == 0) {
        const cJSON *d = cJSON_GetObjectItem(ev.datas[i], "delta");
        assert_int_equal(cJSON_GetObjectItem(ev.datas[i], "index")->valueint, 0);
        assert_string_equal(cJSON_GetObjectItem(d, "type")->valuestring, "input_json_delta");
        assert_int_equal(crl_buf_puts(&partial, cJSON_GetObjectItem(d, "partial_json")->valuestring), 0);
        pieces++, i++;
    }
    assert_true(pieces > 1);
    cJSON *re = cJSON_Parse(partial.p);
    assert_true(cJSON_Compare(re, argj, 1)); /* the pieces reassemble into the input object */
    cJSON_Delete(re);
    crl_buf_free(&partial);
    const cJSON *b0 = cJSON_GetObjectItem(ev.datas[1], "content_block");
    assert_string_equal(cJSON_GetObjectItem(b0, "type")->valuestring, "tool_use");
    assert_string_equal(cJSON_GetObjectItem(b0, "name")->valuestring, "Write");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b0, "input")), 0);
    const char *fresh = cJSON_GetObjectItem(b0, "id")->valuestring;
    assert_int_equal(strncmp(fresh, "toolu_", 6), 0);
    assert_int_equal(strlen(fresh), 30);
    static const char *const tail[] = {"content_block_stop", "content_block_start", "content_block_delta",
                                       "content_block_stop", "message_delta", "message_stop"};
    assert_int_equal(ev.n, i + 6);
    for (size_t k = 0; k < 6; k++)
        assert_string_equal(ev.names[i + k], tail[k]);
    const cJSON *b1 = cJSON_GetObjectItem(ev.datas[i + 1], "content_block");
    assert_string_equal(cJSON_GetObjectItem(b1, "id")->valuestring, "own_id");
    assert_int_equal(cJSON_GetObjectItem(ev.datas[i + 1], "index")->valueint, 1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[i + 4], "delta"), "stop_reason")->valuestring, "tool_use");
    /* the JSON form of the same answer holds the same fresh id as an object input */
    cJSON *j = cJSON_Parse(json);
    const cJSON *jb0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0);
    assert_string_equal(cJSON_GetObjectItem(jb0, "id")->valuestring, fresh);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(jb0, "input"), argj, 1));
    cJSON_Delete(j);
    events_free(&ev);
    cJSON_Delete(argj);
    free(rtext);
    free(sse);
    free(json);

    /* an empty answer: no blocks, one ping */
    json = render("{\"content\":\"\"}", 1, NULL, &sse);
    parse_events(sse, &ev);
    static const char *const empty[] = {"message_start", "ping", "message_delta", "message_stop"};
    assert_order(&ev, empty, 4);
    events_free(&ev);
    free(sse);
    free(json);
}

static void test_error_bodies(void **state)
{
    (void)state;
    static const struct {
        unsigned status;
        const char *type, *want;
    } cases[] = {
        {400, NULL, "invalid_request_error"}, {401, NULL, "authentication_error"}, {403, NULL, "permission_error"},
        {404, NULL, "not_found_error"},       {413, NULL, "request_too_large"},    {429, NULL, "rate_limit_error"},
        {500, NULL, "api_error"},             {502, "server_error", "api_error"},  {529, NULL, "overloaded_error"},
        {429, "invalid_request_error", "rate_limit_error"}, {410, NULL, "invalid_request_error"},
        {400, "permission_error", "permission_error"},      {400, "server_error", "invalid_request_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = gate_messages_error_body(cases[i].status, "why", cases[i].type);
        cJSON *j = cJSON_Parse(b);
        assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, cases[i].want);
        assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "why");
        cJSON_Delete(j);
        free(b);
    }
}

/* ---- over HTTP ---------------------------------------------------------------------------- */

/* POST body to url with header h1 (and h2), or GET when body is NULL. */
static struct http_resp post(const char *url, const char *h1, const char *h2, const char *body)
{
    const char *headers[] = {"anthropic-version: 2023-06-01", h1, h1 ? h2 : NULL, NULL};
    return http_request(body ? "POST" : "GET", url, headers, body, NULL, 30);
}

/* Was the answer an SSE stream? */
static int is_sse(const struct http_resp *r)
{
    return strcmp(r->ctype, "text/event-stream") == 0;
}

/* The Anthropic error type of an error body ("" when it is not one). */
static const char *anthropic_error(cJSON *j)
{
    const cJSON *t = cJSON_GetObjectItem(j, "type");
    const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, "error") == 0 && cJSON_IsString(e) ? e->valuestring : "";
}

static void expect_error(struct http_resp *r, long status, const char *type)
{
    if (r->status != status)
        fprintf(stderr, "status %ld (want %ld): %s\n", r->status, status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    cJSON *j = cJSON_Parse(r->body);
    assert_string_equal(anthropic_error(j), type);
    cJSON_Delete(j);
    free(r->body);
    r->body = NULL;
}

static const char *MSG = "{\"model\":\"claude-x\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *MSG_STREAM =
    "{\"model\":\"claude-x\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void test_http(void **state)
{
    (void)state;
    struct corral_gate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.body_limit = 64 * 1024;
    corral_gate *g = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_gate_new(&o, &g, &call), 0);
    struct corral_gate_responder rs = {.struct_size = sizeof rs, .kind = CORRAL_GATE_REPLAY,
                                       .replay_jsonl = "{\"content\":\"one\"}\n"
                                                       "{\"tool_calls\":[{\"name\":\"Bash\",\"arguments\":{\"command\":\"ls\"}}]}\n"
                                                       "{\"error\":{\"message\":\"scripted\",\"status\":429}}\n"};
    char tok[65], url[512], count[512], key[128], bearer[128];
    assert_int_equal(corral_gate_register(g, "r1", &rs, tok, &call), 0);
    snprintf(url, sizeof url, "%s/rollout/r1/v1/messages", corral_gate_url(g));
    snprintf(count, sizeof count, "%s/rollout/r1/v1/messages/count_tokens", corral_gate_url(g));
    snprintf(key, sizeof key, "x-api-key: %s", tok);
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", tok);

    /* auth: x-api-key, Bearer; a wrong key (even with a right Bearer for
     * another rollout) is Anthropic's authentication_error */
    struct http_resp r = post(url, "x-api-key: 00", NULL, MSG);
    expect_error(&r, 401, "authentication_error");
    r = post(url, NULL, NULL, MSG);
    expect_error(&r, 401, "authentication_error");
    char other[65], other_key[128];
    assert_int_equal(corral_gate_token(g, "r2", other), 0);
    snprintf(other_key, sizeof other_key, "x-api-key: %s", other);
    r = post(url, other_key, NULL, MSG);
    expect_error(&r, 401, "authentication_error");

    r = post(url, key, NULL, MSG);
    assert_int_equal(r.status, 200);
    assert_false(is_sse(&r));
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "message");
    assert_int_equal(strncmp(cJSON_GetObjectItem(j, "id")->valuestring, "msg_", 4), 0);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0), "text")->valuestring,
                        "one");
    cJSON_Delete(j);
    free(r.body);

    r = post(url, bearer, NULL, MSG_STREAM);
    assert_int_equal(r.status, 200);
    assert_true(is_sse(&r));
    struct events ev;
    parse_events(r.body, &ev);
    assert_string_equal(ev.names[ev.n - 1], "message_stop");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[ev.n - 2], "delta"), "stop_reason")->valuestring,
                        "tool_use");
    events_free(&ev);
    free(r.body);

    /* a scripted 429 keeps its status, in Anthropic's shape; past the
     * script's end a 400 the client will not retry */
    r = post(url, key, NULL, MSG);
    expect_error(&r, 429, "rate_limit_error");
    r = post(url, key, NULL, MSG);
    expect_error(&r, 400, "invalid_request_error");

    /* a malformed body: 400 invalid_request_error; the wrong method 405;
     * an oversized body 413 request_too_large; nothing of these is queued */
    r = post(url, key, NULL, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}");
    expect_error(&r, 400, "invalid_request_error");
    r = post(url, key, NULL, NULL);
    expect_error(&r, 405, "invalid_request_error");
    char *big = malloc(80 * 1024);
    memset(big, 'x', 80 * 1024 - 1);
    big[80 * 1024 - 1] = 0;
    memcpy(big, "{\"messages\":\"", 13);
    r = post(url, key, NULL, big);
    expect_error(&r, 413, "request_too_large");
    free(big);

    /* count_tokens: an estimate, authenticated, not recorded */
    r = post(count, key, NULL, MSG);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    assert_true(cJSON_GetObjectItem(j, "input_tokens")->valueint > 0);
    cJSON_Delete(j);
    free(r.body);
    r = post(count, "x-api-key: nope", NULL, MSG);
    expect_error(&r, 401, "authentication_error");

    /* the transcript: every call with its dialect, the agent's own body and
     * the normalized chat request the responder saw */
    char *t = corral_gate_transcript(g, "r1");
    cJSON *tr = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(tr), 4); /* the answered and the failed calls; not the 400s of the edge */
    const cJSON *e0 = cJSON_GetArrayItem(tr, 0);
    assert_string_equal(cJSON_GetObjectItem(e0, "dialect")->valuestring, "messages");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "request"), "max_tokens")->valueint, 64);
    const cJSON *norm = cJSON_GetObjectItem(e0, "normalized_request");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(norm, "messages"), 0), "content")->valuestring, "hi");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "response"), "type")->valuestring, "message");
    cJSON_Delete(tr);
    corral_gate_free(g);
}

struct agent_call {
    const char *url, *key;
    struct http_resp r;
};

static void *agent_main(void *p)
{
    struct agent_call *a = p;
    a->r = post(a->url, a->key, NULL,
                "{\"model\":\"claude-x\",\"max_tokens\":64,\"stream\":true,\"system\":\"be brief\","
                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    return NULL;
}

/* The trainer responder serves a Messages call: the long-poll hands over
 * the normalized chat request with the dialect and the agent's own body;
 * the trainer's answer (a gate.h form) reaches the agent in Messages form. */
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
    char tok[65], url[512], key[128], next[512], tauth[128];
    assert_int_equal(corral_gate_register(g, "t1", &tr, tok, &call), 0);
    snprintf(url, sizeof url, "%s/rollout/t1/v1/messages", corral_gate_url(g));
    snprintf(key, sizeof key, "x-api-key: %s", tok);
    snprintf(next, sizeof next, "%s/v1/requests/next?timeout=10", corral_gate_trainer_url(g));
    snprintf(tauth, sizeof tauth, "Authorization: Bearer %s", corral_gate_trainer_token(g));

    struct agent_call a = {.url = url, .key = key};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    struct http_resp r = post(next, tauth, NULL, NULL);
    assert_int_equal(r.status, 200);
    cJSON *env = cJSON_Parse(r.body);
    free(r.body);
    assert_string_equal(cJSON_GetObjectItem(env, "dialect")->valuestring, "messages");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "raw_request"), "system")->valuestring, "be brief");
    const cJSON *msgs = cJSON_GetObjectItem(cJSON_GetObjectItem(env, "request"), "messages");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring, "hi");
    assert_int_equal(
        corral_gate_deliver(g, cJSON_GetObjectItem(env, "id")->valuestring,
                            "{\"tool_calls\":[{\"name\":\"Bash\",\"arguments\":{\"command\":\"ls\"}}],"
                            "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}",
                            &call),
        0);
    cJSON_Delete(env);
    pthread_join(th, NULL);
    assert_int_equal(a.r.status, 200);
    assert_true(is_sse(&a.r));
    struct events ev;
    parse_events(a.r.body, &ev);
    static const char *const want[] = {"message_start", "content_block_start", "ping", "content_block_delta",
                                       "content_block_stop", "message_delta", "message_stop"};
    assert_order(&ev, want, 7);
    const cJSON *blk = cJSON_GetObjectItem(ev.datas[1], "content_block");
    assert_string_equal(cJSON_GetObjectItem(blk, "name")->valuestring, "Bash");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[3], "delta"), "partial_json")->valuestring, "{\"command\":\"ls\"}");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev.datas[5], "usage"), "output_tokens")->valueint, 4);
    events_free(&ev);
    free(a.r.body);
    corral_gate_free(g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_golden),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_usage_counts_bounded),
        cmocka_unit_test(test_render_json_golden),
        cmocka_unit_test(test_sse_text),
        cmocka_unit_test(test_sse_tool_use),
        cmocka_unit_test(test_sse_tool_use_not_utf8),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_trainer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
