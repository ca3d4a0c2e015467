/* The gate's Gemini generateContent edge (docs/gate-dialects.md): golden
 * tests of the request translation into the normalized chat request
 * (function-call ids made up where the agent sent none, responses matched
 * by name and order), of the rendered GenerateContentResponse and its SSE
 * chunks, of Google's error bodies, and over real HTTP (libcurl against
 * the real MHD server): auth by x-goog-api-key and ?key=, the /v1beta and
 * /v1 routes, non-retryable 4xx past a replay's end, countTokens, and the
 * transcript recording the dialect with both forms of each call. */
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

static char *normalize(const char *body, int stream, char *err, size_t errlen)
{
    size_t n = 0;
    char *s = gate_gemini_normalize(body, strlen(body), "gemini-x", stream, NULL, &n, err, errlen);
    if (s)
        assert_int_equal(n, strlen(s));
    return s;
}

static void test_request_golden(void **state)
{
    (void)state;
    const char *in =
        "{\"systemInstruction\":{\"role\":\"user\",\"parts\":[{\"text\":\"be brief\"},{\"text\":\"be kind\"}]},"
        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"list files\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"hmm\",\"thought\":true},{\"text\":\"running ls\"},"
        "{\"functionCall\":{\"name\":\"ls\",\"args\":{\"path\":\".\"}},\"thoughtSignature\":\"sig\"},"
        "{\"functionCall\":{\"name\":\"cat\",\"args\":{\"f\":\"a\"}}}]},"
        "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"cat\",\"response\":{\"output\":\"A\"}}},"
        "{\"functionResponse\":{\"name\":\"ls\",\"response\":{\"output\":\"a.txt\"}}},{\"text\":\"now\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"id\":\"c9\",\"name\":\"ls\",\"args\":{}}}]},"
        "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"id\":\"c9\",\"name\":\"ls\",\"response\":{\"error\":\"e\"}}}]}],"
        "\"tools\":[{\"functionDeclarations\":[{\"name\":\"ls\",\"description\":\"list\",\"parameters\":"
        "{\"type\":\"OBJECT\",\"properties\":{\"path\":{\"type\":\"STRING\"}}}},"
        "{\"name\":\"cat\",\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"f\":{\"type\":\"string\"}}}},"
        "{\"name\":\"now\"}]}],"
        "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"ls\"]}},"
        "\"generationConfig\":{\"temperature\":0.5,\"topP\":0.9,\"topK\":40,\"maxOutputTokens\":1024,"
        "\"stopSequences\":[\"END\"],\"candidateCount\":1,\"thinkingConfig\":{\"thinkingBudget\":-1}}}";
    char err[256] = "";
    char *out = normalize(in, 1, err, sizeof err);
    if (!out)
        fprintf(stderr, "%s\n", err);
    assert_non_null(out);
    assert_string_equal(
        out,
        "{\"model\":\"gemini-x\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"be brief\\nbe kind\"},"
        "{\"role\":\"user\",\"content\":\"list files\"},"
        "{\"role\":\"assistant\",\"content\":\"running ls\",\"reasoning_content\":\"hmm\",\"tool_calls\":["
        "{\"id\":\"gemini-1-2\",\"type\":\"function\",\"function\":{\"name\":\"ls\",\"arguments\":\"{\\\"path\\\":\\\".\\\"}\"}},"
        "{\"id\":\"gemini-1-3\",\"type\":\"function\",\"function\":{\"name\":\"cat\",\"arguments\":\"{\\\"f\\\":\\\"a\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"gemini-1-3\",\"content\":\"{\\\"output\\\":\\\"A\\\"}\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"gemini-1-2\",\"content\":\"{\\\"output\\\":\\\"a.txt\\\"}\"},"
        "{\"role\":\"user\",\"content\":\"now\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"c9\",\"type\":\"function\",\"function\":{\"name\":\"ls\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c9\",\"content\":\"{\\\"error\\\":\\\"e\\\"}\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"ls\",\"description\":\"list\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"cat\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"f\":{\"type\":\"string\"}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"now\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"ls\"}},"
        "\"max_tokens\":1024,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,\"stop\":[\"END\"],"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    /* the normalized call is a chat request the chat path accepts */
    struct gate_chat_request req;
    assert_int_equal(gate_parse_chat_request(out, strlen(out), &req, err, sizeof err), 0);
    assert_true(req.stream);
    assert_true(req.include_usage);
    assert_string_equal(req.model, "gemini-x");
    gate_chat_request_clear(&req);
    free(out);

    /* media: an image as image_url, other files as a "[mime]" text;
     * structured output; NONE; not streamed */
    out = normalize("{\"contents\":[{\"parts\":[{\"text\":\"see\"},"
                    "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"QUJD\"}},"
                    "{\"fileData\":{\"mimeType\":\"application/pdf\",\"fileUri\":\"gs://b/x.pdf\"}}]}],"
                    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"NONE\"}},"
                    "\"generationConfig\":{\"responseMimeType\":\"application/json\"}}",
                    0, err, sizeof err);
    assert_non_null(out);
    assert_string_equal(out, "{\"model\":\"gemini-x\",\"messages\":[{\"role\":\"user\",\"content\":["
                             "{\"type\":\"text\",\"text\":\"see\"},"
                             "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}},"
                             "{\"type\":\"text\",\"text\":\"[application/pdf]\"}]}],"
                             "\"tool_choice\":\"none\",\"response_format\":{\"type\":\"json_object\"}}");
    free(out);
}

static void test_request_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"", "empty"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]} trailing", "not valid JSON"},
        {"[1]", "JSON object"},
        {"{\"contents\":[]}", "non-empty array"},
        {"{\"contents\":[{\"role\":\"user\"}]}", "\"parts\""},
        {"{\"contents\":[{\"role\":\"system\",\"parts\":[]}]}", "\"role\""},
        {"{\"contents\":[{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]}]}", "a user part"},
        {"{\"contents\":[{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"args\":{}}}]}]}", "functionCall"},
        {"{\"contents\":[{\"role\":\"model\",\"parts\":[{\"executableCode\":{}}]}]}", "a model part"},
        {"{\"contents\":[{\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":\"x\"}}]}]}",
         "functionResponse"},
        {"{\"contents\":[{\"parts\":[{\"inlineData\":{\"data\":\"x\"}}]}]}", "inlineData"},
        {"{\"systemInstruction\":{\"parts\":[{\"inlineData\":{}}]},\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}",
         "systemInstruction"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{\"googleSearch\":{}}]}", "functionDeclarations"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{\"functionDeclarations\":[{\"name\":\"\"}]}]}",
         "\"name\""},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"SOME\"}}}",
         "mode"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"candidateCount\":2}}", "candidateCount"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"maxOutputTokens\":0}}",
         "maxOutputTokens"},
        {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"stopSequences\":[1]}}", "stopSequences"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        char *out = normalize(bad[i].body, 0, err, sizeof err);
        if (out || !strstr(err, bad[i].why))
            fprintf(stderr, "case %zu: %s -> %s\n", i, bad[i].body, out ? out : err);
        assert_null(out);
        assert_non_null(strstr(err, bad[i].why));
    }
}

/* ---- the answer --------------------------------------------------------------------- */

/* response rendered in Gemini form with id "r1", model "gemini-x" and
 * call_ids as the fresh ids.  *sse only when stream. */
static char *render(const char *response, int stream, const char *const *call_ids, char **sse)
{
    struct gate_completion c;
    struct gate_prepared p;
    char err[256];
    assert_int_equal(gate_completion_from_text(response, strlen(response), &c, err, sizeof err), 0);
    assert_int_equal(gate_prepare(&c, &p), 0);
    gate_completion_clear(&c);
    struct gate_answer_vars v = {.id = "r1", .model = "gemini-x", .created = 1, .stream = stream,
                                 .call_ids = call_ids, .dialect = GATE_DIALECT_GEMINI};
    char *json = NULL;
    size_t jl = 0, sl = 0;
    assert_int_equal(gate_render_answer(&p, &v, &json, &jl, sse, &sl), 0);
    assert_int_equal(jl, strlen(json));
    gate_prepared_clear(&p);
    return json;
}

static void test_render_json_golden(void **state)
{
    (void)state;
    const char *ids[] = {"call_a"};
    char *json = render("{\"content\":\"ok\",\"reasoning_content\":\"hm\",\"tool_calls\":[{\"name\":\"write\","
                        "\"arguments\":\"{\\\"path\\\": \\\"a\\\", \\\"n\\\": 2}\"},{\"id\":\"own\",\"name\":\"ls\","
                        "\"arguments\":\"[1]\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}",
                        0, ids, NULL);
    assert_string_equal(json, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hm\",\"thought\":true},"
                              "{\"text\":\"ok\"},{\"functionCall\":{\"id\":\"call_a\",\"name\":\"write\","
                              "\"args\":{\"path\":\"a\",\"n\":2}}},{\"functionCall\":{\"id\":\"own\",\"name\":\"ls\","
                              "\"args\":{}}}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
                              "\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":5,"
                              "\"totalTokenCount\":17},\"modelVersion\":\"gemini-x\",\"responseId\":\"r1\"}");
    free(json);
    /* the finish reasons; an empty answer still has one (empty) text part */
    static const struct {
        const char *resp, *finish;
    } cases[] = {
        {"{\"content\":\"a\"}", "STOP"},
        {"{\"content\":\"a\",\"finish_reason\":\"length\"}", "MAX_TOKENS"},
        {"{\"content\":\"a\",\"finish_reason\":\"content_filter\"}", "SAFETY"},
        {"{\"tool_calls\":[{\"name\":\"f\",\"arguments\":\"{}\"}],\"finish_reason\":\"tool_calls\"}", "STOP"},
        {"{\"content\":\"\"}", "STOP"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json = render(cases[i].resp, 0, NULL, NULL);
        cJSON *j = cJSON_Parse(json);
        assert_non_null(j);
        const cJSON *cand = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "candidates"), 0);
        assert_string_equal(cJSON_GetObjectItem(cand, "finishReason")->valuestring, cases[i].finish);
        const cJSON *parts = cJSON_GetObjectItem(cJSON_GetObjectItem(cand, "content"), "parts");
        assert_int_equal(cJSON_GetArraySize(parts), 1);
        const cJSON *fc = cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "functionCall");
        if (fc)
            assert_int_equal(strncmp(cJSON_GetObjectItem(fc, "id")->valuestring, "call_", 5), 0);
        cJSON_Delete(j);
        free(json);
    }
}

/* The SSE stream's chunks: each frame "data: {...}\n\n", no event names. */
static size_t chunks(const char *sse, cJSON **out, size_t max)
{
    size_t n = 0;
    const char *p = sse;
    while (*p) {
        assert_int_equal(strncmp(p, "data: ", 6), 0);
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        assert_true(n < max);
        out[n] = cJSON_ParseWithLength(p + 6, (size_t)(end - p - 6));
        assert_non_null(out[n]);
        n++;
        p = end + 2;
    }
    return n;
}

static const cJSON *chunk_candidate(const cJSON *c)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(c, "candidates"), 0);
}

static const cJSON *chunk_part(const cJSON *c, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(chunk_candidate(c), "content"), "parts"), i);
}

static void test_sse(void **state)
{
    (void)state;
    /* text only: one chunk holding the text, the finishReason, the usage */
    char *sse = NULL;
    char *json = render("{\"content\":\"hello\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}", 1, NULL, &sse);
    assert_string_equal(sse, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hello\"}],\"role\":\"model\"},"
                             "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,"
                             "\"candidatesTokenCount\":1,\"totalTokenCount\":4},\"modelVersion\":\"gemini-x\","
                             "\"responseId\":\"r1\"}\n\n");
    free(json);
    free(sse);

    /* thought, text, calls: a chunk each for the thought and the text
     * (no finishReason), then every call whole in the last chunk */
    const char *ids[] = {"call_a", "call_b"};
    json = render("{\"content\":\"doing\",\"reasoning_content\":\"plan\",\"tool_calls\":[{\"name\":\"a\",\"arguments\":"
                  "\"{\\\"x\\\":1}\"},{\"name\":\"b\",\"arguments\":\"{}\"}]}",
                  1, ids, &sse);
    cJSON *c[8];
    size_t n = chunks(sse, c, 8);
    assert_int_equal(n, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(chunk_part(c[0], 0), "thought")));
    assert_string_equal(cJSON_GetObjectItem(chunk_part(c[1], 0), "text")->valuestring, "doing");
    assert_null(cJSON_GetObjectItem(chunk_candidate(c[0]), "finishReason"));
    assert_null(cJSON_GetObjectItem(chunk_candidate(c[1]), "finishReason"));
    assert_string_equal(cJSON_GetObjectItem(chunk_candidate(c[2]), "finishReason")->valuestring, "STOP");
    const cJSON *fa = cJSON_GetObjectItem(chunk_part(c[2], 0), "functionCall");
    const cJSON *fb = cJSON_GetObjectItem(chunk_part(c[2], 1), "functionCall");
    assert_string_equal(cJSON_GetObjectItem(fa, "id")->valuestring, "call_a");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(fa, "args"), "x")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(fb, "name")->valuestring, "b");
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(cJSON_GetObjectItem(c[i], "responseId")->valuestring, "r1");
        assert_string_equal(cJSON_GetObjectItem(chunk_candidate(c[i]), "content")->child->next->valuestring, "model");
        cJSON_Delete(c[i]);
    }
    /* the JSON form (what the transcript keeps) names the same ids */
    assert_non_null(strstr(json, "\"id\":\"call_a\""));
    free(json);
    free(sse);
}

static void test_error_bodies(void **state)
{
    (void)state;
    static const struct {
        unsigned status;
        const char *name;
    } cases[] = {{400, "INVALID_ARGUMENT"}, {401, "UNAUTHENTICATED"}, {403, "PERMISSION_DENIED"},
                 {404, "NOT_FOUND"},        {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"},
                 {503, "UNAVAILABLE"},      {413, "FAILED_PRECONDITION"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = gate_gemini_error_body(cases[i].status, "why \"quoted\"");
        cJSON *j = cJSON_Parse(b);
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, (int)cases[i].status);
        assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "why \"quoted\"");
        assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, cases[i].name);
        cJSON_Delete(j);
        free(b);
    }
}

/* ---- over HTTP ---------------------------------------------------------------------- */

static struct http_resp post(const char *url, const char *h1, const char *body)
{
    const char *headers[] = {h1, NULL};
    return http_request(body ? "POST" : "GET", url, headers, body, NULL, 30);
}

/* A Google error body's status name ("" when it is not one). */
static void expect_error(struct http_resp *r, long status, const char *name)
{
    if (r->status != status)
        fprintf(stderr, "status %ld (want %ld): %s\n", r->status, status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    cJSON *j = cJSON_Parse(r->body);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, (int)status);
    assert_string_equal(cJSON_GetObjectItem(e, "status")->valuestring, name);
    cJSON_Delete(j);
    free(r->body);
    r->body = NULL;
}

static const char *REQ = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
                         "\"generationConfig\":{\"maxOutputTokens\":64}}";

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
                                                       "{\"tool_calls\":[{\"name\":\"ls\",\"arguments\":{\"path\":\".\"}}]}\n"
                                                       "{\"error\":{\"message\":\"scripted\",\"status\":429}}\n"};
    char tok[65], url[512], surl[600], v1[512], count[512], key[128], other_key[128], other[65];
    assert_int_equal(corral_gate_register(g, "r1", &rs, tok, &call), 0);
    const char *base = corral_gate_url(g);
    snprintf(url, sizeof url, "%s/rollout/r1/v1beta/models/gemini-x:generateContent", base);
    snprintf(surl, sizeof surl, "%s/rollout/r1/v1beta/models/gemini-x:streamGenerateContent?alt=sse&key=%s", base, tok);
    snprintf(v1, sizeof v1, "%s/rollout/r1/v1/models/gemini-y:generateContent", base);
    snprintf(count, sizeof count, "%s/rollout/r1/v1beta/models/gemini-x:countTokens", base);
    snprintf(key, sizeof key, "x-goog-api-key: %s", tok);
    assert_int_equal(corral_gate_token(g, "r2", other), 0);
    snprintf(other_key, sizeof other_key, "x-goog-api-key: %s", other);

    /* auth: a missing, wrong or other rollout's key is Google's 401 */
    struct http_resp r = post(url, NULL, REQ);
    expect_error(&r, 401, "UNAUTHENTICATED");
    r = post(url, "x-goog-api-key: 00", REQ);
    expect_error(&r, 401, "UNAUTHENTICATED");
    r = post(url, other_key, REQ);
    expect_error(&r, 401, "UNAUTHENTICATED");

    r = post(url, key, REQ);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    cJSON *j = cJSON_Parse(r.body);
    const cJSON *cand = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "candidates"), 0);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cand, "content"), "parts"), 0),
                            "text")->valuestring,
        "one");
    assert_string_equal(cJSON_GetObjectItem(j, "modelVersion")->valuestring, "gemini-x");
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "responseId")->valuestring), 32);
    cJSON_Delete(j);
    free(r.body);

    /* the stream route, the key in the query: SSE, the call whole */
    r = post(surl, NULL, REQ);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");
    cJSON *c[4];
    size_t n = chunks(r.body, c, 4);
    assert_int_equal(n, 1);
    const cJSON *fc = cJSON_GetObjectItem(chunk_part(c[0], 0), "functionCall");
    assert_string_equal(cJSON_GetObjectItem(fc, "name")->valuestring, "ls");
    assert_int_equal(strncmp(cJSON_GetObjectItem(fc, "id")->valuestring, "call_", 5), 0);
    cJSON_Delete(c[0]);
    free(r.body);

    /* a scripted 429 keeps its status, in Google's shape; past the
     * script's end a 400 the client will not retry (also under /v1) */
    r = post(url, key, REQ);
    expect_error(&r, 429, "RESOURCE_EXHAUSTED");
    r = post(v1, key, REQ);
    expect_error(&r, 400, "INVALID_ARGUMENT");

    /* a malformed body 400; an unknown method 404; an oversized body 413 */
    r = post(url, key, "{\"contents\":[]}");
    expect_error(&r, 400, "INVALID_ARGUMENT");
    char bad[600];
    snprintf(bad, sizeof bad, "%s/rollout/r1/v1beta/models/gemini-x:embedContent", base);
    r = post(bad, key, REQ);
    assert_int_equal(r.status, 404);
    free(r.body);
    char *big = malloc(80 * 1024);
    memset(big, 'x', 80 * 1024 - 1);
    big[80 * 1024 - 1] = 0;
    memcpy(big, "{\"contents\":\"", 13);
    r = post(url, key, big);
    assert_int_equal(r.status, 413);
    j = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valueint, 413);
    cJSON_Delete(j);
    free(r.body);
    free(big);

    /* countTokens: an estimate, authenticated, not recorded */
    r = post(count, key, REQ);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    assert_true(cJSON_GetObjectItem(j, "totalTokens")->valueint > 0);
    cJSON_Delete(j);
    free(r.body);
    r = post(count, "x-goog-api-key: nope", REQ);
    expect_error(&r, 401, "UNAUTHENTICATED");

    /* the transcript: each call with dialect "gemini", the agent's own
     * body, the normalized chat request and the answer in Gemini form */
    char *t = corral_gate_transcript(g, "r1");
    cJSON *tr = cJSON_Parse(t);
    free(t);
    assert_int_equal(cJSON_GetArraySize(tr), 4);
    const cJSON *e0 = cJSON_GetArrayItem(tr, 0);
    assert_string_equal(cJSON_GetObjectItem(e0, "dialect")->valuestring, "gemini");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "request"), "contents"));
    const cJSON *norm = cJSON_GetObjectItem(e0, "normalized_request");
    assert_string_equal(cJSON_GetObjectItem(norm, "model")->valuestring, "gemini-x");
    assert_int_equal(cJSON_GetObjectItem(norm, "max_tokens")->valueint, 64);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "response"), "candidates"));
    const cJSON *e1 = cJSON_GetArrayItem(tr, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e1, "stream")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tr, 3), "dialect")->valuestring, "gemini");
    /* the key never reaches the transcript (it came in the query once) */
    t = cJSON_PrintUnformatted(tr);
    assert_null(strstr(t, tok));
    free(t);
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
    a->r = post(a->url, a->key,
                "{\"systemInstruction\":{\"parts\":[{\"text\":\"be brief\"}]},"
                "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
    return NULL;
}

/* The trainer responder serves a Gemini call: the long-poll hands over the
 * normalized chat request with the dialect and the agent's own body; the
 * trainer's answer (a gate.h form) reaches the agent as Gemini SSE. */
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
    snprintf(url, sizeof url, "%s/rollout/t1/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
             corral_gate_url(g));
    snprintf(key, sizeof key, "x-goog-api-key: %s", tok);
    snprintf(next, sizeof next, "%s/v1/requests/next?timeout=10", corral_gate_trainer_url(g));
    snprintf(tauth, sizeof tauth, "Authorization: Bearer %s", corral_gate_trainer_token(g));

    struct agent_call a = {.url = url, .key = key};
    pthread_t th;
    pthread_create(&th, NULL, agent_main, &a);
    const char *h[] = {tauth, NULL};
    struct http_resp r = http_request("GET", next, h, NULL, NULL, 30);
    assert_int_equal(r.status, 200);
    cJSON *env = cJSON_Parse(r.body);
    free(r.body);
    assert_string_equal(cJSON_GetObjectItem(env, "dialect")->valuestring, "gemini");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(env, "raw_request"), "systemInstruction"));
    const cJSON *req = cJSON_GetObjectItem(env, "request");
    assert_string_equal(cJSON_GetObjectItem(req, "model")->valuestring, "gemini-x");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(req, "stream")));
    const cJSON *msgs = cJSON_GetObjectItem(req, "messages");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring, "be brief");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring, "hi");
    assert_int_equal(corral_gate_deliver(g, cJSON_GetObjectItem(env, "id")->valuestring,
                                         "{\"tool_calls\":[{\"name\":\"ls\",\"arguments\":{\"path\":\".\"}}],"
                                         "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}",
                                         &call),
                     0);
    cJSON_Delete(env);
    pthread_join(th, NULL);
    assert_int_equal(a.r.status, 200);
    assert_string_equal(a.r.ctype, "text/event-stream");
    cJSON *c[4];
    assert_int_equal(chunks(a.r.body, c, 4), 1);
    const cJSON *fc = cJSON_GetObjectItem(chunk_part(c[0], 0), "functionCall");
    assert_string_equal(cJSON_GetObjectItem(fc, "name")->valuestring, "ls");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(fc, "args"), "path")->valuestring, ".");
    const cJSON *u = cJSON_GetObjectItem(c[0], "usageMetadata");
    assert_int_equal(cJSON_GetObjectItem(u, "promptTokenCount")->valueint, 9);
    assert_int_equal(cJSON_GetObjectItem(u, "totalTokenCount")->valueint, 13);
    cJSON_Delete(c[0]);
    free(a.r.body);
    corral_gate_free(g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_golden),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_render_json_golden),
        cmocka_unit_test(test_sse),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_trainer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
