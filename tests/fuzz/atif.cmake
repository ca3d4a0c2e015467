# RolloutResults are untrusted (results files copied off clusters; the
# transcript and events hold what the agent sent): the ATIF builder.
corral_add_fuzzer(fuzz_atif
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_atif.c
          ${PROJECT_SOURCE_DIR}/core/src/atif/atif.c ${PROJECT_SOURCE_DIR}/core/src/atif/atif_answer.c
          ${PROJECT_SOURCE_DIR}/core/src/atif/atif_steps.c ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/buf.c ${PROJECT_SOURCE_DIR}/common/number.c
          ${PROJECT_SOURCE_DIR}/common/fs_tree.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk m)
target_include_directories(fuzz_atif PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                    ${PROJECT_SOURCE_DIR}/common)
