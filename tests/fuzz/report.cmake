# Results JSONL is untrusted (copied off clusters, torn by crashes): the
# report library's reader, merge and summaries.
corral_add_fuzzer(fuzz_report
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_report.c
          ${PROJECT_SOURCE_DIR}/core/src/report/report.c ${PROJECT_SOURCE_DIR}/core/src/report/summary.c
          ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
          ${PROJECT_SOURCE_DIR}/common/strv.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk m)
target_include_directories(fuzz_report PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                      ${PROJECT_SOURCE_DIR}/common)
