/*
 * Layered JSON configuration (README.md "Configuration", corral.conf(5)):
 *   $CORRAL_CONFIG_DIR (default /etc/corral)/corral.json
 *   $CORRAL_CONFIG_DIR/conf.d/ *.json in lexical (byte) order
 *   $XDG_CONFIG_HOME/corral/config.json (default ~/.config)
 *   --config FILE
 * Later layers win per key (objects merge recursively; other values are
 * replaced).  Each layer is checked on its own so that every message names
 * the file it comes from.  Plugin sections are checked against the
 * plugins' schemas later, in config_schema.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/internal.h"
#include "config/images_config.h"
#include "config/limits.h"

/* Top-level keys the core understands.  Keep in sync with corral.conf(5). */
static const struct {
    const char *key;
    int type; /* cJSON type flag */
} core_keys[] = {
    {"plugin_dirs", cJSON_Array},
    {"log_level", cJSON_String},
    {"sandbox", cJSON_Object},
    {"agent", cJSON_Object},
    {"install_env", cJSON_Array},
    {"limits", cJSON_Object},
    {"images", cJSON_Object},
};

static const char *const log_levels[] = {"error", "warn", "info", "debug"};

static const char *kind_key(int kind)
{
    return kind == CORRAL_PLUGIN_SANDBOX ? "sandbox" : kind == CORRAL_PLUGIN_AGENT ? "agent" : "?";
}

/* 1-based line of the byte at `at` in `text`. */
static int line_of(const char *text, const char *at)
{
    int line = 1;
    for (const char *p = text; p < at && *p; p++)
        line += *p == '\n';
    return line;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "invalid";
}

void crl_config_error(struct crl_config *cfg, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) >= 0) {
        crl_buf_addf(&cfg->errors, "%s\n", s);
        free(s);
    }
    va_end(ap);
}

/* Check the core's part of one layer: known top-level keys and their types,
 * and the shape (not the content) of plugin sections. */
static void check_layer(struct crl_config *cfg, const struct crl_layer *l)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, l->json) {
        size_t i;
        for (i = 0; i < CRL_ARRAY_LEN(core_keys); i++)
            if (strcmp(core_keys[i].key, item->string) == 0)
                break;
        if (i == CRL_ARRAY_LEN(core_keys)) {
            struct crl_buf valid = {0};
            for (size_t k = 0; k < CRL_ARRAY_LEN(core_keys); k++)
                crl_buf_addf(&valid, "%s%s", k ? ", " : "", core_keys[k].key);
            crl_config_error(cfg, "%s: unknown key '%s' (valid keys: %s)", l->file, item->string, valid.p);
            crl_buf_free(&valid);
            continue;
        }
        if (!(item->type & core_keys[i].type)) {
            crl_config_error(cfg, "%s: '%s' must be %s, not %s", l->file, item->string,
                  core_keys[i].type == cJSON_Array ? "an array" :
                  core_keys[i].type == cJSON_Object ? "an object" : "a string", type_name(item));
            continue;
        }
        if (strcmp(item->string, "plugin_dirs") == 0) {
            const cJSON *d;
            cJSON_ArrayForEach(d, item) if (!cJSON_IsString(d) || d->valuestring[0] != '/')
                crl_config_error(cfg, "%s: plugin_dirs entries must be absolute paths", l->file);
        } else if (strcmp(item->string, "install_env") == 0) {
            const cJSON *n;
            char why[256];
            cJSON_ArrayForEach(n, item) {
                if (!cJSON_IsString(n))
                    crl_config_error(cfg, "%s: install_env entries must be strings (variable names)", l->file);
                else if (!crl_install_env_name_ok(n->valuestring, why, sizeof why))
                    crl_config_error(cfg, "%s: install_env: %s", l->file, why);
            }
        } else if (strcmp(item->string, "log_level") == 0) {
            size_t k;
            for (k = 0; k < CRL_ARRAY_LEN(log_levels); k++)
                if (strcmp(log_levels[k], item->valuestring) == 0)
                    break;
            if (k == CRL_ARRAY_LEN(log_levels))
                crl_config_error(cfg, "%s: log_level '%s' is not one of error, warn, info, debug", l->file,
                      item->valuestring);
        } else if (strcmp(item->string, "limits") == 0) {
            crl_limits_check(cfg, l->file, item);
        } else if (strcmp(item->string, "images") == 0) {
            crl_images_config_check(cfg, l->file, item);
        } else { /* sandbox / agent */
            const cJSON *sec;
            cJSON_ArrayForEach(sec, item) {
                if (!cJSON_IsObject(sec)) {
                    crl_config_error(cfg, "%s: %s.%s must be an object, not %s", l->file, item->string, sec->string,
                          type_name(sec));
                    continue;
                }
                const cJSON *en = cJSON_GetObjectItemCaseSensitive(sec, "enabled");
                if (en && !cJSON_IsBool(en))
                    crl_config_error(cfg, "%s: %s.%s.enabled must be true or false, not %s", l->file, item->string,
                          sec->string, type_name(en));
            }
        }
    }
}

static int add_layer(struct crl_config *cfg, const char *path, int must_exist)
{
    int err = 0;
    char *text = crl_read_file(path, NULL, &err);
    if (!text) {
        if (err == ENOENT && !must_exist)
            return 0;
        crl_config_error(cfg, "%s: cannot read: %s", path, crl_file_strerror(err));
        return CORRAL_ECONFIG;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(text, &end, 1);
    if (!json) {
        const char *at = end ? end : text;
        /* The excerpt reaches a terminal: printable ASCII only, the rest as \xNN. */
        char near[20 * 4 + 1];
        size_t k = 0;
        for (size_t i = 0; i < 20 && at[i]; i++) {
            unsigned char c = (unsigned char)at[i];
            if (c >= 0x20 && c < 0x7f && c != '\\')
                near[k++] = (char)c;
            else
                k += (size_t)snprintf(near + k, sizeof near - k, "\\x%02x", c);
        }
        near[k] = '\0';
        crl_config_error(cfg, "%s:%d: invalid JSON near '%s'", path, line_of(text, at), near);
        free(text);
        return CORRAL_ECONFIG;
    }
    free(text);
    if (!cJSON_IsObject(json)) {
        crl_config_error(cfg, "%s: the top level must be a JSON object", path);
        cJSON_Delete(json);
        return CORRAL_ECONFIG;
    }
    struct crl_layer *ls = realloc(cfg->layers, (cfg->n_layers + 1) * sizeof *ls);
    if (!ls) {
        cJSON_Delete(json);
        return CORRAL_ENOMEM;
    }
    cfg->layers = ls;
    ls[cfg->n_layers] = (struct crl_layer){strdup(path), json};
    check_layer(cfg, &ls[cfg->n_layers]);
    cfg->n_layers++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Merge src into dst: objects recursively, everything else replaced. */
static void merge_into(cJSON *dst, const cJSON *src)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, src) {
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, item->string);
        if (cur && cJSON_IsObject(cur) && cJSON_IsObject(item)) {
            merge_into(cur, item);
            continue;
        }
        cJSON *copy = cJSON_Duplicate(item, 1);
        if (cur)
            cJSON_ReplaceItemInObjectCaseSensitive(dst, item->string, copy);
        else
            cJSON_AddItemToObject(dst, item->string, copy);
    }
}

int crl_config_load(struct crl_config *cfg, const char *explicit_file)
{
    memset(cfg, 0, sizeof *cfg);
    const char *dir = getenv("CORRAL_CONFIG_DIR");
    if (!dir || !*dir)
        dir = CORRAL_SYSCONF_DIR;
    char *path = NULL;

    if (asprintf(&path, "%s/corral.json", dir) >= 0) {
        add_layer(cfg, path, 0);
        free(path);
    }
    if (asprintf(&path, "%s/conf.d", dir) >= 0) {
        struct dirent **ents = NULL;
        int n = scandir(path, &ents, is_json_name, by_name);
        for (int i = 0; i < n; i++) {
            char *f = NULL;
            if (asprintf(&f, "%s/%s", path, ents[i]->d_name) >= 0) {
                add_layer(cfg, f, 0);
                free(f);
            }
            free(ents[i]);
        }
        free(ents);
        free(path);
    }
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int r = -1;
    if (xdg && *xdg)
        r = asprintf(&path, "%s/corral/config.json", xdg);
    else if (home && *home)
        r = asprintf(&path, "%s/.config/corral/config.json", home);
    if (r >= 0) {
        add_layer(cfg, path, 0);
        free(path);
    }
    if (explicit_file)
        add_layer(cfg, explicit_file, 1);

    cfg->merged = cJSON_CreateObject();
    for (size_t i = 0; i < cfg->n_layers; i++)
        merge_into(cfg->merged, cfg->layers[i].json);
    return cfg->errors.len ? CORRAL_ECONFIG : 0;
}

void crl_config_free(struct crl_config *cfg)
{
    for (size_t i = 0; i < cfg->n_layers; i++) {
        free(cfg->layers[i].file);
        cJSON_Delete(cfg->layers[i].json);
    }
    free(cfg->layers);
    cJSON_Delete(cfg->merged);
    crl_buf_free(&cfg->errors);
    crl_buf_free(&cfg->warnings);
    memset(cfg, 0, sizeof *cfg);
}

static const cJSON *section_in(const cJSON *root, int kind, const char *name)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, kind_key(kind));
    const cJSON *s = cJSON_IsObject(k) ? cJSON_GetObjectItemCaseSensitive(k, name) : NULL;
    return cJSON_IsObject(s) ? s : NULL;
}

const cJSON *crl_config_section(const struct crl_config *cfg, int kind, const char *name)
{
    return section_in(cfg->merged, kind, name);
}

int crl_config_plugin_enabled(const struct crl_config *cfg, int kind, const char *name)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(crl_config_section(cfg, kind, name), "enabled");
    return !cJSON_IsFalse(en);
}

const char *crl_config_origin(const struct crl_config *cfg, int kind, const char *name, const char *key)
{
    for (size_t i = cfg->n_layers; i-- > 0;) {
        const cJSON *s = section_in(cfg->layers[i].json, kind, name);
        if (s && (!key || cJSON_GetObjectItemCaseSensitive(s, key)))
            return cfg->layers[i].file;
    }
    return "(defaults)";
}
