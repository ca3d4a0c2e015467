# bench_docker_exec: exec round trip through sandbox_docker vs the docker
# CLI vs python3-docker on the same container.  Run tests/bench/docker_exec.sh.
add_executable(bench_docker_exec ${CMAKE_CURRENT_SOURCE_DIR}/bench_docker_exec.c)
target_link_libraries(bench_docker_exec PRIVATE corral)
target_compile_definitions(bench_docker_exec PRIVATE CORRAL_BUILD_PLUGIN_DIR="${CORRAL_BUILD_PLUGIN_DIR}")
set_target_properties(bench_docker_exec PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_dependencies(bench_docker_exec sandbox_docker)
