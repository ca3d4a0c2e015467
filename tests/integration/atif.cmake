# ATIF trajectories: corral run --trajectory-dir and corral export atif
# (local sandbox, oracle and pi), validated against tests/atif/.
corral_add_cli_test(atif_cli atif_cli.sh)
set_tests_properties(atif_cli PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE)
