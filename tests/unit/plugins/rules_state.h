/* What the sandbox-rules test plugin counted, as its (host-allocated)
 * state: see rules_plugin.c and test_sandbox_rules.c. */
#ifndef RULES_STATE_H
#define RULES_STATE_H
struct corral_host;
struct rules_state {
    const struct corral_host *host;
    int creates, closes;        /* handles made and released */
    int in_flight, max_in_flight; /* execs running at once on a handle */
};
#endif
