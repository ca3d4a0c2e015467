# Container images (docs/images.md): references, the registry client,
# manifests, the content-addressed cache and layer unpacking.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/auth.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/cache.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/check.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/manifest.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/pull.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/ref.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/refs.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/registry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/resolve.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/sources.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/store.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/unpack.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/images/user.c
)
