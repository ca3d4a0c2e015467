/* Reading a raw HTTP response header block (libcurl's, as the host's http
 * service returns it). */
#include <string.h>
#include <strings.h>

#include "crl_common.h"

int crl_http_header_value(const char *block, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (!block || cap == 0)
        return 0;
    for (const char *l = block; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t k = strcspn(v, "\r\n");
            if (k >= cap)
                k = cap - 1;
            memcpy(out, v, k);
            out[k] = '\0';
            return 1;
        }
    }
    return 0;
}
