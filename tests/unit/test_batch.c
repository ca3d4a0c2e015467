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

/* The typed report: when both callbacks are set only on_rollout_result
 * is called, with the fields of a solved rollout and its JSON. */
static void on_typed(void *ud, size_t i, const struct corral_rollout_result *r)
{
    struct seen *s = ud;
    s->calls++;
    assert_true(i < 4);
    s->count[i]++;
    assert_true(r->struct_size >= sizeof *r);
    assert_int_equal(r->status, 0);
    assert_int_equal(r->error_class, CORRAL_ROLLOUT_OK);
    assert_null(r->error_message);
    assert_int_equal(r->has_reward, 1);
    assert_true(r->reward == 1.0);
    assert_non_null(r->reward_source);
    assert_string_equal(r->task_name, "hello");
    assert_string_equal(r->agent, "oracle");
    assert_string_equal(r->agent_status, "success");
    assert_string_equal(r->sandbox_backend, "local");
    assert_non_null(r->sandbox_id);
    int seen_create = 0, seen_destroy = 0;
    for (size_t k = 0; k < r->n_timings; k++) {
        seen_create |= strcmp(r->timings[k].phase, "create") == 0;
        seen_destroy |= strcmp(r->timings[k].phase, "destroy") == 0;
    }
    assert_true(seen_create && seen_destroy);
    cJSON *j = cJSON_Parse(r->json);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "rollout_id")->valuestring, r->rollout_id);
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "reward")->valuedouble == 1.0);
    cJSON_Delete(j);
}

static void on_string_unexpected(void *ud, size_t i, const char *json, int status)
{
    (void)ud, (void)i, (void)json, (void)status;
    fail_msg("on_result called although on_rollout_result is set");
}

static void test_typed_result_wins(void **st)
{
    (void)st;
    if (access("/usr/bin/bwrap", X_OK) != 0)
        skip();
    struct corral_rollout_options r[2];
    for (int i = 0; i < 2; i++)
        r[i] = (struct corral_rollout_options){.struct_size = sizeof r[i], .task_dir = EXAMPLES_DIR "/tasks/hello",
                                               .agent = "oracle"};
    struct seen s = {0};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .concurrency = 2, .on_result = on_string_unexpected,
                                      .on_rollout_result = on_typed, .ud = &s};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_run(ctx, r, 2, &bo, &call), 0);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.count[0] + s.count[1], 2);
}

/* A set cancel flag on the batch's call: nothing starts. */
static void test_cancelled_call_starts_nothing(void **st)
{
    (void)st;
    static volatile int stop = 1;
    struct corral_rollout_options r = {.struct_size = sizeof r, .task_dir = EXAMPLES_DIR "/tasks/hello",
                                       .agent = "oracle"};
    struct seen s = {0};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .on_result = on_result, .ud = &s};
    struct corral_call call;
    corral_call_init(&call, 0);
    call.cancel = &stop;
    assert_int_equal(corral_batch_run(ctx, &r, 1, &bo, &call), CORRAL_ECANCELED);
    assert_int_equal(s.calls, 0);
}

/* corral_rollout_run_result on a task that does not load: a task error in
 * phase "load", with the same JSON corral_rollout_run returns. */
static void test_run_result_load_error(void **st)
{
    (void)st;
    struct corral_rollout_options o = {.struct_size = sizeof o, .task_dir = "/nonexistent", .agent = "oracle",
                                       .rollout_id = "r-load"};
    struct corral_rollout_result *res = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_rollout_run_result(ctx, &o, &res, &call), 0);
    assert_non_null(res);
    assert_int_equal(res->error_class, CORRAL_ROLLOUT_ERR_TASK);
    assert_string_equal(res->error_phase, "load");
    assert_string_equal(res->rollout_id, "r-load");
    assert_null(res->task_name);
    assert_null(res->sandbox_id);
    assert_int_equal(res->has_reward, 0);
    char *json = NULL;
    corral_call_init(&call, 0);
    assert_int_equal(corral_rollout_run(ctx, &o, &json, &call), 0);
    cJSON *a = cJSON_Parse(json), *b = cJSON_Parse(res->json);
    assert_non_null(a);
    assert_non_null(b);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "class")->valuestring, "task");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "phase")->valuestring, "load");
    assert_true(cJSON_Compare(e, cJSON_GetObjectItemCaseSensitive(b, "error"), 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(json);
    corral_rollout_result_free(res);
    corral_rollout_result_free(NULL);
}

/* An egress policy on a backend that can neither bind corral's proxy in
 * nor enforce it natively (hf): refused at create with the backend's
 * reason, before any job, never run with the network open; the typed
 * result carries the (empty) decision log. */
static void test_egress_refused_without_host_mounts(void **st)
{
    (void)st;
    const char *policy = testenv_write("egress.json", "{\"default\": \"deny\"}");
    struct corral_rollout_options o = {.struct_size = sizeof o, .task_dir = EXAMPLES_DIR "/tasks/hello",
                                       .agent = "oracle", .sandbox = "hf", .egress_file = policy};
    struct corral_rollout_result *res = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    corral_rollout_run_result(ctx, &o, &res, &call);
    assert_non_null(res);
    assert_int_equal(res->error_class, CORRAL_ROLLOUT_ERR_INFRA);
    assert_string_equal(res->error_phase, "create");
    assert_non_null(strstr(res->error_message, "hf: HF jobs offer no network control"));
    assert_null(res->sandbox_id);
    assert_null(res->egress); /* no proxy ran: no decisions to record */
    corral_rollout_result_free(res);
    /* a malformed policy file fails the rollout naming the file and rule */
    policy = testenv_write("bad.json", "{\"rules\": [{\"host_pattern\": \"*\", \"action\": \"allow\"}]}");
    o.egress_file = policy;
    corral_call_init(&call, 0);
    corral_rollout_run_result(ctx, &o, &res, &call);
    assert_non_null(res);
    assert_non_null(strstr(res->error_message, "bad.json: rules[0]: host_pattern \"*\" is malformed"));
    assert_null(res->egress);
    corral_rollout_result_free(res);
}

/* The options' cancel flag reaches the rollout through its call: set
 * before the start, the phase table stops before "create" and records the
 * cancel there; the rollout's own timings show which rows ran. */
static void test_cancelled_rollout_creates_nothing(void **st)
{
    (void)st;
    static volatile int stop = 1;
    struct corral_rollout_options o = {.struct_size = sizeof o, .task_dir = EXAMPLES_DIR "/tasks/hello",
                                       .agent = "oracle", .cancel = &stop};
    struct corral_rollout_result *res = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_rollout_run_result(ctx, &o, &res, &call), CORRAL_ECANCELED);
    assert_null(call.cancel); /* the caller's call is given back as it was */
    assert_int_equal(res->status, CORRAL_ECANCELED);
    assert_int_equal(res->error_class, CORRAL_ROLLOUT_ERR_CANCELLED);
    assert_string_equal(res->error_phase, "create");
    assert_string_equal(res->error_message, "cancelled");
    assert_string_equal(res->task_name, "hello");
    assert_null(res->sandbox_id);
    assert_int_equal(res->n_timings, 3);
    assert_string_equal(res->timings[0].phase, "load");
    assert_string_equal(res->timings[1].phase, "gate");
    assert_string_equal(res->timings[2].phase, "destroy");
    cJSON *j = cJSON_Parse(res->json);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "class")->valuestring, "infrastructure");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "phase")->valuestring, "create");
    cJSON_Delete(j);
    corral_rollout_result_free(res);
}

/* Retries: what a typed report saw of its one result. */
struct tried {
    size_t n_tries, json_tries;
    int classes[8];
    int64_t backoff[8];
    int distinct_ids, last_is_result;
};

static void on_tried(void *ud, size_t i, const struct corral_rollout_result *r)
{
    struct tried *t = ud;
    assert_int_equal(i, 0);
    assert_true(r->struct_size >= offsetof(struct corral_rollout_result, n_tries) + sizeof r->n_tries);
    t->n_tries = r->n_tries;
    t->distinct_ids = 1;
    for (size_t k = 0; k < r->n_tries && k < 8; k++) {
        t->classes[k] = r->tries[k].error_class;
        t->backoff[k] = r->tries[k].backoff_ms;
        for (size_t m = 0; m < k; m++)
            t->distinct_ids &= strcmp(r->tries[k].rollout_id, r->tries[m].rollout_id) != 0;
    }
    t->last_is_result = r->n_tries && strcmp(r->tries[r->n_tries - 1].rollout_id, r->rollout_id) == 0;
    cJSON *j = cJSON_Parse(r->json);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "attempts");
    t->json_tries = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
    cJSON_Delete(j);
}

static struct tried run_retrying(const char *task, const char *sandbox, unsigned retries, unsigned retry_on)
{
    struct corral_rollout_options r = {.struct_size = sizeof r, .task_dir = task, .agent = "oracle",
                                       .sandbox = sandbox};
    struct tried t = {0};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .on_rollout_result = on_tried, .ud = &t,
                                      .retries = retries, .retry_on = retry_on, .retry_backoff_ms = 20};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_run(ctx, &r, 1, &bo, &call), 0);
    return t;
}

/* An infrastructure error (a backend that is not loaded) is tried again
 * until the retries run out, each try with its own id and a backoff from
 * 10 ms (half of 20) up; every try is in the result and its "attempts". */
static void test_retries_infrastructure(void **st)
{
    (void)st;
    struct tried t = run_retrying(EXAMPLES_DIR "/tasks/hello", "no_such_backend", 2, 0);
    assert_int_equal(t.n_tries, 3);
    assert_int_equal(t.json_tries, 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(t.classes[k], CORRAL_ROLLOUT_ERR_INFRA);
    assert_true(t.backoff[0] >= 10 && t.backoff[0] <= 20);
    assert_true(t.backoff[1] >= 20 && t.backoff[1] <= 40);
    assert_int_equal(t.backoff[2], 0);
    assert_true(t.distinct_ids);
    assert_true(t.last_is_result);
}

/* A task error is not retried unless retry_on names its class; without
 * retries a result has no "attempts". */
static void test_retries_task_error(void **st)
{
    (void)st;
    struct tried t = run_retrying("/nonexistent", NULL, 3, 0);
    assert_int_equal(t.n_tries, 1);
    assert_int_equal(t.json_tries, 1);
    assert_int_equal(t.classes[0], CORRAL_ROLLOUT_ERR_TASK);
    assert_int_equal(t.backoff[0], 0);
    t = run_retrying("/nonexistent", NULL, 1, 1u << CORRAL_ROLLOUT_ERR_TASK);
    assert_int_equal(t.n_tries, 2);
    assert_int_equal(t.classes[1], CORRAL_ROLLOUT_ERR_TASK);
    t = run_retrying("/nonexistent", NULL, 0, 0);
    assert_int_equal(t.n_tries, 0);
    assert_int_equal(t.json_tries, 0);
    /* keep_sandbox would keep a sandbox a retry leaves behind: refused. */
    struct corral_rollout_options r = {.struct_size = sizeof r, .task_dir = "/x", .agent = "oracle", .keep_sandbox = 1};
    struct corral_batch_options bo = {.struct_size = sizeof bo, .on_rollout_result = on_tried, .ud = &t, .retries = 1};
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_run(ctx, &r, 1, &bo, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, "keep_sandbox"));
}

/* Shards: a pure function of (digest, attempt), every pair in exactly one
 * shard, spread over all of them, and count 0 or 1 is one shard. */
static void test_shard_of(void **st)
{
    (void)st;
    const char *d = "sha256:0ad2650964482bf8200bd8528f210ea16ae89a192fc4ddb5c9f5b99f2e2dc782";
    unsigned hits[4] = {0};
    for (unsigned a = 0; a < 400; a++) {
        unsigned s = corral_batch_shard_of(d, a, 4);
        assert_true(s < 4);
        assert_int_equal(corral_batch_shard_of(d, a, 4), s);
        hits[s]++;
        assert_int_equal(corral_batch_shard_of(d, a, 1), 0);
        assert_int_equal(corral_batch_shard_of(d, a, 0), 0);
    }
    for (int s = 0; s < 4; s++)
        assert_true(hits[s] > 60 && hits[s] < 140);
    /* Another task moves its pairs; a fixed value pins the definition. */
    assert_int_not_equal(corral_batch_shard_of(d, 0, 1000003), corral_batch_shard_of("sha256:00", 0, 1000003));
    /* python3: int.from_bytes(hashlib.sha256(b"sha256:00#0").digest()[:8], "big") % 2**31 */
    assert_int_equal(corral_batch_shard_of("sha256:00", 0, 1u << 31), 1522874203u);
}

static void shard_parse_ok(const char *spec, unsigned want_i, unsigned want_n, const char *from)
{
    unsigned i = 99, n = 99;
    char src[160];
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_shard_parse(spec, &i, &n, src, sizeof src, &call), 0);
    assert_int_equal(i, want_i);
    assert_int_equal(n, want_n);
    assert_non_null(strstr(src, from));
}

static void shard_parse_bad(const char *spec, const char *why)
{
    unsigned i, n;
    char src[160];
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_equal(corral_batch_shard_parse(spec, &i, &n, src, sizeof src, &call), CORRAL_EINVAL);
    assert_non_null(strstr(call.message, why));
}

static void test_shard_parse(void **st)
{
    (void)st;
    const char *vars[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                          "SLURM_ARRAY_TASK_MAX", "JOB_COMPLETION_INDEX"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++)
        unsetenv(vars[k]);
    shard_parse_ok("2/4", 2, 4, "command line");
    shard_parse_ok("0/1", 0, 1, "command line");
    shard_parse_bad("4/4", "0 <= I < N");
    shard_parse_bad("-1/4", "0 <= I < N");
    shard_parse_bad("1/0", "N must be");
    shard_parse_bad("1", "0 <= I < N");
    shard_parse_bad(" 1/4", "0 <= I < N");
    shard_parse_bad("auto", "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX");
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    shard_parse_bad("auto", "auto/N");
    shard_parse_ok("auto/5", 3, 5, "JOB_COMPLETION_INDEX=3");
    shard_parse_bad("auto/3", "not below");
    setenv("SLURM_ARRAY_TASK_ID", "7", 1); /* Slurm wins */
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
    shard_parse_ok("auto", 2, 4, "SLURM_ARRAY_TASK_ID=7");
    shard_parse_bad("auto/3", "has 4 tasks");
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    setenv("SLURM_ARRAY_TASK_MAX", "8", 1);
    shard_parse_ok("auto", 2, 4, "SLURM_ARRAY_TASK_ID=7");
    setenv("SLURM_ARRAY_TASK_ID", "9", 1);
    shard_parse_bad("auto", "not within");
    setenv("SLURM_ARRAY_TASK_ID", "x", 1);
    shard_parse_bad("auto", "is not a number");
    unsetenv("SLURM_ARRAY_TASK_MAX");
    unsetenv("SLURM_ARRAY_TASK_MIN");
    setenv("SLURM_ARRAY_TASK_ID", "1", 1);
    shard_parse_bad("auto", "neither SLURM_ARRAY_TASK_COUNT");
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++)
        unsetenv(vars[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_each_result_once),
        cmocka_unit_test(test_typed_result_wins),
        cmocka_unit_test(test_cancelled_call_starts_nothing),
        cmocka_unit_test(test_run_result_load_error),
        cmocka_unit_test(test_cancelled_rollout_creates_nothing),
        cmocka_unit_test(test_egress_refused_without_host_mounts),
        cmocka_unit_test(test_retries_infrastructure),
        cmocka_unit_test(test_retries_task_error),
        cmocka_unit_test(test_shard_of),
        cmocka_unit_test(test_shard_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
