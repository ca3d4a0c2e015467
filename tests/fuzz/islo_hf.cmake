# The Islo and HF wire JSON (SandboxResponse, GetExecResult, ErrorResponse,
# the egress policy; JobInfo, exec replies, /v1/exec NDJSON) is untrusted.
corral_add_fuzzer(fuzz_islo_json
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_islo_json.c ${PROJECT_SOURCE_DIR}/plugins/sandbox/islo/islo_json.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_islo_json PRIVATE ${PROJECT_SOURCE_DIR}/plugins/sandbox/islo ${PROJECT_SOURCE_DIR}/common)
corral_add_fuzzer(fuzz_hf_json
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_hf_json.c ${PROJECT_SOURCE_DIR}/plugins/sandbox/hf/hf_json.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk)
target_include_directories(fuzz_hf_json PRIVATE ${PROJECT_SOURCE_DIR}/plugins/sandbox/hf ${PROJECT_SOURCE_DIR}/common)
