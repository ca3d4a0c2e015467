/* The lease watcher (issue 15 item 16).  A rollout's container carries
 * corral.lease=<host>:<pid>:<start> naming its corral process.  At create a
 * detached process of ours (setsid + double fork, no exec) watches a pidfd
 * of that process; when it dies, even by SIGKILL, the watcher removes the
 * container through the daemon (DELETE ?force=1), so the agent ends within
 * a second instead of at the TTL.  The watcher lives on the host, outside
 * the container: nothing the agent does inside, as root or not, reaches it
 * or can keep the container alive (and the shim's TTL stays in force).
 *
 * The handle keeps one end of a socket pair with the watcher (a socket, not
 * a pipe: a write to a watcher that is gone must not raise SIGPIPE).  A destroy
 * writes one byte (the container is gone on purpose: the watcher exits
 * without a request); a close without destroy only closes it, and the
 * watcher keeps watching the lease, since the container still lives
 * exactly as long as its corral.  The watcher also ends a minute after the
 * container's deadline, when the shim has stopped it anyway (corral gc
 * removes a stopped container).
 *
 * Everything the watcher needs (address, request bytes) is made before
 * fork: in the child, which may be a copy of a multithreaded process, only
 * async-signal-safe calls run. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dk.h"

struct lease_target {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char req[384];
    size_t req_len;
};

/* The daemon's address (unix socket or the resolved tcp host) and the
 * removal request of container `name` (already checked [A-Za-z0-9_.-]). */
static int target_for(struct dk_plugin *p, const char *name, struct lease_target *t, corral_call *call)
{
    const struct corral_host *h = p->host;
    memset(t, 0, sizeof *t);
    if (p->socket) {
        struct sockaddr_un *un = (struct sockaddr_un *)&t->addr;
        if (strlen(p->socket) >= sizeof un->sun_path)
            return h->fail(call, CORRAL_ECONFIG, "docker: socket path too long for the lease watcher");
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, p->socket);
        t->addr_len = sizeof *un;
    } else {
        char host[256], port[8];
        uint16_t pn;
        if (strncmp(p->base, "http://", 7) != 0 || crl_parse_host_port(p->base + 7, host, sizeof host, &pn) < 0)
            return h->fail(call, CORRAL_ECONFIG, "docker: cannot parse %s for the lease watcher", p->base);
        snprintf(port, sizeof port, "%u", (unsigned)pn);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        int e = getaddrinfo(host, port, &hints, &ai);
        if (e || !ai || ai->ai_addrlen > sizeof t->addr) {
            if (ai)
                freeaddrinfo(ai);
            return h->fail(call, CORRAL_ETRANSIENT, "docker: cannot resolve %s for the lease watcher: %s", host,
                           e ? gai_strerror(e) : "no address");
        }
        memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
        t->addr_len = ai->ai_addrlen;
        freeaddrinfo(ai);
    }
    /* Unversioned: the daemon serves its own version, and this request's
     * meaning has not changed across versions. */
    int n = snprintf(t->req, sizeof t->req,
                     "DELETE /containers/%s?force=1&v=1 HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n",
                     name);
    if (n < 0 || (size_t)n >= sizeof t->req)
        return h->fail(call, CORRAL_EINVAL, "docker: sandbox id too long");
    t->req_len = (size_t)n;
    return 0;
}

/* One removal attempt (async-signal-safe): 1 when the daemon answered that
 * the container is gone or going (204, 404, 409), 0 to try again. */
static int remove_once(const struct lease_target *t)
{
    int s = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    int done = 0;
    char buf[64];
    size_t off = 0, got = 0;
    if (connect(s, (const struct sockaddr *)&t->addr, t->addr_len) == 0) {
        while (off < t->req_len) {
            ssize_t w = send(s, t->req + off, t->req_len - off, MSG_NOSIGNAL);
            if (w <= 0 && errno != EINTR)
                break;
            if (w > 0)
                off += (size_t)w;
        }
        /* "HTTP/1.1 204": the status is all we need; a removal of a busy
         * container can take a while. */
        while (off == t->req_len && got < 12) {
            struct pollfd pf = {s, POLLIN, 0};
            if (poll(&pf, 1, 60000) <= 0)
                break;
            ssize_t r = read(s, buf + got, sizeof buf - 1 - got);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                break;
            if (r > 0)
                got += (size_t)r;
        }
        if (got >= 12 && memcmp(buf, "HTTP/1.", 7) == 0)
            done = !memcmp(buf + 9, "204", 3) || !memcmp(buf + 9, "404", 3) || !memcmp(buf + 9, "409", 3);
    }
    close(s);
    return done;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The watcher's body, in the detached child; never returns. */
static void watch(int ownerfd, int relfd, int devnull, const struct lease_target *t, int64_t end_ms)
{
    if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        _exit(0);
    int keep[2] = {ownerfd, relfd};
    crl_close_fds_except(keep, 2);
    struct pollfd pf[2] = {{ownerfd, POLLIN, 0}, {relfd, POLLIN, 0}};
    nfds_t n = 2;
    for (;;) {
        int64_t left = end_ms > 0 ? end_ms - mono_ms() : -1;
        if (end_ms > 0 && left <= 0)
            _exit(0); /* past the deadline: the shim stopped the container */
        int r = poll(pf, n, left < 0 || left > 3600000 ? 3600000 : (int)left);
        if (r < 0 && errno != EINTR)
            _exit(0);
        if (r <= 0)
            continue;
        if (pf[0].revents)
            break; /* the lease's process is gone */
        if (n == 2 && pf[1].revents) {
            char b;
            ssize_t k = read(relfd, &b, 1);
            if (k == 1)
                _exit(0); /* destroyed by corral */
            if (k == 0)
                n = 1; /* handle closed: the lease still holds */
        }
    }
    /* The daemon may be restarting: keep trying for a minute. */
    for (int i = 0; i < 60 && !remove_once(t); i++) {
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
    }
    _exit(0);
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
    struct lease_target t;
    int rc = target_for(p, spec->id, &t, call);
    if (rc)
        return rc;
    int64_t ttl = spec->ttl_s > 0 ? spec->ttl_s : p->default_ttl_s;
    /* Past about 68 years the watcher simply has no end of its own. */
    int64_t end_ms = ttl > 0 && ttl < (INT64_C(1) << 31) ? mono_ms() + (ttl + 60) * 1000 : 0;
    int rel[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rel) < 0) {
        rc = h->fail(call, CORRAL_EIO, "docker: cannot prepare the lease watcher: %s", strerror(errno));
        goto out;
    }
    pid_t c1 = crl_fork_detached();
    if (c1 == 0)
        watch(ownerfd, rel[0], devnull, &t, end_ms);
    if (c1 < 0) {
        rc = h->fail(call, CORRAL_ETRANSIENT, "docker: cannot start the lease watcher: fork: %s", strerror(errno));
        goto out;
    }
    int st;
    while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rc = h->fail(call, CORRAL_ETRANSIENT, "docker: cannot start the lease watcher");
        goto out;
    }
    *release_fd = rel[1];
    rel[1] = -1;
out:
    if (devnull >= 0)
        close(devnull);
    if (rel[0] >= 0)
        close(rel[0]);
    if (rel[1] >= 0)
        close(rel[1]);
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
