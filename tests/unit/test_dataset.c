/* Datasets (docs/datasets.md): the git+URL@REF#PATH form, paths that must
 * stay inside a dataset, the directory scan and Harbor's filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataset/dataset_internal.h"
#include "testenv.h"

static int parse(const char *spec, struct crl_git_spec *g)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    return crl_git_spec_parse(spec, g, &call);
}

static void test_git_spec(void **state)
{
    (void)state;
    struct crl_git_spec g;
    assert_int_equal(parse("/some/dir", &g), 0);
    assert_int_equal(parse("git+https://example.com/o/r.git@v2.0#tasks/a", &g), 1);
    assert_string_equal(g.url, "https://example.com/o/r.git");
    assert_string_equal(g.ref, "v2.0");
    assert_string_equal(g.path, "tasks/a");
    crl_git_spec_free(&g);
    /* The ref is after the last '@': a user in the URL stays in the URL. */
    assert_int_equal(parse("git+ssh://git@example.com/o/r@main", &g), 1);
    assert_string_equal(g.url, "ssh://git@example.com/o/r");
    assert_string_equal(g.ref, "main");
    assert_null(g.path);
    crl_git_spec_free(&g);
    assert_int_equal(parse("git+https://example.com/o/r", &g), CORRAL_EINVAL);      /* no ref */
    assert_int_equal(parse("git+https://example.com/o/r@", &g), CORRAL_EINVAL);     /* empty ref */
    assert_int_equal(parse("git+https://example.com/o/r@#x", &g), CORRAL_EINVAL);   /* empty ref */
    assert_int_equal(parse("git+-uhttps://x@main", &g), CORRAL_EINVAL);             /* an option */
    assert_int_equal(parse("git+ext::sh -c touch% /tmp/x@main", &g), CORRAL_EINVAL); /* a command */
    assert_int_equal(parse("git+https://e.com/r@--upload-pack=x", &g), CORRAL_EINVAL);
    assert_int_equal(parse("git+https://e.com/r@a..b", &g), CORRAL_EINVAL);
    assert_int_equal(parse("git+https://e.com/r@HEAD~1", &g), CORRAL_EINVAL);
}

static int subpath(const char *root, const char *rel, char **out)
{
    struct corral_call call;
    corral_call_init(&call, 0);
    return crl_ds_subpath(root, rel, "path", out, &call);
}

static void test_subpath(void **state)
{
    (void)state;
    const char *home = getenv("HOME");
    char root[512], *out = NULL;
    testenv_write("ds/a/instruction.md", "x");
    snprintf(root, sizeof root, "%s/ds", home);
    assert_int_equal(subpath(root, "a", &out), 0);
    assert_non_null(strstr(out, "/ds/a"));
    free(out);
    assert_int_equal(subpath(root, "", &out), 0);
    free(out);
    assert_int_equal(subpath(root, "/etc", &out), CORRAL_EPERM);
    assert_int_equal(subpath(root, "a/../../x", &out), CORRAL_EPERM);
    assert_int_equal(subpath(root, "..", &out), CORRAL_EPERM);
    assert_int_equal(subpath(root, "missing", &out), CORRAL_ENOTFOUND);
    char link[600];
    snprintf(link, sizeof link, "%s/out", root);
    assert_int_equal(symlink("/etc", link), 0);
    assert_int_equal(subpath(root, "out", &out), CORRAL_EPERM);
    snprintf(link, sizeof link, "%s/in", root);
    assert_int_equal(symlink("a", link), 0); /* a symlink that stays inside is fine */
    assert_int_equal(subpath(root, "in", &out), 0);
    free(out);
}

static struct corral_dataset *open_ds(const char *inc, const char *exc, size_t limit, int *rc)
{
    char root[512];
    snprintf(root, sizeof root, "%s/tree", getenv("HOME"));
    const char *in[] = {inc, NULL}, *ex[] = {exc, NULL};
    struct corral_dataset_filter f = {sizeof f, inc ? in : NULL, exc ? ex : NULL, limit};
    struct corral_dataset *ds = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    *rc = corral_dataset_open(root, NULL, &f, &ds, &call);
    return ds;
}

static void test_scan_and_filters(void **state)
{
    (void)state;
    testenv_write("tree/b-task/task.toml", "version = \"1.0\"\n");
    testenv_write("tree/a-task/instruction.md", "x");
    testenv_write("tree/group/c-task/task.json", "{}");
    testenv_write("tree/group/c-task/nested/d/instruction.md", "inside a task: not a task of its own");
    testenv_write("tree/.git/e/instruction.md", "hidden");
    testenv_write("tree/notes/readme.txt", "no task here");
    int rc;
    struct corral_dataset *ds = open_ds(NULL, NULL, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(ds->n_tasks, 3);
    assert_string_equal(ds->tasks[0].name, "a-task");
    assert_string_equal(ds->tasks[1].name, "b-task");
    assert_string_equal(ds->tasks[2].name, "group/c-task");
    assert_null(ds->commit);
    corral_dataset_free(ds);
    ds = open_ds("c-*", NULL, 0, &rc); /* the last part of a name matches too */
    assert_int_equal(rc, 0);
    assert_int_equal(ds->n_tasks, 1);
    assert_string_equal(ds->tasks[0].name, "group/c-task");
    corral_dataset_free(ds);
    ds = open_ds("*", "b-*", 1, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(ds->n_tasks, 1);
    assert_string_equal(ds->tasks[0].name, "a-task");
    corral_dataset_free(ds);
    ds = open_ds("zzz", NULL, 0, &rc);
    assert_int_equal(rc, CORRAL_ENOTFOUND);
    assert_null(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_git_spec),
        cmocka_unit_test_setup_teardown(test_subpath, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_filters, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
