# The gate: real HTTP (libcurl) against the real MHD server on loopback.
corral_add_unit_test(test_gate SOURCES test_gate.c LIBRARIES PkgConfig::CURL PkgConfig::MHD PkgConfig::CJSON pthread)
