/* libFuzzer: RolloutResults (untrusted: results files copied off clusters,
 * transcripts and events the agent shaped) through the ATIF builder.  Any
 * input is either refused or gives a trajectory that parses, has steps
 * numbered from 1, and is the same bytes when built again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <corral/atif.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    char *out = NULL, *again = NULL;
    if (corral_atif_from_result((const char *)data, size, &out, &call) != 0) {
        if (out)
            abort();
        return 0;
    }
    cJSON *t = cJSON_Parse(out);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(t, "steps");
    if (!t || cJSON_GetArraySize(steps) < 1)
        abort();
    int i = 1;
    const cJSON *st;
    cJSON_ArrayForEach(st, steps) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(st, "step_id");
        if (!cJSON_IsNumber(id) || id->valueint != i++ || !cJSON_GetObjectItemCaseSensitive(st, "message"))
            abort();
    }
    if (corral_atif_from_result((const char *)data, size, &again, &call) != 0 || strcmp(out, again) != 0)
        abort();
    cJSON_Delete(t);
    free(out);
    free(again);
    return 0;
}
