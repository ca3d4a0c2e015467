/* A .dockerignore matcher (docs/backends/docker.md "Building images"):
 * Docker's rules for a build context: one pattern a line, '#' lines are
 * comments, surrounding blanks trimmed, patterns cleaned lexically
 * (".", "..", "//") and a leading '/' dropped; '*' matches a run of
 * non-'/' bytes, '?' one non-'/' byte, "[...]" a class ('^' negates,
 * ranges, never '/'), '\' escapes the next byte, "**" any number of
 * directories ("**" at the end: anything); '!' makes an exception; the
 * last pattern that matches a path or one of its parent directories
 * decides.  The text is untrusted (a task's file). */
#include <stdlib.h>
#include <string.h>

#include "archive/archive_internal.h"
#include "crl_common.h"

enum { T_LIT, T_ANY1, T_STAR, T_CLASS, T_DSTAR_SLASH, T_DSTAR_ALL };

struct tok {
    unsigned char type, c;     /* c: the literal byte */
    unsigned short cls;        /* T_CLASS: index of its text in the pattern */
    unsigned short cls_len;
};

struct pattern {
    char *text;                /* cleaned pattern (classes point into it) */
    struct tok *toks;
    size_t n;
    int exception;
};

struct crl_dockerignore {
    struct pattern *p;
    size_t n;
};

/* Lines and patterns longer than this are refused (a class index is 16 bits). */
#define PATTERN_MAX 4096

/* Go's filepath.Clean for '/'-separated text, in place: no empty or "."
 * element, ".." pops (dropped at the root), "." for nothing. */
static void clean(char *s)
{
    int rooted = s[0] == '/';
    char *out = s, *in = s;
    size_t dots = 0; /* leading ".." elements kept when not rooted */
    if (rooted)
        *out++ = '/', in++;
    char *base = out;
    while (*in) {
        char *e = in + strcspn(in, "/");
        size_t len = (size_t)(e - in);
        if (len == 0 || (len == 1 && in[0] == '.')) {
            /* skip */
        } else if (len == 2 && in[0] == '.' && in[1] == '.') {
            if ((size_t)(out - base) > dots * 3) {
                while (out > base + dots * 3 && out[-1] != '/')
                    out--;
                if (out > base)
                    out--; /* the separator before it */
                if (out < base)
                    out = base;
            } else if (!rooted) {
                if (out > base)
                    *out++ = '/';
                *out++ = '.', *out++ = '.';
                dots++;
            }
        } else {
            if (out > base)
                *out++ = '/';
            memmove(out, in, len);
            out += len;
        }
        in = *e ? e + 1 : e;
    }
    if (out == s)
        *out++ = '.';
    *out = '\0';
}

static int compile(struct pattern *p, struct corral_call *call, size_t line)
{
    const char *s = p->text;
    size_t len = strlen(s);
    p->toks = calloc(len + 1, sizeof *p->toks);
    if (!p->toks)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        struct tok *t = &p->toks[n++];
        char c = s[i];
        if (c == '*' && s[i + 1] == '*') {
            i++;
            if (s[i + 1] == '/')
                i++;
            t->type = s[i + 1] ? T_DSTAR_SLASH : T_DSTAR_ALL;
        } else if (c == '*') {
            t->type = T_STAR;
        } else if (c == '?') {
            t->type = T_ANY1;
        } else if (c == '\\' && s[i + 1]) {
            t->type = T_LIT;
            t->c = (unsigned char)s[++i];
        } else if (c == '[') {
            size_t j = i + 1;
            if (s[j] == '^')
                j++;
            if (s[j] == ']')
                j++; /* a leading ']' is a member */
            while (s[j] && s[j] != ']')
                j += s[j] == '\\' && s[j + 1] ? 2 : 1;
            if (!s[j])
                return corral_call_fail(call, CORRAL_EINVAL, ".dockerignore line %zu: unterminated '[' in \"%.200s\"",
                                        line, s);
            t->type = T_CLASS;
            t->cls = (unsigned short)(i + 1);
            t->cls_len = (unsigned short)(j - i - 1);
            i = j;
        } else {
            t->type = T_LIT;
            t->c = (unsigned char)c;
        }
    }
    p->n = n;
    return 0;
}

static int class_has(const char *cls, size_t len, unsigned char c)
{
    int neg = len && cls[0] == '^';
    size_t i = neg;
    int in = 0;
    while (i < len) {
        unsigned char lo = (unsigned char)cls[i];
        if (lo == '\\' && i + 1 < len)
            lo = (unsigned char)cls[++i];
        i++;
        unsigned char hi = lo;
        if (i + 1 < len && cls[i] == '-') {
            hi = (unsigned char)cls[i + 1];
            if (hi == '\\' && i + 2 < len)
                hi = (unsigned char)cls[++i + 1];
            i += 2;
        }
        if (c >= lo && c <= hi)
            in = 1;
    }
    return c != '/' && in != neg;
}

/* Whether toks[ti..] matches s[si..]; failed states are remembered in
 * `seen` ((n + 1) x (slen + 1) bits) so that no pattern backtracks
 * exponentially. */
static int match_at(const struct pattern *p, size_t ti, const char *s, size_t si, size_t slen, unsigned char *seen)
{
    for (;;) {
        size_t bit = ti * (slen + 1) + si;
        if (seen[bit >> 3] & (1u << (bit & 7)))
            return 0;
        if (ti == p->n)
            return si == slen;
        const struct tok *t = &p->toks[ti];
        int ok = 0;
        switch (t->type) {
        case T_LIT:
            ok = si < slen && (unsigned char)s[si] == t->c;
            break;
        case T_ANY1:
            ok = si < slen && s[si] != '/';
            break;
        case T_CLASS:
            ok = si < slen && class_has(p->text + t->cls, t->cls_len, (unsigned char)s[si]);
            break;
        case T_STAR:
            for (size_t k = si;; k++) {
                if (match_at(p, ti + 1, s, k, slen, seen))
                    return 1;
                if (k == slen || s[k] == '/')
                    break;
            }
            break;
        case T_DSTAR_ALL:
            return 1;
        case T_DSTAR_SLASH: /* (.*\/)? */
            if (match_at(p, ti + 1, s, si, slen, seen))
                return 1;
            for (size_t k = si; k < slen; k++)
                if (s[k] == '/' && match_at(p, ti + 1, s, k + 1, slen, seen))
                    return 1;
            break;
        }
        if (t->type == T_LIT || t->type == T_ANY1 || t->type == T_CLASS) {
            if (ok) {
                ti++, si++;
                continue;
            }
        }
        seen[bit >> 3] |= (unsigned char)(1u << (bit & 7));
        return 0;
    }
}

static int pattern_match(const struct pattern *p, const char *s, size_t slen)
{
    size_t bits = (p->n + 1) * (slen + 1);
    unsigned char small[512];
    unsigned char *seen = bits / 8 + 1 <= sizeof small ? small : calloc(bits / 8 + 1, 1);
    if (!seen)
        return 0;
    if (seen == small)
        memset(small, 0, bits / 8 + 1);
    int m = match_at(p, 0, s, 0, slen, seen);
    if (seen != small)
        free(seen);
    return m;
}

int crl_dockerignore_parse(const char *text, size_t len, struct crl_dockerignore **out, struct corral_call *call)
{
    *out = NULL;
    struct crl_dockerignore *d = calloc(1, sizeof *d);
    if (!d)
        return corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
    size_t cap = 0, line = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark */
    int rc = 0;
    while (!rc && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *a = p, *b = e;
        p = nl ? nl + 1 : end;
        if (a < b && *a == '#')
            continue;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\v' || *a == '\f'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\v' || b[-1] == '\f'))
            b--;
        if (a == b)
            continue;
        if (memchr(a, '\0', (size_t)(b - a))) {
            rc = corral_call_fail(call, CORRAL_EINVAL, ".dockerignore line %zu: a NUL byte", line);
            break;
        }
        int exception = *a == '!';
        if (exception) {
            a++;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            if (a == b) {
                rc = corral_call_fail(call, CORRAL_EINVAL, ".dockerignore line %zu: illegal exclusion pattern \"!\"",
                                      line);
                break;
            }
        }
        if ((size_t)(b - a) > PATTERN_MAX) {
            rc = corral_call_fail(call, CORRAL_EINVAL, ".dockerignore line %zu: a pattern longer than %d bytes",
                                  line, PATTERN_MAX);
            break;
        }
        if (d->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct pattern *np = realloc(d->p, nc * sizeof *np);
            if (!np) {
                rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
                break;
            }
            d->p = np;
            cap = nc;
        }
        struct pattern *pt = &d->p[d->n];
        memset(pt, 0, sizeof *pt);
        pt->exception = exception;
        pt->text = strndup(a, (size_t)(b - a));
        if (!pt->text) {
            rc = corral_call_fail(call, CORRAL_ENOMEM, "out of memory");
            break;
        }
        d->n++;
        clean(pt->text);
        if (pt->text[0] == '/' && pt->text[1])
            memmove(pt->text, pt->text + 1, strlen(pt->text));
        rc = compile(pt, call, line);
    }
    if (rc) {
        crl_dockerignore_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int crl_dockerignore_excluded(const struct crl_dockerignore *d, const char *path)
{
    if (!d)
        return 0;
    size_t len = strlen(path);
    int excluded = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct pattern *p = &d->p[i];
        if (p->exception && !excluded)
            continue;
        int m = pattern_match(p, path, len);
        /* Or one of its parent directories ("a/b" for "a/b/c"). */
        for (size_t k = 0; !m && k < len; k++)
            if (path[k] == '/')
                m = pattern_match(p, path, k);
        if (m)
            excluded = !p->exception;
    }
    return excluded;
}

void crl_dockerignore_free(struct crl_dockerignore *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->p[i].text);
        free(d->p[i].toks);
    }
    free(d->p);
    free(d);
}
