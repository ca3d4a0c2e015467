/* libFuzzer: what `corral run --resume` reads from a results file and its
 * manifest (untrusted: written by a crashed run, shared by shards, copied
 * between machines): the input as results bytes (cli_results_scan, over
 * the report library's reader) and as a manifest compared with a fixed
 * one (cli_manifest_check). */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void cli_error(const char *fmt, ...)
{
    (void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cli_results r = {.path = "fuzz", .fd = -1};
    for (int errors = 0; errors < 2; errors++) {
        if (cli_results_scan(&r, (const char *)data, size, errors) == 0)
            for (size_t i = 1; i < r.n_done; i++)
                if (strcmp(r.done[i - 1].key, r.done[i].key) > 0)
                    abort(); /* cli_results_done bsearches it */
        cli_results_close(&r);
        r = (struct cli_results){.path = "fuzz", .fd = -1};
    }
    struct cli_manifest_options m = {.agent = "oracle", .sandbox = "local", .timeout_s = 30};
    char *digests[] = {"sha256:b", "sha256:a", "sha256:b"};
    cJSON *want = cli_manifest_new(&m, digests, 3);
    char why[512];
    if (want) {
        int rc = cli_manifest_check((const char *)data, size, want, why, sizeof why);
        if (rc < -1 || rc > 1 || (rc && !memchr(why, '\0', sizeof why)))
            abort();
        char *self = cJSON_Print(want);
        if (self && cli_manifest_check(self, strlen(self), want, why, sizeof why) != 0)
            abort(); /* a manifest matches itself */
        free(self);
    }
    cJSON_Delete(want);
    return 0;
}
