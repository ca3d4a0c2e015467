/* sandbox_local: pause/resume by signalling every process of the sandbox's
 * pid namespace (SIGSTOP/SIGCONT), except the holder's own two processes
 * (bwrap's init and the `sleep <ttl>`), so the TTL keeps running while a
 * sandbox is paused.  A "paused" marker in the state dir makes the state
 * visible to other processes (running(), list(), attach()). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "local.h"

/* The pid of `pid` inside its innermost pid namespace (last NSpid field),
 * or -1. */
static long inner_pid(int pdir)
{
    int fd = openat(pdir, "status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strstr(buf, "\nNSpid:");
    if (!p)
        return -1;
    p += 7;
    long last = -1;
    while (*p && *p != '\n') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!isdigit((unsigned char)*p))
            break;
        last = strtol(p, &p, 10);
    }
    return last;
}

/* One pass over /proc; returns how many processes were signalled. */
static int signal_pass(dev_t ns_dev, ino_t ns_ino, int sig)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        int pdir = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pdir < 0)
            continue;
        struct stat st;
        if (fstatat(pdir, "ns/pid", &st, 0) == 0 && st.st_dev == ns_dev && st.st_ino == ns_ino) {
            long in = inner_pid(pdir);
            if (in > 2) {
                pid_t pid = (pid_t)atol(de->d_name);
                int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
                if (pfd >= 0) {
                    /* Skip processes already in the wanted state. */
                    char stat_buf[512];
                    int sfd = openat(pdir, "stat", O_RDONLY | O_CLOEXEC);
                    ssize_t n = sfd >= 0 ? read(sfd, stat_buf, sizeof(stat_buf) - 1) : -1;
                    if (sfd >= 0)
                        close(sfd);
                    char state = 0;
                    if (n > 0) {
                        stat_buf[n] = '\0';
                        local_parse_stat_start(stat_buf, &state);
                    }
                    int stopped = state == 'T';
                    if ((sig == SIGSTOP && !stopped) || sig != SIGSTOP) {
                        if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) == 0 && !(sig == SIGCONT && !stopped))
                            count++;
                    }
                    close(pfd);
                }
            }
        }
        close(pdir);
    }
    closedir(d);
    return count;
}

int local_signal_all(const struct local_meta *m, int sig)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)m->holder_pid);
    struct stat st;
    if (!local_holder_alive(m) || stat(path, &st) < 0)
        return -ESRCH;
    /* Processes may fork while we walk: repeat until a pass finds nothing
     * left to stop (bounded). */
    for (int round = 0; round < 8; round++) {
        int n = signal_pass(st.st_dev, st.st_ino, sig);
        if (n < 0)
            return -EIO;
        if (n == 0 || sig != SIGSTOP)
            break;
    }
    return 0;
}

int local_pause(corral_sbx *sbx, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!local_holder_alive(&sbx->meta))
        return h->fail(call, CORRAL_ENOTFOUND, "local: sandbox %s is gone", sbx->meta.id);
    char path[4096];
    snprintf(path, sizeof(path), "%s/paused", sbx->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return h->fail(call, CORRAL_EIO, "local: %s: %s", path, strerror(errno));
    close(fd);
    if (local_signal_all(&sbx->meta, SIGSTOP) < 0) {
        local_signal_all(&sbx->meta, SIGCONT);
        unlink(path);
        return h->fail(call, CORRAL_EIO, "local: could not stop the processes of %s", sbx->meta.id);
    }
    return 0;
}

int local_resume(corral_sbx *sbx, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!local_holder_alive(&sbx->meta))
        return h->fail(call, CORRAL_ENOTFOUND, "local: sandbox %s is gone", sbx->meta.id);
    local_signal_all(&sbx->meta, SIGCONT);
    char path[4096];
    snprintf(path, sizeof(path), "%s/paused", sbx->dir);
    if (unlink(path) < 0 && errno != ENOENT)
        return h->fail(call, CORRAL_EIO, "local: %s: %s", path, strerror(errno));
    return 0;
}
