# corral gc on the cloud backends, each against its fake: what outlived its
# corral.deadline is found by label and removed, what is still due is kept,
# what is not corral's is never touched.
#
# E2B kills a running sandbox at its timeout itself, but never a paused one
# (it stays, listed as "paused", until killed): gc must remove those.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
C() { "$CORRAL" -q "$@"; }
in_fake() { fake_live "$1" | grep -qF -- "$2"; }
# e2b_api METHOD PATH [JSON]: the fake's control plane, as another E2B user would call it.
e2b_api() {
  python3 - "$FAKE_E2B_URL$2" "$1" "${3:-}" <<'PY'
import sys, urllib.request as u
req = u.Request(sys.argv[1], sys.argv[3].encode() or None, method=sys.argv[2],
                headers={"X-API-Key": "e2b_fake_key", "Content-Type": "application/json"})
sys.stdout.write(u.urlopen(req, timeout=30).read().decode())
PY
}

# ---- e2b: paused past the deadline (removed), running past it (E2B's own
# timeout killed it: forgotten), due later (kept), and a paused sandbox
# that corral did not make (untouched).
run C sandbox create --backend e2b --ttl 3600
LONG=$OUT
run C sandbox create --backend e2b --ttl 3
PAUSED=$OUT
run C sandbox pause "$PAUSED"
check "e2b: a short-lived corral sandbox is paused" eval '[ $RC -eq 0 ] && [ -n "$PAUSED" ] && [ -n "$LONG" ]'
run C sandbox create --backend e2b --ttl 2
SHORT=$OUT
FOREIGN=$(e2b_api POST /sandboxes '{"templateID": "base", "timeout": 2, "metadata": {"owner": "someone-else"}}' |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])')
e2b_api POST "/sandboxes/$FOREIGN/pause" >/dev/null
sleep 5
check "e2b: E2B's own timeout killed the running one, not the paused ones" eval \
  '! in_fake e2b "$SHORT" && in_fake e2b "$PAUSED" && in_fake e2b "$FOREIGN"'
run C sandbox ls
check "e2b: ls shows the paused sandbox overdue" eval '[ $RC -eq 0 ] && grep -qE "^$PAUSED +e2b +paused +-" <<<"$OUT"'
# E2B keeps the labels (metadata) of a paused sandbox: gc finds it without
# this machine's registry, as a gc elsewhere (or after losing it) would.
rm -f "$CORRAL_STATE_DIR/sandboxes/$PAUSED.json"
run C gc --dry-run
check "e2b: gc --dry-run: would remove the paused one, forget the killed one, keep the live one" eval '[ $RC -eq 0 ] &&
  has "$OUT" "would rm $PAUSED e2b" && has "$OUT" "would forget $SHORT e2b" && has "$OUT" "keep     $LONG e2b"'
check "e2b: the dry run changed nothing" eval 'in_fake e2b "$PAUSED"'
run C gc
check "e2b: gc removes the paused sandbox past its deadline and reports it" eval '[ $RC -eq 0 ] &&
  has "$OUT" "removed  $PAUSED e2b" && has "$OUT" "forgot   $SHORT e2b" && ! in_fake e2b "$PAUSED" &&
  [ ! -e "$CORRAL_STATE_DIR/sandboxes/$SHORT.json" ]'
check "e2b: gc keeps what is still due and what is not corral's" eval 'in_fake e2b "$LONG" && in_fake e2b "$FOREIGN" &&
  lacks "$OUT" "$FOREIGN"'
run C sandbox exec "$LONG" -- echo alive
check "e2b: the kept sandbox still works" eval '[ $RC -eq 0 ] && [ "$OUT" = alive ]'
C sandbox rm "$LONG" >/dev/null
e2b_api DELETE "/sandboxes/$FOREIGN" >/dev/null

# ---- islo and hf: a sandbox past its deadline (paused where the backend
# can pause) is removed, the live one kept.  Islo keeps labels in a file
# inside, unreadable while paused: the registry's deadline decides.
for b in islo hf; do
  run C sandbox create --backend $b --ttl 3600
  LONG=$OUT
  run C sandbox create --backend $b --ttl 2
  OLD=$OUT
  [ $b = islo ] && C sandbox pause "$OLD" >/dev/null
  sleep 3
  run C gc
  check "$b: gc removes the sandbox past its deadline, keeps the live one" eval '[ $RC -eq 0 ] && [ -n "$OLD" ] &&
    has "$OUT" "removed  $OLD $b" && has "$OUT" "keep     $LONG $b" && ! in_fake $b "$OLD" && in_fake $b "$LONG"'
  C sandbox rm "$LONG" >/dev/null
  check "$b: nothing left" eval '[ "$(fake_live $b)" = "[]" ]'
done
# issue 22 item 11: a registry that cannot be written (a relative
# CORRAL_STATE_DIR) is refused before a remote sandbox exists
made() { get "$FAKE_E2B_URL/_fake/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["created_total"])'; }
BEFORE=$(made)
run env CORRAL_STATE_DIR=relative/state "$CORRAL" -q sandbox create --backend e2b --ttl 60
check "a relative CORRAL_STATE_DIR is refused before anything is created" eval '[ $RC -ne 0 ] &&
  has "$ERR" "not absolute" && [ "$(made)" = "$BEFORE" ]'
check "e2b: nothing corral made is left" eval '[ "$(fake_live e2b)" = "[]" ]'
finish
