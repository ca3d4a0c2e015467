# The host side of sandboxes and the archive code (libarchive).
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/archive.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/archive_tree.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox_emul.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox_gc.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox_registry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/sandbox_validate.c
)
