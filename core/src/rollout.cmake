list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/agent_install.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/agent_spec.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/batch.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/install_env.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/rollout.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/task.c
)
