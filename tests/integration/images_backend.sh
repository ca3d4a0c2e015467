# corral image ls|rm|prune --backend docker (docs/images.md "Images on a
# backend"): the images corral built from tasks' Dockerfiles are listed,
# removed only once no container of theirs is left (the refusal names
# it), pruned when unused; an image the daemon pulled is never listed nor
# removed.
. "$(dirname "$0")/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
T="$SOURCE_DIR/tests/integration/tasks/harbor_hello"
NONCE="$$-$RANDOM-$(date +%s%N)" # fresh contexts: each run builds new images
TAGS=() SBX=()
cleanup() {
  for s in "${SBX[@]}"; do "$CORRAL" sandbox rm "$s" >/dev/null 2>&1; done
  for t in "${TAGS[@]}"; do docker rmi -f "$t" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

IMAGE=${CORRAL_AGENT_IMAGE:-corral-test/bookworm:1}
if ! docker info >/dev/null 2>&1 || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  [ -n "${CORRAL_REQUIRE_BACKENDS:-}" ] && { echo "not ok - docker or $IMAGE missing"; exit 1; }
  echo "skipped: docker or $IMAGE missing"; finish || exit 1; exit 77
fi

build() { # NAME: a copy of harbor_hello whose image is built; its tag in $TAG
  local d="$WORK/$1"
  cp -r "$T" "$d"; mkdir -p "$d/environment"
  printf 'FROM %s\nRUN echo %s-%s > /built-marker\n' "$IMAGE" "$1" "$NONCE" >"$d/environment/Dockerfile"
  run "$CORRAL" run --sandbox docker --task "$d" --agent oracle --out "$WORK/$1.json"
  TAG=$(grep -o 'image corral-build:[0-9a-f]*' <<<"$ERR" | head -1 | cut -d' ' -f2)
  [ -n "$TAG" ] && TAGS+=("$TAG")
  check "docker: task $1's image is built ($TAG)" eval '[ $RC -eq 0 ] && [ -n "$TAG" ]'
}
build one; A=$TAG
build two; B=$TAG

run "$CORRAL" image ls --backend docker
check "ls --backend docker lists the built images with the cache's columns and WHERE docker" eval '[ $RC -eq 0 ] &&
  grep -q "^$A sha256:[0-9a-f]* [0-9]* - docker\$" <<<"$OUT" && has "$OUT" "$B "'
check "ls --backend docker never lists an image the daemon pulled" lacks "$OUT" "$IMAGE"
run "$CORRAL" image ls
check "ls without --backend keeps to corral's image cache" eval '[ $RC -eq 0 ] && lacks "$OUT" "$A"'
run "$CORRAL" image ls --json --backend docker
check "ls --json --backend docker: one object a line with where, in_use" eval '[ $RC -eq 0 ] &&
  python3 -c "
import json,sys
rows=[json.loads(l) for l in sys.stdin.read().splitlines()]
r=[x for x in rows if x[\"name\"]==sys.argv[1]][0]
assert r[\"where\"]==\"docker\" and r[\"in_use\"]==0 and r[\"digest\"].startswith(\"sha256:\") and r[\"size\"]>0 and r[\"layers\"] is None
" "$A" <<<"$OUT"'

run "$CORRAL" image rm --backend docker "$IMAGE"
check "rm --backend docker refuses an image corral did not build, and leaves it" eval '[ $RC -eq 1 ] &&
  has "$ERR" "$IMAGE: not an image corral built" && docker image inspect "$IMAGE" >/dev/null 2>&1'

run "$CORRAL" sandbox create --backend docker --image "$A"
ID=$OUT; [ -n "$ID" ] && SBX+=("$ID")
check "a sandbox is made from the built image" eval '[ $RC -eq 0 ] && [ -n "$ID" ]'
run "$CORRAL" image ls --json --backend docker
check "ls counts the container made from it (in_use 1)" eval 'python3 -c "
import json,sys
r=[json.loads(l) for l in sys.stdin.read().splitlines()]
assert [x for x in r if x[\"name\"]==sys.argv[1]][0][\"in_use\"]==1
" "$A" <<<"$OUT"'
run "$CORRAL" image rm --backend docker "$A"
check "rm refuses the image of a running sandbox, naming the sandbox" eval '[ $RC -eq 1 ] &&
  has "$ERR" "$A: in use by container $ID" && docker image inspect "$A" >/dev/null 2>&1'
run "$CORRAL" image rm --force --backend docker "$A"
check "rm --force still refuses while that sandbox runs" eval '[ $RC -eq 1 ] && docker image inspect "$A" >/dev/null 2>&1'
run "$CORRAL" image prune --backend docker
check "prune keeps the image a sandbox was made from and removes the unused one" eval '[ $RC -eq 0 ] &&
  has "$ERR" "kept $A" && docker image inspect "$A" >/dev/null 2>&1 && ! docker image inspect "$B" >/dev/null 2>&1'
check "prune never removes an image the daemon pulled" docker image inspect "$IMAGE"

"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1
run "$CORRAL" image rm --backend docker "$A"
check "once the sandbox is gone rm removes it" eval '[ $RC -eq 0 ] && has "$OUT" "removed $A from docker" &&
  ! docker image inspect "$A" >/dev/null 2>&1'
run "$CORRAL" image ls --backend docker
check "ls no longer shows the removed images" eval '[ $RC -eq 0 ] && lacks "$OUT" "$A" && lacks "$OUT" "$B"'
run "$CORRAL" image rm --backend docker "$A"
check "rm of an image that is gone is one clear error" eval '[ $RC -eq 1 ] && has "$ERR" "no such image"'
run "$CORRAL" image ls --backend local
check "a backend that keeps no images of corral's is one clear error" eval '[ $RC -eq 1 ] &&
  has "$ERR" "the local backend keeps no images of corral"'
run "$CORRAL" image ls --backend
check "--backend without a name is a usage error" eval '[ $RC -eq 2 ]'
finish
