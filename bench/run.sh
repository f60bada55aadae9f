#!/usr/bin/env bash
# The peer benchmarks of BENCHMARKS.md, in one run on one machine:
#  (a) queue status of Floodgate vs a hello-world Go net/http server (wrk, same script)
#  (b) committed reservations: Floodgate hold+order vs Redis 7 EVALSHA (AOF everysec
#      and always) vs PostgreSQL 15 one-hot-row transaction (pgbench)
#  (c) server memory with 1,000,000 visitors queued
#  (d) the default rush: 100,000 visitors for 3,000 units
# Raw outputs go to bench/results/<UTC time>/; ratios are printed at the end.
# Needs: go, wrk, redis-server, redis-cli, PostgreSQL 15 (/usr/lib/postgresql/15/bin), pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
BUYERS=${BUYERS:-20000}
WRK_WRITES=${WRK_WRITES:-150000}
WRK_DURATION=${WRK_DURATION:-5s} # short enough that no prepared request is sent twice
QUEUED=${QUEUED:-1000000}
. bench/lib.sh
bench_init ""

need wrk wrk; need redis-server redis-server; need redis-cli redis-tools; need pgbench postgresql-client
need_pg

wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }

echo "== machine" | tee "$OUT/machine.txt"
{ uname -a; nproc; grep -m1 'model name' /proc/cpuinfo || true; free -m | head -2; uptime;
  go version; wrk --version 2>&1 | head -1 || true; redis-server --version; "$PGBIN/postgres" --version; } | tee -a "$OUT/machine.txt"

echo "== build"
go build -o "$WORK/floodgate" ./cmd/floodgate
go build -o "$WORK/redisreserve" ./bench/redisreserve

# (a) Queue status vs hello world.
start_hello

FG_PORT=$(free_port)
TOKEN=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Per-address limits off: wrk sends everything from one address.
"$WORK/floodgate" serve --data-dir "$WORK/fg" --http-addr "127.0.0.1:$FG_PORT" --admin-token "$TOKEN" --dev \
  --trusted-proxy 127.0.0.1/32 --request-rate 1000000000 --request-burst 1000000000 \
  --join-rate 1000000000 --join-burst 1000000000 >"$OUT/serve.log" 2>&1 & PIDS+=($!)
FG_PID=$!
wait_http "http://127.0.0.1:$FG_PORT/healthz"
FG="http://127.0.0.1:$FG_PORT"
curl -fsS -X POST "$FG/api/v1/drops" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"id":"status-bench","name":"Queue status benchmark","stock":3000,"per_customer_limit":1,"admit_per_second":1}' >/dev/null
# A visitor far back in the line: 200 others join first.
for i in $(seq 200); do
  TICKET=$(curl -fsS -X POST "$FG/api/v1/drops/status-bench/queue" -H "X-Forwarded-For: 198.18.$((i / 250)).$((i % 250 + 1))" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"])')
done
export TICKET
curl -fsS "$FG/api/v1/drops/status-bench/queue" -H "Authorization: Bearer $TICKET" | tee "$OUT/status-sample.json"

echo "== (a) wrk -t2 -c$CONNS -d$DURATION: hello world"
wrk -t2 -c"$CONNS" -d"$DURATION" -s bench/wrk/status.lua "http://127.0.0.1:$HELLO_PORT/api/v1/drops/status-bench/queue" | tee "$OUT/wrk-hello.txt"
echo "== (a) wrk -t2 -c$CONNS -d$DURATION: Floodgate queue status"
wrk -t2 -c"$CONNS" -d"$DURATION" -s bench/wrk/status.lua "$FG/api/v1/drops/status-bench/queue" | tee "$OUT/wrk-status.txt"
if grep -q 'Non-2xx' "$OUT/wrk-status.txt"; then echo "bench: Floodgate answered non-2xx to queue status; see $OUT/wrk-status.txt" >&2; exit 1; fi

# (b) Committed reservations.
echo "== (b) Floodgate hold+order, $BUYERS buyers, $CONNS in flight"
"$WORK/floodgate" rush --target "$FG" --admin-token "$TOKEN" --bench-orders "$BUYERS" --concurrency "$CONNS" | tee "$OUT/floodgate-orders.json"

# (b') Committed writes driven by wrk, the same tool as the hello-world run:
# holds, then orders, each request a fresh ticket or hold (no replays while
# the prepared lines last), each answered only after commit and fsync.
echo "== (b') committed writes through wrk, $WRK_WRITES prepared per kind"
go build -o "$WORK/reserveprep" ./bench/reserveprep
"$WORK/reserveprep" -url "$FG" -admin-token "$TOKEN" -n "$WRK_WRITES" -holds "$WORK/holds.tsv" -orders "$WORK/orders.tsv" >/dev/null
for kind in holds orders; do
  wrk -t2 -c"$CONNS" -d"$WRK_DURATION" -s bench/wrk/replay.lua "$FG" -- "$WORK/$kind.tsv" 2 | tee "$OUT/wrk-$kind.txt"
done
curl -fsS -H "Authorization: Bearer $TOKEN" "$FG/metrics" | grep -E '^floodgate_raft_batch_commands_(sum|count)' | tee "$OUT/batch.txt"
kill "$FG_PID"; wait "$FG_PID" 2>/dev/null || true

for fsync in everysec always; do
  echo "== (b) Redis EVALSHA reservation, appendonly yes, appendfsync $fsync, $CONNS connections"
  RPORT=$(free_port)
  mkdir -p "$WORK/redis-$fsync"
  redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$WORK/redis-$fsync" --save '' \
    --appendonly yes --appendfsync "$fsync" --daemonize no --logfile "$WORK/redis-$fsync/log" & PIDS+=($!)
  RPID=$!
  for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  "$WORK/redisreserve" -addr "127.0.0.1:$RPORT" -script bench/reserve.lua -c "$CONNS" -d "$DURATION" | tee "$OUT/redis-$fsync.json"
  redis-cli -p "$RPORT" config get appendfsync | tr '\n' ' ' >>"$OUT/redis-$fsync.json"; echo >>"$OUT/redis-$fsync.json"
  kill "$RPID"; wait "$RPID" 2>/dev/null || true
done

echo "== (b) PostgreSQL one hot row, pgbench -c $CONNS -j 2"
PGPORT=$(free_port)
start_pg "$PGPORT" "-c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on"
runuser -u postgres -- psql -q -h "$WORK/pgsock" -p "$PGPORT" -U postgres -f bench/pg/schema.sql postgres
cp bench/pg/reserve.sql "$WORK/reserve.sql"; chmod 644 "$WORK/reserve.sql"
runuser -u postgres -- pgbench -n -h "$WORK/pgsock" -p "$PGPORT" -U postgres -c "$CONNS" -j 2 -T "${DURATION%s}" -f "$WORK/reserve.sql" postgres | tee "$OUT/pgbench.txt"
runuser -u postgres -- psql -h "$WORK/pgsock" -p "$PGPORT" -U postgres -Atc 'SHOW synchronous_commit; SHOW fsync; SELECT count(*) FROM buyers' postgres | tee -a "$OUT/pgbench.txt"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null

# (c) Memory per waiting visitor.
echo "== (c) $QUEUED visitors queued"
"$WORK/floodgate" rush --demo --queue-only "$QUEUED" --concurrency 128 | tee "$OUT/queue-memory.json"

# (d) The default rush.
echo "== (d) the default rush"
"$WORK/floodgate" rush --demo --json --report "$OUT/rush-report.html" | tee "$OUT/rush.txt"

# Ratios.
HELLO_RPS=$(wrk_rps "$OUT/wrk-hello.txt")
STATUS_RPS=$(wrk_rps "$OUT/wrk-status.txt")
FG_RES=$(json per_second <"$OUT/floodgate-orders.json")
HOLDS_RPS=$(wrk_rps "$OUT/wrk-holds.txt")
ORDERS_RPS=$(wrk_rps "$OUT/wrk-orders.txt")
REDIS_ES=$(head -1 "$OUT/redis-everysec.json" | json per_second)
REDIS_AL=$(head -1 "$OUT/redis-always.json" | json per_second)
PG_TPS=$(awk '/^tps = / {print $3; exit}' "$OUT/pgbench.txt")
python3 - "$OUT" "$HELLO_RPS" "$STATUS_RPS" "$FG_RES" "$REDIS_ES" "$REDIS_AL" "$PG_TPS" "$HOLDS_RPS" "$ORDERS_RPS" <<'PY' | tee "$OUT/summary.md"
import json, re, sys
out, hello, status, fg, res, ral, pg, holds, orders = sys.argv[1], *map(float, sys.argv[2:])
batch = dict(re.findall(r"^floodgate_raft_batch_commands_(sum|count) (\S+)", open(out + "/batch.txt").read(), re.M))
q = json.loads(open(out + "/queue-memory.json").read().strip().splitlines()[-1])
r = json.loads(open(out + "/rush.txt").read().strip().splitlines()[-1])
print(f"| measure | Floodgate | peer | ratio |")
print(f"|---|---:|---:|---:|")
print(f"| queue status, req/s (wrk) | {status:,.0f} | hello world {hello:,.0f} | {status/hello:.2f}x |")
print(f"| committed holds/s (wrk) | {holds:,.0f} | hello world {hello:,.0f} | {holds/hello:.2f}x |")
print(f"| committed orders/s (wrk) | {orders:,.0f} | hello world {hello:,.0f} | {orders/hello:.2f}x |")
print(f"| committed reservations/s (wrk, hold+order) | {1/(1/holds+1/orders):,.0f} | Redis appendfsync always {ral:,.0f} | {1/(1/holds+1/orders)/ral:.2f}x |")
print(f"| committed reservations/s | {fg:,.0f} | Redis appendfsync always {ral:,.0f} | {fg/ral:.2f}x |")
print(f"| committed reservations/s | {fg:,.0f} | Redis appendfsync everysec {res:,.0f} | {fg/res:.2f}x |")
print(f"| committed reservations/s | {fg:,.0f} | PostgreSQL hot row {pg:,.0f} | {fg/pg:.2f}x |")
print()
print(f"memory: {q['joined']:,} visitors queued, server RSS {q['rss_before_mb']:.0f} -> {q['rss_after_mb']:.0f} MiB, "
      f"{q['bytes_per_visitor']:.0f} bytes per visitor (upper bound), {q['joins_per_second']:,.0f} joins/s; "
      f"after the first {q.get('warmup_visitors', 0):,}: {q.get('rss_warm_mb', 0):.0f} -> {q['rss_after_mb']:.0f} MiB, {q.get('marginal_bytes_per_visitor', 0):.1f} bytes per further visitor")
print(f"raft: {float(batch.get('sum', 0)) / max(float(batch.get('count', 1)), 1):.1f} commands per log entry on average over the Floodgate runs")
print(f"rush: {json.dumps(r)}")
PY
echo "raw results in $OUT"

# The cluster figures (1, 3, 5 nodes; edges; failover): see bench/cluster.sh.
RESULTS="$OUT" DURATION="$DURATION" CONNS="$CONNS" BUYERS="$BUYERS" bench/cluster.sh
