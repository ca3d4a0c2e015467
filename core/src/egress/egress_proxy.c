/* The egress proxy: a unix socket a sandbox reaches through corral-forward,
 * serving HTTP/1.1 absolute-URI requests and CONNECT tunnels under the
 * policy of the current phase.  One thread per connection, at most
 * max_connections; heads must arrive within header_timeout_ms; names are
 * resolved here and checked again after resolution; TLS is never opened,
 * only the ClientHello's server name read.  See docs/egress.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "egress/egress_proxy.h"
#include "egress/egress_wire.h"
#include "gate/gate_internal.h" /* gate_unix_socket: one way to bind a sandbox-facing socket */

#define RELAY_BUF 16384
#define RELAY_PIPE (1 << 20) /* bytes one splice moves at most: the pipe's size */
#define HELLO_MAX (16384 + 2048 + 5)

struct host_map_entry {
    char name[256];
    int family;
    unsigned char addr[16];
};

struct bucket {
    double tokens;
    int64_t last_ms;
};

struct conn_slot {
    int fd;       /* -1: free */
    int upstream; /* -1: none yet */
    unsigned gen; /* the phase generation it started under */
};

struct crl_egress_proxy {
    struct crl_egress_proxy_options o;
    char *socket_path;
    int lfd, wake[2];
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    int phase;          /* -1: none */
    unsigned gen;
    int stopping;
    unsigned active;
    struct conn_slot *slots;
    struct bucket *buckets[CRL_EGRESS_NPHASES + 1]; /* [0]: the task-wide policy, [1+p]: phase p's own */
    struct host_map_entry *map;
    size_t n_map;
    struct crl_egress_log log;
};

struct conn {
    crl_egress_proxy *p;
    size_t slot;
};

/* Milliseconds since the epoch, for the log (deadlines use corral_now_ms). */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void answer(int fd, int status, const char *reason, const char *rule, const char *extra)
{
    char body[320], head[640];
    int bl = snprintf(body, sizeof body, "corral egress: %s%s%s\n", reason, rule ? ", rule " : "", rule ? rule : "");
    if (bl < 0 || (size_t)bl >= sizeof body)
        bl = (int)sizeof body - 1;
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n"
                      "%s%s%s%s\r\n",
                      status, reason, bl, rule ? "X-Corral-Egress-Rule: " : "", rule ? rule : "", rule ? "\r\n" : "",
                      extra ? extra : "");
    if (hl > 0 && (size_t)hl < sizeof head && crl_send_all(fd, head, (size_t)hl) == 0)
        crl_send_all(fd, body, (size_t)bl);
}

/* ---- policy state ---- */

static struct bucket *buckets_of(crl_egress_proxy *p, const struct crl_egress_policy *pol)
{
    const struct crl_egress *e = p->o.policy;
    if (pol == &e->all)
        return p->buckets[0];
    for (int i = 0; i < CRL_EGRESS_NPHASES; i++)
        if (pol == &e->own[i])
            return p->buckets[1 + i];
    return NULL;
}

/* 1 when the rule's rate limit lets one more request through now. */
static int take_token(crl_egress_proxy *p, const struct crl_egress_policy *pol, const struct crl_egress_rule *r)
{
    if (!r || !r->rate_limit_rpm)
        return 1;
    struct bucket *b = buckets_of(p, pol);
    if (!b)
        return 1;
    b += r - pol->rules;
    int64_t t = corral_now_ms();
    pthread_mutex_lock(&p->mu);
    double cap = (double)r->rate_limit_rpm;
    if (b->last_ms == 0)
        b->tokens = cap;
    else
        b->tokens += (double)(t - b->last_ms) * cap / 60000.0;
    if (b->tokens > cap)
        b->tokens = cap;
    b->last_ms = t;
    int ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* ---- resolution ---- */

struct target {
    int family;
    unsigned char addr[16];
};

static const struct host_map_entry *mapped(crl_egress_proxy *p, const char *host)
{
    for (size_t i = 0; i < p->n_map; i++)
        if (strcmp(p->map[i].name, host) == 0)
            return &p->map[i];
    return NULL;
}

/* Resolve host and keep the addresses the policy lets this request reach:
 * a private one only when the matching rule or the test host map names
 * it, and none that an address rule denies.  Returns how many were kept;
 * *why names the refusal when none is. */
static size_t resolve(crl_egress_proxy *p, const struct crl_egress_policy *pol, const struct crl_egress_rule *rule,
                      const struct crl_egress_head *h, struct target *out, size_t cap, const char **why,
                      char *rule_name, size_t rn)
{
    struct target cand[16];
    size_t nc = 0;
    int from_map = 0;
    const struct host_map_entry *m = mapped(p, h->host);
    if (m) {
        cand[nc].family = m->family;
        memcpy(cand[nc++].addr, m->addr, 16);
        from_map = 1;
    } else if (crl_egress_parse_addr(h->host, &cand[0].family, cand[0].addr) == 0) {
        nc = 1;
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
        if (getaddrinfo(h->host, NULL, &hints, &res) != 0) {
            *why = "resolve_failed";
            return 0;
        }
        for (ai = res; ai && nc < sizeof cand / sizeof *cand; ai = ai->ai_next) {
            memset(cand[nc].addr, 0, 16);
            cand[nc].family = ai->ai_family;
            if (ai->ai_family == AF_INET)
                memcpy(cand[nc++].addr, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
            else if (ai->ai_family == AF_INET6)
                memcpy(cand[nc++].addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
        }
        freeaddrinfo(res);
    }
    size_t n = 0;
    *why = "private_address";
    for (size_t i = 0; i < nc && n < cap; i++) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(cand[i].family, cand[i].addr, text, sizeof text);
        struct crl_egress_request byaddr = {text, h->is_connect ? NULL : h->method, h->is_connect ? NULL : h->path};
        const struct crl_egress_rule *ar = crl_egress_match(pol, &byaddr);
        if (ar && ar->action == CRL_EGRESS_DENY && ar != rule) {
            *why = "address_rule";
            snprintf(rule_name, rn, "%s", ar->name);
            continue;
        }
        if (crl_egress_addr_is_private(cand[i].family, cand[i].addr) && !from_map &&
            !(rule && crl_egress_rule_has_addr(rule, cand[i].family, cand[i].addr)))
            continue;
        out[n++] = cand[i];
    }
    return n;
}

static int connect_to(const struct target *t, uint16_t port, unsigned timeout_ms)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (t->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        memcpy(&s->sin_addr, t->addr, 4);
        sl = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        memcpy(&s->sin6_addr, t->addr, 16);
        sl = sizeof *s;
    }
    int fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        struct pollfd pf = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (errno != EINPROGRESS || poll(&pf, 1, (int)timeout_ms) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* ---- one connection ---- */

static int phase_changed(crl_egress_proxy *p, unsigned gen)
{
    pthread_mutex_lock(&p->mu);
    int changed = p->gen != gen || p->stopping;
    pthread_mutex_unlock(&p->mu);
    return changed;
}

/* The held first bytes of a tunnel: 1 once the ClientHello is judged and
 * forwarded (or the bytes are not TLS), 0 while more are needed, -1 when
 * its server name disagrees with host or it is malformed, -2 upstream gone. */
static int hello_bytes(int u, unsigned char *hello, size_t *nhello, const char *data, size_t n, const char *host)
{
    size_t take = n < HELLO_MAX - *nhello ? n : HELLO_MAX - *nhello;
    memcpy(hello + *nhello, data, take);
    *nhello += take;
    char sni[256];
    int s = crl_egress_client_hello_sni(hello, *nhello, sni, sizeof sni);
    if (s == -2 && *nhello < HELLO_MAX && take == n)
        return 0;
    if (s < 0 || (s == 1 && strcmp(sni, host) != 0))
        return -1;
    if (crl_send_all(u, hello, *nhello) != 0 || (take < n && crl_send_all(u, data + take, n - take) != 0))
        return -2;
    return 1;
}

/* Move what from has ready to `to` through the kernel (a pipe between two
 * splice calls), without copying it through this process: the bytes
 * moved, 0 at EOF, -1 on a read error, -2 when these sockets cannot be
 * spliced (nothing moved), -3 when the write side failed, -4 when there
 * was nothing to read after all. */
static ssize_t spliced(int from, const int pipe[2], int to)
{
    ssize_t n = splice(from, NULL, pipe[1], NULL, RELAY_PIPE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0)
        return errno == EINVAL || errno == ENOSYS ? -2 : errno == EAGAIN ? -4 : -1;
    for (ssize_t left = n; left > 0;) {
        ssize_t w = splice(pipe[0], NULL, to, NULL, (size_t)left, SPLICE_F_MOVE);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -3;
        left -= w;
    }
    return n;
}

/* Relay until both sides are done, the connection idles out or the phase
 * changes; pre[0..npre) are client bytes read with the head.  For a tunnel
 * (check_sni), the client's first bytes are held until the ClientHello's
 * server name is known and agrees with host; returns 1 on a mismatch or a
 * malformed hello, else 0. */
static int relay(crl_egress_proxy *p, int c, int u, unsigned gen, const char *host, int check_sni, const char *pre,
                 size_t npre, uint64_t *bytes)
{
    char *buf = malloc(RELAY_BUF);
    unsigned char *hello = check_sni ? malloc(HELLO_MAX) : NULL;
    size_t nhello = 0;
    int refused = 0, open_dirs = 2;
    if (!buf || (check_sni && !hello))
        open_dirs = 0;
    if (open_dirs && npre) {
        *bytes += npre;
        int h = hello ? hello_bytes(u, hello, &nhello, pre, npre, host) : crl_send_all(u, pre, npre) == 0 ? 2 : -2;
        if (h < 0)
            refused = h == -1, open_dirs = 0;
        if (h == 1) {
            free(hello);
            hello = NULL;
        }
    }
    struct pollfd fds[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    for (int i = 0; i < 2; i++)
        if (pipe2(pipes[i], O_CLOEXEC) != 0)
            pipes[i][0] = pipes[i][1] = -1;
    int grown[2] = {0, 0};
    int64_t last = corral_now_ms();
    while (open_dirs > 0) {
        int r = poll(fds, 2, 1000);
        if ((r < 0 && errno != EINTR) || phase_changed(p, gen))
            break;
        if (r <= 0) {
            if (corral_now_ms() - last >= (int64_t)p->o.idle_timeout_ms)
                break;
            continue;
        }
        last = corral_now_ms();
        for (int i = 0; i < 2 && open_dirs > 0; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int peer = i ? c : u;
            ssize_t n;
            if (!(i == 0 && hello) && pipes[i][0] >= 0) {
                n = spliced(fds[i].fd, pipes[i], peer);
                if (n == -4)
                    continue;
                if (n == -2) { /* the kernel cannot splice these: copy from now on */
                    close(pipes[i][0]), close(pipes[i][1]);
                    pipes[i][0] = pipes[i][1] = -1;
                    n = recv(fds[i].fd, buf, RELAY_BUF, 0);
                } else if (n > 0) {
                    *bytes += (uint64_t)n;
                    /* A splice that filled the default 64 KiB pipe is a bulk
                     * transfer: a 1 MiB pipe needs 16 times fewer polls and
                     * splices (measured: docs/egress.md).  Only then, since
                     * the user's pipe pages are limited (pipe-user-pages-soft)
                     * and 256 idle tunnels must not use them up; refused:
                     * the default stays. */
                    if (!grown[i] && n >= 65536) {
                        grown[i] = 1;
                        (void)fcntl(pipes[i][1], F_SETPIPE_SZ, RELAY_PIPE);
                    }
                    continue;
                }
            } else {
                n = recv(fds[i].fd, buf, RELAY_BUF, 0);
            }
            if (n == -3) {
                open_dirs = 0;
                continue;
            }
            if (n <= 0) {
                shutdown(peer, SHUT_WR);
                fds[i].fd = -1;
                open_dirs--;
                if ((i == 0 && hello) || (i == 1 && !check_sni))
                    open_dirs = 0; /* a hello cut short; or the one answer of a plain request is complete */
                continue;
            }
            *bytes += (uint64_t)n;
            if (i == 0 && hello) {
                int h = hello_bytes(u, hello, &nhello, buf, (size_t)n, host);
                if (h < 0)
                    refused = h == -1, open_dirs = 0;
                if (h == 1) {
                    free(hello);
                    hello = NULL;
                }
            } else if (crl_send_all(peer, buf, (size_t)n) != 0) {
                open_dirs = 0;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pipes[i][0] >= 0)
            close(pipes[i][0]), close(pipes[i][1]);
    free(buf);
    free(hello);
    return refused;
}

/* Read a whole head within the header timeout.  Returns the parse result
 * (1, or a status), 0 when the client went away or stopped. */
static int read_head(crl_egress_proxy *p, int fd, char *buf, size_t *n, struct crl_egress_head *h)
{
    int64_t deadline = corral_now_ms() + p->o.header_timeout_ms;
    for (;;) {
        int64_t left = deadline - corral_now_ms();
        if (left <= 0)
            return 408;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 408 : 0;
        ssize_t got = recv(fd, buf + *n, CRL_EGRESS_HEAD_MAX - *n, 0);
        if (got <= 0)
            return 0;
        *n += (size_t)got;
        int st = crl_egress_parse_head(buf, *n, h);
        if (st)
            return st;
    }
}

static void deny(crl_egress_proxy *p, int fd, struct crl_egress_entry *e, int status, const char *reason,
                 const char *extra)
{
    answer(fd, status, reason, e->rule, extra);
    crl_egress_log_add(&p->log, e);
    if (p->o.on_deny)
        p->o.on_deny(p->o.ud, e);
}

static void serve(crl_egress_proxy *p, int fd, size_t slot)
{
    char *buf = malloc(CRL_EGRESS_HEAD_MAX);
    struct crl_egress_head *h = malloc(sizeof *h);
    size_t n = 0;
    if (!buf || !h)
        goto done;
    int st = read_head(p, fd, buf, &n, h);
    if (st != 1) {
        if (st)
            answer(fd, st, st == 408 ? "Request Timeout" : st == 431 ? "Request Header Fields Too Large"
                           : st == 501 ? "Not Implemented (send https through CONNECT)" : "Bad Request",
                   NULL, NULL);
        goto done;
    }
    pthread_mutex_lock(&p->mu);
    int phase = p->phase;
    unsigned gen = p->gen;
    pthread_mutex_unlock(&p->mu);
    struct crl_egress_entry e = {.phase = phase, .time_ms = wall_ms(), .port = h->port};
    snprintf(e.method, sizeof e.method, "%s", h->method);
    snprintf(e.host, sizeof e.host, "%s", h->host);
    e.path = h->is_connect ? NULL : h->path;
    const struct crl_egress_policy *pol = phase >= 0 ? crl_egress_for(p->o.policy, (enum crl_egress_phase)phase) : NULL;
    if (!pol) {
        e.decision = "deny";
        snprintf(e.rule, sizeof e.rule, "no_phase");
        deny(p, fd, &e, 403, "Forbidden", NULL);
        goto done;
    }
    struct crl_egress_request req = {h->host, h->is_connect ? NULL : h->method, h->is_connect ? NULL : h->path};
    const struct crl_egress_rule *rule = crl_egress_match(pol, &req);
    enum crl_egress_action act = rule ? rule->action : pol->default_action;
    snprintf(e.rule, sizeof e.rule, "%s", rule ? rule->name : "default");
    if (act == CRL_EGRESS_DENY) {
        e.decision = "deny";
        deny(p, fd, &e, 403, "Forbidden", NULL);
        goto done;
    }
    if (!take_token(p, pol, rule)) {
        e.decision = "rate_limited";
        deny(p, fd, &e, 429, "Too Many Requests", "Retry-After: 60\r\n");
        goto done;
    }
    struct target t[8];
    const char *why = NULL;
    char addr_rule[64] = "";
    size_t nt = resolve(p, pol, rule, h, t, 8, &why, addr_rule, sizeof addr_rule);
    if (nt == 0) {
        e.decision = strcmp(why, "resolve_failed") == 0 ? "error" : "deny";
        snprintf(e.rule, sizeof e.rule, "%s", addr_rule[0] ? addr_rule : why);
        deny(p, fd, &e, e.decision[0] == 'e' ? 502 : 403, e.decision[0] == 'e' ? "Bad Gateway" : "Forbidden", NULL);
        goto done;
    }
    int u = -1;
    for (size_t i = 0; i < nt && u < 0; i++)
        u = connect_to(&t[i], h->port, p->o.connect_timeout_ms);
    if (u < 0) {
        e.decision = "error";
        snprintf(e.rule, sizeof e.rule, "connect_failed");
        deny(p, fd, &e, 502, "Bad Gateway", NULL);
        goto done;
    }
    pthread_mutex_lock(&p->mu);
    p->slots[slot].upstream = u;
    int stop = p->stopping;
    pthread_mutex_unlock(&p->mu);
    int refused = 0;
    e.decision = "allow";
    if (!stop) {
        if (h->is_connect) {
            static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
            /* bytes the client sent after the head belong to the tunnel */
            if (crl_send_all(fd, ok, sizeof ok - 1) == 0)
                refused = relay(p, fd, u, gen, h->host, 1, buf + h->head_len, n - h->head_len, &e.bytes);
        } else {
            struct crl_buf out = {0};
            if (crl_egress_rewrite(h, buf, &out) == 0 && crl_send_all(u, out.p, out.len) == 0)
                relay(p, fd, u, gen, h->host, 0, buf + h->head_len, n - h->head_len, &e.bytes);
            crl_buf_free(&out);
        }
    }
    if (refused) {
        e.decision = "deny";
        snprintf(e.rule, sizeof e.rule, "sni_mismatch");
        if (p->o.on_deny)
            p->o.on_deny(p->o.ud, &e);
    }
    crl_egress_log_add(&p->log, &e);
    pthread_mutex_lock(&p->mu);
    p->slots[slot].upstream = -1;
    pthread_mutex_unlock(&p->mu);
    close(u);
done:
    free(buf);
    free(h);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    crl_egress_proxy *p = c->p;
    size_t slot = c->slot;
    free(c);
    serve(p, p->slots[slot].fd, slot);
    pthread_mutex_lock(&p->mu);
    close(p->slots[slot].fd);
    p->slots[slot].fd = -1;
    if (--p->active == 0)
        pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    crl_egress_proxy *p = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        struct pollfd pf[2] = {{p->lfd, POLLIN, 0}, {p->wake[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                usleep(50000); /* out of descriptors: the pending connection would wake poll at once */
            continue;
        }
        pthread_mutex_lock(&p->mu);
        size_t slot = 0;
        while (slot < p->o.max_connections && p->slots[slot].fd >= 0)
            slot++;
        struct conn *c = slot < p->o.max_connections && !p->stopping ? malloc(sizeof *c) : NULL;
        pthread_t th;
        if (c) {
            c->p = p;
            c->slot = slot;
            p->slots[slot].fd = fd;
            p->slots[slot].upstream = -1;
            p->active++;
            if (pthread_create(&th, &attr, conn_main, c) != 0) {
                p->slots[slot].fd = -1;
                p->active--;
                free(c);
                c = NULL;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!c) {
            answer(fd, 503, "Service Unavailable", "max_connections", NULL);
            close(fd);
        }
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

static int parse_host_map(crl_egress_proxy *p, const char *s, struct corral_call *call)
{
    if (!s || !*s)
        return 0;
    size_t n = 1;
    for (const char *c = s; *c; c++)
        n += *c == ',';
    if (!(p->map = calloc(n, sizeof *p->map)))
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    for (const char *c = s; *c;) {
        const char *end = strchr(c, ','), *eq = strchr(c, '=');
        if (!end)
            end = c + strlen(c);
        struct host_map_entry *m = &p->map[p->n_map];
        char addr[64];
        if (!eq || eq > end || eq == c || (size_t)(eq - c) >= sizeof m->name || (size_t)(end - eq - 1) >= sizeof addr)
            return corral_call_fail(call, CORRAL_EINVAL, "egress host map: \"%.*s\" is not NAME=ADDRESS", (int)(end - c), c);
        memcpy(m->name, c, (size_t)(eq - c));
        memcpy(addr, eq + 1, (size_t)(end - eq - 1));
        addr[end - eq - 1] = '\0';
        if (crl_egress_parse_addr(addr, &m->family, m->addr) != 0)
            return corral_call_fail(call, CORRAL_EINVAL, "egress host map: \"%s\" is not an IP address", addr);
        p->n_map++;
        c = *end ? end + 1 : end;
    }
    return 0;
}

crl_egress_proxy *crl_egress_proxy_start(const struct crl_egress_proxy_options *o, struct corral_call *call)
{
    crl_egress_proxy *p = calloc(1, sizeof *p);
    if (!p) {
        corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
        return NULL;
    }
    p->o = *o;
    if (!p->o.max_connections)
        p->o.max_connections = 256;
    if (!p->o.header_timeout_ms)
        p->o.header_timeout_ms = 10000;
    if (!p->o.connect_timeout_ms)
        p->o.connect_timeout_ms = 10000;
    if (!p->o.idle_timeout_ms)
        p->o.idle_timeout_ms = 300000;
    if (!p->o.log_cap)
        p->o.log_cap = 1000;
    p->phase = -1;
    p->lfd = p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    crl_egress_log_init(&p->log, p->o.log_cap, 256);
    int ok = parse_host_map(p, o->host_map, call) == 0;
    if (ok && !(p->slots = calloc(p->o.max_connections, sizeof *p->slots)))
        ok = corral_call_fail(call, CORRAL_ENOMEM, "out of memory") == 0;
    for (unsigned i = 0; ok && i < p->o.max_connections; i++)
        p->slots[i].fd = p->slots[i].upstream = -1;
    const struct crl_egress *e = o->policy;
    for (int i = 0; ok && e && i <= CRL_EGRESS_NPHASES; i++) {
        const struct crl_egress_policy *pol = i == 0 ? &e->all : &e->own[i - 1];
        if (pol->n && !(p->buckets[i] = calloc(pol->n, sizeof *p->buckets[i])))
            ok = corral_call_fail(call, CORRAL_ENOMEM, "out of memory") == 0;
    }
    char err[256];
    if (ok && (p->lfd = gate_unix_socket(o->socket_path, 0666, 0, err, sizeof err)) < 0)
        ok = corral_call_fail(call, CORRAL_EIO, "egress proxy: %s", err) == 0;
    if (ok && !(p->socket_path = strdup(o->socket_path)))
        ok = corral_call_fail(call, CORRAL_ENOMEM, "out of memory") == 0;
    if (ok && pipe2(p->wake, O_CLOEXEC) != 0)
        ok = corral_call_fail(call, CORRAL_EIO, "egress proxy: pipe: %s", strerror(errno)) == 0;
    if (ok && pthread_create(&p->acceptor, NULL, accept_main, p) != 0)
        ok = corral_call_fail(call, CORRAL_EIO, "egress proxy: cannot start its thread") == 0;
    if (!ok) {
        if (p->wake[0] >= 0)
            close(p->wake[0]), close(p->wake[1]);
        p->wake[0] = -1;
        crl_egress_proxy_stop(p);
        return NULL;
    }
    return p;
}

void crl_egress_proxy_set_phase(crl_egress_proxy *p, int phase)
{
    pthread_mutex_lock(&p->mu);
    p->phase = phase >= 0 && phase < CRL_EGRESS_NPHASES ? phase : -1;
    p->gen++;
    /* open connections were allowed under the old phase: end them */
    for (unsigned i = 0; i < p->o.max_connections; i++)
        if (p->slots[i].upstream >= 0)
            shutdown(p->slots[i].upstream, SHUT_RDWR);
    pthread_mutex_unlock(&p->mu);
}

struct crl_egress_log *crl_egress_proxy_log(crl_egress_proxy *p)
{
    return &p->log;
}

void crl_egress_proxy_stop(crl_egress_proxy *p)
{
    if (!p)
        return;
    if (p->wake[0] >= 0) {
        if (write(p->wake[1], "x", 1) < 0) {
            /* the pipe is ours and empty: cannot fail short of a bug */
        }
        pthread_join(p->acceptor, NULL);
        close(p->wake[0]);
        close(p->wake[1]);
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    for (unsigned i = 0; p->slots && i < p->o.max_connections; i++) {
        if (p->slots[i].fd >= 0)
            shutdown(p->slots[i].fd, SHUT_RDWR);
        if (p->slots[i].upstream >= 0)
            shutdown(p->slots[i].upstream, SHUT_RDWR);
    }
    while (p->active > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (p->lfd >= 0) {
        close(p->lfd);
        unlink(p->socket_path);
    }
    free(p->socket_path);
    free(p->slots);
    free(p->map);
    for (int i = 0; i <= CRL_EGRESS_NPHASES; i++)
        free(p->buckets[i]);
    crl_egress_log_free(&p->log);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
