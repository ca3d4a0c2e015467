/* The egress proxy over its unix socket, against HTTP and echo servers this
 * test runs on 127.0.0.1 under names from the proxy's host map: allowed and
 * denied hosts, methods, paths, rate limits, private addresses, CONNECT
 * with the ClientHello's server name, phase switches, slow and surplus
 * clients, and the decision log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "egress/egress_proxy.h"
#include "tls_hello.h"

/* ---- loopback servers ---- */

struct server {
    int fd;
    uint16_t port;
    int echo; /* 0: answer one HTTP request; 1: echo bytes until EOF */
    pthread_t th;
};

static void *server_conn(void *arg)
{
    int *a = arg;
    int fd = a[0], echo = a[1];
    free(a);
    char buf[8192];
    size_t n = 0;
    if (echo) {
        ssize_t r;
        while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
            if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
                break;
    } else {
        while (n < sizeof buf - 1) {
            ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            buf[n] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[n] = '\0';
        char *eol = strstr(buf, "\r\n");
        char *host = strstr(buf, "\r\nHost: ");
        char body[1024];
        int bl = snprintf(body, sizeof body, "line=%.*s host=%.*s conn=%s", eol ? (int)(eol - buf) : 0, buf,
                          host ? (int)strcspn(host + 8, "\r") : 0, host ? host + 8 : "",
                          strstr(buf, "Connection: close") ? "close" : "?");
        char out[1200];
        int ol = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", bl,
                          body);
        send(fd, out, (size_t)ol, MSG_NOSIGNAL);
    }
    close(fd);
    return NULL;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        int *a = malloc(2 * sizeof *a);
        a[0] = fd, a[1] = s->echo;
        pthread_t th;
        pthread_create(&th, NULL, server_conn, a);
        pthread_detach(th);
    }
}

static void server_start(struct server *s, int echo)
{
    s->echo = echo;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(s->fd, 64), 0);
    getsockname(s->fd, (struct sockaddr *)&sin, &sl);
    s->port = ntohs(sin.sin_port);
    pthread_create(&s->th, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
}

/* ---- a proxy and its clients ---- */

static const char *POLICY =
    "{\"default\":\"deny\",\"rules\":["
    "{\"host_pattern\":\"allowed.test\",\"action\":\"allow\",\"priority\":10},"
    "{\"host_pattern\":\"api.test\",\"action\":\"allow\",\"methods\":[\"GET\"],\"path_pattern\":\"/ok/*\",\"priority\":20},"
    "{\"host_pattern\":\"limited.test\",\"action\":\"allow\",\"rate_limit_rpm\":2,\"priority\":30},"
    "{\"host_pattern\":\"localhost\",\"action\":\"allow\",\"priority\":40},"
    "{\"host_pattern\":\"127.0.0.1\",\"action\":\"allow\",\"priority\":50},"
    "{\"host_pattern\":\"tls.test\",\"action\":\"allow\",\"priority\":60}],"
    "\"phases\":{\"verify\":{\"rules\":[{\"host_pattern\":\"verify.test\",\"action\":\"allow\"}]}}}";
static const char *MAP = "allowed.test=127.0.0.1,denied.test=127.0.0.1,api.test=127.0.0.1,limited.test=127.0.0.1,"
                         "verify.test=127.0.0.1,tls.test=127.0.0.1,other.test=127.0.0.1";

struct fx {
    char dir[64], sock[96];
    struct crl_egress policy;
    crl_egress_proxy *p;
    struct server http, echo;
    int denials;
};

static void on_deny(void *ud, const struct crl_egress_entry *e)
{
    (void)e;
    __atomic_add_fetch(&((struct fx *)ud)->denials, 1, __ATOMIC_RELAXED);
}

static void proxy_up(struct fx *f, unsigned max_conn, unsigned header_ms)
{
    struct corral_call call = {0};
    static int seq;
    snprintf(f->sock, sizeof f->sock, "%s/egress-%d.sock", f->dir, ++seq);
    struct crl_egress_proxy_options o = {.socket_path = f->sock, .policy = &f->policy, .host_map = MAP,
                                         .max_connections = max_conn, .header_timeout_ms = header_ms,
                                         .on_deny = on_deny, .ud = f};
    f->p = crl_egress_proxy_start(&o, &call);
    if (!f->p)
        fail_msg("%s", call.message);
    crl_egress_proxy_set_phase(f->p, CRL_EGRESS_AGENT);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/egress-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    cJSON *j = cJSON_Parse(POLICY);
    struct corral_call call = {0};
    assert_int_equal(crl_egress_from_json(j, "policy", CRL_EGRESS_OPERATOR, &f->policy, &call), 0);
    cJSON_Delete(j);
    server_start(&f->http, 0);
    server_start(&f->echo, 1);
    proxy_up(f, 0, 300);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    crl_egress_proxy_stop(f->p);
    server_stop(&f->http);
    server_stop(&f->echo);
    crl_egress_free(&f->policy);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int dial(const char *sock)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    snprintf(su.sun_path, sizeof su.sun_path, "%s", sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&su, sizeof su), 0);
    return fd;
}

/* Read what comes within ms into buf (NUL-terminated); stops at EOF. */
static size_t slurp(int fd, char *buf, size_t cap, int ms)
{
    size_t n = 0;
    struct pollfd pf = {fd, POLLIN, 0};
    while (n < cap - 1 && poll(&pf, 1, ms) == 1) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

/* Send one request (fmt gets the HTTP server's port) and return the whole answer. */
static char *ask(struct fx *f, const char *method, const char *host, const char *path)
{
    char req[512], *out = malloc(4096);
    int fd = dial(f->sock);
    snprintf(req, sizeof req, "%s http://%s:%u%s HTTP/1.1\r\nHost: %s\r\nProxy-Connection: keep-alive\r\n\r\n",
             method, host, (unsigned)f->http.port, path, host);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    slurp(fd, out, 4096, 5000);
    close(fd);
    return out;
}

static void expect(struct fx *f, const char *method, const char *host, const char *path, const char *want)
{
    char *a = ask(f, method, host, path);
    if (!strstr(a, want))
        fail_msg("%s %s%s: answer lacks \"%s\":\n%s", method, host, path, want, a);
    free(a);
}

/* The proxy's log once it holds at least n entries: a connection's entry is
 * added when its thread finishes, which may be just after the client read
 * the answer (polls for up to 3 s; the caller frees). */
static cJSON *settled_log(struct fx *f, int n)
{
    for (int i = 0;; i++) {
        cJSON *log = crl_egress_log_json(crl_egress_proxy_log(f->p));
        if (cJSON_GetArraySize(log) >= n || i == 300)
            return log;
        cJSON_Delete(log);
        usleep(10000);
    }
}

/* The log entry whose rule is `rule` (fails the test when there is none). */
static cJSON *by_rule(cJSON *log, const char *rule)
{
    cJSON *e;
    cJSON_ArrayForEach(e, log)
    {
        cJSON *r = cJSON_GetObjectItem(e, "rule");
        if (cJSON_IsString(r) && strcmp(r->valuestring, rule) == 0)
            return e;
    }
    fail_msg("no log entry with rule %s", rule);
    return NULL;
}

static void test_http_rules(void **state)
{
    struct fx *f = *state;
    char want[128];
    snprintf(want, sizeof want, "line=GET /x HTTP/1.1 host=allowed.test:%u conn=close", (unsigned)f->http.port);
    expect(f, "GET", "allowed.test", "/x", want);
    expect(f, "GET", "denied.test", "/x", "HTTP/1.1 403 Forbidden\r\n");
    expect(f, "GET", "denied.test", "/x", "X-Corral-Egress-Rule: default\r\n");
    expect(f, "GET", "api.test", "/ok/1", "line=GET /ok/1 ");
    expect(f, "POST", "api.test", "/ok/1", "403 Forbidden");
    expect(f, "GET", "api.test", "/nope", "403 Forbidden");
    expect(f, "GET", "limited.test", "/", "200 OK");
    expect(f, "GET", "limited.test", "/", "200 OK");
    expect(f, "GET", "limited.test", "/", "429 Too Many Requests");
    expect(f, "GET", "limited.test", "/", "rule rules[2]");
    /* localhost is allowed by name but resolves to loopback, which no rule names */
    expect(f, "GET", "localhost", "/", "X-Corral-Egress-Rule: private_address");
    expect(f, "GET", "127.0.0.1", "/", "line=GET / HTTP/1.1");
    expect(f, "GET", "https://allowed.test", "/", "400 Bad Request");
    assert_true(f->denials >= 5);
}

static void test_connect_sni(void **state)
{
    struct fx *f = *state;
    unsigned char hello[600];
    char buf[2048], req[128];
    snprintf(req, sizeof req, "CONNECT tls.test:%u HTTP/1.1\r\nHost: tls.test\r\n\r\n", (unsigned)f->echo.port);
    /* the hello agrees: the tunnel carries it both ways */
    int fd = dial(f->sock);
    size_t hn = tls_hello(hello, "tls.test");
    send(fd, req, strlen(req), 0);
    send(fd, hello, hn, 0);
    size_t n = slurp(fd, buf, sizeof buf, 1000);
    const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    assert_int_equal(n, strlen(ok) + hn);
    assert_memory_equal(buf + strlen(ok), hello, hn);
    /* a phase switch closes an open tunnel */
    crl_egress_proxy_set_phase(f->p, CRL_EGRESS_AGENT);
    assert_int_equal(slurp(fd, buf, sizeof buf, 3000), 0);
    close(fd);
    /* it names another host: refused, nothing echoed */
    fd = dial(f->sock);
    hn = tls_hello(hello, "other.test");
    send(fd, req, strlen(req), 0);
    send(fd, hello, hn, 0);
    n = slurp(fd, buf, sizeof buf, 3000);
    assert_int_equal(n, strlen(ok));
    close(fd);
    /* a denied CONNECT */
    fd = dial(f->sock);
    snprintf(req, sizeof req, "CONNECT other.test:%u HTTP/1.1\r\n\r\n", (unsigned)f->echo.port);
    send(fd, req, strlen(req), 0);
    slurp(fd, buf, sizeof buf, 3000);
    assert_non_null(strstr(buf, "403 Forbidden"));
    close(fd);
    cJSON *log = settled_log(f, 3);
    char *text = cJSON_PrintUnformatted(log);
    assert_non_null(strstr(text, "\"method\":\"CONNECT\",\"bytes\":"));
    assert_non_null(strstr(text, "\"host\":\"tls.test\",\"port\""));
    assert_non_null(strstr(text, "\"decision\":\"deny\",\"rule\":\"sni_mismatch\""));
    free(text);
    cJSON_Delete(log);
}

static void test_phases(void **state)
{
    struct fx *f = *state;
    crl_egress_proxy_set_phase(f->p, CRL_EGRESS_VERIFY);
    expect(f, "GET", "allowed.test", "/", "403 Forbidden");
    expect(f, "GET", "verify.test", "/", "200 OK");
    crl_egress_proxy_set_phase(f->p, CRL_EGRESS_SETUP); /* inherits the task-wide policy */
    expect(f, "GET", "allowed.test", "/", "200 OK");
    crl_egress_proxy_set_phase(f->p, -1);
    expect(f, "GET", "allowed.test", "/", "rule no_phase");
    cJSON *log = settled_log(f, 4);
    assert_int_equal(cJSON_GetArraySize(log), 4);
    /* An allowed request's entry is added when its relay ends, a refusal's
     * at once: the entries are found by rule, not by position. */
    cJSON *first = by_rule(log, "default");
    assert_string_equal(cJSON_GetObjectItem(first, "phase")->valuestring, "verify");
    assert_string_equal(cJSON_GetObjectItem(first, "decision")->valuestring, "deny");
    cJSON *second = by_rule(log, "phases.verify.rules[0]");
    assert_string_equal(cJSON_GetObjectItem(second, "path")->valuestring, "/");
    assert_true(cJSON_GetObjectItem(second, "bytes")->valuedouble > 50);
    assert_non_null(cJSON_GetObjectItem(second, "time"));
    assert_null(cJSON_GetObjectItem(by_rule(log, "no_phase"), "phase")->valuestring);
    cJSON_Delete(log);
}

static void test_slow_and_surplus(void **state)
{
    struct fx *f = *state;
    /* a slow head does not hold up others, and gets 408 */
    int slow = dial(f->sock);
    send(slow, "GET http://allowed.te", 21, 0);
    expect(f, "GET", "allowed.test", "/", "200 OK");
    char buf[512];
    slurp(slow, buf, sizeof buf, 3000);
    assert_non_null(strstr(buf, "408"));
    close(slow);
    /* a second proxy of two connections: a third is turned away at once */
    crl_egress_proxy *main_p = f->p;
    proxy_up(f, 2, 2000);
    int a = dial(f->sock), b = dial(f->sock);
    usleep(100000);
    int c = dial(f->sock);
    slurp(c, buf, sizeof buf, 1000);
    assert_non_null(strstr(buf, "503"));
    close(a), close(b), close(c);
    crl_egress_proxy_stop(f->p); /* with nothing pending */
    f->p = main_p;
}

/* A thousand connections that send nothing: the proxy holds its 256, turns
 * the others away at once, closes the held ones at the header timeout, and
 * serves again. */
static void test_flood(void **state)
{
    struct fx *f = *state;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < 2600)
        skip();
    if (rl.rlim_cur < 2600) {
        rl.rlim_cur = 2600;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    crl_egress_proxy *main_p = f->p;
    proxy_up(f, 0, 3000); /* the held ones outlast the flood's arrival */
    enum { N = 1000 };
    int *fds = malloc(N * sizeof *fds);
    char *answered = calloc(N, 1);
    for (int i = 0; i < N; i++)
        fds[i] = dial(f->sock);
    char buf[256];
    int turned_away = 0, closed = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            if (answered[i] || slurp(fds[i], buf, sizeof buf, pass ? 6000 : 20) == 0)
                continue;
            answered[i] = 1;
            turned_away += strstr(buf, " 503 ") != NULL;
            closed += strstr(buf, " 408 ") != NULL;
        }
    assert_int_equal(turned_away, N - 256);
    assert_int_equal(closed, 256);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    free(fds);
    free(answered);
    expect(f, "GET", "allowed.test", "/", "200 OK");
    crl_egress_proxy_stop(f->p);
    f->p = main_p;
}

static void test_log_cap(void **state)
{
    (void)state;
    struct crl_egress_log l;
    assert_int_equal(crl_egress_log_init(&l, 2, 1), 0);
    struct crl_egress_entry e = {.phase = 1, .port = 80, .decision = "deny", .bytes = 5};
    strcpy(e.host, "a.test"), strcpy(e.rule, "default"), strcpy(e.method, "GET");
    for (int i = 0; i < 5; i++)
        crl_egress_log_add(&l, &e);
    strcpy(e.host, "b.test");
    crl_egress_log_add(&l, &e);
    cJSON *j = crl_egress_log_json(&l);
    assert_int_equal(cJSON_GetArraySize(j), 4);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "count")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "bytes")->valueint, 15);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 3), "dropped")->valueint, 1);
    cJSON_Delete(j);
    crl_egress_log_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_and_surplus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
        cmocka_unit_test(test_log_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
