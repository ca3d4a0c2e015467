# Reports over RolloutResult JSONL: reading and merging shards (report.c),
# the summary (summary.c).  See docs/report.md.
list(APPEND CORRAL_LIB_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/report/report.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/report/summary.c
)
