/* common/: the helpers libcorral and the in-tree plugins share (growable
 * buffer and its bounded sink, random names, exec command arrays,
 * environment variable names, string vectors, reading files, base64,
 * secrets, listen addresses, numbers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ctype.h>
#include <locale.h>

#include "crl_common.h"

static void buf_grows_and_stays_terminated(void **state)
{
    (void)state;
    struct crl_buf b = {0};
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 100; i++)
        assert_int_equal(crl_buf_add(&b, chunk, sizeof chunk), 0);
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.p[b.len], '\0');
    assert_int_equal(strspn(b.p, "x"), 100000);
    assert_int_equal(crl_buf_addf(&b, "|%d|%s", 42, "ok"), 0);
    assert_string_equal(b.p + 100000, "|42|ok");
    assert_int_equal(crl_buf_puts(&b, ""), 0);
    assert_int_equal(b.len, 100006);
    crl_buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    /* an empty add still yields a terminated (empty) string */
    assert_int_equal(crl_buf_add(&b, "", 0), 0);
    assert_string_equal(b.p, "");
    crl_buf_free(&b);
}

static void buf_sink_stops_at_its_bound(void **state)
{
    (void)state;
    struct crl_buf_sink s = {.max = 10};
    assert_int_equal(crl_buf_sink_write(&s, "0123456", 7), 0);
    assert_int_equal(crl_buf_sink_write(&s, "789", 3), 0);
    assert_false(s.over);
    assert_int_equal(crl_buf_sink_write(&s, "a", 1), CORRAL_EIO);
    assert_true(s.over);
    assert_string_equal(s.buf.p, "0123456789"); /* what came before the bound stays */
    crl_buf_free(&s.buf);
}

static void random_hex_is_hex_and_differs(void **state)
{
    (void)state;
    char a[33], b[33];
    memset(a, '#', sizeof a);
    assert_int_equal(crl_random_hex(a, 16), 0);
    assert_int_equal(crl_random_hex(b, 16), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    char big[200];
    assert_int_equal(crl_random_hex(big, 65), -1); /* more than it draws at once */
}

static char *cmd_text(const struct corral_exec_request *req, int64_t timeout_ms)
{
    cJSON *c = crl_cmd_json(req, timeout_ms);
    char *s = c ? cJSON_PrintUnformatted(c) : NULL;
    cJSON_Delete(c);
    return s;
}

static void cmd_json_argv_shell_and_timeout(void **state)
{
    (void)state;
    const char *argv[] = {"echo", "a b", NULL};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv};
    char *s = cmd_text(&req, 0);
    assert_string_equal(s, "[\"echo\",\"a b\"]");
    free(s);
    s = cmd_text(&req, 1500);
    assert_string_equal(s, "[\"timeout\",\"-k\",\"2\",\"1.500\",\"echo\",\"a b\"]");
    free(s);
    req.shell = "exit 3";
    s = cmd_text(&req, 60000);
    assert_string_equal(s, "[\"timeout\",\"-k\",\"2\",\"60.000\",\"/bin/sh\",\"-c\",\"exit 3\"]");
    free(s);
    struct corral_exec_request none = {.struct_size = sizeof none};
    assert_null(crl_cmd_json(&none, 0));
    const char *empty[] = {NULL};
    none.argv = empty;
    assert_null(crl_cmd_json(&none, 1000));
}

static void env_names_are_ascii_in_every_locale(void **state)
{
    (void)state;
    /* Single-byte locales make isalpha() accept bytes above 127 (0xE9 is
     * e-acute in Latin-1); whichever of these the machine has must not
     * change the answer. */
    static const char *const locales[] = {"C", "C.UTF-8", "en_US.UTF-8", "en_US.ISO-8859-1", "de_DE.ISO-8859-1",
                                          "fr_FR", ""};
    for (size_t l = 0; l < sizeof locales / sizeof locales[0]; l++) {
        if (!setlocale(LC_ALL, locales[l]))
            continue;
        if (strstr(locales[l], "8859-1"))
            assert_true(isalpha(0xe9)); /* the locale really is Latin-1 */
        static const struct {
            const char *name;
            int ok;
        } names[] = {
            {"_x9", 1}, {"OPENAI_API_KEY", 1}, {"", 0}, {"9A", 0}, {"A-B", 0},
            {"\xe9", 0},         /* Latin-1 e-acute: isalpha() in a Latin-1 locale */
            {"CAF\xe9", 0},      {"A\xb2", 0}, /* Latin-1 superscript two: isalnum() there */
            {"\xc3\xa9T\xc3\xa9", 0}, /* UTF-8 "ete" with accents */
            {"\xd0\x90", 0},     /* Cyrillic A */
        };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            assert_int_equal(crl_is_env_name(names[i].name), names[i].ok);
        assert_false(crl_is_env_name(NULL));
        assert_true(crl_is_env_name_n("AB=1", 2));
        assert_false(crl_is_env_name_n("AB=1", 3));
        assert_false(crl_is_env_name_n("AB", 0));
        assert_true(crl_is_env_entry("A=b=c\n\xe9")); /* any value */
        assert_false(crl_is_env_entry("=x"));
        assert_false(crl_is_env_entry("\xe9=x"));
        assert_false(crl_is_env_entry("A"));
        assert_false(crl_is_env_entry(NULL));
    }
    setlocale(LC_ALL, "C");
}

static void strv_grows_dups_and_hands_over(void **state)
{
    (void)state;
    struct crl_strv sv = {0};
    assert_null(crl_strv_get(&sv)[0]); /* empty: a static {NULL} */
    for (int i = 0; i < 100; i++)
        assert_int_equal(crl_strv_pushf(&sv, "K%d=%d", i, i * i), 0);
    assert_int_equal(sv.n, 100);
    assert_null(sv.v[100]);
    assert_string_equal(sv.v[99], "K99=9801");
    assert_int_equal(crl_strv_len(crl_strv_get(&sv)), 100);

    char **copy = crl_strv_dup(crl_strv_get(&sv));
    assert_non_null(copy);
    assert_int_equal(crl_strv_len((const char *const *)copy), 100);
    assert_ptr_not_equal(copy[0], sv.v[0]);
    assert_string_equal(copy[42], "K42=1764");
    crl_strv_wipe_array(copy);

    char **v = crl_strv_take(&sv);
    assert_null(sv.v);
    assert_int_equal(sv.n, 0);
    assert_string_equal(v[0], "K0=0");
    crl_strv_free_array(v);

    char **none = crl_strv_take(&sv); /* an empty vector still gives an array */
    assert_non_null(none);
    assert_null(none[0]);
    crl_strv_free_array(none);
    assert_int_equal(crl_strv_len(NULL), 0);
    char **dnull = crl_strv_dup(NULL);
    assert_non_null(dnull);
    assert_null(dnull[0]);
    crl_strv_free_array(dnull);
    crl_strv_free_array(NULL);
    crl_strv_wipe_array(NULL);
    crl_strv_free(&sv);
}

static void read_file_whole_bounded_and_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/test_common_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int e = -1;
    size_t len = 99;
    char *t = crl_read_file(path, &len, &e); /* empty: "" and 0 */
    assert_non_null(t);
    assert_int_equal(e, 0);
    assert_int_equal(len, 0);
    assert_string_equal(t, "");
    free(t);

    char big[20000]; /* more than one read, with a NUL inside */
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    big[100] = '\0';
    assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
    close(fd);
    t = crl_read_file(path, &len, &e);
    assert_non_null(t);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(t, big, sizeof big);
    assert_int_equal(t[len], '\0');
    free(t);
    t = crl_read_file_max(path, sizeof big, NULL, &e); /* exactly the bound: fine */
    assert_non_null(t);
    free(t);
    assert_null(crl_read_file_max(path, sizeof big - 1, &len, &e));
    assert_int_equal(e, EFBIG);
    unlink(path);
    assert_null(crl_read_file(path, &len, &e));
    assert_int_equal(e, ENOENT);
}

static void b64_round_trips_and_refuses_garbage(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *enc;
    } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}}; /* RFC 4648 section 10 */
    unsigned char out[64];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *e = crl_b64_encode(v[i].plain, strlen(v[i].plain));
        assert_string_equal(e, v[i].enc);
        free(e);
        long n = crl_b64_decode(v[i].enc, strlen(v[i].enc), out);
        assert_int_equal(n, (long)strlen(v[i].plain));
        assert_memory_equal(out, v[i].plain, (size_t)n);
    }
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    char *e = crl_b64_encode(bin, sizeof bin);
    unsigned char back[256 / 3 * 4 + 8];
    assert_int_equal(crl_b64_decode(e, strlen(e), back), 256);
    assert_memory_equal(back, bin, 256);
    free(e);
    assert_int_equal(crl_b64_decode("Zm9vYg", 6, out), 4);  /* padding optional */
    assert_int_equal(crl_b64_decode("-_-_", 4, out), 3);    /* URL-safe alphabet */
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(crl_b64_decode("Zm9v!", 5, out), -1);  /* not in the alphabet */
    assert_int_equal(crl_b64_decode("Zm9vY", 5, out), -1);  /* a lone 6-bit group */
    assert_int_equal(crl_b64_decode("Zg==Zg", 6, out), -1); /* data after padding */
}

static void bearer_header_and_wipe(void **state)
{
    (void)state;
    char *h = crl_bearer_header("tok-123");
    assert_string_equal(h, "Authorization: Bearer tok-123");
    crl_wipe_free(h);
    crl_wipe_free(NULL);
    h = crl_bearer_header("");
    assert_string_equal(h, "Authorization: Bearer ");
    crl_wipe_free(h);
}

/* One rule for every sandbox workdir: a task's, the CLI's, the backends'. */
static void workdir_rule(void **state)
{
    (void)state;
    const char *const ok[] = {"/workspace", "/app/", "/srv/x", "/home/user/proj", "/etcetera", "/usr2", "/a..b"};
    const char *const bad[] = {NULL, "", "rel/dir", "/", "//", "/proc", "/etc/", "/etc/ssh", "/usr/lib", "/lib64",
                               "/a/../etc", "/a/./b", "/a/..", "/a/.", "/tests", "/logs/verifier", "/var/run/x"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_null(crl_workdir_refusal(ok[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(crl_workdir_refusal(bad[i]));
    char *big = malloc(CRL_WORKDIR_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', CRL_WORKDIR_MAX + 1);
    big[0] = '/';
    big[CRL_WORKDIR_MAX + 1] = '\0';
    assert_string_equal(crl_workdir_refusal(big), "must be at most 4095 bytes long");
    big[CRL_WORKDIR_MAX] = '\0';
    assert_null(crl_workdir_refusal(big));
    free(big);
}

static void host_port_v4_names_and_bracketed_v6(void **state)
{
    (void)state;
    char host[64];
    uint16_t port = 1;
    assert_int_equal(crl_parse_host_port("127.0.0.1:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(crl_parse_host_port("[::1]:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(crl_parse_host_port("[fe80::1%eth0]:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "fe80::1%eth0");
    assert_int_equal(port, 65535);
    assert_int_equal(crl_parse_host_port("localhost:443", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");

    static const char *const bad[] = {
        "", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999999999999999999",
        "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80x", "127.0.0.1:0x50",
        "::1:80", /* unbracketed IPv6 */
        "[::1]", "[::1]80", "[::1:80", "[]:80", "[::1]:", "[::1]:x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(host, "untouched");
        port = 7;
        assert_int_equal(crl_parse_host_port(bad[i], host, sizeof host, &port), -1);
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 7);
    }
    assert_int_equal(crl_parse_host_port(NULL, host, sizeof host, &port), -1);
    char tiny[9]; /* "127.0.0.1" needs 10 bytes */
    assert_int_equal(crl_parse_host_port("127.0.0.1:80", tiny, sizeof tiny, &port), -1);
    assert_int_equal(crl_parse_host_port("10.0.0.1:80", tiny, sizeof tiny, &port), 0);
}

static void numbers_whole_decimal_and_in_range(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(crl_parse_i64("600", 1, 1000, &v), 0);
    assert_int_equal(v, 600);
    assert_int_equal(crl_parse_i64("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(crl_parse_i64("9223372036854775807", 0, INT64_MAX, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(crl_parse_i64("007", 0, 10, &v), 0); /* decimal, not octal */
    assert_int_equal(v, 7);
    static const char *const bad[] = {"", "abc", "-", "-1", "0", "1001", "10s", " 5", "5 ", "+5", "0x10",
                                      "1e3", "1.0", "99999999999999999999", "9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        assert_int_equal(crl_parse_i64(bad[i], 1, i >= 13 ? INT64_MAX : 1000, &v), -1);
        assert_int_equal(v, 7);
    }
    assert_int_equal(crl_parse_i64(NULL, 0, 1, &v), -1);

    double d = 7;
    assert_int_equal(crl_parse_decimal("2.5", 0, 10, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(crl_parse_decimal(".5", 0, 10, &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(crl_parse_decimal("3", 0, 10, &d), 0);
    assert_true(d == 3);
    assert_int_equal(crl_parse_decimal("0", 0, 10, &d), 0);
    static const char *const dbad[] = {"", ".", "-1", "+1", "1e3", "0x1p3", "inf", "nan", "1.2.3", "1,5",
                                       " 1", "11", "0.0001"};
    for (size_t i = 0; i < sizeof dbad / sizeof dbad[0]; i++) {
        d = 7;
        assert_int_equal(crl_parse_decimal(dbad[i], 0.001, 10, &d), -1);
        assert_true(d == 7);
    }

    /* Parsed JSON numbers: finite and in range before any conversion. */
    v = 7;
    assert_int_equal(crl_number_i64(600.9, 0, CRL_MAX_TIMEOUT_S, &v), 0);
    assert_int_equal(v, 600);
    static const double ibad[] = {1e300, -1e300, -5, 9223372036854775807.0, 604801, NAN, INFINITY};
    for (size_t i = 0; i < sizeof ibad / sizeof ibad[0]; i++) {
        v = 7;
        assert_int_equal(crl_number_i64(ibad[i], 0, i == 3 ? INT64_MAX : CRL_MAX_TIMEOUT_S, &v), -1);
        assert_int_equal(v, 7);
    }
    assert_int_equal(crl_number_in(NAN, 0, 1), -1);
    assert_int_equal(crl_number_in(0.5, 0, 1), 0);
}

/* A FIFO or a directory where a file is expected: refused at once, never
 * blocking; a symlink refused only with CRL_READ_NOFOLLOW. */
static void read_file_refuses_non_regular(void **state)
{
    (void)state;
    char dir[] = "/tmp/corral-tc-XXXXXX", fifo[64], file[64], link[64];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(file, sizeof file, "%s/file", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    assert_int_equal(symlink("file", link), 0);
    int e = 0;
    assert_null(crl_read_file(fifo, NULL, &e));
    assert_int_equal(e, CRL_ENOTREG);
    assert_string_equal(crl_file_strerror(e), "not a regular file (refused)");
    assert_null(crl_read_file(dir, NULL, &e));
    assert_int_equal(e, EISDIR);
    char *t = crl_read_file(link, NULL, &e);
    assert_string_equal(t, "x");
    free(t);
    assert_null(crl_read_file_at(AT_FDCWD, link, CRL_READ_NOFOLLOW, 0, NULL, &e));
    assert_int_equal(e, ELOOP);
    unlink(fifo);
    unlink(file);
    unlink(link);
    rmdir(dir);
}

/* ---- crl_retry_transient_with: the one backoff schedule ---------------------------- */

struct retry_probe {
    int calls, fail_times, fail_code, waits;
    int64_t waited[8], remaining;
};

static int retry_op(void *ud, corral_call *call)
{
    (void)call;
    struct retry_probe *p = ud;
    return p->calls++ < p->fail_times ? p->fail_code : 0;
}

static int never_cancelled(const corral_call *call)
{
    (void)call;
    return 0;
}

static struct retry_probe *probe_now;
static int64_t probe_remaining(const corral_call *call)
{
    (void)call;
    return probe_now->remaining;
}

static void retry_wait(void *ud, corral_call *call, int64_t wait_ms)
{
    (void)call;
    struct retry_probe *p = ud;
    if (p->waits < 8)
        p->waited[p->waits] = wait_ms;
    p->waits++;
}

static void retry_transient_backs_off_then_stops(void **state)
{
    (void)state;
    const struct crl_retry_clock clk = {never_cancelled, probe_remaining, retry_wait};
    /* two 503s, then success: three tries, pauses of 250 and 500 ms */
    struct retry_probe p = {.fail_times = 2, .fail_code = CORRAL_ETRANSIENT, .remaining = INT64_MAX};
    probe_now = &p;
    assert_int_equal(crl_retry_transient_with(&clk, retry_op, &p, NULL), 0);
    assert_int_equal(p.calls, 3);
    assert_int_equal(p.waits, 2);
    assert_int_equal(p.waited[0], 250);
    assert_int_equal(p.waited[1], 500);
    /* a permanent failure is not tried again */
    p = (struct retry_probe){.fail_times = 9, .fail_code = CORRAL_EIO, .remaining = INT64_MAX};
    assert_int_equal(crl_retry_transient_with(&clk, retry_op, &p, NULL), CORRAL_EIO);
    assert_int_equal(p.calls, 1);
    /* no time left in the call for the first pause: one try */
    p = (struct retry_probe){.fail_times = 9, .fail_code = CORRAL_ETIMEDOUT, .remaining = 200};
    assert_int_equal(crl_retry_transient_with(&clk, retry_op, &p, NULL), CORRAL_ETIMEDOUT);
    assert_int_equal(p.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_grows_and_stays_terminated),
        cmocka_unit_test(buf_sink_stops_at_its_bound),
        cmocka_unit_test(random_hex_is_hex_and_differs),
        cmocka_unit_test(cmd_json_argv_shell_and_timeout),
        cmocka_unit_test(env_names_are_ascii_in_every_locale),
        cmocka_unit_test(retry_transient_backs_off_then_stops),
        cmocka_unit_test(strv_grows_dups_and_hands_over),
        cmocka_unit_test(read_file_whole_bounded_and_errors),
        cmocka_unit_test(read_file_refuses_non_regular),
        cmocka_unit_test(b64_round_trips_and_refuses_garbage),
        cmocka_unit_test(bearer_header_and_wipe),
        cmocka_unit_test(host_port_v4_names_and_bracketed_v6),
        cmocka_unit_test(workdir_rule),
        cmocka_unit_test(numbers_whole_decimal_and_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
