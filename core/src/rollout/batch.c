/*
 * Batches (see corral_batch_run() in <corral/rollout.h>): many rollouts in
 * one process.  A fixed pool of worker threads takes the next rollout
 * until none is left or the batch is cancelled; rollouts that call a model
 * share one gate, so a rollout in flight costs its own state and not a
 * process, a gate and a copy of every library.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rollout/rollout_internal.h"

#define BATCH_MAX_CONCURRENCY 1024
#define BATCH_MAX_BACKOFF_MS 60000

struct batch {
    corral_ctx *ctx;
    const struct corral_batch_options *bo;
    struct corral_rollout_options *each; /* copies, gate filled in */
    unsigned char *shared;               /* each[i] goes through the batch's gate */
    size_t n, next;
    const volatile int *cancel;          /* the batch's cancel flag: the call's, else bo->cancel */
    /* bo->on_rollout_result when the caller's struct has it and set: it wins over on_result */
    void (*typed)(void *ud, size_t index, const struct corral_rollout_result *result);
    unsigned retries, retry_on;          /* bo's, when its struct has them */
    int64_t retry_backoff_ms;
    pthread_mutex_t lock;                /* next, the result callbacks */
};

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int is_cancelled(const struct batch *b)
{
    return crl_flag_set(b->cancel);
}

/* Whether a finished try is retried: its class is in the batch's retry_on. */
static int retryable(const struct batch *b, const struct crl_rollout_record *rec)
{
    unsigned mask = b->retry_on ? b->retry_on : 1u << CORRAL_ROLLOUT_ERR_INFRA;
    return rec->error_class != CORRAL_ROLLOUT_OK && rec->error_class != CORRAL_ROLLOUT_ERR_CANCELLED &&
           (mask & (1u << rec->error_class));
}

/* The wait before try k+2 (k from 0): the base doubled k times, at most
 * BATCH_MAX_BACKOFF_MS, jittered uniformly over its upper half. */
static int64_t backoff_ms(const struct batch *b, unsigned k)
{
    int64_t w = b->retry_backoff_ms > 0 ? b->retry_backoff_ms : 1000;
    for (unsigned i = 0; i < k && w < BATCH_MAX_BACKOFF_MS; i++)
        w *= 2;
    if (w > BATCH_MAX_BACKOFF_MS)
        w = BATCH_MAX_BACKOFF_MS;
    unsigned char r[4] = {0};
    RAND_bytes(r, sizeof r);
    uint32_t x = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    return w / 2 + (int64_t)(x % (uint32_t)(w / 2 + 1));
}

/* Sleep ms, in short steps so that a cancel ends it; 0, or -1 when cancelled. */
static int wait_cancellable(const struct batch *b, int64_t ms)
{
    for (int64_t end = corral_now_ms() + ms; !is_cancelled(b);) {
        int64_t left = end - corral_now_ms();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (long)(left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Run rollout o, again while its error is retryable and tries are left
 * (docs/batches.md "Retries").  *rec is the last try's record with every
 * try in rec->tries when the batch retries; the caller frees it. */
static int run_with_retries(struct batch *b, const struct corral_rollout_options *o, struct crl_rollout_record *rec)
{
    struct crl_rollout_record prev = {0};
    for (unsigned k = 0;; k++) {
        struct corral_call call;
        corral_call_init(&call, 0); /* the rollout copies its cancel flag (the batch's when it has none) in */
        int st = crl_rollout_run(b->ctx, o, b->bo->pretty, rec, &call);
        if (!b->retries)
            return st;
        /* The tries so far move into the new record. */
        rec->tries = prev.tries, rec->n_tries = prev.n_tries;
        prev.tries = NULL, prev.n_tries = 0;
        crl_record_free(&prev);
        int64_t wait = k < b->retries && retryable(b, rec) && !is_cancelled(b) ? backoff_ms(b, k) : 0;
        int oom = crl_record_add_try(rec, rec, wait) != 0;
        if (!oom && wait && o->progress) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s error: try %u of %u in %lld ms", crl_rollout_error_name(rec->error_class),
                     k + 2, b->retries + 1, (long long)wait);
            o->progress(o->progress_ud, "retry", msg);
        }
        if (oom || !wait || wait_cancellable(b, wait) != 0) {
            if ((oom || crl_record_finish(rec, b->bo->pretty) != 0) && !rec->status)
                rec->status = CORRAL_ENOMEM;
            return rec->status;
        }
        prev = *rec;
    }
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
        struct crl_rollout_record rec;
        int st = run_with_retries(b, &b->each[i], &rec);
        pthread_mutex_lock(&b->lock);
        if (b->typed)
            b->typed(b->bo->ud, i, &rec.pub);
        else if (b->bo->on_result && rec.json)
            b->bo->on_result(b->bo->ud, i, rec.json, st);
        pthread_mutex_unlock(&b->lock);
        crl_record_free(&rec);
    }
}

/* 1 when agent `name` calls a model.  An unknown agent does not (its
 * rollout reports that it is not loaded). */
static int agent_uses_model(corral_ctx *ctx, const char *name)
{
    const struct corral_plugin_record *rec = name ? corral_plugin_find(ctx, CORRAL_PLUGIN_AGENT, name) : NULL;
    struct crl_agent_spec spec;
    char why[256];
    if (!rec || crl_agent_spec_parse(((const struct corral_agent_ops *)rec->desc->ops)->spec_json, &spec, why,
                                     sizeof why) != 0)
        return 0;
    int uses = spec.uses_model;
    crl_agent_spec_free(&spec);
    return uses;
}

/* Copy every rollout's options; start the shared gate (`threads` HTTP
 * threads per listener) when one of them needs it: its agent calls a model
 * and it brings no gate of its own. */
static int prepare(struct batch *b, const struct corral_rollout_options *in, unsigned threads,
                   struct crl_private_gate *pg, struct corral_call *call)
{
    const struct corral_rollout_options *first = NULL;
    const char *agent = NULL; /* the agent asked about last, and its answer: */
    int uses = 0;             /* a batch usually runs one agent */
    for (size_t i = 0; i < b->n; i++) {
        int st = crl_rollout_options_copy(&in[i], &b->each[i], call);
        if (st)
            return st;
        const struct corral_rollout_options *o = &b->each[i];
        if (o->gate)
            continue;
        if (!str_eq(agent, o->agent)) {
            agent = o->agent;
            uses = agent_uses_model(b->ctx, agent);
        }
        if (!uses)
            continue;
        b->shared[i] = 1;
        if (!first) {
            first = o;
        } else if (!str_eq(first->model_name, o->model_name) || !str_eq(first->gate_listen, o->gate_listen) ||
                   !str_eq(first->gate_url, o->gate_url) || first->upstream_max_tokens != o->upstream_max_tokens ||
                   first->upstream_max_n != o->upstream_max_n) {
            return corral_call_fail(call, CORRAL_EINVAL,
                                    "batch: rollouts %zu and %zu share a gate but differ in model name, gate "
                                    "listen address, gate URL or upstream caps", (size_t)(first - b->each), i);
        }
    }
    if (!first)
        return 0;
    int st = crl_private_gate_start(b->ctx, first, crl_rollout_model_name(first), first->gate_listen, threads, pg,
                                    call);
    for (size_t i = 0; !st && i < b->n; i++) {
        if (!b->shared[i])
            continue;
        b->each[i].gate = pg->gate;
        b->each[i].gate_socket = pg->socket;
    }
    return st;
}

int corral_batch_run(corral_ctx *ctx, const struct corral_rollout_options *rollouts, size_t n,
                     const struct corral_batch_options *bo, struct corral_call *call)
{
    if (!ctx || (!rollouts && n) || !bo || bo->struct_size < offsetof(struct corral_batch_options, ud) + sizeof bo->ud)
        return corral_call_fail(call, CORRAL_EINVAL, "batch: missing context, rollouts or options");
    if (n == 0)
        return 0;
    struct batch b = {.ctx = ctx, .bo = bo, .n = n,
                      .typed = CORRAL_HAS(bo, on_rollout_result) ? bo->on_rollout_result : NULL,
                      .cancel = call && call->cancel ? call->cancel : bo->cancel};
    if (CORRAL_HAS_FIELD(bo, retry_backoff_ms)) {
        b.retries = bo->retries, b.retry_on = bo->retry_on, b.retry_backoff_ms = bo->retry_backoff_ms;
        for (size_t i = 0; b.retries && i < n; i++)
            if (rollouts[i].keep_sandbox)
                return corral_call_fail(call, CORRAL_EINVAL, "batch: keep_sandbox with retries: a retried "
                                        "rollout's sandbox is always destroyed");
    }
    b.each = calloc(n, sizeof *b.each);
    b.shared = calloc(n, 1);
    if (!b.each || !b.shared) {
        free(b.each);
        free(b.shared);
        return corral_call_fail(call, CORRAL_ENOMEM, "batch: out of memory");
    }
    size_t workers = bo->concurrency ? bo->concurrency : 1;
    if (workers > BATCH_MAX_CONCURRENCY)
        workers = BATCH_MAX_CONCURRENCY;
    if (workers > n)
        workers = n;
    /* No more HTTP threads than agents that can call at once (the gate's
     * own default caps it at the CPUs). */
    struct crl_private_gate pg = {0};
    int st = prepare(&b, rollouts, workers < 4 ? (unsigned)workers : 0, &pg, call);
    for (size_t i = 0; !st && i < n; i++)
        if (!b.each[i].cancel)
            b.each[i].cancel = b.cancel;

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
    crl_private_gate_stop(&pg);
    free(b.each);
    free(b.shared);
    return st;
}
