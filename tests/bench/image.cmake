# image_pull.sh: pull + unpack of a multi-layer image from a local registry,
# corral against skopeo+umoci and docker pull in the same run
# (run tests/bench/image_pull.sh [BUILD_DIR] [SIZE_MB] [LAYERS] [RUNS]).
