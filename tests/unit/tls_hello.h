/* Test helper: a minimal TLS 1.3 ClientHello record, for the egress
 * proxy's server-name check. */
#ifndef CORRAL_TLS_HELLO_H
#define CORRAL_TLS_HELLO_H

#include <stddef.h>

/* Write into b (at least 600 bytes) one handshake record holding a
 * ClientHello with server name sni (NULL: no server_name extension);
 * returns its length.  sni is at most 200 bytes. */
size_t tls_hello(unsigned char *b, const char *sni);

#endif
