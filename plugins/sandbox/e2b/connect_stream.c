/* Connect envelope parser; see connect_stream.h. */
#include <stdlib.h>
#include <string.h>

#include <corral/plugin.h>

#include "connect_stream.h"

void e2b_cs_init(struct cs_parser *p, size_t max_msg)
{
    memset(p, 0, sizeof *p);
    p->max_msg = max_msg ? max_msg : (size_t)16 << 20;
}

void e2b_cs_free(struct cs_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

static int reserve(struct cs_parser *p, size_t n)
{
    if (n + 1 <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 256;
    while (cap < n + 1)
        cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b)
        return CORRAL_ENOMEM;
    p->buf = b;
    p->cap = cap;
    return 0;
}

int e2b_cs_feed(struct cs_parser *p, const void *data, size_t len, cs_msg_fn fn, void *ud)
{
    const unsigned char *s = data;
    if (p->failed)
        return CORRAL_EPROTO;
    while (len > 0) {
        if (p->ended) {
            p->failed = 1;
            return CORRAL_EPROTO; /* nothing may follow the end-of-stream envelope */
        }
        if (p->hdr_len < 5) {
            size_t take = 5 - p->hdr_len < len ? 5 - p->hdr_len : len;
            memcpy(p->hdr + p->hdr_len, s, take);
            p->hdr_len += take;
            s += take;
            len -= take;
            if (p->hdr_len < 5)
                break;
            if (p->hdr[0] & ~(unsigned)CS_FLAG_END) {
                p->failed = 1;
                return CORRAL_EPROTO;
            }
            p->need = (uint32_t)p->hdr[1] << 24 | (uint32_t)p->hdr[2] << 16 | (uint32_t)p->hdr[3] << 8 |
                      (uint32_t)p->hdr[4];
            if (p->need > p->max_msg) {
                p->failed = 1;
                return CORRAL_EPROTO;
            }
            p->len = 0;
            if (reserve(p, p->need) != 0) {
                p->failed = 1;
                return CORRAL_ENOMEM;
            }
        }
        size_t take = p->need - p->len < len ? p->need - p->len : len;
        memcpy(p->buf + p->len, s, take);
        p->len += take;
        s += take;
        len -= take;
        if (p->len < p->need)
            break;
        p->buf[p->len] = '\0';
        unsigned flags = p->hdr[0];
        p->hdr_len = 0;
        if (flags & CS_FLAG_END)
            p->ended = 1;
        int r = fn ? fn(ud, flags, p->buf, p->len) : 0;
        if (r < 0) {
            p->failed = 1;
            return r;
        }
    }
    return 0;
}

int e2b_cs_finish(const struct cs_parser *p)
{
    return p->ended && !p->failed && p->hdr_len == 0 ? 0 : CORRAL_EPROTO;
}
