/* sandbox_local: the host's private files under the system directories a
 * sandbox sees.
 *
 * When corral runs as root, the sandbox's uid 0 is the host's uid 0: its
 * commands hold no capability, but the owner bits of root's files still
 * let them read, e.g., /etc/docker/key.json, /etc/ssl/private or
 * the files in /etc/corral.  Until sandbox users are mapped to an unprivileged host
 * range, every file that is not world-readable and every directory that
 * is not world-readable and -searchable below /etc is masked (a file by
 * /dev/null, a directory by an empty read-only tmpfs): what any local user
 * may read stays visible, nothing else.
 *
 * The scan costs milliseconds per create (1355 entries here: ~6 ms), so
 * local_private_paths_cached() keeps its result for the process and
 * rescans only after a change that could alter it: every directory
 * scanned is watched with inotify (files created, removed, renamed or
 * chmod'ed/chown'ed in it, the directory itself moved or removed; a queue
 * overflow), and /proc/self/mountinfo is polled for mount changes (a
 * bind mount over a file).  A watch is added before its directory is
 * read, so a change during the scan is seen at the next call.  A mount
 * change rescans only when it touched a mount at, above or below the
 * scanned directory (the mount table's lines for those differ): other
 * processes' containers mounting elsewhere on the host do not. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

#define MAX_ENTRIES 200000 /* scanned, so a huge tree cannot stall create */
#define MAX_DEPTH 32

struct scan {
    struct crl_strv *out;
    size_t seen;
    int err;
    int ifd;        /* inotify fd to watch every directory read in, or -1 */
    int watch_err;  /* a watch could not be added: the result is not cacheable */
};

#define WATCH_MASK                                                                                                 \
    (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static void scan_dir(struct scan *s, int dfd, const char *path, int depth)
{
    if (s->ifd >= 0) {
        /* The very directory open at dfd, not whatever path names now. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", dfd);
        if (inotify_add_watch(s->ifd, self, WATCH_MASK) < 0)
            s->watch_err = 1;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        s->err = errno;
        return;
    }
    struct dirent *e;
    while (!s->err && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (++s->seen > MAX_ENTRIES || depth > MAX_DEPTH) {
            s->err = E2BIG;
            break;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        char *child = NULL;
        if (asprintf(&child, "%c%s/%s", S_ISDIR(st.st_mode) ? 'd' : 'f', path, e->d_name) < 0) {
            s->err = ENOMEM;
            break;
        }
        if (S_ISREG(st.st_mode) && !(st.st_mode & S_IROTH)) {
            if (crl_strv_push(s->out, child) != 0)
                s->err = ENOMEM;
        } else if (S_ISDIR(st.st_mode) && (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)) {
            if (crl_strv_push(s->out, child) != 0)
                s->err = ENOMEM;
        } else if (S_ISDIR(st.st_mode)) {
            int cfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0)
                scan_dir(s, cfd, child + 1, depth + 1);
        }
        free(child);
    }
    closedir(d);
}

/* The scan, watching what it reads through ifd (-1: no watches);
 * *watched = every directory got its watch. */
static char **scan(const char *dir, int ifd, int *watched)
{
    struct crl_strv out = {0};
    struct scan s = {&out, 0, 0, ifd, 0};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        scan_dir(&s, fd, dir, 0);
    else
        s.watch_err = 1;
    *watched = ifd >= 0 && !s.watch_err;
    if (s.err) {
        crl_strv_free(&out);
        return NULL;
    }
    return crl_strv_take(&out);
}

char **local_private_paths(const char *dir)
{
    int watched;
    return scan(dir, -1, &watched);
}

/* mountinfo's escaped field (space, tab, newline, backslash as \ooo)
 * decoded in place. */
static void unescape(char *f)
{
    char *o = f;
    for (const char *i = f; *i; i++) {
        if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' && i[3] >= '0' && i[3] <= '7') {
            *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
            i += 3;
        } else {
            *o++ = *i;
        }
    }
    *o = '\0';
}

/* 1 when mount point m is dir, an ancestor of it or below it. */
static int mount_concerns(const char *m, const char *dir)
{
    size_t ml = strlen(m), dl = strlen(dir);
    if (!strcmp(m, "/"))
        return 1;
    if (ml <= dl)
        return !strncmp(dir, m, ml) && (dir[ml] == '/' || dir[ml] == '\0');
    return !strncmp(m, dir, dl) && m[dl] == '/';
}

/* The lines of the mount table (read through mfd, an open
 * /proc/self/mountinfo) whose mount point concerns dir, in order:
 * malloc'ed, or NULL. */
static char *mounts_of(int mfd, const char *dir)
{
    if (mfd < 0 || lseek(mfd, 0, SEEK_SET) < 0)
        return NULL;
    struct crl_buf all = {0}, out = {0};
    char chunk[16384];
    for (;;) {
        ssize_t n = read(mfd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && crl_buf_add(&all, chunk, (size_t)n) != 0)) {
            crl_buf_free(&all);
            return NULL;
        }
        if (n == 0)
            break;
    }
    int err = 0;
    for (char *line = all.p, *next; !err && line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        /* id parent major:minor root MOUNT_POINT options ... */
        char point[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        unescape(point);
        if (mount_concerns(point, dir))
            err = crl_buf_addf(&out, "%s\n", line) != 0;
    }
    crl_buf_free(&all);
    if (err) {
        crl_buf_free(&out);
        return NULL;
    }
    return out.p ? out.p : strdup("");
}

/* The process's cache (the plugin may serve creates from many threads). */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *dir;
    char **paths;      /* the last scan's result */
    int ifd, mfd;      /* its inotify watches and /proc/self/mountinfo, or -1 */
    char *mounts;      /* mounts_of(mfd, dir) at the scan */
    unsigned scans;
} cache = {NULL, NULL, -1, -1, NULL, 0};

static void cache_drop(void)
{
    free(cache.dir);
    free(cache.mounts);
    cache.mounts = NULL;
    crl_strv_free_array(cache.paths);
    if (cache.ifd >= 0)
        close(cache.ifd);
    if (cache.mfd >= 0)
        close(cache.mfd);
    cache.dir = NULL;
    cache.paths = NULL;
    cache.ifd = cache.mfd = -1;
}

/* Nothing happened since the scan that could change its result. */
static int cache_fresh(const char *dir)
{
    if (!cache.paths || cache.ifd < 0 || cache.mfd < 0 || strcmp(cache.dir, dir) != 0)
        return 0;
    struct pollfd p[2] = {{cache.ifd, POLLIN, 0}, {cache.mfd, POLLPRI, 0}};
    if (poll(p, 2, 0) == 0)
        return 1;
    if (p[0].revents || !cache.mounts)
        return 0;
    /* The mount table changed (poll has taken note: the next poll reports
     * only a later change): fresh when no mount concerning dir did. */
    char *now = mounts_of(cache.mfd, dir);
    int same = now && !strcmp(now, cache.mounts);
    free(now);
    return same;
}

char **local_private_paths_cached(const char *dir)
{
    pthread_mutex_lock(&cache_lock);
    if (!cache_fresh(dir)) {
        cache_drop();
        cache.scans++;
        /* Open before the scan: a mount change from here on is reported. */
        cache.mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        cache.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        struct pollfd mp = {cache.mfd, POLLPRI, 0};
        poll(&mp, 1, 0); /* what poll reports from here on is a later change */
        cache.mounts = mounts_of(cache.mfd, dir);
        int watched = 0;
        cache.paths = scan(dir, cache.ifd, &watched);
        cache.dir = strdup(dir);
        if (!watched && cache.ifd >= 0) {
            /* Not every directory is watched (inotify limits): never fresh. */
            close(cache.ifd);
            cache.ifd = -1;
        }
    }
    char **copy = cache.paths && cache.dir ? crl_strv_dup((const char *const *)cache.paths) : NULL;
    pthread_mutex_unlock(&cache_lock);
    return copy;
}

unsigned local_private_scans(void)
{
    pthread_mutex_lock(&cache_lock);
    unsigned n = cache.scans;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void local_private_cache_free(void)
{
    pthread_mutex_lock(&cache_lock);
    cache_drop();
    pthread_mutex_unlock(&cache_lock);
}
