/* sandbox_local: the bwrap command line of a sandbox's holder.  Pure (the
 * file-system probe is injectable), so unit tests check it directly. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

/* Host directories that make up the sandbox's read-only system. */
static const char *const system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
                                          NULL};
/* Files in those directories the sandbox must not read even as uid 0. */
static const char *const masked_files[] = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", NULL};

/* 0 missing, 1 directory or file, 2 symlink (target in link). */
static int fs_probe(const char *path, char *link, size_t linksz)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(path, link, linksz - 1);
        if (n <= 0)
            return 0;
        link[n] = '\0';
        return 2;
    }
    return 1;
}

struct vec {
    struct crl_strv sv;
    int oom;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add(struct vec *a, const char *s)
{
    if (!a->oom && crl_strv_push(&a->sv, s) != 0)
        a->oom = 1;
}

static void add3(struct vec *a, const char *x, const char *y, const char *z)
{
    add(a, x);
    add(a, y);
    if (z)
        add(a, z);
}

/* Whether the sandbox path `dir` (absolute) is a strict ancestor of a
 * mount point that the image lacks (so its directory must be built on
 * the tmpfs, child by child, for bwrap to be able to make the point). */
static int holds_missing_point(const struct local_holder_args *a, const char *dir,
                               int (*probe)(const char *, char *, size_t))
{
    size_t n = strlen(dir), nt = a->n_mounts + 1;
    char link[8], src[4096];
    for (size_t i = 0; i < nt; i++) {
        const char *t = i < a->n_mounts ? a->mounts[i].sandbox_path : a->workdir;
        if (strncmp(t, dir, n) != 0 || t[n] != '/')
            continue;
        if (snprintf(src, sizeof src, "%s%s", a->root_image, t) < (int)sizeof src && probe(src, link, sizeof link) == 0)
            return 1;
    }
    return 0;
}

/* The image's directory `dir` ("" for its root) entry by entry onto
 * bwrap's own tmpfs root, the way the host's system directories are
 * bound: binding the image read-only onto / instead would leave bwrap no
 * place to make the mount points of /proc, the workspace or the agent's
 * files.  A directory on the way to a mount point the image lacks is made
 * on the tmpfs and its entries bound one by one (depth-limited).  /proc,
 * /dev and /tmp come from bwrap. */
static void add_image_dir(struct vec *v, const struct local_holder_args *a, const char *dir, int depth,
                          int (*probe)(const char *, char *, size_t))
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s%s", a->root_image, dir) >= (int)sizeof path) {
        v->oom = 1;
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        v->oom = 1; /* the caller reports "cannot build the command" */
        return;
    }
    struct crl_strv names = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
            (!*dir && (strcmp(n, "proc") == 0 || strcmp(n, "dev") == 0 || strcmp(n, "tmp") == 0)))
            continue;
        if (crl_strv_push(&names, n) != 0)
            v->oom = 1;
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, cmp_names);
    char src[4096], dst[4096], link[4096];
    for (size_t i = 0; i < names.n; i++) {
        if (snprintf(dst, sizeof dst, "%s/%s", dir, names.v[i]) >= (int)sizeof dst ||
            snprintf(src, sizeof src, "%s%s", a->root_image, dst) >= (int)sizeof src)
            continue;
        int kind = probe(src, link, sizeof link);
        if (kind == 1 && depth < 8 && holds_missing_point(a, dst, probe)) {
            add3(v, "--dir", dst, NULL);
            add_image_dir(v, a, dst, depth + 1, probe);
        } else if (kind == 1) {
            add3(v, "--ro-bind", src, dst);
        } else if (kind == 2) {
            add3(v, "--symlink", link, dst);
        }
    }
    crl_strv_free(&names);
}

char **local_holder_argv(const struct local_holder_args *a)
{
    int (*probe)(const char *, char *, size_t) = a->probe ? a->probe : fs_probe;
    if (!a->bwrap || !a->workspace || !a->workdir || a->workdir[0] != '/')
        return NULL;
    for (size_t i = 0; i < a->n_mounts; i++) {
        const struct corral_mount *m = &a->mounts[i];
        if (!m->host_path || !m->sandbox_path || m->host_path[0] != '/' || m->sandbox_path[0] != '/')
            return NULL;
    }
    struct vec v = {0};
    char num[32];

    add(&v, a->bwrap);
    add(&v, "--unshare-user");
    add(&v, "--unshare-pid");
    add(&v, "--unshare-ipc");
    add(&v, "--unshare-uts");
    /* The holder is started in a session of its own already; bwrap's
     * --new-session also keeps its child from any terminal of bwrap's. */
    add(&v, "--new-session");
    if (!a->share_net)
        add(&v, "--unshare-net");
    add3(&v, "--hostname", "corral", NULL);
    add3(&v, "--cap-drop", "ALL", NULL);
    /* bwrap's init (pid 1 inside) waits for every process of the namespace,
     * not only the holder, so a setsid child would keep the sandbox alive
     * past its TTL.  The outer bwrap exits when the holder does: make that
     * kill the init, and with it the whole pid namespace. */
    add(&v, "--die-with-parent");
    if (a->uid)
        add3(&v, "--uid", a->uid, NULL);
    if (a->gid)
        add3(&v, "--gid", a->gid, NULL);

    if (a->root_image) {
        add_image_dir(&v, a, "", 0, probe);
    } else {
        char link[4096];
        for (size_t i = 0; system_dirs[i]; i++) {
            int kind = probe(system_dirs[i], link, sizeof(link));
            if (kind == 1)
                add3(&v, "--ro-bind", system_dirs[i], system_dirs[i]);
            else if (kind == 2)
                add3(&v, "--symlink", link, system_dirs[i]);
        }
        for (size_t i = 0; masked_files[i]; i++)
            if (probe(masked_files[i], link, sizeof(link)) == 1)
                add3(&v, "--ro-bind", "/dev/null", masked_files[i]);
        if (a->mask_private && probe("/etc", link, sizeof(link)) == 1) {
            char **priv = (a->private_paths ? a->private_paths : local_private_paths)("/etc");
            if (!priv)
                v.oom = 1;
            for (size_t i = 0; priv && priv[i]; i++) {
                if (priv[i][0] == 'f') {
                    add3(&v, "--ro-bind", "/dev/null", priv[i] + 1);
                } else {
                    add3(&v, "--tmpfs", priv[i] + 1, NULL);
                    add3(&v, "--remount-ro", priv[i] + 1, NULL);
                }
            }
            crl_strv_free_array(priv);
        }
    }
    add3(&v, "--proc", "/proc", NULL);
    /* bwrap covers /proc/sys only when the directory itself is writable;
     * its files are writable for a sandbox whose uid 0 is the host's root
     * (global sysctls!).  Bind a read-only /proc/sys over it. */
    add3(&v, "--ro-bind", "/proc/sys", "/proc/sys");
    add3(&v, "--dev", "/dev", NULL);
    if (a->tmp_dir)
        add3(&v, "--bind", a->tmp_dir, "/tmp");
    else
        add3(&v, "--tmpfs", "/tmp", NULL);
    add3(&v, "--bind", a->workspace, a->workdir);
    for (size_t i = 0; i < a->n_mounts; i++) {
        const struct corral_mount *m = &a->mounts[i];
        add3(&v, m->read_only ? "--ro-bind" : "--bind", m->host_path, m->sandbox_path);
    }
    add3(&v, "--chdir", a->workdir, NULL);
    snprintf(num, sizeof(num), "%d", a->info_fd);
    add3(&v, "--info-fd", num, NULL);
    add(&v, "--");
    /* The holder: tell the creator the namespaces are complete (a byte on
     * ready_fd), drop the creator's pipes, then live exactly ttl seconds.
     * When it exits, bwrap's init exits and the pid namespace dies. */
    char script[160];
    snprintf(script, sizeof(script), "echo >&%d; exec sleep \"$1\" %d>&- %d>&-", a->ready_fd, a->ready_fd,
             a->info_fd);
    add3(&v, "/bin/sh", "-c", script);
    add(&v, "corral-holder");
    if (a->ttl_s > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)a->ttl_s);
        add(&v, num);
    } else {
        add(&v, "infinity");
    }
    if (v.oom) {
        crl_strv_free(&v.sv);
        return NULL;
    }
    return crl_strv_take(&v.sv);
}

char *local_which(const char *name)
{
    if (!name || !*name)
        return NULL;
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? strdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char *cand = NULL;
        if (len > 0 && asprintf(&cand, "%.*s/%s", (int)len, p, name) >= 0) {
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return NULL;
}
