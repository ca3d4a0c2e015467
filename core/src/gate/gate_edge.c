/*
 * What every dialect's request edge shares (gate_messages.c,
 * gate_gemini.c): the refusal message, member access, the bounded parse
 * of an agent's body and the translation of a number member.  Pure
 * functions of their inputs, so the fuzz targets drive them directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"
#include "base/json_scan.h"

int gate_edge_fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return CORRAL_EINVAL;
}

const char *gate_edge_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An upper bound on the JSON values in text (one per ',' '[' '{' ':'
 * outside strings, plus one), in one pass without allocating, so a body
 * of millions of tiny values is refused before cJSON builds a tree of it. */
static size_t value_bound(const char *text, size_t len)
{
    size_t n = 1;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == ',' || ch == '[' || ch == '{' || ch == ':') {
            n++;
        }
    }
    return n;
}

int gate_edge_copy_number(const cJSON *in, const char *key, cJSON *out, const char *as, double min, char *err,
                          size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < min) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be a number of at least %g", key, min);
        return gate_edge_fail(err, errlen, msg);
    }
    cJSON_AddItemToObject(out, as, cJSON_Duplicate(v, 0));
    return 0;
}

char *gate_edge_normalize(const char *text, size_t len, gate_edge_convert_fn convert, void *ctx, size_t *out_len,
                          char *err, size_t errlen)
{
    *out_len = 0;
    if (!text || len == 0) {
        gate_edge_fail(err, errlen, "request body is empty");
        return NULL;
    }
    if (!crl_json_scan(text, len, NULL, NULL)) {
        gate_edge_fail(err, errlen, "request body is not valid JSON");
        return NULL;
    }
    if (value_bound(text, len) > GATE_MESSAGES_MAX_VALUES) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body has more than %u JSON values", (unsigned)GATE_MESSAGES_MAX_VALUES);
        gate_edge_fail(err, errlen, msg);
        return NULL;
    }
    cJSON *in = gate_json_parse_exact(text, len);
    cJSON *out = cJSON_CreateObject();
    if (!in || !out) {
        cJSON_Delete(in);
        cJSON_Delete(out);
        gate_edge_fail(err, errlen, "out of memory");
        return NULL;
    }
    char *s = NULL;
    if (convert(in, out, ctx, err, errlen) == 0) {
        s = cJSON_PrintUnformatted(out);
        if (!s)
            gate_edge_fail(err, errlen, "out of memory");
        else
            *out_len = strlen(s);
    }
    cJSON_Delete(in);
    cJSON_Delete(out);
    return s;
}
