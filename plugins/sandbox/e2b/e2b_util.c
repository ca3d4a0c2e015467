/* Small helpers of the e2b plugin: URL encoding, ids, formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2b.h"

char *e2b_url_encode(const char *s)
{
    size_t cap = 3 * strlen(s) + 1; /* always enough */
    char *o = malloc(cap);
    if (o) {
        o[0] = '\0';
        corral_url_escape(o, cap, s, NULL);
    }
    return o;
}

char *e2b_random_hex(size_t n)
{
    char *out = malloc(2 * n + 1);
    if (out && crl_random_hex(out, n) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

char *e2b_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}
