# ATIF trajectories from RolloutResults: the document and its file
# (atif.c), the steps (atif_steps.c), a model answer in any dialect's shape
# (atif_answer.c).  See docs/atif.md.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/atif/atif.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/atif/atif_answer.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/atif/atif_steps.c
)
