/*
 * What the gate's dialect edges share when they translate an agent's body
 * into the normalized chat request (gate_messages.c, gate_responses.c,
 * gate_gemini.c):
 * the checks every body passes before a tree is built of it, the
 * translation's frame (parse, convert, print; long strings skip the tree
 * as spans of the body, gate_tr_spans.c), and small cJSON readers.
 * The mapping of each dialect is in docs/gate-dialects.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"
#include "base/json_scan.h"

int gate_tr_fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return CORRAL_EINVAL;
}

size_t gate_json_value_bound(const char *text, size_t len)
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

const char *gate_tr_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int gate_tr_join(struct crl_buf *b, const char *sep, const char *s)
{
    if (b->len && crl_buf_puts(b, sep) != 0)
        return -1;
    return crl_buf_puts(b, s);
}

int gate_tr_copy_number(const cJSON *in, const char *key, cJSON *out, const char *as, double min, char *err,
                        size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < min) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be a number of at least %g", key, min);
        return gate_tr_fail(err, errlen, msg);
    }
    cJSON_AddItemToObject(out, as, cJSON_Duplicate(v, 0));
    return 0;
}

int gate_tr_copy_stream(const cJSON *in, cJSON *out, char *err, size_t errlen)
{
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(in, "stream");
    if (stream && !cJSON_IsNull(stream) && !cJSON_IsBool(stream))
        return gate_tr_fail(err, errlen, "\"stream\" must be a boolean");
    if (cJSON_IsTrue(stream))
        cJSON_AddTrueToObject(out, "stream");
    return 0;
}

/* A string of the converter's tree with its placeholders' spans put back
 * (what the printed request holds, decoded): malloc'ed, NULL when out of
 * memory.  A placeholder printed at level 0 (the mark, 8 hex digits, a
 * quote: docs/gate-dialects.md "Performance") is its span decoded; one
 * inside JSON text in the string (a deeper level) is put back by printing
 * and expanding the whole string. */
static char *expand_string(const char *s, const struct gate_spans *sp)
{
    struct crl_buf b = {0};
    const char *s0 = s;
    for (const char *m; (m = strstr(s, "\xEF\xBF\xBF")); s = m + 12) {
        size_t idx = 0;
        for (int k = 3; k < 11; k++) {
            char c = m[k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                goto deep;
            idx = idx * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (m[11] != '"' || idx >= sp->n)
            goto deep;
        char *d = crl_json_string_decode(&sp->v[idx]);
        if (!d || crl_buf_add(&b, s, (size_t)(m - s)) || crl_buf_puts(&b, d)) {
            free(d);
            crl_buf_free(&b);
            return NULL;
        }
        free(d);
    }
    if (crl_buf_puts(&b, s)) { /* allocates even when s is empty */
        crl_buf_free(&b);
        return NULL;
    }
    return b.p;
deep:
    crl_buf_free(&b);
    cJSON *ref = cJSON_CreateStringReference(s0);
    char *p = ref ? cJSON_PrintUnformatted(ref) : NULL;
    cJSON_Delete(ref);
    size_t n = 0;
    char *x = p ? gate_spans_expand(p, strlen(p), sp, &n) : NULL;
    free(p);
    if (!x)
        return NULL;
    struct crl_json_span raw = {x + 1, n - 2};
    char *d = crl_json_string_decode(&raw);
    free(x);
    return d;
}

/* The normalized request's fields from the converter's tree (no scan of
 * the text the gate just printed); a system prompt carried as spans is
 * expanded.  0 or an error code with err. */
static int read_request(const cJSON *out, const struct gate_spans *sp, struct gate_chat_request *req, char *err,
                        size_t errlen)
{
    int rc = gate_chat_request_from_tree(out, req, err, errlen);
    if (rc != 0 || !sp->n || !req->system || !strstr(req->system, "\xEF\xBF\xBF"))
        return rc;
    char *full = expand_string(req->system, sp);
    if (!full) {
        gate_chat_request_clear(req);
        gate_tr_fail(err, errlen, "out of memory");
        return CORRAL_ENOMEM;
    }
    free(req->system);
    req->system = full;
    return 0;
}

char *gate_translate_body(const char *text, size_t len, gate_convert_fn convert, void *ctx,
                          struct gate_chat_request *req, size_t *out_len, char *err, size_t errlen)
{
    *out_len = 0;
    if (!text || len == 0) {
        gate_tr_fail(err, errlen, "request body is empty");
        return NULL;
    }
    if (!crl_json_scan(text, len, NULL, NULL)) {
        gate_tr_fail(err, errlen, "request body is not valid JSON");
        return NULL;
    }
    /* Long strings skip the tree (gate_tr_spans.c): the converter sees a
     * light copy; the value count is the same in both. */
    struct gate_spans sp;
    char *light = NULL;
    size_t light_len = 0;
    if (gate_spans_lighten(text, len, &sp, &light, &light_len)) {
        gate_tr_fail(err, errlen, "out of memory");
        return NULL;
    }
    const char *tx = light ? light : text;
    size_t tn = light ? light_len : len;
    char *s = NULL;
    if (gate_json_value_bound(tx, tn) > GATE_MESSAGES_MAX_VALUES) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body has more than %u JSON values", (unsigned)GATE_MESSAGES_MAX_VALUES);
        gate_tr_fail(err, errlen, msg);
        goto out;
    }
    cJSON *in = gate_json_parse_exact(tx, tn);
    cJSON *out = cJSON_CreateObject();
    if (!in || !out) {
        cJSON_Delete(in);
        cJSON_Delete(out);
        gate_tr_fail(err, errlen, "out of memory");
        goto out;
    }
    if (convert(in, out, ctx, err, errlen) == 0 && (!req || read_request(out, &sp, req, err, errlen) == 0)) {
        char *p = cJSON_PrintUnformatted(out);
        if (p && sp.n) {
            s = gate_spans_expand(p, strlen(p), &sp, out_len);
            free(p);
        } else if (p) {
            s = p;
            *out_len = strlen(s);
        }
        if (!s) {
            gate_tr_fail(err, errlen, "out of memory");
            if (req)
                gate_chat_request_clear(req);
        }
    }
    cJSON_Delete(in);
    cJSON_Delete(out);
out:
    free(light);
    gate_spans_clear(&sp);
    return s;
}

size_t gate_utf8_piece(const char *s, size_t n, size_t max)
{
    size_t k = n < max ? n : max;
    /* Never split a UTF-8 character: end the piece before the character
     * the cut falls in.  A run of continuation bytes that long is not
     * UTF-8 and is cut anywhere (k stays at most max). */
    size_t keep = k;
    while (k > 0 && k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k ? k : keep;
}

int gate_utf8_prec(const char *s, size_t max)
{
    return (int)gate_utf8_piece(s, strnlen(s, max + 1), max);
}
