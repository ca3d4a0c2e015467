/* Inside libcorral: the bytes the egress proxy reads from a sandbox,
 * parsed without trusting them (egress_wire.c; fuzzed by
 * tests/fuzz/fuzz_egress_wire.c).  See docs/egress.md. */
#ifndef CRL_EGRESS_WIRE_H
#define CRL_EGRESS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "crl_common.h"

#define CRL_EGRESS_HEAD_MAX 16384 /* request line and headers */
#define CRL_EGRESS_HEADERS_MAX 100

struct crl_egress_head {
    char method[16];
    int is_connect;
    char host[256]; /* lower case, no trailing dot, IPv6 without brackets */
    uint16_t port;
    char path[4096];  /* origin form with the query; NULL-free */
    size_t head_len;  /* bytes of the head, through the blank line */
    size_t hdrs_off;  /* where the header lines start (after the request line) */
};

/* Parse buf[0..n) as an HTTP/1.x proxy request head: "CONNECT host:port"
 * or an absolute http:// URI.  Returns 1 when a whole valid head is there
 * (*h filled), 0 when more bytes are needed, or an HTTP status to answer
 * with (400 malformed, 431 too large, 501 unsupported scheme or method). */
int crl_egress_parse_head(const char *buf, size_t n, struct crl_egress_head *h);

/* Append to out the head to send upstream for a parsed plain-HTTP request:
 * origin-form request line, Host from the URI, the client's headers but
 * the hop-by-hop and Proxy-* ones, and "Connection: close" (one request
 * per upstream connection, so every request is checked).  0 or -1 (out of
 * memory). */
int crl_egress_rewrite(const struct crl_egress_head *h, const char *buf, struct crl_buf *out);

/* Look for the server name of a TLS ClientHello at the start of a tunnel:
 * 1 with sni set (lower case), 0 when the bytes are not TLS or the hello
 * has no server name, -2 when more bytes are needed, -1 malformed TLS. */
int crl_egress_client_hello_sni(const unsigned char *b, size_t n, char *sni, size_t cap);

#endif
