/* Task directories: what loads, and errors that name the file and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testenv.h"
#include <corral/rollout.h>

static const char *task_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", getenv("HOME"), name);
    return p;
}

static void expect_error(const char *name, const char *needle)
{
    struct corral_task *t = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_not_equal(corral_task_load(task_dir(name), &t, &call), 0);
    assert_null(t);
    if (!strstr(call.message, needle))
        fail_msg("%s: '%s' lacks '%s'", name, call.message, needle);
}

static void test_full_task_loads(void **state)
{
    (void)state;
    testenv_write("full/instruction.md", "do it\n");
    testenv_write("full/task.json",
                  "{\"image\": \"img:1\", \"workdir\": \"/src\", \"env\": {\"A\": \"1\"}, \"setup\": [\"true\"],"
                  " \"verify\": [\"test -f x\"], \"timeouts\": {\"agent_s\": 30}, \"resources\": {\"memory_mb\": 512, \"storage_mb\": 64,"
                  " \"cpus\": 1.5}, \"network\": \"full\"}");
    testenv_write("full/workspace/a.txt", "a");
    testenv_write("full/tests/test.sh", "exit 0");
    testenv_write("full/solution/solve.sh", "true");
    struct corral_task *t = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_task_load(task_dir("full"), &t, &call), 0);
    assert_string_equal(t->name, "full");
    assert_string_equal(t->instruction, "do it\n");
    assert_string_equal(t->image, "img:1");
    assert_string_equal(t->workdir, "/src");
    assert_string_equal(t->env[0], "A=1");
    assert_null(t->env[1]);
    assert_string_equal(t->setup[0], "true");
    assert_string_equal(t->verify[0], "test -f x");
    assert_int_equal(t->agent_timeout_s, 30);
    assert_int_equal(t->memory_bytes, 512LL << 20);
    assert_int_equal(t->storage_bytes, 64LL << 20);
    assert_true(t->cpus == 1.5);
    assert_int_equal(t->network, CORRAL_NET_FULL);
    assert_true(t->has_workspace && t->has_tests && t->has_solution);
    corral_task_free(t);
}

static void test_malformed_tasks_name_file_and_field(void **state)
{
    (void)state;
    testenv_write("noinstr/task.json", "{}");
    expect_error("noinstr", "noinstr/instruction.md: missing");
    testenv_write("badjson/instruction.md", "x");
    testenv_write("badjson/task.json", "{\"setup\": [");
    expect_error("badjson", "badjson/task.json: not a JSON object");
    testenv_write("badkey/instruction.md", "x");
    testenv_write("badkey/task.json", "{\"setpu\": []}");
    expect_error("badkey", "badkey/task.json: unknown key \"setpu\" (valid: image, workdir");
    testenv_write("badsetup/instruction.md", "x");
    testenv_write("badsetup/task.json", "{\"setup\": [\"ok\", 3]}");
    expect_error("badsetup", "badsetup/task.json: \"setup\"[1] must be a non-empty string");
    testenv_write("badtimeout/instruction.md", "x");
    testenv_write("badtimeout/task.json", "{\"timeouts\": {\"agent_s\": \"long\"}}");
    expect_error("badtimeout", "badtimeout/task.json: \"timeouts.agent_s\" must be a number from 0 to 604800");
    testenv_write("hugetimeout/instruction.md", "x");
    testenv_write("hugetimeout/task.json", "{\"timeouts\": {\"agent_s\": 1e300}}");
    expect_error("hugetimeout", "hugetimeout/task.json: \"timeouts.agent_s\" must be a number from 0 to 604800");
    testenv_write("hugemem/instruction.md", "x");
    testenv_write("hugemem/task.json", "{\"resources\": {\"memory_mb\": 1e300}}");
    expect_error("hugemem", "hugemem/task.json: \"resources.memory_mb\" must be a number from 0 to");
    testenv_write("testsfile/instruction.md", "x");
    testenv_write("testsfile/tests", "not a directory");
    expect_error("testsfile", "testsfile/tests: must be a directory");
    testenv_write("badenv/instruction.md", "x");
    testenv_write("badenv/task.json", "{\"env\": {\"A B\": \"x\"}}");
    expect_error("badenv", "badenv/task.json: \"env.A B\" must be a string with a valid name");
    testenv_write("badwd/instruction.md", "x");
    testenv_write("badwd/task.json", "{\"workdir\": \"rel\"}");
    expect_error("badwd", "\"workdir\" must be an absolute path");
    testenv_write("notests/instruction.md", "x");
    testenv_write("notests/tests/README", "no script");
    expect_error("notests", "notests/tests: no test.sh in it");
    expect_error("does-not-exist", "does-not-exist: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_task_loads, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_tasks_name_file_and_field, testenv_fixture_setup,
                                        testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
