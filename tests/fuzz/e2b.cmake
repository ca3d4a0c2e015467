# The E2B Connect envelope parser: envd's streamed answers are untrusted bytes.
set(E2B_SRC ${PROJECT_SOURCE_DIR}/plugins/sandbox/e2b)
corral_add_fuzzer(fuzz_e2b_connect_stream
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_connect_stream.c ${E2B_SRC}/connect_stream.c
  LIBRARIES corral_plugin_sdk)
target_include_directories(fuzz_e2b_connect_stream PRIVATE ${E2B_SRC} ${PROJECT_SOURCE_DIR}/common)
