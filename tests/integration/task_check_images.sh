#!/usr/bin/env bash
# `corral task check --backend B` asks whether a task's image can be had on
# B without pulling it (docs/harbor.md "Checking and starting tasks"):
# against a real registry (Debian's docker-registry, images pushed with
# docker), corral's image cache and the docker daemon.  The cache is never
# written by a check; an absent tag, an unreachable registry and a
# Dockerfile on a backend that cannot build are one error line each.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
LOCALIMG=corral-taskcheck-local:$$
trap 'stop_registry; [ -n "${REALM_PID:-}" ] && kill "$REALM_PID" 2>/dev/null; docker rmi -f "$LOCALIMG" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
docker info >/dev/null 2>&1 || skip "no docker daemon"
start_registry
push_images
export CORRAL_IMAGE_CACHE=$WORK/cache
cd "$WORK" || exit 1
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }
# task NAME IMAGE: a new task whose [environment] docker_image is IMAGE.
task() {
  rm -rf "$1"; "$CORRAL" task init "$1" >/dev/null || exit 1
  sed -i "s|^# docker_image.*|docker_image = \"$2\"|" "$1/task.toml"
}
cache_empty() { [ -z "$(ls "$CORRAL_IMAGE_CACHE/blobs/sha256" 2>/dev/null)" ] && [ -z "$(ls "$CORRAL_IMAGE_CACHE/rootfs" 2>/dev/null)" ]; }

# local: the registry has it; the check writes nothing.
task pushed "$REG/test/busybox:1"
run "$CORRAL" task check pushed
check "local: an image pushed to the registry passes, named with the registry that has it" eval '[ $RC -eq 0 ] &&
  has "$OUT" "pushed: note: image $REG/test/busybox:1: its registry has it (http://$REG)"'
check "local: the check created no cache at all" test ! -e "$CORRAL_IMAGE_CACHE"

task absent "$REG/test/busybox:absent"
run "$CORRAL" task check absent
check "local: an absent tag is one error line naming the file, the field and the image; exit 1" eval '[ $RC -eq 1 ] &&
  has "$OUT" "absent: error: task.toml: [environment] docker_image '"'$REG/test/busybox:absent'"': no such image: $REG:" &&
  [ "$(grep -c ": error: " <<<"$OUT")" = 1 ]'
run "$CORRAL" task check --json pushed absent
echo "$OUT" >"$WORK/check.json"
check "local --json: the same problem, the backend named" eval '[ $RC -eq 1 ] &&
  [ "$(field "$WORK/check.json" "d[\"backend\"], d[\"ok\"], [(t[\"ok\"], len(t[\"errors\"])) for t in d[\"tasks\"]]")" = "local False [(True, 0), (False, 1)]" ] &&
  has "$(field "$WORK/check.json" "d[\"tasks\"][1][\"errors\"][0]")" "docker_image '"'$REG/test/busybox:absent'"': no such image"'

DEAD=127.0.0.1:$(free_port)
task unreachable "$DEAD/test/busybox:1"
start=$(date +%s)
run "$CORRAL" task check unreachable
check "local: a registry that cannot be reached is an error naming it, in bounded time" eval '[ $RC -eq 1 ] &&
  has "$OUT" "unreachable: error: task.toml: [environment] docker_image" && has "$OUT" "http://$DEAD/v2/" &&
  [ $(( $(date +%s) - start )) -lt 30 ]'

# The cache: a pulled image passes with the registry gone; once removed
# from the cache it passes through the registry again, and nothing is
# written back.
run "$CORRAL" image pull "$REG/test/busybox:1"
check "setup: the image is pulled into the cache" test "$RC" -eq 0
stop_registry
run "$CORRAL" task check pushed
check "local: an image in the cache passes without its registry" eval '[ $RC -eq 0 ] &&
  has "$OUT" "pushed: note: image $REG/test/busybox:1: in corral'"'"'s image cache"'
run "$CORRAL" image rm "$REG/test/busybox:1"
run "$CORRAL" image prune
check "setup: the cache is empty again" eval '[ $RC -eq 0 ] && cache_empty'
start_registry
run "$CORRAL" task check pushed
check "local: removed from the cache it still passes (the registry has it)" eval '[ $RC -eq 0 ] &&
  has "$OUT" "its registry has it (http://$REG)"'
check "local: ... and the check wrote no blob, root filesystem or reference to the cache" eval 'cache_empty &&
  [ -z "$("$CORRAL" image ls 2>/dev/null | grep busybox)" ]'

# Mirrors, as a pull goes: a docker.io name found at the second mirror.
cat >"$WORK/mirror.json" <<JSON
{"images": {"mirrors": {"docker.io": ["http://$DEAD", "http://$REG"]}}}
JSON
task mirrored corral-busybox:1
run "$CORRAL" --config "$WORK/mirror.json" task check mirrored
check "local: a docker.io image is found through the configured mirrors after a dead one" eval '[ $RC -eq 0 ] &&
  has "$OUT" "mirrored: note: image corral-busybox:1: its registry has it (http://$REG)" && cache_empty'

# docker: the daemon has it (not in any registry), or the registry does.
make_rootfs_tar
docker import "$WORK/rootfs.tar" "$LOCALIMG" >/dev/null || { echo "not ok - docker import"; exit 1; }
task ondaemon "$LOCALIMG"
run "$CORRAL" task check --backend docker ondaemon
check "docker: an image the daemon has passes" eval '[ $RC -eq 0 ] &&
  has "$OUT" "ondaemon: note: image $LOCALIMG: the docker backend has it"'
run "$CORRAL" task check --backend docker pushed
check "docker: an image only the registry has passes (docker pulls it at run time)" eval '[ $RC -eq 0 ] &&
  has "$OUT" "its registry has it (http://$REG); the docker backend pulls it at run time"'
task dkabsent "$REG/test/absent:1"
run "$CORRAL" task check --sandbox docker dkabsent
check "docker: an image neither the daemon nor the registry has fails naming it; exit 1" eval '[ $RC -eq 1 ] &&
  has "$OUT" "dkabsent: error: task.toml: [environment] docker_image '"'$REG/test/absent:1'"': no such image"'

# A Dockerfile task: docker builds it, local cannot.
rm -rf built && "$CORRAL" task init built >/dev/null && mkdir built/environment && echo "FROM debian" >built/environment/Dockerfile
run "$CORRAL" task check --backend docker built
check "docker: a Dockerfile-only task passes (docker builds it)" eval '[ $RC -eq 0 ] &&
  has "$OUT" "built: note: environment/Dockerfile: the docker backend builds its image at run time"'
run "$CORRAL" task check --backend local built
check "local: a Dockerfile-only task is one error naming the file and the backend; exit 1" eval '[ $RC -eq 1 ] &&
  has "$OUT" "built: error: environment/Dockerfile: the local backend cannot build images"'

# Credentials as a pull uses them: the real registry behind a token realm
# (RS256 JWTs); the HEAD gets its token with the login of config.json.
restart_registry_with_token_realm
run "$CORRAL" task check pushed
check "token auth: without a login the check is an error saying the realm refused it" eval '[ $RC -eq 1 ] &&
  has "$OUT" "pushed: error: task.toml: [environment] docker_image" && has "$OUT" "refused an anonymous pull"'
mkdir -p "$WORK/login"
printf '{"auths": {"%s": {"username": "user", "password": "pass"}}}\n' "$REG" >"$WORK/login/config.json"
run env DOCKER_CONFIG="$WORK/login" "$CORRAL" task check pushed
check "token auth: with the login of config.json the image passes, and nothing is cached" eval '[ $RC -eq 0 ] &&
  has "$OUT" "its registry has it (http://$REG)" && cache_empty && lacks "$OUT$ERR" "pass"'
finish
