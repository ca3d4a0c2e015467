/* TOML scalars other than strings: integers (decimal, hex, octal, binary,
 * exact in 64 bits), floats (converted in the "C" locale whatever the
 * process's), booleans, offset and local datetimes, dates and times; and
 * the UTF-8 checks the parser needs.  See docs/harbor.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

#define TOKEN_MAX 128

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int token_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '-' ||
           c == '.' || c == ':';
}

/* digits in radix, '_' only between two digits; the value into *out
 * (unsigned, overflow is an error). */
static int radix_digits(const char *s, size_t n, int radix, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d;
        char c = s[i];
        if (c == '_') {
            if (i == 0 || i + 1 == n || s[i - 1] == '_')
                return -1;
            continue;
        }
        if (is_digit(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        if (d >= radix)
            return -1;
        if (v > (max - (uint64_t)d) / (uint64_t)radix)
            return -2;
        v = v * (uint64_t)radix + (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* Length of a run of decimal digits with single '_' between digits at s. */
static size_t digit_run(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_digit(s[i])) {
        i++;
        if (i + 1 < n && s[i] == '_' && is_digit(s[i + 1]))
            i++;
    }
    return i;
}

/* A float's text without '_' converted as the "C" locale reads it: a
 * process that set LC_NUMERIC to a comma locale must read the same value. */
static int c_strtod(const char *s, double *out)
{
    char *end;
    *out = crl_strtod_c(s, &end);
    return *end || end == s ? -1 : 0;
}

static int number(struct crl_toml_parser *tp, const char *s, size_t n, struct crl_toml *v)
{
    size_t at = tp->pos;
    if (n == 0)
        return crl_toml_fail(tp, at, "expected a value");
    size_t sign = (s[0] == '+' || s[0] == '-');
    const char *u = s + sign;
    size_t un = n - sign;
    if ((un == 3 && memcmp(u, "inf", 3) == 0) || (un == 3 && memcmp(u, "nan", 3) == 0)) {
        v->type = CRL_TOML_FLOAT;
        v->f = u[0] == 'i' ? INFINITY : NAN;
        if (s[0] == '-')
            v->f = -v->f;
        return 0;
    }
    if (un > 2 && u[0] == '0' && (u[1] == 'x' || u[1] == 'o' || u[1] == 'b')) {
        if (sign)
            return crl_toml_fail(tp, at, "a hexadecimal, octal or binary integer takes no sign");
        uint64_t x;
        int r = radix_digits(u + 2, un - 2, u[1] == 'x' ? 16 : u[1] == 'o' ? 8 : 2, (uint64_t)INT64_MAX, &x);
        if (r == -2)
            return crl_toml_fail(tp, at, "integer %.*s does not fit in 64 bits", (int)n, s);
        if (r)
            return crl_toml_fail(tp, at, "invalid integer %.*s", (int)n, s);
        v->type = CRL_TOML_INT;
        v->i = (int64_t)x;
        return 0;
    }
    /* decimal: int part, then an optional fraction and exponent */
    size_t ip = digit_run(u, un);
    if (ip == 0 || (u[0] == '0' && ip > 1))
        return crl_toml_fail(tp, at, "invalid number %.*s%s", (int)n, s,
                             ip > 1 && u[0] == '0' ? " (leading zeros are not allowed)" : "");
    size_t i = ip;
    int is_float = 0;
    if (i < un && u[i] == '.') {
        size_t f = digit_run(u + i + 1, un - i - 1);
        if (f == 0)
            return crl_toml_fail(tp, at, "invalid float %.*s (a digit must follow the '.')", (int)n, s);
        i += 1 + f, is_float = 1;
    }
    if (i < un && (u[i] == 'e' || u[i] == 'E')) {
        i++;
        if (i < un && (u[i] == '+' || u[i] == '-'))
            i++;
        size_t e = digit_run(u + i, un - i);
        if (e == 0)
            return crl_toml_fail(tp, at, "invalid float %.*s (the exponent needs digits)", (int)n, s);
        i += e, is_float = 1;
    }
    if (i != un)
        return crl_toml_fail(tp, at, "invalid value %.*s", (int)n, s);
    char clean[TOKEN_MAX + 1];
    size_t c = 0;
    for (size_t k = 0; k < n; k++)
        if (s[k] != '_')
            clean[c++] = s[k];
    clean[c] = 0;
    if (is_float) {
        v->type = CRL_TOML_FLOAT;
        if (c_strtod(clean, &v->f))
            return crl_toml_fail(tp, at, "invalid float %.*s", (int)n, s);
        return 0;
    }
    uint64_t x;
    uint64_t max = s[0] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int r = radix_digits(u, un, 10, max, &x);
    if (r)
        return crl_toml_fail(tp, at, "integer %.*s does not fit in 64 bits", (int)n, s);
    v->type = CRL_TOML_INT;
    v->i = s[0] == '-' ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

/* n decimal digits at s into *out. */
static int fixed(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* "HH:MM:SS[.frac]" at s[0..n): its length, or 0 when it is not one. */
static size_t parse_time(const char *s, size_t n)
{
    int h, m, sec;
    if (n < 8 || s[2] != ':' || s[5] != ':' || fixed(s, 2, &h) || fixed(s + 3, 2, &m) || fixed(s + 6, 2, &sec) ||
        h > 23 || m > 59 || sec > 59)
        return 0;
    size_t i = 8;
    if (i < n && s[i] == '.') {
        size_t f = 0;
        while (i + 1 + f < n && is_digit(s[i + 1 + f]))
            f++;
        if (f == 0)
            return 0;
        i += 1 + f;
    }
    return i;
}

static int datetime(struct crl_toml_parser *tp, const char *s, size_t n, struct crl_toml *v)
{
    size_t at = tp->pos;
    char out[TOKEN_MAX + 1];
    int y, mo, d;
    if (n >= 10 && s[4] == '-' && s[7] == '-' && !fixed(s, 4, &y) && !fixed(s + 5, 2, &mo) && !fixed(s + 8, 2, &d)) {
        if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo))
            return crl_toml_fail(tp, at, "invalid date %.*s", (int)n, s);
        if (n == 10) {
            v->type = CRL_TOML_DATE;
            memcpy(out, s, n);
            out[n] = 0;
        } else {
            if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
                return crl_toml_fail(tp, at, "invalid datetime %.*s", (int)n, s);
            size_t t = parse_time(s + 11, n - 11);
            if (!t)
                return crl_toml_fail(tp, at, "invalid time in %.*s", (int)n, s);
            size_t i = 11 + t;
            memcpy(out, s, i);
            out[10] = 'T';
            out[i] = 0;
            v->type = CRL_TOML_DATETIME_LOCAL;
            if (i < n) {
                int oh, om;
                if (n - i == 1 && (s[i] == 'Z' || s[i] == 'z'))
                    strcpy(out + i, "Z");
                else if (n - i == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' && !fixed(s + i + 1, 2, &oh) &&
                         !fixed(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
                    memcpy(out + i, s + i, 6);
                    out[i + 6] = 0;
                } else
                    return crl_toml_fail(tp, at, "invalid offset in datetime %.*s", (int)n, s);
                v->type = CRL_TOML_DATETIME;
            }
        }
    } else {
        size_t t = parse_time(s, n);
        if (!t || t != n)
            return crl_toml_fail(tp, at, "invalid date, time or datetime %.*s", (int)n, s);
        v->type = CRL_TOML_TIME;
        memcpy(out, s, n);
        out[n] = 0;
    }
    v->len = strlen(out);
    v->s = strdup(out);
    return v->s ? 0 : crl_toml_fail(tp, at, "out of memory");
}

int crl_toml_scalar(struct crl_toml_parser *tp, struct crl_toml *v)
{
    const char *s = tp->p + tp->pos;
    size_t n = 0, avail = tp->n - tp->pos;
    while (n < avail && token_char(s[n]))
        n++;
    /* "1979-05-27 07:32:00": a date, one space, then a time */
    if (n == 10 && s[4] == '-' && n + 3 < avail && s[n] == ' ' && is_digit(s[n + 1]) && is_digit(s[n + 2]) &&
        s[n + 3] == ':') {
        n++;
        while (n < avail && token_char(s[n]))
            n++;
    }
    if (n > TOKEN_MAX)
        return crl_toml_fail(tp, tp->pos, "value too long");
    int r;
    if (n == 4 && memcmp(s, "true", 4) == 0)
        v->type = CRL_TOML_BOOL, v->b = 1, r = 0;
    else if (n == 5 && memcmp(s, "false", 5) == 0)
        v->type = CRL_TOML_BOOL, v->b = 0, r = 0;
    else if (memchr(s, ':', n) || (n >= 10 && s[4] == '-' && is_digit(s[0]) && is_digit(s[1])))
        r = datetime(tp, s, n, v);
    else
        r = number(tp, s, n, v);
    if (!r)
        tp->pos += n;
    return r;
}

size_t crl_toml_utf8_bad(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (u[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

int crl_toml_put_utf8(struct crl_buf *b, uint32_t cp)
{
    unsigned char o[4];
    size_t n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    if (cp < 0x80)
        o[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800)
        o[0] = (unsigned char)(0xc0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        o[0] = (unsigned char)(0xe0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
        o[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        o[0] = (unsigned char)(0xf0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
        o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), o[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    return crl_buf_add(b, o, n) ? -1 : 0;
}
