# gate_bench: latency the gate adds per call vs a bare MHD server, and
# memory per concurrent rollout.  Run tests/bench/gate_bench.sh.
add_executable(gate_bench ${CMAKE_CURRENT_SOURCE_DIR}/gate_bench.c)
target_link_libraries(gate_bench PRIVATE corral PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
