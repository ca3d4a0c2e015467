/* The answer check the gate's request fuzzers share (gate_fuzz_answer.h). */
#include "gate_fuzz_answer.h"

#include <stdlib.h>

void gate_fuzz_answer(struct gate_completion *c, const struct gate_answer_vars *v)
{
    struct gate_prepared p;
    if (gate_prepare(c, &p) != 0)
        abort();
    char *json, *sse;
    size_t jl, sl = 0;
    if (gate_render_answer(&p, v, &json, &jl, &sse, &sl) != 0 || (v->stream && sl == 0))
        abort();
    cJSON *o = cJSON_ParseWithLength(json, jl);
    if (!o)
        abort();
    cJSON_Delete(o);
    free(json);
    free(sse);
    gate_prepared_clear(&p);
    gate_completion_clear(c);
}
