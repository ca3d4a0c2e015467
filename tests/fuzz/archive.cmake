# Archive extraction: whatever it accepts or refuses, nothing is created
# outside the target directory (see fuzz_archive.c).
corral_add_fuzzer(fuzz_archive SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_archive.c LIBRARIES corral_internal)
