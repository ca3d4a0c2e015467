# corral plugins / corral config check, as an operator uses them.
. "$(dirname "$0")/lib.sh"
MAIN="$TEST_PLUGIN_DIR/main"

run "$CORRAL" --plugin-dir "$MAIN" plugins
check "refused files: one stderr line each, with the reason" eval '[ $RC -eq 0 ] &&
  [ $(grep -c "refused plugin" <<<"$ERR") -eq 7 ] &&
  has "$ERR" "refused plugin $MAIN/sandbox_nosym.so: missing symbol corral_plugin_entry" &&
  has "$ERR" "refused plugin $MAIN/sandbox_abitwo.so: no acceptable ABI version"'
check "the rest load and are listed with version, ABI, status and path" eval '
  grep -qE "^sandbox +good +1\.2\.3 +1\.0 +loaded +$MAIN/sandbox_good\.so$" <<<"$OUT" &&
  grep -qE "^agent +good +1\.2\.3 +1\.0 +loaded" <<<"$OUT" &&
  grep -qE "^sandbox +newminor +1\.2\.3 +1\.9 +loaded" <<<"$OUT"'

# issue 22 item 11: the same directory named twice (and through a symlink)
# is searched once, not reported as every plugin's duplicate
ln -sfn "$MAIN" "$WORK/main-link"
run env CORRAL_PLUGIN_PATH="$MAIN:$WORK/main-link" "$CORRAL" --plugin-dir "$MAIN" plugins
check "a directory named twice is searched once" eval '[ $RC -eq 0 ] && ! has "$ERR" "duplicate name" &&
  [ $(grep -c "refused plugin" <<<"$ERR") -eq 7 ]'

run "$CORRAL" --plugin-dir "$MAIN" plugins --json
check "--json is valid JSON with status, reason and schema" eval '[ $RC -eq 0 ] &&
  python3 -c "
import json,sys
a=json.loads(sys.stdin.read())
g=[p for p in a if p[\"name\"]==\"good\" and p[\"kind\"]==\"sandbox\"][0]
assert g[\"status\"]==\"loaded\" and g[\"abi\"]==\"1.0\"
assert [o[\"name\"] for o in g[\"options\"]][:2]==[\"endpoint\",\"retries\"]
assert [o for o in g[\"options\"] if o[\"name\"]==\"api_key_env\"][0][\"secret_env\"] is True
r=[p for p in a if p[\"name\"]==\"declines\"][0]
assert r[\"status\"]==\"refused\" and \"declined\" in r[\"reason\"]
" <<<"$OUT"'

# A plugin disabled in conf.d shows as disabled and is never mapped.
echo '{"sandbox": {"good": {"enabled": false}}}' >"$CORRAL_CONFIG_DIR/conf.d/50-disable.json"
run env LD_DEBUG=files "$CORRAL" --plugin-dir "$MAIN" plugins
check "disabled in conf.d: listed as disabled" eval 'grep -qE "^sandbox +good +- +- +disabled" <<<"$OUT"'
check "disabled in conf.d: never dlopened (LD_DEBUG)" eval 'lacks "$ERR" "sandbox_good.so" && has "$ERR" "agent_good.so"'
rm "$CORRAL_CONFIG_DIR/conf.d/50-disable.json"

# CORRAL_PLUGIN_PATH finds plugins too.
run env CORRAL_PLUGIN_PATH="$MAIN" "$CORRAL" -q plugins
check "CORRAL_PLUGIN_PATH is searched" eval '[ $RC -eq 0 ] && grep -qE "^sandbox +good .* loaded" <<<"$OUT"'

# config check: valid, then invalid with file-naming messages.
echo '{"sandbox": {"good": {"retries": 5}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run "$CORRAL" -q --plugin-dir "$MAIN" config check
check "config check: valid config exits 0 and prints effective values" eval '[ $RC -eq 0 ] && has "$OUT" "\"retries\":	5" && has "$ERR" "configuration is valid"'
echo '{"sandbox": {"good": {"retrys": 5, "api_key_env": "sk-live-abcdef0123456789"}}}' >"$CORRAL_CONFIG_DIR/conf.d/10-bad.json"
run "$CORRAL" --plugin-dir "$MAIN" config check
check "config check: errors exit 3, name the file and list valid keys" eval '[ $RC -eq 3 ] &&
  has "$ERR" "$CORRAL_CONFIG_DIR/conf.d/10-bad.json: sandbox.good: unknown key '"'"'retrys'"'"' (valid keys: enabled, max_concurrent, max_creates_per_second, endpoint, retries" &&
  has "$ERR" "api_key_env must name an environment variable"'
check "config check: a secret written as a value is never echoed" eval 'lacks "$OUT$ERR" "sk-live"'
run "$CORRAL" --plugin-dir "$MAIN" config check --json
check "config check --json: ok=false with the errors" eval '[ $RC -eq 3 ] && python3 -c "
import json,sys; d=json.loads(sys.stdin.read()); assert d[\"ok\"] is False and len(d[\"errors\"])==2" <<<"$OUT"'
run "$CORRAL" --plugin-dir "$MAIN" plugins
check "plugins: the misconfigured plugin is refused, the command still lists" eval '[ $RC -eq 3 ] || grep -qE "^sandbox +good .*refused" <<<"$OUT"'
rm "$CORRAL_CONFIG_DIR/conf.d/10-bad.json"
echo '{"install_env": ["HTTPS_PROXY", "TEST_API_KEY"]}' >"$CORRAL_CONFIG_DIR/conf.d/20-install.json"
run "$CORRAL" --plugin-dir "$MAIN" config check
check "config check: install_env may not name a plugin's credential variable" eval '[ $RC -eq 3 ] &&
  has "$ERR" "install_env: TEST_API_KEY holds a credential corral uses itself" && lacks "$ERR" HTTPS_PROXY'
echo '{"install_env": ["HTTPS_PROXY"]}' >"$CORRAL_CONFIG_DIR/conf.d/20-install.json"
run "$CORRAL" -q --plugin-dir "$MAIN" config check --json
check "config check: install_env is shown by name" eval '[ $RC -eq 0 ] && python3 -c "
import json,sys; d=json.loads(sys.stdin.read()); assert d[\"effective\"][\"install_env\"] == [\"HTTPS_PROXY\"]" <<<"$OUT"'
rm "$CORRAL_CONFIG_DIR/conf.d/20-install.json"
run "$CORRAL" run --task /nonexistent --agent pi --install-env 'A=b'
check "run --install-env takes a name, not a value (exit 2)" eval '[ $RC -eq 2 ] && has "$ERR" "--install-env takes the NAME"'
run "$CORRAL" --config "$WORK/missing.json" config check
check "--config FILE that does not exist is an error" eval '[ $RC -eq 3 ] && has "$ERR" "missing.json: cannot read"'

# ABI 1.1 bound options: limits and REQUIRED are checked by the host and shown by --json.
ABI="$TEST_PLUGIN_DIR/abi"
echo '{"sandbox": {"abi11": {"retries": 11}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run "$CORRAL" --plugin-dir "$ABI" config check
check "config check: a bound option out of range and a missing required one name file and key (exit 3)" eval '
  [ $RC -eq 3 ] && has "$ERR" "$CORRAL_CONFIG_DIR/corral.json: sandbox.abi11.retries must be an integer from 1 to 10, not 11" &&
  has "$ERR" "$CORRAL_CONFIG_DIR/corral.json: sandbox.abi11.name is required but not set"'
echo '{"sandbox": {"abi11": {"name": "n"}}}' >"$CORRAL_CONFIG_DIR/corral.json"
run "$CORRAL" --plugin-dir "$ABI" plugins --json
check "--json shows a 1.1 plugin's limits and required options beside a 1.0 plugin" eval '[ $RC -eq 0 ] && python3 -c "
import json,sys
a={p[\"name\"]: p for p in json.loads(sys.stdin.read())}
assert a[\"abi10\"][\"status\"]==\"loaded\" and a[\"abi10\"][\"abi\"]==\"1.0\"
o={x[\"name\"]: x for x in a[\"abi11\"][\"options\"]}
assert a[\"abi11\"][\"status\"]==\"loaded\" and o[\"retries\"][\"min\"]==1 and o[\"retries\"][\"max\"]==10
assert o[\"name\"][\"required\"] is True and \"min\" not in o[\"verbose\"]
" <<<"$OUT"'
finish
