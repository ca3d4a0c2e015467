# corral view's page over untrusted results (core/src/view): the report
# library's reader under it, and the assets embedded by core/src/view.
set(VIEW_ASSETS_C ${CMAKE_BINARY_DIR}/core/view_assets.c)
corral_add_fuzzer(fuzz_view
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_view.c
          ${PROJECT_SOURCE_DIR}/core/src/view/view.c ${PROJECT_SOURCE_DIR}/core/src/view/view_data.c ${VIEW_ASSETS_C}
          ${PROJECT_SOURCE_DIR}/core/src/report/report.c ${PROJECT_SOURCE_DIR}/core/src/report/summary.c
          ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/read_file.c ${PROJECT_SOURCE_DIR}/common/buf.c
          ${PROJECT_SOURCE_DIR}/common/strv.c ${PROJECT_SOURCE_DIR}/common/base64.c
  LIBRARIES PkgConfig::CJSON PkgConfig::CRYPTO corral_plugin_sdk m)
target_include_directories(fuzz_view PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                    ${PROJECT_SOURCE_DIR}/common)
# view_assets.c is made by a rule of core/ (corral_obj's directory).
add_dependencies(fuzz_view corral_obj)
