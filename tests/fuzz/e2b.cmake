# The E2B Connect envelope parser: envd's streamed answers are untrusted bytes.
set(E2B_SRC ${PROJECT_SOURCE_DIR}/plugins/sandbox/e2b)
corral_add_fuzzer(fuzz_e2b_connect_stream
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_connect_stream.c ${E2B_SRC}/connect_stream.c
  LIBRARIES corral_plugin_sdk)
target_include_directories(fuzz_e2b_connect_stream PRIVATE ${E2B_SRC} ${PROJECT_SOURCE_DIR}/common)
# An egress policy mapped onto E2B's network rules (the policy comes from a task).
corral_add_fuzzer(fuzz_e2b_network
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_e2b_network.c ${E2B_SRC}/e2b_network.c
  LIBRARIES corral_plugin_sdk PkgConfig::CJSON)
target_include_directories(fuzz_e2b_network PRIVATE ${E2B_SRC} ${PROJECT_SOURCE_DIR}/common)
