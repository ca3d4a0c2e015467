/*
 * corral agent ABI: an agent plugin DESCRIBES how to run a coding-agent CLI;
 * the host's one driver runs every agent the same way (install check,
 * install, files, env, argv, prompt on stdin, deadline, event parsing,
 * success judgement).
 *
 * The description is a JSON document (spec_json) so that it can grow
 * without ABI changes; its keys are documented in corral's
 * docs/plugin-abi.md ("Agent plugins: the spec") and validated by the host
 * when a rollout using the agent starts.  Code is needed only where a
 * declarative mapping is not enough, through the optional slots below.
 *
 * Ownership: spec_json is static data in the plugin.  Strings returned
 * through char ** are malloc()ed and freed by the host.
 */
#ifndef CORRAL_AGENT_H
#define CORRAL_AGENT_H

#include <corral/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct corral_agent_ops {
    size_t struct_size;
    /* The declarative agent spec (JSON object text). */
    const char *spec_json;
    /* Optional: turn one line of the agent's stdout into a normalized event
     * (JSON object text in *event, malloc'ed) or set *event = NULL to skip
     * the line.  NULL slot = the spec's declarative event mapping. */
    int (*parse_event)(void *ps, const char *line, size_t len, char **event, corral_call *call);
};

#ifdef __cplusplus
}
#endif
#endif /* CORRAL_AGENT_H */
