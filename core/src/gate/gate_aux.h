/* The "auxiliary" rule as JSON (an agent spec's, a trainer's HTTP
 * registration's): which calls of a rollout are tagged "auxiliary"
 * (docs/gate.md "Call kinds"). */
#ifndef CORRAL_GATE_AUX_H
#define CORRAL_GATE_AUX_H

#include <cjson/cJSON.h>
#include <corral/gate.h>

/* Parse {"no_tools": bool, "max_tokens_below": 1..2^31-1, "system_prefix":
 * "non-empty"} (at least one, nothing else) into out's aux_* fields;
 * out->aux_system_prefix points into a (the caller keeps a alive).  0, or
 * -1 with why set to one line naming the allowed fields. */
int crl_gate_aux_parse(const cJSON *a, struct corral_gate_responder *out, char *why, size_t wl);

#endif
