/* sandbox_local: quiesce, SIGKILL every process the sandbox holds but the
 * holder.  Done from the host by the sandbox's pid namespace, so nothing
 * inside (a replaced `kill`, a process that forks as fast as it can)
 * decides the outcome. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#include "local.h"

/* The innermost pid (the last NSpid field) of host pid `pid`, or -1. */
static long inner_pid(const char *pid)
{
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long inner = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        char *last = strrchr(line, '\t');
        inner = last ? atol(last + 1) : -1;
        break;
    }
    fclose(f);
    return inner;
}

/* One pass over /proc: SIGKILL each live process in the pid namespace
 * `ns` (the readlink of ns/pid) other than the holder: its init (pid 1
 * inside) and the `sleep` under it (pid 2 inside: the first process a
 * fresh namespace gets), whose end would end the sandbox.  Zombies have
 * no namespace link and are skipped (they run nothing).  The number
 * signalled, or -1 when /proc cannot be read. */
static int kill_pass(const char *ns)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], link[64];
        snprintf(path, sizeof path, "/proc/%s/ns/pid", e->d_name);
        ssize_t len = readlink(path, link, sizeof link - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (strcmp(link, ns) != 0 || inner_pid(e->d_name) <= 2)
            continue;
        if (kill((pid_t)atol(e->d_name), SIGKILL) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The sandbox's own /proc (bwrap's --proc, a procfs of its pid namespace),
 * opened from the host through /proc/<holder>/root, or -1 when it is not
 * one: not a procfs, or its pid 1 is not in the namespace `ns`. */
static int sandbox_proc(int pdir, const char *ns)
{
    int fd = openat(pdir, "root/proc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct statfs sf;
    char link[64];
    ssize_t len = -1;
    if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
        len = readlinkat(fd, "1/ns/pid", link, sizeof link - 1);
    if (len > 0) {
        link[len] = '\0';
        if (strcmp(link, ns) == 0)
            return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* kill_pass over the sandbox's own procfs `procfd` (from sandbox_proc):
 * its entries are the namespace's pids, numbered as inside, so only the
 * sandbox's few processes are looked at.  Each is signalled through its
 * /proc directory (pidfd_send_signal), which names that process only.
 * Same choice and result as kill_pass; -1 when the directory cannot be
 * read. */
static int kill_pass_inside(int procfd, const char *ns)
{
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || atol(e->d_name) <= 2)
            continue;
        int pfd = openat(procfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
            continue;
        char link[64];
        ssize_t len = readlinkat(pfd, "ns/pid", link, sizeof link - 1);
        if (len > 0) {
            link[len] = '\0';
            if (strcmp(link, ns) == 0 && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0U) == 0)
                n++;
        }
        close(pfd);
    }
    closedir(d);
    return n;
}

int local_quiesce(corral_sbx *sbx, corral_call *call)
{
    int pdir;
    int rc = local_holder_open(sbx, &pdir, call);
    if (rc)
        return rc;
    char ns[64];
    ssize_t len = readlinkat(pdir, "ns/pid", ns, sizeof ns - 1);
    int e = errno;
    if (len > 0)
        ns[len] = '\0';
    int procfd = len > 0 ? sandbox_proc(pdir, ns) : -1;
    close(pdir);
    if (len <= 0)
        return sbx->lp->host->fail(call, CORRAL_EIO, "cannot read the pid namespace of sandbox %s: %s",
                                   sbx->meta.id, strerror(e));
    /* Until a pass finds nothing: a process may fork while a pass runs.
     * Through the sandbox's own /proc when it has one (a few entries),
     * else over every process of the host. */
    for (int i = 0; i < 200; i++) {
        int n = procfd >= 0 ? kill_pass_inside(procfd, ns) : kill_pass(ns);
        if (n < 0 && procfd >= 0) {
            close(procfd);
            procfd = -1;
            n = kill_pass(ns);
        }
        if (n <= 0) {
            e = errno;
            if (procfd >= 0)
                close(procfd);
            return n < 0 ? sbx->lp->host->fail(call, CORRAL_EIO, "cannot read /proc: %s", strerror(e)) : 0;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (procfd >= 0)
        close(procfd);
    return sbx->lp->host->fail(call, CORRAL_EIO, "processes in sandbox %s keep appearing after SIGKILL",
                               sbx->meta.id);
}
