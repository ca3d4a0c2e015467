/* The host keeps sandbox.h's rules: a half-made handle from a failed
 * create is closed exactly once, and calls on one handle of a plugin that
 * does not declare CORRAL_CAP_CONCURRENT never overlap. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <corral/sandbox_host.h>

#include "plugins/rules_state.h"
#include "testenv.h"

#define RULES_DIR TEST_PLUGIN_DIR "/rules"

static corral_sandbox *create(corral_ctx *ctx, const char *backend, int *rc, struct corral_call *call)
{
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .ttl_s = 60};
    struct corral_sandbox_create_opts o = {.struct_size = sizeof o, .backend = backend, .no_registry = 1};
    corral_sandbox *sb = NULL;
    *rc = corral_sandbox_create(ctx, &o, &spec, &sb, call);
    return sb;
}

static void test_half_made_handle_is_closed_once(void **state)
{
    (void)state;
    const char *dirs[] = {RULES_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_non_null(ctx);
    const struct corral_plugin_record *r = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "halfmade");
    assert_non_null(r);
    const struct rules_state *counts = r->state;
    struct corral_call call;
    corral_call_init(&call, 10000);
    int rc;
    corral_sandbox *sb = create(ctx, "halfmade", &rc, &call);
    assert_int_equal(rc, CORRAL_EIO);
    assert_null(sb);
    assert_non_null(strstr(call.message, "failed half-way"));
    assert_int_equal(counts->creates, 1);
    assert_int_equal(counts->closes, 1);
    corral_close(ctx);
}

struct worker {
    corral_sandbox *sb;
    int rc;
};

static void *exec_one(void *arg)
{
    struct worker *w = arg;
    const char *argv[] = {"true", NULL};
    struct corral_exec_request req = {.struct_size = sizeof req, .argv = argv};
    struct corral_exec_result res;
    struct corral_call call;
    corral_call_init(&call, 10000);
    w->rc = corral_sandbox_exec(w->sb, &req, &res, &call);
    return NULL;
}

static void test_calls_are_serialized_without_the_flag(void **state)
{
    (void)state;
    const char *dirs[] = {RULES_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_non_null(ctx);
    const struct corral_plugin_record *r = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "slowexec");
    assert_non_null(r);
    const struct rules_state *counts = r->state;
    struct corral_call call;
    corral_call_init(&call, 10000);
    int rc;
    corral_sandbox *sb = create(ctx, "slowexec", &rc, &call);
    assert_int_equal(rc, 0);
    enum { N = 4 };
    pthread_t th[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){sb, -1};
        assert_int_equal(pthread_create(&th[i], NULL, exec_one, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    assert_int_equal(counts->max_in_flight, 1);
    corral_sandbox_close(sb);
    assert_int_equal(counts->closes, 1);
    corral_close(ctx);
}

/* A backend without CORRAL_CAP_EGRESS_RULES that accepts an egress policy
 * instead of refusing it would run with the network open: the host takes
 * the sandbox down and refuses. */
static void test_policy_accepted_without_the_flag_is_refused(void **state)
{
    (void)state;
    const char *dirs[] = {RULES_DIR, NULL};
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_non_null(ctx);
    const struct rules_state *counts = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "slowexec")->state;
    struct corral_sandbox_spec spec = {.struct_size = sizeof spec, .ttl_s = 60, .network = CORRAL_NET_POLICY,
                                       .egress_json = "{\"default\":\"deny\",\"rules\":[]}"};
    struct corral_sandbox_create_opts o = {.struct_size = sizeof o, .backend = "slowexec", .no_registry = 1};
    corral_sandbox *sb = NULL;
    struct corral_call call;
    corral_call_init(&call, 10000);
    assert_int_equal(corral_sandbox_create(ctx, &o, &spec, &sb, &call), CORRAL_ENOTSUP);
    assert_null(sb);
    assert_non_null(strstr(call.message, "accepted an egress policy without declaring"));
    assert_int_equal(counts->creates, 1);
    assert_int_equal(counts->closes, 1);
    corral_close(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_half_made_handle_is_closed_once, testenv_fixture_setup,
                                        testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_calls_are_serialized_without_the_flag, testenv_fixture_setup,
                                        testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_policy_accepted_without_the_flag_is_refused, testenv_fixture_setup,
                                        testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
