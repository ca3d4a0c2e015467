/* corral-holder: starts a local sandbox's bwrap detached, so that corral
 * never forks its own (large, multithreaded) address space for it.
 *
 *   corral-holder OWNER_FD LOCK_FD BWRAP [ARG...]
 *
 * sandbox_local's create starts it with posix_spawn: fd 0 /dev/null, fds 1
 * and 2 an in-memory file create reads bwrap's errors from, fd 3 the ready
 * pipe and fd 4 bwrap's --info-fd pipe; OWNER_FD a pidfd of the lease's process and LOCK_FD the
 * image root's shared flock, each an fd number or -1.  It double-forks
 * (setsid; reparented, never corral's zombie) and exits once detached.
 * With an owner or a lock the detached process stays as the watcher that
 * SIGKILLs bwrap when the owner dies and keeps the lock until bwrap has
 * ended; bwrap runs as its child (plugins/sandbox/local/README.md, "Lease"
 * and "Image lock"). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

/* The watcher, in the detached process: returns only in bwrap's process
 * (or when no watcher is needed or possible). */
static void watch(int ownerfd, int lockfd)
{
    if (ownerfd < 0 && lockfd < 0)
        return;
    pid_t b = fork();
    if (b <= 0)
        return; /* bwrap's process, or no watcher possible: run unwatched */
    int bfd = ownerfd >= 0 ? (int)syscall(SYS_pidfd_open, b, 0) : -1;
    if (dup2(0, 1) < 0 || dup2(0, 2) < 0)
        _exit(0);
    /* Keep only the pidfds and the lock: the pipes to corral must see EOF
     * once bwrap has taken its copies. */
    int keep[3], nk = 0;
    if (ownerfd >= 0)
        keep[nk++] = ownerfd;
    if (bfd >= 0)
        keep[nk++] = bfd;
    if (lockfd >= 0)
        keep[nk++] = lockfd;
    crl_close_fds_except(keep, (size_t)nk);
    if (ownerfd >= 0) {
        struct pollfd p[2] = {{ownerfd, POLLIN, 0}, {bfd, POLLIN, 0}};
        while (poll(p, bfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
            ;
        if (p[0].revents)
            kill(b, SIGKILL); /* b is our unreaped child: the pid cannot be reused */
    }
    int st;
    while (waitpid(b, &st, 0) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static int fd_arg(const char *s, int *fd)
{
    int64_t v;
    if (crl_parse_i64(s, -1, 1 << 20, &v) != 0 || (v >= 0 && v <= 4))
        return -1;
    *fd = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int ownerfd, lockfd;
    if (argc < 4 || fd_arg(argv[1], &ownerfd) < 0 || fd_arg(argv[2], &lockfd) < 0 || argv[3][0] != '/') {
        fprintf(stderr, "usage: corral-holder OWNER_FD LOCK_FD /path/to/bwrap [ARG...] (started by sandbox_local)\n");
        return 2;
    }
    pid_t c1 = crl_fork_detached();
    if (c1 < 0) {
        perror("corral-holder: fork");
        _exit(1);
    }
    if (c1 > 0) {
        int st;
        while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    watch(ownerfd, lockfd);
    /* bwrap's process: fds 0-4 as given, nothing else. */
    syscall(SYS_close_range, 5U, ~0U, 0U);
    /* The holder too: a command could ptrace its `sleep` and use its
     * keyring (commands are confined the same way in join.c). */
    if (local_confine() < 0)
        _exit(126);
    extern char **environ; /* create's fixed PATH only */
    execve(argv[3], argv + 3, environ);
    _exit(127);
}
