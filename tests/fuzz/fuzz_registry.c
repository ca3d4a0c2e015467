/* libFuzzer: Harbor's registry.json (untrusted: fetched from git) through
 * crl_registry_select, the parse and entry selection of
 * corral_dataset_open.  The input's first line is the dataset asked for,
 * "NAME" or "NAME@VERSION"; the rest is the registry text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "dataset/dataset_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = memchr(text, '\n', size);
    const char *json = nl ? nl + 1 : "";
    size_t len = nl ? size - (size_t)(nl + 1 - text) : 0;
    if (nl)
        *nl = '\0';
    char *at = strchr(text, '@');
    if (at)
        *at++ = '\0';
    struct corral_call call;
    corral_call_init(&call, 0);
    struct crl_reg_sel sel;
    if (crl_registry_select(json, len, "registry.json", text, at, &sel, &call) == 0) {
        /* every selected task has what the caller relies on */
        for (size_t i = 0; i < sel.n_tasks; i++)
            if (!sel.tasks[i].name || !sel.tasks[i].path || (!sel.tasks[i].url != !sel.tasks[i].ref))
                abort();
        crl_reg_sel_free(&sel);
    }
    free(text);
    return 0;
}
