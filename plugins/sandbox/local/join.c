/* sandbox_local: start a process inside a sandbox.
 *
 * The caller's process may be multithreaded, and setns() into a user
 * namespace is refused to multithreaded processes, so the joining is done
 * in a forked child ("A") that enters the holder's user namespace first,
 * then mnt, pid, net, ipc and uts.  Entering a pid namespace only affects
 * children, so A clones the real command ("B") with CLONE_PARENT: B is in
 * the sandbox's pid namespace but is OUR child, so we wait for it, get its
 * real status and kill its process group directly.  A reports B's pid over
 * a CLOEXEC pipe and exits; B reports a failure before exec on the same
 * pipe, so reading it to EOF tells us exec succeeded.
 *
 * A and B are made with clone(CLONE_VM | CLONE_VFORK) (a ThreadSanitizer
 * build forks, see LAUNCH_SHARE), as posix_spawn does: they run on a stack of their own in the caller's memory while the
 * calling thread waits, so no copy of the caller's (large, multithreaded)
 * address space is made and the caller takes no copy-on-write faults
 * afterwards (docs/batches.md, "Benchmark").  So between clone and exec
 * only async-signal-safe calls are made, nothing the caller reads is
 * written, every string is prepared by the caller, and signals stay
 * blocked until B has reset every handler to its default. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct launch_msg {
    int kind;  /* 1: B's pid in val; 2: failure (stage, errno in val) */
    int stage;
    int val;
};

static void report(int fd, int kind, int stage, int val)
{
    struct launch_msg m = {kind, stage, val};
    ssize_t w;
    do {
        w = write(fd, &m, sizeof(m));
    } while (w < 0 && errno == EINTR);
}

static const char *env_path(char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return "/usr/local/bin:/usr/bin:/bin";
}

/* execve argv[0], searching the command's own PATH when it has no '/'. */
static int exec_search(char *const *argv, char *const *envp)
{
    const char *name = argv[0];
    if (strchr(name, '/')) {
        execve(name, argv, envp);
        return errno;
    }
    size_t nlen = strlen(name);
    int saved = ENOENT;
    const char *p = env_path(envp);
    char buf[4096];
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0) {
            buf[0] = '.';
            len = 1;
        } else if (len + nlen + 2 <= sizeof(buf)) {
            memcpy(buf, p, len);
        } else {
            len = 0;
        }
        if (len > 0 && len + nlen + 2 <= sizeof(buf)) {
            buf[len] = '/';
            memcpy(buf + len + 1, name, nlen + 1);
            execve(buf, argv, envp);
            if (errno == EACCES)
                saved = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR)
                return errno;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    return saved;
}

static int move_high(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static int set_limit(int res, int64_t v)
{
    if (v <= 0)
        return 0;
    struct rlimit rl = {(rlim_t)v, (rlim_t)v};
    return setrlimit(res, &rl);
}

/* What A and B read: the caller's, left untouched by them. */
struct launch_args {
    const struct local_launch *l;
    const struct local_limits *lim;
    const int *cg_fds;
    const int *nsfd; /* N_NS entries, -1 = not joined */
    int rep;         /* the report pipe's write end */
    char *b_stack;   /* the top of B's stack */
};

/* B: the command itself, inside every namespace.  Returns only when it
 * could not exec, with B's exit status (clone's fn returning ends B by a
 * plain exit system call: no noreturn call, which a sanitizer build would
 * make touch the caller's stack bookkeeping). */
static int child_command(const struct local_launch *l, int rep, const struct local_limits *lim,
                          const int *cg_fds)
{
    crl_signals_default();
    /* A session of its own (and so its own process group, which job_kill
     * signals): the caller's controlling terminal, if any, is not this
     * process's, so /dev/tty fails with ENXIO and TIOCSTI cannot type into
     * the user's shell. */
    if (setsid() < 0)
        setpgid(0, 0);

    /* The joined child holds every capability of the sandbox's user
     * namespace; the command must hold none (like bwrap's own --cap-drop). */
    for (int cap = 0; cap < 64; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

    if (chdir(l->cwd) < 0) {
        report(rep, 2, LOCAL_STAGE_CWD, errno);
        return 127;
    }
    int in = move_high(l->stdin_fd), out = move_high(l->stdout_fd), err = move_high(l->stderr_fd);
    if (in < 0)
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (l->out_path)
        out = open(l->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    else if (out < 0)
        out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (l->err_path)
        err = open(l->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    else if (err < 0)
        err = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        report(rep, 2, LOCAL_STAGE_STDIO, errno);
        return 127;
    }
    for (int i = 0; i < LOCAL_MAX_CGROUPS; i++) {
        if (cg_fds[i] >= 0 && write(cg_fds[i], "0", 1) != 1) {
            report(rep, 2, LOCAL_STAGE_LIMITS, errno);
            return 127;
        }
    }
    if (set_limit(RLIMIT_AS, lim->memory_bytes) < 0 || set_limit(RLIMIT_NPROC, lim->pids_max) < 0 ||
        set_limit(RLIMIT_FSIZE, lim->fsize_bytes) < 0) {
        report(rep, 2, LOCAL_STAGE_LIMITS, errno);
        return 127;
    }
    /* Last before exec: the filter also refuses keyctl to what follows. */
    if (local_confine() < 0) {
        report(rep, 2, LOCAL_STAGE_CONFINE, errno);
        return 127;
    }
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    int e = exec_search(l->argv, l->envp);
    report(rep, 2, LOCAL_STAGE_EXEC, e);
    return e == ENOENT ? 127 : 126;
}

/* Join order.  bwrap may run the sandbox in a user namespace nested in the
 * one that owns the other namespaces (unprivileged, it needs uid 0 for
 * /dev/pts, then drops to the caller's uid in a child user ns).  So we
 * enter the owner of the mount namespace first (where we, the creator,
 * hold every capability), then mnt/pid/net/ipc/uts, then the holder's own
 * user namespace when it differs. */
static const char *const ns_names[] = {"owner", "mnt", "pid", "net", "ipc", "uts", "user"};
enum { NS_OWNER = 0, NS_MNT = 1, NS_NET = 3, NS_USER = 6, N_NS = 7 };

/* How A and B are made.  A ThreadSanitizer build keeps process-wide
 * tables of signal handlers in user memory, which B's reset to the
 * defaults would overwrite in a shared address space: there A is forked
 * and B cloned from A's copy, as before. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAUNCH_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(LAUNCH_TSAN)
#define LAUNCH_TSAN 1
#endif
#ifdef LAUNCH_TSAN
#define LAUNCH_SHARE 0
#else
#define LAUNCH_SHARE (CLONE_VM | CLONE_VFORK)
#endif

/* B's entry (clone's fn). */
static int run_command(void *arg)
{
    const struct launch_args *a = arg;
    return child_command(a->l, a->rep, a->lim, a->cg_fds);
}

/* A's entry: join every namespace, clone B as the caller's child (it waits
 * for B's exec, CLONE_VFORK) and report B's pid.  Its return ends A. */
static int join_and_clone(void *arg)
{
    const struct launch_args *a = arg;
    for (int i = 0; i < N_NS; i++) {
        if (a->nsfd[i] >= 0 && setns(a->nsfd[i], 0) < 0) {
            report(a->rep, 2, LOCAL_STAGE_JOIN, errno);
            return 127;
        }
    }
    int b = clone(run_command, a->b_stack, LAUNCH_SHARE | CLONE_PARENT | SIGCHLD, arg);
    if (b < 0) {
        report(a->rep, 2, LOCAL_STAGE_JOIN, errno);
        return 127;
    }
    report(a->rep, 1, 0, b);
    return 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAUNCH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LAUNCH_ASAN)
#define LAUNCH_ASAN 1
#endif
#ifdef LAUNCH_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* A's and B's frames left their redzones poisoned in the shadow of their
 * stacks (they never return): clear it before the memory goes back. */
static void unpoison_stacks(void *p, size_t n)
{
#ifdef LAUNCH_ASAN
    __asan_unpoison_memory_region(p, n);
#else
    (void)p;
    (void)n;
#endif
}

/* Each of A's and B's stacks (exec_search's path buffer is the biggest
 * frame); sanitizer builds need far more. */
enum { LAUNCH_STACK = 256 * 1024 };

/* Start A on its own stack; A's pid, or -1 with errno.  The calling thread
 * waits until B has exec'd or failed (and A has exited). */
static pid_t clone_joiner(struct launch_args *a)
{
    char *stacks = mmap(NULL, 2 * LAUNCH_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                        -1, 0);
    if (stacks == MAP_FAILED)
        return -1;
    a->b_stack = stacks + 2 * LAUNCH_STACK; /* stacks grow down */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
#ifdef LAUNCH_TSAN
    pid_t pid = fork();
    if (pid == 0)
        _exit(join_and_clone(a));
#else
    pid_t pid = clone(join_and_clone, stacks + LAUNCH_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
#endif
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    unpoison_stacks(stacks, 2 * LAUNCH_STACK);
    munmap(stacks, 2 * LAUNCH_STACK);
    errno = e;
    return pid;
}

/* The holder's pidfd, kept in sbx: opened first, then checked by its
 * start time (the pidfd pins the process checked, so a pid recycled later
 * cannot pass for it).  -1 when the holder is gone. */
static int holder_pidfd(struct corral_sbx *sbx)
{
    int fd = atomic_load(&sbx->holder_pidfd);
    if (fd >= 0 || sbx->meta.holder_pid <= 1)
        return fd;
    fd = (int)syscall(SYS_pidfd_open, sbx->meta.holder_pid, 0); /* close-on-exec */
    if (fd < 0)
        return -1;
    if (local_proc_start(-1, sbx->meta.holder_pid) != sbx->meta.holder_start) {
        close(fd);
        return -1;
    }
    int none = -1;
    if (!atomic_compare_exchange_strong(&sbx->holder_pidfd, &none, fd)) {
        close(fd); /* another thread kept one first */
        fd = none;
    }
    return fd;
}

/* 1 while the process behind pidfd has not exited (a zombie has). */
static int pidfd_running(int pidfd)
{
    struct pollfd p = {pidfd, POLLIN, 0};
    int n;
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 0;
}

int local_holder_open(struct corral_sbx *sbx, int *pdir, corral_call *call)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d", (int)sbx->meta.holder_pid);
    int pfd = holder_pidfd(sbx);
    *pdir = pfd >= 0 ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    /* Still running after the open: the pid named the holder meanwhile. */
    if (*pdir >= 0 && pidfd_running(pfd))
        return 0;
    if (*pdir >= 0)
        close(*pdir);
    *pdir = -1;
    return sbx->lp->host->fail(call, CORRAL_ENOTFOUND, "local sandbox %s is gone (its holder exited: TTL or destroy)",
                               sbx->meta.id);
}

int local_holder_same(struct corral_sbx *sbx, int pdir, corral_call *call)
{
    (void)pdir;
    int pfd = atomic_load(&sbx->holder_pidfd);
    if (pfd >= 0 && pidfd_running(pfd))
        return 0;
    return sbx->lp->host->fail(call, CORRAL_ENOTFOUND, "local sandbox %s is gone", sbx->meta.id);
}

int local_launch(struct corral_sbx *sbx, const struct local_launch *l, pid_t *pid, int *pidfd, int *stage,
                 int *err, corral_call *call)
{
    const struct corral_host *h = sbx->lp->host;
    *pid = -1;
    *pidfd = -1;
    *stage = 0;
    *err = 0;

    int pdir;
    int rc = local_holder_open(sbx, &pdir, call);
    if (rc)
        return rc;
    int nsfd[N_NS];
    for (int i = 0; i < N_NS; i++) {
        nsfd[i] = -1;
        if (rc || i == NS_OWNER)
            continue;
        if (i == NS_NET && sbx->meta.net_shared)
            continue;
        char p[16];
        snprintf(p, sizeof(p), "ns/%s", ns_names[i]);
        nsfd[i] = openat(pdir, p, O_RDONLY | O_CLOEXEC);
        if (nsfd[i] < 0)
            rc = h->fail(call, CORRAL_EIO, "local sandbox %s: open /proc/%d/%s: %s", sbx->meta.id,
                         (int)sbx->meta.holder_pid, p, strerror(errno));
    }
    if (!rc) {
        nsfd[NS_OWNER] = ioctl(nsfd[NS_MNT], NS_GET_USERNS);
        struct stat a, b;
        if (nsfd[NS_OWNER] < 0) {
            rc = h->fail(call, CORRAL_EIO, "local sandbox %s: owner of the mount namespace: %s", sbx->meta.id,
                         strerror(errno));
        } else {
            fcntl(nsfd[NS_OWNER], F_SETFD, FD_CLOEXEC);
            if (fstat(nsfd[NS_OWNER], &a) == 0 && fstat(nsfd[NS_USER], &b) == 0 && a.st_ino == b.st_ino &&
                a.st_dev == b.st_dev) {
                close(nsfd[NS_USER]); /* not nested: one user namespace */
                nsfd[NS_USER] = -1;
            }
        }
    }
    /* The fds name the holder's namespaces: re-check that it is still the
     * same process, so a recycled pid cannot have slipped in. */
    if (!rc)
        rc = local_holder_same(sbx, pdir, call);
    close(pdir);
    /* Limits: cgroups where the sandbox has them, rlimits for the rest. */
    struct local_limits lim = {0};
    int cg_fds[LOCAL_MAX_CGROUPS] = {-1, -1, -1};
    if (l->limits) {
        lim = *l->limits;
        if (sbx->meta.cg_memory)
            lim.memory_bytes = 0;
        if (sbx->meta.cg_pids)
            lim.pids_max = 0;
        int e = rc ? 0 : local_cgroup_open_procs(&sbx->meta, cg_fds);
        if (e < 0)
            rc = h->fail(call, CORRAL_EIO, "local sandbox %s: its cgroup: %s", sbx->meta.id, strerror(-e));
    }
    int rep[2] = {-1, -1};
    if (!rc && pipe2(rep, O_CLOEXEC) < 0)
        rc = h->fail(call, CORRAL_EIO, "pipe: %s", strerror(errno));
    pid_t a = -1;
    if (!rc) {
        struct launch_args args = {.l = l, .lim = &lim, .cg_fds = cg_fds, .nsfd = nsfd, .rep = rep[1]};
        a = clone_joiner(&args);
        if (a < 0)
            rc = h->fail(call, CORRAL_ETRANSIENT, "clone: %s", strerror(errno));
    }
    for (int i = 0; i < N_NS; i++)
        if (nsfd[i] >= 0)
            close(nsfd[i]);
    for (int i = 0; i < LOCAL_MAX_CGROUPS; i++)
        if (cg_fds[i] >= 0)
            close(cg_fds[i]);
    if (rc) {
        if (rep[0] >= 0) {
            close(rep[0]);
            close(rep[1]);
        }
        return rc;
    }
    close(rep[1]);
    pid_t b = -1;
    struct launch_msg m;
    for (;;) {
        ssize_t r = read(rep[0], &m, sizeof(m));
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof(m))
            break;
        if (m.kind == 1)
            b = m.val;
        else if (m.kind == 2 && !*stage) {
            *stage = m.stage;
            *err = m.val;
        }
    }
    close(rep[0]);
    int st;
    while (waitpid(a, &st, 0) < 0 && errno == EINTR)
        ;
    if (b <= 0 && !*stage) {
        *stage = LOCAL_STAGE_JOIN;
        *err = EIO;
    }
    if (*stage) {
        if (b > 0)
            while (waitpid(b, &st, 0) < 0 && errno == EINTR)
                ;
        return 0;
    }
    *pid = b;
    *pidfd = (int)syscall(SYS_pidfd_open, b, 0);
    if (*pidfd < 0) {
        int e = errno;
        kill(-b, SIGKILL);
        while (waitpid(b, &st, 0) < 0 && errno == EINTR)
            ;
        *pid = -1;
        return h->fail(call, CORRAL_EIO, "pidfd_open: %s", strerror(e));
    }
    return 0;
}
