/*
 * OCI and Docker container images: references, pulls from registries
 * (the OCI distribution API), and the local image cache with one
 * read-only root filesystem per image.  See docs/images.md.
 *
 * Error model as everywhere in libcorral: 0 or a negative CORRAL_E*
 * status, with the message in the struct corral_call.
 */
#ifndef CORRAL_IMAGE_H
#define CORRAL_IMAGE_H

#include <stdint.h>
#include <corral/corral.h>
#include <corral/sandbox.h> /* struct corral_backend_image */

#ifdef __cplusplus
extern "C" {
#endif

/* A reference normalised as Docker does: "ubuntu" is
 * docker.io/library/ubuntu:latest.  Strings are NUL-terminated. */
struct corral_image_ref {
    char registry[256];      /* "docker.io", "registry:5000", "localhost" */
    char repository[256];    /* "library/ubuntu", "org/img" */
    char tag[129];           /* "latest", "24.04"; "" when only a digest was given */
    char digest[72];         /* "sha256:<64 hex>" or "" */
};

/* Parse and normalise `text` into *out (the caller's).  CORRAL_EINVAL
 * with the reason for anything that is not a reference (upper-case
 * repository, bad tag, a digest other than sha256:<64 lowercase hex>). */
int corral_image_ref_parse(const char *text, struct corral_image_ref *out, struct corral_call *call);
/* The canonical text ("docker.io/library/ubuntu:24.04",
 * "registry:5000/org/img@sha256:...", tag and digest when both were
 * given) into buf; the length, or -1 when it does not fit in cap. */
int corral_image_ref_format(const struct corral_image_ref *ref, char *buf, size_t cap);

/* One image in the cache. */
struct corral_image_info {
    char name[600];          /* the canonical reference it was pulled as */
    char digest[72];         /* the image manifest's digest (the platform's, for an index) */
    char config_digest[72];  /* its config blob */
    char rootfs[4096];       /* the unpacked root filesystem (read-only by convention) */
    int64_t size;            /* compressed bytes of its layers */
    int64_t layers;          /* how many */
    int64_t pulled;          /* when the reference was last pulled (Unix seconds) */
};

/* Progress of a pull: one human line (no newline) at each step and every
 * few seconds during a long download. */
typedef void (*corral_image_progress_fn)(void *ud, const char *line);

struct corral_image_pull_options {
    size_t struct_size;
    corral_image_progress_fn progress;  /* or NULL */
    void *progress_ud;
};

/* The image cache directory into buf (not created): the configuration's
 * images.cache_dir, else $CORRAL_IMAGE_CACHE, else /var/cache/corral/images
 * for root, else $XDG_CACHE_HOME/corral/images ($HOME/.cache/...).
 * 0, or CORRAL_EINVAL when none applies or it does not fit. */
int corral_image_cache_dir(const corral_ctx *ctx, char *buf, size_t cap, struct corral_call *call);

/* Pull `ref` (mirrors from images.mirrors first, then the registry
 * itself; http:// for images.insecure and loopback registries), verify
 * every blob's digest and size while it streams, store the blobs in the
 * cache and unpack the layers once into the image's root filesystem.
 * Concurrent pulls, in this or other processes, share the work through
 * locks in the cache.  On failure nothing half made stays in the cache.
 * *out (may be NULL) gets the image. */
int corral_image_pull(corral_ctx *ctx, const char *ref, const struct corral_image_pull_options *opts,
                      struct corral_image_info *out, struct corral_call *call);

/* Every reference in the cache, in name order; cb's nonzero return stops
 * the walk and is returned. */
int corral_image_list(corral_ctx *ctx, int (*cb)(void *ud, const struct corral_image_info *img), void *ud,
                      struct corral_call *call);

/* Forget the reference `ref` (as given to pull, normalised) and remove
 * its root filesystem and blobs when no other reference uses them.
 * CORRAL_ENOTFOUND when it is not in the cache; CORRAL_ESTATE naming it
 * when its root filesystem would go while a sandbox runs on it (a process
 * holds the directory's flock shared), unless `force`: the reference is
 * then forgotten and the files stay until a prune after the sandbox ended. */
int corral_image_remove(corral_ctx *ctx, const char *ref, int force, struct corral_call *call);

/* What running an image needs: its root filesystem and the parts of its
 * config a sandbox applies.  Filled by corral_image_resolve(); release
 * with corral_image_run_free(). */
struct corral_image_run {
    struct corral_image_info info;
    char **env;              /* config.Env ("K=V", NULL-terminated), malloc'ed */
    char *workdir;           /* config.WorkingDir, or NULL */
    char *user;              /* config.User, or NULL */
    /* config.User as "UID:GID", names looked up in the image's own
     * /etc/passwd and /etc/group; "" for none or root (0:0) */
    char user_ids[24];
};

/* The image `ref` ready to run: taken from the cache when the reference
 * was pulled before (no network), else pulled as corral_image_pull()
 * does; then its config read and its User resolved (CORRAL_EINVAL naming
 * a user or group the image does not know).  *out is the caller's, released with
 * corral_image_run_free() on success and failure alike. */
int corral_image_resolve(corral_ctx *ctx, const char *ref, const struct corral_image_pull_options *opts,
                         struct corral_image_run *out, struct corral_call *call);
void corral_image_run_free(struct corral_image_run *run);

/* Where corral_image_check found an image. */
enum corral_image_place {
    CORRAL_IMAGE_IN_CACHE = 1,      /* corral's image cache (backends that run root filesystems) */
    CORRAL_IMAGE_ON_BACKEND = 2,    /* the backend holds it (its image_present slot: docker's daemon) */
    CORRAL_IMAGE_IN_REGISTRY = 3    /* a configured mirror or its registry has its manifest */
};
struct corral_image_where {
    int place;                      /* enum corral_image_place */
    char source[512];               /* IN_REGISTRY: the base URL that answered ("http://127.0.0.1:5000") */
};

/* Whether the image `ref` can be had on the sandbox backend `backend`
 * (a loaded plugin's name), asked without downloading a layer or writing
 * the cache: a backend that runs root filesystems (CORRAL_CAP_ROOTFS)
 * has it when the cache does; one with the image_present slot when it
 * says so; else, or when they do not, a HEAD of its manifest at each
 * source in pull order (mirrors, then the registry, with the logins of
 * config.json) decides.  0 with *out filled; CORRAL_ENOTSUP for a
 * backend that picks images its own way (not checked); CORRAL_EINVAL for
 * a text that is not a reference; CORRAL_ENOTFOUND when the registry has
 * no such manifest; another status when a source could not be asked (the
 * message names it).  call (not NULL) bounds the time: give it a deadline. */
int corral_image_check(corral_ctx *ctx, const char *backend, const char *ref, struct corral_image_where *out,
                       struct corral_call *call);

struct corral_image_prune_stats {
    int64_t blobs, rootfs, partial;  /* removed: blobs, root filesystems, leftovers of interrupted pulls */
    int64_t bytes;                   /* bytes of removed blobs */
    int64_t in_use;                  /* root filesystems kept because a sandbox runs on them */
};
struct corral_image_prune_options {
    size_t struct_size;
    /* Told the manifest digest of each unreferenced root filesystem kept
     * because a sandbox runs on it; may be NULL. */
    void (*in_use)(void *ud, const char *digest);
    void *ud;
};
/* Remove every blob and root filesystem no reference uses, and what an
 * interrupted pull left behind; a root filesystem a sandbox runs on (its
 * directory flock'ed by another process) is kept.  Waits for running
 * pulls to finish.  opts may be NULL. */
int corral_image_prune(corral_ctx *ctx, const struct corral_image_prune_options *opts,
                       struct corral_image_prune_stats *st, struct corral_call *call);

/* Images the sandbox backend `backend` (a loaded plugin's name) made on
 * its own side and keeps there (docker: the images it built from tasks'
 * Dockerfiles, labelled corral.build=1; never the images it pulled),
 * through its images slot (docs/images.md "Images on a backend").
 * cb(ud, img) once per name of each, img borrowed for the call; cb's
 * nonzero return stops the walk and is returned.  CORRAL_ENOTFOUND when
 * no such backend is loaded, CORRAL_ENOTSUP when it keeps no images of
 * corral's. */
int corral_image_backend_list(corral_ctx *ctx, const char *backend, corral_backend_image_cb cb, void *ud,
                              struct corral_call *call);
/* Remove the name `ref` of an image `backend` made (the image itself once
 * no other name is left): CORRAL_ENOTFOUND when there is none,
 * CORRAL_EPERM for an image the backend did not make, CORRAL_ESTATE with
 * a message naming the sandbox made from it; `force` removes it even when
 * only stopped sandboxes were made from it. */
int corral_image_backend_remove(corral_ctx *ctx, const char *backend, const char *ref, int force,
                                struct corral_call *call);

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_IMAGE_H */
