/* Fuzz the gate's Anthropic Messages edge (gate_messages.c): arbitrary
 * bytes as a /v1/messages body.  Whatever it accepts must translate into
 * a chat request that the chat path accepts too, with the fields the
 * edge read from its own tree (and what it refuses there, the chat path
 * refuses alike), the same stream flag and model as a cJSON tree of the
 * body says; the answer is then
 * rendered in Messages form, both JSON and SSE, and must parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_fuzz_answer.h"

static void check_answer(const struct gate_chat_request *req)
{
    struct gate_completion c;
    char err[256];
    static const char resp[] = "{\"content\":\"ok\",\"tool_calls\":[{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":[1]}\"}]}";
    if (gate_completion_from_text(resp, sizeof resp - 1, &c, err, sizeof err) != 0)
        abort();
    struct gate_answer_vars v = {.id = "msg_1", .model = req->model ? req->model : "m", .created = 1,
                                 .stream = 1, .dialect = GATE_DIALECT_MESSAGES};
    gate_fuzz_answer(&c, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* odd sizes: every string as a span of the body (gate_tr_spans.c) */
    gate_spans_min = size % 2 ? 1 : 256;
    char err[256];
    size_t n = 0;
    struct gate_chat_request treq;
    char *chat = gate_messages_normalize((const char *)data, size, &treq, &n, err, sizeof err);
    if (!chat) {
        if (!err[0])
            abort(); /* every refusal says why (the 400's message) */
        char perr[256] = "";
        char *plain = gate_messages_normalize((const char *)data, size, NULL, &n, perr, sizeof perr);
        gate_fuzz_same_refusal(err, plain, perr);
        char *b = gate_messages_error_body(400, err, NULL);
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
