/* Fuzz the gate's OpenAI Responses edge (gate_responses.c): arbitrary
 * bytes as a /v1/responses body.  Whatever it accepts must translate into
 * a chat request that the chat path accepts too, with the same stream
 * flag and model as a cJSON tree of the body says; the answer is then
 * rendered in Responses form, both JSON and SSE, and must parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_fuzz_answer.h"

static void check_answer(const struct gate_chat_request *req)
{
    struct gate_completion c;
    char err[256];
    static const char resp[] = "{\"content\":\"ok\",\"reasoning_content\":\"r\",\"tool_calls\":[{\"name\":\"f\","
                               "\"arguments\":\"{\\\"a\\\":[1]}\"}]}";
    if (gate_completion_from_text(resp, sizeof resp - 1, &c, err, sizeof err) != 0)
        abort();
    struct gate_answer_vars v = {.id = "0123", .model = req->model ? req->model : "m", .created = 1,
                                 .stream = 1, .dialect = GATE_DIALECT_RESPONSES};
    gate_fuzz_answer(&c, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* odd sizes: every string as a span of the body (gate_tr_spans.c) */
    gate_spans_min = size % 2 ? 1 : 256;
    char err[256];
    size_t n = 0;
    char *chat = gate_responses_normalize((const char *)data, size, &n, err, sizeof err);
    if (!chat) {
        if (!err[0])
            abort(); /* every refusal says why (the 400's message) */
        char *b = gate_responses_error_body(400, err, NULL, "invalid_request");
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
    if (gate_parse_chat_request(chat, n, &req, err, sizeof err) != 0)
        abort(); /* the normalized call must be one the chat path takes */
    cJSON *in = gate_json_parse_exact((const char *)data, size);
    if (!in)
        abort(); /* accepted what cJSON refuses */
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(in, "model");
    const char *m = cJSON_IsString(model) && model->valuestring[0] ? model->valuestring : NULL;
    if (req.stream != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "stream")) ||
        (m == NULL) != (req.model == NULL) || (m && strcmp(m, req.model) != 0))
        abort();
    cJSON_Delete(in);
    check_answer(&req);
    gate_chat_request_clear(&req);
    free(chat);
    return 0;
}
