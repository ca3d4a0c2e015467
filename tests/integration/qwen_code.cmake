# Qwen Code through the gate (OpenAI chat completions) (docs/agents-qwen-code.md).
corral_add_cli_test(qwen_code_local qwen_code.sh local)
corral_add_cli_test(qwen_code_docker qwen_code.sh docker)
corral_add_cli_test(qwen_code_multistep_local qwen_code.sh local multistep)
corral_add_cli_test(qwen_code_multistep_docker qwen_code.sh docker multistep)
set_tests_properties(qwen_code_local qwen_code_docker qwen_code_multistep_local qwen_code_multistep_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
