# Codex through the gate's Responses edge (docs/agents-codex.md).
corral_add_cli_test(codex_local codex.sh local)
corral_add_cli_test(codex_docker codex.sh docker)
corral_add_cli_test(codex_multistep_local codex.sh local multistep)
corral_add_cli_test(codex_multistep_docker codex.sh docker multistep)
set_tests_properties(codex_local codex_docker codex_multistep_local codex_multistep_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
