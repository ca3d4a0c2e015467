# corral image against a real registry (docker-registry, docker push) and a
# misbehaving fake one; skipped without docker or docker-registry unless
# CORRAL_REQUIRE_BACKENDS is set.
corral_add_cli_test(images_registry images.sh)
set_tests_properties(images_registry PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS images)
# An image from a real registry as the local sandbox's root filesystem.
corral_add_cli_test(images_local images_local.sh)
set_tests_properties(images_local PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS images)
corral_add_cli_test(images_docker images_docker.sh)
set_tests_properties(images_docker PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS images)
# corral task check --backend: images asked of the cache, the registry and
# the docker daemon, never pulled.
corral_add_cli_test(task_check_images task_check_images.sh)
set_tests_properties(task_check_images PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE LABELS images)
# corral image ls|rm|prune --backend docker: the images corral built on the
# daemon, never the ones it pulled.
corral_add_cli_test(images_backend images_backend.sh)
set_tests_properties(images_backend PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS images)
