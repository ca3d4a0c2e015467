/* sandbox_local: the storage limit.  What a sandbox can write (its
 * workspace and /tmp) lives on one tmpfs of the limit's size, mounted on
 * the host at <state dir>/disk and bound into the sandbox; a write past it
 * fails with ENOSPC inside and the host's disk is never touched.
 *
 * Why tmpfs and not a loop-mounted sparse ext4 image: it needs no mkfs, no
 * loop device (often absent in containers and CI), no cleanup of an image
 * file, and mounts in one syscall.  Its cost is memory: written bytes are
 * page cache/swap, charged to the writer's memory cgroup, so where the
 * sandbox has a memory limit that bounds it too.  The limit is a cap, not a
 * reservation: an empty tmpfs costs nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

int local_storage_setup(const char *dir, int64_t bytes, char **ws, char **tmp, char *err, size_t errsz)
{
    char disk[4096];
    snprintf(disk, sizeof disk, "%s/disk", dir);
    if (geteuid() != 0) {
        snprintf(err, errsz, "a storage limit needs root (a size-limited tmpfs for the workspace and /tmp)");
        return -EPERM;
    }
    if (mkdir(disk, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errsz, "mkdir %s: %s", disk, strerror(errno));
        return -errno;
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%lld,mode=0755", (long long)bytes);
    if (mount("corral-storage", disk, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
        int e = errno;
        snprintf(err, errsz, "mounting a %lld-byte tmpfs at %s: %s", (long long)bytes, disk, strerror(e));
        return -e;
    }
    if (asprintf(ws, "%s/ws", disk) < 0 || asprintf(tmp, "%s/tmp", disk) < 0) {
        snprintf(err, errsz, "out of memory");
        return -ENOMEM;
    }
    if (mkdir(*ws, 0755) < 0 || mkdir(*tmp, 01777) < 0 || chmod(*tmp, 01777) < 0) {
        int e = errno;
        snprintf(err, errsz, "preparing %s: %s", disk, strerror(e));
        return -e;
    }
    return 0;
}

void local_storage_release(const char *dir)
{
    char disk[4096];
    snprintf(disk, sizeof disk, "%s/disk", dir);
    /* Detached: a sandbox still running keeps its copy in its own mount
     * namespace until it dies; the host's view goes now. */
    if (umount2(disk, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return;
}
