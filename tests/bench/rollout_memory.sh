#!/bin/bash
# Memory of corral per concurrent rollout (not a pass/fail test).
#
# N real Pi rollouts of examples/tasks/hello on the local sandbox, every
# one held in flight after its first model call (the replay's first answer
# is a tool call that sleeps), measured while all N agents sleep:
#   batch     one `corral run --attempts N --concurrency N` process
#   separate  N `corral run` processes at once (the baseline: one process
#             per rollout, as before batches existed)
# Counted as corral's: the corral process(es) and the gate relay in each
# sandbox (corral-forward).  Not counted: the agents (node), bubblewrap and
# the sandboxes' init.  The measure is Private_Dirty (smaps_rollup): heap,
# stacks, relocated library data, what exists once per process and rollout.
# Clean library text is left out: it is shared with the page cache and with
# every other process mapping the same libraries, so its PSS and
# Private_Clean swing with whatever else runs on the machine.
# Columns in kB: the total, the total over N, and the marginal cost of a
# rollout against the batch of 1 (batch rows).  The last column is the
# baseline's per-rollout memory over the batch's, in the same run.
#   usage: tests/bench/rollout_memory.sh [BUILD_DIR] [N ...]   (default N: 1 8 32)
# needs: bwrap, node/npm (Pi installs from npm on first use), ~150 MB RAM per agent
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
[ $# -gt 0 ] && shift
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1 8 32)
export CORRAL_PLUGIN_PATH="$build/plugins"
corral="$build/bin/corral"
work=$(mktemp -d /tmp/corral-bench-mem-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait; rm -rf "$work"; }
trap cleanup EXIT
HOLD=6029
cat >"$work/replay.jsonl" <<EOF
{"tool_calls": [{"name": "bash", "arguments": {"command": "sleep $HOLD"}}]}
{"content": "done"}
EOF
run_args=(run -q --task "$src/examples/tasks/hello" --agent pi --model "replay:$work/replay.jsonl" --timeout 900)

# kB of field $2 (Pss, Private_Dirty, ...) summed over pids $3...
sum_field() {
  local f=$1 total=0 p v; shift
  for p in "$@"; do
    v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo $total
}
# Wait until n agents sleep in their tool call; 0 on success.
wait_held() {
  local n=$1 i
  for i in $(seq 1200); do
    [ "$(pgrep -f "^sleep $HOLD\$" | wc -l)" -ge "$n" ] && return 0
    sleep 0.25
  done
  return 1
}
# measure MODE N PID...: one table line for the corral pids given (and
# every relay), the median of five samples a second apart.
measure() {
  local mode=$1 n=$2; shift 2
  local fwd all priv k marginal=-
  for k in 1 2 3 4 5; do
    mapfile -t fwd < <(pgrep -x corral-forward)
    all=("$@" "${fwd[@]}")
    sum_field Private_Dirty "${all[@]}"
    sleep 1
  done >"$work/samples"
  priv=$(sort -n "$work/samples" | awk 'NR == 3')
  if [ "$mode" = batch ]; then
    [ "$n" -eq 1 ] && echo "$priv" >"$work/one"
    [ "$n" -gt 1 ] && [ -s "$work/one" ] && marginal=$(( (priv - $(cat "$work/one")) / (n - 1) ))
  fi
  printf '%-9s %5d %10d %12d %10s %7d' "$mode" "$n" "$priv" $((priv / n)) "$marginal" "${#fwd[@]}"
  echo $((priv / n)) >"$work/last"
}
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
  for _ in $(seq 100); do pgrep -f "^sleep $HOLD\$" >/dev/null || break; sleep 0.2; done
}

# Warm the agent cache (first use installs Pi from npm) outside the timings.
"$corral" run -q --task "$src/examples/tasks/hello" --agent pi --model "replay:$src/examples/replay/hello.jsonl" \
  >/dev/null || { echo "rollout_memory: a Pi rollout failed; see corral run output" >&2; exit 1; }

printf '%-9s %5s %10s %12s %10s %7s %s\n' mode N dirty_kB dirty/rollout marginal relays "separate/batch"
for n in "${counts[@]}"; do
  "$corral" "${run_args[@]}" --attempts "$n" --concurrency "$n" --out "$work/batch.jsonl" 2>"$work/batch.err" &
  pids=($!)
  if ! wait_held "$n"; then echo "batch N=$n: agents never all in flight" >&2; cat "$work/batch.err" >&2; exit 1; fi
  measure batch "$n" "${pids[@]}"
  echo
  batch=$(cat "$work/last")
  stop_all

  for i in $(seq "$n"); do
    "$corral" "${run_args[@]}" --out "$work/sep$i.json" 2>"$work/sep$i.err" &
    pids+=($!)
  done
  if ! wait_held "$n"; then echo "separate N=$n: agents never all in flight" >&2; exit 1; fi
  measure separate "$n" "${pids[@]}"
  sep=$(cat "$work/last")
  awk -v a="$sep" -v b="$batch" 'BEGIN { printf "   %.2f\n", a / b }'
  stop_all
done
