#!/usr/bin/env bash
# corral image against a real registry (Debian's docker-registry, images
# pushed with docker) and against tests/fakes/registry/registry_faults.py:
# pulls by tag, by digest and through a mirror, whiteouts and opaque
# directories, concurrent pulls sharing one cache, rm and prune, and every
# bad answer a clear error with nothing half made left in the cache.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
FAKE_PID= REALM_PID=
trap 'stop_registry; [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; [ -n "$REALM_PID" ] && kill "$REALM_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
start_registry
push_images
export CORRAL_IMAGE_CACHE=$WORK/cache

# Nothing an interrupted or failed pull could leave: .part files, .tmp trees.
no_leftovers() { [ -z "$(ls -A "$CORRAL_IMAGE_CACHE/tmp" 2>/dev/null)" ] && ! ls -d "$CORRAL_IMAGE_CACHE"/rootfs/*.tmp >/dev/null 2>&1; }

run "$CORRAL" image pull "$REG/test/busybox:1"
check "pull by tag succeeds and prints DIGEST NAME" test "$RC" -eq 0 -a "${OUT#sha256:}" != "$OUT"
has "$OUT" " $REG/test/busybox:1" && ok "the name is the canonical reference" || not_ok "canonical name"
has "$ERR" "downloading" && ok "progress on stderr" || not_ok "progress on stderr"
DIGEST=${OUT%% *}
ROOT=$CORRAL_IMAGE_CACHE/rootfs/${DIGEST#sha256:}
check "the root filesystem has the image's files" test -x "$ROOT/bin/busybox" -a -L "$ROOT/bin/sh"
check "an absolute symlink is kept as a link, not followed" test "$(readlink "$ROOT/bin/abs-link")" = /bin/busybox

run "$CORRAL" image pull "$REG/test/busybox@$DIGEST"
check "pull by digest gives the same image" test "$RC" -eq 0 -a "${OUT%% *}" = "$DIGEST"
lacks "$ERR" "downloading" && ok "a second pull downloads nothing" || not_ok "second pull downloaded"

run "$CORRAL" image pull "$REG/test/busybox@sha256:$(printf '0%.0s' $(seq 64))"
check "an unknown digest fails (exit 1)" test "$RC" -eq 1
has "$ERR" "not found" && ok "... saying not found" || not_ok "unknown digest message"

run "$CORRAL" -q image pull "$REG/test/nosuch:1"
check "an unknown image fails with one clear line" test "$RC" -eq 1 -a "$(wc -l <<<"$ERR")" -eq 1
has "$ERR" "nosuch" && ok "... naming it" || not_ok "unknown image message"

run "$CORRAL" image pull "Bad/Name"
check "a malformed reference fails" test "$RC" -eq 1
has "$ERR" "lowercase" && ok "... saying why" || not_ok "malformed reference message"

run "$CORRAL" image pull "$REG/test/layers:1"
check "a two-layer image pulls" test "$RC" -eq 0
L=$CORRAL_IMAGE_CACHE/rootfs/$(cut -d' ' -f1 <<<"$OUT" | sed 's/^sha256://')
check "whiteout: the deleted file is gone" test ! -e "$L/data/deleted"
check "the upper layer's content replaces the lower's" test "$(cat "$L/data/replaced" 2>/dev/null)" = upper
check "opaque directory: the lower content is hidden" test ! -e "$L/etc/opaque/old"
check "opaque directory: the upper content is there" test "$(cat "$L/etc/opaque/new" 2>/dev/null)" = new
check "a directory the upper layer did not touch is kept" test "$(cat "$L/etc/keep/file" 2>/dev/null)" = kept
check "the lower image's own rootfs is untouched" test -e "$ROOT/data/deleted" -a -e "$ROOT/etc/opaque/old"

# A docker.io name served by a mirror (as Docker's registry-mirrors).
cat >"$WORK/mirror.json" <<JSON
{"images": {"mirrors": {"docker.io": ["http://$REG"]}}}
JSON
run "$CORRAL" --config "$WORK/mirror.json" image pull corral-busybox:1
check "a docker.io/library name pulls through the mirror" test "$RC" -eq 0 -a "${OUT%% *}" = "$DIGEST"
has "$OUT" "docker.io/library/corral-busybox:1" && ok "... recorded under its docker.io name" || not_ok "mirror name"

run "$CORRAL" image ls
check "ls lists the references" test "$RC" -eq 0 -a "$(grep -c . <<<"$OUT")" -eq 4
run "$CORRAL" image ls --json
check "ls --json is one JSON object a line" python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]' <<<"$OUT"

echo '{"images": {"mirrors": {"docker.io": ["ftp://x"]}, "insecure": "r:1", "bogus": 1}}' >"$WORK/badcfg.json"
run "$CORRAL" --config "$WORK/badcfg.json" image pull corral-busybox:1
check "a bad images config is refused (exit 3)" test "$RC" -eq 3
has "$ERR" "images.mirrors.docker.io" && has "$ERR" "images.insecure" && has "$ERR" "unknown key 'bogus'" &&
  ok "... naming each key" || not_ok "bad images config messages"

# Concurrent pulls of one image by three corral processes, fresh cache.
export CORRAL_IMAGE_CACHE=$WORK/cache2
PIDS=()
for i in 1 2 3; do "$CORRAL" -q image pull "$REG/test/layers:1" >"$WORK/c$i.out" 2>"$WORK/c$i.err" & PIDS+=($!); done
wait "${PIDS[@]}"
RC=0; for i in 1 2 3; do [ -s "$WORK/c$i.out" ] || RC=1; done
OUT=$(cat "$WORK"/c?.out); ERR=$(cat "$WORK"/c?.err)
check "three concurrent pulls all succeed" test "$RC" -eq 0 -a "$(sort -u <<<"$OUT" | wc -l)" -eq 1
check "... into one root filesystem" test "$(ls "$CORRAL_IMAGE_CACHE/rootfs" | wc -l)" -eq 1
check "... and one set of blobs (manifest, config, 2 layers)" test "$(ls "$CORRAL_IMAGE_CACHE/blobs/sha256" | wc -l)" -eq 4
check "... with nothing half made left" no_leftovers
export CORRAL_IMAGE_CACHE=$WORK/cache

# rm and prune.
run "$CORRAL" image rm "$REG/test/layers:1"
check "rm succeeds" test "$RC" -eq 0 -a ! -e "$L"
check "rm keeps what another image uses" test -x "$ROOT/bin/busybox"
run "$CORRAL" image rm "$REG/test/layers:1"
check "rm of an image not in the cache fails" test "$RC" -eq 1
mkdir -p "$CORRAL_IMAGE_CACHE/rootfs/$(printf 'a%.0s' $(seq 64)).tmp"; : >"$CORRAL_IMAGE_CACHE/tmp/x.part"
run "$CORRAL" image prune
check "prune removes leftovers of interrupted pulls" test "$RC" -eq 0 && has "$OUT" "2 leftovers" && no_leftovers
check "prune keeps images that are referenced" test -x "$ROOT/bin/busybox"
for r in "$REG/test/busybox:1" "$REG/test/busybox@$DIGEST" corral-busybox:1; do "$CORRAL" -q image rm "$r" >/dev/null; done
run "$CORRAL" image prune
check "once nothing refers to them, every blob and rootfs goes" test -z "$(find "$CORRAL_IMAGE_CACHE/blobs/sha256" "$CORRAL_IMAGE_CACHE/rootfs" -mindepth 1)"

# A registry that misbehaves.
python3 "$SOURCE_DIR/tests/fakes/registry/registry_faults.py" --port-file "$WORK/fake.port" >/dev/null &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$WORK/fake.port" ] && break; sleep 0.1; done
F=127.0.0.1:$(cat "$WORK/fake.port")
echo '{"images": {"stall_timeout_s": 2}}' >"$WORK/stall.json"
export CORRAL_IMAGE_CACHE=$WORK/cache3
fault() { # fault REPO EXPECTED-TEXT
  run timeout 120 "$CORRAL" -q --config "$WORK/stall.json" image pull "$F/$1:1"
  if [ "$RC" -eq 1 ] && has "$ERR" "$2" && [ "$(wc -l <<<"$ERR")" -eq 1 ] && no_leftovers &&
     [ -z "$(ls "$CORRAL_IMAGE_CACHE/rootfs")" ]; then ok "$1: one clear error line, exit 1, nothing left"; else not_ok "$1"; fi
}
fault mismatch "digest mismatch"
fault truncated "truncated"
fault oversize "more than the"
fault garbage "not a JSON object"
fault stall "stalled"
fault dotdot "'..' component"
fault absolute "absolute path"
# A device node (debootstrap-made images carry /dev/null and friends) is
# left out, not refused: no unprivileged process can make one, and every
# sandbox gets its own /dev.
run timeout 120 "$CORRAL" -q image pull "$F/device:1"
DEV_ROOT=$CORRAL_IMAGE_CACHE/rootfs/$(cut -d' ' -f1 <<<"$OUT" | sed 's/^sha256://')
check "a layer with a device node pulls" test "$RC" -eq 0
check "... without the node, with the rest of the layer" test ! -e "$DEV_ROOT/etc/null" -a -s "$DEV_ROOT/etc/hello"
run "$CORRAL" -q image rm "$F/device:1"
fault symlink "goes through a symlink"
# A pull killed mid-download leaves a .part that prune (or the next pull of that blob) removes.
"$CORRAL" -q image pull "$F/stall:1" >/dev/null 2>&1 &
KPID=$!
for _ in $(seq 100); do [ -n "$(ls -A "$CORRAL_IMAGE_CACHE/tmp" 2>/dev/null)" ] && break; sleep 0.1; done
check "a stalled download is in tmp/ while it runs" test -n "$(ls -A "$CORRAL_IMAGE_CACHE/tmp")"
kill -9 "$KPID"; wait "$KPID" 2>/dev/null
run "$CORRAL" image prune
check "prune after a killed pull removes its partial blob" test "$RC" -eq 0 && has "$OUT" "1 leftovers" && no_leftovers
check "nothing escaped the rootfs" test ! -e /tmp/escaped -a ! -e "$CORRAL_IMAGE_CACHE/escape"
fault token "refused an anonymous pull"
mkdir -p "$WORK/docker"
printf '{"auths": {"http://%s/v1/": {"auth": "%s"}}}\n' "$F" "$(printf user:pass | base64)" >"$WORK/docker/config.json"
argv_scan_start "dXNlcjpwYXNz" "user:pass"
run env DOCKER_CONFIG="$WORK/docker" "$CORRAL" -v -v image pull "$F/token:1"
argv_scan_stop
check "token auth with the login from \$DOCKER_CONFIG/config.json" test "$RC" -eq 0
check "... the login and the token are in no argv" test ! -s "$WORK/hits"
lacks "$ERR" "tok-1" && lacks "$ERR" "dXNlcjpwYXNz" && ok "... nor in the debug log" || not_ok "secret in the log"
run env DOCKER_CONFIG="$WORK/docker" "$CORRAL" image pull "$F/redirect:1"
check "blobs redirected to storage on another origin, without the registry's Authorization" test "$RC" -eq 0
run "$CORRAL" image pull "$F/good:1"
check "the control image of the fake pulls" test "$RC" -eq 0 -a "$(for f in "$CORRAL_IMAGE_CACHE"/rootfs/*/etc/name; do cat "$f"; echo; done | sort | tr '\n' ' ')" = "good redirect token "

# The real registry behind a token realm run here (auth: token, RS256 JWTs).
restart_registry_with_token_realm
export CORRAL_IMAGE_CACHE=$WORK/cache4
run "$CORRAL" -q image pull "$REG/test/busybox:1"
check "token auth: without a login the realm refuses (exit 1)" test "$RC" -eq 1
has "$ERR" "refused an anonymous pull" && ok "... saying so" || not_ok "anonymous refusal message"
mkdir -p "$WORK/login"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf user:wrong | base64)" >"$WORK/login/config.json"
run env DOCKER_CONFIG="$WORK/login" "$CORRAL" -q image pull "$REG/test/busybox:1"
check "token auth: a wrong password is refused" test "$RC" -eq 1 && has "$ERR" "refused the login"
printf '{"auths": {"%s": {"username": "user", "password": "pass"}}}\n' "$REG" >"$WORK/login/config.json"
run env DOCKER_CONFIG="$WORK/login" "$CORRAL" image pull "$REG/test/busybox:1"
check "token auth: with the login the real registry serves the image" test "$RC" -eq 0 -a "${OUT%% *}" = "$DIGEST"
check "... unpacked" test -x "$CORRAL_IMAGE_CACHE/rootfs/${DIGEST#sha256:}/bin/busybox"

finish
