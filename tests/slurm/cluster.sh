# A single-node Slurm cluster for the tests and benchmarks (sourced after
# tests/integration/lib.sh): slurm_cluster_start runs munged, slurmctld and
# slurmd in the foreground with a minimal slurm.conf under $WORK/slurm,
# exports SLURM_CONF, and stops them all on exit.  Needs root.
slurm_cluster_start() {
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
}
