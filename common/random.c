/* crl_random_hex: unguessable names from the kernel's random source. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "crl_common.h"

int crl_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    if (nbytes > sizeof b)
        return -1;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(b + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
    explicit_bzero(b, sizeof b); /* the hex may be a secret (corral gate serve's) */
    return 0;
}
