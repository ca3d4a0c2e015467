# ATIF trajectories from RolloutResults (core/src/atif).
corral_add_unit_test(test_atif SOURCES test_atif.c)
