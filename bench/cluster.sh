#!/usr/bin/env bash
# The cluster figures of docs/benchmarks-history.md ("Cluster"), in one run on one machine:
#  (e) committed reservations/s (hold+order through the HTTP API) on 1, 3 and
#      5 nodes, through the leader and through a follower (which forwards)
#  (f) queue-status reads/s on a node, through 1 edge and through 2 edges,
#      next to the hello-world Go server measured in the same minutes
#  (g) failover: SIGKILL of the leader -> next committed order, 3 and 5 nodes
# Every node and edge is a real process on loopback, all on this machine: the
# nodes share its cores and its disk, so more nodes show the cost of
# replication, not scale-out.
# Raw outputs go to $RESULTS/cluster/ (default bench/results/<UTC time>/cluster/);
# ratios are printed at the end. Needs: go, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}          # each wrk run
CONNS=${CONNS:-64}                 # wrk connections and reservations in flight
BUYERS=${BUYERS:-20000}            # buyers per reservation measurement
FAILOVER_RUNS=${FAILOVER_RUNS:-3}  # leader kills per cluster size
FAILOVER_BUYERS=${FAILOVER_BUYERS:-1000}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}  # seconds any one client run may take
PROFILE_SECONDS=${PROFILE_SECONDS:-0} # >0: CPU profiles of leader and follower during the 3-node follower run
OUT=${RESULTS:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}/cluster
mkdir -p "$OUT/logs"
WORK=$(mktemp -d /tmp/floodgate-cluster-bench.XXXXXX)
PIDS=()     # every process this script started
NODE_PIDS=() NODE_URLS=() NODE_DEBUG=() EDGE_PIDS=()

# gone PID: the process has exited (a zombie counts: it is reaped below).
gone() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0; [[ $st == Z* ]]; }
# stop_pids PID...: SIGTERM, up to 5 s to exit, then SIGKILL; reaped and
# dropped from PIDS.
stop_pids() {
  local pid alive
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "$@"; do gone "$pid" || alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "$@"; do gone "$pid" || kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  local keep=() p
  for p in "${PIDS[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
cleanup() {
  if ((${#PIDS[@]})); then stop_pids "${PIDS[@]}"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null || { echo "cluster bench: $1 is missing; install it (Debian: $2)" >&2; exit 1; }; }
need wrk wrk; need curl curl; need python3 python3

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "cluster bench: $1 did not come up within 30 s; logs in $OUT/logs" >&2; exit 1; }
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
admin() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
check_wrk() { if grep -q 'Non-2xx\|Socket errors' "$1"; then echo "cluster bench: errors under wrk; see $1" >&2; exit 1; fi; }

echo "== machine" | tee "$OUT/machine.txt"
{ uname -a; nproc; grep -m1 'model name' /proc/cpuinfo || true; free -m | head -2; echo "load at start: $(uptime)";
  go version; wrk --version 2>&1 | head -1 || true; } | tee -a "$OUT/machine.txt"

echo "== build"
go build -o "$WORK/floodgate" ./cmd/floodgate
go build -o "$WORK/hello" ./bench/hello
TOKEN=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
CLUSTER=0

# start_cluster N: N fresh `floodgate serve` processes, node 1 bootstraps and
# the others join it. Per-address limits are off (10^9): every client of this
# benchmark sends from 127.0.0.1.
start_cluster() {
  local n=$1 i http raft dbg args
  CLUSTER=$((CLUSTER + 1))
  NODE_PIDS=() NODE_URLS=() NODE_DEBUG=()
  for ((i = 1; i <= n; i++)); do
    http=$(free_port) raft=$(free_port) dbg=$(free_port)
    args=(serve --node-id "n$i" --data-dir "$WORK/c$CLUSTER/n$i" --raft-addr "127.0.0.1:$raft"
      --http-addr "127.0.0.1:$http" --debug-addr "127.0.0.1:$dbg" --admin-token "$TOKEN" --dev
      --trusted-proxy 127.0.0.1/32 --request-rate 1000000000 --request-burst 1000000000
      --join-rate 1000000000 --join-burst 1000000000)
    if ((i == 1)); then args+=(--bootstrap); else args+=(--join "${NODE_URLS[0]}"); fi
    "$WORK/floodgate" "${args[@]}" >"$OUT/logs/c$CLUSTER-${n}nodes-n$i.log" 2>&1 &
    PIDS+=($!) NODE_PIDS+=($!) NODE_URLS+=("http://127.0.0.1:$http") NODE_DEBUG+=("http://127.0.0.1:$dbg")
    echo "cluster $CLUSTER ($n nodes) n$i api http://127.0.0.1:$http raft 127.0.0.1:$raft pprof http://127.0.0.1:$dbg/debug/pprof/ pid $!" >>"$OUT/nodes.txt"
    wait_http "http://127.0.0.1:$http/healthz"
  done
  # Every node lists every member, with its HTTP address, under one leader.
  for _ in $(seq 300); do
    local ok=1
    for url in "${NODE_URLS[@]}"; do
      admin "$url/api/v1/cluster" 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if c["leader"] and len(c["nodes"]) == int(sys.argv[1]) and all(m["http_addr"] for m in c["nodes"]) else 1)' "$n" || ok=0
    done
    ((ok)) && return 0
    sleep 0.1
  done
  echo "cluster bench: the $n-node cluster did not form within 30 s; logs in $OUT/logs" >&2
  exit 1
}
stop_cluster() { if ((${#NODE_PIDS[@]})); then stop_pids "${NODE_PIDS[@]}"; fi; NODE_PIDS=(); }
# leader_index: the index in NODE_URLS of the node every member names leader.
leader_index() {
  admin "${NODE_URLS[0]}/api/v1/cluster" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["leader"][1:]) - 1)'
}

# bench_orders NAME URL: the committed hold+order rate, as section (b) of
# run.sh. The rush checks its orders against the target's orders list, which
# on a follower may trail the commit by a moment (reads come from applied
# state); so every node is also asked, with up to 10 s to catch up, that
# each benchmark drop sold exactly the reservations acknowledged.
bench_orders() {
  echo "== (e) $1: floodgate rush --bench-orders $BUYERS --concurrency $CONNS --target $2"
  timeout "$STEP_TIMEOUT" "$WORK/floodgate" rush --quiet --target "$2" --admin-token "$TOKEN" \
    --bench-orders "$BUYERS" --concurrency "$CONNS" | tee "$OUT/orders-$1.json"
  python3 - "$TOKEN" "$OUT/orders-$1.json" "${NODE_URLS[@]}" <<'PY' | tee "$OUT/orders-$1.check.json"
import json, sys, time, urllib.request
token, result, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
r = json.loads(open(result).read().strip().splitlines()[-1])
# Earlier benchmark drops of this cluster are sold out already; the newest one
# is this run's, and all its buyers reserved exactly one unit.
def drops(url):
    req = urllib.request.Request(url + "/api/v1/drops", headers={"Authorization": "Bearer " + token})
    return [d for d in json.load(urllib.request.urlopen(req, timeout=5))["drops"] if d["id"].startswith("bench-")]
until = time.monotonic() + 10
while True:
    short = {}
    for url in nodes:
        for d in drops(url):
            if d["stock"] - d["available"] - d["held"] != d["sold"] or d["sold"] != d["stock"]:
                short[url + " " + d["id"]] = d["sold"] - d["stock"]
    if not short or time.monotonic() > until:
        break
    time.sleep(0.1)
ok = not short and r["reservations"] == r["buyers"] and r["failed"] == 0
print(json.dumps({"every_node_sold_every_reservation": ok, "short": short}))
if not ok:
    sys.exit("cluster bench: a node is missing acknowledged reservations: %s" % short)
PY
}

# failover N: FAILOVER_RUNS times, a fresh N-node cluster whose leader is killed mid-sale.
failover() {
  local n=$1 run
  for ((run = 1; run <= FAILOVER_RUNS; run++)); do
    start_cluster "$n"
    local leader
    leader=$(leader_index)
    echo "== (g) failover $n nodes, run $run: SIGKILL of n$((leader + 1)) (pid ${NODE_PIDS[$leader]})"
    timeout "$STEP_TIMEOUT" python3 bench/failover.py --nodes "$(IFS=,; echo "${NODE_URLS[*]}")" \
      --leader "$leader" --leader-pid "${NODE_PIDS[$leader]}" --admin-token "$TOKEN" \
      --buyers "$FAILOVER_BUYERS" | tee -a "$OUT/failover-${n}nodes.jsonl"
    stop_cluster
  done
}

HELLO_PORT=$(free_port)
"$WORK/hello" -addr "127.0.0.1:$HELLO_PORT" >"$OUT/logs/hello.log" 2>&1 &
PIDS+=($!)
HELLO_URL="http://127.0.0.1:$HELLO_PORT"
wait_http "$HELLO_URL/"

# (e) 1 node.
start_cluster 1
bench_orders 1node "${NODE_URLS[0]}"
stop_cluster

# (e) + (f) 3 nodes.
start_cluster 3
L=$(leader_index)
F=$(((L + 1) % 3))
bench_orders 3nodes-leader "${NODE_URLS[$L]}"
if ((PROFILE_SECONDS > 0)); then
  curl -fsS -o "$OUT/cpu-3nodes-leader.pprof" "${NODE_DEBUG[$L]}/debug/pprof/profile?seconds=$PROFILE_SECONDS" &
  PROF1=$!
  curl -fsS -o "$OUT/cpu-3nodes-follower.pprof" "${NODE_DEBUG[$F]}/debug/pprof/profile?seconds=$PROFILE_SECONDS" &
  PROF2=$!
fi
bench_orders 3nodes-follower "${NODE_URLS[$F]}"
if ((PROFILE_SECONDS > 0)); then wait "$PROF1" "$PROF2" || true; fi

echo "== (f) queue status: a visitor at position 201 of a drop on the 3-node cluster"
admin -X POST "${NODE_URLS[$L]}/api/v1/drops" \
  -d '{"id":"status-bench","name":"Queue status benchmark","stock":3000,"per_customer_limit":1,"admit_per_second":1}' >/dev/null
for i in $(seq 201); do
  TICKET=$(curl -fsS -X POST "${NODE_URLS[$F]}/api/v1/drops/status-bench/queue" -H "X-Forwarded-For: 198.18.$((i / 250)).$((i % 250 + 1))" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"])')
done
export TICKET
EDGE_URLS=()
for e in 1 2; do
  port=$(free_port)
  "$WORK/floodgate" edge --http-addr "127.0.0.1:$port" --cluster "$(IFS=,; echo "${NODE_URLS[*]}")" >"$OUT/logs/edge$e.log" 2>&1 &
  PIDS+=($!) EDGE_PIDS+=($!) EDGE_URLS+=("http://127.0.0.1:$port")
  wait_http "http://127.0.0.1:$port/healthz"
done
STATUS_PATH=/api/v1/drops/status-bench/queue
for url in "${NODE_URLS[$F]}" "${EDGE_URLS[@]}"; do
  for _ in $(seq 100); do # an edge answers once it follows the drop's admission stream
    curl -fsS -o /dev/null -H "Authorization: Bearer $TICKET" "$url$STATUS_PATH" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -H "Authorization: Bearer $TICKET" "$url$STATUS_PATH" | tee -a "$OUT/status-sample.json"; echo | tee -a "$OUT/status-sample.json"
done
run_wrk() { # NAME URL [extra wrk args]
  local name=$1 url=$2; shift 2
  echo "== (f) wrk -c$CONNS -d$DURATION $* $name"
  timeout "$STEP_TIMEOUT" wrk -c"$CONNS" -d"$DURATION" "$@" "$url$STATUS_PATH" | tee "$OUT/wrk-$name.txt"
  check_wrk "$OUT/wrk-$name.txt"
}
run_wrk hello-before "$HELLO_URL" -t2 -s bench/wrk/status.lua
run_wrk node-follower "${NODE_URLS[$F]}" -t2 -s bench/wrk/status.lua
run_wrk edge1 "${EDGE_URLS[0]}" -t2 -s bench/wrk/status.lua
TARGETS="${EDGE_URLS[0]#http://},${EDGE_URLS[1]#http://}" run_wrk edge2 "${EDGE_URLS[0]}" -t2 -s bench/wrk/spread.lua
run_wrk hello-after "$HELLO_URL" -t2 -s bench/wrk/status.lua
stop_pids "${EDGE_PIDS[@]}"
stop_cluster

# (e) 5 nodes.
start_cluster 5
L=$(leader_index)
F=$(((L + 1) % 5))
bench_orders 5nodes-leader "${NODE_URLS[$L]}"
bench_orders 5nodes-follower "${NODE_URLS[$F]}"
stop_cluster

# (g) failover.
failover 3
failover 5

echo "load at end: $(uptime)" | tee -a "$OUT/machine.txt"

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, re, sys
out = sys.argv[1]
def last_json(name):
    return json.loads(open(f"{out}/{name}").read().strip().splitlines()[-1])
def rps(name):
    m = re.search(r"^Requests/sec:\s+([\d.]+)", open(f"{out}/wrk-{name}.txt").read(), re.M)
    return float(m.group(1))
def lat(name):
    m = re.search(r"^\s+Latency\s+(\S+)", open(f"{out}/wrk-{name}.txt").read(), re.M)
    return m.group(1)
o = {k: last_json(f"orders-{k}.json") for k in
     ["1node", "3nodes-leader", "3nodes-follower", "5nodes-leader", "5nodes-follower"]}
checks = {k: last_json(f"orders-{k}.check.json")["every_node_sold_every_reservation"] for k in o}
one = o["1node"]["per_second"]
print("| committed reservations/s (hold+order) | per second | vs 1 node | hold p50/p99 ms | order p50/p99 ms | on every node |")
print("|---|---:|---:|---:|---:|---:|")
for k, r in o.items():
    print(f"| {k} | {r['per_second']:,.0f} | {r['per_second']/one:.2f}x | {r['hold_p50_ms']:.1f} / {r['hold_p99_ms']:.1f} "
          f"| {r['order_p50_ms']:.1f} / {r['order_p99_ms']:.1f} | {'yes' if checks[k] else 'NO'} |")
print()
hello = (rps("hello-before") + rps("hello-after")) / 2
print(f"| queue status reads/s (wrk) | req/s | vs hello world | mean latency |")
print("|---|---:|---:|---:|")
print(f"| hello world (before / after) | {rps('hello-before'):,.0f} / {rps('hello-after'):,.0f} | 1.00x | {lat('hello-before')} / {lat('hello-after')} |")
for name, label in [("node-follower", "3-node cluster, a follower directly"), ("edge1", "1 edge"), ("edge2", "2 edges")]:
    print(f"| {label} | {rps(name):,.0f} | {rps(name)/hello:.2f}x | {lat(name)} |")
print()
for n in (3, 5):
    runs = [json.loads(l) for l in open(f"{out}/failover-{n}nodes.jsonl") if l.strip()]
    times = ", ".join(f"{r['failover_seconds']:.2f} s" for r in runs)
    print(f"failover, {n} nodes, SIGKILL of the leader -> next committed order: {times} "
          f"(lost orders {sum(r['lost_orders'] for r in runs)})")
PY
echo "raw results in $OUT"
