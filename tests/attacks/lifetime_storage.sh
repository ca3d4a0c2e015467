# Attack (issue 15 item 17): no disk limit on local.  `fallocate -l 20G` in
# the workspace filled the host's disk, an 18 MB .tar.gz hydrated to 4 GiB.
# With a storage limit (sandbox.local.storage_mb, or a task's
# resources.storage_mb) writes past it fail with ENOSPC inside, the host's
# disk is untouched, and hydrate refuses a bomb naming the limit.  A backend
# that cannot enforce a limit refuses a task that asks for one.
. "$(dirname "$0")/../integration/lib.sh"
rollout_backend local "$0"
[ "$(id -u)" = 0 ] || skip "the local storage limit needs root (a tmpfs)"
export CORRAL_STATE_DIR="$WORK/state"
cat >"$CORRAL_CONFIG_DIR/conf.d/10-storage.json" <<EOF2
{"sandbox": {"local": {"state_dir": "$WORK/local", "storage_mb": 64}}}
EOF2
C() { "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" "$@"; }

run C sandbox create --backend local --ttl 120
ID=$OUT
check "create with a 64 MiB storage limit" eval '[ $RC -eq 0 ] && [ -n "$ID" ]'
used_before=$(df --output=used -B1M "$WORK" | tail -1)
run C sandbox exec "$ID" -- sh -c 'fallocate -l 1G /workspace/big'
check "fallocate past the limit in the workspace fails with ENOSPC" eval '[ $RC -ne 0 ] && has "$ERR" "No space left"'
run C sandbox exec "$ID" -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=200 2>&1; exit 0'
check "writing /tmp stops at the same limit" eval 'has "$OUT" "No space left"'
used_after=$(df --output=used -B1M "$WORK" | tail -1)
check "the host's disk is untouched" eval '[ $((used_after - used_before)) -lt 512 ] && [ "$(du -smx "$WORK/local" | cut -f1)" -lt 8 ]'
run C sandbox exec "$ID" -- sh -c 'rm -f /workspace/big /tmp/fill'

mkdir -p "$WORK/bomb"
head -c $((200 << 20)) /dev/zero >"$WORK/bomb/zeros"
tar -C "$WORK/bomb" -czf "$WORK/bomb.tar.gz" zeros
tar -C "$WORK/bomb" -cf - zeros | zstd -q -19 -o "$WORK/bomb.tar.zst"
rm -rf "$WORK/bomb"
for b in bomb.tar.gz bomb.tar.zst; do
  run C sandbox hydrate "$ID" "$WORK/$b" /workspace
  check "hydrate of a $(stat -c %s "$WORK/$b")-byte $b expanding to 200 MiB is refused naming the limit" eval '[ $RC -ne 0 ] && has "$ERR" "storage limit of 64 MiB"'
done
run C sandbox exec "$ID" -- sh -c 'du -sm /workspace | cut -f1'
check "nothing of the bombs is left in the workspace" eval '[ "$OUT" -lt 2 ]'
run C sandbox rm "$ID"
check "rm unmounts and removes the sandbox's storage" eval '[ $RC -eq 0 ] && ! findmnt -rn | grep -qF "$WORK/local"'

# A task asking for a limit: enforced on local, refused where it cannot be.
mkdir -p "$WORK/task/tests"
echo 'fill the disk' >"$WORK/task/instruction.md"
cat >"$WORK/task/task.json" <<'EOF2'
{"resources": {"storage_mb": 16}, "timeouts": {"setup_s": 60, "agent_s": 60, "verify_s": 60}}
EOF2
mkdir -p "$WORK/task/solution"
printf '#!/bin/sh\nfallocate -l 100M /workspace/f 2>/workspace/err; cat /workspace/err >&2; df -m /workspace | tail -1 | tr -s " " | cut -d" " -f2 >/workspace/size\n' >"$WORK/task/solution/solve.sh"
printf '#!/bin/sh\ngrep -q "No space" /workspace/err && [ "$(cat /workspace/size)" -le 16 ]\n' >"$WORK/task/tests/test.sh"
chmod +x "$WORK/task/solution/solve.sh" "$WORK/task/tests/test.sh"
run C run --sandbox local --task "$WORK/task" --agent oracle --out "$WORK/r.json"
check "local: a task's storage_mb is enforced (ENOSPC at 16 MiB, reward 1)" eval '[ $RC -eq 0 ] && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"reward\"])" "$WORK/r.json")" = 1 ]'
if docker info >/dev/null 2>&1 && docker image inspect corral-test/bookworm:1 >/dev/null 2>&1; then
  run C run --sandbox docker --image corral-test/bookworm:1 --task "$WORK/task" --agent oracle --out "$WORK/d.json"
  check "docker: a task with storage_mb is refused naming the backend" eval '[ $RC -ne 0 ] && grep -q "docker backend cannot enforce a storage limit" "$WORK/d.json"'
fi
finish
