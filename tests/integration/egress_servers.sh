# Two HTTP servers on loopback for the egress tests, each serving
# "hello from a|b" at /index.txt under its own name (a.test, b.test, given
# to the proxy by CORRAL_EGRESS_HOSTS).  Sourced after lib.sh; sets PA, PB.
# egress_servers_stop kills them (call it from the test's EXIT trap).
for s in a b; do
  mkdir -p "$WORK/www-$s"; echo "hello from $s" >"$WORK/www-$s/index.txt"
  python3 -m http.server --bind 127.0.0.1 0 --directory "$WORK/www-$s" >"$WORK/http-$s.log" 2>&1 &
  eval "PID_$s=$!"
done
egress_servers_stop() { kill "$PID_a" "$PID_b" 2>/dev/null; }
port_of() { for _ in $(seq 100); do p=$(grep -o 'port [0-9]*' "$WORK/http-$1.log" | grep -o '[0-9]*'); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; }
PA=$(port_of a) PB=$(port_of b)
export CORRAL_EGRESS_HOSTS="a.test=127.0.0.1,b.test=127.0.0.1"
