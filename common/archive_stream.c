/* libarchive streaming shared by libcorral, sandbox_docker and
 * sandbox_islo (see crl_archive.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crl_archive.h"

static la_ssize_t source_read(struct archive *a, void *ud, const void **out)
{
    struct crl_ar_source *s = ud;
    long n = s->src->read(s->src->ud, s->buf, sizeof s->buf);
    if (n < 0) {
        s->status = (int)n;
        archive_set_error(a, EIO, "the source failed (%d)", (int)n);
        return -1;
    }
    *out = s->buf;
    return n;
}

int crl_ar_open_source(struct archive *a, struct crl_ar_source *s)
{
    return archive_read_open(a, s, NULL, source_read, NULL);
}

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct crl_ar_sink *s = ud;
    if (s->sink && s->sink->write) {
        int rc = s->sink->write(s->sink->ud, buf, n);
        if (rc < 0) {
            s->status = rc;
            archive_set_error(a, EIO, "the sink failed (%d)", rc);
            return -1;
        }
    }
    return (la_ssize_t)n;
}

int crl_ar_open_sink(struct archive *a, struct crl_ar_sink *s)
{
    return archive_write_open(a, s, NULL, sink_write, NULL);
}

static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    struct crl_ar_mem *m = ud;
    if (crl_buf_add(&m->buf, buf, n)) {
        m->oom = 1;
        archive_set_error(a, ENOMEM, "out of memory");
        return -1;
    }
    return (la_ssize_t)n;
}

int crl_ar_open_mem(struct archive *a, struct crl_ar_mem *m)
{
    return archive_write_open(a, m, NULL, mem_write, NULL);
}

int crl_ar_mem_drained(struct crl_ar_mem *m)
{
    if (m->off < m->buf.len)
        return 0;
    m->off = m->buf.len = 0;
    return 1;
}

size_t crl_ar_mem_take(struct crl_ar_mem *m, void *buf, size_t cap)
{
    size_t n = m->buf.len - m->off;
    if (n > cap)
        n = cap;
    memcpy(buf, m->buf.p + m->off, n);
    m->off += n;
    return n;
}

int crl_ar_copy(struct archive *in, struct archive *out, crl_ar_entry_fn fn, void *ud, struct archive **failed)
{
    struct archive_entry *e;
    char *buf = malloc(CRL_AR_CHUNK);
    int rc = 0;
    *failed = NULL;
    if (!buf)
        return CORRAL_ENOMEM;
    for (;;) {
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            *failed = in;
            break;
        }
        if (fn && (rc = fn(ud, e)) <= 0) {
            if (rc < 0)
                break;
            continue;
        }
        rc = 0;
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            *failed = out;
            break;
        }
        /* archive_read_data, not _data_block: it fills the holes of
         * sparse entries, which a sequential writer cannot express. */
        la_ssize_t n;
        while ((n = archive_read_data(in, buf, CRL_AR_CHUNK)) > 0)
            if (archive_write_data(out, buf, (size_t)n) != n) {
                *failed = out;
                break;
            }
        if (n < 0)
            *failed = in;
        if (*failed)
            break;
    }
    free(buf);
    if (*failed)
        rc = *failed == in ? CORRAL_EPROTO : CORRAL_EIO;
    return rc;
}
