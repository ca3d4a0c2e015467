/* sandbox_local: "full" network as a namespace of its own with outbound
 * access only, through pasta (Debian package `passt`).
 *
 * The holder always has its own network namespace unless the operator set
 * host_network.  For full network, a detached watcher process (setsid +
 * double fork, like the holder) starts pasta on the holder's namespace:
 * --config-net gives it a tap interface with the host's addresses and
 * routes; --no-map-gw stops the gateway address from being the host's
 * loopback; -t/-u/-T/-U none forward no port in either direction, so the
 * host's loopback listeners and abstract unix sockets (per network
 * namespace) stay out of reach.  pasta does not notice when a namespace it
 * was given by path dies, so the watcher waits on the holder's pidfd and
 * then ends pasta: the TTL and destroy end it with the sandbox.
 *
 * The watcher reports on a pipe: one byte, 0 when pasta configured the
 * namespace.  Between fork and exec only async-signal-safe calls. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

/* The watcher: start pasta, report, end pasta when the holder ends.
 * Never returns. */
static void watcher(char *const *argv, const char *pidfile, pid_t holder, int holder_pidfd, int rep)
{
    unsigned char fail = 1;
    pid_t p = fork();
    if (p == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR)
        ;
    /* pasta forks into the background once the namespace is configured
     * and writes its pid first. */
    int pasta_fd = -1;
    char buf[32];
    int fd = p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? open(pidfile, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        long pid = n > 0 ? (buf[n] = '\0', strtol(buf, NULL, 10)) : 0;
        if (pid > 1)
            pasta_fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    }
    (void)holder;
    if (pasta_fd >= 0)
        fail = 0;
    ssize_t w;
    do {
        w = write(rep, &fail, 1);
    } while (w < 0 && errno == EINTR);
    close(rep);
    if (fail) {
        if (pasta_fd >= 0)
            syscall(SYS_pidfd_send_signal, pasta_fd, SIGKILL, NULL, 0);
        _exit(1);
    }
    struct pollfd pf = {holder_pidfd, POLLIN, 0};
    while (poll(&pf, 1, -1) < 0 && errno == EINTR)
        ;
    syscall(SYS_pidfd_send_signal, pasta_fd, SIGTERM, NULL, 0);
    struct pollfd pp = {pasta_fd, POLLIN, 0};
    if (poll(&pp, 1, 2000) <= 0)
        syscall(SYS_pidfd_send_signal, pasta_fd, SIGKILL, NULL, 0);
    _exit(0);
}

int local_net_attach(struct local_plugin *lp, pid_t holder, const char *dir, corral_call *call)
{
    const struct corral_host *h = lp->host;
    char *pasta = local_which(lp->pasta);
    if (!pasta)
        return h->fail(call, CORRAL_ENOTFOUND,
                       "local: network \"full\" needs pasta (Debian package `passt`; option `pasta`), not found: "
                       "'%s' (or let the operator set `host_network`)",
                       lp->pasta);
    char p[64], pidfile[4096], logpath[4096], userns[32], netns[32];
    snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)holder);
    int netfd = open(p, O_RDONLY | O_CLOEXEC);
    int ownerfd = netfd >= 0 ? ioctl(netfd, NS_GET_USERNS) : -1;
    int hfd = (int)syscall(SYS_pidfd_open, holder, 0);
    snprintf(pidfile, sizeof(pidfile), "%s/pasta.pid", dir);
    snprintf(logpath, sizeof(logpath), "%s/pasta.log", dir);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int rep[2] = {-1, -1};
    int rc = 0;
    if (netfd < 0 || ownerfd < 0 || hfd < 0 || logfd < 0 || devnull < 0 || pipe2(rep, O_CLOEXEC) < 0)
        rc = h->fail(call, CORRAL_EIO, "local: cannot prepare the sandbox's network: %s", strerror(errno));
    /* The namespaces are named by fds the watcher keeps open at 5 and 6;
     * pasta opens them as /proc/self/fd/N. */
    snprintf(netns, sizeof(netns), "/proc/self/fd/5");
    snprintf(userns, sizeof(userns), "/proc/self/fd/6");
    const char *argv[24];
    size_t n = 0;
    argv[n++] = pasta;
    if (geteuid() == 0) {
        /* as root pasta would switch to nobody, who cannot join */
        argv[n++] = "--runas";
        argv[n++] = "0:0";
    }
    const char *fixed[] = {"--config-net", "--no-map-gw", "-t", "none", "-u", "none", "-T", "none", "-U",
                           "none", "-q", "--no-netns-quit", "-P", pidfile, "--userns", userns, "--netns", netns};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    argv[n] = NULL;
    pid_t c1 = rc ? -1 : crl_fork_detached();
    if (!rc && c1 < 0)
        rc = h->fail(call, CORRAL_ETRANSIENT, "fork: %s", strerror(errno));
    if (c1 == 0) {
        int r = fcntl(rep[1], F_DUPFD_CLOEXEC, 10), hp = fcntl(hfd, F_DUPFD_CLOEXEC, 10);
        int nf = fcntl(netfd, F_DUPFD, 10), of = fcntl(ownerfd, F_DUPFD, 10);
        if (r < 0 || hp < 0 || nf < 0 || of < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 ||
            dup2(logfd, 2) < 0 || dup2(nf, 5) < 0 || dup2(of, 6) < 0)
            _exit(126);
        for (int fd = 3; fd < 1024; fd++)
            if (fd != 5 && fd != 6 && fd != r && fd != hp)
                close(fd);
        watcher((char *const *)argv, pidfile, holder, hp, r);
    }
    if (c1 > 0) {
        int st;
        while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (rep[1] >= 0)
        close(rep[1]);
    int fds[] = {netfd, ownerfd, hfd, logfd, devnull};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (!rc) {
        unsigned char b = 1;
        struct pollfd pf = {rep[0], POLLIN, 0};
        int64_t left = h->remaining_ms ? h->remaining_ms(call) : 30000;
        if (left > 30000)
            left = 30000;
        if (poll(&pf, 1, (int)(left > 0 ? left : 0)) <= 0 || read(rep[0], &b, 1) != 1 || b != 0)
            rc = h->fail(call, CORRAL_EIO, "local: pasta could not give the sandbox its network (see %s)", logpath);
    }
    if (rep[0] >= 0)
        close(rep[0]);
    free(pasta);
    return rc;
}
