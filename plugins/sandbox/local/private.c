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
 * may read stays visible, nothing else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

#define MAX_ENTRIES 200000 /* scanned, so a huge tree cannot stall create */
#define MAX_DEPTH 32

struct scan {
    struct crl_strv *out;
    size_t seen;
    int err;
};

static void scan_dir(struct scan *s, int dfd, const char *path, int depth)
{
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

char **local_private_paths(const char *dir)
{
    struct crl_strv out = {0};
    struct scan s = {&out, 0, 0};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        scan_dir(&s, fd, dir, 0);
    if (s.err) {
        crl_strv_free(&out);
        return NULL;
    }
    return crl_strv_take(&out);
}
