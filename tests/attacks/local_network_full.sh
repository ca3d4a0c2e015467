# Issue 15 item 5: network "full" is a namespace of its own with outbound
# access only: the host's loopback listeners, its abstract unix sockets and
# the gateway address (pasta maps it to the host unless --no-map-gw) are
# out of reach.  (Outbound to a non-loopback address cannot be tested here:
# the test machines have no network.)  The operator's host_network option
# gives the host's namespace back, as the control.
. "$(dirname "$0")/local_lib.sh"
command -v pasta >/dev/null || skip "pasta is not installed (Debian package passt)"

python3 "$HERE/net_probe.py" listen "$WORK" &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/name" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port") NAME=$(cat "$WORK/name")

probe() {
  run C sandbox create --backend local --network full --ttl 300
  local id=$OUT
  [ $RC -eq 0 ] || return
  C sandbox cp "$HERE/net_probe.py" "$id:/tmp/p.py" >/dev/null
  run C sandbox exec "$id" -- python3 /tmp/p.py probe "$PORT" "$NAME"
  C sandbox rm "$id" >/dev/null 2>&1
}
probe
check "full network: the probe ran" has "$OUT" "host loopback tcp"
check "full network: the host's 127.0.0.1 listener is unreachable" lacks "$OUT" "REACHED host loopback"
check "full network: the host's abstract unix socket is unreachable" lacks "$OUT" "REACHED host abstract"
check "full network: the gateway is not the host's loopback" lacks "$OUT" "REACHED gateway"
check "full network: the sandbox has a route out (pasta's interface)" has "$OUT" "gateway "

echo "{\"sandbox\": {\"local\": {\"state_dir\": \"$WORK/lstate\", \"host_network\": true}}}" >"$LOCAL_CONF"
probe
check "control: with the operator's host_network the host's listener is reached" has "$OUT" "REACHED host loopback tcp"
finish
