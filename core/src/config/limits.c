/*
 * The "limits" config key: per-rollout bounds an agent cannot raise
 * (request size, transcript bytes, events, calls in progress, connections
 * open on its own gate socket, the upstream's "n" and "max_tokens").  Checked per layer in config.c; read from the
 * merged configuration by whoever starts a gate or parses events.
 */
#include <stddef.h>
#include <string.h>

#include "base/internal.h"
#include "config/limits.h"

static const struct {
    const char *key;
    size_t off;
    int64_t min, max;
} keys[] = {
    {"request_bytes", offsetof(struct crl_limits, request_bytes), 1024, (int64_t)1 << 30},
    {"transcript_bytes", offsetof(struct crl_limits, transcript_bytes), 4096, (int64_t)1 << 34},
    {"events", offsetof(struct crl_limits, events), 1, 100000000},
    {"connections_per_rollout", offsetof(struct crl_limits, connections_per_rollout), 1, 65536},
    {"socket_connections", offsetof(struct crl_limits, socket_connections), 1, 1024},
    {"idle_timeout_s", offsetof(struct crl_limits, idle_timeout_s), 1, 86400},
    {"upstream_max_n", offsetof(struct crl_limits, upstream_max_n), 1, 128},
    {"upstream_max_tokens", offsetof(struct crl_limits, upstream_max_tokens), -1, (int64_t)1 << 31},
};

/* Whether v is an integer from min to max (a double that is exactly one). */
static int int_in(const cJSON *v, int64_t min, int64_t max)
{
    return cJSON_IsNumber(v) && v->valuedouble >= (double)min && v->valuedouble <= (double)max &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

void crl_limits_check(struct crl_config *cfg, const char *file, const cJSON *limits)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, limits) {
        size_t i;
        for (i = 0; i < CRL_ARRAY_LEN(keys); i++)
            if (strcmp(keys[i].key, item->string) == 0)
                break;
        if (i == CRL_ARRAY_LEN(keys))
            crl_config_error(cfg, "%s: limits: unknown key '%s' (valid: request_bytes, transcript_bytes, events, "
                                  "connections_per_rollout, socket_connections, idle_timeout_s, upstream_max_n, upstream_max_tokens)",
                             file, item->string);
        else if (!int_in(item, keys[i].min, keys[i].max))
            crl_config_error(cfg, "%s: limits.%s must be an integer from %lld to %lld", file, keys[i].key,
                             (long long)keys[i].min, (long long)keys[i].max);
    }
}

void crl_limits_get(const corral_ctx *ctx, struct crl_limits *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *limits = ctx ? cJSON_GetObjectItemCaseSensitive(ctx->config.merged, "limits") : NULL;
    for (size_t i = 0; i < CRL_ARRAY_LEN(keys); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(limits, keys[i].key);
        if (int_in(v, keys[i].min, keys[i].max))
            *(int64_t *)((char *)out + keys[i].off) = (int64_t)v->valuedouble;
    }
}

void crl_limits_gate_options(const struct crl_limits *l, struct corral_gate_options *o)
{
    o->body_limit = (size_t)l->request_bytes;
    o->transcript_limit = (size_t)l->transcript_bytes;
    o->rollout_connections = (unsigned)l->connections_per_rollout;
    o->socket_connections = (unsigned)l->socket_connections;
    o->idle_timeout_s = (unsigned)l->idle_timeout_s;
    o->upstream_max_n = (unsigned)l->upstream_max_n;
    o->upstream_max_tokens = l->upstream_max_tokens;
}
