# A task's stdio MCP server used by the real CLIs (docs/harbor.md, "MCP servers").
foreach(agent opencode claude_code gemini_cli qwen_code codex)
  corral_add_cli_test(mcp_stdio_${agent}_local mcp.sh ${agent} local)
  set_tests_properties(mcp_stdio_${agent}_local PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
# A trainer-registered tool called through the gate's own MCP endpoint (docs/gate.md, "Tools over MCP").
foreach(agent claude_code opencode codex)
  corral_add_cli_test(mcp_trainer_${agent}_local mcp_trainer.sh ${agent})
  set_tests_properties(mcp_trainer_${agent}_local PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
# The same through a remote node: the tool registered on a central `corral gate serve`, the agent run
# by `corral run --gate URL` (docs/gate.md, "Remote nodes").
corral_add_cli_test(mcp_trainer_opencode_remote mcp_trainer.sh opencode remote)
set_tests_properties(mcp_trainer_opencode_remote PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
