/* egress_bench: what corral's egress proxy adds to a request, against the
 * same server reached directly in the same run (numbers, not pass/fail).
 *   egress_bench [N]   N small requests each way (default 500), then
 *                      64 MiB downloads: plain HTTP and a CONNECT tunnel.
 * The proxy is reached over its unix socket, as the in-sandbox relay
 * reaches it (the relay's own hop is not counted). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "egress/egress_proxy.h"

#define BIG (64u << 20)

static int lfd;

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    int big = strstr(buf, "/big") != NULL;
    char head[128];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\nConnection: close\r\n\r\n",
                      big ? BIG : 2u);
    send(fd, head, (size_t)hl, MSG_NOSIGNAL);
    if (big) {
        memset(buf, 'x', sizeof buf);
        for (size_t sent = 0; sent < BIG; sent += sizeof buf)
            if (send(fd, buf, sizeof buf, MSG_NOSIGNAL) <= 0)
                break;
    } else {
        send(fd, "ok", 2, MSG_NOSIGNAL);
    }
    close(fd);
    return NULL;
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t th;
        pthread_create(&th, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(th);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial_tcp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0 ? fd : -1;
}

static int dial_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    snprintf(su.sun_path, sizeof su.sun_path, "%s", path);
    return connect(fd, (struct sockaddr *)&su, sizeof su) == 0 ? fd : -1;
}

/* One request on a fresh connection (pre: a CONNECT head sent first); the
 * bytes read until EOF. */
static size_t fetch(int fd, const char *pre, const char *req)
{
    static char buf[1 << 16];
    size_t total = 0;
    if (pre) {
        send(fd, pre, strlen(pre), 0);
        ssize_t r = recv(fd, buf, sizeof buf, 0); /* "200 Connection established" */
        if (r <= 0)
            return 0;
    }
    send(fd, req, strlen(req), 0);
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
        total += (size_t)r;
    close(fd);
    return total;
}

/* CPU seconds of this whole process (server, proxy and client threads):
 * what a transfer costs, much less moved by other load than wall time. */
static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 500;
    if (n < 10)
        n = 10;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    bind(lfd, (struct sockaddr *)&sin, sizeof sin);
    listen(lfd, 512);
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    uint16_t port = ntohs(sin.sin_port);
    pthread_t srv;
    pthread_create(&srv, NULL, server_main, NULL);

    char dir[] = "/tmp/egress-bench-XXXXXX", sock[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(sock, sizeof sock, "%s/p.sock", dir);
    cJSON *j = cJSON_Parse("{\"rules\":[{\"host_pattern\":\"bench.test\",\"action\":\"allow\"}]}");
    struct crl_egress pol;
    struct corral_call call = {0};
    if (crl_egress_from_json(j, "bench", CRL_EGRESS_OPERATOR, &pol, &call) != 0)
        return 1;
    cJSON_Delete(j);
    struct crl_egress_proxy_options o = {.socket_path = sock, .policy = &pol, .host_map = "bench.test=127.0.0.1",
                                         .log_cap = 16};
    crl_egress_proxy *p = crl_egress_proxy_start(&o, &call);
    if (!p) {
        fprintf(stderr, "%s\n", call.message);
        return 1;
    }
    crl_egress_proxy_set_phase(p, CRL_EGRESS_AGENT);

    char direct_req[128], proxy_req[128], connect_req[128], big_direct[128], big_proxy[128];
    snprintf(direct_req, sizeof direct_req, "GET /small HTTP/1.1\r\nHost: bench.test\r\n\r\n");
    snprintf(proxy_req, sizeof proxy_req, "GET http://bench.test:%u/small HTTP/1.1\r\n\r\n", port);
    snprintf(connect_req, sizeof connect_req, "CONNECT bench.test:%u HTTP/1.1\r\n\r\n", port);
    snprintf(big_direct, sizeof big_direct, "GET /big HTTP/1.1\r\nHost: bench.test\r\n\r\n");
    snprintf(big_proxy, sizeof big_proxy, "GET http://bench.test:%u/big HTTP/1.1\r\n\r\n", port);

    double *d = calloc((size_t)n, sizeof *d), *q = calloc((size_t)n, sizeof *q);
    for (int i = 0; i < n; i++) { /* interleaved, so load shifts hit both */
        double t = now();
        fetch(dial_tcp(port), NULL, direct_req);
        d[i] = now() - t;
        t = now();
        fetch(dial_unix(sock), NULL, proxy_req);
        q[i] = now() - t;
    }
    qsort(d, (size_t)n, sizeof *d, cmp);
    qsort(q, (size_t)n, sizeof *q, cmp);
    printf("# %d requests each, one connection per request\n", n);
    printf("small request  direct p50 %.1f us p99 %.1f us | proxy p50 %.1f us p99 %.1f us | added p50 %.1f us\n",
           d[n / 2] * 1e6, d[n * 99 / 100] * 1e6, q[n / 2] * 1e6, q[n * 99 / 100] * 1e6, (q[n / 2] - d[n / 2]) * 1e6);
    const char *names[] = {"plain HTTP", "CONNECT tunnel"};
    for (int k = 0; k < 2; k++) {
        double best_d = 1e9, best_q = 1e9, cpu_d = 1e9, cpu_q = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t = now(), c = cpu();
            fetch(dial_tcp(port), NULL, big_direct);
            double td = now() - t, cd = cpu() - c;
            t = now(), c = cpu();
            fetch(dial_unix(sock), k ? connect_req : NULL, k ? big_direct : big_proxy);
            double tq = now() - t, cq = cpu() - c;
            best_d = td < best_d ? td : best_d;
            best_q = tq < best_q ? tq : best_q;
            cpu_d = cd < cpu_d ? cd : cpu_d;
            cpu_q = cq < cpu_q ? cq : cpu_q;
        }
        double md = BIG / best_d / 1048576, mq = BIG / best_q / 1048576;
        printf("64 MiB %-14s direct %.0f MiB/s | proxy %.0f MiB/s | ratio %.2f (best of 5) | CPU direct %.0f ms, "
               "proxy %.0f ms\n",
               names[k], md, mq, mq / md, cpu_d * 1e3, cpu_q * 1e3);
    }
    crl_egress_proxy_stop(p);
    crl_egress_free(&pol);
    rmdir(dir);
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    pthread_join(srv, NULL);
    free(d);
    free(q);
    return 0;
}
