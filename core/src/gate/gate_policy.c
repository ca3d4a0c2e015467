/*
 * Policy versions and pausing, for a trainer that updates the weights an
 * upstream serves between calls (docs/gate.md, "Policy version, pause and
 * resume").
 *
 * Every chat call reaches its responder through gate_dispatch_locked().
 * While the gate is paused a call waits on gate->held instead, its
 * connection suspended like any pending call's, but on no deadline: the
 * pause must never fail a call.  Resuming dispatches the held calls in
 * arrival order, each stamped with the policy version current then.
 * Everything here runs under the gate lock.
 */
#include <stdio.h>
#include <string.h>

#include "gate/gate_internal.h"

void gate_dispatch_locked(struct corral_gate *g, struct gate_rollout *r, struct gate_conn *c)
{
    if (g->paused) {
        c->state = GS_HELD;
        c->q_next = NULL;
        if (g->held_tail)
            g->held_tail->q_next = c;
        else
            g->held_head = c;
        g->held_tail = c;
        return;
    }
    memcpy(c->policy_version, g->policy_version, sizeof c->policy_version);
    c->deadline = gate_now_ms() + g->timeout_ms;
    r->ops->submit(g, r, c);
}

void gate_held_unlink_locked(struct corral_gate *g, struct gate_conn *c)
{
    struct gate_conn *prev = NULL;
    for (struct gate_conn *h = g->held_head; h; prev = h, h = h->q_next)
        if (h == c) {
            if (prev)
                prev->q_next = h->q_next;
            else
                g->held_head = h->q_next;
            if (g->held_tail == h)
                g->held_tail = prev;
            c->q_next = NULL;
            c->state = GS_RECEIVING;
            return;
        }
}

void gate_held_fail_locked(struct corral_gate *g, const struct gate_rollout *r, unsigned status, const char *message,
                           const char *code)
{
    for (struct gate_conn *c = g->held_head, *n; c; c = n) {
        n = c->q_next;
        if (!r || c->rollout == r) {
            gate_fail_locked(g, c, status, message, "invalid_request_error", code);
            c->rollout = NULL;
        }
    }
}

/* 1 to GATE_VERSION_MAX printable ASCII characters. */
static int version_valid(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++)
        if (n >= GATE_VERSION_MAX || (unsigned char)v[n] < 0x20 || (unsigned char)v[n] > 0x7e)
            return 0;
    return n > 0;
}

int corral_gate_set_policy_version(corral_gate *g, const char *version, struct corral_call *call)
{
    if (!g || (version && !version_valid(version)))
        return corral_call_fail(call, CORRAL_EINVAL, "gate: a policy version is 1 to %d printable ASCII characters",
                                GATE_VERSION_MAX);
    pthread_mutex_lock(&g->lock);
    snprintf(g->policy_version, sizeof g->policy_version, "%s", version ? version : "");
    pthread_mutex_unlock(&g->lock);
    return 0;
}

void corral_gate_pause(corral_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->paused = 1;
    pthread_mutex_unlock(&g->lock);
}

size_t corral_gate_resume(corral_gate *g)
{
    size_t n = 0;
    pthread_mutex_lock(&g->lock);
    g->paused = 0;
    while (g->held_head) {
        struct gate_conn *c = g->held_head;
        gate_held_unlink_locked(g, c);
        gate_dispatch_locked(g, c->rollout, c); /* held calls' rollouts are registered */
        n++;
    }
    gate_unlock(g); /* resumes the connections answered at once (replay) */
    return n;
}

int corral_gate_paused(corral_gate *g, size_t *held)
{
    size_t n = 0;
    pthread_mutex_lock(&g->lock);
    int paused = g->paused;
    for (struct gate_conn *c = g->held_head; c; c = c->q_next)
        n++;
    pthread_mutex_unlock(&g->lock);
    if (held)
        *held = n;
    return paused;
}
