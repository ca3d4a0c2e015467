/* Fuzz the gate's chat-request reader: arbitrary bytes as a request body.
 * Differential: whatever the scanner accepts, cJSON must parse too (the
 * body is kept verbatim and parsed later by trainers and the rollout), and
 * the fields read must be what a cJSON tree of the same body says (also
 * the facts call kinds are judged by: tools, the system prompt).  A body
 * that is accepted must render an answer in both forms without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_fuzz_answer.h"
#include "base/json_scan.h"

static void agree_with_cjson(const uint8_t *data, size_t size, const struct gate_chat_request *req)
{
    cJSON *j = gate_json_parse_exact((const char *)data, size);
    if (!j || !cJSON_IsObject(j))
        abort(); /* accepted what cJSON refuses */
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(j, "stream");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(j, "stream_options");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    int usage = cJSON_IsObject(so) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    const char *m = cJSON_IsString(model) && model->valuestring[0] ? model->valuestring : NULL;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0 || req->stream != cJSON_IsTrue(stream) ||
        req->include_usage != usage || (m == NULL) != (req->model == NULL) || (m && strcmp(m, req->model) != 0))
        abort();
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
    if (req->has_tools != (cJSON_IsArray(tools) && cJSON_GetArraySize(tools) > 0))
        abort();
    const cJSON *first = cJSON_GetArrayItem(msgs, 0);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(first, "content");
    int sys = cJSON_IsString(role) && cJSON_IsString(content) &&
              (strcmp(role->valuestring, "system") == 0 || strcmp(role->valuestring, "developer") == 0);
    if (sys != (req->system != NULL) || (sys && strcmp(content->valuestring, req->system) != 0))
        abort();
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (crl_json_scan((const char *)data, size, NULL, NULL)) {
        cJSON *j = gate_json_parse_exact((const char *)data, size);
        if (!j)
            abort();
        cJSON_Delete(j);
    }
    struct gate_chat_request req;
    char err[256];
    if (gate_parse_chat_request((const char *)data, size, &req, err, sizeof err) != 0)
        return 0;
    agree_with_cjson(data, size, &req);
    struct gate_completion c;
    memset(&c, 0, sizeof c);
    c.content = strdup("ok");
    c.finish_reason = strdup("stop");
    struct gate_answer_vars v = {.id = "id", .model = req.model ? req.model : "m", .created = 1,
                                 .stream = req.stream, .include_usage = req.include_usage};
    gate_fuzz_answer(&c, &v);
    gate_chat_request_clear(&req);
    return 0;
}
