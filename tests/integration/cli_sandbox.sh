# corral sandbox ... and corral gc as a user runs them, on the fakeproc test double.
. "$(dirname "$0")/lib.sh"
[ -f "$FAKE_PLUGIN_DIR/sandbox_fakeproc.so" ] || { echo "fakeproc plugin not built: skipped"; exit 77; }
export CORRAL_STATE_DIR="$WORK/state" FAKEPROC_ROOT="$WORK/fake"
C() { "$CORRAL" --plugin-dir "$FAKE_PLUGIN_DIR" "$@"; }

for sub in create exec cp persist hydrate ls pause resume rm; do
  run C sandbox $sub --help
  check "sandbox $sub --help exits 0 with usage" eval '[ $RC -eq 0 ] && has "$OUT" "Usage: corral sandbox $sub"'
done
run C gc --help
check "gc --help" eval '[ $RC -eq 0 ] && has "$OUT" "--dry-run"'
run C sandbox exec --help
check "exec --help recommends --env NAME for secrets" eval 'has "$OUT" "secrets" && has "$OUT" "124" && has "$OUT" "125"'

run C sandbox create --backend fakeproc --ttl 600 --label team=it --env PLAIN=1
ID=$OUT
check "create prints an id" eval '[ $RC -eq 0 ] && [[ "$ID" =~ ^fakeproc-[0-9a-f]{16}$ ]]'
check "the registry has it, mode 0600, no env values" eval '[ "$(stat -c %a "$CORRAL_STATE_DIR/sandboxes/$ID.json")" = 600 ] && ! grep -q PLAIN "$CORRAL_STATE_DIR/sandboxes/$ID.json"'
run C sandbox create --backend fakeproc --label 'corral.owner=me'
check "reserved labels are refused" eval '[ $RC -eq 2 ] && has "$ERR" "corral."'
run C sandbox create --backend fakeproc --label 'k=a b'
check "bad label values are refused" eval '[ $RC -eq 2 ]'
run C sandbox create --backend fakeproc --env '1X=2'
check "bad env names are refused" eval '[ $RC -eq 2 ] && has "$ERR" "1X"'
run C sandbox create --backend nosuch
check "an unknown backend exits 4" eval '[ $RC -eq 4 ] && has "$ERR" "nosuch"'
run C sandbox create
check "--backend is required" eval '[ $RC -eq 2 ]'

run C sandbox exec "$ID" -- sh -c 'echo out; echo err >&2; exit 42'
check "exec streams stdout/stderr and exits with the command's status" eval '[ $RC -eq 42 ] && [ "$OUT" = out ] && [ "$ERR" = err ]'
run C sandbox exec --timeout 1 "$ID" -- sh -c 'sleep 30'
check "exec --timeout exits 124" eval '[ $RC -eq 124 ] && has "$ERR" "timed out"'
run C sandbox exec "$ID" -- sh -c 'kill -9 $$'
check "death by signal is 128+N" eval '[ $RC -eq 137 ]'
run C sandbox exec --shell "$ID" -- 'echo a | tr a b;' 'exit 5'
check "--shell joins words for /bin/sh -c" eval '[ $RC -eq 5 ] && [ "$OUT" = b ]'
run C sandbox exec "$ID" -- printenv PLAIN
check "create --env reaches every exec" eval '[ "$OUT" = 1 ]'
export IT_SECRET='hunter2-$(id)-'"'"'q'
C sandbox exec --env IT_SECRET "$ID" -- sh -c 'sleep 1; printf %s "$IT_SECRET"' >"$WORK/secret.out" 2>&1 &
PID=$!
sleep 0.5
LEAK=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' | grep -c 'hunte[r]2')
wait $PID
check "--env NAME passes the value verbatim and never through any argv" eval '[ "$(cat "$WORK/secret.out")" = "$IT_SECRET" ] && [ "$LEAK" = 0 ]'
run C sandbox exec --env UNSET_VAR_XYZ "$ID" -- true
check "--env NAME of an unset variable is an error" eval '[ $RC -eq 125 ] && has "$ERR" UNSET_VAR_XYZ'
run sh -c "printf 'in put' | \"$CORRAL\" --plugin-dir \"$FAKE_PLUGIN_DIR\" sandbox exec -i $ID -- cat"
check "exec -i feeds stdin" eval '[ "$OUT" = "in put" ]'
run C sandbox exec fakeproc-0000000000000000 -- true
check "unknown id: 125 and a clear message" eval '[ $RC -eq 125 ] && has "$ERR" "no sandbox fakeproc-0000000000000000"'
run C sandbox exec "$ID" true
check "a command without -- is a usage error" eval '[ $RC -eq 125 ] && has "$ERR" "--"'

WS="$FAKEPROC_ROOT/$ID/ws"
printf 'hello\0world' > "$WORK/in.bin"; chmod 750 "$WORK/in.bin"
run C sandbox cp "$WORK/in.bin" "$ID:$WS/deep/er/in.bin"
check "cp host->sandbox creates parents and keeps the mode" eval '[ $RC -eq 0 ] && cmp -s "$WORK/in.bin" "$WS/deep/er/in.bin" && [ "$(stat -c %a "$WS/deep/er/in.bin")" = 750 ]'
mkdir -p "$WORK/outdir"
run C sandbox cp "$ID:$WS/deep/er/in.bin" "$WORK/outdir"
check "cp sandbox->host into a directory" eval '[ $RC -eq 0 ] && cmp -s "$WORK/in.bin" "$WORK/outdir/in.bin"'
run C sandbox cp "$ID:$WS/nope" "$WORK/nope"
check "cp of a missing file fails and leaves nothing" eval '[ $RC -eq 1 ] && [ ! -e "$WORK/nope" ] && has "$ERR" "no file"'
run C sandbox cp "$WORK/in.bin" "$WORK/x"
check "cp needs one ID: side" eval '[ $RC -eq 2 ]'

ln -s deep/er/in.bin "$WS/link"; : > "$WS/empty"
for ext in tar.gz tar.zst tar d; do
  run C sandbox persist "$ID" "$WS" "$WORK/ws.$ext"
  check "persist to .$ext" eval '[ $RC -eq 0 ] && [ -e "$WORK/ws.$ext" ]'
  run C sandbox hydrate "$ID" "$WORK/ws.$ext" "$WS/../back-$ext"
  check "hydrate from .$ext restores files, empties and links" eval '[ $RC -eq 0 ] && cmp -s "$WORK/in.bin" "$WS/../back-$ext/deep/er/in.bin" && [ "$(readlink "$WS/../back-$ext/link")" = deep/er/in.bin ] && [ -f "$WS/../back-$ext/empty" ]'
done
check "persist .tar.gz is gzip" eval '[ "$(head -c2 "$WORK/ws.tar.gz" | od -An -tx1 | tr -d " ")" = 1f8b ]'
python3 - "$WORK/evil.tar" <<'PY' 2>/dev/null || tar -cf "$WORK/evil.tar" -P /etc/hostname
import sys, tarfile, io
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../../escape"); d = b"x"; i.size = 1; t.addfile(i, io.BytesIO(d))
PY
run C sandbox hydrate "$ID" "$WORK/evil.tar" "$WS/evil"
check "hydrate refuses an archive that escapes" eval '[ $RC -eq 1 ] && [ ! -e "$FAKEPROC_ROOT/escape" ] && [ ! -e "$FAKEPROC_ROOT/$ID/escape" ]'

run C sandbox ls
check "ls shows the sandbox with owner and deadline" eval '[ $RC -eq 0 ] && has "$OUT" "$ID" && has "$OUT" "DEADLINE"'
run C sandbox ls --json
check "ls --json" eval '[ $RC -eq 0 ] && python3 -c "import json,sys; d=json.load(sys.stdin); assert any(x[\"id\"]==\"$ID\" and x[\"registered\"] for x in d)" <<<"$OUT"'
run C sandbox pause "$ID"
check "pause on a backend without it: 1, names the backend" eval '[ $RC -eq 1 ] && has "$ERR" "fakeproc sandbox backend does not offer pause"'

run C sandbox create --backend fakeproc --ttl 1 --rollout r1
OLD=$OUT
sleep 2.2
run C gc --dry-run
check "gc --dry-run reports the expired one and keeps the live one" eval '[ $RC -eq 0 ] && has "$OUT" "would rm $OLD" && has "$OUT" "keep     $ID"'
check "dry run removed nothing" eval '[ -d "$FAKEPROC_ROOT/$OLD" ]'
run C gc
check "gc removes the expired sandbox only" eval '[ $RC -eq 0 ] && has "$OUT" "removed  $OLD" && [ ! -d "$FAKEPROC_ROOT/$OLD" ] && [ ! -e "$CORRAL_STATE_DIR/sandboxes/$OLD.json" ] && [ -d "$FAKEPROC_ROOT/$ID" ]'
# a registry entry whose sandbox vanished behind corral's back is forgotten
run C sandbox create --backend fakeproc
GONE=$OUT; rm -rf "$FAKEPROC_ROOT/$GONE"
run C gc
check "gc forgets registry entries of vanished sandboxes" eval 'has "$OUT" "forgot   $GONE" && [ ! -e "$CORRAL_STATE_DIR/sandboxes/$GONE.json" ]'

run "$CORRAL" sandbox rm "$ID"
check "rm when the backend is not loaded: 4, entry kept" eval '[ $RC -eq 4 ] && has "$ERR" "not loaded" && [ -e "$CORRAL_STATE_DIR/sandboxes/$ID.json" ]'
run C sandbox create --backend fakeproc
VANISHED=$OUT; rm -rf "$FAKEPROC_ROOT/$VANISHED"
run C sandbox rm "$VANISHED"
check "rm of a sandbox the backend lost: already gone, entry dropped" eval '[ $RC -eq 0 ] && has "$OUT" "already gone" && [ ! -e "$CORRAL_STATE_DIR/sandboxes/$VANISHED.json" ]'
run C sandbox rm "$ID" fakeproc-0000000000000001
check "rm removes known ids and reports unknown ones" eval '[ $RC -eq 1 ] && has "$OUT" "$ID removed" && has "$ERR" "fakeproc-0000000000000001" && [ ! -d "$FAKEPROC_ROOT/$ID" ]'
run C sandbox rm notanid
check "rm of a malformed id is a usage error" eval '[ $RC -eq 2 ]'
finish
