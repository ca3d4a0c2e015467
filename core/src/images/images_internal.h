/* Private to the image code (core/src/images/): references, the registry
 * client, manifests, the cache and layer unpacking.  See docs/images.md. */
#ifndef CORRAL_IMAGES_INTERNAL_H
#define CORRAL_IMAGES_INTERNAL_H

#include <corral/image.h>
#include <corral/sandbox.h>

#include "base/internal.h"
#include "config/images_config.h"

/* ---- pull sources for backends that pull themselves (sources.c) ---- */

#define CRL_IMAGE_SOURCES_MAX 9
struct crl_image_sources {
    struct corral_image_source v[CRL_IMAGE_SOURCES_MAX]; /* strings owned */
    size_t n;
};
/* The sources of `image` (a reference) in pull order: each configured
 * mirror of its registry as "<mirror host>/<repository>:<tag or @digest>",
 * then its own normalised name; each with the X-Registry-Auth value of
 * the login the host holds for that host (crl_registry_login), or NULL.
 * *out is the caller's, freed (and wiped) with crl_image_sources_free. */
int crl_image_sources_make(corral_ctx *ctx, const char *image, struct crl_image_sources *out,
                           struct corral_call *call);
void crl_image_sources_free(struct crl_image_sources *s);

/* ---- digests (manifest.c) ---- */

/* Whether d is "sha256:" and 64 lowercase hex digits (the only digests the
 * cache names files after). */
int crl_digest_valid(const char *d);
/* "sha256:<hex>" of data[0..len) into out (72 bytes). */
void crl_sha256_digest(const void *data, size_t len, char out[72]);

/* ---- WWW-Authenticate and credentials (auth.c) ---- */

struct crl_www_auth {
    char scheme[16];         /* "Bearer" or "Basic" as sent */
    char realm[1024];
    char service[256];
    char scope[512];
};
/* Parse the first challenge of a WWW-Authenticate value: a scheme, then
 * comma-separated key=value or key="quoted \" value" parameters (unknown
 * ones skipped).  0, or -1 for anything malformed or a value that does not
 * fit (*out zeroed then). */
int crl_www_auth_parse(const char *value, struct crl_www_auth *out);

/* A registry login from $DOCKER_CONFIG/config.json (else
 * ~/.docker/config.json): its "auths" entry for host ("docker.io" also
 * matches Docker's index URLs; a key's scheme and path are ignored), as
 * "auth" (base64 of user:password) or "username" and "password".  Returns
 * 1 with *user and *pass (the caller frees them with crl_wipe_free), 0
 * when there is none, or a negative status when the file is unreadable or
 * malformed.  Never logs the values. */
int crl_registry_login(const char *host, char **user, char **pass, struct corral_call *call);
/* The whole login of that entry, as crl_registry_login finds it, with its
 * "identitytoken" (an OAuth refresh token Docker's login keeps for some
 * registries) too: 1 when it has a user and password or an identity
 * token, 0 when none, or a negative status.  *l is the caller's, wiped
 * with crl_login_wipe() (also after 0 and failures). */
struct crl_login {
    char *user, *pass;          /* or NULL */
    char *identity_token;       /* or NULL */
};
int crl_registry_login_read(const char *host, struct crl_login *l, struct corral_call *call);
void crl_login_wipe(struct crl_login *l);

/* ---- manifests, indexes, configs (manifest.c) ---- */

struct crl_descriptor {
    char media_type[128];
    char digest[72];
    int64_t size;
};

struct crl_manifest {
    int is_index;                 /* an OCI index / Docker manifest list */
    struct crl_descriptor chosen; /* index: the manifest for os/arch */
    struct crl_descriptor config; /* manifest: its config */
    struct crl_descriptor *layers;
    size_t nlayers;
};
/* The Accept header of a manifest request: indexes and manifests, OCI and Docker. */
#define CRL_MANIFEST_ACCEPT                                                                                \
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " \
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
/* The most layers an image may have. */
#define CRL_IMAGE_MAX_LAYERS 1024
/* The largest manifest, index or config read (bytes). */
#define CRL_IMAGE_MAX_JSON ((size_t)4 << 20)

/* Parse a manifest or an index (body[0..len), not necessarily
 * NUL-terminated); content_type is the registry's Content-Type (may be
 * NULL or empty: the body's mediaType decides).  An index picks the entry
 * for linux and `arch` (an OCI architecture name: "amd64").  CORRAL_EPROTO
 * naming what is wrong; *m is the caller's, freed with crl_manifest_free. */
int crl_manifest_parse(const char *body, size_t len, const char *content_type, const char *arch,
                       struct crl_manifest *m, struct corral_call *call);
void crl_manifest_free(struct crl_manifest *m);
/* Whether a config blob is a JSON object whose rootfs.diff_ids (when
 * present) counts nlayers; CORRAL_EPROTO otherwise. */
int crl_image_config_check(const char *body, size_t len, size_t nlayers, struct corral_call *call);
/* This host's OCI architecture name ("amd64", "arm64", ...). */
const char *crl_image_host_arch(void);

/* ---- the registry client (registry.c) ---- */

struct crl_registry {
    char base[512];          /* "https://registry-1.docker.io", a mirror's URL: no trailing '/' */
    char host[300];          /* the registry's name for logins and messages ("docker.io", a mirror's host:port) */
    char repo[256];
    char *auth;              /* the "Authorization: ..." header once earned (wiped) */
    int64_t stall_ms;        /* a transfer that receives nothing this long fails */
};
/* Set r up for repository `repo` at base, logging in as config.json says
 * for `host` (strings copied). */
int crl_registry_init(struct crl_registry *r, const char *base, const char *host, const char *repo, int64_t stall_ms,
                      struct corral_call *call);
void crl_registry_free(struct crl_registry *r);
/* GET base/v2/<repo>/<what> (e.g. "manifests/latest", "blobs/sha256:..")
 * with `accept` (may be NULL), answering a 401 with the challenge's
 * token or basic login once, and following redirects (never sending the
 * Authorization header to another scheme, host or port).  With sink, a 2xx body streams there;
 * else it is buffered up to max_body.  0 only for a 2xx answer (*resp the
 * caller's to free with crl_http_response_free); else a status with the
 * reason: CORRAL_ENOTFOUND for 404, CORRAL_EAUTH for refused logins. */
int crl_registry_get(struct crl_registry *r, const char *what, const char *accept, const struct corral_sink *sink,
                     size_t max_body, struct corral_http_response *resp, struct corral_call *call);
/* crl_registry_get with another method: "HEAD" asks whether `what` exists
 * (a manifest, say) without its body. */
int crl_registry_request(struct crl_registry *r, const char *method, const char *what, const char *accept,
                         const struct corral_sink *sink, size_t max_body, struct corral_http_response *resp,
                         struct corral_call *call);

/* ---- the sources of a pull (pull.c) ---- */

/* One source: its base URL ("http://127.0.0.1:5000") and the host whose
 * login config.json holds for it. */
typedef int (*crl_image_source_fn)(void *ud, const char *base, const char *login_host, struct corral_call *call);
/* Call fn for the sources of ref in pull order until one returns 0: each
 * configured mirror of its registry (a failure logged as a warning and
 * cleared before the next), then the registry itself (https; http for
 * images.insecure and loopback registries; docker.io's at
 * registry-1.docker.io).  Returns the last call's status; a cancelled
 * call stops the walk. */
int crl_image_each_source(corral_ctx *ctx, const struct corral_image_ref *ref, crl_image_source_fn fn, void *ud,
                          struct corral_call *call);

/* ---- the cache (cache.c) ---- */

struct crl_image_cache {
    char root[3800];         /* fits in corral_image_info.rootfs with "/rootfs/<hex>" */
    int dirfd;               /* the cache directory */
    int lockfd;              /* "lock": shared by pulls, exclusive for rm and prune */
};
/* The host[:port] of a mirror's base URL ("http://127.0.0.1:5000/" ->
 * "127.0.0.1:5000"), "" without a scheme; into host (cap bytes). */
void crl_mirror_host(const char *url, char *host, size_t cap);

/* Parse `text` into *ref and write its normalised name (the cache's key)
 * into name (cap bytes); 0, or CORRAL_EINVAL with the reason in call. */
int crl_image_ref_named(const char *text, struct corral_image_ref *ref, char *name, size_t cap,
                        struct corral_call *call);
/* Open (creating it 0755) the cache of ctx and take its lock, shared or
 * exclusive.  Closed with crl_cache_close. */
int crl_cache_open(const corral_ctx *ctx, int exclusive, struct crl_image_cache *c, struct corral_call *call);
void crl_cache_close(struct crl_image_cache *c);
/* Take locks/<kind>-<hex> exclusively, waiting: one process at a time
 * fetches a blob or unpacks a root filesystem.  *fd is closed to unlock. */
int crl_cache_lock(struct crl_image_cache *c, const char *kind, const char *hex, int *fd, struct corral_call *call);
/* Whether blobs/sha256/<hex> exists. */
int crl_cache_has_blob(const struct crl_image_cache *c, const char *digest);
/* Store bytes already verified against digest as its blob (atomically). */
int crl_cache_put_blob(struct crl_image_cache *c, const char *digest, const void *data, size_t len,
                       struct corral_call *call);
/* Read a blob of at most max bytes (NUL-terminated, the caller frees). */
char *crl_cache_read_blob(const struct crl_image_cache *c, const char *digest, size_t max, size_t *len,
                          struct corral_call *call);
/* Make sure the blob of d is in the cache: under its lock, download it
 * from r into tmp/, hashing while it streams, and rename it into place
 * only when its size and digest match d.  progress may be NULL. */
struct crl_pull_progress {
    corral_image_progress_fn fn;
    void *ud;
};
int crl_cache_fetch_blob(struct crl_image_cache *c, struct crl_registry *r, const struct crl_descriptor *d,
                         const struct crl_pull_progress *p, struct corral_call *call);

/* ---- references (refs.c) ---- */

/* Record that name (canonical) is the manifest digest `digest`. */
int crl_refs_put(struct crl_image_cache *c, const char *name, const char *digest, struct corral_call *call);
/* Every recorded reference: cb(ud, name, digest) until it returns nonzero. */
int crl_refs_each(struct crl_image_cache *c, int (*cb)(void *ud, const char *name, const char *digest), void *ud,
                  struct corral_call *call);
/* Forget name; CORRAL_ENOTFOUND when it is not recorded. */
int crl_refs_remove(struct crl_image_cache *c, const char *name, struct corral_call *call);

/* Whether the cache holds the image `name` (normalised) with its root
 * filesystem: 1 with *info filled (may be NULL), 0, or a negative status.
 * Creates the cache directory when missing (corral_image_list). */
int crl_image_cached(corral_ctx *ctx, const char *name, struct corral_image_info *info, struct corral_call *call);

/* ---- layers (unpack.c) ---- */

/* Apply the layers of m in order into rootfs/<hex of digest>, once: under
 * the root filesystem's lock, into rootfs/<hex>.tmp (a leftover of an
 * interrupted run is removed first), renamed into place only when every
 * layer applied; on failure the .tmp is removed. */
int crl_image_unpack(struct crl_image_cache *c, const char *digest, const struct crl_manifest *m,
                     const struct crl_pull_progress *p, struct corral_call *call);

/* ---- the config's User (user.c) ---- */

/* user ("NAME", "UID", "NAME:GROUP", "UID:GID", names or numbers on either
 * side) as numeric ids: names are looked up in passwd and group, the text
 * of the image's own /etc/passwd and /etc/group (untrusted, may be NULL);
 * without a group, the passwd entry's group (0 for a uid not in passwd,
 * as Docker).  0, or CORRAL_EINVAL naming the unknown user or group. */
int crl_image_user_ids(const char *user, const char *passwd, const char *group, uint32_t *uid, uint32_t *gid,
                       struct corral_call *call);
/* run->user resolved against run's root filesystem (its etc/passwd and
 * etc/group, no symlink followed) into run->user_ids: "UID:GID", or ""
 * for none or 0:0.  CORRAL_EINVAL naming the image and the user. */
int crl_image_user_resolve(struct corral_image_run *run, struct corral_call *call);

/* Emit one progress line (printf-style) when p has a callback. */
void crl_pull_note(const struct crl_pull_progress *p, const char *fmt, ...) CORRAL_PRINTF(2, 3);

#endif
