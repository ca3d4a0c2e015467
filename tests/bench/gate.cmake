# gate_bench: latency the gate adds per call vs a bare MHD server, and
# memory per concurrent rollout; per-dialect overhead and translation cost
# (internals: linked statically).  Run tests/bench/gate_bench.sh.
add_executable(gate_bench ${CMAKE_CURRENT_SOURCE_DIR}/gate_bench.c)
target_link_libraries(gate_bench PRIVATE corral_internal PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
target_include_directories(gate_bench PRIVATE ${PROJECT_SOURCE_DIR}/core/src)
