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

#include "crl_archive.h"
#include "islo.h"

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

struct names {
    struct islo *p;
    const char *what;
    corral_call *call;
};

/* crl_ar_entry_fn: keep names inside the target, drop the root entry. */
static int normalize(void *ud, struct archive_entry *e)
{
    struct names *n = ud;
    const struct corral_host *h = n->p->host;
    const char *name = safe_name(archive_entry_pathname(e));
    if (!name)
        return h->fail(n->call, CORRAL_EPERM, "islo: %s: member '%.200s' escapes the directory", n->what,
                       archive_entry_pathname(e));
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "./") == 0)
        return 0;
    const char *link = archive_entry_hardlink(e);
    if (link && !safe_name(link))
        return h->fail(n->call, CORRAL_EPERM, "islo: %s: hard link '%.200s' escapes the directory", n->what, link);
    char *nm = strdup(name);
    archive_entry_set_pathname(e, nm);
    free(nm);
    if (link) {
        char *l = strdup(safe_name(link));
        archive_entry_set_hardlink(e, l);
        free(l);
    }
    return 1;
}

/* Copy every entry of `in` to `out`, normalizing names.  src_err: the
 * source's own failure, which explains a read error best. */
static int copy_entries(struct islo *p, struct archive *in, struct archive *out, const char *what,
                        corral_call *call, const int *src_err)
{
    struct names n = {p, what, call};
    struct archive *failed;
    int rc = crl_ar_copy(in, out, normalize, &n, &failed);
    if (failed == in)
        rc = src_err && *src_err ? *src_err
                                 : p->host->fail(call, CORRAL_EPROTO, "islo: %s: bad archive: %s", what,
                                                 archive_error_string(in));
    else if (failed == out)
        rc = p->host->fail(call, CORRAL_EIO, "islo: %s: %s", what, archive_error_string(out));
    else if (rc == CORRAL_ENOMEM)
        rc = p->host->fail(call, rc, "islo: out of memory");
    return rc;
}

int islo_tar_to_targz(struct islo *p, const struct corral_source *src, int fd, corral_call *call)
{
    struct crl_ar_source *s = calloc(1, sizeof *s);
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
    if (crl_ar_open_source(in, s) != ARCHIVE_OK)
        rc = s->status ? s->status : p->host->fail(call, CORRAL_EPROTO, "islo: put_archive: not a tar stream: %s",
                                             archive_error_string(in));
    else if (archive_write_open_fd(out, fd) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EIO, "islo: put_archive: %s", archive_error_string(out));
    else
        rc = copy_entries(p, in, out, "put_archive", call, &s->status);
    if (archive_write_close(out) != ARCHIVE_OK && rc == 0)
        rc = p->host->fail(call, CORRAL_EIO, "islo: put_archive: %s", archive_error_string(out));
    archive_write_free(out);
    archive_read_free(in);
    free(s);
    return rc;
}

int islo_targz_to_tar(struct islo *p, int fd, const struct corral_sink *sink, corral_call *call)
{
    struct crl_ar_sink s = {.sink = sink};
    struct archive *in = archive_read_new(), *out = archive_write_new();
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in);
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_none(in);
    archive_write_set_format_pax_restricted(out);
    archive_write_add_filter_none(out);
    archive_write_set_bytes_in_last_block(out, 1);
    int rc = 0;
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(in, fd, CRL_AR_CHUNK) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EPROTO, "islo: get_archive: the server's archive is not tar.gz: %s",
                           archive_error_string(in));
    else if (crl_ar_open_sink(out, &s) != ARCHIVE_OK)
        rc = p->host->fail(call, CORRAL_EIO, "islo: get_archive: %s", archive_error_string(out));
    else
        rc = copy_entries(p, in, out, "get_archive", call, NULL);
    if (archive_write_close(out) != ARCHIVE_OK && rc == 0)
        rc = s.status ? p->host->fail(call, s.status, "islo: get_archive: the consumer failed")
                      : p->host->fail(call, CORRAL_EIO, "islo: get_archive: %s", archive_error_string(out));
    if (rc && s.status && rc != s.status)
        rc = s.status;
    archive_write_free(out);
    archive_read_free(in);
    return rc;
}
