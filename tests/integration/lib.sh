# Shared helpers for the integration scripts (sourced).
set -u
TESTS_RUN=0
TESTS_FAILED=0
WORK=$(mktemp -d /tmp/corral-it-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CORRAL_CONFIG_DIR="$WORK/etc" XDG_CONFIG_HOME="$WORK/xdg" HOME="$WORK/home"
mkdir -p "$CORRAL_CONFIG_DIR/conf.d" "$XDG_CONFIG_HOME" "$HOME"
unset CORRAL_PLUGIN_PATH

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR, status in $RC.
run() {
  "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
ok() { TESTS_RUN=$((TESTS_RUN + 1)); echo "ok - $*"; }
not_ok() { TESTS_RUN=$((TESTS_RUN + 1)); TESTS_FAILED=$((TESTS_FAILED + 1)); echo "not ok - $*"; echo "  rc=$RC"; echo "  stdout: ${OUT:0:2000}"; echo "  stderr: ${ERR:0:2000}"; }
# check DESCRIPTION TEST-EXPRESSION...
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
finish() { echo "$((TESTS_RUN - TESTS_FAILED)) passed, $TESTS_FAILED failed"; [ "$TESTS_FAILED" -eq 0 ]; }
# argv_scan_start PATTERN...: until argv_scan_stop, every /proc/*/cmdline
# that holds one of the fixed strings is appended to $WORK/hits.  Use
# patterns only a leak of ours can produce (not any "Bearer").
argv_scan_start() {
  printf '%s\n' "$@" >"$WORK/patterns"
  : >"$WORK/hits"
  touch "$WORK/scanning"
  ( while [ -e "$WORK/scanning" ]; do
      for f in /proc/[0-9]*/cmdline; do
        grep -qaFf "$WORK/patterns" "$f" 2>/dev/null && tr '\0' ' ' <"$f" >>"$WORK/hits" && echo >>"$WORK/hits"
      done
    done ) &
  ARGV_SCANNER=$!
}
argv_scan_stop() { rm -f "$WORK/scanning"; wait "$ARGV_SCANNER"; }

# rollout_backend local|docker SCRIPT: sets BACKEND and SB (the corral run
# arguments for it), defines gone ID (1 when that sandbox no longer exists),
# and skips (exit 77; a failure under CORRAL_REQUIRE_BACKENDS) when the
# backend cannot run here.
rollout_backend() {
  BACKEND=$1
  skip() { if [ -n "${CORRAL_REQUIRE_BACKENDS:-}" ]; then echo "not ok - $*"; exit 1; fi; echo "skipped: $*"; exit 77; }
  case $BACKEND in
    local) command -v bwrap >/dev/null || skip "bubblewrap is not installed"
           SB=(--sandbox local) ;;
    docker) docker info >/dev/null 2>&1 || skip "no docker daemon"
            IMAGE=${CORRAL_AGENT_IMAGE:-corral-test/bookworm:1}
            docker image inspect "$IMAGE" >/dev/null 2>&1 || skip "image $IMAGE missing (tests/docker/make-agent-image.sh)"
            SB=(--sandbox docker --image "$IMAGE") ;;
    *) echo "usage: $2 local|docker"; exit 2 ;;
  esac
}
gone() { if [ "$BACKEND" = docker ]; then [ -z "$(docker ps -aq --filter "name=^$1\$")" ]; else ! pgrep -f "$1" >/dev/null; fi; }

# replay_calls_check AGENT RESULT SCRIPT DIALECT [N:TEXT...]: one check that
# each tool call of the replay SCRIPT is in RESULT's transcript in the
# agent's dialect and normalized, and that its result reached the model in
# the next request (with N:TEXT, step N's result holds TEXT); see
# replay_calls.py.
replay_calls_check() {
  local agent=$1; shift
  run python3 "$SOURCE_DIR/tests/integration/replay_calls.py" "$@"
  check "$agent: every tool call of $(basename "$2") went out in its dialect and normalized, its result came back" eval '[ $RC -eq 0 ]'
}
# What the multi-step task's tool results must hold (replay_calls.py N:TEXT):
# the input file read in step 0, the fixed script's total in step 4.
MULTISTEP_RESULTS=(0:plum,2,4 4:19)
