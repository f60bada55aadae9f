#!/usr/bin/env bash
# Same-run A/B of the state machine: base (A) and branch (B) test binaries in turns.
# Usage: ab.sh A.test B.test OUTDIR [turns]   (run from the repo root)
set -uo pipefail
A=$1 B=$2 OUT=$3 N=${4:-4}
mkdir -p "$OUT"
for i in $(seq 1 "$N"); do
  for who in A B B A; do
    t=$A; [[ $who == B ]] && t=$B
    echo "$(date -u +%H:%M:%S) $who $(uptime)" >> "$OUT/uptime.txt"
    (cd sale && $t -test.run '^$' -test.bench=ApplyBatch -test.benchtime=1000000x -test.benchmem) >> "$OUT/sale-$who.txt" 2>&1
  done
done
