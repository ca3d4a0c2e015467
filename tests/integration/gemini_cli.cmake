# Gemini CLI through the gate's Gemini edge (docs/agents-gemini-cli.md).
corral_add_cli_test(gemini_cli_local gemini_cli.sh local)
corral_add_cli_test(gemini_cli_docker gemini_cli.sh docker)
corral_add_cli_test(gemini_cli_multistep_local gemini_cli.sh local multistep)
corral_add_cli_test(gemini_cli_multistep_docker gemini_cli.sh docker multistep)
set_tests_properties(gemini_cli_local gemini_cli_docker gemini_cli_multistep_local gemini_cli_multistep_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
