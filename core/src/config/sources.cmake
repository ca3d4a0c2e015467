# Layered configuration and the plugins' declared option schemas.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/config_schema.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/config/limits.c
)
