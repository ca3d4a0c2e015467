/* Fuzz the reassembly of a same-dialect upstream's SSE answer (gate_sse.c):
 * the first byte picks the dialect (Messages, Responses, Gemini), the rest
 * is the upstream's stream.  What comes back is a JSON object that prints;
 * nothing leaks or overruns. */
#include <stdint.h>
#include <stdlib.h>

#include <corral/gate.h>

#include "gate/gate_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int dialect = CORRAL_GATE_DIALECT_MESSAGES + data[0] % 3;
    int complete = -1;
    cJSON *r = crl_gate_sse_assemble(dialect, (const char *)data + 1, size - 1, &complete);
    if (complete != 0 && complete != 1)
        abort();
    if (r) {
        char *s = cJSON_PrintUnformatted(r);
        if (!cJSON_IsObject(r) || !s)
            abort();
        free(s);
    } else if (complete) {
        abort();
    }
    cJSON_Delete(r);
    return 0;
}
