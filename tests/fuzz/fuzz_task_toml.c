/* libFuzzer: a task's task.toml (Harbor's format; untrusted: tasks come
 * from datasets in git) through the mapping corral_task_load uses
 * (core/src/rollout/task_toml.c): every table, key and type checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct corral_task *t = calloc(1, sizeof *t);
    if (!t)
        return 0;
    t->workdir = strdup("/workspace");
    t->name = strdup("fuzz");
    struct corral_call call;
    corral_call_init(&call, 0);
    if (crl_task_parse_toml(t, (const char *)data, size, "task.toml", &call) != 0 &&
        strncmp(call.message, "task.toml: ", 11) != 0)
        abort(); /* every error names the file */
    corral_task_free(t);
    return 0;
}
