/* libFuzzer: agent stdout lines -> normalized events -> success judgement,
 * under each shipped agent spec (the first input byte picks the spec). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/agent_spec.h"
#include "base/internal.h"

static struct crl_agent_spec specs[3];
static int n_specs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const char *const names[] = {"pi", "opencode", "oracle"};
    for (size_t i = 0; i < 3; i++) {
        char path[1024], why[256];
        snprintf(path, sizeof path, "%s/%s/spec.json", AGENTS_DIR, names[i]);
        int err;
        char *text = crl_read_file(path, NULL, &err);
        if (!text || crl_agent_spec_parse(text, &specs[n_specs], why, sizeof why) != 0) {
            fprintf(stderr, "%s: %s\n", path, text ? why : "unreadable");
            abort();
        }
        free(text);
        n_specs++;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct crl_agent_spec *s = &specs[data[0] % n_specs];
    int exit_code = data[1];
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    cJSON *events = cJSON_CreateArray();
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        cJSON *ev = crl_agent_event(s, p, n);
        if (ev)
            cJSON_AddItemToArray(events, ev);
        p += n + 1;
    }
    char why[256];
    crl_agent_judge(s, exit_code, events, why, sizeof why);
    cJSON_Delete(events);
    return 0;
}
