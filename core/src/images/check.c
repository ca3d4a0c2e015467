/*
 * corral_image_check: whether a task's image can be had on a backend,
 * asked without downloading anything (docs/images.md "Checking an
 * image"): corral's cache for backends that run root filesystems, the
 * backend itself through its image_present slot, then a HEAD of the
 * image's manifest at its sources in pull order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <corral/sandbox.h>

#include "images/images_internal.h"

struct probe {
    const struct corral_image_ref *ref;
    int64_t stall_ms;
    struct corral_image_where *out;
};

/* HEAD manifests/<tag or digest> at one source. */
static int probe_source(void *ud, const char *base, const char *login_host, struct corral_call *call)
{
    struct probe *pr = ud;
    struct crl_registry r;
    int rc = crl_registry_init(&r, base, login_host, pr->ref->repository, pr->stall_ms, call);
    if (rc)
        return rc;
    char what[200];
    snprintf(what, sizeof what, "manifests/%s", pr->ref->digest[0] ? pr->ref->digest : pr->ref->tag);
    struct corral_http_response resp = {0};
    rc = crl_registry_request(&r, "HEAD", what, CRL_MANIFEST_ACCEPT, NULL, 0, &resp, call);
    crl_registry_free(&r);
    if (!rc) {
        crl_http_response_free(&resp);
        pr->out->place = CORRAL_IMAGE_IN_REGISTRY;
        snprintf(pr->out->source, sizeof pr->out->source, "%s", base);
    }
    return rc;
}

/* Whether corral's cache holds name, never creating the cache. */
static int in_cache(corral_ctx *ctx, const char *name, struct corral_call *call)
{
    char dir[4096];
    struct stat st;
    if (corral_image_cache_dir(ctx, dir, sizeof dir, call) != 0) {
        call->status = 0; /* no cache directory applies: nothing is cached */
        call->message[0] = '\0';
        return 0;
    }
    if (stat(dir, &st) != 0)
        return errno == ENOENT ? 0 : corral_call_fail(call, CORRAL_EIO, "image cache %s: %s", dir, strerror(errno));
    return crl_image_cached(ctx, name, NULL, call);
}

int corral_image_check(corral_ctx *ctx, const char *backend, const char *text, struct corral_image_where *out,
                       struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    struct corral_image_ref ref;
    char name[600];
    int rc = crl_image_ref_named(text, &ref, name, sizeof name, call);
    if (rc)
        return rc;
    const struct corral_plugin_record *rec = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, backend);
    const struct corral_sandbox_ops *ops = rec && rec->desc ? rec->desc->ops : NULL;
    if (!ops)
        return corral_call_fail(call, CORRAL_ECONFIG, "the %s backend is not loaded (see corral plugins)", backend);
    if (ops->caps & CORRAL_CAP_ROOTFS) {
        int have = in_cache(ctx, name, call);
        if (have < 0)
            return have;
        if (have) {
            out->place = CORRAL_IMAGE_IN_CACHE;
            return 0;
        }
    } else if (CORRAL_HAS(ops, image_present)) {
        int have = ops->image_present(rec->state, text, call);
        if (have > 0) {
            out->place = CORRAL_IMAGE_ON_BACKEND;
            return 0;
        }
        if (have < 0) { /* the registry may still say it exists */
            corral_log(CORRAL_LOG_WARN, "image", "%s: the %s backend cannot tell whether it has it: %s", name,
                       backend, call->message);
            call->status = 0;
            call->message[0] = '\0';
        }
    } else {
        return corral_call_fail(call, CORRAL_ENOTSUP, "the %s backend chooses its images its own way",
                                backend);
    }
    struct probe pr = {.ref = &ref, .stall_ms = crl_images_stall_ms(ctx), .out = out};
    return crl_image_each_source(ctx, &ref, probe_source, &pr, call);
}
