/* The context: configuration, the plugin search path and loaded plugins. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

static int level_from_name(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; s && i < CRL_ARRAY_LEN(names); i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return CORRAL_LOG_WARN;
}

/* Adds d to the search path unless a directory already there is the same
 * one (by realpath): the same directory named twice (--plugin-dir D with
 * CORRAL_PLUGIN_PATH=D) would make every plugin its own duplicate. */
static void push_dir(corral_ctx *ctx, const char *d)
{
    char *rd = realpath(d, NULL);
    for (size_t i = 0; i < ctx->dirs.n; i++) {
        char *re = realpath(ctx->dirs.v[i], NULL);
        int same = strcmp(re ? re : ctx->dirs.v[i], rd ? rd : d) == 0;
        free(re);
        if (same) {
            free(rd);
            return;
        }
    }
    free(rd);
    crl_strv_push(&ctx->dirs, d);
}

/* The search path: --plugin-dir, config plugin_dirs, CORRAL_PLUGIN_PATH,
 * then the compiled-in directory. */
static void build_search_path(corral_ctx *ctx, const struct corral_options *o)
{
    if (o && o->plugin_dirs)
        for (const char *const *d = o->plugin_dirs; *d; d++)
            push_dir(ctx, *d);
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "plugin_dirs");
    const cJSON *d;
    cJSON_ArrayForEach(d, cd) if (cJSON_IsString(d)) push_dir(ctx, d->valuestring);
    const char *env = getenv("CORRAL_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok; tok = strtok_r(NULL, ":", &save))
            push_dir(ctx, tok);
        free(copy);
    }
    push_dir(ctx, CORRAL_PLUGIN_DIR);
}

int corral_open(const struct corral_options *o, corral_ctx **out, struct corral_call *call)
{
    *out = NULL;
    corral_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    const char *file = o && CORRAL_HAS_FIELD(o, config_file) ? o->config_file : NULL;
    int r = crl_config_load(&ctx->config, file);
    const char *level = o && CORRAL_HAS_FIELD(o, log_level) ? o->log_level : NULL;
    if (!level) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "log_level");
        level = cJSON_IsString(l) ? l->valuestring : NULL;
    }
    corral_log_setup(level_from_name(level), NULL);
    build_search_path(ctx, o);
    if (!(o && CORRAL_HAS_FIELD(o, no_plugins) && o->no_plugins))
        crl_plugins_load(&ctx->plugins, crl_strv_get(&ctx->dirs), &ctx->config);
    crl_install_env_check(ctx);
    *out = ctx;
    if (r != 0 || ctx->config.errors.len)
        return corral_call_fail(call, CORRAL_ECONFIG, "invalid configuration:\n%s",
                                ctx->config.errors.p ? ctx->config.errors.p : "");
    return 0;
}

void corral_close(corral_ctx *ctx)
{
    if (!ctx)
        return;
    crl_plugins_unload(&ctx->plugins);
    crl_config_free(&ctx->config);
    crl_strv_free(&ctx->dirs);
    free(ctx);
}

const struct corral_plugin_record *corral_plugins(const corral_ctx *ctx, size_t *n)
{
    *n = ctx->plugins.recs ? ctx->plugins.n : 0;
    return ctx->plugins.recs;
}

const struct corral_plugin_record *corral_plugin_find(const corral_ctx *ctx, int kind, const char *name)
{
    size_t n;
    const struct corral_plugin_record *r = corral_plugins(ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == kind && r[i].status == CORRAL_PLUGIN_LOADED && strcmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

const char *corral_config_errors(const corral_ctx *ctx)
{
    return ctx->config.errors.p ? ctx->config.errors.p : "";
}

const char *corral_config_warnings(const corral_ctx *ctx)
{
    return ctx->config.warnings.p ? ctx->config.warnings.p : "";
}

/* Redact values of keys that look like they hold secrets, in sections the
 * host could not check against a schema (disabled or missing plugins). */
static void redact_unchecked(cJSON *o)
{
    static const char *const hints[] = {"key", "token", "secret", "password", "passwd", "credential"};
    cJSON *item;
    cJSON_ArrayForEach(item, o) {
        if (cJSON_IsObject(item)) {
            redact_unchecked(item);
            continue;
        }
        if (!cJSON_IsString(item) || !item->string)
            continue;
        char lower[128];
        size_t i;
        for (i = 0; item->string[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)tolower((unsigned char)item->string[i]);
        lower[i] = '\0';
        int env_name = strstr(lower, "_env") != NULL && crl_is_env_name(item->valuestring);
        for (size_t h = 0; h < CRL_ARRAY_LEN(hints) && !env_name; h++)
            if (strstr(lower, hints[h])) {
                cJSON_SetValuestring(item, "<redacted>");
                break;
            }
    }
}

char *corral_config_dump(const corral_ctx *ctx)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *files = cJSON_AddArrayToObject(root, "config_files");
    for (size_t i = 0; i < ctx->config.n_layers; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(ctx->config.layers[i].file));
    const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "log_level");
    cJSON_AddStringToObject(root, "log_level", cJSON_IsString(lvl) ? lvl->valuestring : "warn");
    /* Names only: the values stay in the environment. */
    const cJSON *ie = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "install_env");
    cJSON_AddItemToObject(root, "install_env", cJSON_IsArray(ie) ? cJSON_Duplicate(ie, 1) : cJSON_CreateArray());
    cJSON *dirs = cJSON_AddArrayToObject(root, "plugin_search_path");
    for (size_t i = 0; i < ctx->dirs.n; i++)
        cJSON_AddItemToArray(dirs, cJSON_CreateString(ctx->dirs.v[i]));

    static const int kinds[] = {CORRAL_PLUGIN_SANDBOX, CORRAL_PLUGIN_AGENT};
    for (size_t k = 0; k < CRL_ARRAY_LEN(kinds); k++) {
        const char *kn = corral_plugin_kind_name(kinds[k]);
        cJSON *sec = cJSON_AddObjectToObject(root, kn);
        /* Sections of loaded plugins: effective values with defaults. */
        for (size_t i = 0; i < ctx->plugins.n; i++) {
            const struct crl_plugin *p = ctx->plugins.items[i];
            if (p->rec.kind != kinds[k] || cJSON_GetObjectItemCaseSensitive(sec, p->name))
                continue;
            cJSON *s;
            if (p->cfg) {
                s = crl_schema_effective(p->cfg);
            } else {
                const cJSON *raw = crl_config_section(&ctx->config, kinds[k], p->name);
                s = raw ? cJSON_Duplicate(raw, 1) : cJSON_CreateObject();
                cJSON_DeleteItemFromObjectCaseSensitive(s, "enabled");
                redact_unchecked(s);
            }
            cJSON_AddBoolToObject(s, "enabled", p->rec.status != CORRAL_PLUGIN_DISABLED);
            cJSON_AddItemToObject(sec, p->name, s);
        }
        /* Sections for plugins that were not found. */
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(ctx->config.merged, kn);
        const cJSON *raw;
        cJSON_ArrayForEach(raw, all) {
            if (cJSON_GetObjectItemCaseSensitive(sec, raw->string))
                continue;
            cJSON *s = cJSON_Duplicate(raw, 1);
            redact_unchecked(s);
            cJSON_AddItemToObject(sec, raw->string, s);
        }
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}
