/* The answer check the gate's request fuzzers share (gate_fuzz_answer.h). */
#include "gate_fuzz_answer.h"

#include <stdlib.h>
#include <string.h>

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

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void gate_fuzz_same_request(const char *chat, size_t n, const struct gate_chat_request *tree,
                            struct gate_chat_request *req)
{
    char err[256];
    if (gate_parse_chat_request(chat, n, req, err, sizeof err) != 0)
        abort(); /* the normalized call must be one the chat path takes */
    if (req->stream != tree->stream || req->include_usage != tree->include_usage ||
        req->has_tools != tree->has_tools || req->max_tokens != tree->max_tokens ||
        !same_str(req->model, tree->model) || !same_str(req->system, tree->system))
        abort();
}

void gate_fuzz_same_refusal(const char *err, char *plain, const char *plain_err)
{
    if (plain) {
        struct gate_chat_request q;
        char perr[256];
        if (gate_parse_chat_request(plain, strlen(plain), &q, perr, sizeof perr) == 0 || strcmp(perr, err) != 0)
            abort();
        free(plain);
    } else if (strcmp(plain_err, err) != 0) {
        abort();
    }
}
