# Archives (libarchive): streaming, extraction and tree walks at directory fds.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/archive/archive.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/archive/archive_tree.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/archive/dockerignore.c
)
