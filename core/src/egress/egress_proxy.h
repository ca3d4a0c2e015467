/* Inside libcorral: the egress proxy a rollout starts for the sandboxes
 * of local and docker (egress_proxy.c), and its decision log
 * (egress_log.c).  See docs/egress.md. */
#ifndef CRL_EGRESS_PROXY_H
#define CRL_EGRESS_PROXY_H

#include <pthread.h>
#include <stdint.h>

#include "egress/egress.h"

/* ---- the decision log ---- */

struct crl_egress_entry {
    int phase;              /* enum crl_egress_phase, -1: none set */
    int64_t time_ms;        /* since the epoch */
    char method[16];        /* "CONNECT" for a tunnel */
    char host[256];
    uint16_t port;
    char *path;             /* plain HTTP only */
    const char *decision;   /* static: "allow", "deny", "rate_limited", "error" */
    char rule[64];          /* a rule's name, "default", or why ("private_address", "sni_mismatch", ...) */
    uint64_t bytes;         /* both directions, after the head */
};

/* Entries beyond the cap: counted per (phase, host, port, decision, rule). */
struct crl_egress_aggregate {
    struct crl_egress_entry key;
    uint64_t count;
};

struct crl_egress_log {
    pthread_mutex_t mu;
    struct crl_egress_entry *e;
    size_t n, cap;
    struct crl_egress_aggregate *agg;
    size_t n_agg, cap_agg;
    uint64_t dropped;       /* beyond both caps */
};

/* Keep up to cap entries, then cap_agg aggregates; 0 or -1. */
int crl_egress_log_init(struct crl_egress_log *l, size_t cap, size_t cap_agg);
/* Record one decision (copied; path may be NULL). */
void crl_egress_log_add(struct crl_egress_log *l, const struct crl_egress_entry *e);
/* The log as the RolloutResult's "egress" array (docs/egress.md); the
 * caller owns it. */
cJSON *crl_egress_log_json(struct crl_egress_log *l);
void crl_egress_log_free(struct crl_egress_log *l);

/* ---- the proxy ---- */

typedef struct crl_egress_proxy crl_egress_proxy;

struct crl_egress_proxy_options {
    const char *socket_path;        /* the unix socket to create (mode 0666; put it in a 0711 directory) */
    const struct crl_egress *policy;/* the caller keeps it alive until _stop */
    const char *host_map;           /* "name=addr,..." for tests: these names resolve there and may be private */
    unsigned max_connections;       /* 0: 256; beyond, a connection is closed at once */
    unsigned header_timeout_ms;     /* 0: 10000; the whole head must arrive in this time */
    unsigned connect_timeout_ms;    /* 0: 10000 */
    unsigned idle_timeout_ms;       /* 0: 300000; a tunnel with no byte either way is closed */
    size_t log_cap;                 /* 0: 1000 entries kept, then aggregated */
    /* Called (from a connection's thread) for each refused request, with
     * the entry; may be NULL. */
    void (*on_deny)(void *ud, const struct crl_egress_entry *e);
    void *ud;
};

/* Bind the socket and start serving, with no phase set (everything is
 * refused, rule "no_phase", until crl_egress_proxy_set_phase).  NULL on
 * failure with call saying why. */
crl_egress_proxy *crl_egress_proxy_start(const struct crl_egress_proxy_options *o, struct corral_call *call);
/* Apply phase p's policy to new requests from now on (-1: refuse all);
 * open tunnels are closed when the phase changes. */
void crl_egress_proxy_set_phase(crl_egress_proxy *p, int phase);
/* The decision log (owned by the proxy; valid until _stop). */
struct crl_egress_log *crl_egress_proxy_log(crl_egress_proxy *p);
/* Close every connection, wait for their threads, remove the socket and
 * free; NULL is a no-op.  The caller reads the log before. */
void crl_egress_proxy_stop(crl_egress_proxy *p);

#endif
