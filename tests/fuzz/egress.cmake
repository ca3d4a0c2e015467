# The egress proxy's parsers of sandbox bytes and the policy reader of
# task files (core/src/egress/), with what they need of base and common.
corral_add_fuzzer(fuzz_egress_wire
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_egress_wire.c
          ${PROJECT_SOURCE_DIR}/core/src/egress/egress_wire.c ${PROJECT_SOURCE_DIR}/core/src/egress/egress_policy.c
          ${PROJECT_SOURCE_DIR}/core/src/egress/egress_match.c ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/buf.c ${PROJECT_SOURCE_DIR}/common/number.c ${PROJECT_SOURCE_DIR}/common/read_file.c
          ${PROJECT_SOURCE_DIR}/common/toml.c ${PROJECT_SOURCE_DIR}/common/toml_scalar.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk pthread)
target_include_directories(fuzz_egress_wire PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                                   ${PROJECT_SOURCE_DIR}/common)
