# Issue 15 item 1: a command in a local sandbox must not reach the caller's
# terminal.  `corral sandbox exec` runs on a pty the test owns (the user's
# interactive shell); inside, TIOCSTI on fds 0-2 and /dev/tty tries to type
# into it.  Every attempt must be refused and the shell must read nothing.
. "$(dirname "$0")/local_lib.sh"

run C sandbox create --backend local --ttl 300
ID=$OUT
check "create a local sandbox" eval '[ $RC -eq 0 ] && [ -n "$ID" ]'
run C sandbox cp "$HERE/tiocsti_attack.py" "$ID:/tmp/a.py"
check "copy the attack in" eval '[ $RC -eq 0 ]'

python3 "$HERE/pty_run.py" "$WORK/tty.out" "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" sandbox exec "$ID" -- python3 /tmp/a.py
OUT=$(tr -d '\r' <"$WORK/tty.out"); RC=0; ERR=
check "the attack ran" has "$OUT" "refused fd0"
check "TIOCSTI refused on fds 0-2 and /dev/tty" lacks "$OUT" "INJECTED"
check "the caller's shell read nothing" lacks "$OUT" "TYPED<"

# A job (spawn: what solve.sh and agents run as) the same way.
python3 "$HERE/pty_run.py" "$WORK/tty2.out" "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR" sandbox exec "$ID" -- sh -c 'python3 /tmp/a.py & wait'
OUT=$(tr -d '\r' <"$WORK/tty2.out")
check "a background child: TIOCSTI refused" eval 'has "$OUT" "refused fd0" && lacks "$OUT" "INJECTED" && lacks "$OUT" "TYPED<"'

C sandbox rm "$ID" >/dev/null 2>&1
finish
