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
finish
