/*
 * A validating JSON scanner that builds nothing.
 *
 * The gate reads a handful of top-level fields of every model call (an
 * OpenCode request is ~30 KB) and keeps the body verbatim for the
 * transcript; building a cJSON tree for that cost more CPU than the rest
 * of the call.  crl_json_scan() checks the bytes in one pass without
 * allocating and shows the caller the top-level members as byte spans.
 *
 * What it accepts is strict RFC 8259 JSON and a subset of what cJSON
 * accepts (so a scanned body still parses wherever it is read later):
 * strings of valid UTF-8 without raw control characters or unpaired
 * surrogate escapes, numbers in JSON's grammar of at most 63 characters
 * (cJSON refuses longer ones), nesting at most CRL_JSON_MAX_DEPTH deep,
 * whitespace (space, tab, CR, LF) around the value.
 */
#ifndef CORRAL_JSON_SCAN_H
#define CORRAL_JSON_SCAN_H

#include <stddef.h>

#define CRL_JSON_MAX_DEPTH 512

/* A byte range of the scanned text (not NUL-terminated). */
struct crl_json_span {
    const char *p;
    size_t n;
};

/* Called for each top-level member of an object, in order: key is the raw
 * bytes between the quotes (escapes not decoded), value the exact bytes of
 * the value.  Both point into the scanned text. */
typedef void (*crl_json_member_fn)(const struct crl_json_span *key, const struct crl_json_span *value, void *ud);

/* Return 1 when text[0..len) is exactly one JSON value (see above), else
 * 0.  When the value is an object and fn is not NULL, fn sees its members;
 * it may be called before a later byte turns out invalid.  Allocates
 * nothing; the caller owns text. */
int crl_json_scan(const char *text, size_t len, crl_json_member_fn fn, void *ud);

/* The first element of an array value crl_json_scan() accepted, into
 * *first: 1, or 0 when the array is empty (or array is not one).  Points
 * into the caller's text. */
int crl_json_array_first(const struct crl_json_span *array, struct crl_json_span *first);

/* 1 when the raw (escaped) key of a scanned member decodes to exactly want. */
int crl_json_key_is(const struct crl_json_span *key, const char *want);

/* Decode the raw contents of a string crl_json_scan() accepted into a
 * malloc'ed NUL-terminated UTF-8 string (a \u0000 ends it early, as in
 * cJSON).  The caller frees it; NULL on allocation failure. */
char *crl_json_string_decode(const struct crl_json_span *raw);

#endif
