/* sandbox_docker's configuration through the real loader: bad values are
 * refused at init with a reason naming them, and an unreachable daemon is
 * a transient error naming the address.  Needs no docker daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "testenv.h"

static const struct corral_plugin_record *open_with(const char *json, corral_ctx **ctx)
{
    const char *cfg = testenv_write("extra.json", json);
    const char *dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    int st;
    *ctx = testenv_open(dirs, cfg, &st);
    assert_non_null(*ctx);
    return testenv_record(*ctx, CORRAL_PLUGIN_SANDBOX, "docker", CORRAL_BUILD_PLUGIN_DIR);
}

static void refused(const char *json, const char *why)
{
    corral_ctx *ctx;
    const struct corral_plugin_record *r = open_with(json, &ctx);
    assert_non_null(r);
    assert_int_equal(r->status, CORRAL_PLUGIN_REFUSED);
    if (!r->reason || !strstr(r->reason, why))
        fail_msg("%s: reason '%s' does not mention '%s'", json, r->reason ? r->reason : "", why);
    corral_close(ctx);
}

static void test_bad_config_refused(void **st)
{
    (void)st;
    refused("{\"sandbox\":{\"docker\":{\"host\":\"ftp://example\"}}}", "neither unix");
    refused("{\"sandbox\":{\"docker\":{\"cap_add\":[\"SYS_ADMIN\"]}}}", "SYS_ADMIN");
    refused("{\"sandbox\":{\"docker\":{\"create_options\":\"{\\\"privileged\\\":true}\"}}}", "'privileged'");
    refused("{\"sandbox\":{\"docker\":{\"create_options\":\"[]\"}}}", "not a JSON object");
}

static int count_cb(void *ud, const struct corral_sandbox_info *info)
{
    (void)info;
    ++*(int *)ud;
    return 0;
}

static void test_unreachable_daemon(void **st)
{
    (void)st;
    corral_ctx *ctx;
    const struct corral_plugin_record *r =
        open_with("{\"sandbox\":{\"docker\":{\"host\":\"unix:///nonexistent/docker.sock\"}}}", &ctx);
    assert_non_null(r);
    assert_int_equal(r->status, CORRAL_PLUGIN_LOADED);
    const struct corral_sandbox_ops *ops = r->desc->ops;
    struct corral_call c;
    corral_call_init(&c, 20000);
    int n = 0;
    int rc = ops->list(r->state, NULL, count_cb, &n, &c);
    assert_true(corral_status_is_transient(rc));
    assert_non_null(strstr(c.message, "/nonexistent/docker.sock"));
    assert_int_equal(n, 0);
    corral_close(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_config_refused, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_daemon, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
