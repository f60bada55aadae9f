#!/usr/bin/env bash
# End-of-round quiet measurements: base (/tmp/r11-base) vs end (/tmp/r11-end) in turns.
# Usage: quiet11.sh   (run from /work/main; end binaries must be built into /tmp/r11-end)
set -uo pipefail
cd /work/main
B=/tmp/r11-base E=/tmp/r11-end
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-quiet11
mkdir -p "$OUT"
up() { echo "$(date -u +%H:%M:%S) $1 $(uptime)" >> "$OUT/uptime.txt"; }
up start
for who in B E E B B E; do
  d=$B; [[ $who == E ]] && d=$E
  up "sale $who"; (cd sale && $d/sale.test -test.run '^$' -test.bench=ApplyBatch -test.benchtime=1000000x -test.benchmem) >> "$OUT/sale-$who.txt" 2>&1
done
for who in B E E B B E; do
  d=$B; [[ $who == E ]] && d=$E
  up "store $who"; (cd store && $d/store.test -test.run '^$' -test.bench='^BenchmarkApply$' -test.benchtime=3s -test.benchmem) >> "$OUT/store-$who.txt" 2>&1
done
for who in B E E B B E; do
  d=$B; [[ $who == E ]] && d=$E
  up "http $who"; (cd http && $d/http.test -test.run '^$' -test.bench=CommittedWrites -test.benchtime=10000x -test.benchmem) >> "$OUT/http-$who.txt" 2>&1
done
# Default rushes in turns: generator and server of the same binary.
i=0
for who in E B E E B E E; do
  i=$((i+1)); d=$B; [[ $who == E ]] && d=$E
  up "rush $i $who"; timeout 600 $d/floodgate rush --demo --json --quiet > "$OUT/rush-$i-$who.json" 2> "$OUT/rush-$i-$who.err"
done
up "writes-ab"; N=100000 bench/writes-ab.sh $B/floodgate $E/floodgate > "$OUT/writes-ab.txt" 2>&1
up "follower"; bench/follower.sh $B/floodgate $E/floodgate > "$OUT/follower.txt" 2>&1
# (queue-only memory run left out this round: nothing per waiting visitor changed)
# Five more default rushes of the end binary, back to back.
for j in 1 2 3 4 5; do
  up "rush b2b $j"; timeout 600 $E/floodgate rush --demo --json --quiet > "$OUT/rush-b2b-$j.json" 2> "$OUT/rush-b2b-$j.err"
done
up end
echo "$OUT"
