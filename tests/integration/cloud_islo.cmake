# Islo against its fake through the CLI (the rest of the cloud CLI tests are
# in CMakeLists.txt: cloud_gc, cloud_rollout).
corral_add_cli_test(islo_gc_killed_create cloud_islo_gc.sh)
set_tests_properties(islo_gc_killed_create PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
