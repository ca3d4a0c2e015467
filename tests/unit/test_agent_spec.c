/* Declarative agent specs: validation, templates, event mapping, judgement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout/agent_spec.h"
#include "base/internal.h"

static const struct crl_agent_vars vars = {.home = "/h", .workdir = "/w", .run = "/r", .agent_dir = "/a",
                                           .base_url = "http://127.0.0.1:9/rollout/x/v1", .model = "m", .task = "/t",
                                           .gate_url = "http://127.0.0.1:9/rollout/x"};

static void load(const char *agent, struct crl_agent_spec *s)
{
    char path[1024], why[256];
    snprintf(path, sizeof path, "%s/%s/spec.json", AGENTS_DIR, agent);
    int err;
    char *text = crl_read_file(path, NULL, &err);
    assert_non_null(text);
    if (crl_agent_spec_parse(text, s, why, sizeof why) != 0)
        fail_msg("%s: %s", path, why);
    free(text);
}

static void test_templates(void **state)
{
    (void)state;
    char why[256] = "";
    char *s = crl_agent_subst("{agent_dir}/bin --url={base_url} {{literal} {env:KEY} {", &vars, why, sizeof why);
    assert_string_equal(s, "/a/bin --url=http://127.0.0.1:9/rollout/x/v1 {literal} {env:KEY} {");
    free(s);
    s = crl_agent_subst("{gate_url}", &vars, why, sizeof why); /* what Anthropic clients append /v1/messages to */
    assert_string_equal(s, "http://127.0.0.1:9/rollout/x");
    free(s);
    assert_null(crl_agent_subst("{home}/{hoem}", &vars, why, sizeof why));
    assert_string_equal(why, "unknown template variable {hoem}");
    cJSON *t = cJSON_Parse("{\"models\": {\"{model}\": {\"url\": \"{base_url}\"}}, \"n\": 3}");
    cJSON *o = crl_agent_subst_json(t, &vars, why, sizeof why);
    char *text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"models\":{\"m\":{\"url\":\"http://127.0.0.1:9/rollout/x/v1\"}},\"n\":3}");
    free(text);
    cJSON_Delete(o);
    cJSON_Delete(t);
}

/* The shipped specs tag calls without tools auxiliary (docs/gate.md,
 * "Call kinds"); a spec may combine the three conditions. */
static void test_auxiliary_rule(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("opencode", &s);
    assert_int_equal(s.aux_no_tools, 1);
    assert_null(s.aux_system_prefix);
    crl_agent_spec_free(&s);
    load("claude_code", &s);
    assert_int_equal(s.aux_no_tools, 1);
    crl_agent_spec_free(&s);
    load("pi", &s);
    assert_int_equal(s.aux_no_tools, 0);
    crl_agent_spec_free(&s);
    char why[256];
    assert_int_equal(crl_agent_spec_parse("{\"name\": \"a\", \"argv\": [\"x\"], \"auxiliary\": {\"no_tools\": false, "
                                          "\"max_tokens_below\": 512, \"system_prefix\": \"You are a title\"}}",
                                          &s, why, sizeof why),
                     0);
    assert_int_equal(s.aux_no_tools, 0);
    assert_int_equal(s.aux_max_tokens_below, 512);
    assert_string_equal(s.aux_system_prefix, "You are a title");
    crl_agent_spec_free(&s);
}

static void test_invalid_specs_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *json, *why;
    } cases[] = {
        {"[]", "not a JSON object"},
        {"{\"argv\": [\"x\"]}", "\"name\" missing"},
        {"{\"name\": \"a\"}", "\"argv\" must be a non-empty array"},
        {"{\"name\": \"a\", \"argv\": [\"{nope}\"]}", "unknown template variable {nope}"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"prompt\": \"argv\"}", "\"prompt\" must be"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"env\": {\"1BAD\": \"v\"}}", "env \"1BAD\""},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"events\": [{\"emit\": \"e\"}]}", "needs \"match\""},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"files\": [{\"path\": \"/p\"}]}", "\"text\" or \"json\""},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"install\": {\"requires\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
         "\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}}",
         "install.requires lists 17 commands; at most 16"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"auxiliary\": {}}", "\"auxiliary\" must be an object"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"auxiliary\": {\"no_tools\": 1}}", "\"auxiliary\" must be"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"auxiliary\": {\"max_tokens_below\": 0}}", "\"auxiliary\" must be"},
        {"{\"name\": \"a\", \"argv\": [\"x\"], \"auxiliary\": {\"no_tools\": true, \"title\": \"x\"}}",
         "\"auxiliary\" must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct crl_agent_spec s;
        char why[256] = "";
        assert_int_equal(crl_agent_spec_parse(cases[i].json, &s, why, sizeof why), CORRAL_EINVAL);
        if (!strstr(why, cases[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].why);
    }
}

/* Events from a stdout transcript, judged. */
static int judge_lines(const struct crl_agent_spec *s, int code, const char *const *lines, char *why, cJSON **out)
{
    cJSON *events = cJSON_CreateArray();
    for (size_t i = 0; lines[i]; i++) {
        cJSON *e = crl_agent_event(s, lines[i], strlen(lines[i]));
        if (e)
            cJSON_AddItemToArray(events, e);
    }
    int ok = crl_agent_judge(s, code, events, why, 256);
    *out = events;
    return ok;
}

static void test_pi_success_is_judged_from_events_not_exit_code(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("pi", &s);
    const char *good[] = {
        "{\"type\":\"session\",\"version\":3}",
        "{\"type\":\"tool_execution_start\",\"toolCallId\":\"c1\",\"toolName\":\"bash\",\"args\":{\"command\":\"ls\"}}",
        "not json at all",
        "{\"type\":\"message_end\",\"message\":{\"role\":\"assistant\",\"stopReason\":\"stop\",\"content\":[]}}",
        "{\"type\":\"agent_end\",\"messages\":[]}", NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, good, why, &ev));
    assert_int_equal(cJSON_GetArraySize(ev), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "name")->valuestring, "bash");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "input"), "command")->valuestring, "ls");
    cJSON_Delete(ev);
    /* Pi exits 0 when its model call failed: the stopReason decides. */
    const char *bad[] = {
        "{\"type\":\"message_end\",\"message\":{\"role\":\"assistant\",\"stopReason\":\"error\",\"errorMessage\":\"400 x\"}}",
        "{\"type\":\"agent_end\"}", NULL};
    assert_false(judge_lines(&s, 0, bad, why, &ev));
    assert_string_equal(why, "the last \"assistant\" event has stop_reason = \"error\"");
    cJSON_Delete(ev);
    const char *cut[] = {"{\"type\":\"message_end\",\"message\":{\"role\":\"assistant\",\"stopReason\":\"stop\"}}", NULL};
    assert_false(judge_lines(&s, 0, cut, why, &ev));
    assert_string_equal(why, "agent never reported \"done\"");
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

static void test_opencode_error_event_and_exit_code(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("opencode", &s);
    const char *ok[] = {"{\"type\":\"step_finish\",\"part\":{\"reason\":\"tool-calls\"}}",
                        "{\"type\":\"step_finish\",\"part\":{\"reason\":\"stop\"}}", NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, ok, why, &ev));
    cJSON_Delete(ev);
    assert_false(judge_lines(&s, 1, ok, why, &ev));
    assert_string_equal(why, "agent exited with 1");
    cJSON_Delete(ev);
    const char *err[] = {"{\"type\":\"error\",\"error\":{\"name\":\"APIError\",\"data\":{\"message\":\"boom\"}}}",
                         "{\"type\":\"step_finish\",\"part\":{\"reason\":\"stop\"}}", NULL};
    assert_false(judge_lines(&s, 0, err, why, &ev));
    assert_string_equal(why, "agent reported error: boom");
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

/* Claude Code's stream-json lines (as measured with 2.1.332, docs/agents-claude-code.md). */
static void test_claude_code_result_event(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("claude_code", &s);
    const char *good[] = {
        "{\"type\":\"system\",\"subtype\":\"init\",\"model\":\"m\",\"claude_code_version\":\"2.1.332\"}",
        "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\","
        "\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}]}}",
        "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
        "\"content\":\"a.txt\"}]}}",
        "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}",
        "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"done\",\"num_turns\":2}", NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, good, why, &ev));
    assert_int_equal(cJSON_GetArraySize(ev), 5);
    const cJSON *call = cJSON_GetArrayItem(ev, 1);
    assert_string_equal(cJSON_GetObjectItem(call, "kind")->valuestring, "tool_call");
    assert_string_equal(cJSON_GetObjectItem(call, "name")->valuestring, "Bash");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(call, "input"), "command")->valuestring, "ls");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 2), "output")->valuestring, "a.txt");
    cJSON_Delete(ev);
    /* a failed model call: "subtype" still says success, is_error decides */
    const char *bad[] = {"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"api_error_status\":400}", NULL};
    assert_false(judge_lines(&s, 0, bad, why, &ev));
    assert_string_equal(why, "the last \"done\" event has is_error = true");
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

/* Codex's --json lines (as measured with 0.171.0, docs/agents-codex.md). */
static void test_codex_events(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("codex", &s);
    const char *good[] = {
        "{\"type\":\"thread.started\",\"thread_id\":\"t1\"}",
        "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"error\",\"message\":\"Model metadata for "
        "`corral` not found.\"}}",
        "{\"type\":\"turn.started\"}",
        "{\"type\":\"item.started\",\"item\":{\"id\":\"item_1\",\"type\":\"command_execution\",\"command\":\"ls\","
        "\"aggregated_output\":\"\",\"exit_code\":null,\"status\":\"in_progress\"}}",
        "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_1\",\"type\":\"command_execution\",\"command\":\"ls\","
        "\"aggregated_output\":\"a.txt\",\"exit_code\":0,\"status\":\"completed\"}}",
        "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_2\",\"type\":\"agent_message\",\"text\":\"done\"}}",
        "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}", NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, good, why, &ev));
    assert_int_equal(cJSON_GetArraySize(ev), 5); /* the metadata warning and turn.started map to nothing */
    static const char *const kinds[] = {"start", "tool_call", "tool_result", "assistant", "done"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, i), "kind")->valuestring, kinds[i]);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "input")->valuestring, "ls");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 2), "output")->valuestring, "a.txt");
    cJSON_Delete(ev);
    /* a failed turn is an error event, even with exit 0; no turn.completed fails too */
    const char *failed[] = {"{\"type\":\"turn.started\"}", "{\"type\":\"error\",\"message\":\"stream error\"}",
                            "{\"type\":\"turn.failed\",\"error\":{\"message\":\"400 replay_exhausted\"}}", NULL};
    assert_false(judge_lines(&s, 0, failed, why, &ev));
    cJSON_Delete(ev);
    const char *none[] = {"{\"type\":\"thread.started\",\"thread_id\":\"t1\"}", NULL};
    assert_false(judge_lines(&s, 0, none, why, &ev));
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

/* Gemini CLI's stream-json lines (as measured with 0.61.0, docs/agents-gemini-cli.md). */
static void test_gemini_cli_result_event(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("gemini_cli", &s);
    const char *good[] = {
        "{\"type\":\"init\",\"timestamp\":\"t\",\"session_id\":\"s1\",\"model\":\"corral\"}",
        "{\"type\":\"message\",\"role\":\"user\",\"content\":\"Create hello.txt\"}",
        "{\"type\":\"tool_use\",\"tool_name\":\"write_file\",\"tool_id\":\"write_file__call_1\","
        "\"parameters\":{\"file_path\":\"hello.txt\",\"content\":\"Hello\"}}",
        "{\"type\":\"tool_result\",\"tool_id\":\"write_file__call_1\",\"status\":\"success\"}",
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"done\",\"delta\":true}",
        "{\"type\":\"result\",\"status\":\"success\",\"stats\":{\"total_tokens\":0,\"tool_calls\":1}}", NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, good, why, &ev));
    assert_int_equal(cJSON_GetArraySize(ev), 5); /* the user's own message is no event */
    const cJSON *call = cJSON_GetArrayItem(ev, 1);
    assert_string_equal(cJSON_GetObjectItem(call, "kind")->valuestring, "tool_call");
    assert_string_equal(cJSON_GetObjectItem(call, "name")->valuestring, "write_file");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(call, "input"), "file_path")->valuestring, "hello.txt");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 2), "id")->valuestring, "write_file__call_1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 3), "text")->valuestring, "done");
    cJSON_Delete(ev);
    /* a failed model call: exit 144 and a result with status error (either fails the run) */
    const char *bad[] = {"{\"type\":\"result\",\"status\":\"error\",\"error\":{\"type\":\"unknown\","
                         "\"message\":\"[API Error: 400]\"}}", NULL};
    assert_false(judge_lines(&s, 0, bad, why, &ev));
    assert_string_equal(why, "the last \"done\" event has status = \"error\"");
    cJSON_Delete(ev);
    assert_false(judge_lines(&s, 144, good, why, &ev));
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

/* Qwen Code's stream-json lines (as measured with 0.24.4, docs/agents-qwen-code.md). */
static void test_qwen_code_result_event(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("qwen_code", &s);
    const char *good[] = {
        "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s1\",\"model\":\"corral\","
        "\"qwen_code_version\":\"0.24.4\"}",
        "{\"type\":\"stream_event\",\"event\":{\"type\":\"goal_state\"}}",
        "{\"type\":\"assistant\",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
        "\"id\":\"call_1\",\"name\":\"write_file\",\"input\":{\"file_path\":\"/workspace/hello.txt\"}}]}}",
        "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"call_1\",\"is_error\":false,\"content\":\"Successfully created\"}]}}",
        "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}",
        "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":2,\"result\":\"done\"}",
        NULL};
    char why[256];
    cJSON *ev;
    assert_true(judge_lines(&s, 0, good, why, &ev));
    assert_int_equal(cJSON_GetArraySize(ev), 5);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "version")->valuestring, "0.24.4");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 1), "name")->valuestring, "write_file");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 2), "output")->valuestring, "Successfully created");
    cJSON_Delete(ev);
    const char *bad[] = {"{\"type\":\"result\",\"subtype\":\"error_during_execution\",\"is_error\":true,"
                         "\"error\":{\"message\":\"[API Error: 400 x]\"}}", NULL};
    assert_false(judge_lines(&s, 0, bad, why, &ev));
    assert_string_equal(why, "the last \"done\" event has is_error = true");
    cJSON_Delete(ev);
    crl_agent_spec_free(&s);
}

static void test_json_path(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"a\": {\"b\": [10, {\"c\": \"x\"}]}}");
    assert_string_equal(crl_json_path(j, "a.b.1.c")->valuestring, "x");
    assert_int_equal(crl_json_path(j, "a.b.0")->valueint, 10);
    assert_null(crl_json_path(j, "a.b.2"));
    assert_null(crl_json_path(j, "a.b.-1"));
    assert_null(crl_json_path(j, "a.x.c"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_invalid_specs_say_why),
        cmocka_unit_test(test_pi_success_is_judged_from_events_not_exit_code),
        cmocka_unit_test(test_opencode_error_event_and_exit_code),
        cmocka_unit_test(test_claude_code_result_event),
        cmocka_unit_test(test_codex_events),
        cmocka_unit_test(test_gemini_cli_result_event),
        cmocka_unit_test(test_qwen_code_result_event),
        cmocka_unit_test(test_json_path),
        cmocka_unit_test(test_auxiliary_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
