/* Configuration: layer precedence, validation messages, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "base/internal.h"
#include "config/limits.h"
#include "plugins/testplug_state.h"
#include "testenv.h"

#define MAIN_DIR TEST_PLUGIN_DIR "/main"


static const char *const dirs[] = {MAIN_DIR, NULL};

/* The effective value of sandbox.good.<key> in the dump. */
static cJSON *effective(corral_ctx *ctx, cJSON **root)
{
    char *dump = corral_config_dump(ctx);
    *root = cJSON_Parse(dump);
    free(dump);
    assert_non_null(*root);
    cJSON *good = cJSON_GetObjectItem(cJSON_GetObjectItem(*root, "sandbox"), "good");
    assert_non_null(good);
    return good;
}

static void assert_error(corral_ctx *ctx, const char *needle)
{
    const char *errs = corral_config_errors(ctx);
    if (!strstr(errs, needle))
        fail_msg("expected an error containing '%s', got:\n%s", needle, errs);
}

static void test_later_layers_win_per_key(void **state)
{
    (void)state;
    testenv_write("etc/corral.json",
                  "{\"sandbox\": {\"good\": {\"retries\": 1, \"endpoint\": \"http://etc\", \"ratio\": 0.25}}}");
    testenv_write("etc/conf.d/10-a.json", "{\"sandbox\": {\"good\": {\"retries\": 10}}}");
    /* Lexical (byte) order: "10-a" < "9-b", so 9-b is applied last. */
    testenv_write("etc/conf.d/9-b.json", "{\"sandbox\": {\"good\": {\"retries\": 9, \"tags\": [\"x\"]}}}");
    testenv_write("etc/conf.d/README", "not json, and not a .json file: ignored");
    testenv_write("xdg/corral/config.json", "{\"sandbox\": {\"good\": {\"endpoint\": \"http://xdg\"}}}");
    const char *explicit = testenv_write("explicit.json", "{\"sandbox\": {\"good\": {\"verbose\": true}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, explicit, &st);
    assert_int_equal(st, 0);
    cJSON *root, *good = effective(ctx, &root);
    assert_int_equal(cJSON_GetObjectItem(good, "retries")->valueint, 9);
    assert_string_equal(cJSON_GetObjectItem(good, "endpoint")->valuestring, "http://xdg");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(good, "verbose")));
    assert_true(cJSON_GetObjectItem(good, "ratio")->valuedouble == 0.25);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(good, "tags"), 0)->valuestring, "x");
    /* Untouched options keep the schema's defaults. */
    assert_string_equal(cJSON_GetObjectItem(good, "api_key_env")->valuestring, "TEST_API_KEY");
    cJSON *files = cJSON_GetObjectItem(root, "config_files");
    assert_int_equal(cJSON_GetArraySize(files), 5);
    assert_non_null(strstr(cJSON_GetArrayItem(files, 4)->valuestring, "explicit.json"));
    cJSON_Delete(root);
    corral_close(ctx);
}

static void test_unknown_key_lists_valid_keys_and_file(void **state)
{
    (void)state;
    const char *f = testenv_write("etc/conf.d/20-typo.json", "{\"sandbox\": {\"good\": {\"retrys\": 2}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: sandbox.good: unknown key 'retrys' (valid keys: enabled, max_concurrent, max_creates_per_second, "
             "endpoint, retries, verbose, ratio, tags, api_key_env)",
             f);
    assert_error(ctx, want);
    /* The plugin whose section is invalid is refused, the rest still load. */
    const struct corral_plugin_record *r = testenv_record(ctx, CORRAL_PLUGIN_SANDBOX, "good", NULL);
    assert_int_equal(r->status, CORRAL_PLUGIN_REFUSED);
    assert_non_null(corral_plugin_find(ctx, CORRAL_PLUGIN_AGENT, "good"));
    corral_close(ctx);
}

static void test_wrong_type_names_key_and_file(void **state)
{
    (void)state;
    const char *f = testenv_write("etc/corral.json", "{\"sandbox\": {\"good\": {\"retries\": \"three\"}}}");
    testenv_write("etc/conf.d/30.json", "{\"sandbox\": {\"good\": {\"retries\": 1.5, \"tags\": [1]}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want, "%s: sandbox.good.retries must be an integer", f);
    assert_error(ctx, want);
    assert_error(ctx, "conf.d/30.json: sandbox.good.retries must be an integer");
    assert_error(ctx, "conf.d/30.json: sandbox.good.tags must be an array of strings");
    corral_close(ctx);
}

static void test_secret_values_are_refused_without_echo(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"sandbox\": {\"good\": {\"api_key_env\": \"sk-live-0123456789abcdef\"}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    assert_error(ctx, "sandbox.good.api_key_env must name an environment variable");
    assert_null(strstr(corral_config_errors(ctx), "sk-live"));
    char *dump = corral_config_dump(ctx);
    assert_null(strstr(dump, "sk-live"));
    free(dump);
    corral_close(ctx);
}

static void test_unchecked_sections_are_redacted_and_warned(void **state)
{
    (void)state;
    testenv_write("etc/corral.json",
                  "{\"sandbox\": {\"nowhere\": {\"api_key\": \"sk-live-0123456789abcdef\", \"token_env\": \"NOWHERE_TOKEN\","
                  " \"url\": \"http://x\"}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(corral_config_warnings(ctx), "sandbox.nowhere configures a plugin that is not installed"));
    char *dump = corral_config_dump(ctx);
    assert_null(strstr(dump, "sk-live"));
    assert_non_null(strstr(dump, "<redacted>"));
    assert_non_null(strstr(dump, "NOWHERE_TOKEN")); /* env-var names are not secrets */
    assert_non_null(strstr(dump, "http://x"));
    free(dump);
    corral_close(ctx);
}

static void test_core_keys_and_json_errors(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"plugins\": {}, \"log_level\": \"loud\",\n \"sandbox\": {\"good\": {\"enabled\": \"no\"}}}");
    testenv_write("etc/conf.d/1.json", "{\n\"sandbox\": {\n  \"good\": {,}\n}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    assert_error(ctx, "unknown key 'plugins' (valid keys: plugin_dirs, log_level, sandbox, agent, install_env, limits, images)");
    assert_error(ctx, "log_level 'loud' is not one of error, warn, info, debug");
    assert_error(ctx, "sandbox.good.enabled must be true or false, not a string");
    assert_error(ctx, "conf.d/1.json:3: invalid JSON near");
    corral_close(ctx);
}

static void test_missing_explicit_file_is_an_error(void **state)
{
    (void)state;
    int st;
    corral_ctx *ctx = testenv_open(dirs, "/nonexistent/corral.json", &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    assert_error(ctx, "/nonexistent/corral.json: cannot read: No such file or directory");
    corral_close(ctx);
}

static void test_host_accessors_see_effective_values(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"sandbox\": {\"good\": {\"retries\": 7, \"tags\": [\"p\", \"q\"]}}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);
    const struct corral_plugin_record *r = corral_plugin_find(ctx, CORRAL_PLUGIN_SANDBOX, "good");
    assert_non_null(r);
    /* What the plugin's init() read through its host table. */
    const struct testplug_state *seen = r->state;
    assert_true(seen->inits >= 1);
    assert_int_equal(seen->retries, 7);
    assert_string_equal(seen->endpoint, "http://localhost"); /* the default */
    assert_false(seen->verbose);
    assert_true(seen->ratio == 0.5);
    assert_string_equal(seen->tags[0], "p");
    assert_string_equal(seen->tags[1], "q");
    assert_null(seen->tags[2]);
    assert_null(seen->wrong_type);
    corral_close(ctx);
}

static void test_install_env_names_are_checked(void **state)
{
    (void)state;
    const char *f = testenv_write("etc/corral.json",
                                  "{\"install_env\": [\"HTTPS_PROXY\", \"bad-name\", 3, \"CORRAL_GATE_TRAINER_TOKEN\","
                                  " \"TEST_API_KEY\"]}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want, "%s: install_env: 'bad-name' is not an environment variable name", f);
    assert_error(ctx, want);
    snprintf(want, sizeof want, "%s: install_env entries must be strings (variable names)", f);
    assert_error(ctx, want);
    assert_error(ctx, "install_env: CORRAL_GATE_TRAINER_TOKEN is corral's own variable");
    /* The good test plugins read their key from TEST_API_KEY (their api_key_env default). */
    assert_error(ctx, "install_env: TEST_API_KEY holds a credential corral uses itself (");
    assert_error(ctx, ".good.api_key_env) and never enters a sandbox");
    assert_null(strstr(corral_config_errors(ctx), "HTTPS_PROXY"));
    corral_close(ctx);
}

/* "limits": integers in range, known keys only. */
static void test_limits_are_checked(void **state)
{
    (void)state;
    const char *f = testenv_write("etc/corral.json",
                                  "{\"limits\": {\"request_bytes\": 1.5, \"events\": 0, \"upstream_max_n\": 2,"
                                  " \"socket_connections\": 2048, \"bogus\": 1}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, CORRAL_ECONFIG);
    char want[1024];
    snprintf(want, sizeof want, "%s: limits.request_bytes must be an integer from 1024 to 1073741824", f);
    assert_error(ctx, want);
    assert_error(ctx, "limits.events must be an integer from 1 to");
    assert_error(ctx, "limits: unknown key 'bogus'");
    assert_error(ctx, "limits.socket_connections must be an integer from 1 to 1024");
    assert_null(strstr(corral_config_errors(ctx), "limits.upstream_max_n"));
    corral_close(ctx);
}

/* A rollout socket's connection cap reaches the gate's options. */
static void test_limits_reach_gate(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"limits\": {\"socket_connections\": 8, \"connections_per_rollout\": 4}}");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);
    struct crl_limits lim;
    crl_limits_get(ctx, &lim);
    struct corral_gate_options go = {.struct_size = sizeof go};
    crl_limits_gate_options(&lim, &go);
    assert_int_equal(go.socket_connections, 8);
    assert_int_equal(go.rollout_connections, 4);
    corral_close(ctx);
}

static void test_install_env_passes_set_names_only(void **state)
{
    (void)state;
    testenv_write("etc/corral.json", "{\"install_env\": [\"CRL_T_SET\", \"CRL_T_UNSET\"]}");
    setenv("CRL_T_SET", "v a=l'ue", 1);
    setenv("CRL_T_EXTRA", "x", 1);
    unsetenv("CRL_T_UNSET");
    int st;
    corral_ctx *ctx = testenv_open(dirs, NULL, &st);
    assert_int_equal(st, 0);
    cJSON *root;
    effective(ctx, &root);
    char *names = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "install_env"));
    assert_string_equal(names, "[\"CRL_T_SET\",\"CRL_T_UNSET\"]"); /* names only in the dump */
    free(names);
    cJSON_Delete(root);

    struct crl_strv env = {0};
    char why[256] = "";
    crl_strv_push(&env, "HOME=/tmp/h");
    static const char *const extra[] = {"CRL_T_EXTRA", "CRL_T_SET", NULL};
    assert_int_equal(crl_install_env_add(ctx, extra, NULL, &env, why, sizeof why), 0);
    assert_int_equal(env.n, 3);
    assert_string_equal(env.v[1], "CRL_T_SET=v a=l'ue");
    assert_string_equal(env.v[2], "CRL_T_EXTRA=x");
    crl_strv_free(&env);

    static const char *const home[] = {"HOME", NULL};
    crl_strv_push(&env, "HOME=/tmp/h");
    assert_int_equal(crl_install_env_add(ctx, home, NULL, &env, why, sizeof why), CORRAL_EINVAL);
    assert_non_null(strstr(why, "HOME is set by corral or the agent spec"));
    crl_strv_free(&env);

    static const char *const key[] = {"CRL_T_EXTRA", NULL};
    assert_int_equal(crl_install_env_add(ctx, key, "CRL_T_EXTRA", &env, why, sizeof why), CORRAL_EINVAL);
    assert_non_null(strstr(why, "CRL_T_EXTRA holds the upstream model API key"));
    assert_null(strstr(why, "=x"));
    crl_strv_free(&env);

    static const char *const secret[] = {"TEST_API_KEY", NULL};
    assert_int_equal(crl_install_env_add(ctx, secret, NULL, &env, why, sizeof why), CORRAL_EINVAL);
    assert_non_null(strstr(why, ".good.api_key_env"));
    crl_strv_free(&env);
    unsetenv("CRL_T_SET");
    unsetenv("CRL_T_EXTRA");
    corral_close(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_later_layers_win_per_key, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_lists_valid_keys_and_file, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type_names_key_and_file, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_secret_values_are_refused_without_echo, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unchecked_sections_are_redacted_and_warned, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_core_keys_and_json_errors, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing_explicit_file_is_an_error, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_host_accessors_see_effective_values, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_install_env_names_are_checked, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_limits_are_checked, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_limits_reach_gate, testenv_fixture_setup, testenv_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_install_env_passes_set_names_only, testenv_fixture_setup, testenv_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
