/* A strict TOML 1.0 parser: the document's structure (tables, arrays of
 * tables, key/value pairs, dotted keys and the rules on redefining them,
 * inline tables and arrays), keys and the four kinds of strings.  Scalars
 * are in toml_scalar.c.  The rules on redefinition follow the
 * specification as Python's tomllib reads it (the differential test,
 * tests/unit/toml_diff.py, holds the two together); see docs/harbor.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

/* flags of a table or array node */
#define F_HEADER 1u  /* defined by a [header] (or an element of [[...]]) */
#define F_DOTTED 2u  /* defined through dotted keys, in node->section */
#define F_FROZEN 4u  /* an inline table or array: never extended */
#define F_AOT 8u     /* an array of tables made by [[...]] */

int crl_toml_line(struct crl_toml_parser *tp, size_t at)
{
    /* nodes are made in document order: count on from the last answer */
    if (at < tp->line_at || tp->line == 0)
        tp->line_at = 0, tp->line = 1;
    for (size_t i = tp->line_at; i < at && i < tp->n; i++)
        tp->line += tp->p[i] == '\n';
    tp->line_at = at < tp->n ? at : tp->n;
    return tp->line;
}

int crl_toml_fail(struct crl_toml_parser *tp, size_t at, const char *fmt, ...)
{
    if (tp->failed)
        return -1;
    tp->failed = 1;
    int col = 1;
    for (size_t i = 0; i < at && i < tp->n; i++) {
        if (tp->p[i] == '\n')
            col = 1;
        else if (((unsigned char)tp->p[i] & 0xc0) != 0x80)
            col++;
    }
    int k = snprintf(tp->err, tp->errcap, "line %d, column %d: ", crl_toml_line(tp, at), col);
    if (k >= 0 && (size_t)k < tp->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tp->err + k, tp->errcap - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

struct crl_toml *crl_toml_node(enum crl_toml_type t, int line)
{
    struct crl_toml *v = calloc(1, sizeof *v);
    if (v)
        v->type = t, v->line = line;
    return v;
}

void crl_toml_free(struct crl_toml *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        crl_toml_free(t->items[i]);
    free(t->items);
    free(t->key);
    free(t->s);
    free(t);
}

const struct crl_toml *crl_toml_get(const struct crl_toml *table, const char *key)
{
    if (!table || table->type != CRL_TOML_TABLE)
        return NULL;
    for (size_t i = 0; i < table->n; i++)
        if (strcmp(table->items[i]->key, key) == 0)
            return table->items[i];
    return NULL;
}

const char *crl_toml_type_name(enum crl_toml_type type)
{
    switch (type) {
    case CRL_TOML_TABLE: return "table";
    case CRL_TOML_ARRAY: return "array";
    case CRL_TOML_STRING: return "string";
    case CRL_TOML_INT: return "integer";
    case CRL_TOML_FLOAT: return "float";
    case CRL_TOML_BOOL: return "boolean";
    case CRL_TOML_DATETIME: return "datetime";
    case CRL_TOML_DATETIME_LOCAL: return "datetime-local";
    case CRL_TOML_DATE: return "date-local";
    case CRL_TOML_TIME: return "time-local";
    }
    return "?";
}

static int add_item(struct crl_toml_parser *tp, struct crl_toml *parent, struct crl_toml *child)
{
    if (parent->type == CRL_TOML_TABLE && parent->n == CRL_TOML_MAX_KEYS)
        return crl_toml_fail(tp, tp->pos, "more than %d keys in one table", CRL_TOML_MAX_KEYS);
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        struct crl_toml **items = realloc(parent->items, cap * sizeof *items);
        if (!items)
            return crl_toml_fail(tp, tp->pos, "out of memory");
        parent->items = items, parent->cap = cap;
    }
    parent->items[parent->n++] = child;
    return 0;
}

static struct crl_toml *find(struct crl_toml *table, const char *key)
{
    return (struct crl_toml *)crl_toml_get(table, key);
}

/* A new table or array named key in table. */
static struct crl_toml *add_child(struct crl_toml_parser *tp, struct crl_toml *table, const char *key,
                                  enum crl_toml_type type, size_t at)
{
    struct crl_toml *c = crl_toml_node(type, crl_toml_line(tp, at));
    if (!c || !(c->key = strdup(key))) {
        crl_toml_free(c);
        crl_toml_fail(tp, at, "out of memory");
        return NULL;
    }
    if (add_item(tp, table, c)) {
        crl_toml_free(c);
        return NULL;
    }
    return c;
}

static void freeze(struct crl_toml *v)
{
    if (v->type != CRL_TOML_TABLE && v->type != CRL_TOML_ARRAY)
        return;
    v->flags |= F_FROZEN;
    for (size_t i = 0; i < v->n; i++)
        freeze(v->items[i]);
}

static int peek(const struct crl_toml_parser *tp)
{
    return tp->pos < tp->n ? (unsigned char)tp->p[tp->pos] : -1;
}

static void skip_ws(struct crl_toml_parser *tp)
{
    while (tp->pos < tp->n && (tp->p[tp->pos] == ' ' || tp->p[tp->pos] == '\t'))
        tp->pos++;
}

/* A control character TOML refuses in strings and comments (not tab). */
static int is_ctrl(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* '#' to the end of the line (not consuming the newline). */
static int skip_comment(struct crl_toml_parser *tp)
{
    if (peek(tp) != '#')
        return 0;
    for (tp->pos++; tp->pos < tp->n && tp->p[tp->pos] != '\n'; tp->pos++)
        if (is_ctrl((unsigned char)tp->p[tp->pos]))
            return crl_toml_fail(tp, tp->pos, "control character 0x%02x in a comment",
                                 (unsigned char)tp->p[tp->pos]);
    return 0;
}

/* Whitespace, newlines and comments (inside arrays). */
static int skip_ws_nl(struct crl_toml_parser *tp)
{
    for (;;) {
        skip_ws(tp);
        if (skip_comment(tp))
            return -1;
        if (peek(tp) != '\n')
            return 0;
        tp->pos++;
    }
}

static int hex_escape(struct crl_toml_parser *tp, int len, struct crl_buf *b)
{
    size_t at = tp->pos - 2;
    uint32_t cp = 0;
    for (int i = 0; i < len; i++) {
        int c = peek(tp);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return crl_toml_fail(tp, at, "\\%c needs %d hexadecimal digits", len == 4 ? 'u' : 'U', len);
        cp = cp << 4 | (uint32_t)d;
        tp->pos++;
    }
    if (crl_toml_put_utf8(b, cp))
        return crl_toml_fail(tp, at, "escape U+%X is not a Unicode scalar value", (unsigned)cp);
    return 0;
}

/* An escape after the backslash (tp->pos at the character after it). */
static int escape(struct crl_toml_parser *tp, struct crl_buf *b)
{
    int c = peek(tp);
    const char *map = "b\bt\tn\nf\fr\r\"\"\\\\";
    for (const char *m = map; *m; m += 2)
        if (c == *m) {
            tp->pos++;
            return crl_buf_add(b, m + 1, 1) ? crl_toml_fail(tp, tp->pos, "out of memory") : 0;
        }
    if (c == 'u' || c == 'U') {
        tp->pos++;
        return hex_escape(tp, c == 'u' ? 4 : 8, b);
    }
    return crl_toml_fail(tp, tp->pos - 1, "invalid escape sequence \\%c", c > 0x20 && c < 0x7f ? c : '?');
}

/* A string of any of the four kinds at tp->pos into b; multi says whether
 * the multi-line forms are allowed (not for keys). */
static int string(struct crl_toml_parser *tp, struct crl_buf *b, int multi)
{
    size_t start = tp->pos;
    char q = tp->p[tp->pos];
    int ml = multi && tp->n - tp->pos >= 3 && tp->p[tp->pos + 1] == q && tp->p[tp->pos + 2] == q;
    tp->pos += ml ? 3 : 1;
    if (ml && peek(tp) == '\n')
        tp->pos++;
    if (crl_buf_add(b, "", 0))
        return crl_toml_fail(tp, start, "out of memory");
    for (;;) {
        int c = peek(tp);
        if (c < 0)
            return crl_toml_fail(tp, start, "unterminated string");
        if (c == q) {
            if (!ml) {
                tp->pos++;
                return 0;
            }
            size_t k = 0;
            while (tp->pos + k < tp->n && tp->p[tp->pos + k] == q)
                k++;
            if (k >= 3) {
                if (k > 5)
                    return crl_toml_fail(tp, tp->pos, "too many quotes closing a multi-line string");
                if (crl_buf_add(b, tp->p + tp->pos, k - 3))
                    return crl_toml_fail(tp, start, "out of memory");
                tp->pos += k;
                return 0;
            }
            if (crl_buf_add(b, tp->p + tp->pos, k))
                return crl_toml_fail(tp, start, "out of memory");
            tp->pos += k;
            continue;
        }
        if (c == '\n' && !ml)
            return crl_toml_fail(tp, start, "unterminated string (a newline inside a single-line string)");
        if (c != '\n' && is_ctrl(c))
            return crl_toml_fail(tp, tp->pos, "control character 0x%02x in a string (escape it)", c);
        if (c == '\\' && q == '"') {
            tp->pos++;
            if (ml) {
                /* a line-ending backslash eats the newline and the blanks after it */
                size_t save = tp->pos;
                skip_ws(tp);
                if (peek(tp) == '\n') {
                    while (peek(tp) == '\n' || peek(tp) == ' ' || peek(tp) == '\t')
                        tp->pos++;
                    continue;
                }
                tp->pos = save;
            }
            if (escape(tp, b))
                return -1;
            continue;
        }
        if (crl_buf_add(b, tp->p + tp->pos, 1))
            return crl_toml_fail(tp, start, "out of memory");
        tp->pos++;
    }
}

static int is_bare(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A key: parts (strdup'ed, at most CRL_TOML_MAX_DEPTH) into parts[*n]. */
static int key(struct crl_toml_parser *tp, char **parts, size_t *n)
{
    *n = 0;
    for (;;) {
        skip_ws(tp);
        size_t at = tp->pos;
        int c = peek(tp);
        if (*n == CRL_TOML_MAX_DEPTH)
            return crl_toml_fail(tp, at, "key with more than %d parts", CRL_TOML_MAX_DEPTH);
        struct crl_buf b = {0};
        if (c == '"' || c == '\'') {
            if (string(tp, &b, 0)) {
                crl_buf_free(&b);
                return -1;
            }
            if (strlen(b.p) != b.len) {
                crl_buf_free(&b);
                return crl_toml_fail(tp, at, "a key must not contain U+0000");
            }
        } else {
            while (is_bare(peek(tp)))
                tp->pos++;
            if (tp->pos == at)
                return crl_toml_fail(tp, at, c == '\n' || c < 0 ? "expected a key" : "invalid character in a key");
            if (crl_buf_add(&b, tp->p + at, tp->pos - at)) {
                crl_buf_free(&b);
                return crl_toml_fail(tp, at, "out of memory");
            }
        }
        parts[(*n)++] = b.p;
        skip_ws(tp);
        if (peek(tp) != '.')
            return 0;
        tp->pos++;
    }
}

static void free_parts(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
}

static int value(struct crl_toml_parser *tp, struct crl_toml *v, int depth);

/* key = value inside table (the current section's, or an inline table's:
 * inline set).  Dotted keys make or extend tables as the rules allow. */
static int keyval(struct crl_toml_parser *tp, struct crl_toml *table, int depth, int inline_)
{
    char *parts[CRL_TOML_MAX_DEPTH];
    size_t np = 0, at = tp->pos;
    int r = key(tp, parts, &np);
    struct crl_toml *cur = table;
    for (size_t i = 0; !r && i + 1 < np; i++) {
        struct crl_toml *c = find(cur, parts[i]);
        if (!c) {
            if (!(c = add_child(tp, cur, parts[i], CRL_TOML_TABLE, at)))
                r = -1;
            else
                c->flags |= F_DOTTED, c->section = tp->section;
        } else if (c->type != CRL_TOML_TABLE || (c->flags & F_FROZEN))
            r = crl_toml_fail(tp, at, "key \"%s\" is already a %s, which cannot be extended", parts[i],
                              c->type == CRL_TOML_TABLE ? "inline table" : crl_toml_type_name(c->type));
        else if (!inline_ && ((c->flags & F_HEADER) || ((c->flags & F_DOTTED) && c->section != tp->section)))
            r = crl_toml_fail(tp, at, "table \"%s\" is already defined; dotted keys cannot add to it", parts[i]);
        else if (!inline_ && !(c->flags & F_DOTTED))
            c->flags |= F_DOTTED, c->section = tp->section;
        cur = c;
    }
    if (!r && depth + (int)np > CRL_TOML_MAX_DEPTH)
        r = crl_toml_fail(tp, at, "nested deeper than %d", CRL_TOML_MAX_DEPTH);
    if (!r && find(cur, parts[np - 1]))
        r = crl_toml_fail(tp, at, "key \"%s\" defined twice", parts[np - 1]);
    if (!r && cur->n == CRL_TOML_MAX_KEYS)
        r = crl_toml_fail(tp, at, "more than %d keys in one table", CRL_TOML_MAX_KEYS);
    if (!r && peek(tp) != '=')
        r = crl_toml_fail(tp, tp->pos, "expected '=' after a key");
    struct crl_toml *v = NULL;
    if (!r) {
        tp->pos++;
        skip_ws(tp);
        if (!(v = crl_toml_node(CRL_TOML_STRING, crl_toml_line(tp, at))) || !(v->key = strdup(parts[np - 1])))
            r = crl_toml_fail(tp, at, "out of memory");
    }
    if (!r)
        r = value(tp, v, depth + (int)np);
    if (!r)
        r = add_item(tp, cur, v);
    if (r)
        crl_toml_free(v);
    free_parts(parts, np);
    return r;
}

static int array(struct crl_toml_parser *tp, struct crl_toml *v, int depth)
{
    v->type = CRL_TOML_ARRAY;
    tp->pos++;
    for (;;) {
        if (skip_ws_nl(tp))
            return -1;
        if (peek(tp) == ']')
            break;
        struct crl_toml *e = crl_toml_node(CRL_TOML_STRING, crl_toml_line(tp, tp->pos));
        if (!e)
            return crl_toml_fail(tp, tp->pos, "out of memory");
        if (value(tp, e, depth + 1) || add_item(tp, v, e)) {
            crl_toml_free(e);
            return -1;
        }
        if (skip_ws_nl(tp))
            return -1;
        if (peek(tp) == ',') {
            tp->pos++;
            continue;
        }
        if (peek(tp) != ']')
            return crl_toml_fail(tp, tp->pos, "expected ',' or ']' in an array");
        break;
    }
    tp->pos++;
    freeze(v);
    return 0;
}

static int inline_table(struct crl_toml_parser *tp, struct crl_toml *v, int depth)
{
    v->type = CRL_TOML_TABLE;
    tp->pos++;
    skip_ws(tp);
    if (peek(tp) == '}') {
        tp->pos++;
        freeze(v);
        return 0;
    }
    for (;;) {
        if (keyval(tp, v, depth + 1, 1))
            return -1;
        skip_ws(tp);
        int c = peek(tp);
        tp->pos++;
        if (c == '}')
            break;
        if (c != ',')
            return crl_toml_fail(tp, tp->pos - 1, "expected ',' or '}' in an inline table (which is one line)");
        skip_ws(tp);
        if (peek(tp) == '}')
            return crl_toml_fail(tp, tp->pos, "trailing comma in an inline table");
    }
    freeze(v);
    return 0;
}

static int value(struct crl_toml_parser *tp, struct crl_toml *v, int depth)
{
    if (depth > CRL_TOML_MAX_DEPTH)
        return crl_toml_fail(tp, tp->pos, "nested deeper than %d", CRL_TOML_MAX_DEPTH);
    int c = peek(tp);
    if (c == '"' || c == '\'') {
        struct crl_buf b = {0};
        if (string(tp, &b, 1)) {
            crl_buf_free(&b);
            return -1;
        }
        v->type = CRL_TOML_STRING, v->s = b.p, v->len = b.len;
        return 0;
    }
    if (c == '[')
        return array(tp, v, depth);
    if (c == '{')
        return inline_table(tp, v, depth);
    return crl_toml_scalar(tp, v);
}

/* [a.b] or [[a.b]] at tp->pos: the new current table into *cur. */
static int header(struct crl_toml_parser *tp, struct crl_toml *root, struct crl_toml **cur)
{
    size_t at = tp->pos;
    int aot = tp->n - tp->pos >= 2 && tp->p[tp->pos + 1] == '[';
    tp->pos += aot ? 2 : 1;
    char *parts[CRL_TOML_MAX_DEPTH];
    size_t np = 0;
    int r = key(tp, parts, &np);
    if (!r && (peek(tp) != ']' || (aot && (tp->pos + 1 >= tp->n || tp->p[tp->pos + 1] != ']'))))
        r = crl_toml_fail(tp, tp->pos, "expected '%s' closing the table header", aot ? "]]" : "]");
    struct crl_toml *t = root;
    for (size_t i = 0; !r && i + 1 < np; i++) {
        struct crl_toml *c = find(t, parts[i]);
        if (!c)
            c = add_child(tp, t, parts[i], CRL_TOML_TABLE, at);
        else if (c->type == CRL_TOML_ARRAY && (c->flags & F_AOT))
            c = c->items[c->n - 1];
        else if (c->type != CRL_TOML_TABLE || (c->flags & F_FROZEN)) {
            crl_toml_fail(tp, at, "key \"%s\" is already a %s, which cannot be extended", parts[i],
                          c->type == CRL_TOML_TABLE ? "inline table" : crl_toml_type_name(c->type));
            c = NULL;
        }
        if (!(t = c))
            r = -1;
    }
    if (!r) {
        const char *last = parts[np - 1];
        struct crl_toml *c = find(t, last);
        if (aot) {
            if (!c && (c = add_child(tp, t, last, CRL_TOML_ARRAY, at)))
                c->flags |= F_AOT;
            else if (c && (c->type != CRL_TOML_ARRAY || !(c->flags & F_AOT))) {
                r = crl_toml_fail(tp, at, "\"%s\" is already a %s; [[%s]] cannot append to it", last,
                                  crl_toml_type_name(c->type), last);
                c = NULL;
            }
            struct crl_toml *e = c ? crl_toml_node(CRL_TOML_TABLE, crl_toml_line(tp, at)) : NULL;
            if (!e || add_item(tp, c, e)) {
                crl_toml_free(e);
                r = crl_toml_fail(tp, at, "out of memory");
            } else
                e->flags |= F_HEADER, *cur = e;
        } else {
            if (!c)
                c = add_child(tp, t, last, CRL_TOML_TABLE, at);
            else if (c->type != CRL_TOML_TABLE) {
                r = crl_toml_fail(tp, at, "key \"%s\" is already a value (%s), not a table", last,
                                  crl_toml_type_name(c->type));
                c = NULL;
            } else if (c->flags & (F_HEADER | F_DOTTED | F_FROZEN)) {
                r = crl_toml_fail(tp, at, "table \"%s\" defined twice", last);
                c = NULL;
            }
            if (!c)
                r = -1;
            else
                c->flags |= F_HEADER, *cur = c;
        }
    }
    free_parts(parts, np);
    if (!r)
        tp->pos += aot ? 2 : 1;
    tp->section++;
    return r;
}

struct crl_toml *crl_toml_parse(const char *text, size_t len, char *err, size_t errcap)
{
    struct crl_toml_parser tp = {.err = err, .errcap = errcap};
    if (errcap)
        err[0] = 0;
    if (len > CRL_TOML_MAX_INPUT) {
        snprintf(err, errcap, "line 1, column 1: document larger than %zu bytes", CRL_TOML_MAX_INPUT);
        return NULL;
    }
    /* CRLF is a newline: fold it to LF (a lone CR stays, and is refused) */
    char *p = malloc(len + 1);
    if (!p) {
        snprintf(err, errcap, "line 1, column 1: out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
            p[n++] = text[i];
    p[n] = 0;
    tp.p = p, tp.n = n;
    struct crl_toml *root = crl_toml_node(CRL_TOML_TABLE, 1);
    struct crl_toml *cur = root;
    int r = root ? 0 : crl_toml_fail(&tp, 0, "out of memory");
    size_t bad = crl_toml_utf8_bad(p, n);
    if (!r && bad < n)
        r = crl_toml_fail(&tp, bad, "invalid UTF-8");
    while (!r && tp.pos < tp.n) {
        skip_ws(&tp);
        int c = peek(&tp);
        if (c == '[')
            r = header(&tp, root, &cur);
        else if (c != '#' && c != '\n' && c >= 0)
            r = keyval(&tp, cur, 0, 0);
        if (!r) {
            skip_ws(&tp);
            r = skip_comment(&tp);
        }
        if (!r && tp.pos < tp.n) {
            if (peek(&tp) != '\n') {
                int b = peek(&tp);
                if (is_ctrl(b))
                    r = crl_toml_fail(&tp, tp.pos, "control character 0x%02x", b);
                else
                    r = crl_toml_fail(&tp, tp.pos, "expected the end of the line, found '%c'", b < 0x80 ? b : '?');
            } else
                tp.pos++;
        }
    }
    free(p);
    if (r) {
        crl_toml_free(root);
        return NULL;
    }
    return root;
}
