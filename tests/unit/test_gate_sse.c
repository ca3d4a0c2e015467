/* The reassembly of a same-dialect upstream's SSE answer into the
 * unstreamed response object (gate_sse.c, docs/gate-dialects.md
 * "Same-dialect upstreams"): Messages content blocks, deltas joined and
 * tool_use input parsed; the SSE framing (CRLF, comments, multi-line data,
 * a cut-off last event); Responses' completed object; Gemini chunks merged
 * per candidate; nothing usable gives NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include <corral/gate.h>

#include "gate/gate_sse.h"

static char *assemble(int dialect, const char *sse, int *complete)
{
    cJSON *r = crl_gate_sse_assemble(dialect, sse, strlen(sse), complete);
    char *s = r ? cJSON_PrintUnformatted(r) : NULL;
    cJSON_Delete(r);
    return s;
}

static const char MSG[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
    ": a comment\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\n"
    "data: \"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","
    "\"name\":\"bash\",\"input\":{}}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1,2]}\"}}\n\n"
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t2\","
    "\"name\":\"noargs\",\"input\":{}}}\n\n"
    "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":9}}\n\n"
    "data: {\"type\":\"message_stop\"}\n\n";

static const char MSG_WHOLE[] =
    "{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"sig\"},{\"type\":\"text\",\"text\":\"Hello\"},"
    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"bash\",\"input\":{\"a\":[1,2]}},"
    "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"noargs\",\"input\":{}}],"
    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":9},\"stop_sequence\":null}";

static void test_messages(void **state)
{
    (void)state;
    int complete = -1;
    char *s = assemble(CORRAL_GATE_DIALECT_MESSAGES, MSG, &complete);
    assert_non_null(s);
    assert_string_equal(s, MSG_WHOLE);
    assert_int_equal(complete, 1);
    free(s);
}

/* The same stream with CRLF and with CR line ends gives the same object. */
static void test_line_ends(void **state)
{
    (void)state;
    for (int cr_only = 0; cr_only < 2; cr_only++) {
        size_t n = strlen(MSG);
        char *t = malloc(2 * n + 1), *o = t;
        for (size_t i = 0; i < n; i++) {
            if (MSG[i] == '\n') {
                *o++ = '\r';
                if (!cr_only)
                    *o++ = '\n';
            } else {
                *o++ = MSG[i];
            }
        }
        *o = 0;
        char *s = assemble(CORRAL_GATE_DIALECT_MESSAGES, t, NULL);
        assert_non_null(s);
        assert_string_equal(s, MSG_WHOLE);
        free(s);
        free(t);
    }
}

/* Cut before message_stop (and mid-event): what came, incomplete; the
 * tool_use input cut mid-JSON stays visible as its text. */
static void test_cut(void **state)
{
    (void)state;
    const char *cut = strstr(MSG, "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1");
    assert_non_null(cut);
    size_t n = (size_t)(cut - MSG) + 30;
    cJSON *r = crl_gate_sse_assemble(CORRAL_GATE_DIALECT_MESSAGES, MSG, n, NULL);
    int complete = -1;
    cJSON_Delete(crl_gate_sse_assemble(CORRAL_GATE_DIALECT_MESSAGES, MSG, n, &complete));
    assert_int_equal(complete, 0);
    assert_non_null(r);
    cJSON *content = cJSON_GetObjectItemCaseSensitive(r, "content");
    assert_int_equal(cJSON_GetArraySize(content), 3);
    cJSON *input = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 2), "input");
    assert_true(cJSON_IsString(input));
    assert_string_equal(input->valuestring, "{\"a\":");
    cJSON_Delete(r);
}

static void test_nothing_usable(void **state)
{
    (void)state;
    int complete = -1;
    assert_null(crl_gate_sse_assemble(CORRAL_GATE_DIALECT_MESSAGES, "data: not json\n\n", 16, &complete));
    assert_int_equal(complete, 0);
    /* deltas before any message_start, a block out of order: ignored */
    const char *odd = "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\"}}\n\n";
    assert_null(crl_gate_sse_assemble(CORRAL_GATE_DIALECT_MESSAGES, odd, strlen(odd), NULL));
    assert_null(crl_gate_sse_assemble(CORRAL_GATE_DIALECT_CHAT, MSG, strlen(MSG), NULL));
    assert_null(crl_gate_sse_assemble(CORRAL_GATE_DIALECT_GEMINI, "", 0, NULL));
}

static void test_responses(void **state)
{
    (void)state;
    const char *sse =
        "event: response.created\n"
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n"
        "event: response.output_text.delta\n"
        "data: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n"
        "event: response.completed\n"
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"object\":\"response\",\"status\":\"completed\","
        "\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\"}]}]}}\n\n";
    int complete = -1;
    char *s = assemble(CORRAL_GATE_DIALECT_RESPONSES, sse, &complete);
    assert_string_equal(s, "{\"id\":\"r1\",\"object\":\"response\",\"status\":\"completed\","
                           "\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\"}]}]}");
    assert_int_equal(complete, 1);
    free(s);
    /* only the created event: its object, incomplete */
    s = assemble(CORRAL_GATE_DIALECT_RESPONSES, strstr(sse, "event: response.created"), &complete);
    assert_non_null(s);
    free(s);
}

static void test_gemini(void **state)
{
    (void)state;
    const char *sse =
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}],"
        "\"modelVersion\":\"g1\"}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"},"
        "{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":1}}}]},\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}\r\n\r\n";
    int complete = -1;
    char *s = assemble(CORRAL_GATE_DIALECT_GEMINI, sse, &complete);
    assert_string_equal(s, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hello\"},"
                           "{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":1}}}]},\"index\":0,\"finishReason\":\"STOP\"}],"
                           "\"modelVersion\":\"g1\",\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}");
    assert_int_equal(complete, 1);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),       cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_cut),            cmocka_unit_test(test_nothing_usable),
        cmocka_unit_test(test_responses),      cmocka_unit_test(test_gemini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
