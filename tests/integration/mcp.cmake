# A task's stdio MCP server used by the real CLIs (docs/harbor.md, "MCP servers").
corral_add_cli_test(mcp_stdio_opencode_local mcp.sh opencode local)
corral_add_cli_test(mcp_stdio_claude_code_local mcp.sh claude_code local)
set_tests_properties(mcp_stdio_opencode_local mcp_stdio_claude_code_local PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
