corral_add_unit_test(test_agent_spec SOURCES test_agent_spec.c)
target_compile_definitions(test_agent_spec PRIVATE AGENTS_DIR="${PROJECT_SOURCE_DIR}/plugins/agents")
corral_add_unit_test(test_task SOURCES test_task.c testenv.c)
