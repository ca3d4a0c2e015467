/*
 * sandbox_abi10: a plugin exactly as one built for ABI 1.0 is, compiled
 * against the frozen 1.0 headers in abi10/ (see CMakeLists.txt): 1.0
 * descriptor and option layouts, init(cfg, &state, call) without the
 * host, so the host table is kept from the entry point.
 */
#include <assert.h>
#include <stdlib.h>

#include <corral/sandbox.h>

#include "abi_state.h"

/* Built from the old headers, or this test proves nothing. */
static_assert(CORRAL_ABI_CURRENT == CORRAL_ABI(1, 0), "abi10 must be built from the 1.0 headers");
static_assert(sizeof(struct corral_plugin) == 10 * sizeof(void *), "not the 1.0 descriptor layout");
static_assert(sizeof(struct corral_option) == 4 * sizeof(void *), "not the 1.0 option layout");

static const struct corral_host *host;

#include "stub_sandbox.h"

static const struct corral_option options[] = {
    {"endpoint", CORRAL_OPT_STRING, 0, "\"http://localhost\"", "where to connect"},
    {"retries", CORRAL_OPT_INT, 0, "3", "attempts per request"},
    {NULL, 0, 0, NULL, NULL},
};

static int t_init(const corral_config *cfg, void **state, corral_call *call)
{
    struct abi10_state *s = calloc(1, sizeof *s);
    if (!s)
        return host->fail(call, CORRAL_ENOMEM, "out of memory");
    s->inits++;
    s->host_abi = host->abi_version;
    s->endpoint = host->config_string(cfg, "endpoint");
    s->retries = host->config_int(cfg, "retries");
    *state = s;
    return 0;
}

static void t_fini(void *state)
{
    free(state);
}

static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = CORRAL_ABI(1, 0),
    .kind = CORRAL_PLUGIN_SANDBOX,
    .name = "abi10",
    .version = "1.0.0",
    .description = "test plugin built from the ABI 1.0 headers",
    .options = options,
    .option_size = sizeof options[0],
    .ops = &stub_ops,
    .init = t_init,
    .fini = t_fini,
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    host = corral_offer_host(offer, 1);
    return host ? &descriptor : NULL;
}
