/* Fuzz the gate's response normalizer and replay-script parser: arbitrary
 * bytes as a JSONL script (its lines prepared at load) and as one
 * response.  Whatever parses must render as JSON and as SSE
 * (fuzz_gate_render checks the bytes against cJSON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

/* p must render; every SSE event is "data: ...\n\n", the last [DONE]. */
static void render(const struct gate_prepared *p)
{
    if (p->is_error) {
        char *b = gate_error_body(p->error_message, p->error_type, NULL);
        if (!b)
            abort();
        free(b);
        return;
    }
    struct gate_answer_vars v = {.id = "id", .model = "m", .created = 1, .stream = 1, .include_usage = 1};
    char *json, *sse;
    size_t jl, len = 0;
    if (gate_render_answer(p, &v, &json, &jl, &sse, &len) != 0)
        abort();
    if (len < 14 || strncmp(sse, "data: ", 6) != 0 || strcmp(sse + len - 14, "data: [DONE]\n\n") != 0)
        abort();
    free(json);
    free(sse);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct gate_replay r;
    if (gate_replay_parse((const char *)data, size, &r, err, sizeof err) == 0) {
        for (size_t i = 0; i < r.n; i++)
            render(&r.lines[i]);
        gate_replay_clear(&r);
    }
    struct gate_completion c;
    struct gate_prepared p;
    if (gate_completion_from_text((const char *)data, size, &c, err, sizeof err) == 0) {
        if (gate_prepare(&c, &p) != 0)
            abort();
        render(&p);
        gate_prepared_clear(&p);
        gate_completion_clear(&c);
    }
    return 0;
}
