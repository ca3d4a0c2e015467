/* The lease watcher (issue 15 item 16).  A rollout's container carries
 * corral.lease=<host>:<pid>:<start> naming its corral process.  At create
 * the plugin starts a watcher on the host: the embedded static shim,
 * executed from a memfd as `shim lease` (shim.c) in a detached process
 * (setsid + double fork, then exec: it holds none of corral's memory).  It
 * polls a pidfd of that process; when it dies, even by SIGKILL, the
 * watcher removes the container through the daemon (DELETE ?force=1), so
 * the agent ends within a second instead of at the TTL.  The watcher lives
 * outside the container: nothing the agent does inside, as root or not,
 * reaches it or can keep the container alive (and the shim's TTL as PID 1
 * stays in force).
 *
 * The handle keeps one end of a socket pair with the watcher (a socket, not
 * a pipe: a write to a watcher that is gone must not raise SIGPIPE).  A
 * destroy writes one byte (the container is gone on purpose: the watcher
 * exits without a request); a close without destroy only closes it, and
 * the watcher keeps watching the lease, since the container still lives
 * exactly as long as its corral.  The watcher also ends a minute after the
 * container's deadline, when PID 1 has stopped it anyway (corral gc removes
 * a stopped container).
 *
 * The daemon's address is resolved before the fork and handed over as the
 * bytes of a struct sockaddr; between fork and exec only
 * async-signal-safe calls run. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#include "dk.h"

/* The daemon's address (unix socket or the resolved tcp host) as the hex
 * of its struct sockaddr, for `shim lease`. */
static int daemon_addr_hex(struct dk_plugin *p, char *hex, size_t cap, corral_call *call)
{
    const struct corral_host *h = p->host;
    struct sockaddr_storage addr;
    socklen_t len = 0;
    memset(&addr, 0, sizeof addr);
    if (p->socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)&addr;
        if (strlen(p->socket) >= sizeof un->sun_path)
            return h->fail(call, CORRAL_ECONFIG, "docker: socket path too long for the lease watcher");
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, p->socket);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p->socket) + 1);
    } else {
        char host[256], port[8];
        uint16_t pn;
        if (strncmp(p->base, "http://", 7) != 0 || crl_parse_host_port(p->base + 7, host, sizeof host, &pn) < 0)
            return h->fail(call, CORRAL_ECONFIG, "docker: cannot parse %s for the lease watcher", p->base);
        snprintf(port, sizeof port, "%u", (unsigned)pn);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int e = getaddrinfo(host, port, &hints, &ai);
        if (e || !ai || ai->ai_addrlen > sizeof addr) {
            if (ai)
                freeaddrinfo(ai);
            return h->fail(call, CORRAL_ETRANSIENT, "docker: cannot resolve %s for the lease watcher: %s", host,
                           e ? gai_strerror(e) : "no address");
        }
        memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
        len = ai->ai_addrlen;
        freeaddrinfo(ai);
    }
    if (cap < 2 * (size_t)len + 1)
        return h->fail(call, CORRAL_EINVAL, "docker: address too long for the lease watcher");
    for (socklen_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)&addr)[i]);
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The shim's bytes in a memfd, made once per plugin (under p->lock), so
 * the watcher can be executed without a file on disk. */
static int shim_memfd(struct dk_plugin *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->shim_fd < 0) {
        int fd = memfd_create("corral-docker-shim", MFD_CLOEXEC);
        size_t len = (size_t)(dk_shim_end - dk_shim_start), off = 0;
        while (fd >= 0 && off < len) {
            ssize_t w = write(fd, dk_shim_start + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                close(fd);
                fd = -1;
                break;
            }
            off += (size_t)w;
        }
        p->shim_fd = fd;
    }
    int fd = p->shim_fd;
    pthread_mutex_unlock(&p->lock);
    return fd;
}

/* In the detached child: fds 3 (owner pidfd) and 4 (socket pair), stdio on
 * /dev/null, then exec the shim; a byte on rep (close-on-exec) says the
 * exec failed.  Async-signal-safe; never returns. */
static void exec_watcher(int ownerfd, int relfd, int devnull, int shimfd, int rep, char *const *argv)
{
    char *const envp[] = {NULL};
    int o = fcntl(ownerfd, F_DUPFD_CLOEXEC, 10), r = fcntl(relfd, F_DUPFD_CLOEXEC, 10);
    int x = fcntl(shimfd, F_DUPFD_CLOEXEC, 10), e = fcntl(rep, F_DUPFD_CLOEXEC, 10);
    if (o >= 0 && r >= 0 && x >= 0 && e >= 0 && dup2(devnull, 0) == 0 && dup2(devnull, 1) == 1 &&
        dup2(devnull, 2) == 2 && dup2(o, 3) == 3 && dup2(r, 4) == 4) {
        syscall(SYS_close_range, 5U, ~0U, CLOSE_RANGE_CLOEXEC);
        fexecve(x, argv, envp);
    }
    char b = 1;
    if (write(e >= 0 ? e : rep, &b, 1) < 0)
        _exit(1);
    _exit(1);
}

int dk_lease_owner_check(struct dk_plugin *p, const struct corral_sandbox_spec *spec, int *ownerfd,
                         corral_call *call)
{
    *ownerfd = crl_lease_pidfd(spec->labels);
    if (*ownerfd == -2) {
        *ownerfd = -1;
        return p->host->fail(call, CORRAL_ESTATE, "docker: the process that leases sandbox %s is gone", spec->id);
    }
    return 0;
}

int dk_lease_watch(struct dk_plugin *p, const struct corral_sandbox_spec *spec, int ownerfd, int *release_fd,
                   corral_call *call)
{
    const struct corral_host *h = p->host;
    *release_fd = -1;
    if (ownerfd < 0)
        return 0;
    char hex[2 * sizeof(struct sockaddr_storage) + 1], end[24];
    int rc = daemon_addr_hex(p, hex, sizeof hex, call);
    if (rc)
        return rc;
    int64_t ttl = spec->ttl_s > 0 ? spec->ttl_s : p->default_ttl_s;
    /* Past about 68 years the watcher simply has no end of its own. */
    snprintf(end, sizeof end, "%lld",
             ttl > 0 && ttl < (INT64_C(1) << 31) ? (long long)(mono_ms() + (ttl + 60) * 1000) : 0LL);
    char *const argv[] = {(char *)"corral-docker-lease", (char *)"lease", hex, (char *)spec->id, end, NULL};
    int rel[2] = {-1, -1}, rep[2] = {-1, -1};
    int shimfd = shim_memfd(p);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (shimfd < 0 || devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rel) < 0 ||
        pipe2(rep, O_CLOEXEC) < 0) {
        rc = h->fail(call, CORRAL_EIO, "docker: cannot prepare the lease watcher: %s", strerror(errno));
        goto out;
    }
    pid_t c1 = crl_fork_detached();
    if (c1 == 0)
        exec_watcher(ownerfd, rel[0], devnull, shimfd, rep[1], argv);
    if (c1 < 0) {
        rc = h->fail(call, CORRAL_ETRANSIENT, "docker: cannot start the lease watcher: fork: %s", strerror(errno));
        goto out;
    }
    int st;
    while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
        ;
    close(rep[1]);
    rep[1] = -1;
    /* EOF once the watcher runs the shim (its copy closed on exec).  A
     * child another thread forks meanwhile may hold a copy until it execs
     * too: bounded, and no answer counts as started. */
    char b;
    ssize_t n = 0;
    struct pollfd pf = {rep[0], POLLIN, 0};
    int pr;
    while ((pr = poll(&pf, 1, 5000)) < 0 && errno == EINTR)
        ;
    if (pr > 0)
        while ((n = read(rep[0], &b, 1)) < 0 && errno == EINTR)
            ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n > 0) {
        rc = h->fail(call, CORRAL_ETRANSIENT, "docker: cannot start the lease watcher");
        goto out;
    }
    *release_fd = rel[1];
    rel[1] = -1;
out:
    if (devnull >= 0)
        close(devnull);
    for (int i = 0; i < 2; i++) {
        if (rel[i] >= 0)
            close(rel[i]);
        if (rep[i] >= 0)
            close(rep[i]);
    }
    return rc;
}

void dk_lease_release(int *release_fd, int destroyed)
{
    if (*release_fd < 0)
        return;
    if (destroyed) {
        char b = 1;
        while (send(*release_fd, &b, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
            ;
    }
    close(*release_fd);
    *release_fd = -1;
}
