/* Process identity that survives pid reuse: a pid plus its start time, and
 * the owner token "<host>:<pid>:<start>" that ties a sandbox or a gate
 * directory to the corral process that made it (crl_common.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crl_common.h"

uint64_t crl_parse_stat_start(const char *stat_text, char *state)
{
    /* "pid (comm) S ppid ..." where comm may hold spaces and parens: the
     * fields after the LAST ')' are fixed.  starttime is field 22, i.e. the
     * 20th field after the comm. */
    const char *p = strrchr(stat_text, ')');
    if (!p || p[1] != ' ')
        return 0;
    p += 2;
    if (state)
        *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return 0;
    return (uint64_t)v;
}

uint64_t crl_proc_start_at(int proc_dirfd, pid_t pid)
{
    int fd;
    if (proc_dirfd >= 0) {
        fd = openat(proc_dirfd, "stat", O_RDONLY | O_CLOEXEC);
    } else {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return 0;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char st = 0;
    uint64_t start = crl_parse_stat_start(buf, &st);
    if (st == 'Z' || st == 'X')
        return 0;
    return start;
}

static void host_name(char *host, size_t cap)
{
    if (gethostname(host, cap - 1) < 0 || !host[0])
        snprintf(host, cap, "unknown");
    host[cap - 1] = '\0';
}

/* This process's start time, read from /proc once per pid (a forked
 * child reads its own); 0 when unreadable. */
static uint64_t self_start(pid_t pid)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static pid_t cached_pid;
    static uint64_t cached_start;
    pthread_mutex_lock(&mu);
    if (cached_pid != pid || cached_start == 0) {
        cached_start = crl_proc_start_at(-1, pid);
        cached_pid = pid;
    }
    uint64_t start = cached_start;
    pthread_mutex_unlock(&mu);
    return start;
}

int crl_owner_token(char *buf, size_t cap)
{
    char host[256];
    host_name(host, sizeof host);
    pid_t pid = getpid();
    uint64_t start = self_start(pid);
    int n = snprintf(buf, cap, "%s:%d:%llu", host, (int)pid, (unsigned long long)start);
    return start && n > 0 && (size_t)n < cap ? 0 : -1;
}

int crl_owner_parse(const char *token, pid_t *pid, uint64_t *start)
{
    char host[256];
    host_name(host, sizeof host);
    size_t hl = strlen(host);
    if (!token || strncmp(token, host, hl) != 0 || token[hl] != ':')
        return -1;
    const char *p = token + hl + 1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || end == p || *end != ':' || v <= 1 || v > 0x3fffffff)
        return -1;
    p = end + 1;
    unsigned long long s = strtoull(p, &end, 10);
    if (errno || end == p || *end != '\0' || s == 0)
        return -1;
    *pid = (pid_t)v;
    *start = (uint64_t)s;
    return 0;
}

int crl_owner_gone(const char *token)
{
    pid_t pid;
    uint64_t start;
    if (crl_owner_parse(token, &pid, &start) < 0)
        return -1;
    return crl_proc_start_at(-1, pid) == start ? 0 : 1;
}

int crl_lease_pidfd(const char *const *labels)
{
    static const char key[] = "corral.lease=";
    for (size_t i = 0; labels && labels[i]; i++) {
        pid_t pid;
        uint64_t start;
        if (strncmp(labels[i], key, sizeof key - 1) != 0 || crl_owner_parse(labels[i] + sizeof key - 1, &pid, &start))
            continue;
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        /* Opened first, checked second: the pidfd pins the process we check. */
        if (fd >= 0 && crl_proc_start_at(-1, pid) == start)
            return fd;
        if (fd >= 0)
            close(fd);
        return -2;
    }
    return -1;
}
