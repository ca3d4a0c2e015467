/*
 * corral sandbox ABI: the one vtable every sandbox backend implements
 * (local, docker, e2b, hf, islo and third-party ones).
 *
 * Conventions every backend follows (the conformance suite checks them):
 *  - Timeouts: when an exec or a job outlives its limit, the backend kills
 *    the whole process group INSIDE the sandbox and reports timed_out = 1
 *    and exit_code = 124.  A job killed through job_kill reports its signal
 *    and exit_code 128 + signal, never 0.
 *  - exec takes an argv; a shell runs only when the request says so
 *    (shell != NULL, run as /bin/sh -c).  Environment values may be secrets:
 *    they never appear in any process's argv on the host nor in logs.
 *  - Output is streamed to the sinks the host gives; the host caps it.
 *  - Files and archives: write_file creates parent directories; archives are
 *    plain (uncompressed) POSIX tar streams, compressed by the host.
 *  - Optional slots left NULL are emulated by the host through exec where
 *    possible (read/write file, archives, spawn) or reported as unsupported.
 *  - Every sandbox carries the labels the host puts in the spec
 *    (corral.id, corral.owner, corral.rollout, corral.deadline) and, where the
 *    backend has one, a backend-side TTL, so that list() + remove() can
 *    collect sandboxes whose orchestrator died.
 *
 * Ownership: handles (corral_sbx, corral_job) are allocated by the plugin
 * and released only through close() / job_free().  Strings returned through
 * char ** are malloc()ed and freed by the host.  Everything passed in is
 * borrowed for the call.
 *
 * Failure of create(), attach() and spawn(): *out (*job) is NULL when the
 * plugin is called.  A plugin that fails returns a negative status and
 * either leaves *out NULL, having released what it made, or sets it to a
 * half-made handle that close() (job_free()) can release; the host then
 * calls close() (job_free()) on it exactly once and never any other op.
 * Either way the host calls no destroy(): a failed create tears down on
 * the backend whatever it started (a created sandbox nobody can find is a
 * leak).  On success *out is a handle; success with *out NULL is a plugin
 * bug the host reports as CORRAL_EINTERNAL.
 *
 * Concurrency: calls on different handles may always run at once.  Calls
 * on ONE handle (exec, spawn and the job ops, files, archives, pause,
 * resume, running) run at once only when the plugin sets
 * CORRAL_CAP_CONCURRENT; without it the host serializes them per handle.
 * close() never overlaps another call on the same handle.
 */
#ifndef CORRAL_SANDBOX_H
#define CORRAL_SANDBOX_H

#include <corral/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plugin-defined handle types (opaque to the host). */
typedef struct corral_sbx corral_sbx;
typedef struct corral_job corral_job;

/* Capability flags (struct corral_sandbox_ops.caps). */
enum corral_sandbox_caps {
    CORRAL_CAP_PAUSE = 1u << 0,        /* pause()/resume() keep memory and processes */
    CORRAL_CAP_EGRESS_RULES = 1u << 1, /* honours spec.egress_json host rules natively */
    CORRAL_CAP_HOST_MOUNTS = 1u << 2,  /* honours spec.mounts (host paths, sockets) */
    CORRAL_CAP_PERSISTENT = 1u << 3,   /* outlives the creating process; attach() works */
    CORRAL_CAP_LIMITS = 1u << 4,       /* enforces cpu/memory/pids limits */
    CORRAL_CAP_TTL = 1u << 5,          /* enforces spec.ttl_s even if corral dies */
    /* One handle accepts calls from several threads at once (see
     * "Concurrency" above); the conformance suite checks that they overlap.
     * (Appended in ABI 1.1; a plugin of any minor may set it.) */
    CORRAL_CAP_CONCURRENT = 1u << 6,
    /* enforces spec.storage_bytes (a size-limited file system for what the
     * sandbox can write) */
    CORRAL_CAP_STORAGE = 1u << 7,
    /* spec.image may name an unpacked root filesystem (an absolute
     * directory): the host then resolves container image references
     * ("ubuntu:24.04") through its image cache into one, and adds the
     * image config's Env and WorkingDir to the spec (docs/images.md). */
    CORRAL_CAP_ROOTFS = 1u << 8,
    /* Its sandboxes end with this host: after a crash of the machine none
     * of them runs, and list() finds what they left on disk without the
     * registry.  The host then does not fsync the registry entry it writes
     * before create (docs/batches.md "What is durable when"). (Appended in
     * ABI 1.1.) */
    CORRAL_CAP_HOST_BOUND = 1u << 9
};

/* Network modes (struct corral_sandbox_spec.network). */
enum corral_network {
    CORRAL_NET_NONE = 0,     /* no network at all except mounts (e.g. the gate socket) */
    CORRAL_NET_FULL = 1,     /* unrestricted egress */
    CORRAL_NET_POLICY = 2    /* egress by spec.egress_json (needs CORRAL_CAP_EGRESS_RULES) */
};

/* A host path made visible inside the sandbox.  Layout frozen. */
struct corral_mount {
    const char *host_path;
    const char *sandbox_path;
    int read_only;
};

/* One place to pull an image from (struct corral_sandbox_spec).  Layout frozen. */
struct corral_image_source {
    const char *ref;                /* a full reference ("127.0.0.1:5000/library/debian:12") */
    const char *registry_auth;      /* Docker's X-Registry-Auth value (base64url JSON of username,
                                       password, serveraddress), or NULL: anonymous */
};

/* What to create.  Caller-owned, borrowed for the call. */
struct corral_sandbox_spec {
    size_t struct_size;
    const char *id;                 /* host-chosen id, "<backend>-<hex>": use it as the
                                       backend-side name where one exists (idempotent create) */
    const char *image;              /* image / template; NULL = the backend's default */
    const char *const *env;         /* "K=V", NULL-terminated: default env of every exec */
    const char *const *labels;      /* "k=v", NULL-terminated; always has the corral.* labels */
    const char *workdir;            /* working directory; NULL = backend default (/workspace) */
    const char *user;               /* user to run as inside; NULL = backend default */
    int64_t ttl_s;                  /* the sandbox must be gone after this many seconds */
    double cpus;                    /* 0 = no limit */
    int64_t memory_bytes;           /* 0 = no limit */
    int64_t pids_max;               /* 0 = no limit */
    int64_t file_size_bytes;        /* RLIMIT_FSIZE-style limit; 0 = none */
    int network;                    /* enum corral_network */
    const char *egress_json;        /* policy JSON for CORRAL_NET_POLICY, else NULL */
    const struct corral_mount *mounts; /* n_mounts entries */
    size_t n_mounts;
    const char *options_json;       /* backend-specific create options (JSON object) or NULL */
    /* appended (ABI 1.1): a cap on what the sandbox can write (workspace,
     * /tmp), in bytes; 0 = the backend's default.  The host refuses a
     * nonzero value for a backend without CORRAL_CAP_STORAGE. */
    int64_t storage_bytes;
    /* appended (ABI 1.1): where a backend that pulls images itself
     * (docker) gets a missing spec.image from, in order: the configured
     * mirrors' references, then the image's own registry, each with the
     * credentials the host holds for it (docs/images.md "Mirrors");
     * n_image_sources 0 = pull spec.image as named, anonymously.  Secrets:
     * never log registry_auth. */
    const struct corral_image_source *image_sources;
    size_t n_image_sources;
};

/* An image build (the build_image slot).  Caller-owned, borrowed for
 * the call.  Layout frozen. */
struct corral_image_build {
    size_t struct_size;
    const char *tag;                /* "corral-build:<sha256 of the context tar>" */
    const char *dockerfile;         /* the Dockerfile's path inside the context */
    const struct corral_source *context; /* a tar of the build context */
    int64_t timeout_ms;             /* the whole build; 0 = no limit other than the call's */
    void (*progress)(void *ud, const char *line); /* one build output line; may be NULL */
    void *progress_ud;
};

/* One command.  Caller-owned, borrowed for the call. */
struct corral_exec_request {
    size_t struct_size;
    const char *const *argv;        /* NULL-terminated argv, or NULL when shell is set */
    const char *shell;              /* explicit shell string for /bin/sh -c, or NULL */
    const char *cwd;                /* NULL = the sandbox workdir */
    const char *const *env;         /* "K=V" added to the sandbox env, NULL-terminated */
    const void *stdin_data;         /* bytes fed to stdin, then EOF; NULL = empty stdin */
    size_t stdin_len;
    int64_t timeout_ms;             /* 0 = no limit other than the call's deadline */
    const struct corral_sink *out;  /* stdout sink, NULL = discard */
    const struct corral_sink *err;  /* stderr sink, NULL = discard */
    const char *user;               /* NULL = the sandbox user */
    /* spawn() only: where the job's stdout/stderr go inside the sandbox
     * (files created/truncated); NULL = /dev/null. */
    const char *out_path;
    const char *err_path;
};

/* How a command ended.  Allocated and zeroed by the host, which sets
 * struct_size; the plugin writes no field beyond struct_size. */
struct corral_exec_result {
    size_t struct_size;
    int exit_code;                  /* 0-255; 124 on timeout; 128+signal if killed */
    int signal;                     /* terminating signal, or 0 */
    int timed_out;                  /* 1 if the timeout fired */
    int64_t duration_ms;
};

/* One sandbox as seen by list().  Borrowed for the callback. */
struct corral_sandbox_info {
    size_t struct_size;
    const char *id;                 /* corral id (the corral.id label) */
    const char *status;             /* "running", "paused", "stopped", "unknown" */
    const char *const *labels;      /* "k=v", NULL-terminated */
    const char *state_json;         /* what attach()/remove() need */
};

/* One name of an image a backend made itself (the images slot), e.g. a
 * docker daemon's build of a task's Dockerfile.  Borrowed for the
 * callback.  Layout frozen. */
struct corral_backend_image {
    size_t struct_size;
    const char *ref;                /* one name of it ("corral-build:<hex>"), or its id when it has none */
    const char *id;                 /* the backend's id of the image ("sha256:<hex>") */
    int64_t size;                   /* bytes, -1 unknown */
    int64_t created;                /* Unix seconds, 0 unknown */
    int64_t in_use;                 /* sandboxes (containers, in any state) made from it; -1 unknown */
};
/* Callback for images(CORRAL_IMAGES_LIST); 0 to continue, non-zero stops
 * the walk (and is returned). */
typedef int (*corral_backend_image_cb)(void *ud, const struct corral_backend_image *img);
/* What images() does (its op). */
enum corral_images_op {
    CORRAL_IMAGES_LIST = 0,         /* cb once per name of each image the backend made */
    CORRAL_IMAGES_REMOVE = 1,       /* remove the name ref (the image once it has no other) */
    CORRAL_IMAGES_REMOVE_FORCE = 2  /* the same, even when stopped sandboxes were made from it */
};

/* Callback for list(); return 0 to continue, non-zero to stop. */
typedef int (*corral_sandbox_list_cb)(void *ud, const struct corral_sandbox_info *info);

/* The sandbox vtable.  `ps` is the plugin's state (from init(), or the
 * host-allocated block of ABI 1.1). */
struct corral_sandbox_ops {
    size_t struct_size;
    uint32_t caps;                  /* enum corral_sandbox_caps */

    /* ---- Mandatory slots: every backend sets these ---- */

    /* Create and start a sandbox from spec; *out is a new handle (on
     * failure see "Failure of create(), attach() and spawn()" above). */
    int (*create)(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call);
    /* Run a command to completion. */
    int (*exec)(corral_sbx *sbx, const struct corral_exec_request *req, struct corral_exec_result *res,
                corral_call *call);
    /* Destroy the sandbox and everything the backend holds for it (the
     * handle stays valid until close()).  Idempotent: gone is success. */
    int (*destroy)(corral_sbx *sbx, corral_call *call);
    /* Release the handle; the sandbox itself is left as it is. */
    void (*close)(corral_sbx *sbx);

    /* ---- Optional slots: the host checks CORRAL_HAS() before each use ---- */

    /* Serialize what attach() needs to *json (malloc'ed; no secrets). */
    int (*state)(corral_sbx *sbx, char **json, corral_call *call);
    /* Reattach to the sandbox described by state_json (from state() or
     * list()).  A paused or stopped sandbox is resumed, never recreated;
     * CORRAL_ENOTFOUND if it is gone.  *out on failure: as for create(). */
    int (*attach)(void *ps, const char *state_json, corral_sbx **out, corral_call *call);
    /* Start a command in the background (its own process group); *job is a
     * new handle (on failure: NULL, or one the host passes to job_free()). */
    int (*spawn)(corral_sbx *sbx, const struct corral_exec_request *req, corral_job **job, corral_call *call);
    /* Wait up to timeout_ms (0 = probe once) for the job.  0 and *res filled
     * when it ended; CORRAL_ETIMEDOUT while it is still running. */
    int (*job_wait)(corral_sbx *sbx, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                    corral_call *call);
    /* SIGKILL the job's process group.  Idempotent. */
    int (*job_kill)(corral_sbx *sbx, corral_job *job, corral_call *call);
    /* Release a job handle (does not kill). */
    void (*job_free)(corral_sbx *sbx, corral_job *job);
    /* Stream the file at path (absolute, inside) to sink.  CORRAL_ENOTFOUND if missing. */
    int (*read_file)(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call);
    /* Write src to path (absolute), creating parents, with permission bits mode. */
    int (*write_file)(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                      corral_call *call);
    /* Extract the tar stream src into the directory dir (created if missing). */
    int (*put_archive)(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call);
    /* Stream a tar of the directory dir's contents (paths relative to dir) to sink. */
    int (*get_archive)(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call);
    /* Freeze every process (CORRAL_CAP_PAUSE). */
    int (*pause)(corral_sbx *sbx, corral_call *call);
    /* Thaw what pause() froze. */
    int (*resume)(corral_sbx *sbx, corral_call *call);
    /* Cheap liveness probe: 1 running, 0 not running (paused, stopped, gone), <0 error. */
    int (*running)(corral_sbx *sbx, corral_call *call);
    /* Enumerate this backend's sandboxes whose labels match every filter
     * ("k=v" matches a value, "k" the presence of a key). */
    int (*list)(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call);
    /* Destroy a sandbox known only by its state (garbage collection).
     * Idempotent: gone is success. */
    int (*remove)(void *ps, const char *state_json, corral_call *call);
    /* ABI 1.1, appended: SIGKILL every process in the sandbox except the
     * sandbox's own init (and what keeps the sandbox alive), from outside
     * the agent's reach, and return once they cannot run any more.  Used
     * before verification so that nothing the agent left behind runs
     * with the verifier.  Leave unset where the backend's own service
     * runs inside the sandbox (an in-sandbox kill of everything would
     * kill it): the host then reports CORRAL_ENOTSUP. */
    int (*quiesce)(corral_sbx *sbx, corral_call *call);
    /* ABI 1.1, appended (FROZEN at slot 22): replace the egress policy of a live sandbox made
     * with CORRAL_NET_POLICY by policy_json (same form as spec.egress_json;
     * borrowed for the call), e.g. between a rollout's phases.  Only for
     * CORRAL_CAP_EGRESS_RULES backends; a policy the backend cannot express
     * is refused (CORRAL_ENOTSUP, naming the rule), never widened.  Unset:
     * the host reports CORRAL_ENOTSUP. */
    int (*set_egress)(corral_sbx *sbx, const char *policy_json, corral_call *call);
    /* ABI 1.1, appended (FROZEN at slot 23): build an image from a
     * Dockerfile and its context and name it req->tag, or do nothing when
     * an image of that name exists already (the tag names the context's
     * digest, so it is the same build).  Build output goes to
     * req->progress line by line; a failed build step fails the call with
     * CORRAL_EINVAL and the build's own message.  Leave unset where the
     * backend cannot build: the host then refuses a task that has only a
     * Dockerfile (docs/plugin-abi.md). */
    int (*build_image)(void *ps, const struct corral_image_build *req, corral_call *call);
    /* ABI 1.1, appended (FROZEN at slot 24): whether the backend holds
     * the image `image` (a reference, borrowed for the call) already, so
     * that a sandbox of it starts without a pull: 1 yes, 0 no, or a
     * negative status when the backend cannot tell (unreachable).  Asks,
     * never pulls or builds.  Unset: the host checks such images in their
     * registry, or not at all (`corral task check`, docs/plugin-abi.md). */
    int (*image_present)(void *ps, const char *image, corral_call *call);
    /* ABI 1.1, appended (FROZEN at slot 25): the images the backend made
     * itself and keeps on its side (docker: those it built, labelled
     * corral.build=1), never images it only pulled, which are the
     * backend's own.  op CORRAL_IMAGES_LIST calls cb(ud, img) for each
     * name of each (ref NULL); CORRAL_IMAGES_REMOVE removes the name ref
     * (cb unused): CORRAL_ENOTFOUND when there is none, CORRAL_EPERM for
     * an image the backend did not make, CORRAL_ESTATE naming the
     * sandbox when one was made from it (with REMOVE_FORCE only a running
     * one).  Unset: the host reports CORRAL_ENOTSUP (`corral image
     * --backend`, docs/plugin-abi.md). */
    int (*images)(void *ps, int op, const char *ref, corral_backend_image_cb cb, void *ud, corral_call *call);
};

/* The smallest sandbox ops table the host accepts: up to the last mandatory slot. */
#define CORRAL_SANDBOX_OPS_MIN_SIZE (offsetof(struct corral_sandbox_ops, close) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_SANDBOX_H */
