/* Fuzz the MCP endpoint's wire (gate_mcp_wire.c): arbitrary bytes as a
 * JSON-RPC message an agent POSTs and as a trainer's tool result.  What
 * parses has the shape promised (a request has an id and a method, params
 * an object); tools/call params, normalized results and every answer body
 * built from them are valid JSON.  The same bytes as a central gate's
 * answer to a node (gate_mcp_tools_from_answer, gate_mcp_answer_relay):
 * only well-formed tools pass, and what is relayed is a tool result the
 * local gate takes or an error answer with an HTTP error status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

static void must_parse(char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (!j)
        abort();
    cJSON_Delete(j);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[256];
    struct gate_mcp_msg m;
    int rc = gate_mcp_parse(text, size, &m, err, sizeof err);
    if (rc == 0) {
        if ((m.kind == GATE_MCP_REQUEST) != (m.id && m.method))
            abort();
        if (m.params && !cJSON_IsObject(m.params))
            abort();
        char *name = NULL, *args = NULL;
        if (m.params && gate_mcp_call_params(m.params, &name, &args, err, sizeof err) == 0) {
            if (!name || !name[0])
                abort();
            must_parse(args);
            free(name);
        }
        if (m.id)
            must_parse(gate_mcp_result_body(m.id, "{}"));
    } else if (rc != GATE_MCP_PARSE_ERROR && rc != GATE_MCP_INVALID_REQUEST) {
        abort();
    }
    must_parse(gate_mcp_error_body(m.id, rc ? rc : GATE_MCP_METHOD_NOT_FOUND, err, "x"));
    cJSON *tools = gate_mcp_tools_from_answer(text, size);
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (!cJSON_IsString(name) || !gate_tool_name_valid(name->valuestring) ||
            !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(t, "inputSchema")))
            abort();
    }
    if (tools && (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) > GATE_TOOLS_MAX))
        abort();
    cJSON_Delete(tools);
    static const long statuses[] = {200, 410, 502};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        char *relay = gate_mcp_answer_relay(statuses[i], text, size);
        cJSON *rj = relay ? cJSON_Parse(relay) : NULL;
        if (relay && !cJSON_IsObject(rj))
            abort();
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(rj, "error");
        if (e && (statuses[i] == 200 || cJSON_GetObjectItemCaseSensitive(e, "status")->valuedouble != statuses[i]))
            abort();
        if (e) { /* an error answer is one the local gate takes */
            struct gate_completion comp;
            if (gate_completion_from_json(rj, &comp, err, sizeof err) != 0)
                abort();
            gate_completion_clear(&comp);
        }
        cJSON_Delete(rj);
        free(relay);
    }
    gate_mcp_msg_clear(&m);
    char *result = gate_mcp_result_normalize(text, size, err, sizeof err);
    if (result) {
        char *body = gate_mcp_result_body("1", result);
        free(result);
        must_parse(body);
    }
    return 0;
}
