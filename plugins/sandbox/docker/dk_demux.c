/* Docker's multiplexed attach stream, demultiplexed into two sinks.  Pure:
 * no I/O of its own, unit-tested in tests/unit/test_docker_pure.c. */
#include <string.h>
#include "dk.h"

void dk_demux_init(struct dk_demux *d, const struct corral_sink *out, const struct corral_sink *err)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    d->err = err;
}

static void keep_raw(struct dk_demux *d, const unsigned char *p, size_t n)
{
    size_t room = sizeof d->raw - 1 - d->raw_len;
    if (n > room)
        n = room;
    memcpy(d->raw + d->raw_len, p, n);
    d->raw_len += n;
    d->raw[d->raw_len] = '\0';
}

static int emit(struct dk_demux *d, const unsigned char *p, size_t n)
{
    const struct corral_sink *s = NULL;
    switch (d->stream) {
    case 0:
    case 1: s = d->out; d->n_out += n; break;
    case 2: s = d->err; d->n_err += n; break;
    default: keep_raw(d, p, n); return 0;   /* 3: daemon-side error text */
    }
    if (s && s->write && n)
        return s->write(s->ud, p, n);
    return 0;
}

int dk_demux_feed(struct dk_demux *d, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        if (d->bad) {
            keep_raw(d, p, len);
            return 0;
        }
        if (d->left == 0) {
            size_t take = 8 - d->hdr_have;
            if (take > len)
                take = len;
            memcpy(d->hdr + d->hdr_have, p, take);
            d->hdr_have += take;
            p += take;
            len -= take;
            if (d->hdr_have < 8)
                return 0;
            d->hdr_have = 0;
            if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3]) {
                /* Not a frame: the daemon answered with an error body. */
                d->bad = 1;
                keep_raw(d, d->hdr, 8);
                continue;
            }
            d->stream = d->hdr[0];
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
            continue;
        }
        size_t n = len < d->left ? len : d->left;
        int rc = emit(d, p, n);
        if (rc < 0)
            return rc;
        d->left -= (uint32_t)n;
        p += n;
        len -= n;
    }
    return 0;
}

int dk_demux_complete(const struct dk_demux *d)
{
    return !d->bad && d->left == 0 && d->hdr_have == 0;
}
