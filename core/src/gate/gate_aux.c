/* The "auxiliary" rule's JSON form (gate_aux.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crl_common.h"
#include "gate/gate_aux.h"

int crl_gate_aux_parse(const cJSON *a, struct corral_gate_responder *out, char *why, size_t wl)
{
    const cJSON *it;
    int n = 0;
    /* Only an object's members have names; an array's would be NULL. */
    const cJSON *members = cJSON_IsObject(a) ? a : NULL;
    cJSON_ArrayForEach(it, members) {
        n++;
        if (strcmp(it->string, "no_tools") == 0 && cJSON_IsBool(it)) {
            out->aux_no_tools = cJSON_IsTrue(it);
        } else if (strcmp(it->string, "max_tokens_below") == 0 && cJSON_IsNumber(it) &&
                   crl_number_i64(it->valuedouble, 1, INT32_MAX, &out->aux_max_tokens_below) == 0) {
        } else if (strcmp(it->string, "system_prefix") == 0 && cJSON_IsString(it) && it->valuestring[0]) {
            out->aux_system_prefix = it->valuestring;
        } else {
            n = 0;
            break;
        }
    }
    if (n == 0) {
        snprintf(why, wl, "\"auxiliary\" must be an object of \"no_tools\" (boolean), "
                 "\"max_tokens_below\" (1 to 2^31-1) and \"system_prefix\" (a non-empty string), at least one");
        return -1;
    }
    return 0;
}
