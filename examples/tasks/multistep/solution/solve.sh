#!/bin/bash
cat > total.sh <<'SH'
awk -F, 'NR > 1 { t += $2 * $3 } END { print t }' prices.csv
SH
sh total.sh > total.txt
