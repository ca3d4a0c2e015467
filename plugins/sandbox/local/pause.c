/* sandbox_local: pause/resume.  With a freezer cgroup (cgroup.c; every
 * command joins it) pause freezes it; otherwise it signals every process
 * of the sandbox's pid namespace (SIGSTOP/SIGCONT).  Either way the
 * holder's own two processes (bwrap's init and the `sleep <ttl>`) keep
 * running, so the TTL still fires while a sandbox is paused.  A "paused" marker in the state dir makes the state
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

/* What /proc/<pid>/status says about a process. */
struct pstatus {
    long inner_pid;     /* last NSpid field: the pid inside its own pid ns */
    char state;         /* State: letter */
    int stop_pending;   /* SIGSTOP pending (SigPnd or ShdPnd) */
};

static unsigned long long hex_field(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);
    return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static int read_status(int pdir, struct pstatus *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->inner_pid = -1;
    int fd = openat(pdir, "status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *st = strstr(buf, "\nState:");
    if (st) {
        st += 8;
        while (*st == ' ' || *st == '\t')
            st++;
        ps->state = *st;
    }
    unsigned long long stop_bit = 1ULL << (SIGSTOP - 1);
    ps->stop_pending = ((hex_field(buf, "\nSigPnd:") | hex_field(buf, "\nShdPnd:")) & stop_bit) != 0;
    char *p = strstr(buf, "\nNSpid:");
    if (!p)
        return -1;
    p += 7;
    while (*p && *p != '\n') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!isdigit((unsigned char)*p))
            break;
        ps->inner_pid = strtol(p, &p, 10);
    }
    return 0;
}

/* One pass over /proc.  SIGSTOP: returns how many processes are not yet
 * stopped (and signals them); other signals: how many were signalled.  A
 * process in uninterruptible sleep with the stop pending counts as stopped:
 * it runs no code before stopping (a vfork parent waits like this for a
 * child that is itself stopped). */
static int signal_pass(dev_t ns_dev, ino_t ns_ino, int sig, pid_t *last, char *last_state)
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
        struct pstatus ps;
        if (fstatat(pdir, "ns/pid", &st, 0) == 0 && st.st_dev == ns_dev && st.st_ino == ns_ino &&
            read_status(pdir, &ps) == 0 && ps.inner_pid > 2) {
            pid_t pid = (pid_t)atol(de->d_name);
            int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
            if (pfd >= 0) {
                int stopped = ps.state == 'T' || ps.state == 't' || (ps.state == 'D' && ps.stop_pending);
                int dead = ps.state == 'Z' || ps.state == 'X' || ps.state == 0;
                if (sig == SIGSTOP) {
                    /* Signal delivery is asynchronous: count what is not
                     * stopped yet, signalling it (again). */
                    if (!stopped && !dead) {
                        syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
                        *last = pid;
                        *last_state = ps.state;
                        count++;
                    }
                } else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) == 0) {
                    count++;
                }
                close(pfd);
            }
        }
        close(pdir);
    }
    closedir(d);
    return count;
}

int local_signal_all(const struct local_meta *m, int sig, pid_t *stuck, char *stuck_state)
{
    pid_t last = 0;
    char last_state = 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)m->holder_pid);
    struct stat st;
    if (!local_holder_alive(m) || stat(path, &st) < 0)
        return -ESRCH;
    /* Processes may fork while we walk and a stop takes effect only when
     * the target is scheduled: repeat until a pass finds every process
     * stopped (bounded: about 2 s). */
    for (int round = 0; round < 2000; round++) {
        int n = signal_pass(st.st_dev, st.st_ino, sig, &last, &last_state);
        if (n < 0)
            return -EIO;
        if (n == 0 || sig != SIGSTOP)
            return 0;
        usleep(1000);
    }
    if (stuck)
        *stuck = last;
    if (stuck_state)
        *stuck_state = last_state;
    return -EAGAIN;
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
    /* The cgroup freezer where we have one: invisible to the processes.
     * Else SIGSTOP to each process. */
    int fe = local_cgroup_freeze(&sbx->meta, 1);
    if (fe == 0)
        return 0;
    if (fe != -ENOENT) {
        local_cgroup_freeze(&sbx->meta, 0);
        unlink(path);
        return h->fail(call, CORRAL_EIO, "local: could not freeze %s: %s", sbx->meta.id, strerror(-fe));
    }
    pid_t stuck = 0;
    char st = '?';
    int e = local_signal_all(&sbx->meta, SIGSTOP, &stuck, &st);
    if (e < 0) {
        local_signal_all(&sbx->meta, SIGCONT, NULL, NULL);
        unlink(path);
        return h->fail(call, CORRAL_EIO, "local: could not stop the processes of %s (%s; pid %d in state %c)",
                       sbx->meta.id, strerror(-e), (int)stuck, st ? st : '?');
    }
    return 0;
}

int local_resume(corral_sbx *sbx, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    if (!local_holder_alive(&sbx->meta))
        return h->fail(call, CORRAL_ENOTFOUND, "local: sandbox %s is gone", sbx->meta.id);
    int fe = local_cgroup_freeze(&sbx->meta, 0);
    if (fe < 0 && fe != -ENOENT)
        return h->fail(call, CORRAL_EIO, "local: could not thaw %s: %s", sbx->meta.id, strerror(-fe));
    local_signal_all(&sbx->meta, SIGCONT, NULL, NULL);
    char path[4096];
    snprintf(path, sizeof(path), "%s/paused", sbx->dir);
    if (unlink(path) < 0 && errno != ENOENT)
        return h->fail(call, CORRAL_EIO, "local: %s: %s", path, strerror(errno));
    return 0;
}
