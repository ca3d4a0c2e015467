# Egress policies through corral's proxy on local and docker (docs/egress.md).
corral_add_cli_test(egress_local egress.sh local)
corral_add_cli_test(egress_docker egress.sh docker)
set_tests_properties(egress_local egress_docker PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
# corral sandbox create --egress: each exec runs the proxy (docs/egress.md).
corral_add_cli_test(egress_sandbox_local egress_sandbox.sh local)
corral_add_cli_test(egress_sandbox_docker egress_sandbox.sh docker)
set_tests_properties(egress_sandbox_local egress_sandbox_docker PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
# The gate under a flood of the egress proxy: a test-only agent (a shell
# script that calls the gate with curl) built from tests/integration/agents/.
include(${PROJECT_SOURCE_DIR}/plugins/agents/AgentSpec.cmake)
corral_add_agent_spec(shell_model VERSION 1.0.0 DESCRIPTION "test agent: the task's solution/agent.sh with the gate's URL"
                      SPEC ${CMAKE_CURRENT_SOURCE_DIR}/agents/shell_model.json
                      TEST_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/integration-agents)
corral_add_cli_test(egress_flood_local egress_flood.sh local)
set_property(TEST egress_flood_local APPEND PROPERTY ENVIRONMENT
  "TEST_AGENT_DIR=${CMAKE_BINARY_DIR}/tests/integration-agents")
set_tests_properties(egress_flood_local PROPERTIES TIMEOUT 400 RUN_SERIAL TRUE)
