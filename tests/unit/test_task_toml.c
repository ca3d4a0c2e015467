/* Harbor's task.toml (core/src/rollout/task_toml.c): every mapped field
 * lands where task.json's would, legacy spellings included; unknown keys
 * are warnings; wrong types and refused fields are errors naming the file,
 * the table and the key.  docs/harbor.md has the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "crl_common.h"
#include "testenv.h"
#include <corral/rollout.h>

static const char *task_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", getenv("HOME"), name);
    return p;
}

/* A task dir name with instruction.md and task.toml holding toml. */
static void write_task(const char *name, const char *toml)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/instruction.md", name);
    testenv_write(rel, "do it\n");
    snprintf(rel, sizeof rel, "%s/task.toml", name);
    testenv_write(rel, toml);
    snprintf(rel, sizeof rel, "%s/tests/test.sh", name);
    testenv_write(rel, "exit 0\n");
}

static struct corral_task *load_ok(const char *name)
{
    struct corral_task *t = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    if (corral_task_load(task_dir(name), &t, &call) != 0)
        fail_msg("%s: %s", name, call.message);
    return t;
}

static void expect_error(const char *name, const char *toml, const char *needle)
{
    write_task(name, toml);
    struct corral_task *t = NULL;
    struct corral_call call;
    corral_call_init(&call, 0);
    assert_int_not_equal(corral_task_load(task_dir(name), &t, &call), 0);
    assert_null(t);
    if (!strstr(call.message, needle))
        fail_msg("%s: '%s' lacks '%s'", name, call.message, needle);
    if (!strstr(call.message, "task.toml") && !strstr(call.message, "environment/"))
        fail_msg("%s: '%s' names no file", name, call.message);
}

static void current_schema_maps(void **state)
{
    (void)state;
    setenv("CORRAL_TT_SET", "from-host", 1);
    unsetenv("CORRAL_TT_UNSET");
    write_task("cur", "schema_version = \"1.1\"\n"
                      "[task]\nname = \"org/cur\"\nversion = \"2.0\"\nkeywords = [\"a\"]\n"
                      "[metadata]\ndifficulty = \"hard\"\nn = 3\n"
                      "[agent]\ntimeout_sec = 90.5\n"
                      "[verifier]\ntimeout_sec = 30\nenvironment_mode = \"separate\"\n"
                      "[environment]\ndocker_image = \"img:1\"\ncpus = 2\nmemory_mb = 512\nstorage_mb = 64\n"
                      "network_mode = \"no-network\"\nworkdir = \"/app\"\nos = \"Linux\"\ngpus = 0\n"
                      "env = { A = \"${CORRAL_TT_SET}\", B = \"${CORRAL_TT_UNSET:-dflt}\", C = \"${CORRAL_TT_SET:-x}\","
                      " D = \"lit ${X}\", E = \"${CORRAL_TT_UNSET:-}\" }\n");
    struct corral_task *t = load_ok("cur");
    assert_string_equal(t->name, "org/cur");
    assert_string_equal(t->version, "2.0");
    assert_non_null(strstr(t->metadata_json, "\"difficulty\":\"hard\""));
    assert_non_null(strstr(t->metadata_json, "\"task\":{\"name\":\"org/cur\""));
    assert_int_equal(t->agent_timeout_s, 91);
    assert_int_equal(t->verify_timeout_s, 30);
    assert_int_equal(t->verify_sandbox, CORRAL_VERIFY_FRESH);
    assert_string_equal(t->image, "img:1");
    assert_true(t->cpus == 2.0);
    assert_int_equal(t->memory_bytes, 512LL << 20);
    assert_int_equal(t->storage_bytes, 64LL << 20);
    assert_int_equal(t->network, CORRAL_NET_NONE);
    assert_string_equal(t->workdir, "/app");
    assert_string_equal(t->env[0], "A=from-host");
    assert_string_equal(t->env[1], "B=dflt");
    assert_string_equal(t->env[2], "C=from-host");
    assert_string_equal(t->env[3], "D=lit ${X}");
    assert_string_equal(t->env[4], "E=");
    assert_null(t->env[5]);
    assert_true(t->warnings == NULL || t->warnings[0] == NULL);
    assert_true(t->has_tests);
    corral_task_free(t);
}

static void legacy_schema_and_defaults(void **state)
{
    (void)state;
    write_task("legacy", "version = \"1.0\"\n[metadata]\nauthor_name = \"x\"\n"
                         "[environment]\nmemory = \"2G\"\nstorage = \"512M\"\nallow_internet = false\n"
                         "new_thing = 1\n[agent]\nuser = \"agent\"\n[future]\nx = 1\n");
    struct corral_task *t = load_ok("legacy");
    assert_string_equal(t->name, "legacy"); /* no [task] name: the directory's */
    assert_null(t->version);
    assert_int_equal(t->memory_bytes, 2048LL << 20);
    assert_int_equal(t->storage_bytes, 512LL << 20);
    assert_int_equal(t->network, CORRAL_NET_NONE);
    assert_int_equal(t->verify_sandbox, CORRAL_VERIFY_SAME); /* Harbor's default: shared */
    assert_string_equal(t->workdir, "/workspace");
    assert_non_null(t->warnings);
    const char *want[] = {"[environment] new_thing is not a field corral knows",
                          "future is not a field corral knows"};
    assert_string_equal(t->agent_user, "agent");
    assert_null(t->verifier_user);
    for (size_t i = 0; i < 2; i++) {
        int found = 0;
        for (size_t k = 0; t->warnings[k]; k++)
            found |= strstr(t->warnings[k], want[i]) && strstr(t->warnings[k], "legacy/task.toml: ");
        if (!found)
            fail_msg("no warning \"%s\"", want[i]);
    }
    corral_task_free(t);
    write_task("dflt", "");
    t = load_ok("dflt");
    assert_int_equal(t->network, CORRAL_NET_FULL); /* Harbor's default: public */
    corral_task_free(t);
    /* network_mode wins over allow_internet, as in Harbor */
    write_task("both_net", "[environment]\nallow_internet = false\nnetwork_mode = \"public\"\n");
    t = load_ok("both_net");
    assert_int_equal(t->network, CORRAL_NET_FULL);
    corral_task_free(t);
}

static void wrong_types_name_table_and_key(void **state)
{
    (void)state;
    expect_error("t1", "[environment]\ncpus = \"two\"\n", "t1/task.toml: [environment] cpus must be an integer (found string)");
    expect_error("t2", "[agent]\ntimeout_sec = \"long\"\n", "[agent] timeout_sec must be a number of seconds (found string)");
    expect_error("t3", "[environment]\nallow_internet = 1\n", "[environment] allow_internet must be a boolean (found integer)");
    expect_error("t4", "environment = 3\n", "task.toml: environment must be a table (found integer)");
    expect_error("t5", "[environment]\nenv = { A = 1 }\n", "[environment.env] A must be a string (found integer)");
    expect_error("t6", "[environment]\nmemory = \"lots\"\n", "[environment] memory: must be a size");
    expect_error("t7", "[environment]\nmemory = \"1G\"\nmemory_mb = 2048\n", "conflicts with memory_mb = 2048");
    expect_error("t8", "[environment]\ncpus = -1\n", "[environment] cpus must be from 0 to 4096");
    expect_error("t9", "[verifier]\ntimeout_sec = 0\n", "[verifier] timeout_sec must be above 0");
    expect_error("t10", "[environment]\nworkdir = \"/\"\n", "[environment] workdir: must not be / itself");
    expect_error("t11", "[task]\nname = 5\n", "[task] name must be a string (found integer)");
    expect_error("t12", "a = 1\na = 2\n", "t12/task.toml: line 2, column 1: key \"a\" defined twice");
    unsetenv("CORRAL_TT_UNSET");
    expect_error("t13", "[environment]\nenv = { K = \"${CORRAL_TT_UNSET}\" }\n",
                 "[environment.env] K: the variable CORRAL_TT_UNSET is not set on this host");
    expect_error("t14", "[environment]\nenv = { \"1BAD\" = \"x\" }\n", "not a valid environment variable name");
    expect_error("t15", "[environment]\ncpus = 1e400\n", "[environment] cpus must be an integer (found float)");
}

/* [verifier] env and [solution] env: their own lists, ${VAR:-default}
 * resolved as [environment] env is, never merged into the task's env. */
static void phase_envs(void **state)
{
    (void)state;
    setenv("CORRAL_TT_HINT", "from host", 1);
    write_task("pe", "[environment]\nenv = { A = \"task\" }\n[verifier]\nuser = 1000\nenv = { ANSWER = \"42\", "
                     "D = \"${CORRAL_TT_NOPE:-dflt}\" }\n[solution]\nenv = { HINT = \"${CORRAL_TT_HINT}\" }\n");
    struct corral_task *t = load_ok("pe");
    assert_string_equal(t->env[0], "A=task");
    assert_null(t->env[1]);
    assert_string_equal(t->verifier_env[0], "ANSWER=42");
    assert_string_equal(t->verifier_env[1], "D=dflt");
    assert_null(t->verifier_env[2]);
    assert_string_equal(t->solution_env[0], "HINT=from host");
    assert_null(t->agent_user);
    assert_string_equal(t->verifier_user, "1000");
    assert_null(t->solution_env[1]);
    corral_task_free(t);
    unsetenv("CORRAL_TT_HINT");
}

/* Harbor's per-phase network_mode: a phase's own egress policy where the
 * task's network already goes through corral's proxy. */
static void phase_networks(void **state)
{
    (void)state;
    write_task("pn1", "[environment]\nnetwork_mode = \"no-network\"\n[agent]\nnetwork_mode = \"allowlist\"\n"
                      "allowed_hosts = [\"pypi.org\"]\n[verifier]\nnetwork_mode = \"no-network\"\n");
    struct corral_task *t = load_ok("pn1");
    assert_non_null(t->egress_json);
    cJSON *j = cJSON_Parse(t->egress_json);
    assert_string_equal(cJSON_GetObjectItem(j, "default")->valuestring, "deny");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 0);
    cJSON *agent = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "phases"), "agent");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(agent, "rules"), 0), "host_pattern")
                            ->valuestring,
                        "pypi.org");
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "phases"), "verify")); /* restated: the task's own */
    cJSON_Delete(j);
    corral_task_free(t);
    write_task("pn2", "[environment]\nnetwork_mode = \"allowlist\"\nallowed_hosts = [\"a.com\"]\n[verifier]\n"
                      "network_mode = \"no-network\"\n");
    t = load_ok("pn2");
    j = cJSON_Parse(t->egress_json);
    cJSON *verify = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "phases"), "verify");
    assert_string_equal(cJSON_GetObjectItem(verify, "default")->valuestring, "deny");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(verify, "rules")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 1);
    cJSON_Delete(j);
    corral_task_free(t);
    write_task("pn3", "[environment]\nnetwork_mode = \"public\"\n[agent]\nnetwork_mode = \"public\"\n");
    t = load_ok("pn3"); /* restated */
    assert_null(t->egress_json);
    corral_task_free(t);
    expect_error("pn4", "[environment]\nnetwork_mode = \"no-network\"\n[agent]\nnetwork_mode = \"allowlist\"\n"
                        "allowed_hosts = [\"*.bad*\"]\n", "[agent] network_mode");
}

/* Harbor's artifacts: strings or {source, destination, exclude, service}. */
static void artifacts_list(void **state)
{
    (void)state;
    write_task("a1", "artifacts = [\"/app/out.txt\", \"rel/dir/\",\n"
                     "  { source = \"/tmp/logs\", destination = \"logs/tmp\", exclude = [\"*.pyc\"] },\n"
                     "  { source = \"/x\", service = \"main\" }]\n");
    struct corral_task *t = load_ok("a1");
    assert_non_null(t->artifact_sources);
    assert_string_equal(t->artifact_sources[0], "/app/out.txt");
    assert_string_equal(t->artifact_dests[0], "");
    assert_string_equal(t->artifact_sources[1], "rel/dir/");
    assert_string_equal(t->artifact_sources[2], "/tmp/logs");
    assert_string_equal(t->artifact_dests[2], "logs/tmp");
    assert_string_equal(t->artifact_sources[3], "/x");
    assert_null(t->artifact_sources[4]);
    assert_null(t->artifact_dests[4]);
    int warned = 0; /* exclude is read, not honoured: a warning */
    for (size_t i = 0; t->warnings && t->warnings[i]; i++)
        warned |= strstr(t->warnings[i], "[artifacts[2]] exclude is not honoured") != NULL;
    assert_true(warned);
    corral_task_free(t);
    write_task("a0", "");
    t = load_ok("a0");
    assert_null(t->artifact_sources);
    corral_task_free(t);

    expect_error("a2", "artifacts = \"/app\"\n", "task.toml: artifacts must be an array of paths or tables");
    expect_error("a3", "artifacts = [1]\n", "task.toml: artifacts[0] must be a path or a table (found integer)");
    expect_error("a4", "artifacts = [\"/app/../etc\"]\n", "artifacts[0]: source \"/app/../etc\" goes through \"..\"");
    expect_error("a5", "artifacts = [\"/proc/self\"]\n", "artifacts[0]: source \"/proc/self\" is outside what can be collected");
    expect_error("a6", "artifacts = [\"/\"]\n", "is outside what can be collected");
    expect_error("a7", "artifacts = [{ destination = \"x\" }]\n", "[artifacts[0]] source: is required");
    expect_error("a8", "artifacts = [{ source = \"/a\", destination = \"/abs\" }]\n",
                 "destination \"/abs\" must be a relative path");
    expect_error("a9", "artifacts = [{ source = \"/a\", destination = \"x/../../y\" }]\n", "goes through \"..\"");
    expect_error("a10", "artifacts = [{ source = \"/a\", service = \"db\" }]\n", "[artifacts[0]] service: names a compose service");
    expect_error("a11", "artifacts = [{ source = 3 }]\n", "[artifacts[0]] source must be a string (found integer)");
    struct crl_buf many = {0};
    crl_buf_addf(&many, "artifacts = [");
    for (int i = 0; i < 65; i++)
        crl_buf_addf(&many, "\"/a%d\",", i);
    crl_buf_addf(&many, "]\n");
    expect_error("a12", many.p, "artifacts: has more entries than corral collects (64)");
    crl_buf_free(&many);
}

static void refusals_name_file_and_field(void **state)
{
    (void)state;
    expect_error("r1", "[environment]\nos = \"windows\"\n", "[environment] os: \"windows\" is refused");
    expect_error("r2", "[[steps]]\nname = \"one\"\n", "task.toml: steps: multi-step tasks are not supported");
    expect_error("r3", "[environment]\ngpus = 1\n", "[environment] gpus: no corral backend provides GPUs");
    expect_error("r4", "[environment.tpu]\ntype = \"tpu-v6e-slice\"\ntopology = \"2x2\"\n", "[environment] tpu: no corral backend provides TPUs");
    expect_error("r5", "[environment.healthcheck]\ncommand = \"true\"\n", "[environment] healthcheck: healthchecks are not supported");
    expect_error("r6", "[[environment.mcp_servers]]\nname = \"corral\"\nurl = \"http://x\"\n",
                 "[environment] mcp_servers[0].name: \"corral\" is reserved");
    expect_error("r7", "[agent]\nnetwork_mode = \"allowlist\"\nallowed_hosts = [\"a.com\"]\n",
                 "[agent] network_mode: a phase narrower than a public [environment] is not mapped");
    expect_error("r8", "[verifier]\nenv = { K = 1 }\n", "[verifier.env] K must be a string (found integer)");
    expect_error("r9", "[environment]\nallow_internet = false\n[agent]\nnetwork_mode = \"public\"\n",
                 "[agent] network_mode: \"public\" for one phase of a task whose [environment] has no public network");
    expect_error("r9b", "[environment]\nnetwork_mode = \"no-network\"\n[verifier]\nnetwork_mode = \"no-network\"\n"
                        "allowed_hosts = [\"a.com\"]\n", "[verifier] allowed_hosts: is only valid with");
    expect_error("r10", "[verifier.environment]\ncpus = 1\n", "[verifier] environment: a separate verifier environment");
    expect_error("u1", "[verifier]\nuser = \"-rf\"\n", "[verifier] user: must be a user name");
    expect_error("u2", "[agent]\nuser = \"a b\"\n", "[agent] user: must be a user name");
    expect_error("u3", "[agent]\nuser = -1\n", "[agent] user: must be a uid from 0");
    expect_error("u4", "[agent]\nuser = true\n", "[agent] user must be a user name or uid (found");
    unsetenv("CORRAL_TT_UNSET");
    expect_error("r11", "[solution]\nenv = { K = \"${CORRAL_TT_UNSET}\" }\n",
                 "[solution.env] K: the variable CORRAL_TT_UNSET is not set on this host");
    write_task("compose", "");
    testenv_write("compose/environment/docker-compose.yaml", "services: {}\n");
    expect_error("compose", "", "compose/environment/docker-compose.yaml: multi-container (docker compose)");
    write_task("dockerfile", "");
    testenv_write("dockerfile/environment/Dockerfile", "FROM debian\n");
    /* only a Dockerfile: loaded, its image to be built (build_timeout_sec kept) */
    write_task("dockerfile", "[environment]\nbuild_timeout_sec = 90.0\n");
    struct corral_task *t = load_ok("dockerfile");
    assert_int_equal(t->has_dockerfile, 1);
    assert_int_equal(t->build_timeout_s, 90);
    assert_null(t->image);
    corral_task_free(t);
    /* with a docker_image the Dockerfile is only the image's recipe */
    write_task("dockerfile", "[environment]\ndocker_image = \"img:1\"\n");
    t = load_ok("dockerfile");
    assert_string_equal(t->image, "img:1");
    corral_task_free(t);
    write_task("twofiles", "");
    testenv_write("twofiles/task.json", "{}");
    expect_error("twofiles", "", "twofiles: both task.json and task.toml are present");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(current_schema_maps, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(legacy_schema_and_defaults, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(wrong_types_name_table_and_key, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(phase_envs, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(phase_networks, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(refusals_name_file_and_field, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(artifacts_list, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
