/* libFuzzer target for the e2b plugin's Connect envelope parser: the input
 * is split at a fuzzer-chosen point and fed in two pieces; the parser must
 * never crash or read out of bounds, and the split must not change what it
 * reports. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connect_stream.h"

struct acc {
    uint64_t hash;
    size_t count;
};

static int on_msg(void *ud, unsigned flags, const char *payload, size_t len)
{
    struct acc *a = ud;
    a->hash = a->hash * 31 + flags;
    for (size_t i = 0; i < len; i++)
        a->hash = a->hash * 131 + (unsigned char)payload[i];
    if (payload[len] != '\0')
        abort();
    a->count++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = data[0] % (size);
    data++, size--;
    if (split > size)
        split = size;
    struct cs_parser p1, p2;
    struct acc a1 = {0, 0}, a2 = {0, 0};
    e2b_cs_init(&p1, 1 << 16);
    e2b_cs_init(&p2, 1 << 16);
    int r1 = e2b_cs_feed(&p1, data, size, on_msg, &a1);
    int r2 = e2b_cs_feed(&p2, data, split, on_msg, &a2);
    if (r2 == 0)
        r2 = e2b_cs_feed(&p2, data + split, size - split, on_msg, &a2);
    if (r1 != r2 || a1.hash != a2.hash || a1.count != a2.count || e2b_cs_finish(&p1) != e2b_cs_finish(&p2))
        abort();
    e2b_cs_free(&p1);
    e2b_cs_free(&p2);
    return 0;
}
