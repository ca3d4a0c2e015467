/* sandbox_local: sandbox life cycle (create, attach, state, running, list,
 * destroy, remove, close). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "local.h"

static const char holder_path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void local_kill_holder(struct local_plugin *lp, const struct local_meta *m)
{
    if (m->holder_pid <= 1 || m->holder_start == 0)
        return;
    /* A v1-frozen task cannot even die: thaw first. */
    if (m->freezer)
        local_cgroup_freeze(m, 0);
    int pfd = (int)syscall(SYS_pidfd_open, m->holder_pid, 0);
    if (pfd < 0)
        return;
    /* The pidfd pins the process: check it is ours, then signal through it. */
    if (local_proc_start(-1, m->holder_pid) == m->holder_start) {
        if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0) {
            /* The init exits only once every process of the namespace is
             * reaped, including jobs of ours that were freed unwaited. */
            for (int i = 0; i < 40; i++) {
                local_orphans_reap(lp);
                struct pollfd p = {pfd, POLLIN, 0};
                if (poll(&p, 1, 50) > 0)
                    break;
            }
        }
    }
    close(pfd);
}

/* Turn spec.user into bwrap's --uid/--gid (numeric ids or "root"). */
static int parse_user(const char *user, char *uid, char *gid, size_t sz)
{
    uid[0] = gid[0] = '\0';
    if (!user || !*user)
        return 0;
    if (!strcmp(user, "root"))
        user = "0";
    const char *colon = strchr(user, ':');
    size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
    const char *g = colon ? colon + 1 : user;
    size_t glen = colon ? strlen(g) : ulen;
    if (ulen == 0 || ulen >= sz || glen == 0 || glen >= sz)
        return -1;
    for (size_t i = 0; i < ulen; i++)
        if (user[i] < '0' || user[i] > '9')
            return -1;
    for (size_t i = 0; i < glen; i++)
        if (g[i] < '0' || g[i] > '9')
            return -1;
    memcpy(uid, user, ulen);
    uid[ulen] = '\0';
    memcpy(gid, g, glen);
    gid[glen] = '\0';
    /* bwrap would wrap 99999999999 to some other uid; (uid_t)-1 means "none". */
    int64_t v;
    if (crl_parse_i64(uid, 0, 4294967294LL, &v) != 0 || crl_parse_i64(gid, 0, 4294967294LL, &v) != 0)
        return -1;
    return 0;
}

/* What bwrap wrote to its stderr (the in-memory file logfd), on one line. */
static void read_log(int logfd, char *msg, size_t sz)
{
    ssize_t n = logfd >= 0 ? pread(logfd, msg, sz - 1, 0) : -1;
    if (n < 0)
        n = 0;
    msg[n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = (p[1] ? ' ' : '\0');
}

/* Take the root filesystem directory root's flock shared for the sandbox's
 * life: `corral image rm` and `prune` take it exclusively and keep a root
 * filesystem that is in use (docs/images.md).  A directory being removed
 * (locked exclusively, or already unlinked) is refused.  *fd is the
 * caller's to close once the watcher holds its copy. */
static int lock_rootfs(const struct corral_host *h, const char *root, int *fd, corral_call *call)
{
    *fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return h->fail(call, CORRAL_ENOTFOUND, "local: image root %s: %s", root, strerror(errno));
    struct stat st;
    if (flock(*fd, LOCK_SH | LOCK_NB) < 0 || fstat(*fd, &st) < 0 || st.st_nlink == 0) {
        int busy = errno == EWOULDBLOCK;
        close(*fd);
        *fd = -1;
        return h->fail(call, CORRAL_ETRANSIENT, "local: image root %s %s", root,
                       busy ? "is being removed (corral image rm/prune)" : "was removed");
    }
    return 0;
}

/* fd moved to 10 or above (close-on-exec), the original closed: the
 * spawn's dup2s to 0-6 must not overwrite one another's sources. */
static int fd_high(int fd)
{
    if (fd < 0 || fd >= 10)
        return fd;
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return h;
}

/* Start corral-holder (holder.c) with posix_spawn (so corral's address
 * space is never copied): it starts bwrap detached (setsid + double fork)
 * and, with a lease or an image lock, stays as its watcher.  Then wait for
 * the holder's ready byte and bwrap's info JSON.  ownerfd >= 0 (a pidfd of
 * the lease's process, the caller keeps it): the sandbox dies with that
 * process.  lockfd >= 0 (the caller keeps and closes its copy): held by the
 * watcher until bwrap ends.  Returns 0 with *pid = the holder. */
static int start_holder(const struct corral_host *h, char **argv, int ownerfd, int lockfd,
                        pid_t *pid, corral_call *call)
{
    char helper[4096];
    if (crl_find_libexec("corral-holder", helper, sizeof helper) < 0)
        return h->fail(call, CORRAL_ENOTFOUND, "local: corral-holder not found (set CORRAL_LIBEXEC_DIR or reinstall corral)");
    /* bwrap's stderr: an in-memory file (no inode in the state directory
     * per sandbox), read when create fails. */
    int logfd = fd_high(memfd_create("corral-holder-log", MFD_CLOEXEC));
    int devnull = fd_high(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int own = ownerfd >= 0 ? fcntl(ownerfd, F_DUPFD_CLOEXEC, 10) : -1;
    int lck = lockfd >= 0 ? fcntl(lockfd, F_DUPFD_CLOEXEC, 10) : -1;
    int ready[2] = {-1, -1}, info[2] = {-1, -1};
    int rc = 0;
    if (logfd < 0 || devnull < 0 || (ownerfd >= 0 && own < 0) || (lockfd >= 0 && lck < 0) ||
        pipe2(ready, O_CLOEXEC) < 0 || pipe2(info, O_CLOEXEC) < 0)
        rc = h->fail(call, CORRAL_EIO, "local: cannot prepare the holder: %s", strerror(errno));
    ready[1] = fd_high(ready[1]);
    info[1] = fd_high(info[1]);
    if (!rc && (ready[1] < 0 || info[1] < 0))
        rc = h->fail(call, CORRAL_EIO, "local: cannot prepare the holder: %s", strerror(errno));
    size_t n = 0;
    while (argv[n])
        n++;
    char **hargv = rc ? NULL : calloc(n + 4, sizeof(char *));
    char ofd[16], lfd[16];
    snprintf(ofd, sizeof ofd, "%d", own >= 0 ? 5 : -1);
    snprintf(lfd, sizeof lfd, "%d", lck >= 0 ? 6 : -1);
    if (!rc && !hargv)
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
    pid_t c1 = -1;
    if (!rc) {
        hargv[0] = helper;
        hargv[1] = ofd;
        hargv[2] = lfd;
        memcpy(hargv + 3, argv, (n + 1) * sizeof(char *));
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&at);
        posix_spawnattr_setsigdefault(&at, &all);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        posix_spawn_file_actions_adddup2(&fa, devnull, 0);
        posix_spawn_file_actions_adddup2(&fa, logfd, 1);
        posix_spawn_file_actions_adddup2(&fa, logfd, 2);
        posix_spawn_file_actions_adddup2(&fa, ready[1], 3);
        posix_spawn_file_actions_adddup2(&fa, info[1], 4);
        if (own >= 0)
            posix_spawn_file_actions_adddup2(&fa, own, 5);
        if (lck >= 0)
            posix_spawn_file_actions_adddup2(&fa, lck, 6);
        char *const envp[] = {(char *)holder_path_env, NULL};
        int e = posix_spawn(&c1, helper, &fa, &at, hargv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (e) {
            c1 = -1;
            rc = h->fail(call, CORRAL_ETRANSIENT, "local: cannot start %s: %s", helper, strerror(e));
        }
    }
    free(hargv);
    int *mine[] = {&devnull, &own, &lck, &ready[1], &info[1]};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        if (*mine[i] >= 0)
            close(*mine[i]);
    if (c1 > 0) {
        int st;
        while (waitpid(c1, &st, 0) < 0 && errno == EINTR)
            ;
    }
    char buf[4096];
    size_t blen = 0;
    int got_ready = 0, ready_eof = 0;
    *pid = -1;
    int64_t limit = local_now_ms(h) + 30000;
    while (!rc && !(got_ready && *pid > 0) && !ready_eof) {
        int64_t left = h->remaining_ms ? h->remaining_ms(call) : INT64_MAX;
        int64_t wait = limit - local_now_ms(h);
        if (left < wait)
            wait = left;
        if (wait <= 0) {
            rc = h->fail(call, CORRAL_ETIMEDOUT, "local: bwrap did not start the sandbox in time");
            break;
        }
        struct pollfd fds[2] = {{ready[0], POLLIN, 0}, {info[0], POLLIN, 0}};
        int nf = info[0] >= 0 ? 2 : 1;
        if (poll(fds, (nfds_t)nf, (int)(wait > 1000 ? 1000 : wait)) < 0 && errno != EINTR)
            break;
        if (fds[0].revents) {
            char b;
            ssize_t n = read(ready[0], &b, 1);
            if (n == 1)
                got_ready = 1;
            else if (n == 0)
                ready_eof = 1;
        }
        if (nf == 2 && fds[1].revents) {
            ssize_t n = read(info[0], buf + blen, sizeof(buf) - 1 - blen);
            if (n > 0) {
                blen += (size_t)n;
                buf[blen] = '\0';
                cJSON *o = cJSON_Parse(buf);
                const cJSON *cp = cJSON_GetObjectItemCaseSensitive(o, "child-pid");
                if (cJSON_IsNumber(cp))
                    *pid = (pid_t)cp->valuedouble;
                cJSON_Delete(o);
            }
            if (n <= 0 || *pid > 0 || blen >= sizeof(buf) - 1) {
                close(info[0]);
                info[0] = -1;
            }
        }
    }
    if (!rc && !(got_ready && *pid > 0)) {
        char msg[1024];
        read_log(logfd, msg, sizeof(msg));
        rc = h->fail(call, CORRAL_EIO, "local: bwrap could not create the sandbox: %s",
                     msg[0] ? msg : "no message");
    }
    if (ready[0] >= 0)
        close(ready[0]);
    if (info[0] >= 0)
        close(info[0]);
    if (logfd >= 0)
        close(logfd);
    return rc;
}

static struct corral_sbx *new_handle(struct local_plugin *lp, char *dir, struct local_meta *m, char **env)
{
    struct corral_sbx *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->lp = lp;
    s->dir = dir;
    s->meta = *m;
    s->env = env;
    atomic_init(&s->holder_pidfd, -1);
    return s;
}

int local_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    struct local_plugin *lp = ps;
    const struct corral_host *h = lp->host;
    *out = NULL;
    if (!spec || !local_id_valid(spec->id))
        return h->fail(call, CORRAL_EINVAL, "local: the sandbox id must match [A-Za-z0-9._-]{1,128}");
    const char *root_image = NULL;
    if (spec->image && spec->image[0] && strcmp(spec->image, "host") != 0) {
        struct stat st;
        if (spec->image[0] != '/' || stat(spec->image, &st) < 0 || !S_ISDIR(st.st_mode))
            return h->fail(call, CORRAL_ENOTSUP,
                           "local: image must be \"host\" (default) or an absolute rootfs directory, not '%s'",
                           spec->image);
        root_image = spec->image;
    }
    if (spec->network == CORRAL_NET_POLICY)
        return h->fail(call, CORRAL_ENOTSUP, "local: egress policies are not supported (use none or full)");
    char uid[16], gid[16];
    if (parse_user(spec->user, uid, gid, sizeof(uid)) < 0)
        return h->fail(call, CORRAL_ENOTSUP, "local: user must be numeric (uid or uid:gid, each at most 4294967294) or root");
    const char *workdir = spec->workdir && spec->workdir[0] ? spec->workdir : "/workspace";
    const char *why = crl_workdir_refusal(workdir);
    if (why)
        return h->fail(call, CORRAL_EINVAL, "local: the workdir %.200s%s %s", workdir, strlen(workdir) > 200 ? "..." : "",
                       why);
    char *bwrap = local_which(lp->bwrap);
    if (!bwrap)
        return h->fail(call, CORRAL_ENOTFOUND,
                       "local: bubblewrap ('%s') not found: install the Debian package `bubblewrap`", lp->bwrap);
    int64_t ttl = spec->ttl_s > 0 ? spec->ttl_s : lp->default_ttl_s;

    int rc = 0;
    char *dir = NULL, *ws = NULL, *tmp = NULL;
    char **argv = NULL;
    struct local_meta m = {0};
    char **env = NULL;
    int ownerfd = -1, lockfd = -1;
    int e = crl_mkdir_p(lp->state_root, 0700);
    if (e < 0) {
        rc = h->fail(call, CORRAL_EIO, "local: state dir %s: %s", lp->state_root, strerror(-e));
        goto fail;
    }
    dir = local_state_dir(lp, spec->id);
    if (!dir || asprintf(&ws, "%s/ws", dir) < 0) {
        ws = NULL;
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(dir, 0700) < 0) {
        if (errno != EEXIST) {
            rc = h->fail(call, CORRAL_EIO, "local: mkdir %s: %s", dir, strerror(errno));
            goto fail;
        }
        struct local_meta old;
        if (local_meta_load(dir, &old) == 0) {
            int alive = local_holder_alive(&old);
            local_meta_free(&old);
            if (alive) {
                free(dir);
                dir = NULL; /* not ours to remove */
                rc = h->fail(call, CORRAL_EEXIST, "local: sandbox %s already exists", spec->id);
                goto fail;
            }
        }
        /* A dead leftover under the same id: reuse the name. */
        local_storage_release(dir);
        crl_rm_rf(dir);
        if (mkdir(dir, 0700) < 0) {
            rc = h->fail(call, CORRAL_EIO, "local: mkdir %s: %s", dir, strerror(errno));
            goto fail;
        }
    }
    int64_t storage = CORRAL_HAS_FIELD(spec, storage_bytes) && spec->storage_bytes > 0 ? spec->storage_bytes
                                                                                      : lp->storage_mb * 1048576;
    if (storage > 0) {
        char why[512];
        free(ws);
        ws = NULL;
        e = local_storage_setup(dir, storage, &ws, &tmp, why, sizeof why);
        if (e < 0) {
            rc = h->fail(call, e == -EPERM ? CORRAL_ENOTSUP : CORRAL_EIO, "local: storage limit of %lld MiB: %s",
                         (long long)(storage >> 20), why);
            goto fail;
        }
    } else if (mkdir(ws, 0755) < 0 && errno != EEXIST) {
        rc = h->fail(call, CORRAL_EIO, "local: mkdir %s: %s", ws, strerror(errno));
        goto fail;
    }
    e = local_env_save(dir, spec->env);
    if (e < 0) {
        rc = h->fail(call, CORRAL_EIO, "local: cannot write the env file: %s", strerror(-e));
        goto fail;
    }
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct corral_mount *mt = &spec->mounts[i];
        if (!mt->host_path || mt->host_path[0] != '/' || access(mt->host_path, F_OK) < 0) {
            rc = h->fail(call, CORRAL_EINVAL, "local: mount source '%s' must be an existing absolute path",
                         mt->host_path ? mt->host_path : "(null)");
            goto fail;
        }
    }
    struct local_holder_args ha = {.bwrap = bwrap, .root_image = root_image, .workspace = ws, .tmp_dir = tmp,
                                   .workdir = workdir, .share_net = spec->network == CORRAL_NET_FULL && lp->host_network,
                                   .ready_fd = 3, .info_fd = 4, .uid = uid[0] ? uid : NULL,
                                   .gid = gid[0] ? gid : NULL, .ttl_s = ttl, .mounts = spec->mounts,
                                   .n_mounts = spec->n_mounts, .mask_private = geteuid() == 0,
                                   .private_paths = local_private_paths_cached};
    argv = local_holder_argv(&ha);
    if (!argv) {
        rc = h->fail(call, CORRAL_EINVAL, "local: invalid mounts (paths must be absolute)");
        goto fail;
    }
    m.id = strdup(spec->id);
    m.workdir = strdup(workdir);
    m.user = spec->user && spec->user[0] ? strdup(spec->user) : NULL;
    m.labels = crl_strv_dup(spec->labels);
    m.created = (int64_t)time(NULL);
    m.deadline = ttl > 0 ? m.created + ttl : 0;
    m.net_shared = ha.share_net;
    m.storage_bytes = storage;
    m.limits.memory_bytes = spec->memory_bytes;
    m.limits.pids_max = spec->pids_max;
    m.limits.fsize_bytes = CORRAL_HAS_FIELD(spec, file_size_bytes) ? spec->file_size_bytes : 0;
    env = crl_strv_dup(spec->env);
    if (!m.id || !m.workdir || !m.labels || !env) {
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
        goto fail;
    }
    local_cgroup_setup(&m, lp->freezer);
    char why_limit[256];
    if (local_limits_check(&m, why_limit, sizeof why_limit) < 0) {
        rc = h->fail(call, CORRAL_EINVAL, "local: %s (lower it, or run corral where it may create cgroups)", why_limit);
        goto fail;
    }
    ownerfd = crl_lease_pidfd(spec->labels);
    if (ownerfd == -2) {
        rc = h->fail(call, CORRAL_ESTATE, "local: the process that leases sandbox %s is gone", spec->id);
        goto fail;
    }
    if (root_image && (rc = lock_rootfs(h, root_image, &lockfd, call)))
        goto fail;
    rc = start_holder(h, argv, ownerfd, lockfd, &m.holder_pid, call);
    if (ownerfd >= 0)
        close(ownerfd);
    ownerfd = -1;
    if (lockfd >= 0)
        close(lockfd);
    lockfd = -1;
    if (rc)
        goto fail;
    m.holder_start = local_proc_start(-1, m.holder_pid);
    if (m.holder_start == 0) {
        rc = h->fail(call, CORRAL_EIO, "local: the sandbox holder exited right after start");
        goto fail;
    }
    /* network "full" without host_network: outbound through pasta */
    if (spec->network == CORRAL_NET_FULL && !ha.share_net && (rc = local_net_attach(lp, m.holder_pid, dir, call)))
        goto fail;
    e = local_meta_save(dir, &m);
    if (e < 0) {
        rc = h->fail(call, CORRAL_EIO, "local: cannot write meta.json: %s", strerror(-e));
        goto fail;
    }
    *out = new_handle(lp, dir, &m, env);
    if (!*out) {
        rc = h->fail(call, CORRAL_ENOMEM, "out of memory");
        goto fail;
    }
    free(ws);
    free(tmp);
    free(bwrap);
    crl_strv_free_array(argv);
    return 0;
fail:
    if (ownerfd >= 0)
        close(ownerfd);
    if (lockfd >= 0)
        close(lockfd);
    if (m.holder_pid > 0)
        local_kill_holder(lp, &m);
    local_cgroup_remove(&m);
    if (dir) {
        local_storage_release(dir);
        crl_rm_rf(dir);
    }
    local_meta_free(&m);
    crl_strv_wipe_array(env);
    crl_strv_free_array(argv);
    free(dir);
    free(ws);
    free(tmp);
    free(bwrap);
    return rc;
}

/* The id named by a state JSON (from state() or list()), validated. */
static char *state_id(const char *state_json)
{
    cJSON *o = cJSON_Parse(state_json ? state_json : "");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char *out = cJSON_IsString(id) && local_id_valid(id->valuestring) ? strdup(id->valuestring) : NULL;
    cJSON_Delete(o);
    return out;
}

int local_attach(void *ps, const char *state_json, corral_sbx **out, corral_call *call)
{
    struct local_plugin *lp = ps;
    const struct corral_host *h = lp->host;
    *out = NULL;
    /* Only the id is taken from the JSON: the state dir is always derived
     * from our own root, so a forged state cannot point us elsewhere. */
    char *id = state_id(state_json);
    if (!id)
        return h->fail(call, CORRAL_EINVAL, "local: state JSON without a valid id");
    char *dir = local_state_dir(lp, id);
    struct local_meta m;
    int e = dir ? local_meta_load(dir, &m) : -ENOMEM;
    if (e < 0) {
        int rc = h->fail(call, e == -ENOENT ? CORRAL_ENOTFOUND : CORRAL_EIO, "local: sandbox %s: %s", id,
                         e == -ENOENT ? "not found" : strerror(-e));
        free(id);
        free(dir);
        return rc;
    }
    free(id);
    if (!local_holder_alive(&m)) {
        int rc = h->fail(call, CORRAL_ENOTFOUND, "local: sandbox %s is gone (TTL or destroy)", m.id);
        local_meta_free(&m);
        free(dir);
        return rc;
    }
    char **env = NULL;
    e = local_env_load(dir, &env);
    if (e < 0) {
        crl_strv_free_array(env);
        local_meta_free(&m);
        free(dir);
        return h->fail(call, CORRAL_EIO, "local: cannot read the env file: %s", strerror(-e));
    }
    struct corral_sbx *s = new_handle(lp, dir, &m, env);
    if (!s) {
        crl_strv_free_array(env);
        local_meta_free(&m);
        free(dir);
        return h->fail(call, CORRAL_ENOMEM, "out of memory");
    }
    if (local_is_paused(dir)) {
        int rc = local_resume(s, call);
        if (rc) {
            local_close(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int local_state(corral_sbx *sbx, char **json, corral_call *call)
{
    *json = local_meta_to_json(&sbx->meta, sbx->dir);
    return *json ? 0 : sbx->lp->host->fail(call, CORRAL_ENOMEM, "out of memory");
}

int local_running(corral_sbx *sbx, corral_call *call)
{
    (void)call;
    return local_holder_alive(&sbx->meta) && !local_is_paused(sbx->dir);
}

static int labels_match(char *const *labels, const char *const *filters)
{
    for (size_t i = 0; filters && filters[i]; i++) {
        const char *f = filters[i];
        const char *eq = strchr(f, '=');
        size_t klen = eq ? (size_t)(eq - f) : strlen(f);
        int hit = 0;
        for (size_t j = 0; labels && labels[j] && !hit; j++) {
            const char *l = labels[j];
            if (strncmp(l, f, klen) != 0 || (l[klen] != '=' && l[klen] != '\0'))
                continue;
            const char *lv = l[klen] == '=' ? l + klen + 1 : "";
            hit = !eq || strcmp(lv, eq + 1) == 0;
        }
        if (!hit)
            return 0;
    }
    return 1;
}

int local_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call)
{
    struct local_plugin *lp = ps;
    DIR *d = opendir(lp->state_root);
    if (!d)
        return errno == ENOENT ? 0
                               : lp->host->fail(call, CORRAL_EIO, "local: %s: %s", lp->state_root,
                                                strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        if (!local_id_valid(de->d_name))
            continue;
        char *dir = local_state_dir(lp, de->d_name);
        if (!dir)
            break;
        struct local_meta m;
        int have = local_meta_load(dir, &m) == 0;
        if (!have) {
            /* A crashed create: no labels, so only an unfiltered list sees it. */
            memset(&m, 0, sizeof(m));
            m.id = strdup(de->d_name);
        }
        if (m.id && labels_match(m.labels, filters) && (have || !filters || !filters[0])) {
            const char *status = !have                       ? "unknown"
                                 : !local_holder_alive(&m) ? "stopped"
                                 : local_is_paused(dir)      ? "paused"
                                                             : "running";
            char *js = local_meta_to_json(&m, dir);
            const char *const none[] = {NULL};
            struct corral_sandbox_info info = {sizeof(info), m.id, status,
                                               m.labels ? (const char *const *)m.labels : none, js};
            if (js && cb(ud, &info) != 0)
                rc = 1;
            free(js);
        }
        local_meta_free(&m);
        free(dir);
    }
    closedir(d);
    return 0;
}

int local_destroy(corral_sbx *sbx, corral_call *call)
{
    local_kill_holder(sbx->lp, &sbx->meta);
    local_cgroup_remove(&sbx->meta);
    local_storage_release(sbx->dir);
    int e = crl_rm_rf(sbx->dir);
    if (e < 0)
        return sbx->lp->host->fail(call, CORRAL_EIO, "local: removing %s: %s", sbx->dir, strerror(-e));
    return 0;
}

int local_remove(void *ps, const char *state_json, corral_call *call)
{
    struct local_plugin *lp = ps;
    char *id = state_id(state_json);
    if (!id)
        return lp->host->fail(call, CORRAL_EINVAL, "local: state JSON without a valid id");
    char *dir = local_state_dir(lp, id);
    free(id);
    if (!dir)
        return lp->host->fail(call, CORRAL_ENOMEM, "out of memory");
    struct local_meta m;
    if (local_meta_load(dir, &m) == 0) {
        local_kill_holder(lp, &m);
        local_cgroup_remove(&m);
        local_meta_free(&m);
    }
    local_storage_release(dir);
    int e = crl_rm_rf(dir);
    int rc = e < 0 ? lp->host->fail(call, CORRAL_EIO, "local: removing %s: %s", dir, strerror(-e)) : 0;
    free(dir);
    return rc;
}

void local_close(corral_sbx *sbx)
{
    if (!sbx)
        return;
    int pfd = atomic_load(&sbx->holder_pidfd);
    if (pfd >= 0)
        close(pfd);
    local_meta_free(&sbx->meta);
    crl_strv_wipe_array(sbx->env);
    free(sbx->dir);
    free(sbx);
}
