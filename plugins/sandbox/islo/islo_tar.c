/*
 * Our ABI streams plain tar; Islo's files-archive speaks tar.gz.  Both
 * directions go through libarchive entry by entry with a fixed-size copy
 * buffer, so memory stays constant whatever the archive's size (the gzip
 * side is spooled to a temp file by the caller).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "islo.h"

#define COPY_BUF 65536

struct src_ud {
    const struct corral_source *src;
    char buf[COPY_BUF];
    int err;
};

static la_ssize_t src_read(struct archive *a, void *ud, const void **out)
{
    struct src_ud *s = ud;
    long n = s->src->read(s->src->ud, s->buf, sizeof s->buf);
    if (n < 0) {
        s->err = (int)n;
        archive_set_error(a, EIO, "source failed");
        return -1;
    }
    *out = s->buf;
    return n;
}

/* A member name that stays inside the target directory, or NULL. */
static const char *safe_name(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../") ||
        (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0))
        return NULL;
    return name;
}

/* Copy every entry of `in` to `out`, normalizing names. */
static int copy_entries(struct islo *p, struct archive *in, struct archive *out, const char *what,
                        corral_call *call, int *src_err)
{
    const struct corral_host *h = p->host;
    struct archive_entry *e;
    char *buf = malloc(COPY_BUF);
    int rc = 0;
    if (!buf)
        return h->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    for (;;) {
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = src_err && *src_err ? *src_err
                                     : h->fail(call, CORRAL_EPROTO, "islo: %s: bad archive: %s", what,
                                               archive_error_string(in));
            break;
        }
        const char *name = safe_name(archive_entry_pathname(e));
        if (!name) {
            rc = h->fail(call, CORRAL_EPERM, "islo: %s: member '%.200s' escapes the directory", what,
                         archive_entry_pathname(e));
            break;
        }
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "./") == 0)
            continue;
        const char *link = archive_entry_hardlink(e);
        if (link && !safe_name(link)) {
            rc = h->fail(call, CORRAL_EPERM, "islo: %s: hard link '%.200s' escapes the directory", what, link);
            break;
        }
        char *nm = strdup(name);
        archive_entry_set_pathname(e, nm);
        free(nm);
        if (link) {
            char *l = strdup(safe_name(link));
            archive_entry_set_hardlink(e, l);
            free(l);
        }
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            rc = h->fail(call, CORRAL_EIO, "islo: %s: %s", what, archive_error_string(out));
            break;
        }
        for (;;) {
            la_ssize_t n = archive_read_data(in, buf, COPY_BUF);
            if (n == 0)
                break;
            if (n < 0) {
                rc = src_err && *src_err ? *src_err
                                         : h->fail(call, CORRAL_EPROTO, "islo: %s: %s", what,
                                                   archive_error_string(in));
                break;
            }
            if (archive_write_data(out, buf, (size_t)n) != n) {
                rc = h->fail(call, CORRAL_EIO, "islo: %s: %s", what, archive_error_string(out));
                break;
            }
        }
        if (rc)
            break;
    }
    free(buf);
    return rc;
}

int islo_tar_to_targz(struct islo *p, const struct corral_source *src, int fd, corral_call *call)
{
    struct src_ud *s = calloc(1, sizeof *s);
    if (!s)
        return p->host->fail(call, CORRAL_ENOMEM, "islo: out of memory");
    s->src = src;
    struct archive *in = archive_read_new(), *out = archive_write_new();
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in);
    archive_read_support_filter_none(in);
    archive_write_set_format_pax_restricted(out);
    archive_write_add_filter_gzip(out);
    int rc = 0;
    if (archive_read_open(in, s, NULL, src_read, NULL) != ARCHIVE_OK)
        rc = s->err ? s->err : p->host->fail(call, CORRAL_EPROTO, "islo: put_archive: not a tar stream: %s",
                                             archive_error_string(in));
    else if (archive_write_open_fd(out, fd) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EIO, "islo: put_archive: %s", archive_error_string(out));
    else
        rc = copy_entries(p, in, out, "put_archive", call, &s->err);
    if (archive_write_close(out) != ARCHIVE_OK && rc == 0)
        rc = p->host->fail(call, CORRAL_EIO, "islo: put_archive: %s", archive_error_string(out));
    archive_write_free(out);
    archive_read_free(in);
    free(s);
    return rc;
}

struct sink_ud {
    const struct corral_sink *sink;
    int err;
};

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t len)
{
    struct sink_ud *s = ud;
    int r = s->sink->write(s->sink->ud, buf, len);
    if (r < 0) {
        s->err = r;
        archive_set_error(a, EIO, "sink failed");
        return -1;
    }
    return (la_ssize_t)len;
}

int islo_targz_to_tar(struct islo *p, int fd, const struct corral_sink *sink, corral_call *call)
{
    struct sink_ud s = {.sink = sink};
    struct archive *in = archive_read_new(), *out = archive_write_new();
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in);
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_none(in);
    archive_write_set_format_pax_restricted(out);
    archive_write_add_filter_none(out);
    archive_write_set_bytes_in_last_block(out, 1);
    int rc = 0;
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(in, fd, COPY_BUF) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EPROTO, "islo: get_archive: the server's archive is not tar.gz: %s",
                           archive_error_string(in));
    else if (archive_write_open(out, &s, NULL, sink_write, NULL) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EIO, "islo: get_archive: %s", archive_error_string(out));
    else
        rc = copy_entries(p, in, out, "get_archive", call, NULL);
    if (archive_write_close(out) != ARCHIVE_OK && rc == 0)
        rc = s.err ? p->host->fail(call, s.err, "islo: get_archive: the consumer failed")
                   : p->host->fail(call, CORRAL_EIO, "islo: get_archive: %s", archive_error_string(out));
    if (rc && s.err && rc != s.err)
        rc = s.err;
    archive_write_free(out);
    archive_read_free(in);
    return rc;
}
