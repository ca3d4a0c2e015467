/* Directory trees on the host: create a path with its parents, remove a
 * tree without following symlinks.  Shared by the sandbox registry, the
 * local backend's state, the agent install cache and the dataset cache. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crl_common.h"

int crl_mkdir_p(const char *path, mode_t mode)
{
    /* Mostly it exists already: one stat instead of a mkdir per component. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) < 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

/* Remove the contents of the directory open as dfd (consumed), not itself. */
static int rm_contents(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = -errno;
        close(dfd);
        return e;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            if (errno != ENOENT && rc == 0)
                rc = -errno;
            continue;
        }
        /* A directory: make it traversable, empty it, remove it. */
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && fchmodat(dirfd(d), de->d_name, 0700, 0) == 0)
            sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            if (rc == 0)
                rc = -errno;
            continue;
        }
        fchmod(sub, 0700);
        int r = rm_contents(sub);
        if (r < 0 && rc == 0)
            rc = r;
        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && rc == 0)
            rc = -errno;
    }
    closedir(d);
    return rc;
}

int crl_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        chmod(path, 0700);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -errno;
    }
    int rc = rm_contents(fd);
    if (rmdir(path) < 0 && errno != ENOENT && rc == 0)
        rc = -errno;
    return rc;
}
