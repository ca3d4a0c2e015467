/* Test helper: a minimal TLS ClientHello (see tls_hello.h). */
#include <string.h>

#include "tls_hello.h"

/* A ClientHello record with server name sni (NULL: no extension). */
size_t tls_hello(unsigned char *b, const char *sni)
{
    unsigned char body[512];
    size_t n = 0;
    body[n++] = 3, body[n++] = 3;
    memset(body + n, 7, 32), n += 32;
    body[n++] = 0;                          /* session id */
    body[n++] = 0, body[n++] = 2, body[n++] = 0x13, body[n++] = 1; /* one suite */
    body[n++] = 1, body[n++] = 0;           /* null compression */
    size_t ext_len_at = n;
    n += 2;
    body[n++] = 0x00, body[n++] = 0x0b, body[n++] = 0, body[n++] = 2, body[n++] = 1, body[n++] = 0; /* ec_point_formats */
    if (sni) {
        size_t sl = strlen(sni);
        body[n++] = 0, body[n++] = 0;
        body[n++] = 0, body[n++] = (unsigned char)(sl + 5);
        body[n++] = 0, body[n++] = (unsigned char)(sl + 3);
        body[n++] = 0, body[n++] = 0, body[n++] = (unsigned char)sl;
        memcpy(body + n, sni, sl), n += sl;
    }
    size_t el = n - ext_len_at - 2;
    body[ext_len_at] = (unsigned char)(el >> 8), body[ext_len_at + 1] = (unsigned char)el;
    b[0] = 0x16, b[1] = 3, b[2] = 1, b[3] = (unsigned char)((n + 4) >> 8), b[4] = (unsigned char)(n + 4);
    b[5] = 1, b[6] = 0, b[7] = (unsigned char)(n >> 8), b[8] = (unsigned char)n;
    memcpy(b + 9, body, n);
    return n + 9;
}

