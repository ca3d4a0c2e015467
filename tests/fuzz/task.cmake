# Task files are untrusted (datasets from git): task.json through the
# parser of corral_task_load, every field and number checked.
corral_add_fuzzer(fuzz_task_json
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_task_json.c
          ${PROJECT_SOURCE_DIR}/core/src/rollout/task.c ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
          ${PROJECT_SOURCE_DIR}/common/env_name.c ${PROJECT_SOURCE_DIR}/common/strv.c
          ${PROJECT_SOURCE_DIR}/common/number.c ${PROJECT_SOURCE_DIR}/common/workdir.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_task_json PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                         ${PROJECT_SOURCE_DIR}/common)
