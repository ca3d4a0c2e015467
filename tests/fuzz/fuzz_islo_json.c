/* libFuzzer: the Islo wire JSON (SandboxResponse, GetExecResult,
 * ErrorResponse) and the corral egress policy are untrusted input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "islo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct islo_sandbox_info sb;
    if (islo_parse_sandbox(s, size, &sb) == 0)
        islo_sandbox_info_free(&sb);
    struct islo_exec_info ex;
    if (islo_parse_exec(s, size, &ex) == 0) {
        (void)islo_exec_terminal(ex.status);
        islo_exec_info_free(&ex);
    }
    char code[64], msg[256];
    islo_parse_error(s, size, code, sizeof code, msg, sizeof msg);
    char *z = malloc(size + 1);
    memcpy(z, data, size);
    z[size] = '\0';
    struct islo_policy pol;
    char err[256];
    if (islo_policy_parse(z, &pol, err, sizeof err) == 0) {
        for (size_t i = 0; i < pol.n_rules; i++)
            free(islo_rule_body(&pol.rules[i], (int)i));
        islo_policy_free(&pol);
    }
    free(z);
    return 0;
}
