#!/usr/bin/env bash
# Container images on the embedded default, the local sandbox (no Docker
# at run time): an image pulled from a real registry (Debian's
# docker-registry, pushed with docker) is the sandbox's root filesystem,
# with its config's Env applied; the oracle and the real Pi CLI (its own
# Node bound in from the agent cache) solve a task inside it; an image
# that cannot be had is one clear error before any sandbox exists.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
# Its own sandbox registry: "no sandbox was made" counts `sandbox ls`, which
# must not see the sandboxes of tests running beside this one.
export CORRAL_STATE_DIR="$WORK/state"
EX="$SOURCE_DIR/examples"
trap 'stop_registry; rm -rf "$WORK"' EXIT
command -v bwrap >/dev/null || skip "bubblewrap is not installed"
docker info >/dev/null 2>&1 || skip "no docker daemon"
BASE=${CORRAL_AGENT_IMAGE:-corral-test/bookworm:1}
docker image inspect "$BASE" >/dev/null 2>&1 || skip "image $BASE missing (tests/docker/make-agent-image.sh)"
start_registry
mkdir -p "$WORK/ctx"
echo image-marker >"$WORK/ctx/marker"
printf 'FROM %s\nENV CORRAL_IMAGE_VAR=from-image\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCOPY marker /etc/corral-image-marker\n' \
  "$BASE" >"$WORK/ctx/Dockerfile"
IMG=$REG/test/bk:$$
docker build -q -t "$IMG" "$WORK/ctx" >/dev/null && docker push -q "$IMG" >/dev/null || { echo "not ok - build and push $IMG"; exit 1; }
docker rmi -f "$IMG" >/dev/null 2>&1
export CORRAL_IMAGE_CACHE=$WORK/cache
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

# A sandbox by hand: the image's files, its Env, the workspace writable,
# the image itself read-only, and no trace of the host's system.
run "$CORRAL" sandbox create --backend local --image "$IMG"
ID=$OUT
check "sandbox create --image REF pulls the image and creates a local sandbox" test "$RC" -eq 0 -a -n "$ID"
run "$CORRAL" sandbox exec "$ID" -- sh -c 'cat /etc/corral-image-marker; echo "var=$CORRAL_IMAGE_VAR"; touch /workspace/w && echo ws-ok; touch /usr/x 2>/dev/null || echo ro-ok; test -e /etc/corral-image-marker && test ! -e '"$SOURCE_DIR"' && echo no-host'
check "inside: the image's file, its config Env, a writable workspace, a read-only image, no host paths" \
  test "$OUT" = "$(printf 'image-marker\nvar=from-image\nws-ok\nro-ok\nno-host')"
run "$CORRAL" sandbox rm "$ID"
check "the sandbox is removed" test "$RC" -eq 0
# A running sandbox holds its image's root filesystem (the shared flock its
# watcher keeps after this corral exited): rm refuses it, naming it, until
# the sandbox is gone; rm --force forgets the name, prune keeps the files.
run "$CORRAL" sandbox create --backend local --image "$IMG"
ID=$OUT
run "$CORRAL" image rm "$IMG"
check "image rm of an image a running sandbox uses is refused (exit 1), naming it" \
  eval '[ $RC -eq 1 ] && has "$ERR" "test/bk:$$ is in use by a running sandbox"'
check "... the image stays listed and the sandbox keeps its files" \
  eval 'has "$("$CORRAL" image ls)" "test/bk:$$" && "$CORRAL" sandbox exec "$ID" -- test -e /etc/corral-image-marker'
run "$CORRAL" image prune
check "prune keeps the root filesystem in use" eval '[ $RC -eq 0 ] && "$CORRAL" sandbox exec "$ID" -- test -e /bin/sh'
run "$CORRAL" sandbox rm "$ID"
run "$CORRAL" image rm "$IMG"
check "once the sandbox is destroyed, rm succeeds and the root filesystem is gone" \
  eval '[ $RC -eq 0 ] && [ -z "$(ls "$CORRAL_IMAGE_CACHE/rootfs")" ]'
run "$CORRAL" sandbox create --backend local --image "$IMG"
ID=$OUT
run "$CORRAL" image rm --force "$IMG"
check "rm --force forgets a reference in use" eval '[ $RC -eq 0 ] && ! has "$("$CORRAL" image ls)" "test/bk"'
run "$CORRAL" image prune
check "... prune then keeps its root filesystem with a line naming the digest, the sandbox still runs" \
  eval '[ $RC -eq 0 ] && has "$ERR" "kept the root filesystem of sha256:" && "$CORRAL" sandbox exec "$ID" -- test -e /etc/corral-image-marker'
"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1
run "$CORRAL" image prune
check "... and removes it once the sandbox is gone" eval '[ $RC -eq 0 ] && [ -z "$(ls "$CORRAL_IMAGE_CACHE/rootfs")" ]'

# The image config's User: a name from the image's own /etc/passwd and
# /etc/group becomes the sandbox's uid:gid (bwrap --uid/--gid), and the
# workspace stays writable by it; a user the image lacks is one clear error.
mkdir -p "$WORK/uctx"
printf 'FROM %s\nRUN groupadd -g 4321 crew && useradd -u 4321 -g crew -M -d /nonexistent agentu\nUSER agentu\n' \
  "$IMG" >"$WORK/uctx/Dockerfile"
IMGU=$REG/test/bk-user:$$
docker build -q -t "$IMGU" "$WORK/uctx" >/dev/null && docker push -q "$IMGU" >/dev/null || { echo "not ok - build and push $IMGU"; exit 1; }
printf 'FROM %s\nUSER ghost\n' "$IMG" >"$WORK/uctx/Dockerfile"
IMGG=$REG/test/bk-ghost:$$
docker build -q -t "$IMGG" "$WORK/uctx" >/dev/null && docker push -q "$IMGG" >/dev/null || { echo "not ok - build and push $IMGG"; exit 1; }
docker rmi -f "$IMGU" "$IMGG" "$IMG" >/dev/null 2>&1 # FROM pulled $IMG: the docker part below needs it gone
run "$CORRAL" sandbox create --backend local --image "$IMGU"
ID=$OUT
run "$CORRAL" sandbox exec "$ID" -- sh -c 'id -u; id -g; id -un; touch /workspace/mine && stat -c %u:%g /workspace/mine'
check "an image whose config says USER agentu: commands run as its uid:gid from the image's passwd, the workspace writable by it" \
  test "$OUT" = "$(printf '4321\n4321\nagentu\n4321:4321')"
"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1
run "$CORRAL" sandbox create --backend local --image "$IMGU" --user 0
ID=$OUT
run "$CORRAL" sandbox exec "$ID" -- id -u
check "... --user on the command line wins over the image's User" test "$OUT" = 0
"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1
before=$("$CORRAL" sandbox ls 2>/dev/null | wc -l)
run "$CORRAL" sandbox create --backend local --image "$IMGG"
check "an image whose User is not in its /etc/passwd: create fails (exit 1) with one line naming image and user" \
  eval '[ $RC -ne 0 ] && has "$ERR" "test/bk-ghost:$$: its config'"'"'s User '"'"'ghost'"'"' is not in the image'"'"'s /etc/passwd" && [ "$(printf %s "$ERR" | wc -l)" -le 1 ]'
check "... and no sandbox was made" test "$("$CORRAL" sandbox ls 2>/dev/null | wc -l)" = "$before"

# The spec's env wins over the image's Env of the same name.
run env CORRAL_IMAGE_VAR=from-spec "$CORRAL" sandbox create --backend local --image "$IMG" --env CORRAL_IMAGE_VAR
ID=$OUT
run "$CORRAL" sandbox exec "$ID" -- sh -c 'echo "$CORRAL_IMAGE_VAR"; echo "$PATH"'
check "an env entry of the spec replaces the image's Env entry of that name; the others stay" \
  test "$OUT" = "$(printf 'from-spec\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')"
"$CORRAL" sandbox rm "$ID" >/dev/null 2>&1

# A task naming the image (task.json "image"): its test passes only inside it.
cp -r "$EX/tasks/hello" "$WORK/task"
python3 - "$WORK/task/task.json" "$IMG" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); t["image"] = sys.argv[2]; json.dump(t, open(sys.argv[1], "w"))
PY
sed -i 's|^if \[|if [ -e /etc/corral-image-marker ] \&\& [ "$CORRAL_IMAGE_VAR" = from-image ] \&\& [|' "$WORK/task/tests/test.sh"
grep -q corral-image-marker "$WORK/task/tests/test.sh" || { echo "not ok - test.sh edit"; exit 1; }
run "$CORRAL" run --task "$WORK/task" --agent oracle --out "$WORK/oracle.json"
check "oracle in the task's image on local: reward 1" eval '[ $RC -eq 0 ] && [ "$(field "$WORK/oracle.json" "d[\"reward\"]")" = 1 ]'
run "$CORRAL" run --image host --task "$WORK/task" --agent oracle --out "$WORK/host.json"
check "the same task on the host's system (--image host): reward 0 (the test does tell them apart)" \
  eval '[ "$(field "$WORK/host.json" "d[\"reward\"]")" = 0 ]'
run "$CORRAL" run --task "$WORK/task" --agent pi --model "replay:$EX/replay/hello.jsonl" --out "$WORK/pi.json"
check "the real Pi CLI inside the foreign image (its Node from the agent cache): reward 1, success" \
  eval '[ $RC -eq 0 ] && [ "$(field "$WORK/pi.json" "d[\"reward\"], d[\"agent\"][\"status\"]")" = "1 success" ]'

# An image that cannot host an agent: busybox without glibc runs no Node.
# (rg is copied in so that Pi's requirement probe, `command -v`, passes and
# the install check itself is what fails.)
mkdir -p "$WORK/bb/bin" && cp "$(command -v busybox)" "$WORK/bb/bin/busybox" &&
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$WORK/bb/bin/$a"; done &&
  cp "$(command -v rg)" "$WORK/bb/bin/rg" && tar -C "$WORK/bb" -cf "$WORK/bb.tar" . &&
  docker import "$WORK/bb.tar" "$REG/test/bb:$$" >/dev/null && docker push -q "$REG/test/bb:$$" >/dev/null &&
  docker rmi -f "$REG/test/bb:$$" >/dev/null 2>&1 || { echo "not ok - busybox image"; exit 1; }
run "$CORRAL" run --image "$REG/test/bb:$$" --task "$EX/tasks/hello" --agent pi --model "replay:$EX/replay/hello.jsonl" \
  --out "$WORK/bb.json"
check "an image that cannot host Pi: exit 1, the error names the image and the agent" eval '[ $RC -eq 1 ] &&
  has "$(field "$WORK/bb.json" "d[\"error\"][\"message\"]")" "image $REG/test/bb:$$ cannot host agent pi"'

# An image that cannot be had: one clear error naming it, no sandbox made.
before=$("$CORRAL" sandbox ls 2>/dev/null | wc -l)
run "$CORRAL" run --image "$REG/test/nosuch:1" --task "$EX/tasks/hello" --agent oracle --out "$WORK/nosuch.json"
check "a missing image fails the rollout (exit 1) naming the image" eval '[ $RC -eq 1 ] && has "$ERR" "nosuch" && has "$(field "$WORK/nosuch.json" "d[\"error\"][\"message\"]")" "test/nosuch:1"'
check "... as an infrastructure error in the result, in the create phase" \
  eval '[ "$(field "$WORK/nosuch.json" "d[\"error\"][\"phase\"]")" = create ]'
check "... and no sandbox was left" test "$("$CORRAL" sandbox ls 2>/dev/null | wc -l)" = "$before"

# The docker backend pulls an image its daemon lacks (POST /images/create),
# unless configured not to.
docker image inspect "$IMG" >/dev/null 2>&1 && { echo "not ok - $IMG still on the daemon"; exit 1; }
echo '{"sandbox": {"docker": {"pull": "never"}}}' >"$WORK/never.json"
run "$CORRAL" --config "$WORK/never.json" run --sandbox docker --task "$WORK/task" --agent oracle --out "$WORK/never.out.json"
check "docker with pull \"never\": the missing image is refused at create, naming the option" \
  eval '[ $RC -eq 1 ] && has "$ERR" "pull is \"never\"" && [ "$(field "$WORK/never.out.json" "d[\"error\"][\"phase\"]")" = create ]'
run "$CORRAL" run --sandbox docker --task "$WORK/task" --agent oracle --out "$WORK/docker.json"
check "docker pulls the task's image it lacked and the oracle solves the task in it: reward 1" \
  eval '[ $RC -eq 0 ] && [ "$(field "$WORK/docker.json" "d[\"reward\"]")" = 1 ] && docker image inspect "$IMG" >/dev/null 2>&1'
run "$CORRAL" run --sandbox docker --image "$REG/test/nosuch:1" --task "$EX/tasks/hello" --agent oracle --out "$WORK/dnosuch.json"
check "docker: an image the registry lacks fails create with the registry's reason" \
  eval '[ $RC -eq 1 ] && has "$(field "$WORK/dnosuch.json" "d[\"error\"][\"message\"]")" "manifest unknown"'
echo '{"sandbox": {"docker": {"pull": "sometimes"}}}' >"$WORK/badpull.json"
run "$CORRAL" --config "$WORK/badpull.json" run --sandbox docker --task "$WORK/task" --agent oracle
check "a bad pull option is a config error naming it" eval '[ $RC -ne 0 ] && has "$ERR" "pull must be"'
docker rmi -f "$IMG" >/dev/null 2>&1
finish
