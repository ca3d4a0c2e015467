# Harbor's registry.json (datasets fetched from git): the parse and entry
# selection of corral_dataset_open, with no git and no filesystem.
corral_add_fuzzer(fuzz_registry
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_registry.c
          ${PROJECT_SOURCE_DIR}/core/src/dataset/registry_select.c
          ${PROJECT_SOURCE_DIR}/core/src/base/call.c
          ${PROJECT_SOURCE_DIR}/common/buf.c
  LIBRARIES PkgConfig::CJSON corral_plugin_sdk pthread)
target_include_directories(fuzz_registry PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/core/include
                                                 ${PROJECT_SOURCE_DIR}/common)
