/* Fuzz the "auxiliary" rule's JSON form (gate_aux.c): arbitrary bytes as a
 * registration body's or an agent spec's rule.  What is accepted keeps its
 * bounds (max_tokens_below 0 or 1..2^31-1, a non-empty system_prefix);
 * nothing leaks or overruns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_aux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *a = cJSON_ParseWithLength((const char *)data, size);
    struct corral_gate_responder r;
    memset(&r, 0, sizeof r);
    char why[256];
    if (crl_gate_aux_parse(a, &r, why, sizeof why) == 0) {
        if (!cJSON_IsObject(a) || r.aux_max_tokens_below < 0 || r.aux_max_tokens_below > INT32_MAX ||
            (r.aux_system_prefix && !r.aux_system_prefix[0]) || (r.aux_no_tools != 0 && r.aux_no_tools != 1))
            abort();
    } else if (!why[0]) {
        abort();
    }
    cJSON_Delete(a);
    return 0;
}
