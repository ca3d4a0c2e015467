/* Shared by the gate's request fuzzers: an accepted request must get an
 * answer in its dialect (see gate_fuzz_answer.c). */
#ifndef CORRAL_GATE_FUZZ_ANSWER_H
#define CORRAL_GATE_FUZZ_ANSWER_H

#include "gate/gate_internal.h"

/* Prepare c, render it with v, abort unless both forms came out (SSE when
 * v->stream) and the JSON form parses (the request's model, escaped).
 * Clears c. */
void gate_fuzz_answer(struct gate_completion *c, const struct gate_answer_vars *v);

/* The invariant that lets the gate skip reading its own normalized
 * requests (docs/gate-dialects.md "Performance"): chat[0..n) (an edge's
 * output) passes gate_parse_chat_request() with exactly the fields in
 * tree (read from the edge's tree); aborts otherwise.  Fills *req with
 * the parsed fields (the caller clears it). */
void gate_fuzz_same_request(const char *chat, size_t n, const struct gate_chat_request *tree,
                            struct gate_chat_request *req);
/* An edge refused a body with err when reading its tree: the same
 * translation without that reading (plain, NULL when it refused too,
 * with plain_err) must be refused by gate_parse_chat_request() with the
 * same message.  Frees plain. */
void gate_fuzz_same_refusal(const char *err, char *plain, const char *plain_err);

#endif
