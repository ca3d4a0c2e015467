/* corral_batch_run(): what it refuses before running anything, and that a
 * batch of oracle rollouts reports each one once (the CLI tests in
 * tests/integration/batch.sh cover real agents and signals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "testenv.h"
#include <corral/rollout.h>

static corral_ctx *ctx;

static int setup(void **st)
{
    (void)st;
    testenv_setup();
    const char *const dirs[] = {CORRAL_BUILD_PLUGIN_DIR, NULL};
    struct corral_options o = {.struct_size = sizeof o, .plugin_dirs = dirs, .log_level = "error"};
    struct corral_call call;
    corral_call_init(&call, 0);
    return corral_open(&o, &ctx, &call);
}

static int teardown(void **st)
{
    (void)st;
    corral_close(ctx);
    testenv_teardown();
    return 0;
}

struct seen {
    int count[4];
    int calls;
};

static void on_result(void *ud, size_t i, const char *json, int status)
{
    struct seen *s = ud;
    s->calls++;
    assert_true(i < 4);
    s->count[i]++;
    assert_int_equal(status, 0);
    assert_null(strchr(json, '\n')); /* one line each unless pretty */
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    cJSON_Delete(j);
}

static void test_refusals(void **st)
{
    (void)st;
    struct corral_call call;
    corral_call_init(&call, 0);
    struct corral_rollout_options r[2] = {
        {.struct_size = sizeof r[0], .task_dir = "/nonexistent", .agent = "pi", .model = "replay:/x", .model_name = "a"},
        {.struct_size = sizeof r[1], .task_dir = "/nonexistent", .agent = "pi", .model = "replay:/x", .model_name = "b"}};
    struct seen s = {0};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .on_result = on_result, .ud = &s};
    /* Two rollouts for one gate that disagree on the model name. */
    assert_int_equal(corral_batch_run(ctx, r, 2, &bo, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "model name"));
    assert_int_equal(s.calls, 0);
    /* Options of an unknown (too small) size. */
    r[1].model_name = "a";
    r[1].struct_size = 8;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_run(ctx, r, 2, &bo, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "struct_size"));
    struct corral_batch_options small = {.struct_size = 8};
    assert_int_equal(corral_batch_run(ctx, r, 1, &small, &call), CORRAL_EINVAL);
    assert_int_equal(corral_batch_run(ctx, NULL, 0, &bo, &call), 0);
    assert_int_equal(s.calls, 0);
}

static void test_each_result_once(void **st)
{
    (void)st;
    if (access("/usr/bin/bwrap", X_OK) != 0)
        skip();
    struct corral_rollout_options r[4];
    for (int i = 0; i < 4; i++)
        r[i] = (struct corral_rollout_options){.struct_size = sizeof r[i], .task_dir = EXAMPLES_DIR "/tasks/hello",
                                               .agent = "oracle"};
    struct seen s = {0};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .concurrency = 3, .on_result = on_result, .ud = &s};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_run(ctx, r, 4, &bo, &call), 0);
    assert_int_equal(s.calls, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.count[i], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_each_result_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
