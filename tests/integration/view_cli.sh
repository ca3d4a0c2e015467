# corral view as a user runs it, without a browser (the page in Chromium:
# tests/view/): what it writes and where, its refusals, and that a failed
# run leaves an existing page as it was.
. "$(dirname "$0")/lib.sh"
FIX="$SOURCE_DIR/tests/view/fixtures/pi_hello.jsonl"
cd "$WORK"

run "$CORRAL" view "$FIX"
check "with no -o the page is report.html, said on stderr" eval '[ $RC -eq 0 ] && [ -s report.html ] &&
  has "$ERR" "wrote report.html (1 rollouts"'
CSP="<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-"
check "it is one self-contained HTML file: a CSP without any source but its own hashes, no external reference
  (the SVG namespace is a name, not a fetch)" eval '
  grep -qF "$CSP" report.html && ! grep -vF "w3.org/2000/svg" report.html | grep -qiE "(src|href)=|https?://|@import|url\("'
check "the page is readable by everyone the umask lets (a page to share)" eval '[ "$(stat -c %a report.html)" = "$(printf %o $((0666 & ~$(umask))))" ]'
check "the data blocks hold no '<' (so no </script> nor <!-- inside)" eval '[ "$(grep -o "<script type=\"application/json\" id=\"[a-z0-9-]*\">[^<]*</script>" report.html | wc -l)" = 2 ]'
cp report.html before.html
run "$CORRAL" view -o - "$FIX"
check "-o - writes the page to stdout, the same page" eval '[ $RC -eq 0 ] && [ "$OUT" = "$(cat before.html)" ]'
run "$CORRAL" view - <"$FIX"
check "\"-\" reads stdin" eval '[ $RC -eq 0 ] && has "$(cat report.html)" "corral-index"'
cp before.html report.html
{ head -c 300 "$FIX"; echo; } >bad.jsonl
run "$CORRAL" view bad.jsonl
check "a line that is not a result: exit 1 naming file:line, the page left as it was, no temporary file" eval '
  [ $RC -eq 1 ] && has "$ERR" "corral: view: bad.jsonl:1: not JSON" && cmp -s before.html report.html &&
  [ -z "$(ls | grep tmp)" ]'
mkdir ro && chmod 555 ro
run "$CORRAL" view -o ro/x.html "$FIX"
if [ "$(id -u)" != 0 ]; then
  check "an unwritable directory: exit 1 naming the file" eval '[ $RC -eq 1 ] && has "$ERR" "cannot write ro/x.html"'
fi
run "$CORRAL" view -o nodir/x.html "$FIX"
check "a missing directory: exit 1 naming the file" eval '[ $RC -eq 1 ] && has "$ERR" "cannot write nodir/x.html"'
{ cat "$FIX"; head -c 100 "$FIX"; } >torn.jsonl
run "$CORRAL" view -o torn.html torn.jsonl
check "a torn last line is skipped and the page says so" eval '[ $RC -eq 0 ] && has "$(cat torn.html)" "torn last line"'
jq . "$FIX" >pretty.json
run "$CORRAL" view -o pretty.html pretty.json
check "one indented result (what a lone corral run writes) is read whole" eval '[ $RC -eq 0 ] &&
  has "$ERR" "wrote pretty.html (1 rollouts"'
run "$CORRAL" view missing.jsonl
check "a missing file: exit 1 naming it" eval '[ $RC -eq 1 ] && has "$ERR" "missing.jsonl"'
run "$CORRAL" view
check "no file: usage error" eval '[ $RC -eq 2 ] && has "$ERR" "give one or more results files"'
run "$CORRAL" view --compare "$FIX"
check "--compare with one file: usage error" eval '[ $RC -eq 2 ] && has "$ERR" "--compare takes two results files"'
run "$CORRAL" view --compare "$FIX" "$FIX" "$FIX"
check "--compare with three files: usage error" eval '[ $RC -eq 2 ]'
run "$CORRAL" view --bogus "$FIX"
check "an unknown option: usage error" eval '[ $RC -eq 2 ]'
run "$CORRAL" view -o cmp.html --compare "$FIX" "$FIX"
check "--compare A B writes a page holding both runs" eval '[ $RC -eq 0 ] && has "$(cat cmp.html)" "\"base\":"'
run "$CORRAL" view --help
check "view --help says what the page holds, how to open it and what is cut" eval '[ $RC -eq 0 ] &&
  has "$OUT" "--compare A B" && has "$OUT" "xdg-open" && has "$OUT" "64 KiB"'
run "$CORRAL" --help
check "corral --help lists view" eval 'has "$OUT" "  view "'
finish
