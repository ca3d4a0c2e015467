# common/: helpers shared by libcorral and the in-tree plugins.
corral_add_unit_test(test_common SOURCES test_common.c LIBRARIES corral_common)
corral_add_unit_test(test_common_archive SOURCES test_common_archive.c LIBRARIES corral_common_archive)
