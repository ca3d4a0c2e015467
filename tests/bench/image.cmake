# image_pull.sh: pull + unpack of a multi-layer image from a local registry,
# corral against skopeo+umoci and docker pull in the same run
# (run tests/bench/image_pull.sh [BUILD_DIR] [SIZE_MB] [LAYERS] [RUNS]).
# image_sandbox.sh: a local sandbox with a cached image against one
# without, create -> exec -> rm through the CLI, in the same run
# (run tests/bench/image_sandbox.sh [BUILD_DIR] [RUNS]).
