/*
 * sandbox_local: internal declarations shared by the plugin's source files.
 *
 * A local sandbox is a bubblewrap "holder" process tree (bwrap's pid-1 init
 * and a `sleep <ttl>` under it) that owns a user, mount, pid, ipc, uts and
 * (unless the spec asks for full network) net namespace.  Every command
 * forks a child that setns()es into the holder's namespaces.  Everything a
 * later process needs to find the sandbox again lives in a per-sandbox state
 * directory: meta.json (no secrets), env (0600, the spec's default env) and
 * ws/ (the workspace bound at the workdir).
 */
#ifndef CORRAL_SANDBOX_LOCAL_H
#define CORRAL_SANDBOX_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <corral/plugin.h>
#include <corral/sandbox.h>

#include "crl_common.h"

/* The plugin's init() state. */
/* Plugin state, allocated by the host (ABI 1.1 state_size).  The bound
 * options are filled and range-checked by the host before local_init and
 * borrowed from it until fini. */
struct local_plugin {
    const struct corral_host *host;
    /* bound options */
    const char *bwrap;        /* configured bwrap (name or path) */
    const char *state_dir;    /* configured, or NULL */
    int64_t default_ttl_s;
    int freezer;              /* a freezer cgroup even without limits */
    int64_t storage_mb;       /* default storage limit, 0 = none */
    const char *pasta;        /* pasta (name or path) for network "full" */
    int host_network;         /* network "full" = the host's namespace (operator only) */
    /* made by local_init */
    const char *state_root;   /* directory holding one subdirectory per sandbox */
    char *default_root;       /* state_root when state_dir is unset (owned) */
    /* Jobs freed while still running: our children, reaped when they end
     * (a zombie of ours in a pid namespace keeps its init from exiting). */
    pthread_mutex_t lock;
    pid_t *orphans;
    size_t n_orphans, cap_orphans;
};

/* ---- storage.c: the storage limit ------------------------------------------ */

/* Mount a tmpfs of `bytes` at dir/disk with ws/ and tmp/ in it; *ws and
 * *tmp get their malloc'ed paths (the caller frees them).  0, or -errno
 * with a message in err. */
int local_storage_setup(const char *dir, int64_t bytes, char **ws, char **tmp, char *err, size_t errsz);
/* Unmount dir/disk if mounted (before removing dir). */
void local_storage_release(const char *dir);

/* Remember a running job's pid to reap later (job_free without wait). */
void local_orphan_add(struct local_plugin *lp, pid_t pid);
/* Reap every remembered job that has ended (never blocks). */
void local_orphans_reap(struct local_plugin *lp);

/* Limits applied to every command (persisted in meta.json). */
struct local_limits {
    int64_t memory_bytes;  /* RLIMIT_AS, 0 = none */
    int64_t pids_max;      /* RLIMIT_NPROC, 0 = none */
    int64_t fsize_bytes;   /* RLIMIT_FSIZE, 0 = none */
};

#define LOCAL_MAX_CGROUPS 3

/* What meta.json holds.  Strings are malloc'ed. */
struct local_meta {
    char *id;
    char *workdir;
    char *user;            /* spec.user as given ("1000", "1000:1000", "root") or NULL */
    char **labels;         /* "k=v", NULL-terminated */
    pid_t holder_pid;      /* bwrap's init (pid 1 inside), host pid */
    uint64_t holder_start; /* its start time (clock ticks since boot) */
    int64_t created;       /* unix seconds */
    int64_t deadline;      /* unix seconds, 0 = none */
    int net_shared;        /* 1: the host network namespace is used */
    int64_t storage_bytes; /* size of the tmpfs holding workspace and /tmp, 0 = none */
    struct local_limits limits;
    char *cgroups[LOCAL_MAX_CGROUPS + 1]; /* per-sandbox cgroup dirs, NULL-terminated */
    int cg_pids, cg_memory;  /* pids/memory limits enforced by those cgroups */
    char *freezer;           /* the one of them pause() freezes, or NULL */
    int freezer_v2;          /* 1: cgroup.freeze (v2), 0: freezer.state (v1) */
};

struct corral_sbx {
    struct local_plugin *lp;
    char *dir;             /* the state directory */
    struct local_meta meta;
    char **env;            /* default env "K=V" (from the env file) */
    _Atomic int holder_pidfd; /* a pidfd of the holder once checked, else -1 (join.c) */
};

/* ---- state.c: state directory, meta.json, /proc helpers ------------------ */

/* 1 when id is usable as a directory name ([A-Za-z0-9._-], not starting
 * with '.', at most 128 chars). */
int local_id_valid(const char *id);
/* malloc'ed "<root>/<id>", or NULL on OOM. */
char *local_state_dir(const struct local_plugin *lp, const char *id);
/* The default state root: $XDG_STATE_HOME/corral/local, /var/lib/corral/local
 * for root, else $HOME/.local/state/corral/local.  malloc'ed or NULL. */
char *local_default_state_root(void);

/* meta.json <-> struct local_meta.  Serialize returns malloc'ed JSON text
 * (with the state dir, no env values); parse fills *m (free with
 * local_meta_free).  0 or -1. */
char *local_meta_to_json(const struct local_meta *m, const char *dir);
int local_meta_from_json(const char *json, struct local_meta *m);
void local_meta_free(struct local_meta *m);
/* Read/write <dir>/meta.json (written atomically).  0 or -errno. */
int local_meta_load(const char *dir, struct local_meta *m);
int local_meta_save(const char *dir, const struct local_meta *m);
/* The env file: NUL-separated "K=V" entries, mode 0600, written once into
 * a fresh state dir (absent when env is empty).  0 or -errno. */
int local_env_save(const char *dir, const char *const *env);
int local_env_load(const char *dir, char ***env);

/* Start time (field 22) of /proc/<pid>/stat text; 0 when unparsable.  The
 * state letter goes to *state when non-NULL. */
uint64_t local_parse_stat_start(const char *stat_text, char *state);
/* Start time of pid read through /proc (dirfd: an open /proc/<pid> or -1),
 * 0 when gone or a zombie. */
uint64_t local_proc_start(int proc_dirfd, pid_t pid);
/* 1 when the holder recorded in m is still the same live process. */
int local_holder_alive(const struct local_meta *m);
/* 1 when the sandbox in dir is marked paused. */
int local_is_paused(const char *dir);

/* ---- cgroup.c: pids/memory limits through cgroups when writable --------- */

/* Make the sandbox's cgroups where possible: pids/memory for m->limits
 * (what could not be made is left to the rlimits) and, when want_freezer
 * or limits make cgroups anyway, a freezer for pause().  Fills m->cgroups,
 * cg_pids, cg_memory, freezer.  Always 0. */
int local_cgroup_setup(struct local_meta *m, int want_freezer);
/* Open cgroup.procs of each of m's cgroups (O_WRONLY|O_CLOEXEC).  0 or -errno. */
int local_cgroup_open_procs(const struct local_meta *m, int fds[LOCAL_MAX_CGROUPS]);
/* rmdir m's cgroups (they must be empty: kill first).  Best effort. */
void local_cgroup_remove(const struct local_meta *m);
/* After local_cgroup_setup: the limits commands will apply as rlimits
 * (those no cgroup of m enforces) must fit under this process's hard
 * limits, because a command in the sandbox's user namespace can never raise
 * one (that takes CAP_SYS_RESOURCE in the host's namespace) and every exec
 * would fail.  0, or -1 with why (the caller's, cap bytes) naming the
 * resource and both numbers. */
int local_limits_check(const struct local_meta *m, char *why, size_t cap);
/* Freeze (1) or thaw (0) m's freezer cgroup and wait until it took effect
 * (bounded).  0, -ENOENT without a freezer, or -errno. */
int local_cgroup_freeze(const struct local_meta *m, int freeze);

/* ---- net.c: network "full" through pasta ------------------------------------ */

/* Give the holder's own network namespace outbound access through pasta,
 * watched by a detached process that ends pasta when the holder ends.
 * 0 once the namespace is configured, else a corral status (pasta missing
 * or failing; its log is <dir>/pasta.log). */
int local_net_attach(struct local_plugin *lp, pid_t holder, const char *dir, corral_call *call);

/* ---- env.c: environment vectors (string vectors are common's crl_strv) -- */

/* Set "K=V" in env (replacing, and wiping, an existing K).  0 or -1. */
int local_env_set(struct crl_strv *env, const char *kv);

/* ---- argv.c: the holder's bwrap command line (pure) ---------------------- */

struct local_holder_args {
    const char *bwrap;         /* resolved path of bwrap */
    const char *root_image;    /* NULL: the host's system dirs; else a rootfs dir */
    const char *workspace;     /* host dir bound at workdir */
    const char *tmp_dir;       /* host dir bound at /tmp, NULL = a fresh tmpfs */
    const char *workdir;
    int share_net;
    int ready_fd, info_fd;     /* fds bwrap and the holder write to */
    const char *uid, *gid;     /* --uid/--gid values or NULL */
    int64_t ttl_s;             /* 0 = no deadline */
    const struct corral_mount *mounts;
    size_t n_mounts;
    /* for tests: which host system paths exist and which are symlinks;
     * NULL = ask the file system */
    int (*probe)(const char *path, char *link, size_t linksz);
    /* mask the host's private files under /etc (the sandbox's uid 0 is
     * the host's: corral runs as root); private_paths lists them (NULL =
     * local_private_paths) */
    int mask_private;
    char **(*private_paths)(const char *dir);
};
/* Build the malloc'ed argv (free with crl_strv_free_array), or NULL on OOM or
 * invalid input (a mount path that is not absolute). */
char **local_holder_argv(const struct local_holder_args *a);
/* private.c: every file below dir that is not world-readable ("f<path>")
 * and every directory not world-readable and -searchable ("d<path>", not
 * descended into), symlinks never followed; malloc'ed array (free with
 * crl_strv_free_array) or NULL (out of memory, unreadable, or more than
 * 200000 entries). */
char **local_private_paths(const char *dir);
/* The same, from a cache of this process that is rescanned only after a
 * change under dir (inotify on every directory scanned) or to the mount
 * table; what it returns is a copy the caller frees.  Thread-safe. */
char **local_private_paths_cached(const char *dir);
/* How many scans the cache made (for tests). */
unsigned local_private_scans(void);
/* Release the cache (plugin fini). */
void local_private_cache_free(void);
/* Find `name` on PATH (or check it when it contains '/'); malloc'ed path of
 * an executable or NULL. */
char *local_which(const char *name);

/* ---- join.c: run something inside the sandbox ------------------------------ */

/* What the child does after joining.  All strings/arrays are prepared by the
 * caller before fork (the child only calls async-signal-safe functions). */
struct local_launch {
    char *const *argv;         /* argv[0] searched on the env's PATH if it has no '/' */
    char *const *envp;
    const char *cwd;
    int stdin_fd, stdout_fd, stderr_fd; /* host fds, -1 = /dev/null */
    const char *out_path, *err_path;    /* opened inside (spawn); override stdout/err fds */
    const struct local_limits *limits; /* rlimits; cgroup-enforced ones are skipped */
};

/* Errors the launched child reports back (stage of failure). */
enum local_launch_stage { LOCAL_STAGE_JOIN = 1, LOCAL_STAGE_CWD, LOCAL_STAGE_STDIO, LOCAL_STAGE_EXEC,
                          LOCAL_STAGE_LIMITS, LOCAL_STAGE_CONFINE };

/* ---- confine.c: keyring isolation of a launched command ------------------- */

/* In the launched child, before exec (async-signal-safe): join a fresh
 * session keyring, set no_new_privs and install the seccomp filter that
 * refuses add_key/request_key/keyctl with EPERM.  0, or -1 with errno. */
int local_confine(void);

/* /proc/<holder> of sbx as an O_DIRECTORY fd the caller closes, checked to
 * be the sandbox's holder; CORRAL_ENOTFOUND when it is gone.  The first
 * call checks the holder's start time and keeps a pidfd of it in sbx
 * (closed by local_close); later checks only poll that pidfd. */
int local_holder_open(struct corral_sbx *sbx, int *pdir, corral_call *call);
/* After opening something through pdir: CORRAL_ENOTFOUND unless it still
 * is the same holder (a recycled pid would name another process): the
 * pidfd local_holder_open kept has not seen the holder exit. */
int local_holder_same(struct corral_sbx *sbx, int pdir, corral_call *call);

/* Start l inside sbx.  On success *pid is the child's host pid (our own
 * child, in its own process group when running argv) and *pidfd a pidfd for
 * it.  When the child failed before exec, returns 0 with *stage and *err set and
 * the child reaped (*pid = -1).  Returns a corral status on host failures. */
int local_launch(struct corral_sbx *sbx, const struct local_launch *l, pid_t *pid, int *pidfd, int *stage,
                 int *err, corral_call *call);

/* ---- exec.c / job.c / files.c / pause.c / sandbox.c: the ops ---------------- */

int local_exec(corral_sbx *sbx, const struct corral_exec_request *req, struct corral_exec_result *res,
               corral_call *call);
int local_spawn(corral_sbx *sbx, const struct corral_exec_request *req, corral_job **job, corral_call *call);
int local_job_wait(corral_sbx *sbx, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                   corral_call *call);
int local_job_kill(corral_sbx *sbx, corral_job *job, corral_call *call);
void local_job_free(corral_sbx *sbx, corral_job *job);
/* A request made ready to launch: argv, envp (a fixed base + the sandbox's
 * env + the request's; never the host's environment) and the absolute
 * working directory, all malloc'ed; free with local_command_free. */
struct local_command {
    char **argv, **envp;
    char *cwd;
};
/* Check req against the sandbox (present, sandbox not paused, its user)
 * and build its command, reaping finished orphans first; `what` ("exec",
 * "spawn") names the operation in messages.  On failure cmd holds nothing. */
int local_command_prepare(corral_sbx *sbx, const struct corral_exec_request *req, const char *what,
                          struct local_command *cmd, corral_call *call);
void local_command_free(struct local_command *cmd);
/* Fail call for a launch that stopped at stage (any but LOCAL_STAGE_EXEC,
 * which callers report as a shell would) with errno err. */
int local_launch_fail(corral_sbx *sbx, int stage, int err, const char *what, const char *cwd, corral_call *call);
/* Milliseconds on the monotonic clock: the host's when it offers one. */
int64_t local_now_ms(const struct corral_host *h);
/* write(2) that never raises SIGPIPE in the host process. */
ssize_t local_write_nosigpipe(int fd, const void *buf, size_t len);
/* Fill res from a wait status. */
void local_fill_result(struct corral_exec_result *res, int status, int timed_out, int64_t duration_ms);

int local_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call);
int local_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                     corral_call *call);
int local_put_archive(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call);
int local_get_archive(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call);

int local_pause(corral_sbx *sbx, corral_call *call);
int local_resume(corral_sbx *sbx, corral_call *call);
/* Send sig to every process of the sandbox except the holder's own two.
 * For SIGSTOP, returns only once all are stopped (-EAGAIN after ~2 s, with
 * the last process that would not stop in *stuck / *stuck_state). */
int local_signal_all(const struct local_meta *m, int sig, pid_t *stuck, char *stuck_state);

int local_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call);
int local_attach(void *ps, const char *state_json, corral_sbx **out, corral_call *call);
int local_state(corral_sbx *sbx, char **json, corral_call *call);
int local_running(corral_sbx *sbx, corral_call *call);
/* SIGKILL every process in the sandbox but the holder (quiesce.c). */
int local_quiesce(corral_sbx *sbx, corral_call *call);
int local_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call);
int local_destroy(corral_sbx *sbx, corral_call *call);
int local_remove(void *ps, const char *state_json, corral_call *call);
void local_close(corral_sbx *sbx);

/* Kill the holder in m (verified by start time) and wait briefly for it,
 * reaping our own finished jobs meanwhile. */
void local_kill_holder(struct local_plugin *lp, const struct local_meta *m);

#endif /* CORRAL_SANDBOX_LOCAL_H */
