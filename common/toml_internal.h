/* Shared between toml.c (the document structure, keys, strings) and
 * toml_scalar.c (numbers, booleans, datetimes, UTF-8); not a public header. */
#ifndef CORRAL_TOML_INTERNAL_H
#define CORRAL_TOML_INTERNAL_H

#include "crl_common.h"
#include "crl_toml.h"

/* The parser's state over the document (CRLF already folded to LF). */
struct crl_toml_parser {
    const char *p;
    size_t n, pos;
    char *err;
    size_t errcap;
    int failed;
    unsigned section;
    size_t line_at; /* crl_toml_line's cache: the line of byte line_at */
    int line;
};

/* Record the first error at byte offset at ("line L, column C: ..."); -1. */
int crl_toml_fail(struct crl_toml_parser *tp, size_t at, const char *fmt, ...) CORRAL_PRINTF(3, 4);
/* A new node of type t written at line; NULL when out of memory. */
struct crl_toml *crl_toml_node(enum crl_toml_type t, int line);
/* The line of byte offset at. */
int crl_toml_line(struct crl_toml_parser *tp, size_t at);
/* Parse a number, boolean, date, time or datetime at tp->pos into v
 * (the caller's node, type and value set); 0 or -1 (error recorded). */
int crl_toml_scalar(struct crl_toml_parser *tp, struct crl_toml *v);
/* Offset of the first byte of s[0..n) that is not valid UTF-8 (overlong,
 * surrogate, above U+10FFFF, truncated), or n when all is valid. */
size_t crl_toml_utf8_bad(const char *s, size_t n);
/* Append code point cp as UTF-8; 0, or -1 when cp is not a scalar value. */
int crl_toml_put_utf8(struct crl_buf *b, uint32_t cp);

#endif
