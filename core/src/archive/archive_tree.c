/* Tar entries to and from a directory given as a file descriptor.
 *
 * Both directions work with *at() calls relative to the directory fd and
 * open every path component with O_NOFOLLOW: no symlink is ever followed,
 * and the process's working directory is never touched (libarchive's
 * disk reader fchdir()s while it walks, and the working directory belongs
 * to every thread of a host running a batch).  The directory fd may name a
 * directory in another mount namespace (a sandbox's /proc/<pid>/root):
 * nothing here leaves the tree below it. */
#include "archive/archive_internal.h"
#include "crl_common.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths ----------------------------------------------------------------- */

/* Open the directory `rel` (components separated by '/', no "." or ".."
 * components: entry_check() made sure) below dirfd, never following a
 * symlink; with `create`, missing components are made (0755 less umask).
 * Returns a new O_PATH fd, or -1 with errno (ELOOP/ENOTDIR: a symlink or
 * a non-directory is in the way). */
static int open_dir_below(int dirfd, const char *rel, size_t len, int create)
{
    int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    char name[NAME_MAX + 1];
    size_t i = 0;
    while (cur >= 0 && i < len) {
        while (i < len && rel[i] == '/')
            i++;
        size_t j = i;
        while (j < len && rel[j] != '/')
            j++;
        if (j == i)
            break;
        if (j - i > NAME_MAX) {
            close(cur);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(name, rel + i, j - i);
        name[j - i] = '\0';
        int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(cur, name, 0755) == 0 || errno == EEXIST)
                next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(cur);
        errno = e;
        cur = next;
        i = j;
    }
    return cur;
}

/* Split rel into its directory part (length *dlen) and its last name. */
static const char *split_last(const char *rel, size_t *dlen)
{
    size_t n = strlen(rel);
    while (n > 0 && rel[n - 1] == '/')
        n--;
    size_t k = n;
    while (k > 0 && rel[k - 1] != '/')
        k--;
    *dlen = k;
    return rel + k;
}

/* ---- extraction ------------------------------------------------------------ */

struct dir_fixup {
    char *rel;
    mode_t perm;
    struct timespec mtime;
    int has_mtime;
};

/* The paths a layer wrote so far (CRL_TREE_LAYER): an opaque directory
 * hides only what the layers below put there.  Open addressing over
 * malloc'ed strings. */
struct seen {
    char **slot;
    size_t n, cap;
};

static size_t seen_hash(const char *s, size_t len)
{
    size_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static int seen_has(const struct seen *t, const char *s, size_t len)
{
    if (!t->cap)
        return 0;
    for (size_t i = seen_hash(s, len) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slot[i])
            return 0;
        if (strncmp(t->slot[i], s, len) == 0 && t->slot[i][len] == '\0')
            return 1;
    }
}

/* Add s[0..len); 0 or -1 when out of memory. */
static int seen_add(struct seen *t, const char *s, size_t len)
{
    if (seen_has(t, s, len))
        return 0;
    if (2 * (t->n + 1) > t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        char **ns = calloc(nc, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t k = 0; k < t->cap; k++)
            if (t->slot[k]) {
                size_t i = seen_hash(t->slot[k], strlen(t->slot[k])) & (nc - 1);
                while (ns[i])
                    i = (i + 1) & (nc - 1);
                ns[i] = t->slot[k];
            }
        free(t->slot);
        t->slot = ns;
        t->cap = nc;
    }
    char *c = strndup(s, len);
    if (!c)
        return -1;
    size_t i = seen_hash(s, len) & (t->cap - 1);
    while (t->slot[i])
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = c;
    t->n++;
    return 0;
}

static void seen_free(struct seen *t)
{
    for (size_t k = 0; k < t->cap; k++)
        free(t->slot[k]);
    free(t->slot);
}

struct extract {
    int root;
    unsigned flags;
    struct seen seen;           /* CRL_TREE_LAYER: what this layer wrote */
    struct corral_call *call;
    char *cached;               /* directory part of the last entry ... */
    size_t cached_len;
    int cached_fd;              /* ... and its fd */
    struct dir_fixup *fix;      /* directories: permissions and times set last */
    size_t nfix, capfix;
    char name[NAME_MAX + 1];    /* the entry's last component */
};

static int path_error(struct extract *x, const char *what, int e)
{
    if (e == ELOOP || e == ENOTDIR || e == EXDEV)
        return corral_call_fail(x->call, CORRAL_EPERM, "'%s' goes through a symlink or a non-directory: refused",
                                what);
    if (e == EACCES || e == EPERM || e == EROFS)
        return corral_call_fail(x->call, CORRAL_EPERM, "'%s': %s", what, strerror(e));
    return corral_call_fail(x->call, CORRAL_EIO, "'%s': %s", what, strerror(e));
}

/* The directory holding `rel` (created as needed) and rel's last name in
 * x->name.  The fd stays owned by x. */
static int parent_of(struct extract *x, const char *rel, int create, int *fd)
{
    size_t dlen;
    const char *base = split_last(rel, &dlen);
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen == 0 || blen > NAME_MAX)
        return corral_call_fail(x->call, CORRAL_EPERM, "archive entry '%s' has no usable name: refused", rel);
    memcpy(x->name, base, blen);
    x->name[blen] = '\0';
    if (x->cached_fd >= 0 && x->cached_len == dlen && memcmp(x->cached, rel, dlen) == 0) {
        *fd = x->cached_fd;
        return 0;
    }
    int d = open_dir_below(x->root, rel, dlen, create);
    if (d < 0)
        return path_error(x, rel, errno);
    char *c = realloc(x->cached, dlen + 1);
    if (!c) {
        close(d);
        return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    }
    memcpy(c, rel, dlen);
    c[dlen] = '\0';
    x->cached = c;
    x->cached_len = dlen;
    if (x->cached_fd >= 0)
        close(x->cached_fd);
    x->cached_fd = d;
    *fd = d;
    return 0;
}

/* Make room for a new entry called x->name in dir: what is there goes,
 * except a directory when a directory is wanted.  Returns 1 when an
 * existing directory stays. */
static int clear_name(struct extract *x, int dir, const char *rel, int want_dir)
{
    struct stat st;
    if (fstatat(dir, x->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : path_error(x, rel, errno);
    if (S_ISDIR(st.st_mode)) {
        if (want_dir)
            return 1;
        if (x->flags & CRL_TREE_LAYER) /* a layer's entry hides the directory below it */
            crl_tree_remove(dir, x->name);
        else if (unlinkat(dir, x->name, AT_REMOVEDIR) != 0)
            return corral_call_fail(x->call, CORRAL_EPERM, "'%s': a directory is in the way (%s)", rel,
                                    strerror(errno));
        return 0;
    }
    if (unlinkat(dir, x->name, 0) != 0)
        return path_error(x, rel, errno);
    return 0;
}

static int write_data(struct extract *x, struct archive *in, int fd, const char *rel, la_int64_t size)
{
    const void *buf;
    size_t len;
    la_int64_t off, end = 0;
    for (;;) {
        int r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return corral_call_fail(x->call, CORRAL_EIO, "reading archive data: %s",
                                    archive_error_string(in) ? archive_error_string(in) : "error");
        const char *p = buf;
        while (len > 0) {
            ssize_t w = pwrite(fd, p, len, (off_t)off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return path_error(x, rel, errno);
            p += w;
            off += w;
            len -= (size_t)w;
        }
        if (off > end)
            end = off;
        if (corral_call_cancelled(x->call))
            return corral_call_fail(x->call, CORRAL_ECANCELED, "cancelled");
    }
    if (size > end && ftruncate(fd, (off_t)size) != 0) /* a sparse file's hole at the end */
        return path_error(x, rel, errno);
    return 0;
}

static int add_fixup(struct extract *x, const char *rel, struct archive_entry *e)
{
    if (x->nfix == x->capfix) {
        size_t nc = x->capfix ? 2 * x->capfix : 16;
        struct dir_fixup *nf = realloc(x->fix, nc * sizeof *nf);
        if (!nf)
            return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
        x->fix = nf;
        x->capfix = nc;
    }
    struct dir_fixup *f = &x->fix[x->nfix];
    if (!(f->rel = strdup(rel)))
        return corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
    f->perm = (archive_entry_perm(e) & 0777) | (x->flags & CRL_TREE_LAYER ? 0700 : 0);
    f->has_mtime = archive_entry_mtime_is_set(e);
    f->mtime = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    x->nfix++;
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (!archive_entry_mtime_is_set(e))
        ts[1].tv_nsec = UTIME_OMIT;
}

static int extract_entry(struct extract *x, struct archive *in, struct archive_entry *e, const char *rel)
{
    int dir;
    int rc = parent_of(x, rel, 1, &dir);
    if (rc)
        return rc;
    const char *hl = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    int keep = clear_name(x, dir, rel, !hl && type == AE_IFDIR);
    if (keep < 0)
        return keep;
    struct timespec ts[2];
    entry_times(e, ts);
    if (hl) {
        char tname[NAME_MAX + 1];
        size_t tdlen;
        const char *tbase = split_last(hl, &tdlen);
        snprintf(tname, sizeof tname, "%s", tbase);
        int td = open_dir_below(x->root, hl, tdlen, 0);
        if (td < 0)
            return path_error(x, hl, errno);
        int r = linkat(td, tname, dir, x->name, 0);
        int err = errno;
        close(td);
        return r == 0 ? 0 : path_error(x, rel, err);
    }
    switch (type) {
    case AE_IFDIR:
        if (!keep && mkdirat(dir, x->name, 0700) != 0)
            return path_error(x, rel, errno);
        return add_fixup(x, rel, e);
    case AE_IFLNK:
        if (symlinkat(archive_entry_symlink(e), dir, x->name) != 0)
            return path_error(x, rel, errno);
        utimensat(dir, x->name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    case AE_IFREG: {
        int fd = openat(dir, x->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return path_error(x, rel, errno);
        rc = write_data(x, in, fd, rel, archive_entry_size(e));
        /* Never let an archive make setuid/setgid/sticky files. */
        if (!rc && fchmod(fd, archive_entry_perm(e) & 0777) != 0)
            rc = path_error(x, rel, errno);
        if (!rc)
            futimens(fd, ts);
        if (close(fd) != 0 && !rc)
            rc = path_error(x, rel, errno);
        return rc;
    }
    default: /* entry_check() let nothing else through */
        return corral_call_fail(x->call, CORRAL_EPERM, "archive entry '%s' has an unsupported type: refused", rel);
    }
}

/* Directories last and deepest first, so a read-only one was writable
 * while it filled. */
static int apply_fixups(struct extract *x)
{
    int rc = 0;
    while (x->nfix > 0) {
        struct dir_fixup *f = &x->fix[--x->nfix];
        int dir;
        if (!rc && (x->flags & CRL_TREE_LAYER)) {
            /* A whiteout later in the same layer may have removed it. */
            int d = open_dir_below(x->root, f->rel, strlen(f->rel), 0);
            if (d < 0 && errno == ENOENT) {
                free(f->rel);
                continue;
            }
            if (d >= 0)
                close(d);
        }
        int r = rc ? 0 : parent_of(x, f->rel, 0, &dir);
        if (!rc && r)
            rc = r;
        if (!rc) {
            int fd = openat(dir, x->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0 || fchmod(fd, f->perm) != 0)
                rc = path_error(x, f->rel, errno);
            struct timespec ts[2] = {{0, UTIME_OMIT}, f->mtime};
            if (!rc && f->has_mtime)
                futimens(fd, ts);
            if (fd >= 0)
                close(fd);
        }
        free(f->rel);
    }
    return rc;
}

/* Forget the cached parent directory: a whiteout may have removed it. */
static void drop_cache(struct extract *x)
{
    if (x->cached_fd >= 0)
        close(x->cached_fd);
    x->cached_fd = -1;
}

/* Below the directory fd `dir` (path `rel`, "" for the root), remove every
 * entry this layer did not write, and recurse into the directories it did. */
static int hide_lower(struct extract *x, int dir, struct crl_buf *rel)
{
    int dfd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return path_error(x, rel->len ? rel->p : ".", errno);
    }
    int rc = 0;
    size_t base = rel->len;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rel->len = base;
        if ((base && crl_buf_add(rel, "/", 1)) || crl_buf_puts(rel, de->d_name)) {
            rc = corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
            break;
        }
        if (!seen_has(&x->seen, rel->p, rel->len)) {
            crl_tree_remove(dirfd(d), de->d_name);
            continue;
        }
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            rc = hide_lower(x, sub, rel);
            close(sub);
        }
    }
    closedir(d);
    rel->len = base;
    if (rel->p)
        rel->p[base] = '\0';
    return rc;
}

/* A ".wh." entry of a layer: NAME deleted, or the directory made opaque. */
static int whiteout(struct extract *x, const char *rel)
{
    size_t dlen;
    const char *base = split_last(rel, &dlen);
    const char *name = base + 4;
    int opaque = strcmp(base, ".wh..wh..opq") == 0;
    if (!opaque && strncmp(base, ".wh..wh.", 8) == 0)
        return 0; /* aufs metadata */
    if (!opaque && (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/')))
        return corral_call_fail(x->call, CORRAL_EPERM, "whiteout '%s' names no entry: refused", rel);
    drop_cache(x);
    int dir = open_dir_below(x->root, rel, dlen, 0);
    if (dir < 0)
        return errno == ENOENT ? 0 : path_error(x, rel, errno);
    int rc = 0;
    if (opaque) {
        struct crl_buf r = {0};
        size_t n = dlen;
        while (n > 0 && rel[n - 1] == '/')
            n--;
        if (crl_buf_add(&r, rel, n) || crl_buf_add(&r, "", 0))
            rc = corral_call_fail(x->call, CORRAL_ENOMEM, "out of memory");
        else
            rc = hide_lower(x, dir, &r);
        crl_buf_free(&r);
    } else {
        crl_tree_remove(dir, name);
    }
    close(dir);
    return rc;
}

int crl_tree_extract(struct archive *in, int dirfd, unsigned flags, struct corral_call *call)
{
    struct extract x = {.root = dirfd, .flags = flags, .call = call, .cached_fd = -1};
    int strict = (flags & CRL_TREE_STRICT) != 0;
    int rc = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = corral_call_fail(call, CORRAL_EIO, "reading the archive: %s",
                                  archive_error_string(in) ? archive_error_string(in) : "error");
            break;
        }
        mode_t type = archive_entry_filetype(e);
        if ((flags & CRL_TREE_LAYER) && !archive_entry_hardlink(e) &&
            (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK))
            continue; /* a device node no unprivileged process can make: sandboxes get their own /dev */
        const char *rel;
        rc = crl_archive_entry_check(e, &rel, strict, call);
        if (rc)
            break;
        if (!*rel)
            continue; /* the root itself */
        if (flags & CRL_TREE_LAYER) {
            size_t dlen, n = strlen(rel);
            const char *base = split_last(rel, &dlen);
            if (strncmp(base, ".wh.", 4) == 0) {
                rc = whiteout(&x, rel);
                if (rc)
                    break;
                continue;
            }
            while (n > 0 && rel[n - 1] == '/')
                n--;
            /* The entry and every directory above it belong to this layer. */
            for (size_t k = 1; k <= n && !rc; k++)
                if ((k == n || rel[k] == '/') && rel[k - 1] != '/' && seen_add(&x.seen, rel, k) < 0)
                    rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
            if (rc)
                break;
        }
        rc = extract_entry(&x, in, e, rel);
        if (rc)
            break;
        if (corral_call_cancelled(call)) {
            rc = corral_call_fail(call, CORRAL_ECANCELED, "cancelled");
            break;
        }
    }
    int fr = apply_fixups(&x);
    if (!rc)
        rc = fr;
    seen_free(&x.seen);
    free(x.fix);
    free(x.cached);
    if (x.cached_fd >= 0)
        close(x.cached_fd);
    return rc;
}

/* ---- the walk -------------------------------------------------------------- */

struct walk_frame {
    int fd;                     /* the directory (O_RDONLY) */
    char **names;               /* its entries, sorted */
    size_t n, i;
    size_t plen;                /* length of its path in w->path */
};

struct crl_tree_walk {
    struct walk_frame *st;
    size_t depth, cap;
    char *path;
    size_t pcap;
    char *link;
    size_t lcap;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the names in directory fd (which the frame then owns). */
static int push_dir(struct crl_tree_walk *w, int fd, size_t plen)
{
    if (w->depth == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 8;
        struct walk_frame *ns = realloc(w->st, nc * sizeof *ns);
        if (!ns) {
            close(fd);
            return ENOMEM;
        }
        w->st = ns;
        w->cap = nc;
    }
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        close(fd);
        return e;
    }
    struct walk_frame f = {.fd = fd, .plen = plen};
    size_t cap = 0;
    struct dirent *de;
    int e = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (f.n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(f.names, cap * sizeof *nn);
            if (!nn) {
                e = ENOMEM;
                break;
            }
            f.names = nn;
        }
        if (!(f.names[f.n] = strdup(de->d_name))) {
            e = ENOMEM;
            break;
        }
        f.n++;
        errno = 0;
    }
    if (!e && errno)
        e = errno;
    closedir(d);
    if (e) {
        for (size_t k = 0; k < f.n; k++)
            free(f.names[k]);
        free(f.names);
        close(fd);
        return e;
    }
    if (f.n > 1)
        qsort(f.names, f.n, sizeof *f.names, cmp_names);
    w->st[w->depth++] = f;
    return 0;
}

static void pop_dir(struct crl_tree_walk *w)
{
    struct walk_frame *f = &w->st[--w->depth];
    for (size_t k = 0; k < f->n; k++)
        free(f->names[k]);
    free(f->names);
    close(f->fd);
}

int crl_tree_walk_open(int dirfd, struct crl_tree_walk **out, struct corral_call *call)
{
    *out = NULL;
    struct crl_tree_walk *w = calloc(1, sizeof *w);
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!w || fd < 0) {
        int e = errno;
        free(w);
        if (fd >= 0)
            close(fd);
        return corral_call_fail(call, w ? CORRAL_EIO : CORRAL_ENOMEM, "reading the directory: %s", strerror(e));
    }
    int e = push_dir(w, fd, 0);
    if (e) {
        crl_tree_walk_free(w);
        return corral_call_fail(call, e == ENOMEM ? CORRAL_ENOMEM : CORRAL_EIO, "reading the directory: %s",
                                strerror(e));
    }
    *out = w;
    return 0;
}

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    char *np = realloc(*p, nc);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

static int walk_fail(struct crl_tree_walk *w, int e, const char *what, struct corral_call *call)
{
    int code = e == ENOMEM ? CORRAL_ENOMEM : e == EACCES || e == EPERM ? CORRAL_EPERM : CORRAL_EIO;
    return corral_call_fail(call, code, "%s '%s': %s", what, w->path ? w->path : "", strerror(e));
}

int crl_tree_walk_next(struct crl_tree_walk *w, struct archive_entry *e, int *fd, struct corral_call *call)
{
    *fd = -1;
    while (w->depth > 0) {
        struct walk_frame *f = &w->st[w->depth - 1];
        if (f->i == f->n) {
            pop_dir(w);
            continue;
        }
        const char *name = f->names[f->i++];
        size_t nlen = strlen(name), plen = f->plen + (f->plen ? 1 : 0) + nlen;
        if (grow(&w->path, &w->pcap, plen + 1) < 0)
            return walk_fail(w, ENOMEM, "walking", call);
        if (f->plen)
            w->path[f->plen] = '/';
        memcpy(w->path + plen - nlen, name, nlen + 1);
        struct stat st;
        if (fstatat(f->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue; /* gone while we walked */
            return walk_fail(w, errno, "stat", call);
        }
        if (S_ISSOCK(st.st_mode))
            continue; /* tar has no way to carry a socket */
        if (S_ISDIR(st.st_mode)) {
            int d = openat(f->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (d < 0 && errno == ENOENT)
                continue;
            int err = d < 0 ? errno : push_dir(w, d, plen);
            if (err)
                return walk_fail(w, err, "reading the directory", call);
        } else if (S_ISREG(st.st_mode)) {
            int r = openat(f->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (r < 0 && errno == ENOENT)
                continue;
            if (r < 0 || fstat(r, &st) != 0 || !S_ISREG(st.st_mode)) {
                int err = r < 0 ? errno : EAGAIN;
                if (r >= 0)
                    close(r);
                return walk_fail(w, err, "reading", call);
            }
            *fd = r;
        } else if (S_ISLNK(st.st_mode)) {
            size_t want = (size_t)st.st_size + 2;
            if (grow(&w->link, &w->lcap, want < 256 ? 256 : want) < 0)
                return walk_fail(w, ENOMEM, "walking", call);
            ssize_t n = readlinkat(f->fd, name, w->link, w->lcap - 1);
            if (n < 0 && errno == ENOENT)
                continue;
            if (n < 0)
                return walk_fail(w, errno, "readlink", call);
            w->link[n] = '\0';
        }
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, w->path);
        archive_entry_copy_stat(e, &st);
        if (!S_ISREG(st.st_mode))
            archive_entry_set_size(e, 0);
        if (S_ISLNK(st.st_mode))
            archive_entry_copy_symlink(e, w->link);
        /* Owners mean nothing on the other side (ids are not restored,
         * and inside a user namespace they differ): keep archives the same
         * whoever made them. */
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_ino(e, 0);
        archive_entry_set_dev(e, 0);
        archive_entry_set_nlink(e, S_ISDIR(st.st_mode) ? 2 : 1);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        return 1;
    }
    return 0;
}

void crl_tree_walk_free(struct crl_tree_walk *w)
{
    if (!w)
        return;
    while (w->depth > 0)
        pop_dir(w);
    free(w->st);
    free(w->path);
    free(w->link);
    free(w);
}

/* ---- removal --------------------------------------------------------------- */

void crl_tree_remove(int parent, const char *name)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlinkat(parent, name, 0);
        return;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fchmod(fd, 0700); /* a read-only directory of the archive's */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        crl_tree_remove(dirfd(d), de->d_name);
    }
    closedir(d);
    unlinkat(parent, name, AT_REMOVEDIR);
}
