# Shared limits per backend (docs/batches.md "Shared limits"): the
# configuration's max_creates_per_second holds across 4 corral processes
# creating at once (fakeproc test double), max_concurrent across 4 batches
# (local backend), and bad values are configuration errors.
. "$(dirname "$0")/lib.sh"
[ -f "$FAKE_PLUGIN_DIR/sandbox_fakeproc.so" ] || { echo "fakeproc plugin not built: skipped"; exit 77; }
export CORRAL_PLUGIN_PATH="$FAKE_PLUGIN_DIR:$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state" \
  FAKEPROC_ROOT="$WORK/fp"
C() { "$CORRAL" -q "$@"; }

echo '{"sandbox": {"fakeproc": {"max_concurrent": 0}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run C config check
check "max_concurrent 0 is a configuration error" eval '[ $RC -eq 3 ] &&
  has "$ERR" "sandbox.fakeproc.max_concurrent must be an integer from 1 to 100000"'
echo '{"sandbox": {"fakeproc": {"max_creates_per_second": "fast"}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run C config check
check "a max_creates_per_second that is not a number is a configuration error" eval '[ $RC -eq 3 ] &&
  has "$ERR" "max_creates_per_second must be a number"'

# 4 processes, 6 creates each, at most 4 a second (a burst of 4, then one every 250 ms).
echo '{"sandbox": {"fakeproc": {"max_creates_per_second": 4}}}' >"$CORRAL_CONFIG_DIR/corral.json"
for p in 1 2 3 4; do
  ( for i in 1 2 3 4 5 6; do C sandbox create --backend fakeproc --ttl 60 >/dev/null || echo fail; done ) >"$WORK/p$p" &
done
wait
# Creates are seen by the time the fake wrote each sandbox's labels file; in
# any window from the i-th to the j-th create, j-i+1 <= burst + rate x span
# (+1 for the clock's grain).
verdict=$(python3 - "$WORK/fp" <<'PY'
import glob, os, sys
ts = sorted(os.stat(f).st_mtime for f in glob.glob(sys.argv[1] + "/*/labels"))
worst = max(((j - i + 1) - (4 + 4 * (ts[j] - ts[i])) for i in range(len(ts)) for j in range(i, len(ts))), default=99)
print(len(ts), "ok" if worst <= 1 else "over by %.1f" % worst)
PY
)
check "24 creates from 4 processes, never more than the rate allows ($verdict)" eval \
  '[ "$verdict" = "24 ok" ] && ! grep -q fail "$WORK"/p?'
C gc >/dev/null

# 4 batches at once on the local backend, at most 2 sandboxes on the host.
if command -v bwrap >/dev/null; then
  echo '{"sandbox": {"local": {"max_concurrent": 2}}}' >"$CORRAL_CONFIG_DIR/corral.json"
  cp -r "$SOURCE_DIR/examples/tasks/hello" "$WORK/slow"
  printf '#!/bin/bash\nsleep 0.6\nprintf "Hello, world!\\n" > hello.txt\n' >"$WORK/slow/solution/solve.sh"
  for p in 1 2 3 4; do
    C run --task "$WORK/slow" --attempts 2 --concurrency 2 --agent oracle --out "$WORK/b$p.jsonl" &
  done
  peak=0
  while [ -n "$(jobs -r)" ]; do
    live=$(python3 -c '
import fcntl, glob, sys
n = 0
for p in glob.glob(sys.argv[1] + "/local.slot.*"):
    with open(p) as f:
        try: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); fcntl.flock(f, fcntl.LOCK_UN)
        except OSError: n += 1
print(n)' "$CORRAL_STATE_DIR/limits")
    [ "$live" -gt "$peak" ] && peak=$live
    sleep 0.05
  done
  wait
  check "4 batches of 2 at a time under max_concurrent 2: all 8 solved, 2 slots, at most 2 held at once (peak $peak)" eval \
    '[ "$(cat "$WORK"/b?.jsonl | jq -s "map(.reward) | add")" = 8 ] && [ "$peak" = 2 ] &&
     [ "$(ls "$CORRAL_STATE_DIR/limits" | grep -c "^local.slot.")" = 2 ]'
else
  echo "# bwrap missing: the max_concurrent batch is not run"
fi
finish
