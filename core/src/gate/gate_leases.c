/* Leases of the rollouts that remote nodes (`corral run --gate`) register
 * on a central gate: a node renews them all with one heartbeat, and those
 * of a node that stopped renewing are unregistered, so a trainer never
 * waits on a dead node (docs/gate.md "Remote nodes"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corral/gate.h>

#include "gate/gate_internal.h"

int gate_lease_set(struct corral_gate *g, const char *id, const char *node)
{
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, id);
    if (r) {
        snprintf(r->node, sizeof r->node, "%s", node);
        r->lease_until = gate_now_ms() + g->lease_ms;
    }
    pthread_mutex_unlock(&g->lock);
    return r ? 0 : CORRAL_ENOTFOUND;
}

size_t gate_lease_renew(struct corral_gate *g, const char *node)
{
    size_t n = 0;
    int64_t until = gate_now_ms() + g->lease_ms;
    pthread_mutex_lock(&g->lock);
    for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
        for (struct gate_rollout *r = g->buckets[b]; r; r = r->next)
            if (strcmp(r->node, node) == 0) {
                r->lease_until = until;
                n++;
            }
    pthread_mutex_unlock(&g->lock);
    return n;
}

int gate_lease_owned(struct corral_gate *g, const char *id, const char *node)
{
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, id);
    int own = r && strcmp(r->node, node) == 0;
    pthread_mutex_unlock(&g->lock);
    return own;
}

int gate_lease_expired_locked(struct corral_gate *g, int64_t now)
{
    for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS; b++)
        for (struct gate_rollout *r = g->buckets[b]; r; r = r->next)
            if (r->node[0] && r->lease_until <= now)
                return 1;
    return 0;
}

void gate_leases_sweep(struct corral_gate *g)
{
    for (;;) {
        char id[130] = "", node[65] = "";
        int64_t now = gate_now_ms();
        pthread_mutex_lock(&g->lock);
        for (size_t b = 0; b < GATE_ROLLOUT_BUCKETS && !id[0]; b++)
            for (struct gate_rollout *r = g->buckets[b]; r; r = r->next)
                if (r->node[0] && r->lease_until <= now) {
                    snprintf(id, sizeof id, "%s", r->id);
                    snprintf(node, sizeof node, "%s", r->node);
                    break;
                }
        pthread_mutex_unlock(&g->lock);
        if (!id[0])
            return;
        corral_log(CORRAL_LOG_WARN, "gate", "node %s stopped renewing its lease: rollout %s dropped", node, id);
        corral_gate_unregister(g, id, NULL, NULL);
    }
}
