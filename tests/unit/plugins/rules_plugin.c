/*
 * Test plugins for the host's side of sandbox.h's rules, one source built
 * twice (tests/unit/CMakeLists.txt):
 *  - sandbox_halfmade: create() fails after handing back a half-made
 *    handle, which the host must close exactly once;
 *  - sandbox_slowexec: exec() takes 50 ms and counts how many run at once;
 *    it does not declare CORRAL_CAP_CONCURRENT, so the host must serialize.
 */
#include <stdlib.h>
#include <time.h>

#include <corral/sandbox.h>

#include "rules_state.h"

#ifndef PLUGIN_NAME
#error PLUGIN_NAME must be defined
#endif

struct corral_sbx {
    struct rules_state *st;
};

static int r_create(void *ps, const struct corral_sandbox_spec *spec, corral_sbx **out, corral_call *call)
{
    (void)spec;
    struct rules_state *st = ps;
    if (!(*out = calloc(1, sizeof **out)))
        return CORRAL_ENOMEM;
    (*out)->st = st;
    st->creates++;
#ifdef HALF_CREATE
    return st->host->fail(call, CORRAL_EIO, "failed half-way, handle left in *out");
#else
    (void)call;
    return 0;
#endif
}

static int r_exec(corral_sbx *s, const struct corral_exec_request *req, struct corral_exec_result *res,
                  corral_call *call)
{
    (void)req, (void)call;
    int now = __atomic_add_fetch(&s->st->in_flight, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&s->st->max_in_flight, __ATOMIC_SEQ_CST);
    while (now > max && !__atomic_compare_exchange_n(&s->st->max_in_flight, &max, now, 0, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_SEQ_CST))
        ;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    __atomic_sub_fetch(&s->st->in_flight, 1, __ATOMIC_SEQ_CST);
    res->exit_code = 0;
    return 0;
}

static int r_destroy(corral_sbx *s, corral_call *call)
{
    (void)s, (void)call;
    return 0;
}

static void r_close(corral_sbx *s)
{
    s->st->closes++;
    free(s);
}

static int r_init2(const struct corral_host *host, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg, (void)call;
    ((struct rules_state *)state)->host = host;
    return 0;
}

static const struct corral_sandbox_ops ops = {
    .struct_size = sizeof ops,
    .caps = 0, /* no CORRAL_CAP_CONCURRENT */
    .create = r_create,
    .exec = r_exec,
    .destroy = r_destroy,
    .close = r_close,
};

static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = PLUGIN_NAME,
    .version = "1.1.0",
    .description = "test plugin for sandbox.h's failure and concurrency rules",
    .ops = &ops,
    .init2 = r_init2,
    .state_size = sizeof(struct rules_state),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    return corral_offer_host(offer, 1) ? &descriptor : NULL;
}
