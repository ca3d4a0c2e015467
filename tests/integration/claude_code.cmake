# Claude Code through the gate's Messages edge (docs/agents-claude-code.md).
corral_add_cli_test(claude_code_local claude_code.sh local)
corral_add_cli_test(claude_code_docker claude_code.sh docker)
corral_add_cli_test(claude_code_multistep_local claude_code.sh local multistep)
corral_add_cli_test(claude_code_multistep_docker claude_code.sh docker multistep)
set_tests_properties(claude_code_local claude_code_docker claude_code_multistep_local claude_code_multistep_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
