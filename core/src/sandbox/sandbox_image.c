/*
 * Container images on backends that run a root filesystem directory
 * (CORRAL_CAP_ROOTFS, the local sandbox): a spec's image reference
 * becomes the cached image's rootfs, with the config's Env, WorkingDir
 * and User applied (docs/images.md "Running images").
 */
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "images/images_internal.h"
#include "sandbox/sandbox_internal.h"
#include <corral/image.h>

static void progress(void *ud, const char *line)
{
    corral_log(CORRAL_LOG_INFO, "image", "%s: %s", (const char *)ud, line);
}

static int is_reference(const char *image)
{
    return image && image[0] && image[0] != '/' && strcmp(image, "host") != 0;
}

/* Whether env (NULL-terminated "K=V", read like labels) sets the name of
 * entry. */
static int sets(const char *const *env, const char *entry)
{
    char name[256];
    size_t n = strcspn(entry, "=");
    if (n >= sizeof name)
        return 0;
    memcpy(name, entry, n);
    name[n] = '\0';
    return sbx_label_get(env, name) != NULL;
}

int crl_sandbox_image_apply(corral_ctx *ctx, const struct corral_sandbox_ops *ops, struct corral_sandbox_spec *spec,
                            struct crl_sandbox_image *hold, struct corral_call *call)
{
    memset(hold, 0, sizeof *hold);
    if (!is_reference(spec->image))
        return 0;
    if (!(ops->caps & CORRAL_CAP_ROOTFS)) {
        /* A backend that pulls itself gets the mirrors and credentials. */
        struct corral_call pc;
        corral_call_init(&pc, 0);
        if (corral_image_ref_parse(spec->image, &(struct corral_image_ref){0}, &pc) != 0)
            return 0; /* not a reference (a template name, say): the backend's own business */
        if (crl_image_sources_make(ctx, spec->image, &hold->sources, &pc) != 0) {
            /* Only the pulls that need a mirror or a login can suffer:
             * say why and let the backend try the name as given. */
            corral_log(CORRAL_LOG_WARN, "image", "%s: no mirrors or registry login for the backend's pull: %s",
                       spec->image, pc.message);
            return 0;
        }
        spec->image_sources = hold->sources.v;
        spec->n_image_sources = hold->sources.n;
        return 0;
    }
    struct corral_image_pull_options po = {.struct_size = sizeof po, .progress = progress,
                                           .progress_ud = (void *)spec->image};
    int rc = corral_image_resolve(ctx, spec->image, &po, &hold->run, call);
    if (rc) {
        crl_sandbox_image_release(hold); /* a config read before the failure */
        return rc;
    }
    struct crl_strv env = {0};
    int oom = 0;
    for (size_t i = 0; hold->run.env && hold->run.env[i]; i++)
        if (!sets(spec->env, hold->run.env[i]))
            oom |= crl_strv_push(&env, hold->run.env[i]);
    for (size_t i = 0; spec->env && spec->env[i]; i++)
        oom |= crl_strv_push(&env, spec->env[i]);
    hold->env = crl_strv_take(&env);
    if (oom || !hold->env) {
        crl_sandbox_image_release(hold);
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    }
    /* The image's User, unless the spec names one (sandbox create --user). */
    if ((!spec->user || !spec->user[0]) && hold->run.user_ids[0])
        spec->user = hold->run.user_ids;
    spec->image = hold->run.info.rootfs;
    spec->env = (const char *const *)hold->env;
    if ((!spec->workdir || !spec->workdir[0]) && hold->run.workdir && hold->run.workdir[0] == '/')
        spec->workdir = hold->run.workdir;
    return 0;
}

void crl_sandbox_image_release(struct crl_sandbox_image *hold)
{
    corral_image_run_free(&hold->run);
    crl_image_sources_free(&hold->sources);
    crl_strv_free_array(hold->env);
    hold->env = NULL;
}
