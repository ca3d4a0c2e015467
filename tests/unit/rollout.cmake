corral_add_unit_test(test_agent_spec SOURCES test_agent_spec.c)
target_compile_definitions(test_agent_spec PRIVATE AGENTS_DIR="${PROJECT_SOURCE_DIR}/plugins/agents")
corral_add_unit_test(test_task SOURCES test_task.c testenv.c)
corral_add_unit_test(test_task_toml SOURCES test_task_toml.c testenv.c)
corral_add_unit_test(test_batch SOURCES test_batch.c testenv.c)
target_compile_definitions(test_batch PRIVATE EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/examples")
# the plugins its rollouts load: a build of test_batch alone (CI's TSan
# stage) must bring them, or the hf refusal is "backend not loaded"
add_dependencies(test_batch sandbox_local sandbox_hf agent_oracle)
corral_add_unit_test(test_rollout SOURCES test_rollout.c)
