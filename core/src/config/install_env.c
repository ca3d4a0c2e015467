/*
 * install_env: host environment variables, by name, that reach the agent
 * install step inside sandboxes without host mounts (npm there needs what
 * npm on this host has: proxy settings, an extra CA, a registry mirror).
 * Only the install step gets them, never the agent run or verification;
 * values travel as exec env, never in argv or logs.  Names that hold
 * corral's own credentials (the secret-env options of loaded plugins,
 * corral's CORRAL_* variables, the upstream key of a rollout) are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

int crl_install_env_name_ok(const char *name, char *why, size_t wl)
{
    if (!crl_is_env_name(name)) {
        snprintf(why, wl, "'%.64s' is not an environment variable name", name ? name : "");
        return 0;
    }
    if (strncmp(name, "CORRAL_", 7) == 0) {
        snprintf(why, wl, "%s is corral's own variable and never enters a sandbox", name);
        return 0;
    }
    return 1;
}

/* Whether a loaded plugin takes a credential from variable `name`: writes
 * "sandbox.e2b.api_key_env" (the option naming it) into where. */
static int plugin_secret(const corral_ctx *ctx, const char *name, char *where, size_t wl)
{
    for (size_t i = 0; i < ctx->plugins.n; i++) {
        const struct crl_plugin *p = ctx->plugins.items[i];
        const char *opt = p->cfg ? crl_schema_secret_option(p->cfg, name) : NULL;
        if (opt) {
            snprintf(where, wl, "%s.%s", p->tag, opt);
            for (char *s = where; *s; s++)
                *s = *s == '/' ? '.' : *s;
            return 1;
        }
    }
    return 0;
}

/* Check one name against every rule; why names the rule broken. */
static int name_allowed(const corral_ctx *ctx, const char *name, const char *secret_env, char *why, size_t wl)
{
    char where[160];
    if (!crl_install_env_name_ok(name, why, wl))
        return 0;
    if (plugin_secret(ctx, name, where, sizeof where)) {
        snprintf(why, wl, "%s holds a credential corral uses itself (%s) and never enters a sandbox", name, where);
        return 0;
    }
    if (secret_env && strcmp(secret_env, name) == 0) {
        snprintf(why, wl, "%s holds the upstream model API key and never enters a sandbox", name);
        return 0;
    }
    return 1;
}

void crl_install_env_check(corral_ctx *ctx)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "install_env");
    const cJSON *n;
    char why[256];
    cJSON_ArrayForEach(n, list) {
        /* Syntax was checked per layer (config.c); this needs the plugins. */
        if (cJSON_IsString(n) && crl_install_env_name_ok(n->valuestring, why, sizeof why) &&
            !name_allowed(ctx, n->valuestring, NULL, why, sizeof why))
            crl_config_error(&ctx->config, "install_env: %s", why);
    }
}

/* Whether env already has an entry NAME=... */
static int env_has(const struct crl_strv *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < env->n; i++)
        if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
            return 1;
    return 0;
}

/* Append NAME=value for one listed name, if set here. */
static int add_one(const corral_ctx *ctx, const char *name, const char *secret_env, struct crl_strv *env, char *why,
                   size_t wl)
{
    if (!name_allowed(ctx, name, secret_env, why, wl))
        return CORRAL_EINVAL;
    if (env_has(env, name)) {
        snprintf(why, wl, "%s is set by corral or the agent spec for the install; it cannot be passed through", name);
        return CORRAL_EINVAL;
    }
    const char *value = getenv(name);
    if (!value) {
        corral_log(CORRAL_LOG_DEBUG, "install", "install_env: %s is not set here; skipped", name);
        return 0;
    }
    corral_log(CORRAL_LOG_DEBUG, "install", "install_env: passing %s to the install step", name);
    return crl_strv_pushf(env, "%s=%s", name, value);
}

/* Whether the vector holds exactly s. */
static int listed(const struct crl_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->v[i], s) == 0)
            return 1;
    return 0;
}

int crl_install_env_add(const corral_ctx *ctx, const char *const *extra, const char *secret_env, struct crl_strv *env,
                        char *why, size_t wl)
{
    /* The same name from the config and the command line is passed once. */
    struct crl_strv names = {0};
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "install_env"))
        if (cJSON_IsString(n) && !listed(&names, n->valuestring))
            crl_strv_push(&names, n->valuestring);
    for (const char *const *e = extra; e && *e; e++)
        if (!listed(&names, *e))
            crl_strv_push(&names, *e);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        rc = add_one(ctx, names.v[i], secret_env, env, why, wl);
        if (rc == CORRAL_ENOMEM)
            snprintf(why, wl, "out of memory");
    }
    crl_strv_free(&names);
    return rc;
}
