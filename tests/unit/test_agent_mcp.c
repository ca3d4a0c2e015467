/* Each shipped agent spec's "mcp" section (core/src/rollout/agent_mcp.c):
 * a stdio and an HTTP server rendered into the CLI's own configuration,
 * exactly, as valid JSON or TOML; agents that cannot take a server say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout/agent_spec.h"
#include "base/internal.h"
#include "crl_toml.h"

static const struct crl_agent_vars vars = {.home = "/h", .workdir = "/w", .run = "/r", .agent_dir = "/a",
                                           .base_url = "http://127.0.0.1:9/rollout/x/v1", .model = "m", .task = "/t",
                                           .gate_url = "http://127.0.0.1:9/rollout/x"};

/* A stdio server whose values need escaping in JSON and TOML, and an HTTP one. */
static const char servers_json[] =
    "[{\"name\":\"echo\",\"transport\":\"stdio\",\"command\":\"python3\",\"args\":[\"/t/srv.py\",\"a \\\"q\\\"\\n\"],"
    "\"env\":{\"K\":\"v\\\\w\"}},"
    "{\"name\":\"web\",\"transport\":\"streamable-http\",\"url\":\"http://h:1/mcp\","
    "\"headers\":{\"Authorization\":\"Bearer tok\"}}]";

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

/* The body of the file at `path` among the agent's files with the servers. */
static char *body_of(const char *agent, const char *path, const char *servers)
{
    struct crl_agent_spec s;
    load(agent, &s);
    cJSON *sv = cJSON_Parse(servers);
    struct crl_strv paths = {0}, bodies = {0};
    char why[256];
    if (crl_agent_files(&s, &vars, sv, &paths, &bodies, why, sizeof why) != 0)
        fail_msg("%s: %s", agent, why);
    char *out = NULL;
    for (size_t i = 0; i < paths.n; i++)
        if (strcmp(paths.v[i], path) == 0)
            out = strdup(bodies.v[i]);
    if (!out)
        fail_msg("%s: no file %s", agent, path);
    crl_strv_free(&paths);
    crl_strv_free(&bodies);
    cJSON_Delete(sv);
    crl_agent_spec_free(&s);
    return out;
}

/* The JSON file's servers object at key, compact. */
static void expect_json(const char *agent, const char *path, const char *key, const char *want)
{
    char *body = body_of(agent, path, servers_json);
    cJSON *j = cJSON_Parse(body);
    if (!j)
        fail_msg("%s: %s is not JSON", agent, path);
    char *got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, key));
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s:\ngot  %s\nwant %s", agent, got ? got : "(none)", want);
    free(got);
    cJSON_Delete(j);
    free(body);
}

static void test_opencode(void **state)
{
    (void)state;
    expect_json("opencode", "/h/opencode.json", "mcp",
                "{\"echo\":{\"type\":\"local\",\"command\":[\"python3\",\"/t/srv.py\",\"a \\\"q\\\"\\n\"],"
                "\"environment\":{\"K\":\"v\\\\w\"},\"enabled\":true},"
                "\"web\":{\"type\":\"remote\",\"url\":\"http://h:1/mcp\",\"headers\":{\"Authorization\":\"Bearer tok\"},"
                "\"enabled\":true}}");
    /* the rest of its configuration is still there */
    char *body = body_of("opencode", "/h/opencode.json", servers_json);
    assert_non_null(strstr(body, "\"model\":\t\"corral/m\""));
    free(body);
}

static void test_claude_code(void **state)
{
    (void)state;
    expect_json("claude_code", "/h/.claude/corral-mcp.json", "mcpServers",
                "{\"echo\":{\"type\":\"stdio\",\"command\":\"python3\",\"args\":[\"/t/srv.py\",\"a \\\"q\\\"\\n\"],"
                "\"env\":{\"K\":\"v\\\\w\"}},"
                "\"web\":{\"type\":\"http\",\"url\":\"http://h:1/mcp\",\"headers\":{\"Authorization\":\"Bearer tok\"}}}");
    struct crl_agent_spec s;
    load("claude_code", &s);
    char *argv = cJSON_PrintUnformatted(s.mcp_argv);
    assert_string_equal(argv, "[\"--mcp-config\",\"{home}/.claude/corral-mcp.json\",\"--strict-mcp-config\"]");
    free(argv);
    crl_agent_spec_free(&s);
}

static void test_gemini_and_qwen(void **state)
{
    (void)state;
    static const char want[] =
        "{\"echo\":{\"command\":\"python3\",\"args\":[\"/t/srv.py\",\"a \\\"q\\\"\\n\"],\"env\":{\"K\":\"v\\\\w\"}},"
        "\"web\":{\"httpUrl\":\"http://h:1/mcp\",\"headers\":{\"Authorization\":\"Bearer tok\"}}}";
    expect_json("gemini_cli", "/h/.gemini/settings.json", "mcpServers", want);
    /* Qwen Code: the same, and alwaysLoadTools (its MCP tools are not deferred) */
    expect_json("qwen_code", "/h/.qwen/settings.json", "mcpServers",
                "{\"echo\":{\"command\":\"python3\",\"args\":[\"/t/srv.py\",\"a \\\"q\\\"\\n\"],"
                "\"env\":{\"K\":\"v\\\\w\"},\"alwaysLoadTools\":true},"
                "\"web\":{\"httpUrl\":\"http://h:1/mcp\",\"headers\":{\"Authorization\":\"Bearer tok\"},"
                "\"alwaysLoadTools\":true}}");
}

static void test_codex_toml(void **state)
{
    (void)state;
    char *body = body_of("codex", "/h/.codex/config.toml", servers_json);
    static const char tail[] = "[feedback]\nenabled = false\n"
                               "\n[mcp_servers.echo]\n"
                               "\"command\" = \"python3\"\n"
                               "\"args\" = [\"/t/srv.py\", \"a \\\"q\\\"\\n\"]\n"
                               "\"env\" = { \"K\" = \"v\\\\w\" }\n"
                               "\n[mcp_servers.web]\n"
                               "\"url\" = \"http://h:1/mcp\"\n"
                               "\"http_headers\" = { \"Authorization\" = \"Bearer tok\" }\n";
    size_t bl = strlen(body), tl = strlen(tail);
    if (bl < tl || strcmp(body + bl - tl, tail) != 0)
        fail_msg("codex config.toml:\n%s", body);
    /* valid TOML, and it reads back as written */
    char err[256];
    struct crl_toml *t = crl_toml_parse(body, bl, err, sizeof err);
    if (!t)
        fail_msg("codex config.toml is not TOML: %s", err);
    const struct crl_toml *echo = crl_toml_get(crl_toml_get(t, "mcp_servers"), "echo");
    assert_non_null(echo);
    assert_string_equal(crl_toml_get(echo, "args")->items[1]->s, "a \"q\"\n");
    assert_string_equal(crl_toml_get(crl_toml_get(echo, "env"), "K")->s, "v\\w");
    assert_string_equal(crl_toml_get(t, "model")->s, "m");
    crl_toml_free(t);
    free(body);
}

/* Without servers, no file and no argv change: the configuration is the
 * spec's own. */
static void test_no_servers_no_change(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("claude_code", &s);
    struct crl_strv paths = {0}, bodies = {0};
    char why[256];
    cJSON *none = cJSON_CreateArray();
    assert_int_equal(crl_agent_files(&s, &vars, none, &paths, &bodies, why, sizeof why), 0);
    assert_int_equal(paths.n, 0);
    cJSON_Delete(none);
    crl_agent_spec_free(&s);
}

static void test_agents_that_cannot(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    char why[256];
    cJSON *sv = cJSON_Parse(servers_json);
    load("pi", &s);
    assert_int_equal(crl_agent_mcp_check(&s, sv, why, sizeof why), -1);
    assert_string_equal(why, "agent pi cannot use MCP servers (its spec declares no \"mcp\"), and the task declares 2");
    crl_agent_spec_free(&s);
    cJSON_Delete(sv);
    sv = cJSON_Parse("[{\"name\":\"old\",\"transport\":\"sse\",\"url\":\"http://h/sse\",\"headers\":{}}]");
    load("codex", &s);
    assert_int_equal(crl_agent_mcp_check(&s, sv, why, sizeof why), -1);
    assert_string_equal(why, "agent codex cannot use MCP server \"old\": it has no sse transport");
    crl_agent_spec_free(&s);
    load("opencode", &s);
    assert_int_equal(crl_agent_mcp_check(&s, sv, why, sizeof why), 0);
    crl_agent_spec_free(&s);
    /* the oracle runs the task's solution: no model, nothing to tell, no failure */
    load("oracle", &s);
    assert_int_equal(crl_agent_mcp_check(&s, sv, why, sizeof why), 0);
    struct crl_strv paths = {0}, bodies = {0};
    assert_int_equal(crl_agent_files(&s, &vars, sv, &paths, &bodies, why, sizeof why), 0);
    assert_int_equal(paths.n, 0);
    crl_agent_spec_free(&s);
    cJSON_Delete(sv);
}

/* A trainer-owned model: the gate's own server "corral" joins the task's,
 * its token in the configuration file's headers; agents without a
 * streamable-http template (pi) are not offered it. */
static void test_gate_server(void **state)
{
    (void)state;
    struct crl_agent_spec s;
    load("claude_code", &s);
    cJSON *l = crl_agent_mcp_list(&s, "[{\"name\":\"echo\",\"transport\":\"stdio\",\"command\":\"c\",\"args\":[],"
                                      "\"env\":{}}]", "http://127.0.0.1:9/rollout/x", "k3y");
    char why[256];
    cJSON *r = crl_agent_mcp_render(&s, l, &vars, why, sizeof why);
    char *got = cJSON_PrintUnformatted(r);
    assert_string_equal(got, "{\"echo\":{\"type\":\"stdio\",\"command\":\"c\",\"args\":[]},"
                             "\"corral\":{\"type\":\"http\",\"url\":\"http://127.0.0.1:9/rollout/x/mcp\","
                             "\"headers\":{\"Authorization\":\"Bearer k3y\"}}}");
    free(got);
    cJSON_Delete(r);
    cJSON_Delete(l);
    l = crl_agent_mcp_list(&s, NULL, NULL, "k3y"); /* not a trainer's model: nothing */
    assert_int_equal(cJSON_GetArraySize(l), 0);
    cJSON_Delete(l);
    crl_agent_spec_free(&s);
    load("pi", &s);
    l = crl_agent_mcp_list(&s, NULL, "http://127.0.0.1:9/rollout/x", "k3y");
    assert_int_equal(cJSON_GetArraySize(l), 0);
    cJSON_Delete(l);
    crl_agent_spec_free(&s);
}

static void test_bad_mcp_sections_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *mcp, *why;
    } cases[] = {
        {"3", "agent spec: \"mcp\" must be an object"},
        {"{\"key\": \"k\", \"servers\": {\"stdio\": {}}}",
         "agent spec: \"mcp\" needs \"file\" (the path of the configuration it writes to)"},
        {"{\"file\": \"f\", \"key\": \"a b\", \"servers\": {\"stdio\": {}}}",
         "agent spec: \"mcp\" needs \"key\" (a dotted path of letters, digits, '_' and '-')"},
        {"{\"file\": \"f\", \"key\": \"k\", \"format\": \"yaml\", \"servers\": {\"stdio\": {}}}",
         "agent spec: \"mcp\" \"format\" must be \"json\" or \"toml\""},
        {"{\"file\": \"f\", \"key\": \"k\", \"servers\": {\"ws\": {}}}",
         "agent spec: \"mcp\" \"servers\" must map \"stdio\", \"sse\" and/or \"streamable-http\" to templates"},
        {"{\"file\": \"f\", \"key\": \"k\", \"servers\": {\"stdio\": {\"c\": \"{comand}\"}}}",
         "agent spec: \"mcp\": unknown template variable {comand}"},
        {"{\"file\": \"f\", \"key\": \"k\", \"servers\": {\"stdio\": {}}, \"argv\": [1]}",
         "agent spec: \"mcp\" \"argv\" must be an array of strings"},
        {"{\"file\": \"f\", \"key\": \"k\", \"servers\": {\"stdio\": {}}, \"argv\": [\"{name}\"]}",
         "agent spec: \"mcp\": unknown template variable {name}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512], why[256] = "";
        snprintf(json, sizeof json, "{\"name\": \"a\", \"argv\": [\"x\"], \"mcp\": %s}", cases[i].mcp);
        struct crl_agent_spec s;
        assert_int_not_equal(crl_agent_spec_parse(json, &s, why, sizeof why), 0);
        if (strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu: got '%s'", i, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opencode),
        cmocka_unit_test(test_claude_code),
        cmocka_unit_test(test_gemini_and_qwen),
        cmocka_unit_test(test_codex_toml),
        cmocka_unit_test(test_no_servers_no_change),
        cmocka_unit_test(test_agents_that_cannot),
        cmocka_unit_test(test_gate_server),
        cmocka_unit_test(test_bad_mcp_sections_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
