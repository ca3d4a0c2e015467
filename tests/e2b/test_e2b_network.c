/* An egress policy mapped onto E2B's allowOut/denyOut: what is sent, and
 * every refusal naming its rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2b.h"

/* The network object for policy as compact JSON (malloc'ed), or NULL with err. */
static char *mapped(const char *policy, char *err, size_t n)
{
    cJSON *net = NULL;
    err[0] = '\0';
    if (e2b_network_from_policy(policy, &net, err, n))
        return NULL;
    char *s = cJSON_PrintUnformatted(net);
    cJSON_Delete(net);
    return s;
}

#define RULE(name, host, action, prio) \
    "{\"name\":\"" name "\",\"host_pattern\":\"" host "\",\"action\":\"" action "\",\"priority\":" #prio

static void test_mapping(void **st)
{
    (void)st;
    char err[512];
    char *s = mapped("{\"default\":\"deny\",\"rules\":[" RULE("rules[0]", "pypi.org", "allow", 10) "},"
                     RULE("rules[1]", "*.pythonhosted.org", "allow", 20) "}," RULE("rules[2]", "10.0.0.0/8", "deny", 30) "}]}",
                     err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "{\"allowOut\":[\"pypi.org\",\"*.pythonhosted.org\"],\"denyOut\":[\"0.0.0.0/0\",\"10.0.0.0/8\"]}");
    free(s);
    /* default allow: no blanket deny; a deny outranking an allow it does not
     * overlap (another family, another block, or a name) is fine */
    s = mapped("{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "10.0.0.0/8", "deny", 1) "},"
               RULE("rules[1]", "11.0.0.0/8", "allow", 5) "}," RULE("rules[2]", "2001:db8::/32", "allow", 6) "},"
               RULE("rules[3]", "example.com", "allow", 7) "}]}", err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "{\"allowOut\":[\"11.0.0.0/8\",\"2001:db8::/32\",\"example.com\"],\"denyOut\":[\"10.0.0.0/8\"]}");
    free(s);
    /* an allow outranking an overlapping deny is what E2B does anyway */
    s = mapped("{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "10.1.2.3", "allow", 1) "},"
               RULE("rules[1]", "10.0.0.0/8", "deny", 5) "}]}", err, sizeof err);
    assert_non_null(s);
    free(s);
    s = mapped("{\"default\":\"deny\",\"rules\":[]}", err, sizeof err);
    assert_string_equal(s, "{\"allowOut\":[],\"denyOut\":[\"0.0.0.0/0\"]}");
    free(s);
}

static void test_refusals(void **st)
{
    (void)st;
    char err[512];
    static const struct {
        const char *policy, *want;
    } cases[] = {
        {"{\"default\":\"deny\",\"rules\":[" RULE("rules[0]", "a.example", "allow", 10) ",\"methods\":[\"GET\"]}]}",
         "egress rule rules[0] (a.example) has methods, which E2B's network rules cannot express"},
        {"{\"default\":\"deny\",\"rules\":[" RULE("phases.agent.rules[1]", "a.example", "allow", 10)
         ",\"path_pattern\":\"/x\"}]}",
         "egress rule phases.agent.rules[1] (a.example) has path_pattern"},
        {"{\"default\":\"deny\",\"rules\":[" RULE("rules[0]", "a.example", "allow", 10) ",\"rate_limit_rpm\":5}]}",
         "(a.example) has rate_limit_rpm"},
        {"{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "*.evil.example", "deny", 10) "}]}",
         "egress rule rules[0] (*.evil.example) denies a domain"},
        {"{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "2001:db8::/32", "deny", 1) "},"
         RULE("rules[1]", "2001:db8:1::1", "allow", 2) "}]}",
         "egress rule rules[0] (2001:db8::/32) outranks the overlapping allow rule rules[1] (2001:db8:1::1)"},
        {"{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "10.0.0.0/9", "deny", 1) "},"
         RULE("rules[1]", "10.127.0.0/16", "allow", 2) "}]}",
         "outranks the overlapping allow rule rules[1]"},
        {"{\"default\":\"maybe\"}", "egress policy: expected"},
        {"[]", "egress policy: expected"},
        {"{\"default\":\"deny\",\"rules\":[{\"host_pattern\":1}]}", "rules[0] needs host_pattern"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = mapped(cases[i].policy, err, sizeof err);
        if (s || !strstr(err, cases[i].want))
            fail_msg("case %zu: got %s / %s", i, s ? s : "(refused)", err);
    }
    /* 10.0.0.0/9 stops at 10.127.255.255: 10.128/16 does not overlap */
    char *s = mapped("{\"default\":\"allow\",\"rules\":[" RULE("rules[0]", "10.0.0.0/9", "deny", 1) "},"
                     RULE("rules[1]", "10.128.0.0/16", "allow", 2) "}]}", err, sizeof err);
    assert_non_null(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
