/* The validating JSON scanner (json_scan.h) and the gate's chat-request
 * reader built on it: what is accepted, what is refused, and that the
 * fields read agree with what cJSON would have read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gate/gate_internal.h"
#include "base/json_scan.h"

static int ok(const char *s)
{
    return crl_json_scan(s, strlen(s), NULL, NULL);
}

static void valid_json_is_accepted(void **state)
{
    (void)state;
    static const char *good[] = {
        "{}", "[]", " \t\r\n{} \n", "0", "-0", "1.5e10", "-12.25E-3", "1E+2", "\"\"", "true", "false", "null",
        "[1,[2,[3]],{\"a\":{\"b\":[]}}]", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000\"", "{\"a\" : 1 , \"b\" :[ ] }",
        /* 63 characters: the longest number cJSON reads whole */
        "123456789012345678901234567890123456789012345678901234567890123",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (!ok(good[i]))
            fail_msg("refused valid JSON #%zu: %s", i, good[i]);
        cJSON *j = gate_json_parse_exact(good[i], strlen(good[i]));
        if (!j)
            fail_msg("cJSON refuses #%zu, which the scanner accepts: %s", i, good[i]);
        cJSON_Delete(j);
    }
}

static void invalid_json_is_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "{\"a\":1}x", "{}{}", "[1 2]", "01", "1.",
        ".5", "-", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "tru", "nul", "True", "'a'", "\"abc",
        "\"a\tb\"", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"\xff\"", "\x01{}", "{}\x01", "1234567890123456789012345678901234567890123456789012345678901234",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (ok(bad[i]))
            fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
    /* an embedded NUL byte is not whitespace */
    assert_false(crl_json_scan("{}\0", 3, NULL, NULL));
    assert_false(crl_json_scan(NULL, 0, NULL, NULL));
}

static void nesting_is_limited(void **state)
{
    (void)state;
    char deep[2 * CRL_JSON_MAX_DEPTH + 3];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = CRL_JSON_MAX_DEPTH + (size_t)extra;
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        assert_int_equal(crl_json_scan(deep, 2 * n, NULL, NULL), extra ? 0 : 1);
    }
}

struct seen {
    char keys[8][32];
    char values[8][32];
    int n;
};

static void collect(const struct crl_json_span *k, const struct crl_json_span *v, void *ud)
{
    struct seen *s = ud;
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)k->n, k->p);
        snprintf(s->values[s->n], sizeof s->values[0], "%.*s", (int)v->n, v->p);
        s->n++;
    }
}

static void members_are_shown_as_spans(void **state)
{
    (void)state;
    struct seen s = {0};
    const char *t = " { \"a\" : [1, {\"x\":2}] ,\"b\\u0063\":\"s\\n\", \"n\":null } ";
    assert_true(crl_json_scan(t, strlen(t), collect, &s));
    assert_int_equal(s.n, 3); /* top level only */
    assert_string_equal(s.keys[0], "a");
    assert_string_equal(s.values[0], "[1, {\"x\":2}]");
    assert_string_equal(s.keys[1], "b\\u0063");
    assert_string_equal(s.values[1], "\"s\\n\"");
    assert_string_equal(s.values[2], "null");
    struct crl_json_span k = {"b\\u0063", 7};
    assert_true(crl_json_key_is(&k, "bc"));
    assert_false(crl_json_key_is(&k, "b"));
    struct crl_json_span nul = {"str\\u0065am\\u0000junk", 21};
    assert_true(crl_json_key_is(&nul, "stream")); /* cJSON compares C strings */
    /* arrays show no members */
    s.n = 0;
    assert_true(crl_json_scan("[{\"a\":1}]", 9, collect, &s));
    assert_int_equal(s.n, 0);
}

static void strings_decode(void **state)
{
    (void)state;
    const char raw[] = "a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00";
    struct crl_json_span sp = {raw, sizeof raw - 1};
    char *s = crl_json_string_decode(&sp);
    assert_string_equal(s, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    free(s);
}

/* The request reader against what a cJSON tree says about the same body. */
static void chat_request_fields(void **state)
{
    (void)state;
    struct {
        const char *body;
        int rc, stream, usage;
        const char *model;
    } cases[] = {
        {"{\"messages\":[{}]}", 0, 0, 0, NULL},
        {"{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[1]}", 0, 1, 1, "m"},
        {"{\"messages\":[1],\"stream\":false,\"stream\":true}", 0, 0, 0, NULL},   /* first key counts */
        {"{\"messages\":[1],\"str\\u0065am\":true}", 0, 1, 0, NULL},               /* escaped key */
        {"{\"messages\":[1],\"model\":\"a\\u00e9\\n\"}", 0, 0, 0, "a\xc3\xa9\n"},
        {"{\"messages\":[1],\"model\":\"\"}", 0, 0, 0, NULL},
        {"{\"messages\":[1],\"model\":null,\"stream\":null}", 0, 0, 0, NULL},
        {"{\"messages\":[1],\"stream_options\":{\"include_usage\":false,\"include_usage\":true}}", 0, 0, 0, NULL},
        {"{\"messages\":[1],\"stream_options\":[{\"include_usage\":true}]}", 0, 0, 0, NULL},
        {"{\"messages\":[ ]}", CORRAL_EINVAL, 0, 0, NULL},
        {"{\"messages\":{}}", CORRAL_EINVAL, 0, 0, NULL},
        {"{}", CORRAL_EINVAL, 0, 0, NULL},
        {"[{\"messages\":[1]}]", CORRAL_EINVAL, 0, 0, NULL},
        {"{\"messages\":[1],\"stream\":\"yes\"}", CORRAL_EINVAL, 0, 0, NULL},
        {"{\"messages\":[1],\"model\":5}", CORRAL_EINVAL, 0, 0, NULL},
        {"{\"messages\":[1]} trailing", CORRAL_EINVAL, 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct gate_chat_request r;
        char err[256] = "";
        int rc = gate_parse_chat_request(cases[i].body, strlen(cases[i].body), &r, err, sizeof err);
        if (rc != cases[i].rc)
            fail_msg("#%zu %s: rc %d (%s)", i, cases[i].body, rc, err);
        if (rc) {
            assert_true(err[0] != 0);
            continue;
        }
        if (r.stream != cases[i].stream || r.include_usage != cases[i].usage)
            fail_msg("#%zu %s: stream %d usage %d", i, cases[i].body, r.stream, r.include_usage);
        if (cases[i].model)
            assert_string_equal(r.model, cases[i].model);
        else
            assert_null(r.model);
        gate_chat_request_clear(&r);
    }
}

/* The first element of an array; and the request facts call kinds are
 * judged by (tools, max_tokens, the system prompt). */
static void array_first_and_call_facts(void **state)
{
    (void)state;
    struct crl_json_span a = {" [ {\"x\":[1,2]} , 3]", 0}, first;
    a.p++; /* spans start at the bracket */
    a.n = strlen(a.p);
    assert_true(crl_json_array_first(&a, &first));
    assert_int_equal(first.n, 11);
    assert_memory_equal(first.p, "{\"x\":[1,2]}", 11);
    struct crl_json_span empty = {"[ ]", 3}, obj = {"{}", 2};
    assert_false(crl_json_array_first(&empty, &first));
    assert_false(crl_json_array_first(&obj, &first));

    struct {
        const char *body;
        int tools;
        double max_tokens;
        const char *system;
    } cases[] = {
        {"{\"messages\":[{\"role\":\"system\",\"content\":\"S\\u00e9\"}],\"tools\":[{}]}", 1, -1, "S\xc3\xa9"},
        {"{\"messages\":[{\"role\":\"developer\",\"content\":\"D\"}],\"tools\":[],\"max_tokens\":50}", 0, 50, "D"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"U\"}],\"max_completion_tokens\":7}", 0, 7, NULL},
        {"{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"P\"}]}]}", 0, -1, NULL},
        {"{\"messages\":[1],\"max_tokens\":\"9\",\"tools\":{}}", 0, -1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct gate_chat_request r;
        char err[256] = "";
        assert_int_equal(gate_parse_chat_request(cases[i].body, strlen(cases[i].body), &r, err, sizeof err), 0);
        if (r.has_tools != cases[i].tools || r.max_tokens != cases[i].max_tokens)
            fail_msg("#%zu: tools %d max_tokens %g", i, r.has_tools, r.max_tokens);
        if (cases[i].system)
            assert_string_equal(r.system, cases[i].system);
        else
            assert_null(r.system);
        gate_chat_request_clear(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_json_is_accepted),     cmocka_unit_test(invalid_json_is_refused),
        cmocka_unit_test(nesting_is_limited),         cmocka_unit_test(members_are_shown_as_spans),
        cmocka_unit_test(strings_decode),             cmocka_unit_test(chat_request_fields),
        cmocka_unit_test(array_first_and_call_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
