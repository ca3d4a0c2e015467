# Issue 22 item 7: corral's own files of a command (captured output, staged
# stdin and env, the e2b wrapper's process-group file) live in one
# corral-owned directory (/var/tmp/corral-exec, mode 0700), never in /tmp
# where the command sees them and a persist of /tmp archives them, and
# they are removed.  Usage: cloud_exec_files.sh e2b|islo|hf
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cloud_fakes.sh"
B=$1
C() { "$CORRAL" -q "$@"; }
run C sandbox create --backend $B --ttl 600
ID=$OUT
check "$B: created" eval '[ $RC -eq 0 ] && [ -n "$ID" ]'
export SECRET_VALUE=s3cr3t-value
run sh -c 'echo to-stdin | "$CORRAL" -q sandbox exec -i --env SECRET_VALUE --env PLAIN=1 "$0" -- sh -c \
  "cat; ls -a /tmp; echo dir: \$(stat -c %a /var/tmp/corral-exec)" ' "$ID"
check "$B: the command runs with stdin and env" eval '[ $RC -eq 0 ] && has "$OUT" to-stdin'
check "$B: a command listing /tmp sees no corral file" eval 'lacks "$OUT" corral'
check "$B: corral's files are in /var/tmp/corral-exec, mode 0700" eval 'has "$OUT" "dir: 700"'
run C sandbox exec "$ID" -- sh -c 'echo printed: $SECRET_VALUE >&2; ls -A /var/tmp/corral-exec'
check "$B: while a command runs, only its own output files are there (stdin and env gone)" eval '[ $RC -eq 0 ] &&
  ! grep -qvE "^(out|err|pg)-[0-9a-f]+$" <<<"$OUT"'
run C sandbox persist "$ID" /tmp "$WORK/tmp.tar"
check "$B: a persist of /tmp after the runs holds no corral file" eval '[ $RC -eq 0 ] &&
  ! tar tf "$WORK/tmp.tar" | grep -q corral'
run C sandbox exec "$ID" -- sh -c 'for f in /var/tmp/corral-exec/*; do cat "$f"; done; exit 0'
check "$B: the previous command's output (a printed secret) was removed" eval '[ $RC -eq 0 ] && lacks "$OUT" s3cr3t'
C sandbox rm "$ID" >/dev/null
finish
