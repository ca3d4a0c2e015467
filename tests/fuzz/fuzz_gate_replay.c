/* Fuzz the gate's response normalizer and replay-script parser: arbitrary
 * bytes as a JSONL script and as one response.  Whatever parses must
 * render as JSON and as SSE, and every SSE event must be "data: ...\n\n". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate_internal.h"

static void render(struct gate_completion *c)
{
    if (c->is_error) {
        char *b = gate_error_body(c->error_message, c->error_type, NULL);
        if (!b)
            abort();
        free(b);
        return;
    }
    struct gate_prepared p;
    if (gate_prepare(c, &p) != 0)
        abort();
    struct gate_answer_vars v = {.id = "id", .model = "m", .created = 1, .stream = 1, .include_usage = 1};
    char *json, *sse;
    size_t jl, len = 0;
    if (gate_render_answer(&p, &v, &json, &jl, &sse, &len) != 0)
        abort();
    if (len < 14 || strncmp(sse, "data: ", 6) != 0 || strcmp(sse + len - 14, "data: [DONE]\n\n") != 0)
        abort();
    free(json);
    free(sse);
    gate_prepared_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct gate_replay r;
    if (gate_replay_parse((const char *)data, size, &r, err, sizeof err) == 0) {
        for (size_t i = 0; i < r.n; i++) {
            struct gate_completion c;
            if (gate_completion_from_json(r.lines[i], &c, err, sizeof err) != 0)
                abort(); /* validated at load: must parse again */
            render(&c);
            gate_completion_clear(&c);
        }
        gate_replay_clear(&r);
    }
    struct gate_completion c;
    if (gate_completion_from_text((const char *)data, size, &c, err, sizeof err) == 0) {
        render(&c);
        gate_completion_clear(&c);
    }
    return 0;
}
