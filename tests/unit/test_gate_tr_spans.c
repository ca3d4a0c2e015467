/* The dialect edges carry long strings as spans of the agent's body
 * instead of through a cJSON tree (gate_tr_spans.c, docs/gate-dialects.md
 * "Performance").  Each case translates a body with long strings full of
 * escapes (quotes, backslashes, control characters, \u escapes, surrogate
 * pairs) in every place a converter puts text: top-level strings, joined
 * blocks, tool inputs printed as JSON inside a string, data URLs.  The
 * same body with the placeholder mark in an ignored field goes through the
 * whole tree instead; both translations must mean the same (strings that
 * hold JSON compared as JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "gate/gate_internal.h"

/* A ~600-byte JSON string body (escaped, no quotes around). */
static const char *long_text(void)
{
    static char buf[2048];
    if (!buf[0]) {
        const char *piece = "line \\\"quoted\\\" back\\\\slash\\ttab\\n caf\\u00e9 \xc3\xa9 \\ud83d\\ude00 \\/ x ";
        while (strlen(buf) + strlen(piece) < 600)
            strcat(buf, piece);
    }
    return buf;
}

/* a and b mean the same: equal JSON, strings equal as text or as JSON. */
static int same(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsString(a) && cJSON_IsString(b)) {
        if (strcmp(a->valuestring, b->valuestring) == 0)
            return 1;
        cJSON *ja = cJSON_Parse(a->valuestring), *jb = cJSON_Parse(b->valuestring);
        int r = ja && jb && (cJSON_IsObject(ja) || cJSON_IsArray(ja)) && same(ja, jb);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        return r;
    }
    if ((cJSON_IsObject(a) && cJSON_IsObject(b)) || (cJSON_IsArray(a) && cJSON_IsArray(b))) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return 0;
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if ((x->string || y->string) && (!x->string || !y->string || strcmp(x->string, y->string) != 0))
                return 0;
            else if (!same(x, y))
                return 0;
        return 1;
    }
    return cJSON_Compare(a, b, 1);
}

enum { MESSAGES, RESPONSES, GEMINI };

/* The translation, and its fields read from the edge's tree into req
 * (when not NULL; the caller clears it). */
static char *translate(int d, const char *body, char *err, struct gate_chat_request *req)
{
    size_t n = 0;
    char *s = d == MESSAGES    ? gate_messages_normalize(body, strlen(body), req, &n, err, 256)
              : d == RESPONSES ? gate_responses_normalize(body, strlen(body), NULL, req, &n, err, 256)
                               : gate_gemini_normalize(body, strlen(body), "gm", 1, req, &n, err, 256);
    if (s)
        assert_int_equal(n, strlen(s));
    return s;
}

/* body has "%1$s" where the long text goes and ends with '}'. */
static void check(int d, const char *fmt)
{
    const char *t = long_text();
    size_t cap = strlen(fmt) + 16 * strlen(t) + 64;
    char *body = malloc(cap), *whole = malloc(cap + 32);
    snprintf(body, cap, fmt, t);
    /* the mark in an ignored field: the whole body goes through the tree */
    snprintf(whole, cap + 32, "%.*s,\"x_pad\":\"\\uFFFF\"}", (int)(strlen(body) - 1), body);

    struct gate_spans sp;
    char *light = NULL;
    size_t ll = 0;
    assert_int_equal(gate_spans_lighten(body, strlen(body), &sp, &light, &ll), 0);
    assert_non_null(light);
    assert_true(sp.n > 0);
    assert_true(ll < strlen(body));
    free(light);
    gate_spans_clear(&sp);
    assert_int_equal(gate_spans_lighten(whole, strlen(whole), &sp, &light, &ll), 0);
    assert_null(light);
    gate_spans_clear(&sp);

    for (int pass = 0; pass < 2; pass++) {
        /* then every string as a span, short ones too */
        gate_spans_min = pass ? 1 : 256;
        char e1[256] = "", e2[256] = "";
        struct gate_chat_request treq;
        char *a = translate(d, body, e1, &treq), *b = translate(d, whole, e2, NULL);
        if (!a || !b)
            fail_msg("translation failed: %s / %s", e1, e2);
        cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
        assert_non_null(ja);
        assert_non_null(jb);
        if (!same(ja, jb))
            fail_msg("spans and tree differ:\n%s\n%s", a, b);
        /* and the chat path accepts it, reading the fields the edge read
         * from its tree (the system prompt's spans put back) */
        struct gate_chat_request req;
        assert_int_equal(gate_parse_chat_request(a, strlen(a), &req, e1, sizeof e1), 0);
        assert_int_equal(req.stream, treq.stream);
        assert_int_equal(req.include_usage, treq.include_usage);
        assert_int_equal(req.has_tools, treq.has_tools);
        assert_true(req.max_tokens == treq.max_tokens);
        assert_true((req.model == NULL) == (treq.model == NULL));
        if (req.model)
            assert_string_equal(req.model, treq.model);
        assert_true((req.system == NULL) == (treq.system == NULL));
        if (req.system)
            assert_string_equal(req.system, treq.system);
        gate_chat_request_clear(&req);
        gate_chat_request_clear(&treq);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        free(a);
        free(b);
    }
    gate_spans_min = 256;
    free(body);
    free(whole);
}

static void test_messages(void **state)
{
    (void)state;
    check(MESSAGES, "{\"model\":\"m\",\"max_tokens\":10,\"system\":\"%1$s\",\"messages\":["
                    "{\"role\":\"user\",\"content\":\"%1$s\"},"
                    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"%1$s\"},"
                    "{\"type\":\"text\",\"text\":\"%1$s\"},{\"type\":\"text\",\"text\":\"%1$s\"},"
                    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Bash\",\"input\":{\"command\":\"%1$s\","
                    "\"deep\":{\"list\":[\"%1$s\",1,true]}}}]},"
                    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":"
                    "[{\"type\":\"text\",\"text\":\"%1$s\"}]},{\"type\":\"text\",\"text\":\"%1$s\"},"
                    "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"%1$s\"}}]}],"
                    "\"tools\":[{\"name\":\"Bash\",\"description\":\"%1$s\",\"input_schema\":{\"type\":\"object\","
                    "\"description\":\"%1$s\"}}]}");
    /* a system given as blocks, tool_result content as a string */
    check(MESSAGES, "{\"model\":\"m\",\"max_tokens\":10,\"system\":[{\"type\":\"text\",\"text\":\"%1$s\"}],"
                    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
                    "\"content\":\"%1$s\"}]}]}");
}

static void test_responses(void **state)
{
    (void)state;
    check(RESPONSES, "{\"model\":\"m\",\"instructions\":\"%1$s\",\"input\":["
                     "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"%1$s\"}]},"
                     "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"%1$s\"}]},"
                     "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"sh\",\"arguments\":\"{\\\"cmd\\\":\\\"%1$s\\\"}\"},"
                     "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"%1$s\"}],"
                     "\"tools\":[{\"type\":\"function\",\"name\":\"sh\",\"description\":\"%1$s\","
                     "\"parameters\":{\"type\":\"object\"}}]}");
    check(RESPONSES, "{\"model\":\"m\",\"input\":\"%1$s\"}");
}

static void test_gemini(void **state)
{
    (void)state;
    check(GEMINI, "{\"systemInstruction\":{\"parts\":[{\"text\":\"%1$s\"},{\"text\":\"%1$s\"}]},\"contents\":["
                  "{\"role\":\"user\",\"parts\":[{\"text\":\"%1$s\"},"
                  "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"%1$s\"}}]},"
                  "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"sh\",\"args\":{\"cmd\":\"%1$s\","
                  "\"more\":[{\"x\":\"%1$s\"}]}}}]},"
                  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"sh\",\"response\":"
                  "{\"output\":\"%1$s\"}}}]}],"
                  "\"tools\":[{\"functionDeclarations\":[{\"name\":\"sh\",\"description\":\"%1$s\"}]}]}");
}

/* A long string holding the mark or a NUL escape goes through the tree
 * (the mark would be mistaken for a placeholder; cJSON ends a string at
 * NUL), and ids, names and types are never replaced. */
static void test_kept_in_tree(void **state)
{
    (void)state;
    char *body = malloc(4096);
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(body, 4096, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\\u0000tail\"}],"
             "\"tools\":[{\"name\":\"%s\",\"input_schema\":{}}]}", name, long_text(), name);
    struct gate_spans sp;
    char *light = NULL;
    size_t ll = 0;
    assert_int_equal(gate_spans_lighten(body, strlen(body), &sp, &light, &ll), 0);
    assert_non_null(light);
    assert_int_equal(sp.n, 0);
    free(light);
    gate_spans_clear(&sp);
    /* the raw mark anywhere: no placeholders at all */
    snprintf(body, 4096, "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"%s\xEF\xBF\xBF\"}]}",
             long_text());
    assert_int_equal(gate_spans_lighten(body, strlen(body), &sp, &light, &ll), 0);
    assert_null(light);
    gate_spans_clear(&sp);
    char err[256] = "";
    size_t n = 0;
    char *out = gate_messages_normalize(body, strlen(body), NULL, &n, err, sizeof err);
    assert_non_null(out);
    cJSON *j = cJSON_Parse(out);
    const char *content = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), "content")
                              ->valuestring;
    assert_non_null(strstr(content, "\xEF\xBF\xBF"));
    cJSON_Delete(j);
    free(out);
    free(body);
}

/* A placeholder printed two JSON-in-a-string levels deep expands to the
 * span escaped twice more. */
static void test_expand_levels(void **state)
{
    (void)state;
    const char *body = "[\"a\\\"b\\\\c\\n--------------------------------------------------------------------------"
                       "--------------------------------------------------------------------------------------"
                       "--------------------------------------------------------------------------------------"
                       "-----------------------\"]";
    struct gate_spans sp;
    char *light = NULL;
    size_t ll = 0;
    assert_int_equal(gate_spans_lighten(body, strlen(body), &sp, &light, &ll), 0);
    assert_int_equal(sp.n, 1);
    cJSON *arr = cJSON_Parse(light);
    char *l1 = cJSON_PrintUnformatted(arr);
    cJSON *s1 = cJSON_CreateArray();
    cJSON_AddItemToArray(s1, cJSON_CreateString(l1));
    char *l2 = cJSON_PrintUnformatted(s1);
    cJSON *s2 = cJSON_CreateArray();
    cJSON_AddItemToArray(s2, cJSON_CreateString(l2));
    char *printed = cJSON_PrintUnformatted(s2);
    size_t n = 0;
    char *out = gate_spans_expand(printed, strlen(printed), &sp, &n);
    assert_non_null(out);
    assert_int_equal(n, strlen(out));
    /* unwrap the three levels: the original array comes back */
    cJSON *o2 = cJSON_Parse(out);
    cJSON *o1 = cJSON_Parse(cJSON_GetArrayItem(o2, 0)->valuestring);
    cJSON *o0 = cJSON_Parse(cJSON_GetArrayItem(o1, 0)->valuestring);
    cJSON *want = cJSON_Parse(body);
    assert_true(cJSON_Compare(o0, want, 1));
    cJSON_Delete(o0), cJSON_Delete(o1), cJSON_Delete(o2), cJSON_Delete(want);
    cJSON_Delete(arr), cJSON_Delete(s1), cJSON_Delete(s2);
    free(l1), free(l2), free(printed), free(out), free(light);
    gate_spans_clear(&sp);
}

/* The fields a call is judged by (stream, model, tools, max_tokens, the
 * system prompt for auxiliary rules) are read from the edge's tree, not by
 * scanning the printed request again: they must be what that scan reads,
 * with a system prompt made of spans put back; and what the chat path
 * refuses in a normalized request, the edge refuses with the same words. */
static void test_request_fields(void **state)
{
    (void)state;
    const char *t = long_text();
    char body[4096], e1[256] = "", e2[256] = "";
    snprintf(body, sizeof body,
             "{\"model\":\"m\",\"max_tokens\":7,\"stream\":true,\"system\":[{\"type\":\"text\",\"text\":\"%s\"},"
             "{\"type\":\"text\",\"text\":\"%s\"}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"tools\":[{\"name\":\"bash\",\"input_schema\":{\"type\":\"object\"}}]}",
             t, t);
    struct gate_chat_request treq, req;
    char *a = translate(MESSAGES, body, e1, &treq);
    assert_non_null(a);
    assert_int_equal(gate_parse_chat_request(a, strlen(a), &req, e2, sizeof e2), 0);
    assert_non_null(treq.system);
    assert_true(strlen(treq.system) > strlen(t)); /* both blocks (decoding shrinks one) */
    assert_null(strstr(treq.system, "\xEF\xBF\xBF"));
    assert_string_equal(treq.system, req.system);
    assert_string_equal(treq.model, "m");
    assert_int_equal(treq.stream, 1);
    assert_int_equal(treq.has_tools, 1);
    assert_true(treq.max_tokens == 7);
    gate_chat_request_clear(&treq);
    gate_chat_request_clear(&req);
    free(a);

    /* a number cJSON prints shorter than its double: the printed one */
    const char *big = "{\"model\":\"m\",\"max_tokens\":688888888888888888888888888884,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    a = translate(MESSAGES, big, e1, &treq);
    assert_non_null(a);
    assert_int_equal(gate_parse_chat_request(a, strlen(a), &req, e2, sizeof e2), 0);
    assert_true(req.max_tokens == treq.max_tokens);
    gate_chat_request_clear(&treq);
    gate_chat_request_clear(&req);
    free(a);

    /* no messages: refused by the tree reading as the chat path would */
    const char *none = "{\"model\":\"m\",\"max_tokens\":7,\"messages\":[]}";
    char *plain = translate(MESSAGES, none, e1, NULL);
    char *read = translate(MESSAGES, none, e2, &treq);
    assert_null(read);
    if (plain) {
        assert_int_not_equal(gate_parse_chat_request(plain, strlen(plain), &req, e1, sizeof e1), 0);
        free(plain);
    }
    assert_string_equal(e1, e2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),     cmocka_unit_test(test_responses),     cmocka_unit_test(test_gemini),
        cmocka_unit_test(test_kept_in_tree), cmocka_unit_test(test_expand_levels), cmocka_unit_test(test_request_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
