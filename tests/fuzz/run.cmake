# corral run --resume reads results files and manifests that a crashed or
# concurrent run wrote: core/cli/run_results.c and run_manifest.c.
corral_add_fuzzer(fuzz_run_resume
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_run_resume.c
          ${PROJECT_SOURCE_DIR}/core/cli/run_results.c ${PROJECT_SOURCE_DIR}/core/cli/run_manifest.c
          ${PROJECT_SOURCE_DIR}/core/src/report/report.c ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
          ${PROJECT_SOURCE_DIR}/common/strv.c ${PROJECT_SOURCE_DIR}/common/number.c
          ${PROJECT_SOURCE_DIR}/common/write_all.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk m)
target_include_directories(fuzz_run_resume PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                          ${PROJECT_SOURCE_DIR}/core/cli ${PROJECT_SOURCE_DIR}/common)
