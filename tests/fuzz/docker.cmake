# sandbox_docker: the exec stream demultiplexer, the create-option
# allowlist, the tar handling of daemon answers and its image lists.
set(DK_SRC ${PROJECT_SOURCE_DIR}/plugins/sandbox/docker)
corral_add_fuzzer(fuzz_docker
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_docker.c ${DK_SRC}/dk_demux.c ${DK_SRC}/dk_image_list.c ${DK_SRC}/dk_options.c ${DK_SRC}/dk_tar.c
          ${PROJECT_SOURCE_DIR}/common/buf.c ${PROJECT_SOURCE_DIR}/common/archive_stream.c
  LIBRARIES PkgConfig::CJSON PkgConfig::ARCHIVE corral_plugin_sdk)
target_include_directories(fuzz_docker PRIVATE ${DK_SRC} ${PROJECT_SOURCE_DIR}/common)
