/*
 * libcorral: the host side of sandboxes.  Used by the corral CLI
 * (`corral sandbox ...`, `corral gc`), the rollout runner and the
 * conformance suite.  It wraps one backend plugin's vtable
 * (<corral/sandbox.h>) and adds what every backend gets for free:
 *
 *  - ids ("<backend>-<16 hex>") and the corral.* labels (id, owner, rollout,
 *    deadline) on every sandbox, with label and env-name validation;
 *  - a local registry of handles ($CORRAL_STATE_DIR, else
 *    $XDG_STATE_HOME/corral/sandboxes, /var/lib/corral/sandboxes for root)
 *    so another process can reattach by id;
 *  - exec with output captured into capped buffers (truncated flag);
 *  - emulation through exec of every optional slot a plugin leaves NULL
 *    (read_file, write_file, put_archive, get_archive, spawn/wait/kill);
 *  - garbage collection of sandboxes past their deadline;
 *  - persist/hydrate of workspaces to/from local .tar.gz/.tar.zst/dirs.
 *
 * Every function returns 0 or a negative CORRAL_E* status with a message in
 * `call`.  Handles are not thread-safe against corral_sandbox_close(), but
 * exec, files, archives and jobs on one handle may be called from several
 * threads at once: they run concurrently when the plugin declares
 * CORRAL_CAP_CONCURRENT (the conformance suite checks that they overlap),
 * and one at a time otherwise (the host serializes them per handle).
 */
#ifndef CORRAL_SANDBOX_HOST_H
#define CORRAL_SANDBOX_HOST_H

#include <corral/corral.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A host-side sandbox handle (owns the plugin's corral_sbx). */
typedef struct corral_sandbox corral_sandbox;
/* A host-side background job (native or emulated). */
typedef struct corral_sandbox_job corral_sandbox_job;

#define CORRAL_SANDBOX_DEFAULT_TTL_S 3600
#define CORRAL_EXEC_DEFAULT_CAP ((size_t)16 << 20)

/* ---- Validation ------------------------------------------------------------ */

/* 1 when `name` matches ^[A-Za-z_][A-Za-z0-9_]*$ (an env variable name). */
int corral_env_name_valid(const char *name);
/* 1 when `kv` is "K=V" with a valid K (V may hold any byte but NUL). */
int corral_env_entry_valid(const char *kv);
/* 1 when `kv` is "key=value": key [A-Za-z0-9][A-Za-z0-9._/-]{0,127},
 * value [A-Za-z0-9._:@/+,-]{0,255}.  Keys starting "corral." are reserved
 * to the host; pass allow_reserved=1 only for host-made labels. */
int corral_label_valid(const char *kv, int allow_reserved);
/* 1 when `id` looks like "<backend>-<16 lowercase hex>" with backend [a-z0-9_]+. */
int corral_sandbox_id_valid(const char *id);
/* Write a fresh id for `backend` into buf (at least 64 bytes).  Uses
 * OpenSSL RAND_bytes; returns 0 or CORRAL_EINVAL/CORRAL_EINTERNAL. */
int corral_sandbox_id_new(const char *backend, char *buf, size_t cap, struct corral_call *call);
/* The backend part of an id, copied into buf; 0 or CORRAL_EINVAL. */
int corral_sandbox_id_backend(const char *id, char *buf, size_t cap);
/* "user@host:pid" of this process into buf. */
void corral_sandbox_owner(char *buf, size_t cap);

/* ---- Registry of handles (one JSON file per sandbox, never env values) ---- */

/* The registry directory (created 0700 if missing) into buf. */
int corral_registry_dir(char *buf, size_t cap, struct corral_call *call);
/* Record id -> (backend, plugin state JSON, deadline).  Atomic, mode 0600. */
int corral_registry_put(const char *id, const char *backend, const char *state_json, int64_t deadline,
                        struct corral_call *call);
/* Look id up.  *backend and *state_json are malloc'ed (caller frees);
 * *deadline may be NULL.  CORRAL_ENOTFOUND when there is no entry. */
int corral_registry_get(const char *id, char **backend, char **state_json, int64_t *deadline,
                        struct corral_call *call);
/* Remove the entry (absent is success). */
int corral_registry_del(const char *id, struct corral_call *call);
/* Call cb for every entry (strings borrowed for the callback); stop when it
 * returns non-zero.  Unreadable entries are skipped with a warning. */
typedef int (*corral_registry_cb)(void *ud, const char *id, const char *backend, const char *state_json,
                                  int64_t deadline);
int corral_registry_each(corral_registry_cb cb, void *ud, struct corral_call *call);

/* ---- Capped output capture --------------------------------------------------- */

/* A growing buffer that keeps at most `cap` bytes and counts the rest. */
struct corral_capture {
    char *data;         /* malloc'ed, NUL-terminated (may be NULL when empty) */
    size_t len;         /* bytes kept */
    size_t cap;         /* limit; 0 = CORRAL_EXEC_DEFAULT_CAP */
    size_t total;       /* bytes seen */
    int truncated;      /* 1 once total > cap */
};
/* Point `sink` at `cap` (which must outlive every write). */
void corral_capture_sink(struct corral_capture *cap, struct corral_sink *sink);
/* Free the buffer and zero the counters (cap is kept). */
void corral_capture_free(struct corral_capture *cap);

/* ---- Lifecycle ------------------------------------------------------------------ */

/* What `corral_sandbox_create` adds to the plugin spec. */
struct corral_sandbox_create_opts {
    size_t struct_size;
    const char *backend;       /* plugin name (required) */
    const char *rollout;       /* corral.rollout label value, or NULL = "" */
    int no_registry;           /* 1: do not write a registry entry */
    /* 1: the sandbox lives only as long as this process (a rollout's):
     * labelled corral.lease=<host>:<pid>:<start time>; a backend that can
     * watch the process ends the sandbox when it dies, and `corral gc`
     * removes a sandbox whose lease process is gone. */
    int owner_lease;
};

/* Create a sandbox on backend opts->backend with `spec` (its id and the
 * corral.* labels are set by this function; spec->ttl_s 0 means
 * CORRAL_SANDBOX_DEFAULT_TTL_S).  Validates spec->labels and spec->env.
 * On success *out is a new handle (close with corral_sandbox_close) and the
 * registry has an entry for it. */
int corral_sandbox_create(corral_ctx *ctx, const struct corral_sandbox_create_opts *opts,
                          const struct corral_sandbox_spec *spec, corral_sandbox **out,
                          struct corral_call *call);
/* Reattach to a registered sandbox by id through the plugin's attach(). */
int corral_sandbox_attach(corral_ctx *ctx, const char *id, corral_sandbox **out, struct corral_call *call);
/* Borrowed strings, valid until close. */
const char *corral_sandbox_id(const corral_sandbox *sb);
const char *corral_sandbox_backend(const corral_sandbox *sb);
/* The plugin's vtable of this handle (borrowed). */
const struct corral_sandbox_ops *corral_sandbox_ops_of(const corral_sandbox *sb);
/* Destroy the sandbox (idempotent) and drop its registry entry.  The
 * handle must still be closed. */
int corral_sandbox_destroy(corral_sandbox *sb, struct corral_call *call);
/* Release the handle (NULL is fine); the sandbox itself stays. */
void corral_sandbox_close(corral_sandbox *sb);
/* Pause/resume (CORRAL_ENOTSUP without CORRAL_CAP_PAUSE), liveness probe. */
int corral_sandbox_pause(corral_sandbox *sb, struct corral_call *call);
int corral_sandbox_resume(corral_sandbox *sb, struct corral_call *call);
/* 1 running, 0 not, <0 error (CORRAL_ENOTSUP when the plugin has no probe). */
int corral_sandbox_running(corral_sandbox *sb, struct corral_call *call);
/* SIGKILL every process in the sandbox but its own init (the backend's
 * quiesce op); CORRAL_ENOTSUP where the backend cannot do it safely. */
int corral_sandbox_quiesce(corral_sandbox *sb, struct corral_call *call);
/* Replace the egress policy of a sandbox created with CORRAL_NET_POLICY
 * (the backend's set_egress op; policy_json borrowed); CORRAL_ENOTSUP
 * where the backend has none. */
int corral_sandbox_set_egress(corral_sandbox *sb, const char *policy_json, struct corral_call *call);

/* ---- Exec ------------------------------------------------------------------------ */

/* Run req to completion, streaming to req->out/req->err.  res is filled
 * (struct_size set by this function). */
int corral_sandbox_exec(corral_sandbox *sb, const struct corral_exec_request *req,
                        struct corral_exec_result *res, struct corral_call *call);

/* Result of corral_sandbox_run: exit status plus captured output. */
struct corral_exec_output {
    struct corral_exec_result res;
    struct corral_capture out;   /* set .cap before the call to change the limit */
    struct corral_capture err;
};
/* Run req (its out/err sinks are ignored) capturing stdout and stderr into
 * `o`, which the caller zeroes first (optionally setting .out.cap and
 * .err.cap) and frees with corral_exec_output_free, also after a failure. */
int corral_sandbox_run(corral_sandbox *sb, const struct corral_exec_request *req, struct corral_exec_output *o,
                       struct corral_call *call);
void corral_exec_output_free(struct corral_exec_output *o);

/* Background jobs: native spawn or emulated through exec (marker files in
 * /tmp inside the sandbox; the job runs in its own process group). */
int corral_sandbox_spawn(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job **job,
                         struct corral_call *call);
/* 0 with *res when the job ended, CORRAL_ETIMEDOUT while it runs. */
int corral_sandbox_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                            struct corral_exec_result *res, struct corral_call *call);
int corral_sandbox_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call);
void corral_sandbox_job_free(corral_sandbox *sb, corral_sandbox_job *job);

/* ---- Files and archives (native or emulated) ------------------------------------ */

int corral_sandbox_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink,
                             struct corral_call *call);
int corral_sandbox_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src,
                              uint32_t mode, struct corral_call *call);
/* Convenience forms over memory.  read_mem: *data malloc'ed (caller frees),
 * refused over max bytes with CORRAL_EIO. */
int corral_sandbox_read_mem(corral_sandbox *sb, const char *path, size_t max, char **data, size_t *len,
                            struct corral_call *call);
int corral_sandbox_write_mem(corral_sandbox *sb, const char *path, const void *data, size_t len, uint32_t mode,
                             struct corral_call *call);
int corral_sandbox_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                               struct corral_call *call);
int corral_sandbox_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                               struct corral_call *call);

/* Persist the sandbox directory `dir` to the local `out`: a file ending in
 * .tar.gz/.tgz, .tar.zst or .tar, or (any other name) a directory that is
 * created and filled with safe extraction.  Streams; constant memory. */
int corral_sandbox_persist(corral_sandbox *sb, const char *dir, const char *out, struct corral_call *call);
/* corral_sandbox_persist with flags.  Without CORRAL_PERSIST_FORCE an
 * existing OUT is refused unless it is an empty directory (and OUT is
 * never a symlink); the output is written to a temporary sibling and
 * renamed into place, so a failed persist leaves nothing behind.  With it,
 * an existing archive file is replaced and a non-empty directory is
 * written into (entries of the same name replaced; a failure may then
 * leave part of the output).  "/" is never accepted. */
#define CORRAL_PERSIST_FORCE 1u
int corral_sandbox_persist_opts(corral_sandbox *sb, const char *dir, const char *out, unsigned flags,
                                struct corral_call *call);
/* Hydrate the sandbox directory `dir` from the local `in`: a .tar(.gz/.zst)
 * file or a directory.  The tar is re-encoded on the way: regular files,
 * directories, symlinks (targets kept) and hardlinks with relative names
 * free of ".."; anything else fails with CORRAL_EPERM.  Streams; constant
 * memory.  (persist into an archive file applies the same rules; persist
 * into a directory extracts with corral_archive_extract_safe's.) */
int corral_sandbox_hydrate(corral_sandbox *sb, const char *in, const char *dir, struct corral_call *call);

/* ---- Archives on the host (libarchive) -------------------------------------------- */

/* Extract the tar stream `src` (any compression libarchive reads) into the
 * existing host directory `target`, refusing (CORRAL_EPERM, nothing
 * written outside target) absolute paths, ".." components, links that
 * escape, device/fifo/socket entries. */
int corral_archive_extract_safe(const struct corral_source *src, const char *target, struct corral_call *call);
/* Extract the archive file `path` the same way. */
int corral_archive_extract_file(const char *path, const char *target, struct corral_call *call);

/* ---- Capabilities: native vs emulated ----------------------------------------------- */

enum corral_sandbox_op {
    CORRAL_OP_EXEC, CORRAL_OP_SPAWN, CORRAL_OP_READ_FILE, CORRAL_OP_WRITE_FILE,
    CORRAL_OP_PUT_ARCHIVE, CORRAL_OP_GET_ARCHIVE, CORRAL_OP_PAUSE, CORRAL_OP_ATTACH,
    CORRAL_OP_LIST, CORRAL_OP_REMOVE, CORRAL_OP_RUNNING, CORRAL_OP_QUIESCE, CORRAL_OP__COUNT
};
enum corral_op_support { CORRAL_OP_NONE = 0, CORRAL_OP_NATIVE = 1, CORRAL_OP_EMULATED = 2 };
/* How `ops` offers op: native, emulated by the host, or not at all. */
int corral_sandbox_op_support(const struct corral_sandbox_ops *ops, int op);
/* Short name of an op ("exec", "read_file", ...). */
const char *corral_sandbox_op_name(int op);
/* One line "exec:native spawn:emulated ..." into buf. */
void corral_sandbox_ops_describe(const struct corral_sandbox_ops *ops, char *buf, size_t cap);

/* ---- Listing and garbage collection ------------------------------------------------- */

/* One sandbox seen by corral_sandbox_ls / corral_gc.  Borrowed for the callback. */
struct corral_sandbox_entry {
    const char *id;
    const char *backend;
    const char *status;        /* backend status, or "registered" when only the registry knows it */
    const char *owner;
    const char *rollout;
    int64_t deadline;          /* unix seconds, 0 unknown */
    int in_registry;
    const char *action;        /* gc only: "remove", "keep", "forget" (stale registry entry) */
};
typedef int (*corral_sandbox_entry_cb)(void *ud, const struct corral_sandbox_entry *e);

/* Every sandbox with a corral.id label on every loaded sandbox plugin that
 * has list(), plus registry entries no backend reported (status
 * "registered").  A backend whose list() fails is logged as a warning and
 * skipped; the call still succeeds. */
int corral_sandbox_ls(corral_ctx *ctx, corral_sandbox_entry_cb cb, void *ud, struct corral_call *call);

struct corral_gc_stats {
    int seen, removed, failed, forgotten;
};
/* Remove sandboxes whose corral.deadline passed (or whose status is
 * "dead") on every loaded sandbox plugin, and registry entries whose
 * sandbox is gone.  dry_run: only report.  cb (may be NULL) sees each
 * decision. */
int corral_gc(corral_ctx *ctx, int dry_run, corral_sandbox_entry_cb cb, void *ud, struct corral_gc_stats *stats,
              struct corral_call *call);

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_SANDBOX_HOST_H */
