# Egress policies through corral's proxy on local and docker (docs/egress.md).
corral_add_cli_test(egress_local egress.sh local)
corral_add_cli_test(egress_docker egress.sh docker)
set_tests_properties(egress_local egress_docker PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
# corral sandbox create --egress: each exec runs the proxy (docs/egress.md).
corral_add_cli_test(egress_sandbox_local egress_sandbox.sh local)
corral_add_cli_test(egress_sandbox_docker egress_sandbox.sh docker)
set_tests_properties(egress_sandbox_local egress_sandbox_docker PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
