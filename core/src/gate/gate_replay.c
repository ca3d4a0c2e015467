/*
 * Replay scripts: the `replay` responder's input.
 *
 * Format (JSONL): one response per line, in any form gate.h accepts
 * (short {"content", "tool_calls", ...}, a full OpenAI chat.completion
 * object, or {"error": {...}}).  Blank lines and lines whose first
 * non-blank character is '#' are skipped.  The n-th chat request of a
 * rollout (1-based, counting every request, title requests included) gets
 * the n-th response; request n+1 past the end gets a 400 with code
 * "replay_exhausted".  Every line is validated when the script is loaded,
 * so a bad script fails registration instead of a rollout halfway, and
 * prepared (gate_render.c) then, so a call only fills in its own id, time
 * and model.
 *
 * Example:
 *   {"content": "I will create the file."}
 *   {"tool_calls": [{"name": "bash", "arguments": {"command": "echo hi > hi.txt"}}]}
 *   {"content": "Done.", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

void gate_replay_clear(struct gate_replay *r)
{
    for (size_t i = 0; i < r->n; i++)
        gate_prepared_clear(&r->lines[i]);
    free(r->lines);
    memset(r, 0, sizeof *r);
}

/* One line (s[0..n), not blank) as a prepared answer.  Returns 0, or an
 * error with its reason in why. */
static int parse_line(const char *s, size_t n, struct gate_prepared *out, char *why, size_t whylen)
{
    cJSON *j = gate_json_parse_exact(s, n);
    struct gate_completion c;
    if (!j) {
        snprintf(why, whylen, "not valid JSON");
        return CORRAL_EINVAL;
    }
    int rc = gate_completion_from_json(j, &c, why, whylen);
    cJSON_Delete(j);
    if (rc)
        return rc;
    rc = gate_prepare(&c, out);
    gate_completion_clear(&c);
    if (rc)
        snprintf(why, whylen, "out of memory");
    return rc;
}

int gate_replay_parse(const char *text, size_t len, struct gate_replay *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        p = nl ? nl + 1 : end;
        if (s == le || *s == '#')
            continue;
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct gate_prepared *l = realloc(out->lines, nc * sizeof *l);
            if (!l) {
                gate_replay_clear(out);
                if (err && errlen)
                    snprintf(err, errlen, "out of memory");
                return CORRAL_ENOMEM;
            }
            out->lines = l;
            cap = nc;
        }
        char why[256];
        int rc = parse_line(s, (size_t)(le - s), &out->lines[out->n], why, sizeof why);
        if (rc) {
            if (err && errlen)
                snprintf(err, errlen, "replay line %zu: %s", lineno, why);
            gate_replay_clear(out);
            return rc;
        }
        out->n++;
    }
    if (out->n == 0) {
        if (err && errlen)
            snprintf(err, errlen, "replay script has no responses");
        return CORRAL_EINVAL;
    }
    return 0;
}
