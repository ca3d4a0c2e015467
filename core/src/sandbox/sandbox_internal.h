/* Private to the sandbox host layer (sandbox*.c, archive.c). */
#ifndef CORRAL_SANDBOX_INTERNAL_H
#define CORRAL_SANDBOX_INTERNAL_H

#include <pthread.h>

#include <corral/image.h>
#include <corral/sandbox_host.h>

#include "images/images_internal.h" /* struct crl_image_sources */

struct crl_sandbox_table;

/* The "storage_bytes" of a backend's state JSON (a storage limit the
 * backend enforces, which hydrate also applies), 0 when absent. */
int64_t crl_state_storage_bytes(const char *state_json);

struct crl_limit_slot;

/* What a spec borrows from a resolved image (sandbox_image.c). */
struct crl_sandbox_image {
    struct corral_image_run run;
    char **env;                 /* the image's Env then the spec's, NULL-terminated */
    struct crl_image_sources sources; /* backends that pull themselves: spec.image_sources */
};
/* For a backend without CORRAL_CAP_ROOTFS and a spec whose image is a
 * container reference: spec->image_sources = its mirrors and registry
 * with credentials (crl_image_sources_make).
 * For a backend with CORRAL_CAP_ROOTFS and a spec whose image is a
 * container reference: resolve it through the image cache (pulling when
 * it is not there) and point spec->image at its root filesystem,
 * spec->env at the image's Env overridden by the spec's, spec->workdir at
 * its WorkingDir when the spec has none.  Otherwise nothing changes.
 * *hold (the caller's) owns what spec now borrows: release it with
 * crl_sandbox_image_release() once create returned. */
int crl_sandbox_image_apply(corral_ctx *ctx, const struct corral_sandbox_ops *ops, struct corral_sandbox_spec *spec,
                            struct crl_sandbox_image *hold, struct corral_call *call);
void crl_sandbox_image_release(struct crl_sandbox_image *hold);

/* The loaded sandbox plugin named backend (*rec, borrowed from ctx) and
 * its completed table; CORRAL_ENOTFOUND when none is loaded. */
int crl_sandbox_plugin(corral_ctx *ctx, const char *backend, const struct corral_plugin_record **rec,
                       const struct crl_sandbox_table **tbl, struct corral_call *call);

/* Build the image of the Dockerfile context below context_fd (borrowed;
 * `what` names it in messages, e.g. "TASK/environment") on backend,
 * through its build_image slot (sandbox_build.c): the context tar leaves
 * out what its .dockerignore excludes, the tag is
 * "corral-build:<sha256 of that tar>", and the backend skips a build
 * whose tag exists.  *tag (malloc'ed, the caller's) on success.  A
 * backend that cannot build fails with CORRAL_ENOTSUP and a line naming
 * the file and the backend; a failed build step with CORRAL_EINVAL. */
int crl_sandbox_build(corral_ctx *ctx, const char *backend, int context_fd, const char *what, int64_t timeout_s,
                      void (*progress)(void *, const char *), void *ud, char **tag, struct corral_call *call);

struct corral_sandbox {
    const struct corral_plugin_record *rec;
    const struct corral_sandbox_ops *ops;   /* the plugin's table (create, exec, destroy, close, state) */
    const struct crl_sandbox_table *tbl;    /* the completed optional slots (sandbox_table.c) */
    void *ps;                   /* the plugin's state */
    corral_sbx *sbx;            /* the plugin's handle */
    int serial;                 /* the plugin lacks CORRAL_CAP_CONCURRENT: one call at a time */
    pthread_mutex_t lock;       /* held around each plugin call when serial */
    char id[96];
    char backend[64];
    int64_t storage_bytes;      /* the sandbox's storage limit when known, 0 = none: caps hydrate */
    struct crl_limit_slot *limit_slot; /* the max_concurrent slot it holds (sandbox_limits.c), or NULL */
};

/* Before a create: wait (bounded by the call) for the backend's shared
 * limits on this host, max_concurrent and max_creates_per_second of its
 * configuration (docs/batches.md "Shared limits").  *slot is the
 * max_concurrent slot the caller holds until the sandbox's handle is
 * freed (crl_sandbox_limits_release), or NULL; sandboxes of one rollout
 * (`rollout`, "" for none) in this process share one.  0, or the call's
 * status (cancelled, timed out, the state dir). */
int crl_sandbox_limits_acquire(corral_ctx *ctx, const char *backend, const char *rollout,
                               struct crl_limit_slot **slot, struct corral_call *call);
/* Drop a reference to a slot (NULL: nothing); the last one frees it. */
void crl_sandbox_limits_release(struct crl_limit_slot *slot);

struct corral_sandbox_job {
    corral_job *native;         /* native spawn, else emulated */
    char marker[160];           /* emulated: marker path prefix inside the sandbox */
    int64_t deadline_ms;        /* emulated: monotonic timeout, 0 = none */
    int done;
    struct corral_exec_result res;
};

/* A sandbox plugin's optional slots, completed once when the plugin is
 * loaded (as libfabric fills unset slots with fi_no_* stubs): each is the
 * plugin's own op behind a thin adapter, the exec-based emulation, or a
 * stub that answers CORRAL_ENOTSUP.  The facade calls through it and never
 * asks which.  Jobs are all native or all emulated, so one job never mixes
 * the two. */
struct crl_sandbox_table {
    int (*attach)(corral_sandbox *sb, const char *state_json, struct corral_call *call);
    int (*read_file)(corral_sandbox *sb, const char *path, const struct corral_sink *sink, struct corral_call *call);
    int (*write_file)(corral_sandbox *sb, const char *path, const struct corral_source *src, uint32_t mode,
                      struct corral_call *call);
    int (*put_archive)(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                       struct corral_call *call);
    int (*get_archive)(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                       struct corral_call *call);
    int (*spawn)(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job *job,
                 struct corral_call *call);
    int (*job_wait)(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                    struct corral_exec_result *res, struct corral_call *call);
    int (*job_kill)(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call);
    void (*job_free)(corral_sandbox *sb, corral_sandbox_job *job);
    int (*pause)(corral_sandbox *sb, struct corral_call *call);
    int (*resume)(corral_sandbox *sb, struct corral_call *call);
    int (*running)(corral_sandbox *sb, struct corral_call *call);
    int (*quiesce)(corral_sandbox *sb, struct corral_call *call);
};

/* A sink that writes every chunk into a fixed-size buffer, failing with
 * CORRAL_EIO past its end (for small probes). */
struct sbx_membuf { char *buf; size_t len, cap; };
int sbx_membuf_write(void *ud, const void *buf, size_t len);

/* A source over a caller-owned buffer (for corral_source.read). */
struct sbx_memsrc { const char *data; size_t len, off; };
long sbx_memsrc_read(void *ud, void *buf, size_t cap);
/* Back to the first byte (corral_source.rewind): a memory body may be resent. */
int sbx_memsrc_rewind(void *ud);

/* Emulations (sandbox_emul.c).  They reach the plugin only through its
 * exec and the completed table, never through the public facade. */
int sbx_emul_read_file(corral_sandbox *sb, const char *path, const struct corral_sink *sink, struct corral_call *call);
int sbx_emul_write_file(corral_sandbox *sb, const char *path, const struct corral_source *src, uint32_t mode,
                        struct corral_call *call);
int sbx_emul_put_archive(corral_sandbox *sb, const char *dir, const struct corral_source *src,
                         struct corral_call *call);
int sbx_emul_get_archive(corral_sandbox *sb, const char *dir, const struct corral_sink *sink,
                         struct corral_call *call);
int sbx_emul_spawn(corral_sandbox *sb, const struct corral_exec_request *req, corral_sandbox_job *job,
                   struct corral_call *call);
int sbx_emul_job_wait(corral_sandbox *sb, corral_sandbox_job *job, int64_t timeout_ms,
                      struct corral_exec_result *res, struct corral_call *call);
int sbx_emul_job_kill(corral_sandbox *sb, corral_sandbox_job *job, struct corral_call *call);

/* sandbox_registry.c: the directory `corral sandbox create --egress` keeps
 * beside entry id (docs/egress.md, "Sandboxes made by hand"), linked as
 * ID.egress and removed with the entry by corral_registry_del.  _dir:
 * its path into buf, 1; 0 when there is none; -1 when the link is not
 * corral's.  _link: link id to dir, an "egress-*" directory made in the
 * registry directory by the caller. */
int crl_registry_egress_dir(const char *id, char *buf, size_t cap, struct corral_call *call);
int crl_registry_egress_link(const char *id, const char *dir, struct corral_call *call);
/* sandbox_registry.c: the entry of a create in progress, written before
 * the plugin's create (the registry's state is then {"corral_pending":
 * "<owner token>"}); sync: fsync'ed before it returns (not needed for a
 * CORRAL_CAP_HOST_BOUND backend's sandbox). */
int crl_registry_put_pending(const char *id, const char *backend, int64_t deadline, int sync,
                             struct corral_call *call);
/* The plugin's state replacing the pending entry once create returned, as
 * corral_registry_put but without fsync: the pending entry, already on
 * disk, names the same sandbox, and gc finds it from either one. */
int crl_registry_put_created(const char *id, const char *backend, const char *state_json, int64_t deadline,
                             struct corral_call *call);
/* For a registry state: -1 not pending (a made sandbox), 1 pending and its
 * creator is gone (killed during create), 0 pending and the creator runs
 * or cannot be judged here (another host). */
int crl_registry_pending_gone(const char *state_json);

/* Parse "k=v" labels for key; returns a pointer into the label or NULL. */
const char *sbx_label_get(const char *const *labels, const char *key);

/* archive.c: hydrate the sandbox's directory dir from the tree below
 * dirfd (borrowed; never a link followed inside it) or, with dirfd < 0,
 * from the archive file in.  in names the source in messages. */
int crl_sandbox_hydrate_at(corral_sandbox *sb, int dirfd, const char *in, const char *dir,
                           struct corral_call *call);

/* Which side of crl_sandbox_copy_tree failed. */
enum crl_copy_fault {
    CRL_COPY_READ,    /* reading the source sandbox's tree */
    CRL_COPY_REFUSED, /* the tree holds what may not be copied (a device, a FIFO, a path escaping it) */
    CRL_COPY_WRITE    /* writing into the destination (its storage limit included) */
};
/* archive.c: copy the directory from_dir of `from` into to_dir of `to`,
 * streaming one's archive into the other (no file on the host), every
 * entry checked as persist and hydrate check it and capped by `to`'s
 * storage limit.  Both sandboxes stay the caller's; on failure *fault
 * says which side failed. */
int crl_sandbox_copy_tree(corral_sandbox *from, const char *from_dir, corral_sandbox *to, const char *to_dir,
                          enum crl_copy_fault *fault, struct corral_call *call);

#endif
