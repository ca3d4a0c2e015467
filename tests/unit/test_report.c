/* The report library: merging shards by (task digest, attempt), torn and
 * bad lines, pass@k against hand-computed values, percentiles and the
 * summary's counts (docs/report.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "report/report_internal.h"

/* One result line (with its newline): task digest letter, attempt, reward
 * (<0: null), error class and phase (NULL: none), agent ms. */
static char *line(char task, int attempt, double reward, const char *cls, const char *phase, int agent_ms)
{
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8], rw[32], err[128];
    if (reward < 0)
        snprintf(rw, sizeof rw, "null");
    else
        snprintf(rw, sizeof rw, "%g", reward);
    if (cls)
        snprintf(err, sizeof err, "{\"class\":\"%s\",\"phase\":\"%s\",\"message\":\"m\"}", cls, phase);
    else
        snprintf(err, sizeof err, "null");
    snprintf(b, 512,
             "{\"rollout_id\":\"r-%c%d-%d\",\"task\":{\"dir\":\"/t/%c\",\"name\":\"task_%c\"},\"attempt\":%d,"
             "\"task_digest\":\"sha256:%c\",\"reward\":%s,\"error\":%s,\"timings_ms\":{\"agent\":%d,\"total\":%d}}\n",
             task, attempt, next, task, task, attempt, task, rw, err, agent_ms, agent_ms + 10);
    return b;
}

static int add(corral_report *r, const char *name, const char *text, struct corral_call *call)
{
    corral_call_init(call, 0);
    return corral_report_add(r, name, text, strlen(text), call);
}

static cJSON *summary(const corral_report *r)
{
    char *s = corral_report_summary_json(r);
    assert_non_null(s);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    return j;
}

static double at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        o = cJSON_GetObjectItemCaseSensitive(o, b);
    assert_true(cJSON_IsNumber(o));
    return o->valuedouble;
}

static void test_pass_at_k_hand_computed(void **state)
{
    (void)state;
    assert_float_equal(corral_report_pass_at_k(5, 2, 1), 0.4, 1e-12);          /* 1 - 3/5 */
    assert_float_equal(corral_report_pass_at_k(5, 2, 2), 0.7, 1e-12);          /* 1 - C(3,2)/C(5,2) = 1 - 3/10 */
    assert_float_equal(corral_report_pass_at_k(4, 1, 2), 0.5, 1e-12);          /* 1 - 3/6 */
    assert_float_equal(corral_report_pass_at_k(10, 3, 4), 1 - 35.0 / 210, 1e-12); /* C(7,4)/C(10,4) */
    assert_float_equal(corral_report_pass_at_k(4, 0, 4), 0.0, 1e-12);
    assert_float_equal(corral_report_pass_at_k(4, 1, 4), 1.0, 1e-12);
    assert_float_equal(corral_report_pass_at_k(1000, 1, 1), 0.001, 1e-12);
    /* C(200,100) overflows every integer type; the product does not */
    assert_float_equal(corral_report_pass_at_k(200, 100, 100), 1.0, 1e-12);
    assert_float_equal(corral_report_pass_at_k(200, 1, 100), 0.5, 1e-12);    /* 1 - C(199,100)/C(200,100) = 1 - 100/200 */
    assert_true(isnan(corral_report_pass_at_k(4, 1, 0)));
    assert_true(isnan(corral_report_pass_at_k(4, 1, 5)));
    assert_true(isnan(corral_report_pass_at_k(4, 5, 1)));
}

static void test_percentiles_nearest_rank(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_float_equal(crl_report_percentile(v, 10, 50), 5, 0);
    assert_float_equal(crl_report_percentile(v, 10, 90), 9, 0);
    assert_float_equal(crl_report_percentile(v, 10, 99), 10, 0);
    assert_float_equal(crl_report_percentile(v, 10, 100), 10, 0);
    assert_float_equal(crl_report_percentile(v, 1, 50), 1, 0);
    assert_float_equal(crl_report_percentile(v, 3, 50), 2, 0);
    assert_float_equal(crl_report_percentile(v, 0, 50), 0, 0);
}

static void test_summary_counts(void **state)
{
    (void)state;
    corral_report *r = corral_report_new();
    struct corral_call call;
    char text[4096] = "";
    /* task a: 4 attempts, 1 passes; task b: 4 attempts, 3 pass, one agent error (reward null) */
    strcat(text, line('a', 0, 1, NULL, NULL, 10));
    strcat(text, line('a', 1, 0, NULL, NULL, 20));
    strcat(text, line('a', 2, 0, NULL, NULL, 30));
    strcat(text, line('a', 3, 0, NULL, NULL, 40));
    strcat(text, line('b', 0, 1, NULL, NULL, 50));
    strcat(text, line('b', 1, 1, NULL, NULL, 60));
    strcat(text, line('b', 2, -1, "agent", "agent", 70));
    strcat(text, line('b', 3, 1, NULL, NULL, 80));
    assert_int_equal(add(r, "x.jsonl", text, &call), 0);
    assert_int_equal(corral_report_count(r), 8);
    cJSON *j = summary(r);
    assert_float_equal(at(j, "rollouts", NULL), 8, 0);
    assert_float_equal(at(j, "tasks", NULL), 2, 0);
    assert_float_equal(at(j, "duplicates", NULL), 0, 0);
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
    assert_float_equal(at(errors, "total", NULL), 1, 0);
    assert_float_equal(at(errors, "by_class", "agent"), 1, 0);
    assert_float_equal(at(errors, "by_phase", "agent"), 1, 0);
    assert_float_equal(at(j, "reward", "rewarded"), 7, 0);
    assert_float_equal(at(j, "reward", "mean"), 4.0 / 7, 1e-12);
    /* pass@k averaged over tasks: a (n4 c1), b (n4 c3) */
    assert_float_equal(at(j, "pass_at_k", "1"), (0.25 + 0.75) / 2, 1e-12);
    assert_float_equal(at(j, "pass_at_k", "2"), (0.5 + 1.0) / 2, 1e-12);
    assert_float_equal(at(j, "pass_at_k", "4"), (1.0 + 1.0) / 2, 1e-12);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "pass_at_k"), "8"));
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(j, "per_task");
    assert_int_equal(cJSON_GetArraySize(tasks), 2);
    const cJSON *tb = cJSON_GetArrayItem(tasks, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(tb, "name")->valuestring, "task_b");
    assert_float_equal(at(tb, "attempts", NULL), 4, 0);
    assert_float_equal(at(tb, "passed", NULL), 3, 0);
    assert_float_equal(at(tb, "errors", NULL), 1, 0);
    assert_float_equal(at(tb, "mean_reward", NULL), 1, 0);
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "timings_ms"), "agent");
    assert_float_equal(at(agent, "n", NULL), 8, 0);
    assert_float_equal(at(agent, "mean", NULL), 45, 1e-9);
    assert_float_equal(at(agent, "p50", NULL), 40, 0);
    assert_float_equal(at(agent, "p90", NULL), 80, 0);
    assert_float_equal(at(agent, "max", NULL), 80, 0);
    char *t = corral_report_summary_text(r);
    assert_non_null(strstr(t, "pass@1 0.5000"));
    assert_non_null(strstr(t, "task_b"));
    free(t);
    cJSON_Delete(j);
    corral_report_free(r);
}

/* The summary without "inputs" (which names the files). */
static char *merged_summary(const corral_report *r)
{
    cJSON *j = summary(r);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "inputs");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "duplicates");
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static void test_shards_merge_latest_wins(void **state)
{
    (void)state;
    struct corral_call call;
    char all[4096] = "", s1[4096] = "", s2[4096] = "";
    const char *l[4] = {line('a', 0, 1, NULL, NULL, 1), line('a', 1, 0, NULL, NULL, 2),
                        line('b', 0, 1, NULL, NULL, 3), line('b', 1, 1, NULL, NULL, 4)};
    for (int i = 0; i < 4; i++)
        strcat(all, l[i]);
    strcat(s1, l[2]), strcat(s1, l[0]), strcat(s1, l[1]);
    strcat(s2, l[3]), strcat(s2, l[1]); /* l[1] twice: in both shards */
    corral_report *one = corral_report_new(), *two = corral_report_new();
    assert_int_equal(add(one, "all", all, &call), 0);
    assert_int_equal(add(two, "s1", s1, &call), 0);
    assert_int_equal(add(two, "s2", s2, &call), 0);
    assert_int_equal(corral_report_count(two), 4);
    cJSON *j = summary(two);
    assert_float_equal(at(j, "duplicates", NULL), 1, 0);
    cJSON_Delete(j);
    char *a = merged_summary(one), *b = merged_summary(two);
    assert_string_equal(a, b);
    free(a), free(b);

    /* a later result for (a, 1) replaces the earlier one: a now passes twice */
    assert_int_equal(add(two, "s3", line('a', 1, 1, NULL, NULL, 5), &call), 0);
    assert_int_equal(corral_report_count(two), 4);
    j = summary(two);
    assert_float_equal(at(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "per_task"), 0), "passed", NULL), 2, 0);
    assert_float_equal(at(j, "duplicates", NULL), 2, 0);
    cJSON_Delete(j);
    corral_report_free(one);
    corral_report_free(two);
}

static void test_results_without_digest_never_merge(void **state)
{
    (void)state;
    struct corral_call call;
    corral_report *r = corral_report_new();
    const char *old = "{\"rollout_id\":\"r-1\",\"task\":{\"dir\":\"/t\"},\"reward\":1,\"error\":null}\n"
                      "{\"rollout_id\":\"r-2\",\"task\":{\"dir\":\"/t\"},\"reward\":0,\"error\":null}\n";
    assert_int_equal(add(r, "old", old, &call), 0);
    assert_int_equal(corral_report_count(r), 2);
    cJSON *j = summary(r);
    assert_float_equal(at(j, "tasks", NULL), 1, 0);
    assert_float_equal(at(j, "pass_at_k", "1"), 0.5, 1e-12);
    cJSON_Delete(j);
    corral_report_free(r);
}

static void test_torn_last_line_is_skipped_and_said(void **state)
{
    (void)state;
    struct corral_call call;
    corral_report *r = corral_report_new();
    char text[4096] = "";
    strcat(text, line('a', 0, 1, NULL, NULL, 1));
    strcat(text, "\n"); /* blank lines are fine */
    strcat(text, line('a', 1, 1, NULL, NULL, 1));
    strncat(text, line('a', 2, 1, NULL, NULL, 1), 40); /* a crash mid-write */
    assert_int_equal(add(r, "torn.jsonl", text, &call), 0);
    assert_int_equal(corral_report_count(r), 2);
    cJSON *j = summary(r);
    const cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "inputs"), 0);
    assert_float_equal(at(in, "lines", NULL), 4, 0);
    assert_float_equal(at(in, "results", NULL), 2, 0);
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(in, "skipped");
    assert_int_equal(cJSON_GetArraySize(sk), 1);
    assert_float_equal(at(cJSON_GetArrayItem(sk, 0), "line", NULL), 4, 0);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(sk, 0), "why")->valuestring, "torn"));
    cJSON_Delete(j);
    char *t = corral_report_summary_text(r);
    assert_non_null(strstr(t, "skipped torn.jsonl:4: torn last line"));
    free(t);
    corral_report_free(r);
}

static void test_bad_lines_are_refused_with_file_and_line(void **state)
{
    (void)state;
    struct corral_call call;
    corral_report *r = corral_report_new();
    char text[4096] = "";
    strcat(text, line('a', 0, 1, NULL, NULL, 1));
    strcat(text, "{\"rollout_id\": \"r-x\", \"task\n"); /* torn, but not last: refused */
    strcat(text, line('a', 1, 1, NULL, NULL, 1));
    assert_int_equal(add(r, "bad.jsonl", text, &call), CORRAL_EINVAL);
    assert_string_equal(call.message, "bad.jsonl:2: not JSON");
    assert_int_equal(corral_report_count(r), 0); /* nothing of a refused input */
    assert_int_equal(add(r, "arr.jsonl", "[1,2]\n", &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "arr.jsonl:1: not a RolloutResult"));
    assert_int_equal(add(r, "num.jsonl", "{\"rollout_id\": 7}\n", &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "num.jsonl:1: not a RolloutResult"));
    static const char nul[] = "{\"rollout_id\":\"a\"}\0\n"; /* a NUL inside a line */
    corral_call_init(&call, 0);
    assert_int_equal(corral_report_add(r, "nul", nul, sizeof nul - 1, &call), CORRAL_EINVAL);
    assert_string_equal(call.message, "nul:1: not JSON");
    assert_int_equal(corral_report_count(r), 0);
    /* an empty report still summarizes */
    cJSON *j = summary(r);
    assert_float_equal(at(j, "rollouts", NULL), 0, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "reward"), "mean")));
    cJSON_Delete(j);
    corral_report_free(r);
}

/* `corral run` writes a lone rollout's result indented: the whole input is
 * then one result.  Anything else spread over lines stays refused. */
static void test_one_indented_result_is_read_whole(void **state)
{
    (void)state;
    struct corral_call call;
    corral_report *r = corral_report_new();
    const char *pretty = "\n{\n\t\"rollout_id\":\t\"r1\",\n\t\"task\": {\"name\": \"t\"},\n\t\"task_digest\": "
                         "\"sha256:a\",\n\t\"attempt\": 0,\n\t\"reward\": 1,\n\t\"error\": null\n}\n\n";
    assert_int_equal(add(r, "one.json", pretty, &call), 0);
    assert_int_equal(corral_report_count(r), 1);
    assert_string_equal(corral_report_result_json(r, 0),
                        "{\"rollout_id\":\"r1\",\"task\":{\"name\":\"t\"},\"task_digest\":\"sha256:a\",\"attempt\":0,"
                        "\"reward\":1,\"error\":null}");
    /* the same result again as a line replaces it */
    assert_int_equal(add(r, "b", line('a', 0, 0.5, NULL, NULL, 1), &call), 0);
    assert_int_equal(corral_report_count(r), 1);
    /* an indented object that is not a result, two indented results, an array: refused */
    assert_int_equal(add(r, "x", "{\n\"a\": 1\n}\n", &call), CORRAL_EINVAL);
    assert_string_equal(call.message, "x:1: not a RolloutResult (a JSON object with a \"rollout_id\" string)");
    assert_int_equal(add(r, "y", "{\n\"rollout_id\": \"a\"\n}\n{\n\"rollout_id\": \"b\"\n}\n", &call), CORRAL_EINVAL);
    assert_string_equal(call.message, "y:1: not JSON");
    assert_int_equal(add(r, "z", "[\n{\"rollout_id\": \"a\"}\n]\n", &call), CORRAL_EINVAL);
    assert_int_equal(corral_report_count(r), 1);
    corral_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_at_k_hand_computed),
        cmocka_unit_test(test_percentiles_nearest_rank),
        cmocka_unit_test(test_summary_counts),
        cmocka_unit_test(test_shards_merge_latest_wins),
        cmocka_unit_test(test_results_without_digest_never_merge),
        cmocka_unit_test(test_torn_last_line_is_skipped_and_said),
        cmocka_unit_test(test_bad_lines_are_refused_with_file_and_line),
        cmocka_unit_test(test_one_indented_result_is_read_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
