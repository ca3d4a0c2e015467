# Issue 15 item 3: when corral runs as root, the sandbox's uid 0 is the
# host's, and the host's /etc is bound: root's private files (a 0600 file,
# a 0700 directory, dockerd's /etc/docker/key.json when present) must not be
# readable inside.  A 0644 file next to them is, as the control.
. "$(dirname "$0")/local_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the sandbox's uid 0 is the host's only then)"

P=/etc/corral-attack-$$
trap 'rm -rf "$P.key" "$P.pub" "$P.d" "$WORK"' EXIT
(umask 077; echo ROOT_SECRET_FILE >"$P.key"; mkdir "$P.d"; echo ROOT_SECRET_DIR >"$P.d/inner"; chmod 0644 "$P.d/inner")
echo PUBLIC_FILE >"$P.pub"; chmod 0644 "$P.pub"

run C sandbox create --backend local --ttl 300
ID=$OUT
run C sandbox exec "$ID" -- sh -c "id -u; cat $P.pub $P.key $P.d/inner /etc/docker/key.json 2>&1; true"
C sandbox rm "$ID" >/dev/null 2>&1
check "the sandbox runs as uid 0 and reads public files in /etc" eval 'has "$OUT" PUBLIC_FILE && [ "$(head -1 <<<"$OUT")" = 0 ]'
check "a 0600 root file in /etc is unreadable" lacks "$OUT" ROOT_SECRET_FILE
check "a file in a 0700 root directory in /etc is unreadable" lacks "$OUT" ROOT_SECRET_DIR
if [ -f /etc/docker/key.json ]; then
  check "dockerd's private key is unreadable" lacks "$OUT" '"d":'
fi
finish
