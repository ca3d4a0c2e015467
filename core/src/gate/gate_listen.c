/*
 * The gate's listening sockets: binding TCP and unix sockets, the
 * libmicrohttpd daemon serving each, and the rollouts' own sockets
 * (corral_gate_rollout_socket): one listener per rollout, so that the
 * connections of one agent, counted from accept, can only fill its own.
 * See gate_internal.h for the locking rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gate/gate_internal.h"

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    corral_vlog(CORRAL_LOG_DEBUG, "gate", fmt, ap);
}

int gate_tcp_socket(const char *addr, uint16_t port, uint16_t *bound, int *v6, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        sl = sizeof *s4;
        *v6 = 0;
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        sl = sizeof *s6;
        *v6 = 1;
    } else {
        snprintf(err, errlen, "not a numeric IP address: %s", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "bind/listen %s:%u: %s", addr, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    return fd;
}

int gate_unix_socket(const char *path, mode_t mode, int replace, char *err, size_t errlen)
{
    struct sockaddr_un su;
    memset(&su, 0, sizeof su);
    su.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof su.sun_path) {
        snprintf(err, errlen, "unix socket path too long: %s", path);
        return -1;
    }
    strcpy(su.sun_path, path);
    struct stat st;
    if (replace && lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* Linux creates the socket file with the socket inode's mode (less the
     * umask): owner-only from bind on, then widened to `mode`.  Never
     * umask(): it is process-wide, and other threads create sandboxes'
     * directories meanwhile (tests/unit/test_gate.c, keeps_umask). */
    int rc = fchmod(fd, 0600) != 0 ? -1 : bind(fd, (struct sockaddr *)&su, sizeof su);
    if (rc != 0 || chmod(path, mode) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "bind/listen %s: %s", path, strerror(errno));
        if (rc == 0)
            unlink(path); /* ours: bound just now */
        close(fd);
        return -1;
    }
    return fd;
}

/* threads > 1: an MHD thread pool, so one slow call (a 30 KB body being
 * checked) does not hold up the calls of other rollouts behind it.  A
 * rollout's own socket has one thread: it serves that rollout alone. */
int gate_listener_start(struct corral_gate *g, struct gate_listener *l, int fd, int v6, unsigned threads,
                        unsigned max_connections, MHD_AccessHandlerCallback handler, char *err, size_t errlen)
{
    unsigned flags = MHD_USE_POLL | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    /* MHD warns about a pool of 0 or 1: leave the option out then. */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    l->gate = g;
    l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, l,
                                 MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_NOTIFY_COMPLETED, gate_http_completed, g,
                                 MHD_OPTION_NOTIFY_CONNECTION, gate_http_connection, g,
                                 MHD_OPTION_CONNECTION_TIMEOUT, g->idle_timeout_s,
                                 MHD_OPTION_CONNECTION_LIMIT, max_connections,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                 MHD_OPTION_ARRAY, pool,
                                 MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "libmicrohttpd refused to start a listener");
        close(fd);
        return -1;
    }
    l->fd = fd;
    return 0;
}

/* ---- the rollouts' own sockets ---------------------------------------------- */

/* A rollout's socket: its own daemon, whose connection limit is the
 * rollout's (socket_connections), so that what one agent holds open is
 * counted from accept against its own socket only. */
struct gate_rsock {
    struct gate_listener l;            /* l.rollout_id = id */
    char id[130];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

void gate_rsock_close(struct gate_rsock *s)
{
    if (!s)
        return;
    if (s->l.daemon)
        MHD_stop_daemon(s->l.daemon);
    unlink(s->path);
    free(s);
}

/* "<unix_path without .sock>-<16 hex>.sock" into s->path: 0, or -1 when
 * it would not fit a socket address. */
static int rsock_path(const struct corral_gate *g, struct gate_rsock *s)
{
    size_t n = strlen(g->unix_path);
    if (n > 5 && strcmp(g->unix_path + n - 5, ".sock") == 0)
        n -= 5;
    char hex[17];
    gate_random_hex(hex, 8);
    int k = snprintf(s->path, sizeof s->path, "%.*s-%s.sock", (int)n, g->unix_path, hex);
    return k > 0 && (size_t)k < sizeof s->path ? 0 : -1;
}

int corral_gate_rollout_socket(corral_gate *g, const char *rollout_id, char *path_out, size_t cap,
                               struct corral_call *call)
{
    if (!g || !rollout_id || !path_out)
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a rollout socket needs a gate, a rollout id and a buffer");
    if (!g->unix_path)
        return corral_call_fail(call, CORRAL_ENOTSUP, "gate: no unix socket to put the rollout's socket next to");
    struct gate_rsock *s = calloc(1, sizeof *s);
    if (!s)
        return corral_call_fail(call, CORRAL_ENOMEM, "gate: out of memory");
    snprintf(s->id, sizeof s->id, "%s", rollout_id);
    s->l.rollout_id = s->id;
    s->l.fd = -1;
    if (rsock_path(g, s) != 0 || strlen(s->path) >= cap) {
        free(s);
        return corral_call_fail(call, CORRAL_EINVAL, "gate: the rollout socket's path would be too long (%s)",
                                g->unix_path);
    }
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, rollout_id);
    int have = r && r->sock;
    pthread_mutex_unlock(&g->lock);
    if (!r || have) {
        free(s);
        return corral_call_fail(call, r ? CORRAL_EEXIST : CORRAL_ENOTFOUND, "gate: rollout %s %s", rollout_id,
                                r ? "has its socket already" : "is not registered");
    }
    /* A fresh random name: never replace a file that is there. */
    char err[256];
    int fd = gate_unix_socket(s->path, g->unix_mode, 0, err, sizeof err);
    if (fd < 0 || gate_listener_start(g, &s->l, fd, 0, 1, g->socket_connections, gate_http_agent, err,
                                      sizeof err) != 0) {
        if (fd >= 0)
            unlink(s->path);
        free(s);
        return corral_call_fail(call, CORRAL_EIO, "gate: rollout socket: %s", err);
    }
    pthread_mutex_lock(&g->lock);
    r = g->stopping ? NULL : gate_rollout_find_locked(g, rollout_id);
    have = r && r->sock;
    if (r && !have)
        r->sock = s;
    pthread_mutex_unlock(&g->lock);
    if (!r || have) { /* unregistered or given one meanwhile */
        gate_rsock_close(s);
        return corral_call_fail(call, r ? CORRAL_EEXIST : CORRAL_ENOTFOUND, "gate: rollout %s %s", rollout_id,
                                r ? "has its socket already" : "is not registered");
    }
    snprintf(path_out, cap, "%s", s->path);
    return 0;
}
