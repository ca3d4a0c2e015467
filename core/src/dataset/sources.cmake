# Datasets: a tree of task directories, a git repository pinned to a commit
# (fetched into the cache), or an entry of a Harbor registry.json.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/dataset/dataset.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/dataset/dataset_git.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/dataset/dataset_registry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/dataset/dataset_scan.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/dataset/registry_select.c
)
