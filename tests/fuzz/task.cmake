# Task files are untrusted (datasets from git): task.json and Harbor's
# task.toml through the parsers of corral_task_load, every field and number
# checked.
set(CORRAL_FUZZ_TASK_SOURCES
    ${PROJECT_SOURCE_DIR}/core/src/rollout/task.c ${PROJECT_SOURCE_DIR}/core/src/rollout/task_toml.c
    ${PROJECT_SOURCE_DIR}/core/src/rollout/task_artifacts.c ${PROJECT_SOURCE_DIR}/core/src/rollout/task_mcp.c
    ${PROJECT_SOURCE_DIR}/core/src/base/call.c
    ${PROJECT_SOURCE_DIR}/core/src/egress/egress_policy.c ${PROJECT_SOURCE_DIR}/core/src/egress/egress_match.c
    ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
    ${PROJECT_SOURCE_DIR}/common/env_name.c ${PROJECT_SOURCE_DIR}/common/strv.c
    ${PROJECT_SOURCE_DIR}/common/number.c ${PROJECT_SOURCE_DIR}/common/workdir.c
    ${PROJECT_SOURCE_DIR}/common/toml.c ${PROJECT_SOURCE_DIR}/common/toml_scalar.c)
foreach(target fuzz_task_json fuzz_task_toml)
  corral_add_fuzzer(${target}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${target}.c ${CORRAL_FUZZ_TASK_SOURCES}
    LIBRARIES PkgConfig::CJSON corral_plugin_sdk pthread m)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                               ${PROJECT_SOURCE_DIR}/common)
endforeach()
