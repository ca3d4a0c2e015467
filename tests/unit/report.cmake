# The report library (core/src/report) and the task digest it merges on.
corral_add_unit_test(test_report SOURCES test_report.c LIBRARIES m)
corral_add_unit_test(test_task_digest SOURCES test_task_digest.c testenv.c)
# The view library over it (core/src/view).
corral_add_unit_test(test_view SOURCES test_view.c LIBRARIES PkgConfig::CRYPTO)
