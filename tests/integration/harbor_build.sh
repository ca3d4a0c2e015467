# A Harbor task with only environment/Dockerfile (docs/backends/docker.md
# "Building images"): docker builds its image from the environment/ context
# (.dockerignore honoured) and the oracle gets reward 1 in it; an unchanged
# context is not built again; a failing RUN is a task error with the
# build's text; the local backend refuses the task naming the file.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
T="$SOURCE_DIR/tests/integration/tasks/harbor_hello"
NONCE="$$-$RANDOM-$(date +%s%N)" # a fresh context each run: the first build is a real one
TAGS=()
cleanup() { for t in "${TAGS[@]}"; do docker rmi -f "$t" >/dev/null 2>&1; done; rm -rf "$WORK"; }
trap cleanup EXIT

task() { # NAME DOCKERFILE-BODY: a copy of harbor_hello whose image is built
  local d="$WORK/$1"
  rm -rf "$d"; cp -r "$T" "$d"; mkdir -p "$d/environment/logs"
  printf '%s\n' "$2" >"$d/environment/Dockerfile"
  echo kept >"$d/environment/kept.txt"
  echo secret >"$d/environment/excluded.txt"
  echo a >"$d/environment/logs/a.log"
  echo keep >"$d/environment/logs/keep.log"
  printf '# build context rules\nexcluded.txt\nlogs/*.log\n!logs/keep.log\n' >"$d/environment/.dockerignore"
  cat >"$d/tests/test.sh" <<'EOF'
#!/bin/bash
echo "marker: $(cat /built-marker 2>/dev/null)"
echo "context: $(cd /ctx && find . -type f | sort | tr '\n' ' ')"
if [ -f /built-marker ] && [ -f /ctx/kept.txt ] && [ ! -e /ctx/excluded.txt ] && [ ! -e /ctx/logs/a.log ] &&
   [ -f /ctx/logs/keep.log ] && [ "$(cat hello.txt 2>/dev/null)" = "$GREETING, world!" ]; then
  echo 1 > /logs/verifier/reward.txt
else
  echo 0 > /logs/verifier/reward.txt
fi
EOF
  chmod +x "$d/tests/test.sh"
}

if command -v bwrap >/dev/null; then
  task local-refused "FROM debian"
  run "$CORRAL" run --sandbox local --task "$WORK/local-refused" --agent oracle --out "$WORK/local.json"
  check "local: a Dockerfile-only task is refused naming the file and the backend" eval '[ $RC -eq 1 ] &&
    has "$ERR" "local-refused/environment/Dockerfile: the local backend cannot build images; use docker, or give docker_image" &&
    [ "$(field "$WORK/local.json" "d[\"error\"][\"class\"]")" = task ]'
fi

IMAGE=${CORRAL_AGENT_IMAGE:-corral-test/bookworm:1}
if ! docker info >/dev/null 2>&1 || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  [ -n "${CORRAL_REQUIRE_BACKENDS:-}" ] && { echo "not ok - docker or $IMAGE missing"; exit 1; }
  echo "skipped: docker or $IMAGE missing"; finish || exit 1; exit 77
fi

task built "FROM $IMAGE
COPY . /ctx/
RUN echo built-$NONCE > /built-marker"
run "$CORRAL" run --sandbox docker --task "$WORK/built" --agent oracle --out "$WORK/built.json"
TAG=$(grep -o 'image corral-build:[0-9a-f]*' <<<"$ERR" | head -1 | cut -d' ' -f2)
[ -n "$TAG" ] && TAGS+=("$TAG")
check "docker: the image is built from environment/Dockerfile and the oracle gets reward 1 in it" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/built.json" "d[\"reward\"]")" = 1 ] &&
  has "$(field "$WORK/built.json" "d[\"verify\"][0][\"stdout\"]")" "marker: built-$NONCE"'
check "docker: .dockerignore left out excluded.txt and logs/a.log, kept the exception logs/keep.log" \
  has "$(field "$WORK/built.json" "d[\"verify\"][0][\"stdout\"]")" "context: ./.dockerignore ./Dockerfile ./kept.txt ./logs/keep.log "
check "docker: the build's output is shown as progress lines" eval 'has "$ERR" "build: " && has "$ERR" "built-$NONCE"'
check "docker: the built image is tagged by the context digest and labelled as corral's" eval '[ -n "$TAG" ] &&
  [ "$(docker image inspect -f "{{index .Config.Labels \"corral.build\"}}" "$TAG")" = 1 ]'
CREATED=$(docker image inspect -f '{{.Created}}' "$TAG" 2>/dev/null)

run "$CORRAL" run --sandbox docker --task "$WORK/built" --agent oracle --out "$WORK/again.json"
check "docker: an unchanged context is not built again" eval '[ $RC -eq 0 ] &&
  [ "$(field "$WORK/again.json" "d[\"reward\"]")" = 1 ] && has "$ERR" "image $TAG exists: build skipped" &&
  [ "$(docker image inspect -f "{{.Created}}" "$TAG")" = "$CREATED" ]'

task failing "FROM $IMAGE
RUN echo corral-build-fails-$NONCE && exit 3"
run "$CORRAL" run --sandbox docker --task "$WORK/failing" --agent oracle --out "$WORK/failing.json"
check "docker: a failing RUN is a task error carrying the build's own text" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/failing.json" "d[\"reward\"], d[\"error\"][\"class\"]")" = "None task" ] &&
  has "$(field "$WORK/failing.json" "d[\"error\"][\"message\"]")" "docker build: " &&
  has "$(field "$WORK/failing.json" "d[\"error\"][\"message\"]")" "non-zero code: 3" &&
  has "$ERR" "corral-build-fails-$NONCE"'
finish
