/* Secrets in memory: freeing them zeroed, and the one header that carries
 * a token (built here so that its copy is wiped the same way everywhere). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"

void crl_wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

char *crl_bearer_header(const char *token)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t n = sizeof prefix + strlen(token);
    char *h = malloc(n);
    if (h)
        snprintf(h, n, "%s%s", prefix, token);
    return h;
}
