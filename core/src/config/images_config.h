/* The "images" config key: registry mirrors, insecure (http) registries,
 * the image cache directory and the stall timeout of pulls (README
 * "Configuration", docs/images.md). */
#ifndef CRL_IMAGES_CONFIG_H
#define CRL_IMAGES_CONFIG_H

#include <stdint.h>
#include <cjson/cJSON.h>

struct crl_config;
typedef struct corral_ctx corral_ctx;

/* Check one layer's "images" object, reporting into cfg with its file. */
void crl_images_config_check(struct crl_config *cfg, const char *file, const cJSON *images);
/* images.mirrors[registry]: an array of base URLs (borrowed from the
 * merged config), or NULL when none. */
const cJSON *crl_images_mirrors(const corral_ctx *ctx, const char *registry);
/* Whether registry (host[:port]) is listed in images.insecure. */
int crl_images_insecure(const corral_ctx *ctx, const char *registry);
/* images.stall_timeout_s in milliseconds (default 30 s). */
int64_t crl_images_stall_ms(const corral_ctx *ctx);
/* images.cache_dir (an absolute path), or NULL. */
const char *crl_images_cache_dir(const corral_ctx *ctx);

#endif
