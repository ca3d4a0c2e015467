# corral sandbox / corral gc against the fakeproc test double.
corral_add_cli_test(cli_sandbox cli_sandbox.sh)
set_property(TEST cli_sandbox APPEND PROPERTY ENVIRONMENT
  "FAKE_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/conformance/fake-plugins")
set_tests_properties(cli_sandbox PROPERTIES TIMEOUT 300)
# Issue 19: shared limits per backend across corral processes.
corral_add_cli_test(backend_limits backend_limits.sh)
set_property(TEST backend_limits APPEND PROPERTY ENVIRONMENT
  "FAKE_PLUGIN_DIR=${CMAKE_BINARY_DIR}/tests/conformance/fake-plugins")
set_tests_properties(backend_limits PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
