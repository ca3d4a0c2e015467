# RL capture in upstream mode against a fake vLLM (docs/gate.md, "RL capture").
# Claude Code (Messages) and pi (chat completions); then one test per other
# dialect's agent: Codex (Responses), Gemini CLI (Gemini), Qwen Code (chat).
corral_add_cli_test(upstream_vllm_local upstream_vllm.sh local)
corral_add_cli_test(upstream_vllm_docker upstream_vllm.sh docker)
set(UPSTREAM_VLLM_TESTS upstream_vllm_local upstream_vllm_docker)
foreach(agent codex gemini_cli qwen_code)
  corral_add_cli_test(upstream_vllm_${agent}_local upstream_vllm.sh local ${agent})
  corral_add_cli_test(upstream_vllm_${agent}_docker upstream_vllm.sh docker ${agent})
  list(APPEND UPSTREAM_VLLM_TESTS upstream_vllm_${agent}_local upstream_vllm_${agent}_docker)
endforeach()
set_tests_properties(${UPSTREAM_VLLM_TESTS} PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
# The fake's own wire, pinned (streaming, tool-call deltas, token ids, refusals).
find_program(PYTHON3 python3)
if(PYTHON3)
  add_test(NAME fake_vllm_wire COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tests/fakes/test_fake_vllm.py)
  set_tests_properties(fake_vllm_wire PROPERTIES TIMEOUT 120)
endif()
