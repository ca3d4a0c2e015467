/* The Connect envelope parser: whole streams, every split point, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <corral/plugin.h>

#include "connect_stream.h"

struct seen {
    char text[4096];
    int n;
};

static int record(void *ud, unsigned flags, const char *payload, size_t len)
{
    struct seen *s = ud;
    assert_int_equal(strlen(payload), len); /* NUL-terminated, no NUL inside in these tests */
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, "%u:%s|", flags, payload);
    s->n++;
    return 0;
}

static size_t frame(unsigned char *out, unsigned flags, const char *json)
{
    size_t n = strlen(json);
    out[0] = (unsigned char)flags;
    out[1] = (unsigned char)(n >> 24);
    out[2] = (unsigned char)(n >> 16);
    out[3] = (unsigned char)(n >> 8);
    out[4] = (unsigned char)n;
    memcpy(out + 5, json, n);
    return n + 5;
}

/* The byte-level example of docs/backends/e2b.md (echo hi). */
static size_t example(unsigned char *b)
{
    size_t n = 0;
    n += frame(b + n, 0, "{\"event\":{\"start\":{\"pid\":412}}}");
    n += frame(b + n, 0, "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}");
    n += frame(b + n, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
    n += frame(b + n, 0, "");
    n += frame(b + n, 2, "{}");
    return n;
}

static const char *expected = "0:{\"event\":{\"start\":{\"pid\":412}}}|0:{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}|"
                              "0:{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}|0:|2:{}|";

static void test_whole_stream(void **st)
{
    (void)st;
    unsigned char b[512];
    size_t n = example(b);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[4], 0x1F); /* as in the example's hex dump */
    struct cs_parser p;
    struct seen s = {{0}, 0};
    e2b_cs_init(&p, 0);
    assert_int_equal(e2b_cs_feed(&p, b, n, record, &s), 0);
    assert_int_equal(e2b_cs_finish(&p), 0);
    assert_string_equal(s.text, expected);
    e2b_cs_free(&p);
}

static void test_every_split(void **st)
{
    (void)st;
    unsigned char b[512];
    size_t n = example(b);
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            struct cs_parser p;
            struct seen s = {{0}, 0};
            e2b_cs_init(&p, 0);
            assert_int_equal(e2b_cs_feed(&p, b, i, record, &s), 0);
            assert_int_equal(e2b_cs_feed(&p, b + i, j - i, record, &s), 0);
            assert_int_equal(e2b_cs_feed(&p, b + j, n - j, record, &s), 0);
            assert_int_equal(e2b_cs_finish(&p), 0);
            assert_string_equal(s.text, expected);
            e2b_cs_free(&p);
        }
    /* one byte at a time */
    struct cs_parser p;
    struct seen s = {{0}, 0};
    e2b_cs_init(&p, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(e2b_cs_feed(&p, b + i, 1, record, &s), 0);
    assert_int_equal(e2b_cs_finish(&p), 0);
    assert_string_equal(s.text, expected);
    e2b_cs_free(&p);
}

static void test_truncated_is_not_finished(void **st)
{
    (void)st;
    unsigned char b[512];
    size_t n = example(b);
    for (size_t cut = 0; cut < n; cut++) {
        struct cs_parser p;
        e2b_cs_init(&p, 0);
        assert_int_equal(e2b_cs_feed(&p, b, cut, NULL, NULL), 0);
        assert_int_equal(e2b_cs_finish(&p), CORRAL_EPROTO);
        e2b_cs_free(&p);
    }
}

static void test_bad_streams(void **st)
{
    (void)st;
    unsigned char b[64];
    struct cs_parser p;
    /* compressed flag: never negotiated */
    size_t n = frame(b, 1, "{}");
    e2b_cs_init(&p, 0);
    assert_int_equal(e2b_cs_feed(&p, b, n, NULL, NULL), CORRAL_EPROTO);
    assert_int_equal(e2b_cs_feed(&p, b, n, NULL, NULL), CORRAL_EPROTO); /* stays failed */
    e2b_cs_free(&p);
    /* unknown flag bits */
    n = frame(b, 0x80, "{}");
    e2b_cs_init(&p, 0);
    assert_int_equal(e2b_cs_feed(&p, b, n, NULL, NULL), CORRAL_EPROTO);
    e2b_cs_free(&p);
    /* oversized payload is refused from the header alone */
    unsigned char big[5] = {0, 0, 0, 1, 0};
    e2b_cs_init(&p, 100);
    assert_int_equal(e2b_cs_feed(&p, big, 5, NULL, NULL), CORRAL_EPROTO);
    e2b_cs_free(&p);
    /* bytes after the end-of-stream envelope */
    n = frame(b, 2, "{}");
    n += frame(b + n, 0, "{}");
    e2b_cs_init(&p, 0);
    assert_int_equal(e2b_cs_feed(&p, b, n, NULL, NULL), CORRAL_EPROTO);
    assert_int_equal(e2b_cs_finish(&p), CORRAL_EPROTO);
    e2b_cs_free(&p);
}

static int stop_at_second(void *ud, unsigned flags, const char *payload, size_t len)
{
    (void)flags, (void)payload, (void)len;
    return ++*(int *)ud == 2 ? CORRAL_ECANCELED : 0;
}

static void test_callback_stops(void **st)
{
    (void)st;
    unsigned char b[512];
    size_t n = example(b);
    int count = 0;
    struct cs_parser p;
    e2b_cs_init(&p, 0);
    assert_int_equal(e2b_cs_feed(&p, b, n, stop_at_second, &count), CORRAL_ECANCELED);
    assert_int_equal(count, 2);
    e2b_cs_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream),     cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_truncated_is_not_finished), cmocka_unit_test(test_bad_streams),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
