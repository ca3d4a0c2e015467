/* A task's MCP servers (core/src/rollout/task_mcp.c): Harbor's
 * [[environment.mcp_servers]] and task.json "mcp_servers" read into the
 * same normalized JSON; every mistake is one line naming the file and the
 * field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollout/rollout_internal.h"

static int parse(int toml, const char *text, struct corral_task *t, struct corral_call *call)
{
    memset(t, 0, sizeof *t);
    corral_call_init(call, 0);
    return toml ? crl_task_parse_toml(t, text, strlen(text), "/d/task.toml", call)
                : crl_task_parse_json(t, text, "/d/task.json", call);
}

static void clear(struct corral_task *t)
{
    /* what the parsers may have filled (corral_task_free frees the struct itself) */
    struct corral_task *h = calloc(1, sizeof *h);
    *h = *t;
    corral_task_free(h);
}

static void test_toml_and_json_agree(void **state)
{
    (void)state;
    static const char toml[] =
        "[environment]\n"
        "[[environment.mcp_servers]]\n"
        "name = \"echo\"\ntransport = \"stdio\"\ncommand = \"python3\"\nargs = [\"/t/srv.py\", \"-q\"]\n"
        "env = {K = \"v\"}\n"
        "[[environment.mcp_servers]]\n"
        "name = \"web\"\ntransport = \"streamable-http\"\nurl = \"http://h:1/mcp\"\n"
        "[[environment.mcp_servers]]\n"
        "name = \"old\"\nurl = \"https://h/sse\"\n"; /* transport: Harbor's default, sse */
    static const char json[] =
        "{\"mcp_servers\": [{\"name\": \"echo\", \"transport\": \"stdio\", \"command\": \"python3\", "
        "\"args\": [\"/t/srv.py\", \"-q\"], \"env\": {\"K\": \"v\"}},"
        "{\"name\": \"web\", \"transport\": \"streamable-http\", \"url\": \"http://h:1/mcp\"},"
        "{\"name\": \"old\", \"url\": \"https://h/sse\"}]}";
    static const char want[] =
        "[{\"name\":\"echo\",\"transport\":\"stdio\",\"command\":\"python3\",\"args\":[\"/t/srv.py\",\"-q\"],"
        "\"env\":{\"K\":\"v\"}},{\"name\":\"web\",\"transport\":\"streamable-http\",\"url\":\"http://h:1/mcp\","
        "\"headers\":{}},{\"name\":\"old\",\"transport\":\"sse\",\"url\":\"https://h/sse\",\"headers\":{}}]";
    struct corral_task t;
    struct corral_call call;
    for (int toml_form = 0; toml_form < 2; toml_form++) {
        if (parse(toml_form, toml_form ? toml : json, &t, &call) != 0)
            fail_msg("%s", call.message);
        assert_non_null(t.mcp_servers_json);
        assert_string_equal(t.mcp_servers_json, want);
        clear(&t);
    }
    assert_int_equal(parse(1, "[environment]\nmcp_servers = []\n", &t, &call), 0);
    assert_null(t.mcp_servers_json); /* none declared */
    clear(&t);
}

static void expect(int toml, const char *text, const char *msg)
{
    struct corral_task t;
    struct corral_call call;
    assert_int_not_equal(parse(toml, text, &t, &call), 0);
    if (strcmp(call.message, msg) != 0)
        fail_msg("got '%s'\nwant '%s'", call.message, msg);
    clear(&t);
}

static void test_mistakes_name_file_and_field(void **state)
{
    (void)state;
#define S "[[environment.mcp_servers]]\n"
    expect(1, S "name = \"a b\"\ncommand = \"x\"\ntransport = \"stdio\"\n",
           "/d/task.toml: [environment] mcp_servers[0].name: must be 1 to 64 letters, digits, '_' or '-'");
    expect(1, S "name = \"corral\"\nurl = \"http://x/\"\n",
           "/d/task.toml: [environment] mcp_servers[0].name: \"corral\" is reserved for the gate's own MCP server");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\ncommand = \"x\"\n" S "name = \"a\"\nurl = \"http://x/\"\n",
           "/d/task.toml: [environment] mcp_servers[1].name: names a server listed before it (names must be unique)");
    expect(1, S "name = \"a\"\ntransport = \"websocket\"\nurl = \"http://x/\"\n",
           "/d/task.toml: [environment] mcp_servers[0].transport: must be \"stdio\", \"sse\" or \"streamable-http\"");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\ncommand = \"x\"\nurl = \"http://x/\"\n",
           "/d/task.toml: [environment] mcp_servers[0].url: and command both given: a server is either a command "
           "(stdio) or a URL");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\n",
           "/d/task.toml: [environment] mcp_servers[0].command: must be a non-empty string (transport \"stdio\")");
    expect(1, S "name = \"a\"\ntransport = \"sse\"\nurl = \"file:///etc/passwd\"\n",
           "/d/task.toml: [environment] mcp_servers[0].url: must be an http:// or https:// URL (transport sse or "
           "streamable-http)");
    expect(1, S "name = \"a\"\nurl = \"http://x/\"\nheaders = {\"X-A\" = \"1\\r\\nX-B: 2\"}\n",
           "/d/task.toml: [environment] mcp_servers[0].headers: must be a table of strings (header names, values "
           "without CR or LF)");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\ncommand = \"x\"\nenv = {\"1X\" = \"v\"}\n",
           "/d/task.toml: [environment] mcp_servers[0].env: must be a table of strings with valid variable names");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\ncommand = \"x\"\ncwd = \"/\"\n",
           "/d/task.toml: [environment] mcp_servers[0].cwd: is not a field of an MCP server (name, transport, "
           "command, args, env, url, headers)");
    expect(1, S "name = \"a\"\ntransport = \"stdio\"\ncommand = \"x\\u0000y\"\n",
           "/d/task.toml: [environment] mcp_servers: must not contain U+0000");
    expect(1, "[environment]\nmcp_servers = \"x\"\n",
           "/d/task.toml: [environment] mcp_servers: must be an array of MCP server tables");
    expect(0, "{\"mcp_servers\": [{\"name\": \"a\", \"url\": \"http://x/\", \"args\": []}]}",
           "/d/task.json: \"mcp_servers\"[0].args: is for stdio servers, not an HTTP transport");
    expect(0, "{\"mcp_servers\": [3]}",
           "/d/task.json: \"mcp_servers\"[0]: must be a table (object) with name, transport and command or url");
#undef S
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toml_and_json_agree),
        cmocka_unit_test(test_mistakes_name_file_and_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
