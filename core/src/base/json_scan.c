/* The validating JSON scanner (json_scan.h). */
#include "base/json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMBER_CHARS 63

struct scan {
    const unsigned char *p, *end;
    int depth;
};

static int at(const struct scan *s, unsigned char c)
{
    return s->p < s->end && *s->p == c;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* One UTF-8 sequence starting at p (first byte >= 0x80): its length, or 0
 * when it is malformed, overlong, a surrogate or beyond U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A \u escape at p (pointing at the 'u'), with its low surrogate when it
 * is a high one.  Returns the bytes consumed after the backslash (5 or
 * 11) and the code point, or 0 when invalid. */
static size_t u_escape(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    uint32_t hi, lo;
    if (end - p < 5 || !hex4(p + 1, &hi))
        return 0;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return 5;
    }
    if (end - p < 11 || p[5] != '\\' || p[6] != 'u' || !hex4(p + 7, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 11;
}

/* s->p at the opening quote; on success s->p is past the closing one and
 * *raw spans the contents. */
/* 1 when one of the 8 bytes in w needs a closer look: a quote, a
 * backslash, a control character or a non-ASCII byte (SWAR: "has a zero
 * byte" is (v - 0x01..) & ~v & 0x80..). */
static int word_needs_look(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t special = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w;
    return (special & highs) != 0;
}

static int scan_string(struct scan *s, struct crl_json_span *raw)
{
    const unsigned char *p = s->p + 1;
    while (p < s->end) {
        /* Prompts are long runs of plain text: skip them a word at a time. */
        while (s->end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (word_needs_look(w))
                break;
            p += 8;
        }
        /* ...and the plain bytes before the one that needs a look (text
         * full of escapes stops the word loop every few bytes). */
        while (p < s->end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= s->end)
            break;
        unsigned c = *p;
        if (c == '"') {
            raw->p = (const char *)s->p + 1;
            raw->n = (size_t)(p - s->p - 1);
            s->p = p + 1;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (p + 1 >= s->end)
                return 0;
            c = p[1];
            if (c == 'u') {
                uint32_t cp;
                size_t k = u_escape(p + 1, s->end, &cp);
                if (!k)
                    return 0;
                p += 1 + k;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
                p += 2;
            } else {
                return 0;
            }
        } else if (c >= 0x80) {
            size_t k = utf8_seq(p, s->end);
            if (!k)
                return 0;
            p += k;
        } else {
            p++;
        }
    }
    return 0;
}

static int digit(const struct scan *s)
{
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static int scan_number(struct scan *s)
{
    const unsigned char *start = s->p;
    if (at(s, '-'))
        s->p++;
    if (at(s, '0'))
        s->p++;
    else if (digit(s))
        while (digit(s))
            s->p++;
    else
        return 0;
    if (at(s, '.')) {
        s->p++;
        if (!digit(s))
            return 0;
        while (digit(s))
            s->p++;
    }
    if (at(s, 'e') || at(s, 'E')) {
        s->p++;
        if (at(s, '+') || at(s, '-'))
            s->p++;
        if (!digit(s))
            return 0;
        while (digit(s))
            s->p++;
    }
    return s->p - start <= MAX_NUMBER_CHARS;
}

static int scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int scan_value(struct scan *s, crl_json_member_fn fn, void *ud);

/* Objects and arrays: s->p at the opening bracket.  fn (objects only)
 * sees the members. */
static int scan_container(struct scan *s, crl_json_member_fn fn, void *ud)
{
    int object = *s->p == '{';
    unsigned char close = object ? '}' : ']';
    if (++s->depth > CRL_JSON_MAX_DEPTH)
        return 0;
    s->p++;
    skip_ws(s);
    if (at(s, close)) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        struct crl_json_span key = {0}, value;
        if (object) {
            if (!at(s, '"') || !scan_string(s, &key))
                return 0;
            skip_ws(s);
            if (!at(s, ':'))
                return 0;
            s->p++;
            skip_ws(s);
        }
        value.p = (const char *)s->p;
        if (!scan_value(s, NULL, NULL))
            return 0;
        value.n = (size_t)((const char *)s->p - value.p);
        if (object && fn)
            fn(&key, &value, ud);
        skip_ws(s);
        if (at(s, ',')) {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (!at(s, close))
            return 0;
        s->p++;
        s->depth--;
        return 1;
    }
}

static int scan_value(struct scan *s, crl_json_member_fn fn, void *ud)
{
    if (s->p >= s->end)
        return 0;
    struct crl_json_span ignored;
    switch (*s->p) {
    case '{':
    case '[':
        return scan_container(s, fn, ud);
    case '"':
        return scan_string(s, &ignored);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return scan_number(s);
    }
}

int crl_json_scan(const char *text, size_t len, crl_json_member_fn fn, void *ud)
{
    if (!text)
        return 0;
    struct scan s = {(const unsigned char *)text, (const unsigned char *)text + len, 0};
    skip_ws(&s);
    if (!scan_value(&s, fn, ud))
        return 0;
    skip_ws(&s);
    return s.p == s.end;
}

int crl_json_array_first(const struct crl_json_span *array, struct crl_json_span *first)
{
    if (!array->p || !array->n || array->p[0] != '[')
        return 0;
    struct scan s = {(const unsigned char *)array->p + 1, (const unsigned char *)array->p + array->n, 1};
    skip_ws(&s);
    if (s.p >= s.end || *s.p == ']')
        return 0;
    first->p = (const char *)s.p;
    if (!scan_value(&s, NULL, NULL))
        return 0;
    first->n = (size_t)((const char *)s.p - first->p);
    return 1;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode validated raw string contents into out (room for raw->n + 1
 * bytes: decoding never grows).  Returns the decoded length. */
static size_t decode(const struct crl_json_span *raw, char *out)
{
    const unsigned char *p = (const unsigned char *)raw->p, *end = p + raw->n;
    size_t n = 0;
    while (p < end) {
        if (*p != '\\') { /* a run of plain bytes up to the next escape */
            const unsigned char *e = memchr(p, '\\', (size_t)(end - p));
            size_t run = (size_t)((e ? e : end) - p);
            memcpy(out + n, p, run);
            n += run;
            p += run;
            continue;
        }
        if (p + 1 >= end)
            break;
        unsigned char c = p[1];
        if (c == 'u') {
            uint32_t cp = 0;
            size_t k = u_escape(p + 1, end, &cp);
            if (!k) /* not validated by crl_json_scan: stop */
                break;
            n += utf8_put(cp, out + n);
            p += 1 + k;
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *f = c ? strchr(from, c) : NULL;
        if (!f)
            break;
        out[n++] = to[f - from];
        p += 2;
    }
    out[n] = 0;
    return n;
}

int crl_json_key_is(const struct crl_json_span *key, const char *want)
{
    size_t wl = strlen(want);
    if (key->n == wl && !memchr(key->p, '\\', key->n))
        return memcmp(key->p, want, wl) == 0;
    if (key->n < wl)
        return 0; /* decoding never grows */
    char small[128];
    char *buf = key->n < sizeof small ? small : malloc(key->n + 1);
    if (!buf)
        return 0;
    decode(key, buf);
    int same = strcmp(buf, want) == 0; /* as cJSON: a \u0000 ends the key */
    if (buf != small)
        free(buf);
    return same;
}

char *crl_json_string_decode(const struct crl_json_span *raw)
{
    char *out = malloc(raw->n + 1);
    if (out)
        decode(raw, out);
    return out;
}
