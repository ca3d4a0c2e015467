/* A strict TOML 1.0 parser (common/toml.c, common/toml_scalar.c) for task
 * files: every rule of the specification, integers kept exact in 64 bits,
 * datetimes apart from strings, no dependence on the C locale.  The tree
 * and its rules are described in docs/harbor.md (section "The TOML parser"). */
#ifndef CORRAL_CRL_TOML_H
#define CORRAL_CRL_TOML_H

#include <stddef.h>
#include <stdint.h>

/* The biggest document and the deepest nesting (arrays, inline tables and
 * key components together) the parser accepts (task files are small). */
#define CRL_TOML_MAX_INPUT ((size_t)1 << 20)
#define CRL_TOML_MAX_DEPTH 64
/* Keys in one table: lookups are linear, so this bounds the work. */
#define CRL_TOML_MAX_KEYS 4096

enum crl_toml_type {
    CRL_TOML_TABLE = 1,
    CRL_TOML_ARRAY,
    CRL_TOML_STRING,
    CRL_TOML_INT,
    CRL_TOML_FLOAT,
    CRL_TOML_BOOL,
    CRL_TOML_DATETIME,       /* offset date-time: "1979-05-27T07:32:00.5-07:00", "...Z" */
    CRL_TOML_DATETIME_LOCAL, /* "1979-05-27T07:32:00" */
    CRL_TOML_DATE,           /* "1979-05-27" */
    CRL_TOML_TIME,           /* "07:32:00.999" */
};

/* One node.  A table's items are its key/value pairs in document order
 * (each item's key set); an array's items its elements (key NULL).
 * Strings are UTF-8 of len bytes plus a NUL (they may hold U+0000);
 * datetimes, dates and times are kept as text in the canonical shape
 * shown above ('T' and 'Z' upper case, the fraction as written). */
struct crl_toml {
    enum crl_toml_type type;
    char *key;
    char *s;
    size_t len;
    int64_t i;
    double f;
    int b;
    struct crl_toml **items;
    size_t n, cap;
    int line;         /* where the key (or the element) was written, from 1 */
    unsigned flags;   /* the parser's own bookkeeping */
    unsigned section; /* the parser's own bookkeeping */
};

/* Parse text[0..len) (any bytes; need not be NUL-terminated).  Returns the
 * root table, which the caller frees with crl_toml_free, or NULL with
 * "line L, column C: what is wrong" in err (errcap bytes, the caller's). */
struct crl_toml *crl_toml_parse(const char *text, size_t len, char *err, size_t errcap);
void crl_toml_free(struct crl_toml *t);

/* table's value for key (NULL when absent or table is not a table); the
 * node stays owned by the tree. */
const struct crl_toml *crl_toml_get(const struct crl_toml *table, const char *key);
/* "string", "integer", "float", "boolean", "datetime", "datetime-local",
 * "date-local", "time-local", "array", "table": static strings. */
const char *crl_toml_type_name(enum crl_toml_type type);

#endif
