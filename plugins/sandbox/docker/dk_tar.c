/* libarchive helpers: every tar the plugin builds or reads goes through
 * libarchive (POSIX pax-restricted format, uncompressed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crl_archive.h"
#include "dk.h"

/* ---- in-memory tars --------------------------------------------------------- */

static struct archive *tar_writer(void)
{
    struct archive *a = archive_write_new();
    if (!a)
        return NULL;
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 512);
    archive_write_set_bytes_in_last_block(a, 1);
    return a;
}

static struct archive_entry *mk_entry(const char *name, uint32_t mode, int64_t size, long uid, long gid)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return NULL;
    size_t n = strlen(name);
    int dir = n > 0 && name[n - 1] == '/';
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, mode & 07777);
    archive_entry_set_size(e, dir ? 0 : size);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, time(NULL), 0);
    return e;
}

int dk_tar_build(const struct dk_tar_entry *ents, size_t n, char **out, size_t *out_len)
{
    struct crl_ar_mem m = {0};
    struct archive *a = tar_writer();
    int rc = CORRAL_ENOMEM;
    if (!a || crl_ar_open_mem(a, &m) != ARCHIVE_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = mk_entry(ents[i].name, ents[i].mode, (int64_t)ents[i].len, ents[i].uid, ents[i].gid);
        if (!e || archive_write_header(a, e) != ARCHIVE_OK ||
            (ents[i].data && archive_write_data(a, ents[i].data, ents[i].len) != (la_ssize_t)ents[i].len)) {
            archive_entry_free(e);
            goto out;
        }
        archive_entry_free(e);
    }
    if (archive_write_close(a) != ARCHIVE_OK || m.oom)
        goto out;
    *out = m.buf.p;
    *out_len = m.buf.len;
    m.buf.p = NULL;
    rc = 0;
out:
    if (a)
        archive_write_free(a);
    crl_buf_free(&m.buf);
    return rc;
}

/* ---- a streamed single-file tar --------------------------------------------- */

struct dk_tarsrc {
    struct archive *a;
    const struct corral_source *src;
    struct crl_ar_mem out;
    int64_t left;
    int stage;                /* 0 header, 1 data, 2 closed */
    char err[256];
    char chunk[65536];
};

int dk_tarsrc_new(const char *name, uint32_t mode, long uid, long gid, const struct corral_source *src,
                  struct dk_tarsrc **out)
{
    if (src->length < 0)
        return CORRAL_EINVAL;
    struct dk_tarsrc *t = calloc(1, sizeof *t);
    if (!t)
        return CORRAL_ENOMEM;
    t->src = src;
    t->left = src->length;
    t->a = tar_writer();
    struct archive_entry *e = mk_entry(name, mode, src->length, uid, gid);
    if (!t->a || !e || crl_ar_open_mem(t->a, &t->out) != ARCHIVE_OK ||
        archive_write_header(t->a, e) != ARCHIVE_OK) {
        archive_entry_free(e);
        dk_tarsrc_free(t);
        return CORRAL_ENOMEM;
    }
    archive_entry_free(e);
    t->stage = 1;
    *out = t;
    return 0;
}

static long tarsrc_read(void *ud, void *buf, size_t cap)
{
    struct dk_tarsrc *t = ud;
    while (crl_ar_mem_drained(&t->out)) {
        if (t->stage == 2)
            return 0;
        if (t->left == 0) {
            if (archive_write_close(t->a) != ARCHIVE_OK) {
                snprintf(t->err, sizeof t->err, "tar: %s", archive_error_string(t->a));
                return CORRAL_EIO;
            }
            t->stage = 2;
            continue;
        }
        size_t want = t->left < (int64_t)sizeof t->chunk ? (size_t)t->left : sizeof t->chunk;
        long n = t->src->read(t->src->ud, t->chunk, want);
        if (n < 0)
            return n;
        if (n == 0) {
            snprintf(t->err, sizeof t->err, "source ended %lld bytes short of its length",
                     (long long)t->left);
            return CORRAL_EIO;
        }
        if (archive_write_data(t->a, t->chunk, (size_t)n) != n || t->out.oom) {
            snprintf(t->err, sizeof t->err, "tar: write failed");
            return CORRAL_ENOMEM;
        }
        t->left -= n;
    }
    return (long)crl_ar_mem_take(&t->out, buf, cap);
}

void dk_tarsrc_source(struct dk_tarsrc *t, struct corral_source *src)
{
    memset(src, 0, sizeof *src);
    src->struct_size = sizeof *src;
    src->read = tarsrc_read;
    src->ud = t;
    src->length = -1;
}

const char *dk_tarsrc_error(const struct dk_tarsrc *t)
{
    return t->err[0] ? t->err : NULL;
}

void dk_tarsrc_free(struct dk_tarsrc *t)
{
    if (!t)
        return;
    if (t->a)
        archive_write_free(t->a);
    crl_buf_free(&t->out.buf);
    free(t);
}

/* ---- reading spooled answers ------------------------------------------------ */

static struct archive *tar_reader(int fd)
{
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    archive_read_support_format_tar(a);
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

int dk_tar_first_file(int fd, const struct corral_sink *sink, char *link, size_t linkcap, char *err,
                      size_t errcap)
{
    struct archive *a = tar_reader(fd);
    struct archive_entry *e;
    int rc = 0;
    if (!a) {
        snprintf(err, errcap, "cannot read the archive");
        return CORRAL_EIO;
    }
    int r = archive_read_next_header(a, &e);
    if (r != ARCHIVE_OK) {
        snprintf(err, errcap, "bad archive from the daemon: %s", archive_error_string(a));
        rc = CORRAL_EPROTO;
        goto out;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
        snprintf(link, linkcap, "%s", archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        rc = 1;
        goto out;
    }
    if (archive_entry_filetype(e) != AE_IFREG) {
        snprintf(err, errcap, "not a regular file");
        rc = CORRAL_EINVAL;
        goto out;
    }
    const void *buf;
    size_t n;
    la_int64_t off;
    while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
        if (n && sink && sink->write && (rc = sink->write(sink->ud, buf, n)) < 0) {
            snprintf(err, errcap, "the sink refused the data");
            goto out;
        }
    }
    rc = 0;
    if (r != ARCHIVE_EOF) {
        snprintf(err, errcap, "bad archive data: %s", archive_error_string(a));
        rc = CORRAL_EPROTO;
    }
out:
    archive_read_free(a);
    return rc;
}

/* "base/rest" -> "rest"; "base" or "base/" -> NULL (dropped). */
static const char *strip1(const char *p)
{
    if (!p)
        return NULL;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    const char *s = strchr(p, '/');
    if (!s)
        return NULL;
    while (*s == '/')
        s++;
    return *s ? s : NULL;
}

/* crl_ar_entry_fn: "base/rest" -> "rest", the base directory itself dropped. */
static int reroot_entry(void *ud, struct archive_entry *e)
{
    (void)ud;
    const char *rest = strip1(archive_entry_pathname(e));
    if (!rest)
        return 0;
    char *name = strdup(rest);
    if (!name)
        return CORRAL_ENOMEM;
    archive_entry_set_pathname(e, name);
    free(name);
    const char *hl = archive_entry_hardlink(e);
    if (hl) {
        const char *hr = strip1(hl);
        char *h = hr ? strdup(hr) : NULL;
        archive_entry_set_hardlink(e, h);
        free(h);
    }
    return 1;
}

int dk_tar_reroot(int fd, const struct corral_sink *sink, char *err, size_t errcap)
{
    struct archive *r = tar_reader(fd);
    struct archive *w = tar_writer();
    struct crl_ar_sink sw = {.sink = sink};
    struct archive *failed = NULL;
    int rc = 0;
    if (!r || !w || crl_ar_open_sink(w, &sw) != ARCHIVE_OK) {
        snprintf(err, errcap, "cannot set up the archive re-rooting");
        rc = CORRAL_ENOMEM;
    } else if ((rc = crl_ar_copy(r, w, reroot_entry, NULL, &failed)) == 0 && archive_write_close(w) != ARCHIVE_OK) {
        failed = w;
    }
    if (failed && failed == r) {
        snprintf(err, errcap, "bad archive from the daemon: %s", archive_error_string(r));
        rc = CORRAL_EPROTO;
    } else if (failed && failed == w) {
        snprintf(err, errcap, "%s", sw.status ? "the sink refused the data" : archive_error_string(w));
        rc = sw.status ? sw.status : CORRAL_EIO;
    } else if (rc == CORRAL_ENOMEM) {
        snprintf(err, errcap, "out of memory");
    }
    if (r)
        archive_read_free(r);
    if (w)
        archive_write_free(w);
    return rc;
}

/* ---- re-owning a tar stream on the fly -------------------------------------- */

struct dk_tarchown {
    struct archive *in, *out;
    struct crl_ar_source src;
    struct crl_ar_mem ob;
    long uid, gid;
    int stage;                /* 0 next header, 1 data, 2 closed */
    char err[256];
};

int dk_tarchown_new(const struct corral_source *src, long uid, long gid, struct dk_tarchown **out)
{
    struct dk_tarchown *t = calloc(1, sizeof *t);
    if (!t)
        return CORRAL_ENOMEM;
    t->src.src = src;
    t->uid = uid;
    t->gid = gid;
    t->in = archive_read_new();
    t->out = tar_writer();
    if (!t->in || !t->out) {
        dk_tarchown_free(t);
        return CORRAL_ENOMEM;
    }
    archive_read_support_format_tar(t->in);
    if (crl_ar_open_source(t->in, &t->src) != ARCHIVE_OK || crl_ar_open_mem(t->out, &t->ob) != ARCHIVE_OK) {
        dk_tarchown_free(t);
        return CORRAL_EINVAL;
    }
    *out = t;
    return 0;
}

static long tarchown_read(void *ud, void *buf, size_t cap)
{
    struct dk_tarchown *t = ud;
    while (crl_ar_mem_drained(&t->ob)) {
        if (t->stage == 2)
            return 0;
        if (t->stage == 0) {
            struct archive_entry *e;
            int r = archive_read_next_header(t->in, &e);
            if (r == ARCHIVE_EOF) {
                if (archive_write_close(t->out) != ARCHIVE_OK)
                    goto werr;
                t->stage = 2;
                continue;
            }
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                snprintf(t->err, sizeof t->err, "bad archive: %s", archive_error_string(t->in));
                return CORRAL_EINVAL;
            }
            archive_entry_set_uid(e, t->uid);
            archive_entry_set_gid(e, t->gid);
            archive_entry_set_uname(e, NULL);
            archive_entry_set_gname(e, NULL);
            if (archive_write_header(t->out, e) != ARCHIVE_OK)
                goto werr;
            t->stage = 1;
        } else {
            const void *b;
            size_t n;
            la_int64_t off;
            int r = archive_read_data_block(t->in, &b, &n, &off);
            if (r == ARCHIVE_EOF) {
                t->stage = 0;
                continue;
            }
            if (r != ARCHIVE_OK) {
                snprintf(t->err, sizeof t->err, "bad archive data: %s", archive_error_string(t->in));
                return CORRAL_EINVAL;
            }
            if (n && archive_write_data(t->out, b, n) != (la_ssize_t)n)
                goto werr;
        }
        if (t->ob.oom)
            return CORRAL_ENOMEM;
    }
    return (long)crl_ar_mem_take(&t->ob, buf, cap);
werr:
    snprintf(t->err, sizeof t->err, "tar: %s", archive_error_string(t->out));
    return CORRAL_EIO;
}

void dk_tarchown_source(struct dk_tarchown *t, struct corral_source *src)
{
    memset(src, 0, sizeof *src);
    src->struct_size = sizeof *src;
    src->read = tarchown_read;
    src->ud = t;
    src->length = -1;
}

const char *dk_tarchown_error(const struct dk_tarchown *t)
{
    return t->err[0] ? t->err : NULL;
}

void dk_tarchown_free(struct dk_tarchown *t)
{
    if (!t)
        return;
    if (t->in)
        archive_read_free(t->in);
    if (t->out)
        archive_write_free(t->out);
    crl_buf_free(&t->ob.buf);
    free(t);
}
