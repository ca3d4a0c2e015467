# The library context, calls, logging and small shared utilities.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/base/call.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/base/ctx.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/base/json_scan.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/base/log.c
)
