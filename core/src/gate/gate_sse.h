/* A same-dialect upstream's streamed answer (SSE), reassembled into that
 * dialect's unstreamed response object for the transcript
 * (docs/gate-dialects.md, "Same-dialect upstreams").  The bytes are the
 * upstream's: untrusted. */
#ifndef CORRAL_GATE_SSE_H
#define CORRAL_GATE_SSE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* The response object that the SSE text sse[0..len) of dialect (a
 * CORRAL_GATE_DIALECT_* of corral/gate.h) streams: Messages -> a "message"
 * with its content blocks (text and thinking concatenated, tool_use input
 * parsed from the input_json_delta pieces), stop reason and usage;
 * Responses -> the object of response.completed (or the last
 * response.* event carrying one); Gemini -> the chunks with their
 * candidates' parts concatenated.  *complete (may be NULL) is 1 when the
 * stream reached its end marker.  NULL when nothing usable was streamed
 * or out of memory.  The caller owns the result. */
cJSON *crl_gate_sse_assemble(int dialect, const char *sse, size_t len, int *complete);

#endif
