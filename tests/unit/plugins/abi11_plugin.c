/*
 * sandbox_abi11 (and, with FAULT_BAD_OFFSET, sandbox_abibad): a plugin of
 * ABI 1.1.  No file-scope host: init2 receives it.  The host allocates the
 * state, binds every option into it (limits and REQUIRED checked by the
 * host) before init2 runs, and frees it after fini.
 */
#include <stddef.h>
#include <stdlib.h>

#include <corral/sandbox.h>

#include "abi_state.h"

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "abi11"
#endif

#include "stub_sandbox.h"

#define AT(field) offsetof(struct abi11_state, field)
#define B CORRAL_OPT_BIND
#define RANGE (CORRAL_OPT_BIND | CORRAL_OPT_MIN | CORRAL_OPT_MAX)
static const struct corral_option options[] = {
    {"endpoint", CORRAL_OPT_STRING, B | CORRAL_OPT_MIN, "\"http://localhost\"", "where to connect", AT(endpoint), 1,
     0},
    {"retries", CORRAL_OPT_INT, RANGE, "3", "attempts per request", AT(retries), 1, 10},
    {"ratio", CORRAL_OPT_DOUBLE, RANGE, "0.5", "a fraction", AT(ratio), 0, 1},
    {"verbose", CORRAL_OPT_BOOL, B, "false", "log more", AT(verbose), 0, 0},
    {"tags", CORRAL_OPT_STRINGS, B | CORRAL_OPT_MAX, "[\"a\",\"b\"]", "labels", AT(tags), 0, 3},
#ifdef FAULT_BAD_OFFSET
    {"name", CORRAL_OPT_STRING, B | CORRAL_OPT_REQUIRED, NULL, "a name", sizeof(struct abi11_state), 0, 0},
#else
    {"name", CORRAL_OPT_STRING, B | CORRAL_OPT_REQUIRED, NULL, "a name", AT(name), 0, 0},
#endif
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

static int t_init2(const struct corral_host *host, const corral_config *cfg, void *state, corral_call *call)
{
    (void)cfg, (void)call;
    struct abi11_state *s = state;
    s->host = host;
    s->host_abi = host->abi_version;
    s->inits++;
    s->bound_before_init = s->endpoint && s->name;
    return 0;
}

static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = CORRAL_ABI(1, 1),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = PLUGIN_NAME,
    .version = "1.1.0",
    .description = "test plugin of ABI 1.1 (bound options, init2)",
    .options = options,
    .option_size = sizeof options[0],
    .ops = &stub_ops,
    .init2 = t_init2,
    .state_size = sizeof(struct abi11_state),
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    return corral_offer_host(offer, 1) ? &descriptor : NULL;
}
