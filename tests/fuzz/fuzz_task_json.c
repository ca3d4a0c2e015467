/* libFuzzer: a task's task.json (untrusted: tasks come from datasets in
 * git) through the parser corral_task_load uses, every field checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct corral_task *t = calloc(1, sizeof *t);
    if (!t) {
        free(text);
        return 0;
    }
    t->workdir = strdup("/workspace");
    struct corral_call call;
    corral_call_init(&call, 0);
    crl_task_parse_json(t, text, "task.json", &call);
    corral_task_free(t);
    free(text);
    return 0;
}
