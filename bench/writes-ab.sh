#!/usr/bin/env bash
# Committed holds and orders through wrk against hello world, for two
# floodgate binaries in turns (A B B A A B), so that a drift of the
# machine's load falls on both:
#   bench/writes-ab.sh A_BINARY B_BINARY
# Each turn starts a fresh node of that binary, prepares N holds and
# orders (bench/reserveprep), runs wrk against hello world, then the holds,
# then the orders, and prints the two ratios to hello world of that minute
# and the node's CPU per answered request (from /proc, so less moved by
# the machine's load than requests per second).
# Env: N (150000, as run.sh: 5 s at 30,000/s), CONNS (64), WRK_DURATION (5s); REPLAY_A and REPLAY_B,
# the wrk script each binary's holds and orders are sent with
# (bench/wrk/replay.lua), to compare two clients on one binary.
# Raw outputs go to bench/results/<UTC time>-writes-ab/. Needs go, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
(($# == 2)) || { echo "usage: bench/writes-ab.sh A_BINARY B_BINARY" >&2; exit 2; }
N=${N:-150000} CONNS=${CONNS:-64} WRK_DURATION=${WRK_DURATION:-5s}
need wrk wrk; need curl curl; need python3 python3
bench_init -writes-ab
declare -A BIN=([A]=$1 [B]=$2) REPLAY=([A]=${REPLAY_A:-bench/wrk/replay.lua} [B]=${REPLAY_B:-bench/wrk/replay.lua})
echo "A=$1 (${REPLAY[A]}) B=$2 (${REPLAY[B]}) $(uptime)" > "$OUT/machine.txt"
go build -o "$WORK/reserveprep" ./bench/reserveprep
start_hello
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # the process's user and system CPU, in clock ticks
HZ=$(getconf CLK_TCK)
export TICKET=hello # bench/wrk/status.lua sends it; hello world ignores it
for who in A B B A A B; do
  P=$(free_port); TOKEN=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
  rm -rf "$WORK/fg"
  # Per-address limits off: wrk sends everything from one address.
  "${BIN[$who]}" serve --data-dir "$WORK/fg" --http-addr "127.0.0.1:$P" --admin-token "$TOKEN" --dev \
    --trusted-proxy 127.0.0.1/32 --request-rate 1000000000 --request-burst 1000000000 \
    --join-rate 1000000000 --join-burst 1000000000 >"$OUT/serve-$who.log" 2>&1 & PIDS+=($!)
  FPID=$!
  wait_http "http://127.0.0.1:$P/healthz"
  "$WORK/reserveprep" -url "http://127.0.0.1:$P" -admin-token "$TOKEN" -n "$N" -holds "$WORK/holds.tsv" -orders "$WORK/orders.tsv" >/dev/null
  T=$(date +%s)
  echo "== $who $T $(uptime)" >> "$OUT/machine.txt"
  wrk -t2 -c"$CONNS" -d"$WRK_DURATION" -s bench/wrk/status.lua "http://127.0.0.1:$HELLO_PORT/api/v1/drops/x/queue" > "$OUT/hello-$who-$T.txt"
  declare -A CPU=()
  for kind in holds orders; do
    c0=$(ticks "$FPID")
    wrk -t2 -c"$CONNS" -d"$WRK_DURATION" -s "${REPLAY[$who]}" "http://127.0.0.1:$P" -- "$WORK/$kind.tsv" 2 > "$OUT/$kind-$who-$T.txt"
    c1=$(ticks "$FPID")
    CPU[$kind]=$(awk -v c="$((c1 - c0))" -v hz="$HZ" '/ requests in / {printf "%.0f", c / hz * 1e6 / $1}' "$OUT/$kind-$who-$T.txt")
    echo "node cpu: $((c1 - c0)) ticks of 1/$HZ s, ${CPU[$kind]} µs per request" >> "$OUT/$kind-$who-$T.txt"
    if grep -q 'Non-2xx' "$OUT/$kind-$who-$T.txt"; then echo "bench: non-2xx answers to $kind; see $OUT/$kind-$who-$T.txt" >&2; exit 1; fi
    # A request sent again is a replay (answered from the first), not a commit.
    if grep -q 'sent again' "$OUT/$kind-$who-$T.txt"; then echo "bench: $kind sent again: raise N; see $OUT/$kind-$who-$T.txt" >&2; exit 1; fi
  done
  kill "$FPID"; wait "$FPID" 2>/dev/null || true
  python3 -c 'import sys; h, ho, o = map(float, sys.argv[2:5]); print("%s hello %.0f/s holds %.0f/s (%.2fx, %s µs CPU) orders %.0f/s (%.2fx, %s µs CPU)" % (sys.argv[1], h, ho, ho / h, sys.argv[5], o, o / h, sys.argv[6]))' \
    "$who" "$(rps "$OUT/hello-$who-$T.txt")" "$(rps "$OUT/holds-$who-$T.txt")" "$(rps "$OUT/orders-$who-$T.txt")" "${CPU[holds]}" "${CPU[orders]}" | tee -a "$OUT/summary.txt"
done
