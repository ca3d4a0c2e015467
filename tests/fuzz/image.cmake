# What registries send (manifests, indexes, configs, WWW-Authenticate) and
# image references: the image code's parsers (see fuzz_image.c).
corral_add_fuzzer(fuzz_image SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_image.c LIBRARIES corral_internal)
