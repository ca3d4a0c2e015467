/*
 * The whole C side of a declarative agent plugin: it hands the host the
 * agent's JSON spec (embedded at build time from spec.json by
 * corral_add_agent_spec()).  The host's one driver does the rest.
 */
#include <corral/agent.h>

#include AGENT_SPEC_HEADER /* defines agent_spec_json[] */

static const struct corral_agent_ops ops = {
    .struct_size = sizeof ops,
    .spec_json = agent_spec_json,
};

static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
    .abi_version = CORRAL_ABI(1, 0),
    .kind = CORRAL_PLUGIN_AGENT,
    .name = AGENT_NAME,
    .version = AGENT_VERSION,
    .description = AGENT_DESCRIPTION,
    .ops = &ops,
};

CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);

const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
{
    return corral_offer_host(offer, 1) ? &descriptor : NULL;
}
