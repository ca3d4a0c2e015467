# The image code (core/src/images): references, challenges, logins,
# manifests, and layers with whiteouts and escapes.
corral_add_unit_test(test_images SOURCES test_images.c)
