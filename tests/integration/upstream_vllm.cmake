# RL capture in upstream mode against a fake vLLM (docs/gate.md, "RL capture").
corral_add_cli_test(upstream_vllm_local upstream_vllm.sh local)
corral_add_cli_test(upstream_vllm_docker upstream_vllm.sh docker)
set_tests_properties(upstream_vllm_local upstream_vllm_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
