/* Images a sandbox backend made on its own side (the images slot, slot
 * 25): the host end of `corral image ls|rm|prune --backend`
 * (docs/images.md "Images on a backend"). */
#include <corral/image.h>

#include "sandbox/sandbox_internal.h"

/* *ops = the table of backend, which has the images slot; 0 or the
 * failure. */
static int images_ops(corral_ctx *ctx, const char *backend, const struct corral_plugin_record **rec,
                      const struct corral_sandbox_ops **ops, struct corral_call *call)
{
    const struct crl_sandbox_table *tbl;
    int rc = crl_sandbox_plugin(ctx, backend, rec, &tbl, call);
    if (rc)
        return rc;
    *ops = (*rec)->desc->ops;
    if (!CORRAL_HAS(*ops, images))
        return corral_call_fail(call, CORRAL_ENOTSUP, "the %s backend keeps no images of corral's (backends "
                                "that build images, such as docker, do)", backend);
    return 0;
}

int corral_image_backend_list(corral_ctx *ctx, const char *backend, corral_backend_image_cb cb, void *ud,
                              struct corral_call *call)
{
    const struct corral_plugin_record *rec;
    const struct corral_sandbox_ops *ops;
    int rc = images_ops(ctx, backend, &rec, &ops, call);
    if (rc)
        return rc;
    return ops->images(rec->state, CORRAL_IMAGES_LIST, NULL, cb, ud, call);
}

int corral_image_backend_remove(corral_ctx *ctx, const char *backend, const char *ref, int force,
                                struct corral_call *call)
{
    if (!ref || !ref[0])
        return corral_call_fail(call, CORRAL_EINVAL, "no image named");
    const struct corral_plugin_record *rec;
    const struct corral_sandbox_ops *ops;
    int rc = images_ops(ctx, backend, &rec, &ops, call);
    if (rc)
        return rc;
    return ops->images(rec->state, force ? CORRAL_IMAGES_REMOVE_FORCE : CORRAL_IMAGES_REMOVE, ref, NULL, NULL, call);
}
