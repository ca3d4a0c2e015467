/*
 * corral-forward: runs INSIDE a sandbox that has no network and relays TCP
 * connections on 127.0.0.1 to the gate's unix socket bound into the
 * sandbox.  Agents get an ordinary http://127.0.0.1:PORT base URL; nothing
 * else leaves the sandbox.  Built static so it runs in any image.
 *
 *   corral-forward PORT_FILE SOCKET_PATH
 *
 * It listens on an ephemeral port, writes the port number to PORT_FILE
 * (atomically), and serves until killed.  One process per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_all(int fd, const char *p, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w, n -= w;
    }
    return 0;
}

/* Copy both directions until both have reached EOF. */
static void relay(int a, int b)
{
    struct pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    int open_dirs = 2;
    char buf[65536];
    while (open_dirs > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            int peer = i ? a : b;
            if (n <= 0) {
                shutdown(peer, SHUT_WR);
                fds[i].fd = -1;
                open_dirs--;
            } else if (write_all(peer, buf, n) != 0) {
                return;
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: corral-forward PORT_FILE SOCKET_PATH\n");
        return 2;
    }
    signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(ls, 128) != 0 ||
        getsockname(ls, (struct sockaddr *)&sin, &sl) != 0) {
        perror("corral-forward: listen on 127.0.0.1");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", (unsigned)ntohs(sin.sin_port)) < 0 || fclose(f) != 0 || rename(tmp, argv[1]) != 0) {
        perror("corral-forward: port file");
        return 1;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(argv[2]) >= sizeof sun.sun_path) {
        fprintf(stderr, "corral-forward: socket path too long\n");
        return 2;
    }
    strcpy(sun.sun_path, argv[2]);
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("corral-forward: accept");
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(ls);
            int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (u < 0 || connect(u, (struct sockaddr *)&sun, sizeof sun) != 0) {
                perror("corral-forward: connect to the gate");
                _exit(1);
            }
            relay(c, u);
            _exit(0);
        }
        close(c);
    }
}
