# Egress policies and the proxy (docs/egress.md): the reader, matcher and
# wire parsers (internals), and the proxy over its unix socket against
# HTTP servers the test runs on loopback.
corral_add_unit_test(test_egress SOURCES test_egress.c LIBRARIES PkgConfig::CJSON corral_common)
target_include_directories(test_egress PRIVATE ${PROJECT_SOURCE_DIR}/core/src ${PROJECT_SOURCE_DIR}/common)
