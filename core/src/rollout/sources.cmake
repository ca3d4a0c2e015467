# Rollouts and batches: tasks, agent specs and installs, the plan and phase table
# (rollout.c), the phases (phases.c, agent_phase.c), the typed record and its JSON
# (result.c), the batch runner.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_install.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_mcp.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_phase.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_spec.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/batch.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/build_phase.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/collect.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/egress_phase.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/egress_sandbox.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/phases.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/result.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/rollout.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/shard.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task_digest.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task_mcp.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task_toml.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task_artifacts.c
)
