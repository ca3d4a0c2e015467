# RL capture in upstream mode against a fake vLLM (docs/gate.md, "RL capture").
corral_add_cli_test(upstream_vllm_local upstream_vllm.sh local)
corral_add_cli_test(upstream_vllm_docker upstream_vllm.sh docker)
set_tests_properties(upstream_vllm_local upstream_vllm_docker PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
# The fake's own wire, pinned (streaming, tool-call deltas, token ids, refusals).
find_program(PYTHON3 python3)
if(PYTHON3)
  add_test(NAME fake_vllm_wire COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/test_fake_vllm.py)
  set_tests_properties(fake_vllm_wire PROPERTIES TIMEOUT 120)
endif()
