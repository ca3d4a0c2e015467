# Issue 15 item 2: a key in the caller's session keyring must not be
# readable inside a local sandbox, and the keyring syscalls (add_key,
# request_key, keyctl) are refused there, as Docker's default seccomp
# profile does.
. "$(dirname "$0")/local_lib.sh"

# The key goes into the session keyring of the process that then runs
# corral, so the sandbox's creator and the exec both hold it.
C sandbox create --backend local --ttl 300 >"$WORK/id" && ID=$(cat "$WORK/id") && C sandbox cp "$HERE/keyring_attack.py" "$ID:/tmp/k.py"
run python3 "$HERE/keyring_attack.py" run sh -c '"$@" sandbox exec "$0" -- python3 /tmp/k.py probe "$KEY_SERIAL"' \
  "$ID" "$CORRAL" --plugin-dir "$CORRAL_BUILD_PLUGIN_DIR"
PROBE=$OUT
# The holder (bwrap's init and its sleep) could be ptraced by a command:
# it is under the same filter (and its own fresh keyring).
run C sandbox exec "$ID" -- sh -c 'grep -h "^Seccomp:" /proc/1/status /proc/2/status'
HOLDER=$OUT
C sandbox rm "$ID" >/dev/null 2>&1
check "the holder's processes are under the seccomp filter too" eval '[ "$(grep -c "^Seccomp:.2" <<<"$HOLDER")" = 2 ]'
OUT=$PROBE
check "the probe ran inside" eval '[ $RC -eq 0 ] && has "$OUT" "read host key:"'
check "the host's key is not readable inside" lacks "$OUT" "HOST_KEY_PAYLOAD_42"
check "keyctl is refused (EPERM)" eval 'grep -q "^read host key: -1 Operation not permitted" <<<"$OUT" && grep -q "^search session keyring: -1 Operation not permitted" <<<"$OUT"'
check "request_key is refused (EPERM)" eval 'grep -q "^request_key: -1 Operation not permitted" <<<"$OUT"'
check "add_key is refused (EPERM)" eval 'grep -q "^add_key inside: -1 Operation not permitted" <<<"$OUT"'
finish
