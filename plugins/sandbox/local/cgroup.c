/* sandbox_local: per-sandbox cgroups for the pids and memory limits.
 *
 * When the cgroup file system is writable for us (root, or a delegated v2
 * subtree), each limited sandbox gets <our cgroup>/corral/<id> in the pids
 * and memory hierarchies (cgroup v1) or in the unified one (v2), with
 * pids.max and memory.max / memory.limit_in_bytes set.  Every command
 * joins them before exec (writing "0" to a cgroup.procs fd the host
 * opened).  Where that is impossible the limits fall back to rlimits
 * (RLIMIT_NPROC, RLIMIT_AS), which the caller applies. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "local.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char cg_root[] = "/sys/fs/cgroup";

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
    if (local_mkdir_p(dir, 0755) < 0) {
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

int local_cgroup_setup(struct local_meta *m)
{
    int want_pids = m->limits.pids_max > 0, want_mem = m->limits.memory_bytes > 0;
    if (!want_pids && !want_mem)
        return 0;
    struct statfs sf;
    if (statfs(cg_root, &sf) < 0)
        return 0;
    char own[1024], base[2048];
    int n = 0;
    if ((unsigned long)sf.f_type == (unsigned long)CGROUP2_SUPER_MAGIC) {
        if (own_path("", own, sizeof(own)) < 0)
            return 0;
        snprintf(base, sizeof(base), "%s%s", cg_root, own);
        /* Enable the controllers for our subtree and for corral/ (fails
         * unless we may; then the rlimits apply). */
        char ctl[64];
        snprintf(ctl, sizeof(ctl), "%s%s%s", want_pids ? "+pids" : "", want_pids && want_mem ? " " : "",
                 want_mem ? "+memory" : "");
        write_file(base, "cgroup.subtree_control", ctl);
        char corral[2100];
        snprintf(corral, sizeof(corral), "%s/corral", base);
        if (local_mkdir_p(corral, 0755) < 0 || write_file(corral, "cgroup.subtree_control", ctl) < 0)
            return 0;
        char *dir = make_dir(base, m->id);
        if (!dir)
            return 0;
        int gp = 0, gm = 0;
        set_limits(dir, 1, &m->limits, want_pids, want_mem, &gp, &gm);
        if (!gp && !gm) {
            rmdir(dir);
            free(dir);
            return 0;
        }
        m->cgroups[n++] = dir;
        m->cg_pids = gp;
        m->cg_memory = gm;
        return 0;
    }
    /* cgroup v1: one hierarchy per controller. */
    static const char *const ctls[] = {"pids", "memory"};
    for (int i = 0; i < 2; i++) {
        if ((i == 0 && !want_pids) || (i == 1 && !want_mem))
            continue;
        if (own_path(ctls[i], own, sizeof(own)) < 0)
            continue;
        snprintf(base, sizeof(base), "%s/%s%s", cg_root, ctls[i], own);
        char *dir = make_dir(base, m->id);
        if (!dir)
            continue;
        int gp = 0, gm = 0;
        set_limits(dir, 0, &m->limits, i == 0, i == 1, &gp, &gm);
        if (!gp && !gm) {
            rmdir(dir);
            free(dir);
            continue;
        }
        m->cgroups[n++] = dir;
        if (gp)
            m->cg_pids = 1;
        if (gm)
            m->cg_memory = 1;
    }
    return 0;
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
