# MCP servers: the task side (task.json / task.toml mcp_servers) and each
# shipped agent spec's rendering of them (docs/harbor.md, "MCP servers").
corral_add_unit_test(test_task_mcp SOURCES test_task_mcp.c)
corral_add_unit_test(test_agent_mcp SOURCES test_agent_mcp.c)
target_compile_definitions(test_agent_mcp PRIVATE AGENTS_DIR="${PROJECT_SOURCE_DIR}/plugins/agents")
