#!/bin/bash
# Reward 1 when total.sh computes the total of any prices.csv (checked on a
# second file it has never seen) and total.txt holds its answer for the
# task's file (19), else 0.
fail() { echo "$*"; echo 0 > /logs/verifier/reward.txt; exit 0; }
cd /workspace || fail "no /workspace"
[ -f total.sh ] || fail "total.sh is missing"
[ "$(tr -d ' \n' < total.txt 2>/dev/null)" = 19 ] || fail "total.txt is not 19: $(head -c 200 total.txt 2>&1)"
other=$(mktemp -d)
printf 'item,qty,price\nfig,7,3\nkiwi,1,10\n' > "$other/prices.csv"
cp total.sh "$other/"
got=$(cd "$other" && timeout 20 sh total.sh 2>&1 | tr -d ' \n')
rm -rf "$other"
[ "$got" = 31 ] || fail "total.sh on another prices.csv printed '${got:0:200}', not 31"
echo 1 > /logs/verifier/reward.txt
