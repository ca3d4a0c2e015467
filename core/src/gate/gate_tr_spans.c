/*
 * Large string values of a dialect body travel through the translation as
 * byte spans, not through a cJSON tree (docs/gate-dialects.md,
 * "Performance").
 *
 * gate_spans_lighten() copies the (already validated) body with each long
 * string value replaced by a short placeholder string; the dialect's
 * converter builds and prints its tree from that small copy, and
 * gate_spans_expand() puts the original escaped bytes back where the
 * placeholders were printed.  A placeholder decodes to U+FFFF, eight hex
 * digits (its index) and a '"': printed at nesting level L (a value inside
 * a JSON text that is itself a string value, as tool arguments are) that
 * quote carries 2^(L+1)-1 backslashes, which tells how many more times the
 * span must be escaped.  Escaped JSON text concatenates and re-escapes
 * like the text it stands for, so joining placeholders into one string or
 * printing them inside nested JSON stays exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate_internal.h"

size_t gate_spans_min = 256; /* shorter strings go through the tree */
#define MARK "\xEF\xBF\xBF"

/* Keys whose values the converters compare, copy into fixed buffers or
 * otherwise read as more than opaque text: always decoded in the tree. */
static const char *const READ_KEYS[] = {
    "id",   "name",      "call_id",          "tool_use_id", "type",          "role",  "mode",   "model",
    "url",  "media_type", "mimeType",        "detail",      "thoughtSignature", "user", "tool_choice",
    "previous_response_id", "responseMimeType", "namespace", NULL,
};

/* The first placeholder mark in s[0..n), or NULL (memchr is much faster
 * than memmem here: the mark's first byte is rare in text). */
static const char *find_mark(const char *s, size_t n)
{
    const char *end = s + n;
    for (const char *p = memchr(s, 0xEF, n); p; p = memchr(p + 1, 0xEF, (size_t)(end - p - 1)))
        if (end - p >= 3 && memcmp(p, MARK, 3) == 0)
            return p;
    return NULL;
}

static int key_is_read(const char *k, size_t n)
{
    for (size_t i = 0; READ_KEYS[i]; i++)
        if (strlen(READ_KEYS[i]) == n && memcmp(READ_KEYS[i], k, n) == 0)
            return 1;
    return 0;
}

/* 1 when the escaped string bytes s[0..n) hold an escape that cJSON would
 * decode to NUL (which ends a string early in cJSON, so such a string must
 * stay in the tree); *mark set when one would decode to U+FFFF (the
 * placeholder mark).  A "\\u" that is an escaped backslash and a 'u'
 * counts too: that only keeps a string in the tree. */
static int has_special_escape(const char *s, size_t n, int *mark)
{
    /* 'u' is rarer than '\\' in text full of escaped newlines */
    const char *end = s + n;
    for (const char *p = memchr(s, 'u', n); p && end - p >= 5; p = memchr(p + 1, 'u', (size_t)(end - p - 1))) {
        if (p == s || p[-1] != '\\')
            continue;
        int ff = 1, zero = 1;
        for (int i = 1; i < 5; i++) {
            ff &= p[i] == 'f' || p[i] == 'F';
            zero &= p[i] == '0';
        }
        if (ff)
            *mark = 1;
        if (zero)
            return 1;
    }
    return 0;
}

/* The end of the string whose contents start at s (the closing quote's
 * offset from text), text being valid JSON. */
static size_t string_end(const char *text, size_t len, size_t s)
{
    for (;;) {
        const char *q = memchr(text + s, '"', len - s);
        if (!q)
            return len;
        size_t at = (size_t)(q - text), k = 0;
        while (k < at && text[at - 1 - k] == '\\')
            k++;
        if (k % 2 == 0)
            return (size_t)(q - text);
        s = (size_t)(q - text) + 1;
    }
}

void gate_spans_clear(struct gate_spans *sp)
{
    free(sp->v);
    memset(sp, 0, sizeof *sp);
}

int gate_spans_lighten(const char *text, size_t len, struct gate_spans *sp, char **light, size_t *light_len)
{
    memset(sp, 0, sizeof *sp);
    *light = NULL;
    *light_len = 0;
    /* Sized once: the copy is no longer than the body unless short
     * strings become placeholders (gate_spans_min lowered); then it grows. */
    struct crl_buf b = {.p = malloc(len + 64), .cap = len + 64};
    if (!b.p)
        return CORRAL_ENOMEM;
    b.p[0] = 0;
    int mark = find_mark(text, len) != NULL;
    const char *key = NULL;
    size_t keyn = 0;
    char prev = 0; /* the last structural byte copied */
    size_t i = 0;
    while (i < len && !mark) {
        const char *q = memchr(text + i, '"', len - i);
        size_t plain = q ? (size_t)(q - text) - i : len - i;
        for (size_t k = 0; k < plain; k++) {
            char ch = text[i + k];
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
                prev = ch;
        }
        if (crl_buf_add(&b, text + i, plain))
            goto oom;
        i += plain;
        if (!q)
            break;
        size_t s = i + 1, e = string_end(text, len, s);
        if (e >= len) { /* unterminated: not JSON, cannot happen after the scan */
            mark = 1;
            break;
        }
        size_t after = e + 1;
        while (after < len && (text[after] == ' ' || text[after] == '\t' || text[after] == '\r' || text[after] == '\n'))
            after++;
        int is_key = after < len && text[after] == ':';
        int special = has_special_escape(text + s, e - s, &mark);
        int keyed_read = prev == ':' && key_is_read(key, keyn);
        if (!is_key && !special && !keyed_read && e - s >= gate_spans_min) {
            if (sp->n == sp->cap) {
                size_t cap = sp->cap ? sp->cap * 2 : 16;
                struct crl_json_span *v = realloc(sp->v, cap * sizeof *v);
                if (!v)
                    goto oom;
                sp->v = v;
                sp->cap = cap;
            }
            sp->v[sp->n] = (struct crl_json_span){text + s, e - s};
            if (crl_buf_addf(&b, "\"" MARK "%08zx\\\"\"", sp->n++))
                goto oom;
        } else if (crl_buf_add(&b, text + i, e + 1 - i)) {
            goto oom;
        }
        if (is_key) {
            key = text + s;
            keyn = e - s;
        }
        prev = '"';
        i = e + 1;
    }
    if (mark) { /* the body holds the mark itself (or is no JSON): no placeholders */
        crl_buf_free(&b);
        gate_spans_clear(sp);
        return 0;
    }
    if (crl_buf_add(&b, "", 0))
        goto oom;
    *light = b.p;
    *light_len = b.len;
    return 0;
oom:
    crl_buf_free(&b);
    gate_spans_clear(sp);
    return CORRAL_ENOMEM;
}

/* Append span s escaped `level` more times: each '"' and '\\' gets a
 * backslash (a span holds no control characters: they are escaped), i.e.
 * 2^level - 1 backslashes before it; written through a chunk on the stack
 * (no copy of the span per level). */
static int put_escaped(struct crl_buf *out, const char *s, size_t n, unsigned level)
{
    if (level == 0)
        return crl_buf_add(out, s, n);
    if (level > 6) { /* deeper than any converter prints: escape once, then the rest */
        struct crl_buf once = {0};
        int rc = put_escaped(&once, s, n, 1);
        if (rc == 0)
            rc = put_escaped(out, once.p, once.len, level - 1);
        crl_buf_free(&once);
        return rc;
    }
    size_t bs = ((size_t)1 << level) - 1;
    char chunk[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + bs + 1 > sizeof chunk) {
            if (crl_buf_add(out, chunk, k))
                return CORRAL_ENOMEM;
            k = 0;
        }
        if (s[i] == '"' || s[i] == '\\')
            for (size_t j = 0; j < bs; j++)
                chunk[k++] = '\\';
        chunk[k++] = s[i];
    }
    return crl_buf_add(out, chunk, k);
}

char *gate_spans_expand(const char *printed, size_t len, const struct gate_spans *sp, size_t *out_len)
{
    struct crl_buf b = {0};
    *out_len = 0;
    size_t total = len;
    for (size_t i = 0; i < sp->n; i++)
        total += sp->v[i].n;
    b.p = malloc(total + 1); /* reserved once: spans at level 0 need no more */
    if (!b.p)
        return NULL;
    b.cap = total + 1;
    b.p[0] = 0;
    size_t i = 0;
    while (i < len) {
        const char *m = find_mark(printed + i, len - i);
        size_t plain = m ? (size_t)(m - printed) - i : len - i;
        if (crl_buf_add(&b, printed + i, plain))
            goto oom;
        i += plain;
        if (!m)
            break;
        /* mark, 8 hex digits, 2^(L+1)-1 backslashes, a quote */
        size_t j = i + 3, idx = 0, bs = 0;
        for (int k = 0; k < 8 && j < len; k++, j++) {
            char c = printed[j];
            idx = idx * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        while (j < len && printed[j] == '\\')
            j++, bs++;
        unsigned level = 0;
        while (((size_t)2 << level) - 1 < bs)
            level++;
        if (idx >= sp->n || j >= len || printed[j] != '"' || ((size_t)2 << level) - 1 != bs)
            goto bad; /* cannot happen: the body held no mark of its own */
        if (put_escaped(&b, sp->v[idx].p, sp->v[idx].n, level))
            goto oom;
        i = j + 1;
    }
    *out_len = b.len;
    return b.p;
bad:
oom:
    crl_buf_free(&b);
    *out_len = 0;
    return NULL;
}
