/* Matching one request against a policy: host patterns (exact, *.domain,
 * address, CIDR), path globs, methods; and which addresses count as
 * private.  Pure functions; see docs/egress.md. */
#include <arpa/inet.h>
#include <string.h>

#include "egress/egress.h"

int crl_egress_parse_addr(const char *s, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

int crl_egress_rule_has_addr(const struct crl_egress_rule *r, int family, const unsigned char *addr)
{
    if (r->kind != CRL_HOST_CIDR || r->family != family)
        return 0;
    int full = r->prefix / 8, rest = r->prefix % 8;
    if (memcmp(r->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest) {
        unsigned char m = (unsigned char)(0xff << (8 - rest));
        return (r->addr[full] & m) == (addr[full] & m);
    }
    return 1;
}

int crl_egress_host_matches(const struct crl_egress_rule *r, const char *host)
{
    int fam;
    unsigned char a[16];
    if (crl_egress_parse_addr(host, &fam, a) == 0)
        return crl_egress_rule_has_addr(r, fam, a);
    if (r->kind == CRL_HOST_EXACT)
        return strcmp(r->host, host) == 0;
    if (r->kind == CRL_HOST_SUFFIX) {
        size_t hl = strlen(host), sl = strlen(r->host);
        return hl > sl && strcmp(host + hl - sl, r->host) == 0;
    }
    return 0;
}

int crl_egress_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == *s) {
            p++, s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

const struct crl_egress_rule *crl_egress_match(const struct crl_egress_policy *pol,
                                               const struct crl_egress_request *req)
{
    unsigned mbit = req->method ? crl_egress_method_bit(req->method, strlen(req->method)) : 0;
    for (size_t i = 0; i < pol->n; i++) {
        const struct crl_egress_rule *r = &pol->rules[i];
        if (!crl_egress_host_matches(r, req->host))
            continue;
        if ((r->methods || r->path_pattern) && !req->method)
            continue; /* a tunnel shows neither */
        if (r->methods && !(r->methods & mbit))
            continue;
        if (r->path_pattern && !crl_egress_glob(r->path_pattern, req->path ? req->path : ""))
            continue;
        return r;
    }
    return NULL;
}

static int in4(const unsigned char *a, unsigned net, int bits)
{
    unsigned v = (unsigned)a[0] << 24 | (unsigned)a[1] << 16 | (unsigned)a[2] << 8 | a[3];
    unsigned mask = bits ? 0xffffffffu << (32 - bits) : 0;
    return (v & mask) == (net & mask);
}

int crl_egress_addr_is_private(int family, const unsigned char *a)
{
    if (family == AF_INET6) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char zero[16] = {0};
        if (memcmp(a, v4mapped, 12) == 0)
            return crl_egress_addr_is_private(AF_INET, a + 12);
        if (memcmp(a, zero, 15) == 0) /* :: and ::1 */
            return 1;
        if ((a[0] & 0xfe) == 0xfc)                    /* fc00::/7 unique local */
            return 1;
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)     /* fe80::/10 link-local */
            return 1;
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)     /* fec0::/10 site-local (deprecated) */
            return 1;
        if (a[0] == 0xff)                             /* multicast */
            return 1;
        if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) /* 64:ff9b::/96 NAT64 of anything */
            return 1;
        if (a[0] == 0x20 && a[1] == 0x02)             /* 2002::/16 6to4 embeds a v4 address */
            return 1;
        return 0;
    }
    return in4(a, 0x00000000u, 8) ||   /* 0/8 "this network" */
           in4(a, 0x0a000000u, 8) ||   /* 10/8 */
           in4(a, 0x64400000u, 10) ||  /* 100.64/10 CGNAT */
           in4(a, 0x7f000000u, 8) ||   /* 127/8 loopback */
           in4(a, 0xa9fe0000u, 16) ||  /* 169.254/16 link-local, cloud metadata */
           in4(a, 0xac100000u, 12) ||  /* 172.16/12 */
           in4(a, 0xc0000000u, 24) ||  /* 192.0.0/24 IETF */
           in4(a, 0xc0a80000u, 16) ||  /* 192.168/16 */
           in4(a, 0xc6120000u, 15) ||  /* 198.18/15 benchmarking */
           in4(a, 0xe0000000u, 3);     /* 224/4 multicast and 240/4 reserved, broadcast */
}
