#!/bin/bash
# Issue 15 item 12 through a batch: one agent holding thousands of
# connections that never send a byte must not starve another rollout of
# the same batch.  On the batch's shared socket such connections could not
# be told apart, and 2200 of them filled its 2048 for every rollout: the
# victim's agent got no answer within its 20 s.  Now each sandbox gets a
# socket of its rollout's own, capped from accept (limits.socket_connections).
# The hog is its task's setup (perl, in the host's /usr and in the image):
# it holds 2200 connections for 50 s, reopening what is closed; the victim
# (pi, replay) waits 8 s for the hog to be in place, then must finish.
#   gate_starve_socket.sh local|docker
. "$(dirname "$0")/../integration/lib.sh"
export CORRAL_PLUGIN_PATH="$CORRAL_BUILD_PLUGIN_DIR"
rollout_backend "${1:-local}" gate_starve_socket.sh
EX="$SOURCE_DIR/examples"
# No idle-timeout relief during the run: the hog would only have to reopen.
echo '{"limits": {"idle_timeout_s": 300}}' >"$CORRAL_CONFIG_DIR/corral.json"

# task DIR SETUP AGENT_S: the hello task with a setup command
task() {
  cp -r "$EX/tasks/hello" "$1"
  python3 -c 'import json, sys
json.dump({"workdir": "/workspace", "setup": [sys.argv[2]],
           "timeouts": {"setup_s": 90, "agent_s": int(sys.argv[3]), "verify_s": 60}}, open(sys.argv[1], "w"))' \
    "$1/task.json" "$2" "$3"
}
HOG='ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec perl -MSocket -MFcntl -e '"'"'
my $path = "/run/corral-gate/gate.sock";
sub open_one {
  socket(my $fh, PF_UNIX, SOCK_STREAM, 0) or return;
  fcntl($fh, F_SETFL, O_NONBLOCK);
  return connect($fh, pack_sockaddr_un($path)) ? $fh : undef;
}
exit 0 unless -S $path;    # the verifier sandbox has no gate
my (@held, $most);
my $end = time + 50;
while (time < $end) {
  @held = grep { my $b = ""; my $r = recv($_, $b, 1, MSG_PEEK | MSG_DONTWAIT); !defined($r) || length($b) } @held;
  while (@held < 2200) { my $fh = open_one() or last; push @held, $fh; }
  $most = @held if @held > ($most // 0);
  sleep 1;
}
print "HOG_HELD=$most\n";
'"'"''
task "$WORK/hog" "$HOG" 120
task "$WORK/victim" "sleep 8" 20

run "$CORRAL" run "${SB[@]}" --task "$WORK/hog" --task "$WORK/victim" --concurrency 2 --agent pi \
  --model "replay:$EX/replay/hello.jsonl" --out "$WORK/r.jsonl"
check "$BACKEND: the batch ran" [ "$RC" -eq 0 ]
run python3 - "$WORK/r.jsonl" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {("victim" if "victim" in json.dumps(r.get("task", "")) else "hog"): r for r in rs}
hog, victim = by.get("hog"), by.get("victim")
setup = (hog or {}).get("setup") or [{}]
print("hog:", (setup[0].get("stdout") or "").strip()[-200:], "reward:", (hog or {}).get("reward"))
calls = [e.get("status") for e in (victim or {}).get("transcript") or []]
print("victim: reward", (victim or {}).get("reward"), "calls", calls, "error", (victim or {}).get("error"))
held = int((setup[0].get("stdout") or "HOG_HELD=0").split("HOG_HELD=")[-1].split()[0] or 0)
if held >= 2100:
    print("HOG_IN_PLACE")
if victim and victim.get("reward") == 1 and calls and all(s == 200 for s in calls):
    print("VICTIM_SERVED")
PY
check "$BACKEND: its results were read ($OUT)" [ "$RC" -eq 0 ]
check "$BACKEND: the hog held its 2200 connections" has "$OUT" HOG_IN_PLACE
check "$BACKEND: the other rollout's agent was served meanwhile" has "$OUT" VICTIM_SERVED
finish
