/* The .dockerignore matcher (core/src/archive/dockerignore.c) against
 * the examples of Docker's documentation and the edges of its rules. */
#include "archive/archive_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static struct crl_dockerignore *parse_ok(const char *text)
{
    struct corral_call c;
    corral_call_init(&c, 0);
    struct crl_dockerignore *d = NULL;
    int rc = crl_dockerignore_parse(text, strlen(text), &d, &c);
    if (rc)
        fail_msg("parse of %s: %s", text, c.message);
    return d;
}

/* Each of paths (NULL-terminated) excluded (want 1) or kept (want 0). */
static void expect(const char *text, int want, ...)
{
    struct crl_dockerignore *d = parse_ok(text);
    va_list ap;
    va_start(ap, want);
    for (const char *p; (p = va_arg(ap, const char *)) != NULL;)
        if (crl_dockerignore_excluded(d, p) != want)
            fail_msg("rules %s: %s should be %s", text, p, want ? "excluded" : "kept");
    va_end(ap);
    crl_dockerignore_free(d);
}

static void docs_examples(void **st)
{
    (void)st;
    /* "*\/temp*": names starting with temp in any immediate subdirectory */
    expect("# comment\n*/temp*\n", 1, "somedir/temporary.txt", "somedir/temp", "somedir/temp/x", NULL);
    expect("# comment\n*/temp*\n", 0, "temp", "temporary.txt", "a/b/temp", "# comment", NULL);
    /* two levels below the root */
    expect("*/*/temp*\n", 1, "somedir/subdir/temporary.txt", NULL);
    expect("*/*/temp*\n", 0, "somedir/temporary.txt", "a/b/c/temp", NULL);
    /* one-character extension of temp in the root */
    expect("temp?\n", 1, "tempa", "tempb", NULL);
    expect("temp?\n", 0, "temp", "tempab", "temp/", "a/tempa", NULL);
    /* ** matches any number of directories, zero included */
    expect("**/*.go\n", 1, "main.go", "a/b/c/x.go", NULL);
    expect("**/*.go\n", 0, "main.gox", "a/go", NULL);
    /* exceptions: the last matching line wins */
    expect("*.md\n!README.md\n", 1, "CHANGES.md", NULL);
    expect("*.md\n!README.md\n", 0, "README.md", "a/CHANGES.md", NULL);
    expect("*.md\n!README*.md\nREADME-secret.md\n", 1, "README-secret.md", "x.md", NULL);
    expect("*.md\n!README*.md\nREADME-secret.md\n", 0, "README.md", "README-x.md", NULL);
    expect("*.md\nREADME-secret.md\n!README*.md\n", 0, "README-secret.md", "README.md", NULL);
    expect("*.md\nREADME-secret.md\n!README*.md\n", 1, "other.md", NULL);
}

static void rules(void **st)
{
    (void)st;
    /* a directory's pattern covers what is below it */
    expect("logs\n", 1, "logs", "logs/a.log", "logs/x/y", NULL);
    expect("logs\n", 0, "logsx", "a/logs", NULL);
    expect("logs/*.log\n!logs/keep.log\n", 1, "logs/a.log", NULL);
    expect("logs/*.log\n!logs/keep.log\n", 0, "logs/keep.log", "logs", "logs/a.txt", NULL);
    /* cleaned: leading '/', "./", "//", "..", surrounding blanks, CRLF */
    expect("  /a//./b/../c  \r\n", 1, "a/c", "a/c/d", NULL);
    expect("  /a//./b/../c  \r\n", 0, "a/b/c", "a", NULL);
    expect("\xEF\xBB\xBF" "bom\n", 1, "bom", NULL);
    /* trailing **: everything below; lone **: everything */
    expect("dir/**\n", 1, "dir/x", "dir/x/y", NULL);
    expect("dir/**\n", 0, "dirx", NULL);
    expect("**\n", 1, "a", "a/b/c", NULL);
    /* '*' and '?' never cross '/'; classes, ranges, negation, escapes */
    expect("a*b\n", 0, "a/b", "ax/yb", NULL);
    expect("[a-c]x\n", 1, "ax", "bx", "cx", NULL);
    expect("[a-c]x\n", 0, "dx", "x", NULL);
    expect("[^a]x\n", 1, "bx", NULL);
    expect("[^a]x\n", 0, "ax", NULL);
    expect("\\*lit\n", 1, "*lit", NULL);
    expect("\\*lit\n", 0, "xlit", NULL);
    /* an exception with nothing excluded before it changes nothing */
    expect("!a\n", 0, "a", "b", NULL);
    /* a blank file, comments only */
    expect("", 0, "a", NULL);
    expect("#a\n\n   \n", 0, "a", "#a", NULL);
    /* many stars do not backtrack forever */
    expect("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n", 0,
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL);
    expect("**/**/**/**/**/**/**/**/**/x\n", 0, "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y", NULL);
}

static void parse_errors(void **st)
{
    (void)st;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"a\n!\n", "line 2: illegal exclusion pattern"},
        {"ok\n[abc\n", "line 2: unterminated '['"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct corral_call c;
        corral_call_init(&c, 0);
        struct crl_dockerignore *d = NULL;
        assert_int_equal(crl_dockerignore_parse(bad[i].text, strlen(bad[i].text), &d, &c), CORRAL_EINVAL);
        assert_null(d);
        assert_non_null(strstr(c.message, bad[i].want));
    }
    struct corral_call c;
    corral_call_init(&c, 0);
    struct crl_dockerignore *d = NULL;
    assert_int_equal(crl_dockerignore_parse("a\0b\n", 4, &d, &c), CORRAL_EINVAL);
    assert_non_null(strstr(c.message, "line 1: a NUL byte"));
    assert_int_equal(crl_dockerignore_excluded(NULL, "a"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(docs_examples),
        cmocka_unit_test(rules),
        cmocka_unit_test(parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
