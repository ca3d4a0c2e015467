/* Archives on the host (libarchive): safe extraction, and workspace
 * persist/hydrate between a sandbox's tar streams and local .tar/.tar.gz/
 * .tar.zst files or directories.  Everything streams in bounded chunks;
 * no function holds a whole archive or file in memory.
 *
 * Every entry that crosses the host boundary passes entry_check(): only
 * regular files, directories, symlinks and hardlinks with relative paths
 * free of ".." components; when extracting onto this host, links must
 * also stay inside the target tree. */
#include "sandbox_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK 65536

/* ---- entry validation ---- */

/* Strip leading "./" and "/"-runs from a relative path; "" means the root. */
static const char *skip_dot_slash(const char *p)
{
    while (p[0] == '.' && p[1] == '/') {
        p += 2;
        while (*p == '/')
            p++;
    }
    if (p[0] == '.' && p[1] == '\0')
        return p + 1;
    return p;
}

/* Depth-tracking walk: returns the depth of path below its start, or -1
 * when a ".." climbs above it.  With no_dotdot, any ".." fails. */
static int walk_depth(const char *path, int depth, int no_dotdot)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (no_dotdot || --depth < 0)
                return -1;
        } else if (!(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
    }
    return depth;
}

/* Check one entry; on refusal returns CORRAL_EPERM with a message.
 * *rel gets the cleaned relative path ("" for the root itself).
 * Names and hardlink targets must always be relative and free of "..";
 * devices, fifos and sockets never pass.  With `strict` (extraction onto
 * this host) symlinks must also stay inside the tree; otherwise (an
 * archive file, or a tree going into a sandbox) a symlink's target is
 * just data, so workspaces with absolute links (venvs) persist fine. */
static int entry_check(struct archive_entry *e, const char **rel, int strict, struct corral_call *call)
{
    const char *name = archive_entry_pathname(e);
    if (!name || !*name)
        return corral_call_fail(call, CORRAL_EPERM, "archive entry without a name refused");
    if (name[0] == '/')
        return corral_call_fail(call, CORRAL_EPERM, "archive entry '%s' has an absolute path: refused", name);
    if (walk_depth(name, 0, 1) < 0)
        return corral_call_fail(call, CORRAL_EPERM, "archive entry '%s' has a '..' component: refused", name);
    *rel = skip_dot_slash(name);
    const char *hl = archive_entry_hardlink(e);
    if (hl) {
        if (hl[0] == '/' || walk_depth(hl, 0, 1) < 0)
            return corral_call_fail(call, CORRAL_EPERM, "hardlink '%s' -> '%s' escapes the tree: refused", name, hl);
        return 0;
    }
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
        return 0;
    case AE_IFLNK: {
        const char *t = archive_entry_symlink(e);
        if (!t || !*t)
            return corral_call_fail(call, CORRAL_EPERM, "symlink '%s' without a target: refused", name);
        if (!strict)
            return 0;
        if (t[0] == '/')
            return corral_call_fail(call, CORRAL_EPERM, "symlink '%s' -> '%s' is absolute: refused", name,
                                    t ? t : "");
        /* Resolve the target from the link's own directory. */
        int d = walk_depth(*rel, 0, 1);
        if (d > 0)
            d--;
        if (walk_depth(t, d, 0) < 0)
            return corral_call_fail(call, CORRAL_EPERM, "symlink '%s' -> '%s' escapes the tree: refused", name, t);
        return 0;
    }
    default:
        return corral_call_fail(call, CORRAL_EPERM,
                                "archive entry '%s' is a device, fifo or socket: refused", name);
    }
}

/* ---- safe extraction ---- */

static int aerr(struct archive *a, int code, const char *what, struct corral_call *call)
{
    return corral_call_fail(call, code, "%s: %s", what, archive_error_string(a) ? archive_error_string(a) : "error");
}

static int copy_data(struct archive *in, struct archive *out, struct corral_call *call)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return aerr(in, CORRAL_EIO, "reading archive data", call);
        if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
            return aerr(out, CORRAL_EIO, "writing archive data", call);
        if (corral_call_cancelled(call))
            return corral_call_fail(call, CORRAL_ECANCELED, "cancelled");
    }
}

/* Extract every entry of the opened reader `in` below the canonical
 * directory `root`. */
static int extract_from(struct archive *in, const char *root, struct corral_call *call)
{
    struct archive *out = archive_write_disk_new();
    if (!out)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    int rc = 0;
    struct archive_entry *e;
    char full[PATH_MAX];
    for (;;) {
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = aerr(in, CORRAL_EIO, "reading the archive", call);
            break;
        }
        const char *rel;
        rc = entry_check(e, &rel, 1, call);
        if (rc)
            break;
        if (!*rel)
            continue; /* the root itself */
        if (snprintf(full, sizeof full, "%s/%s", root, rel) >= (int)sizeof full) {
            rc = corral_call_fail(call, CORRAL_EPERM, "archive path too long: %s", rel);
            break;
        }
        archive_entry_set_pathname(e, full);
        /* Never let an archive make setuid/setgid/sticky files. */
        archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
        const char *hl = archive_entry_hardlink(e);
        if (hl) {
            char lfull[PATH_MAX];
            snprintf(lfull, sizeof lfull, "%s/%s", root, skip_dot_slash(hl));
            archive_entry_set_hardlink(e, lfull);
        }
        r = archive_write_header(out, e);
        if (r < ARCHIVE_WARN) {
            rc = aerr(out, CORRAL_EPERM, "extracting", call);
            break;
        }
        if (archive_entry_size(e) > 0 && !hl) {
            rc = copy_data(in, out, call);
            if (rc)
                break;
        }
        if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
            rc = aerr(out, CORRAL_EIO, "extracting", call);
            break;
        }
    }
    if (archive_write_close(out) < ARCHIVE_WARN && rc == 0)
        rc = aerr(out, CORRAL_EIO, "finishing extraction", call);
    archive_write_free(out);
    return rc;
}

static int canonical_dir(const char *target, char *root, struct corral_call *call)
{
    if (!realpath(target, root))
        return corral_call_fail(call, CORRAL_ENOTFOUND, "target directory %s: %s", target, strerror(errno));
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return corral_call_fail(call, CORRAL_EINVAL, "%s is not a directory", target);
    return 0;
}

struct src_ud {
    const struct corral_source *src;
    char buf[COPY_CHUNK];
    int status;
};

static la_ssize_t src_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct src_ud *s = ud;
    long n = s->src->read(s->src->ud, s->buf, sizeof s->buf);
    if (n < 0) {
        s->status = (int)n;
        archive_set_error(a, EIO, "the source failed (%d)", (int)n);
        return -1;
    }
    *buf = s->buf;
    return n;
}

static struct archive *reader_new(void)
{
    struct archive *a = archive_read_new();
    if (a) {
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
    }
    return a;
}

int corral_archive_extract_safe(const struct corral_source *src, const char *target, struct corral_call *call)
{
    char root[PATH_MAX];
    int rc = canonical_dir(target, root, call);
    if (rc)
        return rc;
    struct archive *in = reader_new();
    struct src_ud *ud = calloc(1, sizeof *ud);
    if (!in || !ud) {
        archive_read_free(in);
        free(ud);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    ud->src = src;
    if (archive_read_open(in, ud, NULL, src_read_cb, NULL) != ARCHIVE_OK)
        rc = aerr(in, CORRAL_EIO, "opening the archive", call);
    else
        rc = extract_from(in, root, call);
    archive_read_free(in);
    free(ud);
    return rc;
}

int corral_archive_extract_file(const char *path, const char *target, struct corral_call *call)
{
    char root[PATH_MAX];
    int rc = canonical_dir(target, root, call);
    if (rc)
        return rc;
    struct archive *in = reader_new();
    if (!in)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    if (archive_read_open_filename(in, path, COPY_CHUNK) != ARCHIVE_OK)
        rc = aerr(in, CORRAL_ENOTFOUND, path, call);
    else
        rc = extract_from(in, root, call);
    archive_read_free(in);
    return rc;
}

/* ---- output kinds ---- */

enum out_kind { OUT_DIR, OUT_TAR, OUT_GZ, OUT_ZST };

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int out_kind(const char *path)
{
    if (ends_with(path, ".tar.gz") || ends_with(path, ".tgz"))
        return OUT_GZ;
    if (ends_with(path, ".tar.zst") || ends_with(path, ".tzst"))
        return OUT_ZST;
    if (ends_with(path, ".tar"))
        return OUT_TAR;
    return OUT_DIR;
}

/* Re-encode every checked entry of `in` into the writer `out`. */
static int reencode(struct archive *in, struct archive *out, struct corral_call *call)
{
    struct archive_entry *e;
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    int rc = 0;
    for (;;) {
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = aerr(in, CORRAL_EIO, "reading the archive", call);
            break;
        }
        const char *rel;
        rc = entry_check(e, &rel, 0, call);
        if (rc)
            break;
        if (!*rel)
            continue;
        archive_entry_set_pathname(e, rel);
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            rc = aerr(out, CORRAL_EIO, "writing the archive", call);
            break;
        }
        for (;;) {
            la_ssize_t n = archive_read_data(in, buf, COPY_CHUNK);
            if (n < 0) {
                rc = aerr(in, CORRAL_EIO, "reading the archive", call);
                break;
            }
            if (n == 0)
                break;
            if (archive_write_data(out, buf, (size_t)n) < 0) {
                rc = aerr(out, CORRAL_EIO, "writing the archive", call);
                break;
            }
        }
        if (rc)
            break;
    }
    free(buf);
    return rc;
}

/* ---- persist: sandbox tar stream -> pipe -> worker thread ---- */

struct persist_job {
    int fd;                     /* read end */
    const char *out;            /* file or directory */
    char tmp[PATH_MAX];
    int kind;
    struct corral_call call;    /* the worker's own status */
    int rc;
};

static void *persist_worker(void *arg)
{
    struct persist_job *j = arg;
    struct corral_call *call = &j->call;
    struct archive *in = reader_new();
    if (!in) {
        j->rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        return NULL;
    }
    if (archive_read_open_fd(in, j->fd, COPY_CHUNK) != ARCHIVE_OK) {
        j->rc = aerr(in, CORRAL_EPROTO, "the sandbox's archive stream", call);
    } else if (j->kind == OUT_DIR) {
        j->rc = extract_from(in, j->out, call);
    } else {
        struct archive *w = archive_write_new();
        archive_write_set_format_pax_restricted(w);
        int fr = ARCHIVE_OK;
        if (j->kind == OUT_GZ)
            fr = archive_write_add_filter_gzip(w);
        else if (j->kind == OUT_ZST)
            fr = archive_write_add_filter_zstd(w);
        if (fr != ARCHIVE_OK)
            j->rc = aerr(w, CORRAL_ENOTSUP, "compression", call);
        else if (archive_write_open_filename(w, j->tmp) != ARCHIVE_OK)
            j->rc = aerr(w, CORRAL_EIO, j->tmp, call);
        else {
            j->rc = reencode(in, w, call);
            if (archive_write_close(w) != ARCHIVE_OK && j->rc == 0)
                j->rc = aerr(w, CORRAL_EIO, j->tmp, call);
        }
        archive_write_free(w);
    }
    archive_read_free(in);
    if (j->rc == 0) {
        /* The archive ended; the producer may still send record padding
         * after the end marker.  Swallow a bounded amount so a complete
         * archive never turns into a producer-side write error. */
        char buf[16384];
        size_t total = 0;
        ssize_t n;
        while (total < ((size_t)16 << 20) && (n = read(j->fd, buf, sizeof buf)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            total += (size_t)n;
        }
    }
    /* Anything beyond that (or after a failure) makes the producer's next
     * write fail instead of blocking on a full socket. */
    shutdown(j->fd, SHUT_RD);
    return NULL;
}

struct fd_sink { int fd; };

static int fd_sink_write(void *ud, const void *buf, size_t len)
{
    struct fd_sink *s = ud;
    const char *p = buf;
    while (len) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CORRAL_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int corral_sandbox_persist(corral_sandbox *sb, const char *dir, const char *out, struct corral_call *call)
{
    struct persist_job *j = calloc(1, sizeof *j);
    if (!j)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    corral_call_init(&j->call, 0);
    j->kind = out_kind(out);
    char root[PATH_MAX];
    int rc = 0;
    if (j->kind == OUT_DIR) {
        if (mkdir(out, 0755) != 0 && errno != EEXIST)
            rc = corral_call_fail(call, CORRAL_EIO, "cannot create %s: %s", out, strerror(errno));
        else
            rc = canonical_dir(out, root, call);
        j->out = root;
    } else {
        j->out = out;
        snprintf(j->tmp, sizeof j->tmp, "%s.part", out);
    }
    int sv[2] = { -1, -1 };
    if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "socketpair: %s", strerror(errno));
    if (rc) {
        free(j);
        return rc;
    }
    j->fd = sv[1];
    pthread_t th;
    if (pthread_create(&th, NULL, persist_worker, j) != 0) {
        close(sv[0]);
        close(sv[1]);
        free(j);
        return corral_call_fail(call, CORRAL_EIO, "cannot start a thread");
    }
    struct fd_sink fs = { sv[0] };
    struct corral_sink sink = { .struct_size = sizeof sink, .write = fd_sink_write, .ud = &fs };
    rc = corral_sandbox_get_archive(sb, dir, &sink, call);
    shutdown(sv[0], SHUT_WR);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    /* The worker's failure explains a producer's EIO better. */
    if (j->rc && (rc == 0 || rc == CORRAL_EIO))
        rc = corral_call_fail(call, j->rc, "persisting %s to %s: %s", dir, out, j->call.message);
    else if (rc && !call->message[0])
        rc = corral_call_fail(call, rc, "persisting %s to %s: the sandbox's archive stream failed (%s)", dir, out,
                              corral_strerror(rc));
    if (j->kind != OUT_DIR) {
        if (rc == 0 && rename(j->tmp, out) != 0)
            rc = corral_call_fail(call, CORRAL_EIO, "rename %s: %s", j->tmp, strerror(errno));
        if (rc)
            unlink(j->tmp);
    }
    free(j);
    return rc;
}

/* ---- hydrate: local file/dir -> re-encoded tar, pulled by the plugin ---- */

struct hydrate_src {
    struct archive *in;         /* file reader, or NULL for a directory */
    struct archive *disk;       /* directory reader */
    struct archive *out;        /* pax writer into pending */
    char root[PATH_MAX];
    size_t root_len;
    char *pending;
    size_t plen, poff, pcap;
    int in_entry;               /* data of the current entry still to copy */
    int fd;                     /* the current disk file */
    int finished;
    int rc;
    struct corral_call *call;   /* points at pcall */
    struct corral_call pcall;   /* the producer's own status */
    char buf[COPY_CHUNK];
};

static la_ssize_t pending_write(struct archive *a, void *ud, const void *buf, size_t len)
{
    struct hydrate_src *h = ud;
    if (h->plen + len > h->pcap) {
        size_t nc = h->pcap ? h->pcap : 65536;
        while (nc < h->plen + len)
            nc *= 2;
        char *np = realloc(h->pending, nc);
        if (!np) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        h->pending = np;
        h->pcap = nc;
    }
    memcpy(h->pending + h->plen, buf, len);
    h->plen += len;
    return (la_ssize_t)len;
}

/* Produce the next piece of the tar into pending. */
static int hydrate_step(struct hydrate_src *h)
{
    struct corral_call *call = h->call;
    if (h->in_entry) {
        la_ssize_t n;
        if (h->in)
            n = archive_read_data(h->in, h->buf, sizeof h->buf);
        else
            n = read(h->fd, h->buf, sizeof h->buf);
        if (n < 0)
            return h->in ? aerr(h->in, CORRAL_EIO, "reading the input", call)
                         : corral_call_fail(call, CORRAL_EIO, "read: %s", strerror(errno));
        if (n == 0) {
            h->in_entry = 0;
            if (h->fd >= 0) {
                close(h->fd);
                h->fd = -1;
            }
            return 0;
        }
        if (archive_write_data(h->out, h->buf, (size_t)n) < 0)
            return aerr(h->out, CORRAL_EIO, "encoding the archive", call);
        return 0;
    }
    struct archive_entry *e = NULL;
    int r;
    const char *rel = NULL;
    if (h->in) {
        r = archive_read_next_header(h->in, &e);
        if (r == ARCHIVE_EOF)
            goto done;
        if (r < ARCHIVE_WARN)
            return aerr(h->in, CORRAL_EIO, "reading the input archive", call);
        int rc = entry_check(e, &rel, 0, call);
        if (rc)
            return rc;
        if (!*rel)
            return 0;
        archive_entry_set_pathname(e, rel);
    } else {
        e = archive_entry_new();
        r = archive_read_next_header2(h->disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            goto done;
        }
        if (r < ARCHIVE_WARN) {
            archive_entry_free(e);
            return aerr(h->disk, CORRAL_EIO, "reading the input directory", call);
        }
        archive_read_disk_descend(h->disk);
        const char *src = archive_entry_sourcepath(e);
        if (!src)
            src = archive_entry_pathname(e);
        const char *p = src + (strncmp(src, h->root, h->root_len) == 0 ? h->root_len : 0);
        while (*p == '/')
            p++;
        if (!*p) {
            archive_entry_free(e);
            return 0;
        }
        char relbuf[PATH_MAX];
        snprintf(relbuf, sizeof relbuf, "%s", p);
        archive_entry_set_pathname(e, relbuf);
        int rc = entry_check(e, &rel, 0, call);
        if (rc) {
            archive_entry_free(e);
            return rc;
        }
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            h->fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (h->fd < 0) {
                archive_entry_free(e);
                return corral_call_fail(call, CORRAL_EIO, "open %s: %s", src, strerror(errno));
            }
        }
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_uname(e, NULL);
        archive_entry_set_gname(e, NULL);
    }
    archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
    r = archive_write_header(h->out, e);
    int has_data = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
                   !archive_entry_hardlink(e);
    if (!h->in)
        archive_entry_free(e);
    if (r < ARCHIVE_WARN)
        return aerr(h->out, CORRAL_EIO, "encoding the archive", call);
    h->in_entry = has_data;
    return 0;
done:
    if (archive_write_close(h->out) != ARCHIVE_OK)
        return aerr(h->out, CORRAL_EIO, "finishing the archive", call);
    h->finished = 1;
    return 0;
}

static long hydrate_read(void *ud, void *buf, size_t cap)
{
    struct hydrate_src *h = ud;
    if (h->rc)
        return h->rc;
    while (h->poff == h->plen && !h->finished) {
        h->poff = h->plen = 0;
        h->rc = hydrate_step(h);
        if (h->rc)
            return h->rc;
    }
    size_t n = h->plen - h->poff;
    if (n > cap)
        n = cap;
    memcpy(buf, h->pending + h->poff, n);
    h->poff += n;
    return (long)n;
}

int corral_sandbox_hydrate(corral_sandbox *sb, const char *in, const char *dir, struct corral_call *call)
{
    struct stat st;
    if (stat(in, &st) != 0)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "%s: %s", in, strerror(errno));
    struct hydrate_src *h = calloc(1, sizeof *h);
    if (!h)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    h->fd = -1;
    corral_call_init(&h->pcall, 0);
    h->call = &h->pcall;
    int rc = 0;
    if (S_ISDIR(st.st_mode)) {
        if (!realpath(in, h->root)) {
            free(h);
            return corral_call_fail(call, CORRAL_EIO, "%s: %s", in, strerror(errno));
        }
        h->root_len = strlen(h->root);
        h->disk = archive_read_disk_new();
        archive_read_disk_set_symlink_physical(h->disk);
        archive_read_disk_set_behavior(h->disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                                    ARCHIVE_READDISK_NO_FFLAGS);
        if (archive_read_disk_open(h->disk, h->root) != ARCHIVE_OK)
            rc = aerr(h->disk, CORRAL_EIO, in, call);
    } else {
        h->in = reader_new();
        if (archive_read_open_filename(h->in, in, COPY_CHUNK) != ARCHIVE_OK)
            rc = aerr(h->in, CORRAL_EIO, in, call);
    }
    h->out = archive_write_new();
    archive_write_set_format_pax_restricted(h->out);
    archive_write_set_bytes_in_last_block(h->out, 1);
    if (rc == 0 && archive_write_open(h->out, h, NULL, pending_write, NULL) != ARCHIVE_OK)
        rc = aerr(h->out, CORRAL_EIO, "encoding the archive", call);
    if (rc == 0) {
        struct corral_source src = { .struct_size = sizeof src, .read = hydrate_read, .ud = h, .length = -1 };
        rc = corral_sandbox_put_archive(sb, dir, &src, call);
        /* The producer's own error explains a consumer's failure. */
        if (h->rc)
            rc = corral_call_fail(call, h->rc, "hydrating %s from %s: %s", dir, in, h->pcall.message);
    }
    if (h->fd >= 0)
        close(h->fd);
    archive_write_free(h->out);
    if (h->in)
        archive_read_free(h->in);
    if (h->disk)
        archive_read_free(h->disk);
    free(h->pending);
    free(h);
    return rc;
}
