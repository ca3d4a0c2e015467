/*
 * The "images" config key (docs/images.md):
 *   "mirrors":  {"docker.io": ["http://127.0.0.1:5000", ...]}  tried in order before the registry
 *   "insecure": ["registry:5000", ...]                            spoken to over plain http
 *   "cache_dir": "/abs/path"                                      the image cache
 *   "stall_timeout_s": 30                                         no data this long fails a pull
 * Checked per layer in config.c; read from the merged configuration by
 * the image code.  No credentials here: logins come from Docker's
 * config.json.
 */
#include <string.h>

#include "base/internal.h"
#include "config/images_config.h"

#define STALL_DEFAULT_S 30
#define STALL_MAX_S 3600

/* A mirror's URL: http:// or https://, a host, an optional path, no
 * query, fragment, credentials or blanks. */
static int mirror_url_ok(const char *u)
{
    const char *h = strncmp(u, "http://", 7) == 0 ? u + 7 : strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
    if (!h || !*h || *h == '/')
        return 0;
    for (const char *p = h; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("?#@\\\"", *p))
            return 0;
    return strlen(u) < 400;
}

/* A registry name as references spell it: host[:port], no scheme or path. */
static int registry_name_ok(const char *r)
{
    if (!*r || strlen(r) > 255)
        return 0;
    for (const char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(".-:[]", *p)))
            return 0;
    return 1;
}

void crl_images_config_check(struct crl_config *cfg, const char *file, const cJSON *images)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, images) {
        const char *k = item->string;
        if (strcmp(k, "mirrors") == 0) {
            if (!cJSON_IsObject(item)) {
                crl_config_error(cfg, "%s: images.mirrors must be an object {\"registry\": [\"URL\", ...]}", file);
                continue;
            }
            const cJSON *reg;
            cJSON_ArrayForEach(reg, item) {
                if (!registry_name_ok(reg->string))
                    crl_config_error(cfg, "%s: images.mirrors: '%s' is not a registry name (host[:port])", file,
                                     reg->string);
                if (!cJSON_IsArray(reg)) {
                    crl_config_error(cfg, "%s: images.mirrors.%s must be an array of URLs", file, reg->string);
                    continue;
                }
                const cJSON *u;
                cJSON_ArrayForEach(u, reg) if (!cJSON_IsString(u) || !mirror_url_ok(u->valuestring))
                    crl_config_error(cfg, "%s: images.mirrors.%s: entries must be http:// or https:// URLs without "
                                          "credentials",
                                     file, reg->string);
            }
        } else if (strcmp(k, "insecure") == 0) {
            const cJSON *r;
            if (!cJSON_IsArray(item))
                crl_config_error(cfg, "%s: images.insecure must be an array of registry names", file);
            else
                cJSON_ArrayForEach(r, item) if (!cJSON_IsString(r) || !registry_name_ok(r->valuestring))
                    crl_config_error(cfg, "%s: images.insecure: entries must be registry names (host[:port])", file);
        } else if (strcmp(k, "cache_dir") == 0) {
            if (!cJSON_IsString(item) || item->valuestring[0] != '/' || strlen(item->valuestring) > 3800)
                crl_config_error(cfg, "%s: images.cache_dir must be an absolute path", file);
        } else if (strcmp(k, "stall_timeout_s") == 0) {
            if (crl_number_in(cJSON_IsNumber(item) ? item->valuedouble : -1, 1, STALL_MAX_S) != 0 ||
                item->valuedouble != (double)(int64_t)item->valuedouble)
                crl_config_error(cfg, "%s: images.stall_timeout_s must be an integer from 1 to %d", file,
                                 STALL_MAX_S);
        } else {
            crl_config_error(cfg, "%s: images: unknown key '%s' (valid: mirrors, insecure, cache_dir, stall_timeout_s)",
                             file, k);
        }
    }
}

static const cJSON *images_key(const corral_ctx *ctx, const char *key)
{
    const cJSON *im = ctx ? cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "images") : NULL;
    return cJSON_IsObject(im) ? cJSON_GetObjectItemCaseSensitive(im, key) : NULL;
}

const cJSON *crl_images_mirrors(const corral_ctx *ctx, const char *registry)
{
    const cJSON *m = images_key(ctx, "mirrors");
    const cJSON *l = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, registry) : NULL;
    return cJSON_IsArray(l) ? l : NULL;
}

int crl_images_insecure(const corral_ctx *ctx, const char *registry)
{
    const cJSON *l = images_key(ctx, "insecure"), *r;
    cJSON_ArrayForEach(r, l) if (cJSON_IsString(r) && strcmp(r->valuestring, registry) == 0) return 1;
    return 0;
}

int64_t crl_images_stall_ms(const corral_ctx *ctx)
{
    const cJSON *v = images_key(ctx, "stall_timeout_s");
    int64_t s;
    if (!cJSON_IsNumber(v) || crl_number_i64(v->valuedouble, 1, STALL_MAX_S, &s) != 0)
        s = STALL_DEFAULT_S;
    return s * 1000;
}

const char *crl_images_cache_dir(const corral_ctx *ctx)
{
    const cJSON *v = images_key(ctx, "cache_dir");
    return cJSON_IsString(v) && v->valuestring[0] == '/' ? v->valuestring : NULL;
}
