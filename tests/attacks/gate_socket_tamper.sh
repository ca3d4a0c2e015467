# Issue 15 item 6: the gate's unix socket is bound into the sandbox; the
# sandbox's root must not chmod/chown the host inode (bound read-only: a
# socket on a read-only mount still connects).  The attack is the task's
# setup command; it always exits 3 so the rollout stops there.
#   gate_socket_tamper.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" "$0"
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); exec('print('+sys.argv[2]+')')" "$@"; }

run "$CORRAL" run "${SB[@]}" --task "$(dirname "$0")/tasks/gate_socket_tamper" --agent pi \
  --model "replay:$SOURCE_DIR/examples/replay/hello.jsonl" --out "$WORK/r.json"
OUT=$(field "$WORK/r.json" 'd["setup"][0]["stdout"] + d["setup"][0]["stderr"]' 2>&1)
check "$BACKEND: the attack ran against the bound gate socket" has "$OUT" "before="
check "$BACKEND: chmod of the gate socket is refused" lacks "$OUT" "CHMOD_OK"
check "$BACKEND: chown of the gate socket is refused" lacks "$OUT" "CHOWN_OK"
check "$BACKEND: the socket's inode is unchanged" eval 'b=$(sed -n "s/.*before=\(.*\) after=.*/\1/p" <<<"$OUT"); a=$(sed -n "s/.* after=//p" <<<"$OUT"); [ -n "$b" ] && [ "$b" = "$a" ]'
finish
