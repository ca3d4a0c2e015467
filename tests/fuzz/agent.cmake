# Agent stdout is untrusted: the event mapping and success judgement of the
# declarative agent specs, fed arbitrary lines under every shipped spec.
corral_add_fuzzer(fuzz_agent_events
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_agent_events.c
          ${PROJECT_SOURCE_DIR}/core/src/rollout/agent_spec.c ${PROJECT_SOURCE_DIR}/core/src/rollout/agent_mcp.c
          ${PROJECT_SOURCE_DIR}/core/src/gate/gate_aux.c
          ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
          ${PROJECT_SOURCE_DIR}/common/env_name.c ${PROJECT_SOURCE_DIR}/common/strv.c
          ${PROJECT_SOURCE_DIR}/common/number.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_agent_events PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                            ${PROJECT_SOURCE_DIR}/common)
target_compile_definitions(fuzz_agent_events PRIVATE AGENTS_DIR="${PROJECT_SOURCE_DIR}/plugins/agents")
