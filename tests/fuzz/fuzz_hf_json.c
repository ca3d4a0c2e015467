/* libFuzzer: the HF JobInfo and sandbox-server exec replies are untrusted;
 * shell quoting must round-trip anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct hf_job j;
    if (hf_parse_job(s, size, NULL, &j) == 0) {
        (void)hf_stage_done(j.stage);
        hf_job_free(&j);
    }
    struct hf_exec e;
    if (hf_parse_exec(s, size, &e) == 0)
        hf_exec_free(&e);
    struct hf_exit x;
    (void)hf_parse_ndjson_exit(s, size, &x);
    (void)hf_ndjson_output(s, size, NULL, NULL);
    char *z = malloc(size + 1);
    memcpy(z, data, size);
    z[size] = '\0';
    char *q = NULL;
    size_t len = 0;
    if (hf_shquote_append(&q, &len, z) == 0) {
        /* a quoted string has no unescaped quote inside */
        if (len < 2 || q[0] != '\'' || q[len - 1] != '\'')
            abort();
        (void)hf_env_name(z, strlen(z));
    }
    free(q);
    free(z);
    return 0;
}
