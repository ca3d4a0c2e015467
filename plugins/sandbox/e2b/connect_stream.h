/*
 * Incremental parser for Connect server-streaming bodies (envelope framing):
 * each envelope is 1 flags byte, a 4-byte big-endian payload length and the
 * payload.  Flag 0x02 marks the end-of-stream envelope (its payload carries
 * the RPC's error, if any); 0x01 (compressed) is never negotiated by corral
 * and is refused.  Bytes may arrive split or merged at any boundary: feed
 * them as they come.  Pure code, no I/O: unit-tested and fuzzed.
 */
#ifndef E2B_CONNECT_STREAM_H
#define E2B_CONNECT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define CS_FLAG_COMPRESSED 0x01u
#define CS_FLAG_END 0x02u

/* Called once per complete envelope; payload is NUL-terminated (the NUL is
 * not counted in len) and borrowed for the call.  Return 0 to continue or a
 * negative corral_status to stop the parse with that status. */
typedef int (*cs_msg_fn)(void *ud, unsigned flags, const char *payload, size_t len);

struct cs_parser {
    unsigned char hdr[5];
    size_t hdr_len;      /* header bytes collected for the current envelope */
    uint32_t need;       /* payload length of the current envelope */
    char *buf;           /* payload collected so far */
    size_t len, cap;
    size_t max_msg;      /* largest payload accepted */
    int ended;           /* the end-of-stream envelope was seen */
    int failed;          /* a previous feed failed; later feeds fail too */
};

/* Start a parser accepting payloads up to max_msg bytes (0 = 16 MiB). */
void e2b_cs_init(struct cs_parser *p, size_t max_msg);
/* Consume len bytes.  Returns 0, CORRAL_EPROTO for a malformed stream
 * (compressed or unknown flags, oversized payload, bytes after the
 * end-of-stream envelope), CORRAL_ENOMEM, or the callback's status. */
int e2b_cs_feed(struct cs_parser *p, const void *data, size_t len, cs_msg_fn fn, void *ud);
/* 0 when the stream ended cleanly (end envelope seen, nothing partial),
 * else CORRAL_EPROTO: a stream cut before its end-of-stream envelope. */
int e2b_cs_finish(const struct cs_parser *p);
/* Release the parser's buffer. */
void e2b_cs_free(struct cs_parser *p);

#endif
