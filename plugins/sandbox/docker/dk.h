/*
 * sandbox_docker internals: shared between the plugin's source files only.
 *
 * Layout:
 *   docker.c      descriptor, config schema, init/fini, the ops table
 *   dk_api.c      Engine API transport over host->http (version negotiation,
 *                 URL building, error mapping)
 *   dk_container.c create/attach/state/list/pause/destroy/remove
 *   dk_exec.c     exec/spawn/jobs through the in-container shim
 *   dk_files.c    read/write file, put/get archive (archive endpoints)
 *   dk_demux.c    the multiplexed exec stream parser (pure)
 *   dk_options.c  create-option allowlist, mounts policy, label filters (pure)
 *   dk_build.c / dk_pull.c  image builds and pulls
 *   dk_images.c   the images corral built (dk_image_list.c reads the answers)
 *   dk_lease.c    the lease watcher: removes a rollout's container when its
 *                 corral dies
 *   dk_tar.c      libarchive helpers (single-entry tars, re-rooting)
 *   shim.c        the static helper copied into every container (/.corral/shim)
 */
#ifndef CORRAL_DOCKER_DK_H
#define CORRAL_DOCKER_DK_H

#include <pthread.h>
#include <stdio.h>
#include <corral/sandbox.h>
#include <cjson/cJSON.h>

#include "crl_common.h"

/* Engine API versions we speak: exec WorkingDir needs 1.35; above MAX we
 * pin to MAX so semantics never change under us. */
#define DK_API_MIN_MINOR 35
#define DK_API_MAX_MINOR 43

#define DK_SHIM_DIR "/.corral"
#define DK_SHIM_PATH "/.corral/shim"

/* Plugin state: transport and policy, allocated by the host (ABI 1.1
 * state_size) and shared by every handle; the negotiated version is guarded
 * by `lock`.  The bound options are filled by the host before init2() and
 * borrowed from it until fini(). */
struct dk_plugin {
    const struct corral_host *host;
    /* bound options */
    const char *docker_host;             /* `host`, or NULL: $DOCKER_HOST */
    const char *default_image;
    const char *const *allowed_mounts;   /* NULL-terminated prefixes */
    const char *const *cap_add_names;    /* as configured */
    const char *create_options;          /* JSON object text, or NULL */
    const char *pull;                    /* "missing" or "never" */
    int64_t default_ttl_s;
    /* made by init2() */
    char *socket;            /* unix socket path, or NULL for tcp */
    char *base;              /* "http://localhost" or "http://host:port" */
    char api[16];            /* "/v1.41" once negotiated, "" before */
    pthread_mutex_t lock;
    const char **cap_add;    /* NULL-terminated canonical names (static strings) */
    int shim_fd;             /* memfd of the shim for lease watchers, -1 until made (lock) */
};

struct corral_sbx {
    struct dk_plugin *p;
    char *cid;               /* full container id */
    char *id;                /* corral id (= container name) */
    char *image;
    char *user;              /* may be NULL */
    char *workdir;
    cJSON *labels;           /* object */
    long uid, gid;           /* numeric user "uid[:gid]", else -1 */
    int lease_fd;            /* to this sandbox's lease watcher, or -1 */
};

struct corral_job {
    char *exec_id;
    char *base;              /* /.corral/job-<hex> : .pid, .status */
    char *user;
    int done;
    struct corral_exec_result res;
};

/* ---- dk_api.c ----------------------------------------------------------- */

struct dk_resp {
    long status;
    char *body;              /* NUL-terminated, malloc'ed, or NULL */
    size_t body_len;
    char *headers;
};

/* Parse a DOCKER_HOST-style address into p->socket/p->base. */
int dk_api_set_host(struct dk_plugin *p, const char *host, corral_call *call);
/* One Engine API request.  `path` starts with "/" and excludes the version
 * prefix (added here after negotiating).  json (may be NULL) is sent with
 * Content-Type application/json; src streams a body instead (tar); sink
 * streams the response body.  Returns 0 when a response arrived (r filled,
 * release with dk_resp_free) or a negative status with call failed. */
int dk_api(struct dk_plugin *p, const char *method, const char *path, const char *json,
           const struct corral_source *src, const char *content_type,
           const struct corral_sink *sink, int64_t timeout_ms, int attempts,
           struct dk_resp *r, corral_call *call);
void dk_resp_free(struct dk_resp *r);
/* A bodyless POST-style request with one extra header hname: hvalue
 * (both NULL: none; the value is never logged). */
int dk_api_h(struct dk_plugin *p, const char *method, const char *path, const char *hname, const char *hvalue,
             const struct corral_sink *sink, int64_t timeout_ms, int attempts, struct dk_resp *r, corral_call *call);
/* Fail `call` for an unexpected response: message from the body's
 * "message", code from the status (404 ENOTFOUND, 409 ESTATE, 5xx
 * ETRANSIENT, other EPROTO).  `what` names the operation. */
int dk_api_fail(struct dk_plugin *p, const struct dk_resp *r, const char *what, corral_call *call);
/* An API path: fmt with each "%s" (its only conversion) replaced by the
 * next const char * argument percent-encoded for a path segment or query
 * value, '/' kept.
 * malloc'ed (the caller frees) or NULL when out of memory. */
char *dk_pathf(const char *fmt, ...);
/* Whether what path names exists: 1 on 200, 0 on 404, else a negative
 * status with call failed (dk_api_fail, `what` naming the operation). */
int dk_api_probe(struct dk_plugin *p, const char *method, const char *path, const char *what, corral_call *call);
/* Parse r->body as JSON; NULL (with call failed, EPROTO) if unparseable. */
cJSON *dk_json(struct dk_plugin *p, const struct dk_resp *r, const char *what, corral_call *call);

/* ---- dk_pull.c ----------------------------------------------------------- */

/* Pull `image` into the daemon (POST /images/create), progress in the log
 * every few seconds; the stream's own error (a 200 whose lines end in
 * {"error": ...}) fails the call: CORRAL_ENOTFOUND for an unknown image,
 * else EPROTO (ETRANSIENT for a bare 5xx).  With sources (the spec's
 * image_sources, n > 0) each is tried in order with its X-Registry-Auth,
 * a mirror's image then tagged as `image`; *used is the name the daemon
 * now knows it by (image, or a mirror's reference for a digest). */
int dk_image_pull(struct dk_plugin *p, const char *image, const struct corral_image_source *src, size_t n,
                  const char **used, corral_call *call);
/* The image_present slot (also the check before a pull or a build): GET
 * /images/{image}/json, 1 when the daemon has it, 0 for its 404, else a
 * negative status naming the daemon's answer. */
int dk_image_present(void *ps, const char *image, corral_call *call);
/* A corral_sink splitting an NDJSON stream (pulls, builds) into lines,
 * each parsed and handed to one(ud, json) (json NULL when unparseable);
 * lines past 16 KiB are dropped.  dk_ndjson_finish() handles a last line
 * without newline and frees the buffer. */
struct dk_ndjson {
    void (*one)(void *ud, const cJSON *j);
    void *ud;
    struct crl_buf line;
    int cut;
};
int dk_ndjson_write(void *ud, const void *buf, size_t len);
void dk_ndjson_finish(struct dk_ndjson *n);

/* ---- dk_build.c ---------------------------------------------------------- */

/* The build_image slot: skip when req->tag exists on the daemon (GET
 * /images/{tag}/json), else POST /build with the context tar, its
 * "stream" lines to req->progress; an "error" line fails the call with
 * CORRAL_EINVAL and that text. */
int dk_build_image(void *ps, const struct corral_image_build *req, corral_call *call);

/* ---- dk_image_list.c / dk_images.c -------------------------------------- */

/* How many containers in `containers` (the array of GET
 * /containers/json?all=1) were made from the image `id` (live_only: only
 * those running, paused or restarting); the first names of those,
 * ", "-joined, into names (cap bytes; cap 0: none). */
int64_t dk_image_users(const cJSON *containers, const char *id, int live_only, char *names, size_t cap);
/* Walk the daemon's answers to GET /images/json (images, ilen bytes) and
 * GET /containers/json?all=1 (containers, or NULL: in_use -1): cb once
 * per name of each image labelled corral.build=1 (an image without a
 * name once, by its id).  0, cb's nonzero return, or -1 with err filled
 * for an answer that is not a JSON array. */
int dk_images_walk(const char *images, size_t ilen, const char *containers, size_t clen, corral_backend_image_cb cb,
                   void *ud, char *err, size_t errcap);
/* The images slot: list or remove the images corral built on the daemon
 * (label corral.build=1); an image without that label is never removed. */
int dk_images(void *ps, int op, const char *ref, corral_backend_image_cb cb, void *ud, corral_call *call);

/* ---- dk_demux.c ----------------------------------------------------------- */

/* Parser of Docker's multiplexed attach stream: frames of an 8-byte header
 * {stream, 0, 0, 0, size (big-endian u32)} then `size` payload bytes;
 * stream 1 stdout, 2 stderr (0 stdin is treated as stdout, 3 is the
 * daemon's system error, kept in `syserr`).  Frames may be split across
 * chunks at any byte.  Bytes that are not a frame header (an error body
 * the daemon sent instead of a stream) are collected in `raw`. */
struct dk_demux {
    const struct corral_sink *out, *err;
    unsigned char hdr[8];
    size_t hdr_have;
    uint32_t left;           /* payload bytes left in the current frame */
    int stream;
    int bad;                 /* 1 once the input was not a frame stream */
    char raw[1024];          /* first bytes of a non-stream body / syserr */
    size_t raw_len;
    uint64_t n_out, n_err;
};

void dk_demux_init(struct dk_demux *d, const struct corral_sink *out, const struct corral_sink *err);
/* Feed one chunk; returns 0 or the negative status a sink returned. */
int dk_demux_feed(struct dk_demux *d, const void *buf, size_t len);
/* 1 if the stream ended at a frame boundary. */
int dk_demux_complete(const struct dk_demux *d);

/* ---- dk_options.c ---------------------------------------------------------- */

/* Apply the JSON object `options_json` (snake_case keys, see the README of
 * the plugin / docker.c) onto the create body's HostConfig `hc` and the
 * top-level body `body`.  Unknown or refused keys fail with CORRAL_EPERM
 * and a message naming the key, written to err (errcap bytes). */
int dk_options_apply(const char *options_json, const char *const *allowed_mounts, cJSON *body,
                     cJSON *hc, char *err, size_t errcap);
/* Whether cap (with or without CAP_ prefix, any case) is one the plugin
 * allows to be added; *canon gets the canonical "CAP_X" name (static). */
int dk_cap_allowed(const char *cap, const char **canon);
/* Check a bind of host_path: absolute, no "..", not the docker socket or
 * a system directory; when allowed is non-NULL also under one of those
 * prefixes.  0 or CORRAL_EPERM with err filled. */
int dk_mount_check(const char *host_path, const char *sandbox_path, const char *const *allowed,
                   char *err, size_t errcap);
/* The filters={"label":[...]} query value for list(): corral.id plus each
 * filter verbatim ("k" or "k=v").  malloc'ed JSON text or NULL. */
char *dk_label_filter_json(const char *const *filters);

/* ---- dk_lease.c ------------------------------------------------------------ */

/* *ownerfd = a pidfd of the process spec's corral.lease label names, or -1
 * without a lease; fails CORRAL_ESTATE when that process is already gone.
 * The caller closes *ownerfd. */
int dk_lease_owner_check(struct dk_plugin *p, const struct corral_sandbox_spec *spec, int *ownerfd,
                         corral_call *call);
/* With ownerfd >= 0: start the detached watcher that removes container
 * spec->id once ownerfd's process is gone; *release_fd (the caller's, -1
 * when nothing was started) is handed to dk_lease_release(). */
int dk_lease_watch(struct dk_plugin *p, const struct corral_sandbox_spec *spec, int ownerfd, int *release_fd,
                   corral_call *call);
/* Let go of the watcher: destroyed = the container was removed by us (the
 * watcher exits), else it goes on watching the lease alone. */
void dk_lease_release(int *release_fd, int destroyed);

/* ---- dk_tar.c ------------------------------------------------------------ */

/* A corral_source producing a tar with ONE regular file entry `name`
 * (relative) whose data comes from src (length must be known, >= 0). */
struct dk_tarsrc;
int dk_tarsrc_new(const char *name, uint32_t mode, long uid, long gid, const struct corral_source *src,
                  struct dk_tarsrc **out);
void dk_tarsrc_source(struct dk_tarsrc *t, struct corral_source *src);
const char *dk_tarsrc_error(const struct dk_tarsrc *t);
void dk_tarsrc_free(struct dk_tarsrc *t);
/* A corral_source re-emitting the tar stream src with every entry owned
 * by uid:gid (streaming, constant memory). */
struct dk_tarchown;
int dk_tarchown_new(const struct corral_source *src, long uid, long gid, struct dk_tarchown **out);
void dk_tarchown_source(struct dk_tarchown *t, struct corral_source *src);
const char *dk_tarchown_error(const struct dk_tarchown *t);
void dk_tarchown_free(struct dk_tarchown *t);
/* Build an in-memory tar from entries (name, mode, data, len; dirs end with
 * '/' and have data NULL).  *out malloc'ed. */
struct dk_tar_entry {
    const char *name;
    uint32_t mode;
    const void *data;
    size_t len;
    long uid, gid;
};
int dk_tar_build(const struct dk_tar_entry *e, size_t n, char **out, size_t *out_len);
/* Read the tar in fd (a spooled response): stream the data of its first
 * entry, a regular file, to sink and return 0.  A symlink returns 1 with
 * its target in link (the caller follows it); a directory CORRAL_EINVAL. */
int dk_tar_first_file(int fd, const struct corral_sink *sink, char *link, size_t linkcap, char *err,
                      size_t errcap);
/* Re-root the tar in fd: drop the leading path component (Docker prefixes
 * the base name of the requested directory) and its own entry, write a
 * plain POSIX tar of the rest to sink. */
int dk_tar_reroot(int fd, const struct corral_sink *sink, char *err, size_t errcap);

/* ---- dk_container.c / dk_exec.c / dk_files.c: the ops ---------------------- */

int dk_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call);
int dk_attach(void *ps, const char *state_json, corral_sbx **out, corral_call *call);
int dk_state(corral_sbx *sbx, char **json, corral_call *call);
int dk_pause(corral_sbx *sbx, corral_call *call);
int dk_resume(corral_sbx *sbx, corral_call *call);
int dk_running(corral_sbx *sbx, corral_call *call);
int dk_list(void *ps, const char *const *filters, corral_sandbox_list_cb cb, void *ud, corral_call *call);
int dk_destroy(corral_sbx *sbx, corral_call *call);
int dk_remove(void *ps, const char *state_json, corral_call *call);
void dk_close(corral_sbx *sbx);
/* Upload the shim into a created or running container. */
int dk_upload_shim(struct dk_plugin *p, const char *cid, corral_call *call);
/* dk_exec.c: sleep ms milliseconds (EINTR resumes the sleep). */
void dk_sleep_ms(int64_t ms);

int dk_exec(corral_sbx *sbx, const struct corral_exec_request *req, struct corral_exec_result *res,
            corral_call *call);
int dk_spawn(corral_sbx *sbx, const struct corral_exec_request *req, corral_job **job, corral_call *call);
int dk_job_wait(corral_sbx *sbx, corral_job *job, int64_t timeout_ms, struct corral_exec_result *res,
                corral_call *call);
/* Run the shim with argv (e.g. {"mkdir", path}) as `user`, output
 * discarded; returns its exit code (>= 0) or a negative status. */
int dk_shim_call(corral_sbx *sbx, const char *const *args, const char *user, corral_call *call);
/* Same, with the shim's stdout (up to cap-1 bytes, NUL-terminated) in out. */
int dk_shim_output(corral_sbx *sbx, const char *const *args, const char *user, char *out, size_t cap,
                   corral_call *call);
int dk_job_kill(corral_sbx *sbx, corral_job *job, corral_call *call);
/* SIGKILL every process in the container but PID 1 (dk_quiesce.c). */
int dk_quiesce(corral_sbx *sbx, corral_call *call);
void dk_job_free(corral_sbx *sbx, corral_job *job);

int dk_read_file(corral_sbx *sbx, const char *path, const struct corral_sink *sink, corral_call *call);
int dk_write_file(corral_sbx *sbx, const char *path, const struct corral_source *src, uint32_t mode,
                  corral_call *call);
int dk_put_archive(corral_sbx *sbx, const char *dir, const struct corral_source *src, corral_call *call);
int dk_get_archive(corral_sbx *sbx, const char *dir, const struct corral_sink *sink, corral_call *call);
/* PUT the tar stream src into dir of container cid (dir must exist). */
int dk_put_tar(struct dk_plugin *p, const char *cid, const char *dir, const struct corral_source *src,
               corral_call *call);
/* Who files written for sbx belong to (0/0 without a sandbox user).  A
 * named user is resolved once by running `shim ids` as that user (runc
 * reads the container's passwd; the daemon's copyUIDGID looks names up on
 * the host on some versions) and cached in the handle. */
int dk_owner(corral_sbx *sbx, long *uid, long *gid, corral_call *call);
/* A corral_source over memory the caller keeps alive. */
struct dk_memsrc {
    const char *p;
    size_t left;
};
void dk_memsrc_init(struct dk_memsrc *m, struct corral_source *src, const void *p, size_t len);

/* The embedded static shim binary (dk_shim_blob.S). */
extern const unsigned char dk_shim_start[];
extern const unsigned char dk_shim_end[];

#endif
