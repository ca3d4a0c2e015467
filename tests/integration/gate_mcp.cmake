# `corral gate serve` as an MCP server: a python3 (stdlib) MCP client and
# trainer over HTTP (docs/gate.md "Tools over MCP").
add_test(NAME gate_mcp_cli COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/gate_mcp.py)
set_tests_properties(gate_mcp_cli PROPERTIES TIMEOUT 120 ENVIRONMENT "CORRAL=$<TARGET_FILE:corral_cli>")
