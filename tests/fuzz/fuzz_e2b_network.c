/* libFuzzer: an egress policy in the host's native form (from a task, so
 * untrusted) mapped onto E2B's allowOut/denyOut, refusals included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2b.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1);
    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    cJSON *net = NULL;
    char err[512];
    if (e2b_network_from_policy(z, &net, err, sizeof err) == 0) {
        char *s = cJSON_PrintUnformatted(net);
        free(s);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    cJSON_Delete(net);
    free(z);
    return 0;
}
