#!/usr/bin/env bash
# prof.sh BIN OUTDIR : one node, prep, wrk holds + orders with pprof CPU profile (4s) and perf
set -euo pipefail
BIN=$1 OUT=$2 N=${N:-60000}
cd /work/wt/writes
mkdir -p $OUT
WORK=$(mktemp -d /tmp/wprof-run.XXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$(free_port); D=$(free_port); TOKEN=bench-tok-$RANDOM$RANDOM
$BIN serve --data-dir $WORK/fg --http-addr 127.0.0.1:$P --debug-addr 127.0.0.1:$D --admin-token $TOKEN --dev \
    --trusted-proxy 127.0.0.1/32 --request-rate 1000000000 --request-burst 1000000000 \
    --join-rate 1000000000 --join-burst 1000000000 >$OUT/serve.log 2>&1 &
FPID=$!
trap 'kill $FPID 2>/dev/null; rm -rf $WORK' EXIT
for i in $(seq 200); do curl -fsS -o /dev/null http://127.0.0.1:$P/healthz 2>/dev/null && break; sleep 0.1; done
[ -x /tmp/wprof/reserveprep ] || go build -o /tmp/wprof/reserveprep ./bench/reserveprep
/tmp/wprof/reserveprep -url http://127.0.0.1:$P -admin-token $TOKEN -n $N -holds $WORK/holds.tsv -orders $WORK/orders.tsv >/dev/null
sleep 1
for kind in holds orders; do
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$P/metrics | grep -E '^floodgate_receipt' > $OUT/metrics-before-$kind.txt || true
  c0=$(awk '{print $14+$15}' /proc/$FPID/stat)
  (sleep 0.5; curl -s -o $OUT/$kind.pprof "http://127.0.0.1:$D/debug/pprof/profile?seconds=4") & PP=$!
  if [ -n "${PERF:-}" ]; then (sleep 0.5; perf record -F 999 -g -p $FPID -o $OUT/$kind.perf -- sleep 4 >/dev/null 2>&1) & fi
  wrk -t2 -c64 -d5s -s bench/wrk/replay.lua http://127.0.0.1:$P -- $WORK/$kind.tsv 2 > $OUT/$kind-wrk.txt
  c1=$(awk '{print $14+$15}' /proc/$FPID/stat)
  wait $PP; [ -n "${PERF:-}" ] && sleep 1 || true
  req=$(awk '/requests in/ {print $1}' $OUT/$kind-wrk.txt)
  echo "$kind $(grep Requests/sec $OUT/$kind-wrk.txt) cpu-us/req $(python3 -c "print(round(($c1-$c0)*10000/$req,1))")" | tee -a $OUT/summary.txt
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$P/metrics | grep -E '^floodgate_receipt' > $OUT/metrics-after-$kind.txt || true
done
