# bench_sandbox_local: create -> first exec -> destroy of the local backend,
# against fork+exec of /bin/true and a one-shot `bwrap ... true` measured in
# the same run.  Run it by hand: build/bin/bench_sandbox_local [iterations].
add_executable(bench_sandbox_local bench_sandbox_local.c)
target_link_libraries(bench_sandbox_local PRIVATE corral)
target_compile_definitions(bench_sandbox_local PRIVATE CORRAL_BUILD_PLUGIN_DIR="${CORRAL_BUILD_PLUGIN_DIR}")
set_target_properties(bench_sandbox_local PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_dependencies(bench_sandbox_local sandbox_local)
