# Rollouts and batches: tasks, agent specs and installs, the lifecycle driver.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_install.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/agent_spec.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/batch.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/install_env.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/rollout.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout/task.c
)
