# batch_shards.sh: N oracle rollouts as one process vs 4 shards of a
# Slurm array (same total concurrency): the wall-time ratio and corral's
# own CPU per rollout (run tests/bench/batch_shards.sh [BUILD_DIR] [N] [C];
# needs root; numbers in docs/batches.md).
# `cmake --build build --target bench_batch_shards` runs it at its defaults
# (not part of `all`, not a ctest test: the numbers are not pass/fail).
add_custom_target(bench_batch_shards
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/batch_shards.sh ${CMAKE_BINARY_DIR}
  DEPENDS corral_cli
  USES_TERMINAL)

# batch_cpu.sh: corral's own CPU per oracle rollout of this build, against
# a baseline build measured alternately in the same run when one is given
# (run tests/bench/batch_cpu.sh BUILD_DIR [BASE_BUILD_DIR] [N] [C] [ROUNDS];
# numbers in docs/batches.md).  `cmake --build build --target
# bench_batch_cpu` runs it on this build alone.
add_custom_target(bench_batch_cpu
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/batch_cpu.sh ${CMAKE_BINARY_DIR}
  DEPENDS corral_cli sandbox_local agent_oracle
  USES_TERMINAL)
