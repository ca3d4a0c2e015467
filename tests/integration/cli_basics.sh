# The CLI's surface: version, help, usage errors and their exit codes.
. "$(dirname "$0")/lib.sh"

run "$CORRAL" --version
check "--version prints the version and the ABI" eval '[ $RC -eq 0 ] && has "$OUT" "corral 0.1.0 (plugin ABI 1.1)"'
run "$CORRAL" --help
check "--help lists commands and exit codes" eval '[ $RC -eq 0 ] && has "$OUT" "plugins" && has "$OUT" "Exit status:" && has "$OUT" "3  invalid configuration"'
run "$CORRAL"
check "no command is a usage error (2)" eval '[ $RC -eq 2 ]'
run "$CORRAL" frobnicate
check "an unknown command is a usage error naming it" eval '[ $RC -eq 2 ] && has "$ERR" "unknown command '"'"'frobnicate'"'"'"'
run "$CORRAL" --bogus plugins
check "an unknown global option is a usage error" eval '[ $RC -eq 2 ] && has "$ERR" "--bogus"'
for cmd in plugins "config check"; do
  run "$CORRAL" $cmd --help
  check "corral $cmd --help exits 0 and shows usage" eval '[ $RC -eq 0 ] && has "$OUT" "Usage: corral $cmd"'
done
run "$CORRAL" plugins --frob
check "a subcommand's unknown option is a usage error" eval '[ $RC -eq 2 ]'

# Every number on the command line is checked whole: no atoll() turning
# "abc" into 0, no wrap-around, no hex.
for bad in "--timeout abc" "--timeout -1" "--timeout 0" "--timeout 99999999999999999999" "--timeout 10s" \
           "--concurrency 0x10" "--concurrency 0" "--attempts 1e3" "--attempts ''"; do
  eval "set -- $bad"
  opt=$1 val=$2
  run "$CORRAL" run "$opt" "$val"
  check "corral run $bad is a usage error naming $opt" \
    eval '[ $RC -eq 2 ] && has "$ERR" "$opt wants a number from" && has "$ERR" "got '"'"'$val'"'"'"'
done
run "$CORRAL" run --timeout 600 --concurrency 16 --attempts 2
check "good numbers pass (the missing --task is what is refused)" \
  eval '[ $RC -eq 2 ] && has "$ERR" "--task DIR (or --dataset) and --agent NAME are required" && ! has "$ERR" "wants a"'
run "$CORRAL" gate serve --body-limit 1k
check "corral gate serve --body-limit 1k is a usage error naming it" eval '[ $RC -eq 2 ] && has "$ERR" "--body-limit wants"'
run "$CORRAL" gate serve --request-timeout nan
check "corral gate serve --request-timeout nan is a usage error naming it" eval '[ $RC -eq 2 ] && has "$ERR" "--request-timeout wants"'
run "$CORRAL" gate serve --listen ::1:8080
check "an unbracketed IPv6 --listen is refused" eval '[ $RC -eq 2 ] && has "$ERR" "--listen wants ADDR:PORT or [IPV6]:PORT"'
run "$CORRAL" sandbox create --memory 1G
check "corral sandbox create --memory 1G is a usage error naming it" eval '[ $RC -eq 2 ] && has "$ERR" "--memory wants a number from"'
run "$CORRAL" sandbox create --cpus ''
check "corral sandbox create --cpus '' is a usage error naming it" eval '[ $RC -eq 2 ] && has "$ERR" "--cpus wants a decimal number"'
finish
