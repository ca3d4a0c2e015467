# Datasets (core/src/dataset): spec forms, paths kept inside, scan and filters.
corral_add_unit_test(test_dataset SOURCES test_dataset.c testenv.c)
