/*
 * An image ready to run (docs/images.md "Running images"): the cached
 * root filesystem of a reference pulled before, or a pull, and the
 * config's Env, WorkingDir and User, which a sandbox applies.
 */
#include <stdlib.h>
#include <string.h>

#include "images/images_internal.h"

struct find {
    const char *name;
    struct corral_image_info *out; /* may be NULL */
    int found;
};

static int find_cb(void *ud, const struct corral_image_info *img)
{
    struct find *f = ud;
    if (strcmp(img->name, f->name) != 0 || !img->rootfs[0] || !img->config_digest[0])
        return 0;
    if (f->out)
        *f->out = *img;
    f->found = 1;
    return 1;
}

int crl_image_cached(corral_ctx *ctx, const char *name, struct corral_image_info *info, struct corral_call *call)
{
    struct find f = {.name = name, .out = info};
    int rc = corral_image_list(ctx, find_cb, &f, call);
    if (rc < 0 && rc != CORRAL_ENOTFOUND)
        return rc;
    return f.found;
}

static char *string_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? strdup(v->valuestring) : NULL;
}

/* config.Env, WorkingDir and User of the image's config blob into run. */
static int read_config(corral_ctx *ctx, struct corral_image_run *run, struct corral_call *call)
{
    struct crl_image_cache c;
    int rc = crl_cache_open(ctx, 0, &c, call);
    if (rc)
        return rc;
    size_t len = 0;
    char *body = crl_cache_read_blob(&c, run->info.config_digest, CRL_IMAGE_MAX_JSON, &len, call);
    crl_cache_close(&c);
    if (!body)
        return call && call->status ? call->status : CORRAL_EIO;
    cJSON *doc = cJSON_ParseWithLength(body, len);
    free(body);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    if (!doc || (cfg && !cJSON_IsObject(cfg))) {
        cJSON_Delete(doc);
        return corral_call_fail(call, CORRAL_EPROTO, "image %s: its config blob is not a JSON object",
                                run->info.name);
    }
    struct crl_strv env = {0};
    const cJSON *e, *list = cJSON_GetObjectItemCaseSensitive(cfg, "Env");
    if (!cJSON_IsArray(list))
        list = NULL;
    rc = 0;
    cJSON_ArrayForEach(e, list) {
        /* An entry a sandbox would refuse is dropped, by name, not fatal. */
        if (!cJSON_IsString(e) || !crl_is_env_entry(e->valuestring)) {
            corral_log(CORRAL_LOG_WARN, "image", "%s: config Env entry %.40s... is not NAME=value: left out",
                       run->info.name, cJSON_IsString(e) ? e->valuestring : "(not a string)");
            continue;
        }
        if ((rc = crl_strv_push(&env, e->valuestring)) != 0)
            break;
    }
    run->workdir = string_of(cfg, "WorkingDir");
    run->user = string_of(cfg, "User");
    cJSON_Delete(doc);
    run->env = crl_strv_take(&env);
    if (rc || !run->env)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    return 0;
}

int corral_image_resolve(corral_ctx *ctx, const char *ref, const struct corral_image_pull_options *opts,
                         struct corral_image_run *out, struct corral_call *call)
{
    memset(out, 0, sizeof *out);
    struct corral_image_ref parsed;
    char name[600];
    int rc = crl_image_ref_named(ref, &parsed, name, sizeof name, call);
    if (rc)
        return rc;
    int found = crl_image_cached(ctx, name, &out->info, call);
    if (found < 0)
        return found;
    if (!found && (rc = corral_image_pull(ctx, name, opts, &out->info, call)) != 0)
        return rc;
    if (!out->info.rootfs[0] || !out->info.config_digest[0])
        return corral_call_fail(call, CORRAL_EIO, "image %s has no root filesystem in the cache", name);
    rc = read_config(ctx, out, call);
    return rc ? rc : crl_image_user_resolve(out, call);
}

void corral_image_run_free(struct corral_image_run *run)
{
    if (!run)
        return;
    crl_strv_free_array(run->env);
    free(run->workdir);
    free(run->user);
    run->env = NULL;
    run->workdir = run->user = NULL;
}
