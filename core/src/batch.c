/*
 * Batches (see corral_batch_run() in <corral/rollout.h>): many rollouts in
 * one process.  A fixed pool of worker threads takes the next rollout
 * until none is left or the batch is cancelled; rollouts that call a model
 * share one gate, so a rollout in flight costs its own state and not a
 * process, a gate and a copy of every library.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_spec.h"
#include "internal.h"
#include "rollout_internal.h"

#define BATCH_MAX_CONCURRENCY 1024

struct batch {
    corral_ctx *ctx;
    const struct corral_batch_options *bo;
    struct corral_rollout_options *each; /* copies, gate filled in */
    unsigned char *shared;               /* each[i] goes through the batch's gate */
    size_t n, next;
    pthread_mutex_t lock;                /* next, on_result */
};

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int is_cancelled(const struct batch *b)
{
    return crl_flag_set(b->bo->cancel);
}

static void *worker(void *arg)
{
    struct batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next;
        if (i < b->n && !is_cancelled(b))
            b->next++;
        else
            i = b->n;
        pthread_mutex_unlock(&b->lock);
        if (i == b->n)
            return NULL;
        struct corral_call call;
        corral_call_init(&call, 0);
        call.cancel = b->bo->cancel;
        char *json = NULL;
        int st = crl_rollout_run(b->ctx, &b->each[i], b->bo->pretty, &json, &call);
        pthread_mutex_lock(&b->lock);
        if (b->bo->on_result && json)
            b->bo->on_result(b->bo->ud, i, json, st);
        pthread_mutex_unlock(&b->lock);
        free(json);
    }
}

/* 1 when rollout `o` needs the batch's gate: its agent calls a model and
 * it brings no gate of its own.  An unknown agent needs none (its rollout
 * reports that). */
static int needs_shared_gate(corral_ctx *ctx, const struct corral_rollout_options *o)
{
    if (o->gate || !o->agent)
        return 0;
    const struct corral_plugin_record *rec = corral_plugin_find(ctx, CORRAL_PLUGIN_AGENT, o->agent);
    if (!rec)
        return 0;
    struct crl_agent_spec spec;
    char why[256];
    if (crl_agent_spec_parse(((const struct corral_agent_ops *)rec->desc->ops)->spec_json, &spec, why,
                             sizeof why) != 0)
        return 0;
    int uses = spec.uses_model;
    crl_agent_spec_free(&spec);
    return uses;
}

/* Copy every rollout's options; start the shared gate when one of them
 * needs it (its socket in a fresh private directory, dir[0] = '\0' when
 * none was made). */
static int prepare(struct batch *b, const struct corral_rollout_options *in, corral_gate **gate, char *dir,
                   size_t dir_cap, char *sock, size_t sock_cap, struct corral_call *call)
{
    const struct corral_rollout_options *first = NULL;
    for (size_t i = 0; i < b->n; i++) {
        int st = crl_rollout_options_copy(&in[i], &b->each[i], call);
        if (st)
            return st;
        if (!needs_shared_gate(b->ctx, &b->each[i]))
            continue;
        b->shared[i] = 1;
        if (!first) {
            first = &b->each[i];
        } else if (!str_eq(first->model_name, b->each[i].model_name) ||
                   !str_eq(first->gate_listen, b->each[i].gate_listen) ||
                   !str_eq(first->gate_url, b->each[i].gate_url)) {
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "batch: rollouts %zu and %zu share a gate but differ in model name, gate "
                                    "listen address or gate URL", (size_t)(first - b->each), i);
        }
    }
    if (!first)
        return 0;
    snprintf(dir, dir_cap, "/tmp/corral-batch-XXXXXX");
    if (!mkdtemp(dir)) {
        dir[0] = '\0';
        return corral_call_fail(call, CORRAL_EIO, "batch: cannot create a temporary directory");
    }
    chmod(dir, 0711);
    snprintf(sock, sock_cap, "%s/gate.sock", dir);
    int st = crl_rollout_gate_new(first, sock, 0, gate, call);
    if (st)
        return st;
    for (size_t i = 0; i < b->n; i++) {
        if (!b->shared[i])
            continue;
        b->each[i].gate = *gate;
        b->each[i].gate_socket = sock;
    }
    return 0;
}

int corral_batch_run(corral_ctx *ctx, const struct corral_rollout_options *rollouts, size_t n,
                     const struct corral_batch_options *bo, struct corral_call *call)
{
    if (!ctx || (!rollouts && n) || !bo || bo->struct_size < offsetof(struct corral_batch_options, ud) + sizeof bo->ud)
        return corral_call_fail(call, CORRAL_EINVAL, "batch: missing context, rollouts or options");
    if (n == 0)
        return 0;
    struct batch b = {.ctx = ctx, .bo = bo, .n = n};
    b.each = calloc(n, sizeof *b.each);
    b.shared = calloc(n, 1);
    if (!b.each || !b.shared) {
        free(b.each);
        free(b.shared);
        return corral_call_fail(call, CORRAL_ENOMEM, "batch: out of memory");
    }
    corral_gate *gate = NULL;
    char dir[64] = "", sock[96] = "";
    int st = prepare(&b, rollouts, &gate, dir, sizeof dir, sock, sizeof sock, call);
    for (size_t i = 0; !st && i < n; i++)
        if (!b.each[i].cancel)
            b.each[i].cancel = bo->cancel;

    size_t workers = bo->concurrency ? bo->concurrency : 1;
    if (workers > BATCH_MAX_CONCURRENCY)
        workers = BATCH_MAX_CONCURRENCY;
    if (workers > n)
        workers = n;
    pthread_t *th = st ? NULL : calloc(workers, sizeof *th);
    if (!st && !th)
        st = corral_call_fail(call, CORRAL_ENOMEM, "batch: out of memory");
    size_t started = 0;
    if (!st) {
        pthread_mutex_init(&b.lock, NULL);
        while (started < workers && pthread_create(&th[started], NULL, worker, &b) == 0)
            started++;
        if (started == 0)
            st = corral_call_fail(call, CORRAL_ENOMEM, "batch: cannot start a worker thread");
        else if (started < workers)
            corral_log(CORRAL_LOG_WARN, "batch", "%zu of %zu worker threads started", started, workers);
        for (size_t i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        pthread_mutex_destroy(&b.lock);
        if (!st && b.next < n)
            st = corral_call_fail(call, CORRAL_ECANCELED, "batch: cancelled; %zu of %zu rollouts not started",
                                  n - b.next, n);
    }
    free(th);
    corral_gate_free(gate);
    if (sock[0])
        unlink(sock);
    if (dir[0])
        rmdir(dir);
    free(b.each);
    free(b.shared);
    return st;
}
