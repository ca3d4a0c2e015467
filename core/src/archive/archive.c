/* Archives on the host (libarchive): safe extraction, and workspace
 * persist/hydrate between a sandbox's tar streams and local .tar/.tar.gz/
 * .tar.zst files or directories.  Everything streams in bounded chunks;
 * no function holds a whole archive or file in memory.
 *
 * Every entry that crosses the host boundary passes entry_check(): only
 * regular files, directories, symlinks and hardlinks with relative paths
 * free of ".." components; when extracting onto this host, links must
 * also stay inside the target tree. */
#include "archive/archive_internal.h"
#include "crl_archive.h"

#include <dirent.h>
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

#define COPY_CHUNK CRL_AR_CHUNK

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

/* Without `strict` (an archive file, or a tree going into a sandbox) a
 * symlink's target is just data, so workspaces with absolute links
 * (venvs) persist fine. */
int crl_archive_entry_check(struct archive_entry *e, const char **rel, int strict, struct corral_call *call)
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

/* Open the host directory `target` for extraction. */
static int open_target_dir(const char *target, int *fd, struct corral_call *call)
{
    *fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd >= 0)
        return 0;
    if (errno == ENOTDIR)
        return corral_call_fail(call, CORRAL_EINVAL, "%s is not a directory", target);
    return corral_call_fail(call, CORRAL_ENOTFOUND, "target directory %s: %s", target, strerror(errno));
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

/* Extract the tar stream src below dirfd. */
static int extract_source(const struct corral_source *src, int dirfd, int strict, struct corral_call *call)
{
    struct archive *in = reader_new();
    struct crl_ar_source *ud = calloc(1, sizeof *ud);
    int rc;
    if (!in || !ud)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    else if ((ud->src = src, crl_ar_open_source(in, ud)) != ARCHIVE_OK)
        rc = aerr(in, CORRAL_EIO, "opening the archive", call);
    else
        rc = crl_tree_extract(in, dirfd, strict ? CRL_TREE_STRICT : 0, call);
    archive_read_free(in);
    free(ud);
    return rc;
}

int corral_archive_extract_safe(const struct corral_source *src, const char *target, struct corral_call *call)
{
    int fd;
    int rc = open_target_dir(target, &fd, call);
    if (rc)
        return rc;
    rc = extract_source(src, fd, 1, call);
    close(fd);
    return rc;
}

int corral_archive_extract_file(const char *path, const char *target, struct corral_call *call)
{
    int fd;
    int rc = open_target_dir(target, &fd, call);
    if (rc)
        return rc;
    struct archive *in = reader_new();
    if (!in)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    else if (archive_read_open_filename(in, path, COPY_CHUNK) != ARCHIVE_OK)
        rc = aerr(in, CORRAL_ENOTFOUND, path, call);
    else
        rc = crl_tree_extract(in, fd, CRL_TREE_STRICT, call);
    archive_read_free(in);
    close(fd);
    return rc;
}

int crl_archive_extract_at(int dirfd, const struct corral_source *src, unsigned flags, struct corral_call *call)
{
    return extract_source(src, dirfd, (flags & CORRAL_ARCHIVE_STRICT_LINKS) != 0, call);
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

/* crl_ar_entry_fn: checked entries under their relative name; the root
 * entry dropped. */
static int reencode_entry(void *call, struct archive_entry *e)
{
    const char *rel;
    int rc = crl_archive_entry_check(e, &rel, 0, call);
    if (rc)
        return rc;
    if (!*rel)
        return 0;
    archive_entry_set_pathname(e, rel);
    return 1;
}

/* Re-encode every checked entry of `in` into the writer `out`. */
static int reencode(struct archive *in, struct archive *out, struct corral_call *call)
{
    struct archive *failed;
    int rc = crl_ar_copy(in, out, reencode_entry, call, &failed);
    if (failed)
        return aerr(failed, CORRAL_EIO, failed == in ? "reading the archive" : "writing the archive", call);
    if (rc == CORRAL_ENOMEM && !call->message[0])
        return corral_call_fail(call, rc, "out of memory");
    return rc;
}

/* ---- persist: sandbox tar stream -> pipe -> worker thread ---- */

/* The reader of a producer's socket is done.  After a complete archive
 * (ok) the producer may still send record padding past the end marker:
 * a bounded amount is swallowed so that a complete archive never turns
 * into a producer-side write error.  Anything beyond that, or after a
 * failure, makes the producer's next write fail instead of blocking on a
 * full socket. */
static void stop_reading(int fd, int ok)
{
    char buf[16384];
    size_t total = 0;
    ssize_t n;
    while (ok && total < ((size_t)16 << 20) && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        total += (size_t)n;
    }
    shutdown(fd, SHUT_RD);
}

struct persist_job {
    int fd;                     /* read end */
    int dirfd;                  /* OUT_DIR: the directory */
    const char *out;            /* file or directory */
    char tmp[PATH_MAX];         /* the temporary sibling written, then renamed to out */
    int rename;                 /* tmp is renamed to out at the end */
    int created;                /* tmp exists (removed unless renamed) */
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
        j->rc = crl_tree_extract(in, j->dirfd, CRL_TREE_STRICT, call);
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
    stop_reading(j->fd, j->rc == 0);
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

/* Frees j; a temporary output still there (a failure) is removed. */
static void persist_job_free(struct persist_job *j)
{
    if (j->dirfd >= 0)
        close(j->dirfd);
    if (j->created)
        crl_tree_remove(AT_FDCWD, j->tmp);
    free(j);
}

/* Whether the directory fd holds anything: 1, 0, or -1 with errno. */
static int dir_has_entries(int fd)
{
    int d2 = dup(fd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    if (!d) {
        if (d2 >= 0)
            close(d2);
        return -1;
    }
    struct dirent *de;
    int any = 0;
    while (!any && (de = readdir(d)) != NULL)
        any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* Decide where persist writes: j->tmp, a fresh sibling of out renamed into
 * place at the end (j->rename), or (CORRAL_PERSIST_FORCE into a non-empty
 * directory) out itself.  Refuses "/", a symlink as out, and an existing
 * out without the flag unless it is an empty directory. */
static int persist_target(struct persist_job *j, const char *out, unsigned flags, struct corral_call *call)
{
    size_t len = strlen(out);
    while (len > 1 && out[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof j->tmp - 16)
        return corral_call_fail(call, CORRAL_EINVAL, "persist target '%s': bad path", out);
    struct stat st, root;
    int exists = lstat(out, &st) == 0;
    if (!exists && errno != ENOENT)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", out, strerror(errno));
    if (exists && S_ISLNK(st.st_mode))
        return corral_call_fail(call, CORRAL_EINVAL, "%s is a symbolic link; refusing to write through it", out);
    if (exists && stat("/", &root) == 0 && st.st_dev == root.st_dev && st.st_ino == root.st_ino)
        return corral_call_fail(call, CORRAL_EINVAL, "refusing to persist into /");
    if (j->kind == OUT_DIR && exists) {
        if (!S_ISDIR(st.st_mode))
            return corral_call_fail(call, CORRAL_EINVAL, "%s exists and is not a directory", out);
        int rc = open_target_dir(out, &j->dirfd, call);
        if (rc)
            return rc;
        int any = dir_has_entries(j->dirfd);
        if (any < 0)
            return corral_call_fail(call, CORRAL_EIO, "%s: %s", out, strerror(errno));
        if (any && !(flags & CORRAL_PERSIST_FORCE))
            return corral_call_fail(call, CORRAL_EEXIST, "%s is not empty; refusing to write into it "
                                    "(--force writes into it, replacing what has the same names)", out);
        if (any)
            return 0; /* forced: in place */
        close(j->dirfd);
        j->dirfd = -1;
    } else if (exists && !(flags & CORRAL_PERSIST_FORCE)) {
        return corral_call_fail(call, CORRAL_EEXIST, "%s exists; refusing to replace it (--force replaces it)", out);
    } else if (exists && !S_ISREG(st.st_mode)) {
        return corral_call_fail(call, CORRAL_EINVAL, "%s exists and is not a regular file", out);
    }
    /* A sibling, so the final rename stays on one filesystem. */
    snprintf(j->tmp, sizeof j->tmp, "%.*s.corral-XXXXXX", (int)len, out);
    j->rename = 1;
    if (j->kind == OUT_DIR) {
        if (!mkdtemp(j->tmp))
            return corral_call_fail(call, CORRAL_EIO, "cannot create a directory next to %s: %s", out,
                                    strerror(errno));
        (void)chmod(j->tmp, 0755);
        j->created = 1;
        return open_target_dir(j->tmp, &j->dirfd, call);
    }
    int fd = mkstemp(j->tmp);
    if (fd < 0)
        return corral_call_fail(call, CORRAL_EIO, "cannot create a file next to %s: %s", out, strerror(errno));
    (void)fchmod(fd, 0644);
    close(fd);
    j->created = 1;
    return 0;
}

int corral_sandbox_persist(corral_sandbox *sb, const char *dir, const char *out, struct corral_call *call)
{
    return corral_sandbox_persist_opts(sb, dir, out, 0, call);
}

int corral_sandbox_persist_opts(corral_sandbox *sb, const char *dir, const char *out, unsigned flags,
                                struct corral_call *call)
{
    struct persist_job *j = calloc(1, sizeof *j);
    if (!j)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    corral_call_init(&j->call, 0);
    j->kind = out_kind(out);
    j->dirfd = -1;
    j->out = out;
    int rc = persist_target(j, out, flags, call);
    int sv[2] = { -1, -1 };
    if (rc == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "socketpair: %s", strerror(errno));
    if (rc) {
        persist_job_free(j);
        return rc;
    }
    j->fd = sv[1];
    pthread_t th;
    if (pthread_create(&th, NULL, persist_worker, j) != 0) {
        close(sv[0]);
        close(sv[1]);
        persist_job_free(j);
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
    /* rename() also replaces an empty directory or (forced) a file. */
    if (j->rename && rc == 0 && rename(j->tmp, out) != 0)
        rc = corral_call_fail(call, CORRAL_EIO, "rename %s: %s", j->tmp, strerror(errno));
    else if (j->rename && rc == 0)
        j->created = 0;
    persist_job_free(j);
    return rc;
}

/* ---- tar streams made on demand: from an archive file or a directory ---- */

struct tar_src {
    struct archive *in;         /* archive file reader, or NULL for a directory */
    struct crl_tree_walk *walk; /* directory walk */
    struct archive_entry *entry; /* the walk's current entry */
    struct archive *out;        /* pax writer into pending */
    struct crl_ar_mem pending;  /* encoded, not yet read */
    int in_entry;               /* data of the current entry still to copy */
    int fd;                     /* the current file of the walk */
    int finished;
    int rc;
    int refused;                /* an entry failed crl_archive_entry_check */
    int64_t max, total;         /* cap on the expanded bytes (0 = none), bytes so far */
    const struct crl_dockerignore *ignore; /* a build context's exclusions, or NULL */
    struct corral_call *call;   /* points at pcall */
    struct corral_call pcall;   /* the producer's own status */
    char buf[COPY_CHUNK];
};

/* The next checked entry of the input into *e, or 0 at its end. */
static int tar_src_next(struct tar_src *h, struct archive_entry **e, const char **rel)
{
    struct corral_call *call = h->call;
    for (;;) {
        if (h->in) {
            int r = archive_read_next_header(h->in, e);
            if (r == ARCHIVE_EOF)
                return 0;
            if (r < ARCHIVE_WARN)
                return aerr(h->in, CORRAL_EIO, "reading the input archive", call);
        } else {
            int r = crl_tree_walk_next(h->walk, h->entry, &h->fd, call);
            if (r <= 0)
                return r;
            *e = h->entry;
        }
        int rc = crl_archive_entry_check(*e, rel, 0, call);
        if (rc) {
            h->refused = 1;
            return rc;
        }
        if (**rel && h->ignore && strcmp(*rel, "Dockerfile") != 0 && strcmp(*rel, ".dockerignore") != 0 &&
            crl_dockerignore_excluded(h->ignore, *rel)) {
            if (h->fd >= 0) {
                close(h->fd);
                h->fd = -1;
            }
            continue;
        }
        if (**rel)
            return 1;
    }
}

static int too_big(struct tar_src *h)
{
    return corral_call_fail(h->call, CORRAL_EPERM,
                            "the input expands past the sandbox's storage limit of %lld MiB (resources.storage_mb)",
                            (long long)(h->max >> 20));
}

/* Produce the next piece of the tar into pending. */
static int tar_src_step(struct tar_src *h)
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
            return 0;
        }
        h->total += n;
        if (h->max > 0 && h->total > h->max)
            return too_big(h);
        if (archive_write_data(h->out, h->buf, (size_t)n) < 0)
            return aerr(h->out, CORRAL_EIO, "encoding the archive", call);
        return 0;
    }
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    struct archive_entry *e = NULL;
    const char *rel = NULL;
    int r = tar_src_next(h, &e, &rel);
    if (r < 0)
        return r;
    if (r == 0) {
        if (archive_write_close(h->out) != ARCHIVE_OK)
            return aerr(h->out, CORRAL_EIO, "finishing the archive", call);
        h->finished = 1;
        return 0;
    }
    /* A bomb is refused at its header, before any byte is expanded: the
     * declared size counts (the data read is counted as well). */
    if (h->max > 0 && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > h->max - h->total)
        return too_big(h);
    archive_entry_set_pathname(e, rel);
    archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
    if (archive_write_header(h->out, e) < ARCHIVE_WARN)
        return aerr(h->out, CORRAL_EIO, "encoding the archive", call);
    h->in_entry = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && !archive_entry_hardlink(e);
    return 0;
}

static long tar_src_read(void *ud, void *buf, size_t cap)
{
    struct tar_src *h = ud;
    if (h->rc)
        return h->rc;
    while (crl_ar_mem_drained(&h->pending) && !h->finished) {
        h->rc = tar_src_step(h);
        if (h->rc)
            return h->rc;
    }
    return (long)crl_ar_mem_take(&h->pending, buf, cap);
}

static void tar_src_free(struct tar_src *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    archive_write_free(h->out);
    if (h->in)
        archive_read_free(h->in);
    crl_tree_walk_free(h->walk);
    archive_entry_free(h->entry);
    crl_buf_free(&h->pending.buf);
    free(h);
}

/* A tar stream of the tree below dirfd (borrowed), of the archive stream
 * read from infd (borrowed; dirfd < 0) or of the archive file `path`
 * (both < 0), its entries checked and re-encoded as pax. */
static int tar_src_open(const char *path, int dirfd, int infd, struct tar_src **out, struct corral_call *call)
{
    struct tar_src *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    h->fd = -1;
    corral_call_init(&h->pcall, 0);
    h->call = &h->pcall;
    int rc = 0;
    if (dirfd >= 0) {
        if (!(h->entry = archive_entry_new()))
            rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        else if ((rc = crl_tree_walk_open(dirfd, &h->walk, h->call)) != 0)
            rc = corral_call_fail(call, rc, "%s: %s", path, h->pcall.message);
    } else {
        h->in = reader_new();
        if (!h->in)
            rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        else if ((infd >= 0 ? archive_read_open_fd(h->in, infd, COPY_CHUNK)
                            : archive_read_open_filename(h->in, path, COPY_CHUNK)) != ARCHIVE_OK)
            rc = aerr(h->in, CORRAL_EIO, path, call);
    }
    if (!rc) {
        h->out = archive_write_new();
        if (!h->out)
            rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    if (!rc) {
        archive_write_set_format_pax_restricted(h->out);
        archive_write_set_bytes_in_last_block(h->out, 1);
        if (crl_ar_open_mem(h->out, &h->pending) != ARCHIVE_OK)
            rc = aerr(h->out, CORRAL_EIO, "encoding the archive", call);
    }
    if (rc) {
        tar_src_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int crl_sandbox_hydrate_at(corral_sandbox *sb, int dirfd, const char *in, const char *dir,
                           struct corral_call *call)
{
    struct tar_src *h;
    int rc = tar_src_open(in, dirfd, -1, &h, call);
    if (rc)
        return rc;
    h->max = sb->storage_bytes;
    struct corral_source src = { .struct_size = sizeof src, .read = tar_src_read, .ud = h, .length = -1 };
    rc = corral_sandbox_put_archive(sb, dir, &src, call);
    /* The producer's own error explains a consumer's failure. */
    if (h->rc)
        rc = corral_call_fail(call, h->rc, "hydrating %s from %s: %s", dir, in, h->pcall.message);
    tar_src_free(h);
    return rc;
}

int corral_sandbox_hydrate(corral_sandbox *sb, const char *in, const char *dir, struct corral_call *call)
{
    struct stat st;
    if (stat(in, &st) != 0)
        return corral_call_fail(call, CORRAL_ENOTFOUND, "%s: %s", in, strerror(errno));
    int dirfd = -1;
    if (S_ISDIR(st.st_mode) && (dirfd = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return corral_call_fail(call, CORRAL_EIO, "%s: %s", in, strerror(errno));
    int rc = crl_sandbox_hydrate_at(sb, dirfd, in, dir, call);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* ---- copy: one sandbox's tar stream straight into another ---- */

struct copy_job {
    corral_sandbox *from;
    const char *dir;
    int fd;                     /* the socket's write end */
    struct corral_call call;    /* the producer's own status; the caller's deadline and cancel flag */
    int rc;
};

static void *copy_producer(void *arg)
{
    struct copy_job *j = arg;
    struct fd_sink fs = { j->fd };
    struct corral_sink sink = { .struct_size = sizeof sink, .write = fd_sink_write, .ud = &fs };
    j->rc = corral_sandbox_get_archive(j->from, j->dir, &sink, &j->call);
    shutdown(j->fd, SHUT_WR);
    return NULL;
}

int crl_sandbox_copy_tree(corral_sandbox *from, const char *from_dir, corral_sandbox *to, const char *to_dir,
                          enum crl_copy_fault *fault, struct corral_call *call)
{
    *fault = CRL_COPY_WRITE;
    struct copy_job j = { .from = from, .dir = from_dir, .fd = -1 };
    corral_call_init(&j.call, 0);
    j.call.deadline_ms = call->deadline_ms;
    j.call.cancel = call->cancel;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return corral_call_fail(call, CORRAL_EIO, "socketpair: %s", strerror(errno));
    pthread_t th;
    j.fd = sv[0];
    if (pthread_create(&th, NULL, copy_producer, &j) != 0) {
        close(sv[0]);
        close(sv[1]);
        return corral_call_fail(call, CORRAL_EIO, "cannot start a thread");
    }
    /* Opening the reader reads the stream's first block: the producer runs. */
    struct tar_src *h = NULL;
    int rc = tar_src_open("the sandbox's archive stream", -1, sv[1], &h, call);
    if (!rc) {
        h->max = to->storage_bytes;
        struct corral_source src = { .struct_size = sizeof src, .read = tar_src_read, .ud = h, .length = -1 };
        rc = corral_sandbox_put_archive(to, to_dir, &src, call);
    }
    int h_rc = h ? h->rc : 0;
    stop_reading(sv[1], rc == 0 && !h_rc);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    /* Whichever side failed first explains the other's failure.  The
     * producer's EIO is what stop_reading() does to it once the consumer
     * failed; any other failure of the producer ended the stream early. */
    if (j.rc && (j.rc != CORRAL_EIO || (rc == 0 && !h_rc))) {
        *fault = j.rc == CORRAL_EPERM ? CRL_COPY_REFUSED : CRL_COPY_READ;
        rc = corral_call_fail(call, j.rc, "%s", j.call.message[0] ? j.call.message : corral_strerror(j.rc));
    } else if (h_rc) {
        *fault = h->refused ? CRL_COPY_REFUSED : CRL_COPY_WRITE;
        rc = corral_call_fail(call, h->rc, "%s", h->pcall.message);
    }
    tar_src_free(h);
    return rc;
}

int crl_archive_tree_at(int dirfd, const struct corral_sink *sink, unsigned flags, struct corral_call *call)
{
    (void)flags;
    return crl_archive_context_at(dirfd, NULL, 0, sink, call);
}

int crl_archive_context_at(int dirfd, const struct crl_dockerignore *ignore, int64_t max,
                           const struct corral_sink *sink, struct corral_call *call)
{
    struct tar_src *h;
    int rc = tar_src_open("the directory", dirfd, -1, &h, call);
    if (rc)
        return rc;
    h->ignore = ignore;
    h->max = max;
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    while (!rc) {
        long n = tar_src_read(h, buf, COPY_CHUNK);
        if (n < 0) {
            rc = corral_call_fail(call, (int)n, "%s", h->pcall.message);
            break;
        }
        if (n == 0)
            break;
        int w = sink->write(sink->ud, buf, (size_t)n);
        if (w < 0)
            rc = corral_call_fail(call, w, "the archive's reader stopped");
        else if (corral_call_cancelled(call))
            rc = corral_call_fail(call, CORRAL_ECANCELED, "cancelled");
    }
    free(buf);
    tar_src_free(h);
    return rc;
}
