# The host side of sandboxes: the facade over plugin ops tables, emulations, registry, gc, validation.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_build.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_emul.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_gc.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_image.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_images.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_limits.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_registry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_table.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox/sandbox_validate.c
)
