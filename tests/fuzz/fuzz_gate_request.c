/* Fuzz the gate's chat-request parser: arbitrary bytes as a request body.
 * A body that parses must render an answer in both forms without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gate_chat_request req;
    char err[256];
    if (gate_parse_chat_request((const char *)data, size, &req, err, sizeof err) != 0)
        return 0;
    struct gate_completion c;
    memset(&c, 0, sizeof c);
    c.content = strdup("ok");
    c.finish_reason = strdup("stop");
    const char *model = req.model ? req.model : "m";
    cJSON *o = gate_render_object(&c, "id", model, 1);
    size_t len = 0;
    char *sse = gate_render_sse(&c, "id", model, 1, req.include_usage, &len);
    if (!o || !sse || len == 0)
        abort();
    cJSON_Delete(o);
    free(sse);
    gate_completion_clear(&c);
    gate_chat_request_clear(&req);
    return 0;
}
