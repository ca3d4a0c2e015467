/* Egress policies: the reader and its errors, phase inheritance, the
 * matcher, private addresses, and the wire parsers (internals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crl_common.h"
#include "rollout/rollout_internal.h"
#include "egress/egress.h"
#include "egress/egress_wire.h"
#include "tls_hello.h"

/* Parse text as a policy of origin; returns the status, message in call. */
static int parse(const char *text, enum crl_egress_origin origin, struct crl_egress *e, struct corral_call *call)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    memset(call, 0, sizeof *call);
    int r = crl_egress_from_json(j, "p.json", origin, e, call);
    cJSON_Delete(j);
    return r;
}

static void refused(const char *text, enum crl_egress_origin origin, const char *want)
{
    struct crl_egress e;
    struct corral_call call;
    assert_int_equal(parse(text, origin, &e, &call), CORRAL_EINVAL);
    if (!strstr(call.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", call.message, want);
    assert_int_equal(e.present, 0);
}

static void test_policy_phases(void **state)
{
    (void)state;
    struct crl_egress e;
    struct corral_call call;
    assert_int_equal(parse("{\"default\":\"deny\",\"rules\":["
                           "{\"host_pattern\":\"pypi.org\",\"action\":\"allow\",\"priority\":50},"
                           "{\"host_pattern\":\"*.Example.COM.\",\"action\":\"deny\",\"priority\":5}],"
                           "\"phases\":{\"verify\":{\"default\":\"allow\"}}}",
                           CRL_EGRESS_TASK, &e, &call),
                     0);
    const struct crl_egress_policy *agent = crl_egress_for(&e, CRL_EGRESS_AGENT);
    const struct crl_egress_policy *setup = crl_egress_for(&e, CRL_EGRESS_SETUP);
    const struct crl_egress_policy *verify = crl_egress_for(&e, CRL_EGRESS_VERIFY);
    assert_ptr_equal(agent, setup); /* inherited */
    assert_int_equal(agent->n, 2);
    assert_string_equal(agent->rules[0].name, "rules[1]"); /* sorted by priority */
    assert_string_equal(agent->rules[0].host, ".example.com");
    assert_int_equal(agent->default_action, CRL_EGRESS_DENY);
    assert_int_equal(verify->default_action, CRL_EGRESS_ALLOW);
    assert_int_equal(verify->n, 0);
    crl_egress_free(&e);
    assert_null(crl_egress_for(&e, CRL_EGRESS_AGENT));
}

static void test_policy_errors(void **state)
{
    (void)state;
    refused("{\"rules\":[{\"host_pattern\":\"a..b\",\"action\":\"allow\"}]}", CRL_EGRESS_OPERATOR,
            "p.json: rules[0]: host_pattern \"a..b\" is malformed");
    refused("{\"rules\":[{\"host_pattern\":\"ok.org\",\"action\":\"allow\"},{\"host_pattern\":\"foo.*\",\"action\":\"allow\"}]}",
            CRL_EGRESS_OPERATOR, "rules[1]: host_pattern \"foo.*\" is malformed");
    refused("{\"rules\":[{\"host_pattern\":\"10.0.0.1/8\",\"action\":\"allow\"}]}", CRL_EGRESS_OPERATOR,
            "host bits set");
    refused("{\"rules\":[{\"host_pattern\":\"10.0.0.0/33\",\"action\":\"allow\"}]}", CRL_EGRESS_OPERATOR,
            "prefix length");
    refused("{\"phases\":{\"build\":{}}}", CRL_EGRESS_OPERATOR, "unknown phase \"build\"");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"priority\":1},"
            "{\"host_pattern\":\"*.org\",\"action\":\"deny\",\"priority\":1}]}",
            CRL_EGRESS_OPERATOR, "rules[0] and rules[1] conflict");
    refused("{\"phases\":{\"agent\":{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"priority\":1},"
            "{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"priority\":1,\"rate_limit_rpm\":3}]}}}",
            CRL_EGRESS_OPERATOR, "phases.agent.rules[0] and phases.agent.rules[1] conflict");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"maybe\"}]}", CRL_EGRESS_OPERATOR, "action");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"methods\":[\"FETCH\"]}]}",
            CRL_EGRESS_OPERATOR, "\"FETCH\" is not one of");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"path_pattern\":\"x\"}]}",
            CRL_EGRESS_OPERATOR, "path_pattern must start with '/'");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"port\":1}]}", CRL_EGRESS_OPERATOR,
            "rules[0]: unknown key \"port\"");
    refused("{\"default\":\"open\"}", CRL_EGRESS_OPERATOR, "default must be");
    refused("{\"rules\":[{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"rate_limit_rpm\":0}]}",
            CRL_EGRESS_OPERATOR, "rate_limit_rpm");
    /* a task may not open the host's private addresses; an operator may */
    refused("{\"rules\":[{\"host_pattern\":\"127.0.0.1\",\"action\":\"allow\"}]}", CRL_EGRESS_TASK,
            "only an operator's policy");
    refused("{\"rules\":[{\"host_pattern\":\"0.0.0.0/0\",\"action\":\"allow\"}]}", CRL_EGRESS_TASK,
            "only an operator's policy");
    struct crl_egress e;
    struct corral_call call;
    assert_int_equal(parse("{\"rules\":[{\"host_pattern\":\"127.0.0.1\",\"action\":\"allow\"},"
                           "{\"host_pattern\":\"a.org\",\"action\":\"allow\",\"priority\":10},"
                           "{\"host_pattern\":\"b.org\",\"action\":\"deny\",\"priority\":10}]}",
                           CRL_EGRESS_OPERATOR, &e, &call),
                     0); /* equal priorities that cannot meet are fine */
    crl_egress_free(&e);
}

static const char *decide(const struct crl_egress_policy *p, const char *host, const char *method, const char *path)
{
    struct crl_egress_request r = {host, method, path};
    const struct crl_egress_rule *rule = crl_egress_match(p, &r);
    return rule ? rule->name : "default";
}

static void test_match(void **state)
{
    (void)state;
    struct crl_egress e;
    struct corral_call call;
    assert_int_equal(parse("{\"rules\":["
                           "{\"host_pattern\":\"api.test\",\"action\":\"allow\",\"methods\":[\"get\"],\"path_pattern\":\"/v1/*\"},"
                           "{\"host_pattern\":\"*.pkg.test\",\"action\":\"allow\"},"
                           "{\"host_pattern\":\"192.0.2.0/24\",\"action\":\"allow\"},"
                           "{\"host_pattern\":\"2001:db8::/32\",\"action\":\"deny\"}]}",
                           CRL_EGRESS_OPERATOR, &e, &call),
                     0);
    const struct crl_egress_policy *p = crl_egress_for(&e, CRL_EGRESS_AGENT);
    assert_string_equal(decide(p, "api.test", "GET", "/v1/models"), "rules[0]");
    assert_string_equal(decide(p, "api.test", "POST", "/v1/models"), "default");
    assert_string_equal(decide(p, "api.test", "GET", "/v2/models"), "default");
    assert_string_equal(decide(p, "api.test", NULL, NULL), "default"); /* a tunnel: methods unseen */
    assert_string_equal(decide(p, "a.b.pkg.test", NULL, NULL), "rules[1]");
    assert_string_equal(decide(p, "pkg.test", NULL, NULL), "default"); /* *.domain is not the domain */
    assert_string_equal(decide(p, "xpkg.test", NULL, NULL), "default");
    assert_string_equal(decide(p, "192.0.2.77", NULL, NULL), "rules[2]");
    assert_string_equal(decide(p, "192.0.3.1", NULL, NULL), "default");
    assert_string_equal(decide(p, "2001:db8::5", NULL, NULL), "rules[3]");
    assert_string_equal(decide(p, "2001:db9::5", NULL, NULL), "default");
    crl_egress_free(&e);
    assert_true(crl_egress_glob("/a/*/c", "/a/b/x/c"));
    assert_false(crl_egress_glob("/a/*/c", "/a/b/x/d"));
    assert_true(crl_egress_glob("*", ""));
}

static int private(const char *s)
{
    int fam;
    unsigned char a[16];
    assert_int_equal(crl_egress_parse_addr(s, &fam, a), 0);
    return crl_egress_addr_is_private(fam, a);
}

static void test_private(void **state)
{
    (void)state;
    const char *yes[] = {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                         "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
                         "::ffff:127.0.0.1", "64:ff9b::7f00:1"};
    const char *no[] = {"8.8.8.8", "172.32.0.1", "192.0.2.1", "2606:4700::1111", "::ffff:1.1.1.1"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!private(yes[i]))
            fail_msg("%s should be private", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (private(no[i]))
            fail_msg("%s should be public", no[i]);
}

/* task.toml's [egress] and task.json's "egress" through the task readers. */
static void test_task_files(void **state)
{
    (void)state;
    const char *text = "[egress]\ndefault = \"deny\"\n[[egress.rules]]\nhost_pattern = \"pypi.org\"\naction = "
                       "\"allow\"\nrate_limit_rpm = 60\n[egress.phases.verify]\ndefault = \"deny\"\n";
    struct corral_task t = {0};
    struct corral_call call = {0};
    assert_int_equal(crl_task_parse_toml(&t, text, strlen(text), "task.toml", &call), 0);
    assert_non_null(t.egress_json);
    cJSON *j = cJSON_Parse(t.egress_json);
    struct crl_egress e;
    assert_int_equal(crl_egress_from_json(j, "again", CRL_EGRESS_TASK, &e, &call), 0);
    assert_int_equal(crl_egress_for(&e, CRL_EGRESS_AGENT)->rules[0].rate_limit_rpm, 60);
    assert_int_equal(crl_egress_for(&e, CRL_EGRESS_VERIFY)->n, 0);
    crl_egress_free(&e);
    cJSON_Delete(j);
    free(t.egress_json);
    free(t.metadata_json);
    crl_strv_free_array(t.warnings);
    memset(&t, 0, sizeof t);
    text = "[egress]\n[[egress.rules]]\nhost_pattern = \"x\"\naction = 1979-05-27\n";
    assert_int_equal(crl_task_parse_toml(&t, text, strlen(text), "task.toml", &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "task.toml: [egress]: rules[0]: action"));
    assert_null(t.egress_json);
    crl_strv_free_array(t.warnings);
    memset(&t, 0, sizeof t);
    assert_int_equal(crl_task_parse_json(&t, "{\"egress\":{\"phases\":{\"train\":{}}}}", "task.json", &call),
                     CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "task.json: egress: phases: unknown phase \"train\""));
    /* Harbor's allowlist is a policy of its own */
    text = "[environment]\nnetwork_mode = \"allowlist\"\nallowed_hosts = [\"pypi.org\", \"*.github.com\"]\n";
    assert_int_equal(crl_task_parse_toml(&t, text, strlen(text), "task.toml", &call), 0);
    assert_int_equal(t.network, CORRAL_NET_NONE);
    assert_string_equal(t.egress_json, "{\"rules\":[{\"host_pattern\":\"pypi.org\",\"action\":\"allow\"},"
                                       "{\"host_pattern\":\"*.github.com\",\"action\":\"allow\"}],\"default\":\"deny\"}");
    free(t.egress_json);
    crl_strv_free_array(t.warnings);
    free(t.env);
    memset(&t, 0, sizeof t);
    text = "[environment]\nnetwork_mode = \"allowlist\"\nallowed_hosts = [\"127.0.0.1\"]\n";
    assert_int_equal(crl_task_parse_toml(&t, text, strlen(text), "task.toml", &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "task.toml: [environment] allowed_hosts: rules[0]: host_pattern \"127.0.0.1\" names a private"));
    crl_strv_free_array(t.warnings);
    free(t.egress_json);
    memset(&t, 0, sizeof t);
    text = "[environment]\nnetwork_mode = \"allowlist\"\nallowed_hosts = [\"a.org\"]\n[egress]\ndefault = \"allow\"\n";
    assert_int_equal(crl_task_parse_toml(&t, text, strlen(text), "task.toml", &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "egress: and a network_mode = \"allowlist\" (or a phase's network_mode) both give"));
    crl_strv_free_array(t.warnings);
    free(t.egress_json);
    free(t.env);
    memset(&t, 0, sizeof t);
    assert_int_equal(crl_task_parse_json(&t, "{\"egress\":{\"default\":\"allow\"}}", "task.json", &call), 0);
    assert_string_equal(t.egress_json, "{\"default\":\"allow\"}");
    free(t.egress_json);
}

static int head(const char *s, struct crl_egress_head *h)
{
    return crl_egress_parse_head(s, strlen(s), h);
}

static void test_wire_head(void **state)
{
    (void)state;
    struct crl_egress_head h;
    assert_int_equal(head("CONNECT Pkg.Test.:443 HTTP/1.1\r\nHost: x\r\n\r\nrest", &h), 1);
    assert_true(h.is_connect);
    assert_string_equal(h.host, "pkg.test");
    assert_int_equal(h.port, 443);
    assert_int_equal(h.head_len, strlen("CONNECT Pkg.Test.:443 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(head("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n", &h), 1);
    assert_string_equal(h.host, "2001:db8::1");
    assert_int_equal(head("GET http://a.test?q=1 HTTP/1.1\r\n\r\n", &h), 1);
    assert_string_equal(h.path, "/?q=1");
    assert_int_equal(h.port, 80);
    assert_int_equal(head("GET http://a.test:8080/x/y HTTP/1.0\r\nA: b\r\n\r\n", &h), 1);
    assert_string_equal(h.path, "/x/y");
    assert_int_equal(h.port, 8080);
    assert_int_equal(head("GET http://a.test/x HTTP/1.1\r\nA: b\r\n", &h), 0); /* more to come */
    assert_int_equal(head("GET /x HTTP/1.1\r\n\r\n", &h), 400);                /* not a proxy request */
    assert_int_equal(head("GET https://a.test/ HTTP/1.1\r\n\r\n", &h), 501);
    assert_int_equal(head("GET http://u@a.test/ HTTP/1.1\r\n\r\n", &h), 400);
    assert_int_equal(head("CONNECT a.test HTTP/1.1\r\n\r\n", &h), 400);       /* port required */
    assert_int_equal(head("CONNECT a.test:0 HTTP/1.1\r\n\r\n", &h), 400);
    assert_int_equal(head("CONNECT a.test:70000 HTTP/1.1\r\n\r\n", &h), 400);
    assert_int_equal(head("GET http://a.test/ HTTP/1.1\r\n folded\r\n\r\n", &h), 400);
    assert_int_equal(head("GET http://a b/ HTTP/1.1\r\n\r\n", &h), 400);
    assert_int_equal(head("GET http://a.test/ HTTP/2.0\r\n\r\n", &h), 400);
    char *big = malloc(CRL_EGRESS_HEAD_MAX + 10);
    memset(big, 'a', CRL_EGRESS_HEAD_MAX + 9);
    big[CRL_EGRESS_HEAD_MAX + 9] = '\0';
    assert_int_equal(head(big, &h), 431);
    free(big);
}

static void test_wire_rewrite(void **state)
{
    (void)state;
    const char *req = "POST http://a.test:81/p?q HTTP/1.1\r\nHost: evil.test\r\nProxy-Authorization: x\r\n"
                      "Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\nX-Keep: 1\r\nContent-Length: 2\r\n\r\nhi";
    struct crl_egress_head h;
    assert_int_equal(head(req, &h), 1);
    struct crl_buf out = {0};
    assert_int_equal(crl_egress_rewrite(&h, req, &out), 0);
    assert_int_equal(crl_buf_add(&out, "", 1), 0);
    assert_string_equal(out.p, "POST /p?q HTTP/1.1\r\nHost: a.test:81\r\nX-Keep: 1\r\nContent-Length: 2\r\n"
                               "Connection: close\r\n\r\n");
    crl_buf_free(&out);
}

static void test_wire_sni(void **state)
{
    (void)state;
    unsigned char b[600];
    char sni[256];
    size_t n = tls_hello(b, "Pkg.Test");
    assert_int_equal(crl_egress_client_hello_sni(b, n, sni, sizeof sni), 1);
    assert_string_equal(sni, "pkg.test");
    for (size_t k = 0; k < n; k++) /* every prefix asks for more */
        assert_int_equal(crl_egress_client_hello_sni(b, k, sni, sizeof sni), -2);
    n = tls_hello(b, NULL);
    assert_int_equal(crl_egress_client_hello_sni(b, n, sni, sizeof sni), 0);
    assert_int_equal(crl_egress_client_hello_sni((const unsigned char *)"SSH-2.0-x\r\n", 11, sni, sizeof sni), 0);
    n = tls_hello(b, "a.test");
    b[9 + 2 + 32 + 1 + 4 + 2 + 1] = 0xff; /* the extensions' length, broken */
    assert_int_equal(crl_egress_client_hello_sni(b, n, sni, sizeof sni), -1);
    /* split over two records */
    unsigned char two[700];
    n = tls_hello(b, "split.test");
    size_t payload = n - 5, first = 20;
    memcpy(two, b, 5);
    two[3] = 0, two[4] = (unsigned char)first;
    memcpy(two + 5, b + 5, first);
    two[5 + first] = 0x16, two[6 + first] = 3, two[7 + first] = 1;
    two[8 + first] = 0, two[9 + first] = (unsigned char)(payload - first);
    memcpy(two + 10 + first, b + 5 + first, payload - first);
    assert_int_equal(crl_egress_client_hello_sni(two, n + 5, sni, sizeof sni), 1);
    assert_string_equal(sni, "split.test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_phases), cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_match),         cmocka_unit_test(test_private),
        cmocka_unit_test(test_task_files),          cmocka_unit_test(test_wire_head),
        cmocka_unit_test(test_wire_rewrite),  cmocka_unit_test(test_wire_sni),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
