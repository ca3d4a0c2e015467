# The TOML parser of task.toml files (common/toml.c), any bytes.
corral_add_fuzzer(fuzz_toml
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_toml.c
          ${PROJECT_SOURCE_DIR}/common/toml.c ${PROJECT_SOURCE_DIR}/common/toml_scalar.c
          ${PROJECT_SOURCE_DIR}/common/number.c
          ${PROJECT_SOURCE_DIR}/common/buf.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk pthread)
target_include_directories(fuzz_toml PRIVATE ${PROJECT_SOURCE_DIR}/common)
