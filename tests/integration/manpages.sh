# The man pages against the program they describe.  Fails, naming what is
# missing, when:
#  - a command `corral --help` lists has no ".SS \"corral CMD ...\"" section in
#    corral(1), or a section describes a command that no longer exists;
#  - an option shown by `corral CMD --help` (or `corral CMD SUB --help` for the
#    sub-commands its usage lines name) is not in that command's section;
#  - a global option, exit status or environment variable of `corral --help`
#    or any command's help is missing from corral(1);
#  - a top-level configuration key of core/src/config/config.c is not under
#    TOP-LEVEL KEYS in corral.conf(5), or a plugin built in this tree has no
#    section there;
#  - the corral.conf(5) generator mis-renders a known schema (test plugins);
#  - man(1) reports warnings for any page (what lintian checks).
. "$(dirname "$0")/lib.sh"
MAN1="$SOURCE_DIR/packaging/man/corral.1"
MAN7="$SOURCE_DIR/packaging/man/corral-plugin.7"
MAN5="$BUILD_DIR/packaging/man/corral.conf.5"

# Roff source to plain text good enough for matching: font escapes dropped,
# \- and friends turned back into the characters they print.
plain() {
  sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/\\&//g' "$@"
}
# section FILE REGEX: the plain text of every .SS/.SH whose title matches
# REGEX (extended), up to the next .SS or .SH.
section() {
  plain "$1" | awk -v re="$2" '/^\.S[SH] /{ t=$0; sub(/^\.S[SH] +/, "", t); gsub(/"/, "", t); on = (t ~ re) } on'
}
has_word() { grep -qE -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|\$)" <<<"$1"; }
# Options a help text mentions: -x and --long-name tokens.
options_of() { grep -oE -- '(^|[] ,[(|])--?[A-Za-z][A-Za-z0-9-]*' <<<"$1" | sed -E 's/^[] ,[(|]//' | sort -u; }
# Sub-commands a command's help names: in "Usage: corral CMD SUB" lines, and
# in a "Commands..." block (first word of each line, and a word after " / ",
# as in "pause ID / resume ID").
subs_of() {
  { sed -nE "s/^Usage: corral $1 ([a-z][a-z0-9-]*).*/\\1/p" <<<"$2"
    awk '/^(Sub)?[Cc]ommands/{on=1; next} on && /^$/{exit} on && /^  +[a-z]/ {
           sub(/^ +/, ""); split($0, col, /   */); n = split(col[1], w, " ")
           print w[1]; for (i = 2; i < n; i++) if (w[i] == "/") print w[i + 1] }' <<<"$2"
  } | grep -E '^[a-z][a-z0-9-]*$' | grep -vx COMMAND | sort -u
}

for f in "$MAN1" "$MAN5" "$MAN7"; do
  check "$(basename "$f") exists" test -s "$f"
done

run "$CORRAL" --version
VERSION=$(sed -nE 's/^corral ([0-9][^ ]*).*/\1/p' <<<"$OUT")
for f in "$MAN1" "$MAN5" "$MAN7" "$SOURCE_DIR/packaging/man/corral-conformance.1"; do
  check "$(basename "$f") is the page of corral $VERSION (.TH)" grep -qE "^\.TH .*\"corral $VERSION\"" "$f"
done

run "$CORRAL" --help
TOP=$OUT
COMMANDS=$(awk '/^Commands:/{on=1; next} on && /^$/{exit} on {print $1}' <<<"$TOP")
check "corral --help lists commands" test -n "$COMMANDS"

# Sections describe existing commands only.
DOCUMENTED=$(plain "$MAN1" | sed -nE 's/^\.SS +"?corral ([a-z][a-z0-9-]*).*/\1/p' | sort -u)
for d in $DOCUMENTED; do
  check "corral(1) documents '$d', which corral --help lists" grep -qx -- "$d" <<<"$COMMANDS"
done

ALL_HELP=$TOP
for cmd in $COMMANDS; do
  SEC=$(section "$MAN1" "^corral $cmd( |\$)")
  if [ -z "$SEC" ]; then
    RC=-; OUT=; ERR="add a section '.SS \"corral $cmd ...\"' to packaging/man/corral.1"
    not_ok "corral(1) has a section for command '$cmd'"
    continue
  fi
  ok "corral(1) has a section for command '$cmd'"
  run "$CORRAL" $cmd --help
  HELPS=("$OUT")
  for sub in $(subs_of "$cmd" "$OUT"); do
    run "$CORRAL" $cmd $sub --help
    HELPS+=("$OUT")
  done
  for h in "${HELPS[@]}"; do
    ALL_HELP+=$'\n'"$h"
    for opt in $(options_of "$h"); do
      if has_word "$SEC" "$opt"; then ok "corral(1) 'corral $cmd' documents $opt"
      else RC=-; OUT=; ERR="'corral $cmd' help shows $opt; its section in packaging/man/corral.1 does not"
           not_ok "corral(1) 'corral $cmd' documents $opt"; fi
    done
  done
done

GLOBAL=$(awk '/^Global options:/{on=1; next} on && /^$/{exit} on' <<<"$TOP")
GSEC=$(section "$MAN1" "^GLOBAL OPTIONS")
for opt in $(options_of "$GLOBAL"); do
  check "corral(1) GLOBAL OPTIONS documents $opt" has_word "$GSEC" "$opt"
done
ESEC=$(section "$MAN1" "^EXIT STATUS")
for code in $(awk '/^Exit status:/{on=1; next} on && /^$/{exit} on {print $1}' <<<"$TOP"); do
  check "corral(1) EXIT STATUS documents $code" grep -qx "\.B $code" <<<"$ESEC"
done
VSEC=$(section "$MAN1" "^ENVIRONMENT")
for v in $(grep -oE '\$[A-Z][A-Z0-9_]+' <<<"$ALL_HELP" | tr -d '$' | sort -u); do
  check "corral(1) ENVIRONMENT documents $v" has_word "$VSEC" "$v"
done

# corral.conf(5): the core's keys, as core/src/config/config.c declares them.
KEYS=$(awk '/core_keys\[\] = \{/{on=1; next} on && /^\};/{exit} on' "$SOURCE_DIR/core/src/config/config.c" |
       sed -nE 's/^ *\{"([a-z_]+)",.*/\1/p')
check "core/src/config/config.c declares top-level keys" test -n "$KEYS"
KSEC=$(section "$MAN5" "^TOP-LEVEL KEYS")
for k in $KEYS; do
  check "corral.conf(5) TOP-LEVEL KEYS documents '$k'" grep -qx "\.B $k" <<<"$KSEC"
done
# ... and a section per plugin built here.
for so in "$CORRAL_BUILD_PLUGIN_DIR"/sandbox_*.so "$CORRAL_BUILD_PLUGIN_DIR"/agent_*.so; do
  [ -e "$so" ] || continue
  b=$(basename "$so" .so); kind=${b%%_*}; name=${b#*_}
  check "corral.conf(5) has a section for $kind.$name" grep -qx "\.SS \"$kind\.$name\"" "$MAN5"
done

# The generator, on plugins whose schema this test knows (tests/unit/plugins).
GEN="$WORK/gen.5"
printf '.TH X 5\n.SH PLUGINS\n@PLUGIN_SECTIONS@\n.SH END\n' >"$WORK/gen.in"
run cmake -DCORRAL="$CORRAL" -DPLUGIN_DIR="$TEST_PLUGIN_DIR/main" -DTEMPLATE="$WORK/gen.in" -DOUT="$GEN" \
    -DWORK="$WORK/gen" -P "$SOURCE_DIR/packaging/man/gen-conf-man.cmake"
check "the corral.conf(5) generator runs" eval '[ $RC -eq 0 ] && [ -s "$GEN" ]'
G=$(cat "$GEN" 2>/dev/null)
check "generator: a section per loaded plugin, sandboxes first" \
  eval '[ "$(grep "^\.SS" <<<"$G" | tr "\n" " ")" = ".SS \"sandbox.good\" .SS \"sandbox.newminor\" .SS \"sandbox.oldtable\" .SS \"agent.good\" " ]'
check "generator: refused plugins are left out" lacks "$G" "abitwo"
check "generator: option, type and string default" has "$G" $'.B endpoint\n(string, default "http://localhost")\nwhere to connect.'
check "generator: int, bool, double and array defaults" eval \
  'has "$G" "(int, default 3)" && has "$G" "(bool, default false)" && has "$G" "(double, default 0.5)" && has "$G" "(strings, default [\"a\", \"b\"])"'
check "generator: secret options say they name a variable" has "$G" $'.B api_key_env\n(string, default "TEST_API_KEY")\nenv var holding the key.\nThe value is the name of an environment variable'
check "generator: no build path in the page" lacks "$G" "$BUILD_DIR"
check "generator: the template's text around the marker is kept" eval 'has "$G" ".SH PLUGINS" && has "$G" ".SH END" && lacks "$G" "@PLUGIN_SECTIONS@"'

# corral-conformance(1), when the tool was built (it needs cmocka).
MANC="$SOURCE_DIR/packaging/man/corral-conformance.1"
if [ -x "$BUILD_DIR/bin/corral-conformance" ]; then
  run "$BUILD_DIR/bin/corral-conformance" --help
  CSEC=$(plain "$MANC")
  for opt in $(options_of "$OUT$ERR"); do
    check "corral-conformance(1) documents $opt" has_word "$CSEC" "$opt"
  done
fi

# What lintian runs on man pages: no warning from man/groff.
if command -v man >/dev/null && command -v groff >/dev/null; then
  for f in "$MAN1" "$MAN5" "$MAN7" "$MANC"; do
    run env LC_ALL=C.UTF-8 MANROFFSEQ= MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f"
    check "man --warnings is silent on $(basename "$f")" eval '[ $RC -eq 0 ] && [ -z "$ERR" ]'
  done
else
  echo "# man/groff not installed: roff warnings not checked"
fi
finish
