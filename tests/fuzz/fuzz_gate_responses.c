/* Fuzz the gate's OpenAI Responses edge (gate_responses.c): arbitrary
 * bytes as a /v1/responses body.  Whatever it accepts must translate into
 * a chat request that the chat path accepts too, with the fields the
 * edge read from its own tree (and what it refuses there, the chat path
 * refuses alike), the same stream flag and model as a cJSON tree of the
 * body says; the answer is then
 * rendered in Responses form, both JSON and SSE, and must parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_fuzz_answer.h"

/* The answer calls a tool: the first flattened namespace tool when the
 * request had one (its namespace rendered back), else "f". */
static void check_answer(const struct gate_chat_request *req, const struct gate_resp_ns *ns)
{
    struct gate_completion c;
    char err[256];
    cJSON *o = cJSON_Parse("{\"content\":\"ok\",\"reasoning_content\":\"r\",\"tool_calls\":[{\"name\":\"f\","
                           "\"arguments\":\"{\\\"a\\\":[1]}\"}]}");
    if (!o)
        abort();
    if (ns->n) {
        struct crl_buf b = {0};
        if (crl_buf_puts(&b, ns->v[0].ns) || crl_buf_puts(&b, "__") || crl_buf_puts(&b, ns->v[0].name))
            abort();
        cJSON *call = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "tool_calls"), 0);
        cJSON_ReplaceItemInObjectCaseSensitive(call, "name", cJSON_CreateString(b.p));
        crl_buf_free(&b);
    }
    char *resp = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!resp || gate_completion_from_text(resp, strlen(resp), &c, err, sizeof err) != 0)
        abort();
    free(resp);
    struct gate_answer_vars v = {.id = "0123", .model = req->model ? req->model : "m", .created = 1,
                                 .stream = 1, .dialect = GATE_DIALECT_RESPONSES, .ns = ns};
    gate_fuzz_answer(&c, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* odd sizes: every string as a span of the body (gate_tr_spans.c) */
    gate_spans_min = size % 2 ? 1 : 256;
    char err[256];
    size_t n = 0;
    struct gate_resp_ns ns = {0};
    struct gate_chat_request treq;
    char *chat = gate_responses_normalize((const char *)data, size, &ns, &treq, &n, err, sizeof err);
    if (!chat) {
        if (!err[0])
            abort(); /* every refusal says why (the 400's message) */
        char perr[256] = "";
        gate_resp_ns_clear(&ns);
        char *plain = gate_responses_normalize((const char *)data, size, &ns, NULL, &n, perr, sizeof perr);
        gate_fuzz_same_refusal(err, plain, perr);
        char *b = gate_responses_error_body(400, err, NULL, "invalid_request");
        cJSON *e = b ? cJSON_Parse(b) : NULL;
        if (!e)
            abort();
        cJSON_Delete(e);
        free(b);
        gate_resp_ns_clear(&ns);
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
    check_answer(&req, &ns);
    gate_resp_ns_clear(&ns);
    gate_chat_request_clear(&req);
    free(chat);
    return 0;
}
