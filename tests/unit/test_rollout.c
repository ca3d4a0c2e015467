/* The rollout's plan (precedence: command line > task > agent spec >
 * built-in default) and its typed record rendered as RolloutResult JSON
 * (the keys README documents), without running a sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "rollout/rollout_internal.h"

static void test_plan_defaults(void **st)
{
    (void)st;
    struct corral_rollout_options o = {.struct_size = sizeof o};
    struct crl_rollout_plan p;
    /* Nothing loaded (a task that failed to load): the built-in defaults. */
    crl_rollout_plan_resolve(&o, NULL, NULL, &p);
    assert_string_equal(p.backend, "local");
    assert_null(p.image);
    assert_string_equal(p.workdir, "/workspace");
    assert_string_equal(p.model_name, "corral");
    assert_int_equal(p.network, CORRAL_NET_NONE);
    assert_int_equal(p.setup_s, 600);
    assert_int_equal(p.agent_s, 900);
    assert_int_equal(p.verify_s, 600);
    assert_int_equal(p.ttl_s, 600 + 900 + 600 + 600);
}

static void test_plan_precedence(void **st)
{
    (void)st;
    struct corral_task t = {.workdir = "/src", .image = "task:img", .network = CORRAL_NET_FULL};
    struct crl_agent_spec s = {.timeout_s = 300};
    struct corral_rollout_options o = {.struct_size = sizeof o};
    struct crl_rollout_plan p;

    /* The spec over the default. */
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 300);
    assert_string_equal(p.image, "task:img");
    assert_string_equal(p.workdir, "/src");
    assert_int_equal(p.network, CORRAL_NET_FULL);
    assert_int_equal(p.setup_s, 600);

    /* The task over the spec. */
    t.agent_timeout_s = 120;
    t.setup_timeout_s = 30;
    t.verify_timeout_s = 40;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 120);
    assert_int_equal(p.setup_s, 30);
    assert_int_equal(p.verify_s, 40);
    assert_int_equal(p.ttl_s, 30 + 120 + 40 + 600);

    /* The command line over the task. */
    o.agent_timeout_s = 7;
    o.image = "cli:img";
    o.sandbox = "docker";
    o.model_name = "m";
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 7);
    assert_string_equal(p.image, "cli:img");
    assert_string_equal(p.backend, "docker");
    assert_string_equal(p.model_name, "m");
    assert_string_equal(crl_rollout_model_name(&o), "m");

    /* Zero or negative means unset at every level. */
    o.agent_timeout_s = -1;
    t.agent_timeout_s = 0;
    s.timeout_s = 0;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 900);

    /* Harbor's timeout multiplier: every phase's timeout, the command
     * line's too, rounded up; the TTL follows; capped at the maximum. */
    o.agent_timeout_s = 7;
    o.timeout_multiplier = 1.5;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 11);
    assert_int_equal(p.setup_s, 45);
    assert_int_equal(p.verify_s, 60);
    assert_int_equal(p.ttl_s, 45 + 11 + 60 + 600);
    o.timeout_multiplier = 0.01;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 1);
    o.agent_timeout_s = CRL_MAX_TIMEOUT_S;
    o.timeout_multiplier = 100;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, CRL_MAX_TIMEOUT_S);
    /* an options struct from before the field: no multiplier */
    o.struct_size = offsetof(struct corral_rollout_options, timeout_multiplier);
    o.agent_timeout_s = 7;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 7);

    /* Harbor's per-phase multipliers replace the global one for their
     * phase only (they do not multiply with it); the setup commands keep
     * the global one; the install's 900 s is scaled by its own. */
    o.struct_size = sizeof o;
    o.timeout_multiplier = 2;
    o.agent_timeout_multiplier = 3;
    o.verifier_timeout_multiplier = 0.5;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 21);
    assert_int_equal(p.verify_s, 20);
    assert_int_equal(p.setup_s, 60);
    assert_int_equal(p.install_s, 1800);
    o.agent_setup_timeout_multiplier = 0.1;
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.install_s, 90);
    assert_int_equal(p.agent_s, 21);
    /* an options struct from before the per-phase fields: the global one */
    o.struct_size = offsetof(struct corral_rollout_options, agent_timeout_multiplier);
    crl_rollout_plan_resolve(&o, &t, &s, &p);
    assert_int_equal(p.agent_s, 14);
    assert_int_equal(p.verify_s, 80);
    assert_int_equal(p.install_s, 1800);
}

static cJSON *render(struct crl_rollout_record *rec, int pretty)
{
    assert_int_equal(crl_record_finish(rec, pretty), 0);
    assert_non_null(rec->pub.json);
    assert_int_equal(rec->pub.json_len, strlen(rec->pub.json));
    assert_true(pretty ? strchr(rec->pub.json, '\n') != NULL : strchr(rec->pub.json, '\n') == NULL);
    cJSON *j = cJSON_Parse(rec->pub.json);
    assert_non_null(j);
    return j;
}

static const cJSON *at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

/* A rollout that loaded nothing: the keys are there, reward and error null. */
static void test_record_empty(void **st)
{
    (void)st;
    struct crl_rollout_record rec;
    assert_int_equal(crl_record_init(&rec, "r-1", "/t/hello", "oracle", "local"), 0);
    cJSON *j = render(&rec, 0);
    static const char *const keys[] = {"rollout_id", "task", "agent", "sandbox", "reward", "error",
                                       "timings_ms", "setup", "verify", "events", "transcript"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(at(j, keys[i], NULL));
    assert_string_equal(at(j, "rollout_id", NULL)->valuestring, "r-1");
    assert_string_equal(at(j, "task", "dir")->valuestring, "/t/hello");
    assert_null(at(j, "task", "name"));
    assert_true(cJSON_IsNull(at(j, "task_digest", NULL))); /* the task never loaded */
    assert_int_equal((int)at(j, "attempt", NULL)->valuedouble, 0);
    assert_null(rec.pub.task_digest);
    assert_null(at(j, "egress", NULL)); /* no policy, no key */
    assert_null(rec.pub.egress);
    assert_string_equal(at(j, "agent", "name")->valuestring, "oracle");
    assert_null(at(j, "agent", "status"));
    assert_string_equal(at(j, "sandbox", "backend")->valuestring, "local");
    assert_null(at(j, "sandbox", "id"));
    assert_true(cJSON_IsNull(at(j, "reward", NULL)));
    assert_true(cJSON_IsNull(at(j, "error", NULL)));
    assert_null(at(j, "reward_source", NULL));
    assert_true(cJSON_IsNumber(at(j, "timings_ms", "total")));
    assert_int_equal(rec.pub.error_class, CORRAL_ROLLOUT_OK);
    assert_null(rec.pub.error_phase);
    assert_null(rec.pub.error_message);
    assert_int_equal(rec.pub.has_reward, 0);
    assert_null(rec.pub.reward_source);
    cJSON_Delete(j);
    crl_record_free(&rec);
}

/* A full record: every typed field lands under its RolloutResult key, and
 * the public struct points at the same values. */
static void test_record_full(void **st)
{
    (void)st;
    struct crl_rollout_record rec;
    assert_int_equal(crl_record_init(&rec, "r-2", "/t/x", "pi", "docker"), 0);
    crl_record_set(&rec.task_name, "x");
    crl_record_set(&rec.task_digest, "sha256:ab");
    rec.attempt = 3;
    crl_record_set(&rec.agent_version, "1.2");
    crl_record_set(&rec.sandbox_id, "sb-9");
    crl_record_set(&rec.agent_stderr_tail, "warn");
    rec.agent_status = "failed";
    rec.agent_exit_code = 3;
    rec.has_reward = 1;
    rec.reward = 0.5;
    rec.reward_source = "reward.txt";
    crl_record_timing(&rec, "create", 10);
    crl_record_timing(&rec, "agent", 20);
    crl_record_timing(&rec, "agent", 5); /* a phase's times add up */
    rec.total_ms = 40;
    struct corral_exec_output out = {.res = {.exit_code = 2, .timed_out = 1, .duration_ms = 77},
                                     .out = {.data = "o", .len = 1}, .err = {.data = "e", .len = 1}};
    crl_record_command(&rec.setup, NULL, "make", &out);
    const char *argv[] = {"bash", "/tests/test.sh", NULL};
    crl_record_command(&rec.verify, argv, NULL, &out);
    cJSON_AddItemToArray(rec.events, cJSON_Parse("{\"kind\":\"done\",\"seq\":0}"));
    rec.transcript = strdup("[{\"seq\":0}]");
    rec.timeouts_s[0] = 60, rec.timeouts_s[1] = 90, rec.timeouts_s[2] = 21, rec.timeouts_s[3] = 20;
    rec.egress = cJSON_Parse("[{\"host\":\"a.test\",\"decision\":\"deny\",\"rule\":\"default\"}]");
    assert_int_equal(crl_record_error(&rec, CORRAL_ROLLOUT_ERR_AGENT, "agent", CORRAL_EINVAL, "judged failed"), 1);
    /* The first error wins. */
    assert_int_equal(crl_record_error(&rec, CORRAL_ROLLOUT_ERR_INFRA, "verify", CORRAL_EIO, "later"), 0);

    cJSON *j = render(&rec, 1);
    assert_string_equal(at(j, "task", "name")->valuestring, "x");
    assert_string_equal(at(j, "task_digest", NULL)->valuestring, "sha256:ab");
    assert_int_equal(at(j, "attempt", NULL)->valueint, 3);
    assert_string_equal(at(j, "agent", "version")->valuestring, "1.2");
    assert_string_equal(at(j, "agent", "status")->valuestring, "failed");
    assert_int_equal(at(j, "agent", "exit_code")->valueint, 3);
    assert_true(cJSON_IsFalse(at(j, "agent", "timed_out")));
    assert_string_equal(at(j, "agent", "stderr_tail")->valuestring, "warn");
    assert_string_equal(at(j, "sandbox", "id")->valuestring, "sb-9");
    assert_true(at(j, "reward", NULL)->valuedouble == 0.5);
    assert_string_equal(at(j, "reward_source", NULL)->valuestring, "reward.txt");
    assert_string_equal(at(j, "error", "class")->valuestring, "agent");
    assert_string_equal(at(j, "error", "phase")->valuestring, "agent");
    assert_string_equal(at(j, "error", "message")->valuestring, "judged failed");
    assert_string_equal(at(j, "error", "status")->valuestring, corral_strerror(CORRAL_EINVAL));
    assert_int_equal(at(j, "timings_ms", "create")->valueint, 10);
    assert_int_equal(at(j, "timings_ms", "agent")->valueint, 25);
    assert_int_equal(at(j, "timings_ms", "total")->valueint, 40);
    assert_int_equal(at(j, "timeouts_s", "setup")->valueint, 60);
    assert_int_equal(at(j, "timeouts_s", "agent_setup")->valueint, 90);
    assert_int_equal(at(j, "timeouts_s", "agent")->valueint, 21);
    assert_int_equal(at(j, "timeouts_s", "verify")->valueint, 20);
    const cJSON *s0 = cJSON_GetArrayItem(at(j, "setup", NULL), 0);
    assert_string_equal(at(s0, "command", NULL)->valuestring, "make");
    assert_int_equal(at(s0, "exit_code", NULL)->valueint, 2);
    assert_true(cJSON_IsTrue(at(s0, "timed_out", NULL)));
    assert_int_equal(at(s0, "duration_ms", NULL)->valueint, 77);
    assert_string_equal(at(s0, "stdout", NULL)->valuestring, "o");
    assert_string_equal(at(s0, "stderr", NULL)->valuestring, "e");
    const cJSON *v0 = cJSON_GetArrayItem(at(j, "verify", NULL), 0);
    assert_string_equal(cJSON_GetArrayItem(at(v0, "argv", NULL), 1)->valuestring, "/tests/test.sh");
    assert_null(at(v0, "command", NULL));
    assert_string_equal(at(cJSON_GetArrayItem(at(j, "events", NULL), 0), "kind", NULL)->valuestring, "done");
    assert_int_equal(at(cJSON_GetArrayItem(at(j, "transcript", NULL), 0), "seq", NULL)->valueint, 0);
    assert_string_equal(at(cJSON_GetArrayItem(at(j, "egress", NULL), 0), "rule", NULL)->valuestring, "default");

    const struct corral_rollout_result *p = &rec.pub;
    assert_int_equal(p->struct_size, sizeof *p);
    assert_string_equal(p->rollout_id, "r-2");
    assert_string_equal(p->task_name, "x");
    assert_string_equal(p->task_digest, "sha256:ab");
    assert_int_equal(p->attempt, 3);
    assert_string_equal(p->egress, "[{\"host\":\"a.test\",\"decision\":\"deny\",\"rule\":\"default\"}]");
    assert_string_equal(p->agent, "pi");
    assert_string_equal(p->agent_status, "failed");
    assert_string_equal(p->sandbox_backend, "docker");
    assert_string_equal(p->sandbox_id, "sb-9");
    assert_int_equal(p->has_reward, 1);
    assert_true(p->reward == 0.5);
    assert_int_equal(p->error_class, CORRAL_ROLLOUT_ERR_AGENT);
    assert_string_equal(p->error_phase, "agent");
    assert_string_equal(p->error_message, "judged failed");
    assert_int_equal(p->error_status, CORRAL_EINVAL);
    assert_int_equal(p->n_timings, 2);
    assert_string_equal(p->timings[1].phase, "agent");
    assert_int_equal(p->timings[1].ms, 25);
    cJSON_Delete(j);
    crl_record_free(&rec);
}

/* Cancelled keeps its old JSON: class "infrastructure", message "cancelled". */
static void test_record_cancelled(void **st)
{
    (void)st;
    struct crl_rollout_record rec;
    assert_int_equal(crl_record_init(&rec, "r-3", NULL, NULL, NULL), 0);
    crl_record_error(&rec, CORRAL_ROLLOUT_ERR_CANCELLED, "setup", CORRAL_ECANCELED, "cancelled");
    cJSON *j = render(&rec, 0);
    assert_string_equal(at(j, "error", "class")->valuestring, "infrastructure");
    assert_string_equal(at(j, "error", "phase")->valuestring, "setup");
    assert_string_equal(at(j, "error", "message")->valuestring, "cancelled");
    assert_string_equal(at(j, "error", "status")->valuestring, "cancelled");
    assert_string_equal(at(j, "task", "dir")->valuestring, "");
    assert_int_equal(rec.pub.error_class, CORRAL_ROLLOUT_ERR_CANCELLED);
    cJSON_Delete(j);
    crl_record_free(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_defaults),    cmocka_unit_test(test_plan_precedence),
        cmocka_unit_test(test_record_empty),     cmocka_unit_test(test_record_full),
        cmocka_unit_test(test_record_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
