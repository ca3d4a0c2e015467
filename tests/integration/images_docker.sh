# The docker backend pulls a missing image through corral's images.mirrors
# (the image layer's configuration, docs/images.md) with the registry login
# of $DOCKER_CONFIG sent as X-Registry-Auth and never logged: a dead mirror
# is skipped, the local registry (Debian's docker-registry) serves the
# docker.io name, and the pulled image is tagged with the task's name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry_lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
docker info >/dev/null 2>&1 || skip "no docker daemon"
start_registry
trap 'stop_registry; docker rmi -f corral-busybox:1 "$REG/library/corral-busybox:1" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
push_images
docker rmi -f corral-busybox:1 "$REG/library/corral-busybox:1" >/dev/null 2>&1

DEAD=127.0.0.1:$(free_port)
cat >"$WORK/mirror.json" <<JSON
{"images": {"mirrors": {"docker.io": ["http://$DEAD", "http://$REG"]}}}
JSON
SECRET=s3cr3t-pw-$$
mkdir -p "$WORK/dockercfg"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf 'corraluser:%s' "$SECRET" | base64 -w0)" \
  >"$WORK/dockercfg/config.json"
export DOCKER_CONFIG=$WORK/dockercfg

run "$CORRAL" -v -v --config "$WORK/mirror.json" sandbox create --backend docker --image corral-busybox:1
ID=$OUT
check "docker: a missing docker.io image is pulled through the configured mirror after a dead one" eval '[ $RC -eq 0 ] &&
  has "$ERR" "docker pull $DEAD/library/corral-busybox:1" && has "$ERR" "trying the next source" &&
  has "$ERR" "docker image '"'"'corral-busybox:1'"'"' pulled from $REG/library/corral-busybox:1"'
check "docker: the mirror's image is tagged with the name the task gave" docker image inspect corral-busybox:1 >/dev/null
run "$CORRAL" sandbox exec "$ID" -- /bin/busybox cat /data/replaced
check "docker: the sandbox runs the mirror's image" eval '[ $RC -eq 0 ] && [ "$OUT" = lower ]'
check "docker: the registry login is never logged (nor its X-Registry-Auth value)" eval 'lacks "$ERR" "$SECRET" &&
  lacks "$ERR" "$(printf "corraluser:%s" "$SECRET" | base64 -w0)" && lacks "$ERR" "X-Registry-Auth: ey"'
run "$CORRAL" sandbox rm "$ID"

# Without a mirror a name no registry serves fails with one clear line.
docker rmi -f corral-busybox:1 >/dev/null 2>&1
run "$CORRAL" --config "$WORK/mirror.json" sandbox create --backend docker --image "$REG/test/absent:1"
check "docker: an image no source has is one clear error and exit 1" eval '[ $RC -ne 0 ] &&
  has "$ERR" "docker pull $REG/test/absent:1"'
finish
