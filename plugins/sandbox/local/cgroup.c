/* sandbox_local: per-sandbox cgroups for the pids and memory limits.
 *
 * When the cgroup file system is writable for us (root, or a delegated v2
 * subtree), each limited sandbox gets <our cgroup>/corral/<id> in the pids
 * and memory hierarchies (cgroup v1) or in the unified one (v2), with
 * pids.max and memory.max / memory.limit_in_bytes set.  Every command
 * joins them before exec (writing "0" to a cgroup.procs fd the host
 * opened).  Where that is impossible the limits fall back to rlimits
 * (RLIMIT_NPROC, RLIMIT_AS), which the caller applies; create refuses one
 * above the host's hard limit (local_limits_check). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "local.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char cg_root[] = "/sys/fs/cgroup";

static int ours(const char *path, const char *id);

static int write_file(const char *dir, const char *name, const char *value)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = n < 0 ? -errno : 0;
    close(fd);
    return e;
}

/* Our own cgroup path for controller ctl ("" for the v2 line), from
 * /proc/self/cgroup, into buf.  0 or -1. */
static int own_path(const char *ctl, char *buf, size_t sz)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    char line[1024];
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctls = c1 + 1;
        int match = 0;
        if (!*ctl) {
            match = !strcmp(line, "0") && !*ctls;
        } else {
            char tmp[256];
            snprintf(tmp, sizeof(tmp), ",%s,", ctls);
            char want[64];
            snprintf(want, sizeof(want), ",%s,", ctl);
            match = strstr(tmp, want) != NULL;
        }
        if (match) {
            char *p = c2 + 1;
            p[strcspn(p, "\n")] = '\0';
            snprintf(buf, sz, "%s", strcmp(p, "/") ? p : "");
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* Make <base>/corral/<id>; returns the malloc'ed dir or NULL. */
static char *make_dir(const char *base, const char *id)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s/corral/%s", base, id) < 0)
        return NULL;
    if (crl_mkdir_p(dir, 0755) < 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

static void set_limits(const char *dir, int v2, const struct local_limits *lim, int want_pids, int want_mem,
                       int *got_pids, int *got_mem)
{
    char num[32];
    if (want_pids) {
        snprintf(num, sizeof(num), "%lld", (long long)lim->pids_max);
        *got_pids = write_file(dir, "pids.max", num) == 0;
    }
    if (want_mem) {
        snprintf(num, sizeof(num), "%lld", (long long)lim->memory_bytes);
        if (v2) {
            *got_mem = write_file(dir, "memory.max", num) == 0;
            if (*got_mem)
                write_file(dir, "memory.swap.max", "0"); /* best effort: no way around through swap */
        } else {
            *got_mem = write_file(dir, "memory.limit_in_bytes", num) == 0;
            if (*got_mem)
                write_file(dir, "memory.memsw.limit_in_bytes", num); /* only with swap accounting */
        }
    }
}

static int add_cgroup(struct local_meta *m, char *dir)
{
    for (int i = 0; i < LOCAL_MAX_CGROUPS; i++) {
        if (!m->cgroups[i]) {
            m->cgroups[i] = dir;
            return 0;
        }
    }
    free(dir);
    return -1;
}

int local_cgroup_setup(struct local_meta *m, int want_freezer)
{
    int want_pids = m->limits.pids_max > 0, want_mem = m->limits.memory_bytes > 0;
    /* Joining a cgroup costs every command a migration (an RCU grace
     * period, several ms); without limits the freezer is opt-in. */
    if (!want_pids && !want_mem && !want_freezer)
        return 0;
    struct statfs sf;
    if (statfs(cg_root, &sf) < 0)
        return 0;
    char own[1024], base[2048];
    if ((unsigned long)sf.f_type == (unsigned long)CGROUP2_SUPER_MAGIC) {
        if (own_path("", own, sizeof(own)) < 0)
            return 0;
        snprintf(base, sizeof(base), "%s%s", cg_root, own);
        char corral[2100];
        snprintf(corral, sizeof(corral), "%s/corral", base);
        if (crl_mkdir_p(corral, 0755) < 0)
            return 0;
        if (want_pids || want_mem) {
            /* Enable the controllers for our subtree and for corral/ (fails
             * unless we may; then the rlimits apply). */
            char ctl[64];
            snprintf(ctl, sizeof(ctl), "%s%s%s", want_pids ? "+pids" : "", want_pids && want_mem ? " " : "",
                     want_mem ? "+memory" : "");
            write_file(base, "cgroup.subtree_control", ctl);
            write_file(corral, "cgroup.subtree_control", ctl);
        }
        char *dir = make_dir(base, m->id);
        if (!dir)
            return 0;
        int gp = 0, gm = 0;
        set_limits(dir, 1, &m->limits, want_pids, want_mem, &gp, &gm);
        char freeze[2200];
        snprintf(freeze, sizeof(freeze), "%s/cgroup.freeze", dir);
        int can_freeze = access(freeze, W_OK) == 0;
        if (!gp && !gm && !can_freeze) {
            rmdir(dir);
            free(dir);
            return 0;
        }
        m->cg_pids = gp;
        m->cg_memory = gm;
        if (can_freeze) {
            m->freezer = strdup(dir);
            m->freezer_v2 = 1;
        }
        add_cgroup(m, dir);
        return 0;
    }
    /* cgroup v1: one hierarchy per controller. */
    static const char *const ctls[] = {"pids", "memory", "freezer"};
    for (int i = 0; i < 3; i++) {
        if ((i == 0 && !want_pids) || (i == 1 && !want_mem))
            continue;
        if (own_path(ctls[i], own, sizeof(own)) < 0)
            continue;
        snprintf(base, sizeof(base), "%s/%s%s", cg_root, ctls[i], own);
        char *dir = make_dir(base, m->id);
        if (!dir)
            continue;
        int gp = 0, gm = 0, gf = 0;
        if (i < 2) {
            set_limits(dir, 0, &m->limits, i == 0, i == 1, &gp, &gm);
        } else {
            char st[2200];
            snprintf(st, sizeof(st), "%s/freezer.state", dir);
            gf = access(st, W_OK) == 0;
        }
        if (!gp && !gm && !gf) {
            rmdir(dir);
            free(dir);
            continue;
        }
        if (gf && !m->freezer)
            m->freezer = strdup(dir);
        if (add_cgroup(m, dir) < 0)
            continue;
        if (gp)
            m->cg_pids = 1;
        if (gm)
            m->cg_memory = 1;
    }
    return 0;
}

static int read_small(const char *dir, const char *name, char *buf, size_t sz)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sz - 1);
    int e = n < 0 ? -errno : 0;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return e;
}

int local_cgroup_freeze(const struct local_meta *m, int freeze)
{
    if (!m->freezer || !ours(m->freezer, m->id))
        return -ENOENT;
    int e = m->freezer_v2 ? write_file(m->freezer, "cgroup.freeze", freeze ? "1" : "0")
                          : write_file(m->freezer, "freezer.state", freeze ? "FROZEN" : "THAWED");
    if (e < 0)
        return e;
    /* Freezing completes asynchronously: wait until every task is frozen
     * (bounded, about 2 s). */
    for (int t = 0; t < 2000; t++) {
        char buf[512];
        if (m->freezer_v2) {
            if (read_small(m->freezer, "cgroup.events", buf, sizeof(buf)) < 0)
                return -EIO;
            if (strstr(buf, freeze ? "frozen 1" : "frozen 0"))
                return 0;
        } else {
            if (read_small(m->freezer, "freezer.state", buf, sizeof(buf)) < 0)
                return -EIO;
            if (!strncmp(buf, freeze ? "FROZEN" : "THAWED", 6))
                return 0;
            if (freeze && !strncmp(buf, "FREEZING", 8) && t % 100 == 99)
                write_file(m->freezer, "freezer.state", "FROZEN"); /* nudge, as the docs suggest */
        }
        usleep(1000);
    }
    return -EAGAIN;
}

int local_cgroup_open_procs(const struct local_meta *m, int fds[LOCAL_MAX_CGROUPS])
{
    for (int i = 0; i < LOCAL_MAX_CGROUPS; i++)
        fds[i] = -1;
    for (int i = 0; i < LOCAL_MAX_CGROUPS && m->cgroups[i]; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/cgroup.procs", m->cgroups[i]);
        fds[i] = open(path, O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            int e = -errno;
            for (int j = 0; j < i; j++)
                close(fds[j]);
            return e;
        }
    }
    return 0;
}

/* 1 when path is a corral cgroup of sandbox id (never rmdir anything else). */
static int ours(const char *path, const char *id)
{
    size_t rl = strlen(cg_root), il = strlen(id), pl = strlen(path);
    if (strncmp(path, cg_root, rl) != 0 || path[rl] != '/' || strstr(path, "/..") || pl < il + 8)
        return 0;
    return strncmp(path + pl - il - 8, "/corral/", 8) == 0 && strcmp(path + pl - il, id) == 0;
}

void local_cgroup_remove(const struct local_meta *m)
{
    for (int i = 0; i < LOCAL_MAX_CGROUPS && m->cgroups[i]; i++) {
        if (!ours(m->cgroups[i], m->id))
            continue;
        /* Killed processes leave their cgroup as they finish exiting. */
        for (int t = 0; t < 100; t++) {
            if (rmdir(m->cgroups[i]) == 0 || errno == ENOENT)
                break;
            if (errno != EBUSY)
                break;
            usleep(10000);
        }
    }
}

/* One limit applied as an rlimit: 0 when value fits under the hard limit. */
static int fits(int res, const char *rname, const char *what, int64_t value, const char *unit, char *why,
                size_t cap)
{
    struct rlimit rl;
    if (value <= 0 || getrlimit(res, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || (uint64_t)value <= rl.rlim_max)
        return 0;
    snprintf(why, cap, "the %s limit of %lld%s is above this host's hard %s of %llu%s, and no cgroup enforces it here",
             what, (long long)value, unit, rname, (unsigned long long)rl.rlim_max, unit);
    return -1;
}

int local_limits_check(const struct local_meta *m, char *why, size_t cap)
{
    if (!m->cg_memory && fits(RLIMIT_AS, "RLIMIT_AS", "memory", m->limits.memory_bytes, " bytes", why, cap) < 0)
        return -1;
    if (!m->cg_pids && fits(RLIMIT_NPROC, "RLIMIT_NPROC", "pids", m->limits.pids_max, "", why, cap) < 0)
        return -1;
    return fits(RLIMIT_FSIZE, "RLIMIT_FSIZE", "file size", m->limits.fsize_bytes, " bytes", why, cap);
}
