# Claude Code through the gate's Messages edge (docs/agents-claude-code.md).
corral_add_cli_test(claude_code_local claude_code.sh local)
corral_add_cli_test(claude_code_docker claude_code.sh docker)
set_tests_properties(claude_code_local claude_code_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
