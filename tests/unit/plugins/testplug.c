/*
 * One source, many test plugins: each build of it (see CMakeLists.txt)
 * defines PLUGIN_NAME and at most one FAULT_* macro, producing a plugin
 * that loads, or one that the loader must refuse for exactly one reason.
 */
#include <stdlib.h>
#include <string.h>

#include <corral/agent.h>
#include <corral/sandbox.h>

#include "testplug_state.h"

#ifndef PLUGIN_NAME
#error PLUGIN_NAME must be defined
#endif

#ifdef KIND_AGENT
static const struct corral_agent_ops agent_ops = {
    .struct_size = sizeof agent_ops,
    .spec_json = "{\"name\":\"" PLUGIN_NAME "\"}",
};
#define OPS (&agent_ops)
#define KIND CORRAL_PLUGIN_AGENT
#else
#include "stub_sandbox.h"

#ifdef FAULT_OLD_TABLE
/* The layout of a plugin built when the table ended at its mandatory
 * slots (the smallest table ABI 1 accepts). */
struct old_sandbox_ops {
    size_t struct_size;
    uint32_t caps;
    int (*create)(void *, const struct corral_sandbox_spec *, corral_sbx **, corral_call *);
    int (*exec)(corral_sbx *, const struct corral_exec_request *, struct corral_exec_result *, corral_call *);
    int (*destroy)(corral_sbx *, corral_call *);
    void (*close)(corral_sbx *);
};
static const struct old_sandbox_ops sandbox_ops = {
    .struct_size = sizeof sandbox_ops,
    .create = t_create,
    .exec = t_exec,
    .destroy = t_destroy,
    .close = t_close,
};
#else
static const struct corral_sandbox_ops sandbox_ops = {
    .struct_size = sizeof sandbox_ops,
    .create = t_create,
#ifndef FAULT_NULL_EXEC
    .exec = t_exec,
#endif
    .destroy = t_destroy,
    .close = t_close,
};
#endif
#define OPS (&sandbox_ops)
#define KIND CORRAL_PLUGIN_SANDBOX
#endif

static const struct corral_option options[] = {
    {"endpoint", CORRAL_OPT_STRING, 0, "\"http://localhost\"", "where to connect", 0, 0, 0},
    {"retries", CORRAL_OPT_INT, 0, "3", "attempts per request", 0, 0, 0},
    {"verbose", CORRAL_OPT_BOOL, 0, "false", "log more", 0, 0, 0},
    {"ratio", CORRAL_OPT_DOUBLE, 0, "0.5", "a fraction", 0, 0, 0},
    {"tags", CORRAL_OPT_STRINGS, 0, "[\"a\",\"b\"]", "labels", 0, 0, 0},
    {"api_key_env", CORRAL_OPT_STRING, CORRAL_OPT_SECRET_ENV, "\"TEST_API_KEY\"", "env var holding the key", 0, 0, 0},
#ifdef FAULT_BAD_DEFAULT
    {"broken", CORRAL_OPT_INT, 0, "\"not a number\"", "a default of the wrong type", 0, 0, 0},
#endif
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

static struct testplug_state seen;
static const struct corral_host *host;

static int t_init(const corral_config *cfg, void **state, corral_call *call)
{
    seen.inits++;
    seen.retries = host->config_int(cfg, "retries");
    seen.endpoint = host->config_string(cfg, "endpoint");
    seen.verbose = host->config_bool(cfg, "verbose");
    seen.ratio = host->config_double(cfg, "ratio");
    seen.tags = host->config_strings(cfg, "tags");
    seen.wrong_type = host->config_string(cfg, "retries");
#ifdef FAULT_INIT
    (void)state;
    return host->fail(call, CORRAL_ECONFIG, "the test plugin was told to fail");
#else
    (void)call;
    *state = &seen;
    return 0;
#endif
}


static const struct corral_plugin descriptor = {
    .struct_size = sizeof descriptor,
#if defined(FAULT_ABI_MAJOR)
    .abi_version = CORRAL_ABI(2, 0),
#elif defined(NEWER_MINOR)
    .abi_version = CORRAL_ABI(1, 9),
#else
    .abi_version = CORRAL_ABI(1, 0),
#endif
    .kind = KIND,
#ifdef FAULT_NAME
    .name = "somebody_else",
#else
    .name = PLUGIN_NAME,
#endif
    .version = "1.2.3",
    .description = "test plugin " PLUGIN_NAME,
    .options = options,
    .option_size = sizeof options[0],
    .ops = OPS,
    .init = t_init,
};

#ifdef FAULT_NO_SYMBOL
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry_misspelt(const struct corral_host_offer *offer);
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry_misspelt(const struct corral_host_offer *offer)
#else
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer);
CORRAL_PLUGIN_EXPORT const struct corral_plugin *corral_plugin_entry(const struct corral_host_offer *offer)
#endif
{
    host = offer->host;
#ifdef FAULT_DECLINE
    return offer->n_abi_majors > 99 ? &descriptor : NULL; /* always NULL; keeps the descriptor referenced */
#else
    return &descriptor;
#endif
}
