# A build context's .dockerignore (untrusted task file): parse and match
# never crash (see fuzz_dockerignore.c).
corral_add_fuzzer(fuzz_dockerignore SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_dockerignore.c LIBRARIES corral_internal)
