/* Fuzz the gate's Gemini generateContent edge (gate_gemini.c): arbitrary
 * bytes as a :generateContent body, the first byte choosing the stream
 * route.  Whatever it accepts must translate into a chat request that the
 * chat path accepts too, with the route's stream flag and model; the
 * answer is then rendered in Gemini form, JSON and SSE, and must parse;
 * every refusal must say why in a parseable Google error body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_fuzz_answer.h"

static void check_answer(void)
{
    struct gate_completion c;
    char err[256];
    static const char resp[] = "{\"content\":\"ok\",\"reasoning_content\":\"hm\",\"tool_calls\":[{\"name\":\"f\","
                               "\"arguments\":\"{\\\"a\\\":[1]}\"},{\"id\":\"x\",\"name\":\"g\",\"arguments\":\"[]\"}]}";
    if (gate_completion_from_text(resp, sizeof resp - 1, &c, err, sizeof err) != 0)
        abort();
    struct gate_answer_vars v = {.id = "r1", .model = "m", .created = 1, .stream = 1, .dialect = GATE_DIALECT_GEMINI};
    gate_fuzz_answer(&c, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* odd sizes: every string as a span of the body (gate_tr_spans.c) */
    gate_spans_min = size % 2 ? 1 : 256;
    if (size == 0)
        return 0;
    int stream = data[0] & 1;
    const char *body = (const char *)data + 1;
    size--;
    char err[256];
    size_t n = 0;
    struct gate_chat_request treq;
    char *chat = gate_gemini_normalize(body, size, "gemini-x", stream, &treq, &n, err, sizeof err);
    if (!chat) {
        if (!err[0])
            abort(); /* every refusal says why (the 400's message) */
        char perr[256] = "";
        char *plain = gate_gemini_normalize(body, size, "gemini-x", stream, NULL, &n, perr, sizeof perr);
        gate_fuzz_same_refusal(err, plain, perr);
        char *b = gate_gemini_error_body(400, err);
        cJSON *e = b ? cJSON_Parse(b) : NULL;
        if (!e)
            abort();
        cJSON_Delete(e);
        free(b);
        return 0;
    }
    if (n != strlen(chat))
        abort();
    struct gate_chat_request req;
    gate_fuzz_same_request(chat, n, &treq, &req);
    gate_chat_request_clear(&treq);
    cJSON *in = gate_json_parse_exact(body, size);
    if (!in)
        abort(); /* accepted what cJSON refuses */
    cJSON_Delete(in);
    if (req.stream != stream || !req.model || strcmp(req.model, "gemini-x") != 0)
        abort();
    gate_chat_request_clear(&req);
    free(chat);
    check_answer();
    return 0;
}
