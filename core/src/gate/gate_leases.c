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

/* A node's rollout the trainer unregistered, kept until that node's next
 * heartbeat tells it (its calls then fail 410 on the node at once). */
struct gate_node_drop {
    struct gate_node_drop *next;
    char node[65];
    char id[130];
};

/* At most this many drops wait for heartbeats: a node that never beats
 * again cannot grow the list without bound (the oldest go first). */
#define GATE_NODE_DROPS_MAX 4096

void gate_lease_note_drop(struct corral_gate *g, const char *id)
{
    pthread_mutex_lock(&g->lock);
    struct gate_rollout *r = gate_rollout_find_locked(g, id);
    struct gate_node_drop *d = r && r->node[0] ? calloc(1, sizeof *d) : NULL;
    if (d) {
        snprintf(d->node, sizeof d->node, "%s", r->node);
        snprintf(d->id, sizeof d->id, "%s", r->id);
        d->next = g->node_drops;
        g->node_drops = d;
        if (++g->n_node_drops > GATE_NODE_DROPS_MAX) {
            struct gate_node_drop **pp = &g->node_drops;
            while ((*pp)->next)
                pp = &(*pp)->next;
            free(*pp);
            *pp = NULL;
            g->n_node_drops--;
        }
    }
    pthread_mutex_unlock(&g->lock);
}

void gate_lease_take_drops(struct corral_gate *g, const char *node, cJSON *o)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "dropped");
    pthread_mutex_lock(&g->lock);
    for (struct gate_node_drop **pp = &g->node_drops; *pp;) {
        struct gate_node_drop *d = *pp;
        if (strcmp(d->node, node) != 0) {
            pp = &d->next;
            continue;
        }
        cJSON_AddItemToArray(arr, cJSON_CreateString(d->id));
        *pp = d->next;
        free(d);
        g->n_node_drops--;
    }
    pthread_mutex_unlock(&g->lock);
}

void gate_lease_drops_free(struct corral_gate *g)
{
    for (struct gate_node_drop *d = g->node_drops, *n; d; d = n) {
        n = d->next;
        free(d);
    }
    g->node_drops = NULL;
    g->n_node_drops = 0;
}
