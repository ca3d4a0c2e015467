/* sandbox_local: forked children that must not inherit the host process's
 * signal state or stay attached to it (the holder, pasta's watcher, the
 * launched command).  Async-signal-safe: used between fork and exec. */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

void local_signals_default(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
}

pid_t local_fork_detached(void)
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
    local_signals_default();
    return 0;
}
