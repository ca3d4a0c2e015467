/* corral_task_digest: stable under creation order, changed by content,
 * the executable bit, a rename and a symlink's target (docs/report.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testenv.h"
#include <corral/rollout.h>

static const char *dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", getenv("HOME"), name);
    return p;
}

static void digest(const char *name, char out[CORRAL_TASK_DIGEST_LEN])
{
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_task_digest(dir(name), out, &call), 0);
    assert_int_equal(strlen(out), CORRAL_TASK_DIGEST_LEN - 1);
    assert_memory_equal(out, "sha256:", 7);
}

static void test_creation_order_does_not_matter(void **state)
{
    (void)state;
    char a[CORRAL_TASK_DIGEST_LEN], b[CORRAL_TASK_DIGEST_LEN];
    testenv_write("one/instruction.md", "do it\n");
    testenv_write("one/tests/test.sh", "exit 0\n");
    testenv_write("one/workspace/z.txt", "z");
    testenv_write("one/workspace/a.txt", "a");
    testenv_write("two/workspace/a.txt", "a");
    testenv_write("two/workspace/z.txt", "z");
    testenv_write("two/tests/test.sh", "exit 0\n");
    testenv_write("two/instruction.md", "do it\n");
    digest("one", a);
    digest("two", b);
    assert_string_equal(a, b);
    digest("one", b); /* and the same twice */
    assert_string_equal(a, b);
}

static void test_content_mode_rename_and_link_change_it(void **state)
{
    (void)state;
    char base[CORRAL_TASK_DIGEST_LEN], d[CORRAL_TASK_DIGEST_LEN];
    testenv_write("t/instruction.md", "do it\n");
    const char *sh = testenv_write("t/tests/test.sh", "exit 0\n");
    digest("t", base);

    testenv_write("t/tests/test.sh", "exit 1\n"); /* same length, other content */
    digest("t", d);
    assert_string_not_equal(base, d);
    testenv_write("t/tests/test.sh", "exit 0\n");
    digest("t", d);
    assert_string_equal(base, d);

    assert_int_equal(chmod(sh, 0755), 0);
    digest("t", d);
    assert_string_not_equal(base, d);
    assert_int_equal(chmod(sh, 0644), 0);
    digest("t", d);
    assert_string_equal(base, d);

    char from[512], to[512];
    snprintf(from, sizeof from, "%s", sh);
    snprintf(to, sizeof to, "%s/t/tests/test2.sh", getenv("HOME"));
    assert_int_equal(rename(from, to), 0);
    digest("t", d);
    assert_string_not_equal(base, d);
    assert_int_equal(rename(to, from), 0);

    /* an empty directory counts; a file's bytes cannot pose as a path */
    char p[512];
    snprintf(p, sizeof p, "%s/t/empty", getenv("HOME"));
    assert_int_equal(mkdir(p, 0755), 0);
    digest("t", d);
    assert_string_not_equal(base, d);
    assert_int_equal(rmdir(p), 0);

    /* symlinks by target, not followed */
    snprintf(p, sizeof p, "%s/t/link", getenv("HOME"));
    assert_int_equal(symlink("instruction.md", p), 0);
    char l1[CORRAL_TASK_DIGEST_LEN];
    digest("t", l1);
    assert_string_not_equal(base, l1);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("tests/test.sh", p), 0);
    digest("t", d);
    assert_string_not_equal(l1, d);
    assert_int_equal(unlink(p), 0);
    digest("t", d);
    assert_string_equal(base, d);
}

static void test_missing_dir_is_an_error(void **state)
{
    (void)state;
    char d[CORRAL_TASK_DIGEST_LEN];
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_task_digest(dir("nope"), d, &call), CORRAL_EINVAL);
    assert_string_equal(d, "");
    assert_non_null(strstr(call.message, "not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creation_order_does_not_matter, testenv_fixture_setup,
                                        testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_content_mode_rename_and_link_change_it, testenv_fixture_setup,
                                        testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing_dir_is_an_error, testenv_fixture_setup,
                                        testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
