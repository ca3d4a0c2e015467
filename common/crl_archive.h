/* libarchive streaming shared by libcorral's archive service and the
 * plugins that re-encode tar streams themselves (sandbox_docker,
 * sandbox_islo): corral sources and sinks as libarchive callbacks, a
 * libarchive writer into memory, and the one entry-by-entry copy loop.
 * A separate static library (corral_common_archive) so that only its users
 * link libarchive.  Internal names: crl_ar_. */
#ifndef CORRAL_CRL_ARCHIVE_H
#define CORRAL_CRL_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "crl_common.h"

/* The chunk every copy reads and writes at a time. */
#define CRL_AR_CHUNK 65536

/* A corral_source read by libarchive: zero-initialize, set src, then
 * crl_ar_open_source.  status holds the source's own error once it failed
 * (libarchive then reports "the source failed").  Lives as long as the
 * reader. */
struct crl_ar_source {
    const struct corral_source *src;
    int status;
    char buf[CRL_AR_CHUNK];
};
/* archive_read_open on s; libarchive's status. */
int crl_ar_open_source(struct archive *a, struct crl_ar_source *s);

/* A corral_sink written by libarchive (a NULL sink or write drops the
 * bytes); status holds the sink's own error once it failed. */
struct crl_ar_sink {
    const struct corral_sink *sink;
    int status;
};
int crl_ar_open_sink(struct archive *a, struct crl_ar_sink *s);

/* A writer collecting into memory, for tar streams produced on demand
 * (a corral_source's read encodes a little, then hands out what came
 * out); oom set once an append failed.  The caller frees buf
 * (crl_buf_free) after archive_write_free. */
struct crl_ar_mem {
    struct crl_buf buf;
    size_t off;     /* bytes of buf already taken */
    int oom;
};
int crl_ar_open_mem(struct archive *a, struct crl_ar_mem *m);
/* 1 when every byte written so far was taken (the buffer is then emptied
 * for the next writes), else 0. */
int crl_ar_mem_drained(struct crl_ar_mem *m);
/* Copy up to cap of the bytes not yet taken into buf; their count. */
size_t crl_ar_mem_take(struct crl_ar_mem *m, void *buf, size_t cap);

/* Decides about one entry of crl_ar_copy: may rename it (set_pathname,
 * set_hardlink) and answers 1 to copy it, 0 to skip it, or a negative
 * corral status to stop (the callback reports its own message). */
typedef int (*crl_ar_entry_fn)(void *ud, struct archive_entry *e);

/* Copy every entry of `in` (headers and data, CRL_AR_CHUNK at a time) to
 * `out`, asking fn (may be NULL: copy all) about each.  0 at the end of
 * `in`; fn's status; or, when libarchive failed, CORRAL_EPROTO with
 * *failed = in or CORRAL_EIO with *failed = out, for the caller to word
 * archive_error_string(*failed).  out is not closed. */
int crl_ar_copy(struct archive *in, struct archive *out, crl_ar_entry_fn fn, void *ud, struct archive **failed);

#endif
