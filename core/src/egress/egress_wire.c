/* Parsing what a sandbox sends the egress proxy: the request head of
 * absolute-URI HTTP and of CONNECT, and the server name of a TLS
 * ClientHello (read only; the tunnel's contents are never touched).  Pure
 * functions over caller-owned bytes; see docs/egress.md. */
#include <string.h>
#include <strings.h>

#include "egress/egress_wire.h"

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Host[:port] of a CONNECT target or an absolute URI.  default_port 0:
 * the port is required. */
static int authority(const char *a, size_t n, uint16_t default_port, struct crl_egress_head *h)
{
    const char *hs = a, *he, *pe = a + n;
    if (n && a[0] == '[') {
        hs = a + 1;
        he = memchr(hs, ']', n - 1);
        if (!he)
            return 400;
        if (he + 1 < pe && he[1] != ':')
            return 400;
    } else {
        he = memchr(a, ':', n);
        if (!he)
            he = pe;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl >= sizeof h->host)
        return 400;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)hs[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
              (a[0] == '[' && c == ':')))
            return 400;
        h->host[i] = (char)c;
    }
    if (hl > 1 && h->host[hl - 1] == '.')
        hl--;
    h->host[hl] = '\0';
    const char *p = he + (a[0] == '[' ? 1 : 0);
    if (p >= pe) {
        if (!default_port)
            return 400;
        h->port = default_port;
        return 0;
    }
    p++; /* the ':' */
    unsigned long v = 0;
    if (p == pe || pe - p > 5)
        return 400;
    for (; p < pe; p++) {
        if (*p < '0' || *p > '9')
            return 400;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return 400;
    h->port = (uint16_t)v;
    return 0;
}

int crl_egress_parse_head(const char *buf, size_t n, struct crl_egress_head *h)
{
    memset(h, 0, sizeof *h);
    size_t scan = n < CRL_EGRESS_HEAD_MAX ? n : CRL_EGRESS_HEAD_MAX;
    const char *end = NULL;
    for (size_t i = 3; i < scan; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    if (!end)
        return n >= CRL_EGRESS_HEAD_MAX ? 431 : 0;
    h->head_len = (size_t)(end - buf);
    const char *eol = memchr(buf, '\r', h->head_len);
    if (!eol || eol[1] != '\n')
        return 400;
    /* METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    if (!sp1 || sp1 == buf || (size_t)(sp1 - buf) >= sizeof h->method)
        return 400;
    for (const char *c = buf; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return 400;
    memcpy(h->method, buf, (size_t)(sp1 - buf));
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
    if (!sp2 || sp2 == target || (size_t)(eol - sp2) != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
        (sp2[8] != '0' && sp2[8] != '1'))
        return 400;
    for (const char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return 400;
    size_t tl = (size_t)(sp2 - target);
    if (strcmp(h->method, "CONNECT") == 0) {
        h->is_connect = 1;
        if (authority(target, tl, 0, h))
            return 400;
    } else {
        if (tl < 7 || strncasecmp(target, "http://", 7) != 0)
            return tl >= 8 && strncasecmp(target, "https://", 8) == 0 ? 501 : 400;
        const char *a = target + 7, *te = sp2;
        const char *slash = a;
        while (slash < te && *slash != '/' && *slash != '?')
            slash++;
        if (memchr(a, '@', (size_t)(slash - a))) /* userinfo: refused rather than guessed at */
            return 400;
        if (authority(a, (size_t)(slash - a), 80, h))
            return 400;
        size_t pl = (size_t)(te - slash);
        if (pl + 2 > sizeof h->path)
            return 431;
        if (pl == 0 || *slash == '?')
            h->path[0] = '/';
        memcpy(h->path + (pl == 0 || *slash == '?'), slash, pl);
    }
    /* headers: name ":" value CRLF, no folding */
    h->hdrs_off = (size_t)(eol + 2 - buf);
    size_t count = 0;
    for (const char *l = eol + 2; l < end - 2;) {
        const char *le = memchr(l, '\r', (size_t)(end - l));
        if (!le || le[1] != '\n')
            return 400;
        const char *colon = memchr(l, ':', (size_t)(le - l));
        if (!colon || colon == l)
            return 400;
        for (const char *c = l; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return 400;
        for (const char *c = colon + 1; c < le; c++)
            if (*c == '\0' || *c == '\n')
                return 400;
        if (++count > CRL_EGRESS_HEADERS_MAX)
            return 431;
        l = le + 2;
    }
    return 1;
}

static int header_is(const char *l, size_t nl, const char *name)
{
    size_t n = strlen(name);
    return nl == n && strncasecmp(l, name, n) == 0;
}

int crl_egress_rewrite(const struct crl_egress_head *h, const char *buf, struct crl_buf *out)
{
    int v6 = strchr(h->host, ':') != NULL;
    if (crl_buf_addf(out, "%s %s HTTP/1.1\r\nHost: %s%s%s", h->method, h->path, v6 ? "[" : "", h->host,
                     v6 ? "]" : "") != 0 ||
        (h->port != 80 && crl_buf_addf(out, ":%u", (unsigned)h->port) != 0) || crl_buf_puts(out, "\r\n") != 0)
        return -1;
    const char *end = buf + h->head_len - 2;
    for (const char *l = buf + h->hdrs_off; l < end;) {
        const char *le = memchr(l, '\r', (size_t)(end - l));
        const char *colon = memchr(l, ':', (size_t)(le - l));
        size_t nl = (size_t)(colon - l);
        int drop = header_is(l, nl, "host") || header_is(l, nl, "connection") || header_is(l, nl, "keep-alive") ||
                   header_is(l, nl, "te") || header_is(l, nl, "upgrade") ||
                   (nl >= 6 && strncasecmp(l, "proxy-", 6) == 0);
        if (!drop && crl_buf_add(out, l, (size_t)(le + 2 - l)) != 0)
            return -1;
        l = le + 2;
    }
    return crl_buf_puts(out, "Connection: close\r\n\r\n");
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

int crl_egress_client_hello_sni(const unsigned char *b, size_t n, char *sni, size_t cap)
{
    unsigned char hs[16384];
    size_t have = 0, need = 0;
    /* the handshake message, gathered from its records */
    for (size_t off = 0;;) {
        if (n - off < 5)
            return off == 0 && n > 0 && b[0] != 0x16 ? 0 : -2;
        if (b[off] != 0x16)
            return off == 0 ? 0 : -1;
        if (b[off + 1] != 3)
            return off == 0 ? 0 : -1;
        size_t rl = be16(b + off + 3);
        if (rl == 0 || rl > 16384 + 2048)
            return -1;
        if (n - off - 5 < rl)
            return -2;
        size_t take = rl < sizeof hs - have ? rl : sizeof hs - have;
        memcpy(hs + have, b + off + 5, take);
        have += take;
        off += 5 + rl;
        if (have >= 4 && !need) {
            if (hs[0] != 1) /* not a ClientHello */
                return -1;
            need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
            if (need > sizeof hs)
                return -1;
        }
        if (need && have >= need)
            break;
        if (have == sizeof hs)
            return -1;
    }
    size_t i = 4 + 2 + 32; /* version and random */
    if (need < i + 1)
        return -1;
    i += 1 + hs[i]; /* session id */
    if (need < i + 2)
        return -1;
    i += 2 + be16(hs + i); /* cipher suites */
    if (need < i + 1)
        return -1;
    i += 1 + hs[i]; /* compression methods */
    if (i == need)
        return 0; /* no extensions */
    if (need < i + 2)
        return -1;
    const unsigned char *p = hs + i, *e = hs + need;
    size_t xl = be16(p);
    p += 2;
    if ((size_t)(e - p) < xl)
        return -1;
    e = p + xl;
    while (e - p >= 4) {
        unsigned type = be16(p), len = be16(p + 2);
        p += 4;
        if ((size_t)(e - p) < len)
            return -1;
        if (type == 0) { /* server_name: list of (type, name) */
            const unsigned char *q = p, *qe = p + len;
            if (qe - q < 2 || be16(q) != (size_t)(qe - q - 2))
                return -1;
            q += 2;
            while (qe - q >= 3) {
                unsigned nt = q[0], nl = be16(q + 1);
                q += 3;
                if ((size_t)(qe - q) < nl)
                    return -1;
                if (nt == 0) {
                    if (nl == 0 || nl >= cap)
                        return -1;
                    for (unsigned i = 0; i < nl; i++) {
                        unsigned char c = q[i];
                        if (c >= 'A' && c <= 'Z')
                            c = (unsigned char)(c - 'A' + 'a');
                        if (c <= 0x20 || c >= 0x7f)
                            return -1;
                        sni[i] = (char)c;
                    }
                    sni[nl] = '\0';
                    if (nl > 1 && sni[nl - 1] == '.')
                        sni[nl - 1] = '\0';
                    return 1;
                }
                q += nl;
            }
            return -1;
        }
        p += len;
    }
    return p == e ? 0 : -1;
}
