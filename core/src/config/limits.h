/* The "limits" config key: per-rollout bounds on what an agent can make
 * corral hold or spend (README "Configuration", corral.conf(5)). */
#ifndef CRL_LIMITS_H
#define CRL_LIMITS_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include <corral/gate.h>

struct crl_config;
typedef struct corral_ctx corral_ctx;

/* Every value 0 = the default of whoever applies it (the gate's, in gate.h;
 * CRL_DEFAULT_MAX_EVENTS for events). */
struct crl_limits {
    int64_t request_bytes;            /* gate body_limit */
    int64_t transcript_bytes;         /* gate transcript_limit */
    int64_t events;                   /* agent events kept per rollout */
    int64_t connections_per_rollout;  /* gate rollout_connections */
    int64_t socket_connections;       /* gate socket_connections (a rollout's own socket) */
    int64_t idle_timeout_s;           /* gate idle_timeout_s */
    int64_t upstream_max_n;           /* gate upstream_max_n */
    int64_t upstream_max_tokens;      /* gate upstream_max_tokens (-1: no cap) */
};

#define CRL_DEFAULT_MAX_EVENTS 50000
#define CRL_DEFAULT_EVENTS_BYTES ((size_t)32 << 20) /* when transcript_bytes is unset */

/* Check one layer's "limits" object (known keys, integers in range),
 * reporting into cfg with the layer's file name. */
void crl_limits_check(struct crl_config *cfg, const char *file, const cJSON *limits);
/* The merged configuration's limits (zeros where unset).  ctx may be NULL. */
void crl_limits_get(const corral_ctx *ctx, struct crl_limits *out);
/* Copy the gate's part of l into o (o->struct_size covers them). */
void crl_limits_gate_options(const struct crl_limits *l, struct corral_gate_options *o);

#endif
