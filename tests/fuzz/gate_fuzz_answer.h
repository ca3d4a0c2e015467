/* Shared by the gate's request fuzzers: an accepted request must get an
 * answer in its dialect (see gate_fuzz_answer.c). */
#ifndef CORRAL_GATE_FUZZ_ANSWER_H
#define CORRAL_GATE_FUZZ_ANSWER_H

#include "gate/gate_internal.h"

/* Prepare c, render it with v, abort unless both forms came out (SSE when
 * v->stream) and the JSON form parses (the request's model, escaped).
 * Clears c. */
void gate_fuzz_answer(struct gate_completion *c, const struct gate_answer_vars *v);

#endif
