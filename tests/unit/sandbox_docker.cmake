# sandbox_docker: the pure parts (stream demux, option allowlist, label
# filters) and the plugin driven through the real loader against a docker
# daemon (skipped when none is reachable).
set(DK_SRC ${CMAKE_SOURCE_DIR}/plugins/sandbox/docker)
corral_add_unit_test(test_docker_pure
  SOURCES test_docker_pure.c ${DK_SRC}/dk_demux.c ${DK_SRC}/dk_options.c
  LIBRARIES PkgConfig::CJSON)
target_include_directories(test_docker_pure PRIVATE ${DK_SRC})

corral_add_unit_test(test_sandbox_docker SOURCES test_sandbox_docker.c testenv.c)
target_compile_definitions(test_sandbox_docker PRIVATE
  DOCKER_IMAGE_SCRIPT="${CMAKE_SOURCE_DIR}/tests/conformance/make-docker-image.sh")
add_dependencies(test_sandbox_docker sandbox_docker)
set_tests_properties(test_sandbox_docker PROPERTIES TIMEOUT 900)

corral_add_unit_test(test_docker_config SOURCES test_docker_config.c testenv.c)
add_dependencies(test_docker_config sandbox_docker)
