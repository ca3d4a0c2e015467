# Egress policies through corral's proxy on local and docker (docs/egress.md).
corral_add_cli_test(egress_local egress.sh local)
corral_add_cli_test(egress_docker egress.sh docker)
set_tests_properties(egress_local egress_docker PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
