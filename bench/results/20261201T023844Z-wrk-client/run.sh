#!/usr/bin/env bash
# wrk's own CPU per request (user+system, /usr/bin/time) against hello world:
# status.lua (a fixed GET), the old replay.lua (as of 7e77508, unchanged
# since 51a576a, taken from git) and bench/wrk/replay.lua, on 3,000
# order-shaped lines (hello world answers them all alike; lines are sent
# again, which costs the client nothing more).
# Run from the repository root: bench/results/<this folder>/run.sh
set -euo pipefail
D=$(dirname "$0")
OLD=$(mktemp --suffix=.lua)
git show 51a576a:bench/wrk/replay.lua > "$OLD"
go build -o /tmp/wrk-client-hello ./bench/hello
/tmp/wrk-client-hello -addr 127.0.0.1:18932 & HP=$!
trap 'kill $HP; rm -f "$OLD"' EXIT
sleep 0.5
python3 - "$D/lines.tsv" <<'PY'
import random, sys
r = random.Random(1)
a = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'
with open(sys.argv[1], 'w') as f:
    for i in range(3000):
        t = 'eyJ' + ''.join(r.choice(a) for _ in range(180))
        s = 'eyJ' + ''.join(r.choice(a) for _ in range(150))
        f.write('POST\t/api/v1/holds/h-%d/order\t%s\twrk-1-%d\t{"session":"%s"}\n' % (i, t, i, s))
PY
for round in 1 2 3; do
  for v in status old new; do
    case $v in
      status) TICKET=hello /usr/bin/time -f "%U %S" -o "$D/time-$v-$round.txt" wrk -t2 -c64 -d3s -s bench/wrk/status.lua http://127.0.0.1:18932/api/v1/drops/x/queue > "$D/wrk-$v-$round.txt" ;;
      old) /usr/bin/time -f "%U %S" -o "$D/time-$v-$round.txt" wrk -t2 -c64 -d3s -s "$OLD" http://127.0.0.1:18932 -- "$D/lines.tsv" 2 > "$D/wrk-$v-$round.txt" ;;
      new) /usr/bin/time -f "%U %S" -o "$D/time-$v-$round.txt" wrk -t2 -c64 -d3s -s bench/wrk/replay.lua http://127.0.0.1:18932 -- "$D/lines.tsv" 2 > "$D/wrk-$v-$round.txt" ;;
    esac
    req=$(awk '/ requests in / {print $1}' "$D/wrk-$v-$round.txt")
    python3 -c 'import sys; u, s = map(float, open(sys.argv[1]).read().split()); print("%s round %s: %s requests, wrk CPU %.1f µs per request" % (sys.argv[2], sys.argv[3], sys.argv[4], (u + s) * 1e6 / int(sys.argv[4])))' "$D/time-$v-$round.txt" "$v" "$round" "$req" | tee -a "$D/summary.txt"
  done
done
uptime >> "$D/summary.txt"
