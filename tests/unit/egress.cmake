# Egress policies and the proxy (docs/egress.md): the reader, matcher and
# wire parsers (internals), and the proxy over its unix socket against
# HTTP servers the test runs on loopback.
corral_add_unit_test(test_egress SOURCES test_egress.c tls_hello.c LIBRARIES PkgConfig::CJSON corral_common)
target_include_directories(test_egress PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/common)
corral_add_unit_test(test_egress_proxy SOURCES test_egress_proxy.c tls_hello.c LIBRARIES PkgConfig::CJSON PkgConfig::MHD pthread)
target_include_directories(test_egress_proxy PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/common)
