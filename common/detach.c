/* Forked children that must not inherit the forking process's signal state
 * or stay attached to its session: sandbox_local's holder, pasta's watcher
 * and launched commands, sandbox_docker's lease watcher.  Async-signal-safe:
 * used between fork and exec (or _exit) in multithreaded processes. */
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crl_common.h"

void crl_signals_default(void)
{
    /* Handlers first, then the mask: a child sharing the caller's memory
     * (sandbox_local's launch) must never run one of the caller's handlers. */
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t crl_fork_detached(void)
{
    pid_t c1 = fork();
    if (c1 != 0)
        return c1;
    setsid();
    pid_t mid = getpid();
    pid_t c2 = fork();
    if (c2 != 0)
        _exit(c2 < 0 ? 1 : 0);
    /* Wait until the intermediate is gone: bwrap --die-with-parent sets its
     * parent-death signal as it starts, and a parent exiting after that
     * (a loaded machine delays its _exit) killed the new sandbox at once. */
    while (getppid() == mid) {
        struct timespec t = {0, 200000};
        nanosleep(&t, NULL);
    }
    crl_signals_default();
    return 0;
}

void crl_close_fds_except(const int *keep, size_t n)
{
    /* Sort the few fds to keep (insertion sort: no allocation), then close
     * every gap between them above stderr. */
    int k[8];
    size_t m = 0;
    for (size_t i = 0; i < n && m < sizeof k / sizeof k[0]; i++) {
        if (keep[i] <= 2)
            continue;
        size_t j = m++;
        for (; j > 0 && k[j - 1] > keep[i]; j--)
            k[j] = k[j - 1];
        k[j] = keep[i];
    }
    unsigned lo = 3;
    for (size_t i = 0; i < m; i++) {
        if ((unsigned)k[i] > lo)
            syscall(SYS_close_range, lo, (unsigned)k[i] - 1, 0U);
        if ((unsigned)k[i] + 1 > lo)
            lo = (unsigned)k[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0U);
}
