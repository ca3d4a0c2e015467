# Layered configuration, the plugins' declared option schemas, the limits
# and images keys, and the
# install_env rules (which host variables may reach an in-sandbox install).
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/backend_limits.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/config_schema.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/limits.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/images_config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/install_env.c
)
