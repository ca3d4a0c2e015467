/*
 * corral-shim: the static helper sandbox_docker copies into every container
 * as /.corral/shim (see dk_upload_shim).  It exists because `docker exec`
 * gives neither a process group nor a timeout nor a trustworthy status for
 * a killed background job; one tiny static binary works in any image,
 * even one without a shell.
 *
 *   shim init DEADLINE        PID 1: reap orphans; exit at DEADLINE (epoch
 *                             seconds, 0 = never) so the container's TTL
 *                             holds even when corral is gone.
 *   shim run [opts] -- ARGV   run ARGV as the leader of a new session and
 *                             process group and exit with its status:
 *        -t MS     timeout: SIGKILL the whole group, exit 124
 *        -i FILE   stdin from FILE (unlinked once opened)
 *        -o FILE   stdout to FILE, -e FILE stderr to FILE (job mode)
 *        -p FILE   write the group id to FILE (for `shim kill`)
 *        -s FILE   write "exit signal timed_out" to FILE when done
 *        -m TAG    a marker for `shim killm TAG` (no file is written)
 *        -x FILE   create FILE only if the timeout fired (tells a timeout
 *                  from a command that exits 124 by itself)
 *        -d        job mode: the child's stdio is -o/-e or /dev/null,
 *                  ours is closed once it runs (the exec is started
 *                  detached; we stay its supervisor)
 *     Without -d the child's stdout/stderr are relayed through pipes, so
 *     the exec ends when ARGV ends even if it left background processes
 *     holding the output open.
 *   shim kill FILE [SIG]      kill(-pgid, SIG or SIGKILL) for the id in FILE
 *   shim killm TAG            SIGKILL the group of the `shim run -m TAG` child
 *   shim mkdir DIR            mkdir -p DIR (mode 0755, as the calling user)
 *   shim ids                  print "uid gid" of the calling user
 *   shim killall              SIGKILL every process of the container but
 *                             PID 1 and itself, until none is left (run
 *                             as root, before verification)
 *   shim lease ADDR NAME END  on the HOST, not in a container: the lease
 *                             watcher (dk_lease.c).  fd 3 is a pidfd of
 *                             the corral process that leases container
 *                             NAME, fd 4 the plugin's socket pair.  When
 *                             that process dies, remove NAME through the
 *                             daemon at ADDR (a struct sockaddr in hex);
 *                             a byte on fd 4 (destroyed by corral) or
 *                             CLOCK_MONOTONIC ms END (past the TTL, 0 =
 *                             none) ends the watch without a request.
 *
 * Exit status: the child's code, 128+signal when killed, 124 on timeout,
 * 126/127 when ARGV cannot be executed, 125 for the shim's own errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    dprintf(2, "corral-shim: %s: %s\n", what, strerror(errno));
    _exit(125);
}

/* Write text to path atomically (tmp + rename). */
static void write_atomic(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        unlink(tmp);
        return;
    }
    close(fd);
    rename(tmp, path);
}

static int do_init(const char *deadline_s)
{
    long long deadline = atoll(deadline_s);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        struct timespec to = {3600, 0};
        if (deadline > 0) {
            long long left = deadline - (long long)time(NULL);
            if (left <= 0)
                return 0;
            if (left < to.tv_sec)
                to.tv_sec = left;
        }
        int sig = sigtimedwait(&set, NULL, &to);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            return 0;
    }
}

static int do_kill(const char *pidfile, const char *sigs)
{
    char buf[32] = "";
    /* A job spawned a moment ago may not have written it yet. */
    int fd = -1;
    for (int i = 0; i < 300 && (fd = open(pidfile, O_RDONLY | O_CLOEXEC)) < 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fd < 0)
        return 3;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 3;
    buf[n] = '\0';
    long pid = atol(buf);
    int sig = sigs ? atoi(sigs) : SIGKILL;
    if (pid <= 1)
        return 3;
    if (kill((pid_t)-pid, sig) != 0 && errno != ESRCH)
        return 1;
    return 0;
}

/* argv of process pid (NUL-separated) into buf; its length or -1. */
static ssize_t read_cmdline(const char *pid, char *buf, size_t cap)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static long parent_of(const char *pid)
{
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    long ppid = -1;
    if (!p || sscanf(p + 1, " %*c %ld", &ppid) != 1)
        return -1;
    return ppid;
}

/* The exec path keeps no pid file (it would cost file writes on every
 * command): find the `shim run ... -m TAG` process, then its child, the
 * group leader, through /proc. */
static int do_killm(const char *tag)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 1;
    long shim = -1;
    struct dirent *e;
    char buf[8192];
    while (shim < 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        ssize_t n = read_cmdline(e->d_name, buf, sizeof buf);
        int prev_m = 0, is_run = 0, i = 0;
        for (char *a = buf; n > 0 && a < buf + n; a += strlen(a) + 1, i++) {
            if (i == 1 && strcmp(a, "run") == 0)
                is_run = 1;
            if (is_run && prev_m && strcmp(a, tag) == 0)
                shim = atol(e->d_name);
            prev_m = strcmp(a, "-m") == 0;
            if (strcmp(a, "--") == 0)
                break;
        }
    }
    if (shim < 0) {
        closedir(d);
        return 3;
    }
    rewinddir(d);
    int killed = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (parent_of(e->d_name) == shim) {
            long pid = atol(e->d_name);
            kill((pid_t)-pid, SIGKILL);
            kill((pid_t)pid, SIGKILL);
            killed = 1;
        }
    }
    closedir(d);
    return killed ? 0 : 3;
}

/* Copy what is readable from fd to out; returns 0 at EOF, 1 otherwise.
 * A failing out (the reader went away) is remembered and data dropped. */
static int relay(int fd, int out, int *out_dead)
{
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0)
        return 0;
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 1 : 0;
    for (ssize_t off = 0; off < n && !*out_dead;) {
        ssize_t w = write(out, buf + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            *out_dead = 1;
            break;
        }
        off += w;
    }
    return 1;
}

static int do_run(int argc, char **argv)
{
    int64_t timeout_ms = 0;
    const char *in = NULL, *out = NULL, *err = NULL, *pidf = NULL, *statf = NULL, *tof = NULL;
    int detach = 0, i = 2;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-d") == 0) { detach = 1; continue; }
        if (i + 1 >= argc) { dprintf(2, "corral-shim: %s needs a value\n", o); return 125; }
        const char *v = argv[++i];
        if (strcmp(o, "-t") == 0) timeout_ms = atoll(v);
        else if (strcmp(o, "-i") == 0) in = v;
        else if (strcmp(o, "-o") == 0) out = v;
        else if (strcmp(o, "-e") == 0) err = v;
        else if (strcmp(o, "-p") == 0) pidf = v;
        else if (strcmp(o, "-s") == 0) statf = v;
        else if (strcmp(o, "-m") == 0) continue;
        else if (strcmp(o, "-x") == 0) tof = v;
        else { dprintf(2, "corral-shim: unknown option %s\n", o); return 125; }
    }
    if (i + 1 >= argc) { dprintf(2, "corral-shim: no command\n"); return 125; }
    char **cmd = argv + i + 1;

    int infd = -1;
    if (in) {
        infd = open(in, O_RDONLY | O_CLOEXEC);
        if (infd < 0)
            die(in);
        unlink(in);
    }
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (!detach && (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)))
        die("pipe");

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        die("signalfd");
    signal(SIGPIPE, SIG_IGN);

    /* The child closes `sync` once it leads its own group, so the pid file
     * never names a group that does not exist yet. */
    int sync[2];
    if (pipe2(sync, O_CLOEXEC))
        die("pipe");
    int64_t start = mono_ms();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        setsid();
        close(sync[0]);
        close(sync[1]);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (infd >= 0 && dup2(infd, 0) < 0)
            _exit(125);
        if (detach) {
            int nul = open("/dev/null", O_RDWR);
            int fo = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : nul;
            int fe = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : nul;
            if (nul < 0 || fo < 0 || fe < 0) {
                dprintf(2, "corral-shim: cannot open job output: %s\n", strerror(errno));
                _exit(125);
            }
            if (infd < 0)
                dup2(nul, 0);
            dup2(fo, 1);
            dup2(fe, 2);
        } else {
            dup2(po[1], 1);
            dup2(pe[1], 2);
        }
        execvp(cmd[0], cmd);
        int e = errno;
        dprintf(2, "corral-shim: %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    if (infd >= 0)
        close(infd);
    close(sync[1]);
    char c;
    while (read(sync[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(sync[0]);
    char num[32];
    snprintf(num, sizeof num, "%ld\n", (long)pid);
    if (pidf)
        write_atomic(pidf, num);
    if (detach) {
        if (write(1, num, strlen(num)) < 0) { /* nobody listening: fine */ }
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(nul, 2);
            close(nul);
        }
    } else {
        close(po[1]);
        close(pe[1]);
        fcntl(po[0], F_SETFL, O_NONBLOCK);
        fcntl(pe[0], F_SETFL, O_NONBLOCK);
    }

    int status = 0, exited = 0, timed_out = 0, dead1 = 0, dead2 = 0;
    int open_o = !detach, open_e = !detach;
    while (!exited) {
        struct pollfd fds[3] = {{sfd, POLLIN, 0}, {open_o ? po[0] : -1, POLLIN, 0},
                                {open_e ? pe[0] : -1, POLLIN, 0}};
        int wait_ms = -1;
        if (timeout_ms > 0 && !timed_out) {
            int64_t left = start + timeout_ms - mono_ms();
            wait_ms = left <= 0 ? 0 : (left > 1000000000 ? 1000000000 : (int)left);
        }
        int n = poll(fds, 3, wait_ms);
        if (n < 0 && errno != EINTR)
            die("poll");
        if (n == 0 && timeout_ms > 0 && !timed_out) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            continue;
        }
        if (fds[1].revents && !relay(po[0], 1, &dead1))
            open_o = 0;
        if (fds[2].revents && !relay(pe[0], 2, &dead2))
            open_e = 0;
        if (fds[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo != SIGCHLD)
                    kill(-pid, (int)si.ssi_signo);
            }
            pid_t w;
            while ((w = waitpid(-1, &status, WNOHANG)) > 0 || (w < 0 && errno == EINTR))
                if (w == pid) {
                    exited = 1;
                    break;
                }
        }
    }
    /* The child is gone: drain what it wrote; whatever it left running in
     * the background keeps its end of the pipe, so stop at "nothing now". */
    while (open_o && relay(po[0], 1, &dead1) && !dead1) {
        struct pollfd pf = {po[0], POLLIN, 0};
        if (poll(&pf, 1, 0) <= 0)
            break;
    }
    while (open_e && relay(pe[0], 2, &dead2) && !dead2) {
        struct pollfd pf = {pe[0], POLLIN, 0};
        if (poll(&pf, 1, 0) <= 0)
            break;
    }
    int code, sig = 0;
    if (timed_out) {
        code = 124;
        sig = SIGKILL;
    } else if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
        code = 128 + sig;
    } else {
        code = WEXITSTATUS(status);
    }
    if (timed_out && tof)
        write_atomic(tof, "timeout\n");
    if (statf) {
        char line[64];
        snprintf(line, sizeof line, "%d %d %d\n", code, sig, timed_out);
        write_atomic(statf, line);
    }
    if (pidf && !statf)
        unlink(pidf);
    return code;
}

static int do_mkdir(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                dprintf(2, "corral-shim: mkdir %s: %s\n", p, strerror(errno));
                return 1;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : 1;
}

/* kill(-1) spares PID 1 and the caller; repeated until nothing is left
 * to signal (ESRCH), as a process may fork while the signal goes out and
 * the dead stay signalable until PID 1 reaps them. */
static int do_killall(void)
{
    for (int i = 0; i < 500; i++) {
        if (kill(-1, SIGKILL) != 0)
            return errno == ESRCH ? 0 : 1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 1;
}

/* One removal attempt: 1 when the daemon answered that the container is
 * gone or going (204, 404, 409), 0 to try again. */
static int lease_remove(const struct sockaddr_storage *addr, socklen_t alen, const char *req, size_t len)
{
    int s = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    int done = 0;
    char buf[64];
    size_t off = 0, got = 0;
    if (connect(s, (const struct sockaddr *)addr, alen) == 0) {
        while (off < len) {
            ssize_t w = send(s, req + off, len - off, MSG_NOSIGNAL);
            if (w <= 0 && errno != EINTR)
                break;
            if (w > 0)
                off += (size_t)w;
        }
        /* "HTTP/1.1 204": the status is all we need; removing a busy
         * container can take a while. */
        while (off == len && got < 12) {
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

static int do_lease(const char *hex, const char *name, const char *end_s)
{
    struct sockaddr_storage addr;
    size_t n = strlen(hex) / 2;
    if (strlen(hex) % 2 || n > sizeof addr || n < sizeof(sa_family_t) || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name))
        return 125;
    memset(&addr, 0, sizeof addr);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 125;
        ((unsigned char *)&addr)[i] = (unsigned char)v;
    }
    char req[384];
    int rl = snprintf(req, sizeof req,
                      "DELETE /containers/%s?force=1&v=1 HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n", name);
    if (rl < 0 || (size_t)rl >= sizeof req)
        return 125;
    int64_t end = strtoll(end_s, NULL, 10);
    struct pollfd pf[2] = {{3, POLLIN, 0}, {4, POLLIN, 0}};
    nfds_t nf = 2;
    for (;;) {
        int64_t left = end > 0 ? end - mono_ms() : -1;
        if (end > 0 && left <= 0)
            return 0; /* past the deadline: PID 1 stopped the container */
        int r = poll(pf, nf, left < 0 || left > 3600000 ? 3600000 : (int)left);
        if (r < 0 && errno != EINTR)
            return 125;
        if (r <= 0)
            continue;
        if (pf[0].revents)
            break; /* the lease's process is gone */
        if (nf == 2 && pf[1].revents) {
            char b;
            ssize_t k = read(4, &b, 1);
            if (k == 1)
                return 0; /* destroyed by corral */
            if (k == 0)
                nf = 1; /* handle closed: the lease still holds */
        }
    }
    /* The daemon may be restarting: keep trying for a minute. */
    for (int i = 0; i < 60 && !lease_remove(&addr, (socklen_t)n, req, (size_t)rl); i++) {
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "lease") == 0)
        return do_lease(argv[2], argv[3], argv[4]);
    if (argc >= 2 && strcmp(argv[1], "killall") == 0)
        return do_killall();
    if (argc >= 3 && strcmp(argv[1], "killm") == 0)
        return do_killm(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "ids") == 0)
        return printf("%ld %ld\n", (long)getuid(), (long)getgid()) > 0 ? 0 : 1;
    if (argc >= 3 && strcmp(argv[1], "mkdir") == 0)
        return do_mkdir(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "init") == 0)
        return do_init(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return do_run(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "kill") == 0)
        return do_kill(argv[2], argc >= 4 ? argv[3] : NULL);
    dprintf(2, "usage: shim init DEADLINE | run [-t MS] [-i F] [-o F] [-e F] [-p F] [-s F] [-d] -- ARGV | "
               "kill PIDFILE [SIG]\n");
    return 125;
}
