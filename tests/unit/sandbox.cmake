# Sandbox host layer and archive safety (core/src/sandbox/, core/src/archive/).
corral_add_unit_test(test_archive SOURCES test_archive.c)
corral_add_unit_test(test_dockerignore SOURCES test_dockerignore.c)
corral_add_unit_test(test_sandbox_host SOURCES test_sandbox_host.c)
