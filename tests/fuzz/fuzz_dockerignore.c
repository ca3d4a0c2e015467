/* Fuzz target: a .dockerignore (a task's untrusted file) parsed and
 * matched against paths must never crash, leak or run away.  Input: the
 * file's bytes, then a NUL, then '\n'-separated paths to match.  Built
 * like every harness (tests/fuzz/CMakeLists.txt). */
#include "archive/archive_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    const char *nul = memchr(d, '\0', size);
    size_t tlen = nul ? (size_t)(nul - d) : size;
    struct corral_call c;
    corral_call_init(&c, 0);
    struct crl_dockerignore *ig = NULL;
    if (crl_dockerignore_parse(d, tlen, &ig, &c) != 0) {
        if (ig || !c.message[0])
            abort(); /* a refusal leaves nothing and says why */
        return 0;
    }
    if (nul) {
        char *paths = strndup(nul + 1, size - tlen - 1);
        if (paths) {
            for (char *save = NULL, *p = strtok_r(paths, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
                int a = crl_dockerignore_excluded(ig, p);
                if (a != crl_dockerignore_excluded(ig, p) || (a != 0 && a != 1))
                    abort(); /* an answer, the same every time */
            }
            free(paths);
        }
    }
    crl_dockerignore_free(ig);
    return 0;
}
