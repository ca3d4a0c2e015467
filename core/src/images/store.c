/*
 * The cache as a whole: listing references, removing one, and pruning
 * what no reference uses (docs/images.md).  rm and prune hold the cache's
 * lock exclusively, so no pull is half-way while they look; a root
 * filesystem whose directory another process holds flock'ed (a sandbox
 * running on it) is kept, and rm refuses the reference of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive_internal.h"
#include "images/images_internal.h"

/* What the references use, as hex digests: manifests (their root
 * filesystems), and every blob. */
struct keep {
    struct crl_strv manifests, blobs;
    struct crl_image_cache *c;
    struct crl_strv names;      /* list: the references, with their digests */
    struct crl_strv digests;
};

static int has(const struct crl_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return 1;
    return 0;
}

/* The manifest blob of digest parsed into *m: 0, or -1 when it is
 * missing, unreadable or an index. */
static int read_manifest(struct crl_image_cache *c, const char *digest, struct crl_manifest *m)
{
    struct corral_call quiet;
    corral_call_init(&quiet, 0);
    size_t len = 0;
    char *body = crl_cache_read_blob(c, digest, CRL_IMAGE_MAX_JSON, &len, &quiet);
    int rc = body ? crl_manifest_parse(body, len, NULL, crl_image_host_arch(), m, &quiet) : -1;
    free(body);
    if (!rc && m->is_index) {
        crl_manifest_free(m);
        rc = -1;
    }
    return rc;
}

static int collect(void *ud, const char *name, const char *digest)
{
    struct keep *k = ud;
    if (crl_strv_push(&k->names, name) || crl_strv_push(&k->digests, digest))
        return CORRAL_ENOMEM;
    if (has(&k->manifests, digest + 7))
        return 0;
    if (crl_strv_push(&k->manifests, digest + 7) || crl_strv_push(&k->blobs, digest + 7))
        return CORRAL_ENOMEM;
    struct crl_manifest m;
    if (read_manifest(k->c, digest, &m) == 0) {
        int oom = crl_strv_push(&k->blobs, m.config.digest + 7);
        for (size_t i = 0; !oom && i < m.nlayers; i++)
            oom = crl_strv_push(&k->blobs, m.layers[i].digest + 7);
        crl_manifest_free(&m);
        if (oom)
            return CORRAL_ENOMEM;
    }
    return 0;
}

static void keep_free(struct keep *k)
{
    crl_strv_free(&k->manifests);
    crl_strv_free(&k->blobs);
    crl_strv_free(&k->names);
    crl_strv_free(&k->digests);
}

static int cmp_idx_names(const void *a, const void *b, void *ud)
{
    char **names = ud;
    return strcmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

int corral_image_list(corral_ctx *ctx, int (*cb)(void *ud, const struct corral_image_info *img), void *ud,
                      struct corral_call *call)
{
    struct crl_image_cache c;
    int rc = crl_cache_open(ctx, 0, &c, call);
    if (rc)
        return rc;
    struct keep k = {.c = &c};
    rc = crl_refs_each(&c, collect, &k, call);
    if (rc == CORRAL_ENOMEM)
        corral_call_fail(call, rc, "out of memory");
    size_t *order = k.names.n ? calloc(k.names.n, sizeof *order) : NULL;
    if (!rc && k.names.n && !order)
        rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < k.names.n; i++)
        order[i] = i;
    if (!rc && k.names.n)
        qsort_r(order, k.names.n, sizeof *order, cmp_idx_names, k.names.v);
    for (size_t j = 0; !rc && j < k.names.n; j++) {
        size_t i = order[j];
        struct corral_image_info info = {0};
        snprintf(info.name, sizeof info.name, "%s", k.names.v[i]);
        snprintf(info.digest, sizeof info.digest, "%s", k.digests.v[i]);
        snprintf(info.rootfs, sizeof info.rootfs, "%s/rootfs/%s", c.root, k.digests.v[i] + 7);
        struct crl_manifest m;
        if (read_manifest(&c, k.digests.v[i], &m) == 0) {
            snprintf(info.config_digest, sizeof info.config_digest, "%s", m.config.digest);
            for (size_t l = 0; l < m.nlayers; l++)
                info.size += m.layers[l].size;
            info.layers = (int64_t)m.nlayers;
            crl_manifest_free(&m);
        }
        struct stat st;
        if (fstatat(c.dirfd, info.rootfs + strlen(c.root) + 1, &st, AT_SYMLINK_NOFOLLOW) != 0)
            info.rootfs[0] = '\0'; /* not unpacked (removed by hand?) */
        rc = cb(ud, &info);
    }
    free(order);
    keep_free(&k);
    crl_cache_close(&c);
    return rc;
}

/* Take rootfs/<hex>'s own flock exclusively, without waiting for the
 * sandboxes that hold it shared (the local sandbox's watcher holds it for
 * the sandbox's life).  A sandbox just destroyed lets go a moment after
 * its destroy returns, so a busy lock is tried again for up to a second.
 * 1: in use; 0: *fd holds the lock (the caller closes it after removing),
 * or -1 when the directory is not there. */
static int rootfs_lock(struct crl_image_cache *c, const char *hex, int *fd)
{
    char name[128];
    snprintf(name, sizeof name, "rootfs/%.64s", hex);
    *fd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0)
        return 0;
    for (int i = 0; i < 50; i++) {
        if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK)
            break;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int busy = errno == EWOULDBLOCK;
    close(*fd);
    *fd = -1;
    return busy;
}

static int is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

struct sweep {
    const struct corral_image_prune_options *o;
    struct corral_image_prune_stats *st;
};

/* Remove what k does not keep below sub/; a root filesystem in use is kept
 * (o->in_use told) and stays locked by this process until removed. */
static void sweep(struct crl_image_cache *c, const char *sub, const struct keep *k, const struct sweep *sw)
{
    int dfd = openat(c->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct corral_image_prune_stats *st = sw->st;
    int blobs = strcmp(sub, "blobs/sha256") == 0, rootfs = strcmp(sub, "rootfs") == 0;
    struct dirent *de;
    struct crl_strv gone = {0};
    int *held = NULL;
    size_t nheld = 0, capheld = 0;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        size_t len = strlen(n);
        int partial = !blobs && !rootfs; /* tmp/: every file is an interrupted pull's */
        if (rootfs && !is_hex64(n, len))
            partial = 1; /* <hex>.tmp */
        if (!partial && is_hex64(n, len) && has(blobs ? &k->blobs : &k->manifests, n))
            continue;
        if (blobs && !is_hex64(n, len))
            continue; /* not ours */
        int lockfd = -1;
        if (!partial && rootfs) {
            if (nheld == capheld) {
                size_t nc = capheld ? capheld * 2 : 8;
                int *nv = realloc(held, nc * sizeof *nv);
                if (!nv)
                    continue; /* kept: removed by a later prune */
                held = nv;
                capheld = nc;
            }
            if (rootfs_lock(c, n, &lockfd)) {
                st->in_use++;
                if (sw->o && sw->o->in_use) {
                    char digest[72];
                    snprintf(digest, sizeof digest, "sha256:%.64s", n);
                    sw->o->in_use(sw->o->ud, digest);
                }
                continue;
            }
            if (lockfd >= 0)
                held[nheld++] = lockfd;
        }
        crl_strv_push(&gone, n);
        struct stat sb;
        if (blobs && fstatat(dirfd(d), n, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            st->bytes += sb.st_size;
        if (partial)
            st->partial++;
        else if (blobs)
            st->blobs++;
        else
            st->rootfs++;
    }
    for (size_t i = 0; i < gone.n; i++)
        crl_tree_remove(dirfd(d), gone.v[i]);
    for (size_t i = 0; i < nheld; i++)
        close(held[i]);
    free(held);
    crl_strv_free(&gone);
    closedir(d);
}

static int prune_locked(struct crl_image_cache *c, const struct sweep *sw, struct corral_call *call)
{
    struct keep k = {.c = c};
    int rc = crl_refs_each(c, collect, &k, call);
    if (rc == CORRAL_ENOMEM)
        rc = corral_call_fail(call, rc, "out of memory");
    if (!rc) {
        sweep(c, "tmp", &k, sw);
        sweep(c, "rootfs", &k, sw);
        sweep(c, "blobs/sha256", &k, sw);
    }
    keep_free(&k);
    return rc;
}

int corral_image_prune(corral_ctx *ctx, const struct corral_image_prune_options *opts,
                       struct corral_image_prune_stats *st, struct corral_call *call)
{
    struct corral_image_prune_stats local = {0};
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    struct crl_image_cache c;
    int rc = crl_cache_open(ctx, 1, &c, call);
    if (rc)
        return rc;
    struct sweep sw = {opts, st};
    rc = prune_locked(&c, &sw, call);
    crl_cache_close(&c);
    return rc;
}

struct lookup {
    const char *name;
    char digest[72];
    int others;              /* other references of that digest */
};

static int find_ref(void *ud, const char *name, const char *digest)
{
    struct lookup *l = ud;
    if (!strcmp(name, l->name))
        snprintf(l->digest, sizeof l->digest, "%s", digest);
    return 0;
}

static int count_others(void *ud, const char *name, const char *digest)
{
    struct lookup *l = ud;
    l->others += strcmp(name, l->name) != 0 && strcmp(digest, l->digest) == 0;
    return 0;
}

/* Whether removing the reference l->name would take away a root filesystem
 * a sandbox runs on: its digest is used by no other reference and its
 * rootfs is locked. */
static int remove_would_break(struct crl_image_cache *c, struct lookup *l, struct corral_call *call)
{
    if (crl_refs_each(c, find_ref, l, call) || !l->digest[0] || crl_refs_each(c, count_others, l, call) ||
        l->others)
        return 0;
    int fd;
    int busy = rootfs_lock(c, l->digest + 7, &fd);
    if (fd >= 0)
        close(fd);
    return busy;
}

int corral_image_remove(corral_ctx *ctx, const char *text, int force, struct corral_call *call)
{
    struct corral_image_ref ref;
    char name[600];
    int rc = crl_image_ref_named(text, &ref, name, sizeof name, call);
    if (rc)
        return rc;
    struct crl_image_cache c;
    if ((rc = crl_cache_open(ctx, 1, &c, call)))
        return rc;
    struct lookup l = {.name = name};
    if (!force && remove_would_break(&c, &l, call))
        rc = corral_call_fail(call, CORRAL_ESTATE,
                              "%s is in use by a running sandbox (destroy it first, or --force to forget the "
                              "reference and keep its files until the sandbox ends)",
                              name);
    if (!rc)
        rc = crl_refs_remove(&c, name, call);
    struct corral_image_prune_stats st = {0};
    struct sweep sw = {NULL, &st};
    if (!rc)
        rc = prune_locked(&c, &sw, call);
    crl_cache_close(&c);
    return rc;
}
