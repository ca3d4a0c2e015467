# egress_bench: what the egress proxy adds per request and to throughput,
# against the same server reached directly in the same run.
add_executable(egress_bench ${CMAKE_CURRENT_SOURCE_DIR}/egress_bench.c)
target_link_libraries(egress_bench PRIVATE corral_internal PkgConfig::CJSON PkgConfig::MHD pthread)
target_include_directories(egress_bench PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/common)
