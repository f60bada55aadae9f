#!/usr/bin/env bash
# The cost of order sinks, in one run on one machine (docs/benchmarks-history.md, "Order sinks"):
#  (a) committed hold+order pairs/s (floodgate rush --bench-orders) without sinks,
#      and with two sinks (a webhook to a local hello-world server and a local
#      PostgreSQL 15), each against a fresh node;
#  (b) the default rush (100,000 visitors for 3,000 units) without and with the
#      two sinks, and the delivery lag (commit to delivery,
#      floodgate_sink_delivery_lag_seconds) of the two sinks during it.
# Raw outputs go to bench/results/<UTC time>-sinks/; ratios are printed at the end.
# Needs: go, curl, python3, PostgreSQL 15 (/usr/lib/postgresql/15/bin), run as root
# (PostgreSQL runs as the postgres user) or as the owner of a PostgreSQL install.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-64}
BUYERS=${BUYERS:-20000}
. bench/lib.sh
bench_init -sinks
need_pg

{ uname -a; nproc; uptime; go version; "$PGBIN/postgres" --version; } | tee "$OUT/machine.txt"
go build -o "$WORK/floodgate" ./cmd/floodgate
start_hello

PGPORT=$(free_port)
start_pg "$PGPORT" "-c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on"
DSN="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"

TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# serve [extra flags]: a fresh node (the one before is stopped); sets FG to its base URL
serve() {
  local port; port=$(free_port)
  if [[ -n ${FG_PID:-} ]]; then kill "$FG_PID" 2>/dev/null || true; wait "$FG_PID" 2>/dev/null || true; fi
  "$WORK/floodgate" serve --data-dir "$WORK/fg-$port" --http-addr "127.0.0.1:$port" --admin-token "$TOKEN" --dev \
    --trusted-proxy 127.0.0.1/32 "$@" >"$WORK/serve-$port.log" 2>&1 & PIDS+=($!)
  FG_PID=$!
  wait_http "http://127.0.0.1:$port/healthz"
  FG="http://127.0.0.1:$port"
}
add_sinks() {
  curl -fsS -X POST "$1/api/v1/sinks" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:$HELLO_PORT/hook\",\"secret\":\"bench-secret-0123456789\"}" >/dev/null
  curl -fsS -X POST "$1/api/v1/sinks" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"kind\":\"postgres\",\"dsn\":\"$DSN\",\"table\":\"orders_$2\"}" >/dev/null
}
# wait_delivered URL: until every sink has every event
wait_delivered() {
  for _ in $(seq 600); do
    if curl -fsS "$1/api/v1/sinks" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; s=json.load(sys.stdin)["sinks"]; sys.exit(0 if s and all(x["backlog"]==0 for x in s) else 1)'; then return 0; fi
    sleep 0.5
  done
  echo "bench: the sinks did not catch up" >&2; exit 1
}

echo "== (a) committed hold+order pairs/s, no sinks"
serve --request-rate 1000000000 --request-burst 1000000000 --join-rate 1000000000 --join-burst 1000000000
"$WORK/floodgate" rush --target "$FG" --admin-token "$TOKEN" --bench-orders "$BUYERS" --concurrency "$CONNS" | tee "$OUT/orders-none.json"

echo "== (a) committed hold+order pairs/s, two sinks"
serve --request-rate 1000000000 --request-burst 1000000000 --join-rate 1000000000 --join-burst 1000000000
add_sinks "$FG" bench
"$WORK/floodgate" rush --target "$FG" --admin-token "$TOKEN" --bench-orders "$BUYERS" --concurrency "$CONNS" | tee "$OUT/orders-two.json"
wait_delivered "$FG"
curl -fsS "$FG/metrics" -H "Authorization: Bearer $TOKEN" | grep '^floodgate_sink_' >"$OUT/metrics-bench.txt"

echo "== (b) the default rush without sinks"
serve --join-rate 2 --join-burst 5
"$WORK/floodgate" rush --target "$FG" --admin-token "$TOKEN" --quiet --json | tee "$OUT/rush-none.txt"

echo "== (b) the default rush with two sinks"
serve --join-rate 2 --join-burst 5
add_sinks "$FG" rush
"$WORK/floodgate" rush --target "$FG" --admin-token "$TOKEN" --quiet --json | tee "$OUT/rush.txt"
wait_delivered "$FG"
curl -fsS "$FG/metrics" -H "Authorization: Bearer $TOKEN" | grep '^floodgate_sink_' >"$OUT/metrics-rush.txt"
runuser -u postgres -- psql -h 127.0.0.1 -p "$PGPORT" -U postgres -Atc 'SELECT count(*), count(DISTINCT id) FROM orders_rush' postgres | tee "$OUT/rows-rush.txt"

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, re, sys
out = sys.argv[1]
last = lambda f: json.loads(open(f).read().strip().splitlines()[-1])
none, two, rush = last(out + "/orders-none.json"), last(out + "/orders-two.json"), last(out + "/rush.txt")
rush0 = last(out + "/rush-none.txt")
def quantiles(path, sink=None):
    # the lag histogram has a series per sink; None adds them up
    text, b, total = open(path).read(), {}, 0.0
    for labels, le, v in re.findall(r'^floodgate_sink_delivery_lag_seconds_bucket\{(.*?)le="([^"]+)"\} (\S+)', text, re.M):
        if sink is None or f'sink="{sink}"' in labels:
            b[float(le)] = b.get(float(le), 0.0) + float(v)
    for labels, v in re.findall(r'^floodgate_sink_delivery_lag_seconds_count\{(.*?)\} (\S+)', text, re.M):
        if sink is None or f'sink="{sink}"' in labels:
            total += float(v)
    q = lambda p: next((le for le, v in sorted(b.items()) if v >= p * total), float("inf"))
    return q(0.5), q(0.99), total
p50, p99, n = quantiles(out + "/metrics-rush.txt")
rows = open(out + "/rows-rush.txt").read().split("|")
print("| measure | without sinks | with two sinks | ratio |")
print("|---|---:|---:|---:|")
print(f"| committed hold+order pairs/s (--bench-orders {none['buyers']}) | {none['per_second']:,.0f} | {two['per_second']:,.0f} | {two['per_second']/none['per_second']:.2f}x |")
print(f"| order p99, ms | {none['order_p99_ms']:.1f} | {two['order_p99_ms']:.1f} | {two['order_p99_ms']/max(none['order_p99_ms'],1e-9):.2f}x |")
print(f"| default rush sell-out, s | {rush0['sellout_seconds']:.1f} | {rush['sellout_seconds']:.1f} | {rush['sellout_seconds']/rush0['sellout_seconds']:.2f}x |")
print(f"| default rush generator queue p99, ms | {rush0['generator_queue_p99_ms']:.0f} | {rush['generator_queue_p99_ms']:.0f} | |")
print()
print(f"Default rush with the two sinks: sold {rush['sold']} of {rush['stock']} in {rush['sellout_seconds']:.1f} s, "
      f"{int(n)} deliveries; delivery lag p50 <= {p50*1000:.0f} ms, p99 <= {p99*1000:.0f} ms (histogram bucket bounds); "
      f"PostgreSQL rows {rows[0].strip()} for {rows[1].strip()} distinct orders.")
for sink, kind in (("sk_1", "webhook"), ("sk_2", "PostgreSQL")):
    p50, p99, n = quantiles(out + "/metrics-rush.txt", sink)
    print(f"- {kind} sink: {int(n)} deliveries, lag p50 <= {p50*1000:.0f} ms, p99 <= {p99*1000:.0f} ms")
PY
