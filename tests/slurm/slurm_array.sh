# A corral batch on a real single-node Slurm cluster (slurm-wlm with munge,
# started here in the foreground with a minimal slurm.conf in a temp dir):
# packaging/slurm/corral-array.sbatch as a 4-task array over oracle tasks x
# attempts on the local backend gives what one `corral run` gives (`corral
# report`: same pairs, rewards, no duplicates).  Then an array task
# SIGKILLed and one cancelled (scancel) mid-run:
# submitting the array again completes the batch, no finished pair runs
# twice, and `corral gc` leaves nothing.  Needs root (slurmd runs the jobs).
. "$SOURCE_DIR/tests/integration/lib.sh"
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "slurmd needs root"
for b in munged slurmctld slurmd sbatch scancel squeue bwrap jq python3; do
  command -v "$b" >/dev/null || skip "$b is not installed"
done
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR" CORRAL_STATE_DIR="$WORK/state"
# Only the local backend: `corral gc` must not see other runs' sandboxes.
echo '{"sandbox": {"docker": {"enabled": false}, "e2b": {"enabled": false}, "islo": {"enabled": false},
  "hf": {"enabled": false}}}' >"$CORRAL_CONFIG_DIR/corral.json"
S="$WORK/slurm"
mkdir -p "$S/munge" "$S/state" "$S/spool" && chmod 700 "$S/munge"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# munge with its own key and socket.
head -c 1024 /dev/urandom >"$S/munge/key" && chmod 600 "$S/munge/key"
munged -F -f --socket="$S/munge/sock" --key-file="$S/munge/key" --pid-file="$S/munge/pid" \
  --log-file="$S/munge/log" --seed-file="$S/munge/seed" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$S/munge/sock" ] && break; sleep 0.1; done
read -r P1 P2 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
NODE=$(hostname -s)
cat >"$S/slurm.conf" <<CONF
ClusterName=corraltest
SlurmctldHost=$NODE(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$P1
SlurmdPort=$P2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
KillWait=30
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$S/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >"$S/ctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$S/d.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -qx idle && break; sleep 0.2; done
check "the one-node cluster is up" eval 'sinfo -h -o %t | grep -qx idle' || { tail -20 "$S"/*.log "$S"/*.out; finish; exit 1; }

EX="$SOURCE_DIR/examples"
slow_task() {
  cp -r "$EX/tasks/hello" "$WORK/$1"
  printf '#!/bin/bash\nsleep %s\nprintf "Hello, world!\\n" > hello.txt\n' "$2" >"$WORK/$1/solution/solve.sh"
}
slow_task a 1
slow_task b 1.5
slow_task c 2
TASKS=("$WORK/a" "$WORK/b" "$WORK/c")
export CORRAL CORRAL_ATTEMPTS=4 CORRAL_AGENT=oracle
SB="$SOURCE_DIR/packaging/slurm/corral-array.sbatch"
pairs() { jq -c -s 'map([.task_digest, .attempt, .reward, .error]) | sort' "$@"; }
summary() { "$CORRAL" report --json "$@" | jq -c 'del(.inputs, .duplicates, .timings_ms)'; }

run "$CORRAL" -q run --task "${TASKS[0]}" --task "${TASKS[1]}" --task "${TASKS[2]}" --attempts 4 --concurrency 2 \
  --agent oracle --out "$WORK/one.jsonl"
check "one process: 12 results" eval '[ $RC -eq 0 ] && [ "$(wc -l <"$WORK/one.jsonl")" = 12 ]'

run sbatch --wait --array=0-3 -o "$WORK/arr-%a.log" "$SB" "$WORK/arr.jsonl" "${TASKS[@]}"
check "sbatch --array=0-3 of corral-array.sbatch: every array task ends 0" eval '[ $RC -eq 0 ]'
check "the shards' shared results equal the single run: same pairs and rewards, no duplicates" eval \
  '[ "$(pairs "$WORK/arr.jsonl")" = "$(pairs "$WORK/one.jsonl")" ] && [ "$(wc -l <"$WORK/arr.jsonl")" = 12 ] &&
   [ "$(summary "$WORK/arr.jsonl")" = "$(summary "$WORK/one.jsonl")" ]'
check "each array task said which shard it ran" eval 'grep -q "shard 3 of 4 (counted from 0; from SLURM_ARRAY_TASK_ID=3" "$WORK/arr-3.log"'

# Kill one array task's corral (SIGKILL: it cleans nothing up), cancel another, mid-run; then submit
# again.  The recipe runs $CORRAL: a wrapper that says the pid it execs as.
printf '#!/bin/bash\necho $$ >"%s/pid-$SLURM_ARRAY_TASK_ID"\nexec "%s" "$@"\n' "$WORK" "$CORRAL" >"$WORK/corral"
chmod +x "$WORK/corral"
JOB=$(CORRAL="$WORK/corral" sbatch --parsable --array=0-3 -o "$WORK/k1-%a.log" "$SB" "$WORK/k.jsonl" "${TASKS[@]}")
# (each shard's first rollout runs a second or more: both are caught in it)
for _ in $(seq 600); do grep -qs "\[create\]" "$WORK/k1-1.log" && grep -qs "\[create\]" "$WORK/k1-2.log" && break; sleep 0.05; done
kill -KILL "$(cat "$WORK/pid-1")"
scancel "${JOB}_2"
for _ in $(seq 600); do [ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break; sleep 0.1; done
first=$(jq -c -s '[.[] | select(.error == null) | [.task_digest, .attempt, .rollout_id]]' "$WORK/k.jsonl")
check "the killed array task ended mid-run, the cancelled one cancelled its rollout" eval \
  'grep -q "\[create\]" "$WORK/k1-1.log" && ! grep -q "rollouts: " "$WORK/k1-1.log" &&
   grep -q "error: cancelled" "$WORK/k1-2.log" &&
   [ "$(jq -c -s "[.[] | select(.error == null)] | length" "$WORK/k.jsonl")" -lt 12 ]'
run sbatch --wait --array=0-3 -o "$WORK/k2-%a.log" "$SB" "$WORK/k.jsonl" "${TASKS[@]}"
check "submitted again: every array task ends 0 and the batch equals the single run" eval '[ $RC -eq 0 ] &&
  [ "$(summary "$WORK/k.jsonl")" = "$(summary "$WORK/one.jsonl")" ]'
check "no pair finished twice, and the results that had finished are kept" eval \
  '[ "$(jq -c -s "[.[] | select(.error == null) | [.task_digest, .attempt]] | (length == (unique | length)) and length == 12" "$WORK/k.jsonl")" = true ] &&
   [ "$(jq -c -s --argjson f "$first" "[.[] | select(.error == null) | [.task_digest, .attempt, .rollout_id]] as \$all | \$f - \$all | length" "$WORK/k.jsonl")" = 0 ]'
run "$CORRAL" gc
check "corral gc removes at most what the SIGKILL left, without a failure" eval '[ $RC -eq 0 ] && lacks "$OUT" "failed"'
run "$CORRAL" gc --dry-run
check "corral gc leaves nothing behind" eval '[ $RC -eq 0 ] && lacks "$OUT" "remove" && lacks "$OUT" "keep" && lacks "$OUT" "failed"'
finish
