#!/usr/bin/env bash
# Writes through a follower against writes to the leader, in one run:
#   bench/follower.sh [BINARY...]
# For each round and each binary (default: one built from this tree), a fresh
# 3-node cluster on loopback; `floodgate rush --bench-orders` runs against the
# leader, a follower, the follower again and the leader (L F F L, so that a
# drift of the machine's load cancels out), and prints per run the rate, hold
# p50/p99, and over a window of the timed phase the CPU each process spent
# per reservation (hold + order), the Raft commands per log entry, and the
# mean time from proposing an entry to its apply on the leader
# (raft_entry_ms: the commit cycle a write waits through). Then the same
# four runs again at a fixed load (l f f l): reservations started
# at SHARE of the leader's saturated rate, whether or not earlier ones are
# answered (--bench-rate). At saturation a latency only mirrors the
# throughput (requests in flight / rate); at a fixed load it is the time a
# write takes. The summary is the follower/leader hold p50 per cluster, at
# saturation and at the fixed load: on a shared machine absolute numbers
# are noise, the ratio in one cluster is the figure.
# RATE, when given, is the fixed load of every cluster instead (so that
# binaries of different speeds are compared at one load), and SATURATED=0
# leaves out the saturated runs (then RATE is needed). RUSH: the binary whose
# `floodgate rush` is the client of every cluster (default: each cluster's own).
# Env: ROUNDS (2), BUYERS (6000), CONNS (64), WINDOW (3 s), SHARE (0.5), PACED (1;
# 0 leaves out the runs at a fixed load), RATE, SATURATED (1), RUSH.
# Raw outputs go to bench/results/<UTC time>-follower/. Needs go, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-2} BUYERS=${BUYERS:-6000} CONNS=${CONNS:-64} WINDOW=${WINDOW:-3} SHARE=${SHARE:-0.5} PACED=${PACED:-1}
RATE=${RATE:-0} SATURATED=${SATURATED:-1}
if ((SATURATED == 0)) && [[ $RATE == 0 || $PACED == 0 ]]; then
  echo "bench: SATURATED=0 needs RATE and PACED=1" >&2; exit 2
fi
need curl curl; need python3 python3
bench_init -follower
BINS=("$@")
if ((${#BINS[@]} == 0)); then
  go build -o "$WORK/floodgate" ./cmd/floodgate
  BINS=("$WORK/floodgate")
fi
TOKEN=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "load at start: $(uptime)" | tee "$OUT/machine.txt"

# cpu PID...: user+system ticks of each process.
cpu() { for p in "$@"; do awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0; done | tr '\n' ' '; }
# metrics URL: the figures this script reads from a node, as JSON.
metrics() {
  curl -fsS -H "Authorization: Bearer $TOKEN" "$1/metrics" | python3 -c '
import json, sys
want = ("floodgate_holds_created_total", "floodgate_raft_batch_commands_sum", "floodgate_raft_batch_commands_count",
        "floodgate_raft_apply_seconds_sum", "floodgate_raft_apply_seconds_count")
print(json.dumps({n: float(v) for n, _, v in (l.rpartition(" ") for l in sys.stdin if not l.startswith("#")) if n in want}))'
}
holds() { metrics "$1" | python3 -c 'import json,sys; print(int(json.load(sys.stdin).get("floodgate_holds_created_total", 0)))'; }

# cluster BIN LABEL: a fresh 3-node cluster of BIN; runs L F F L.
cluster() {
  local bin=$1 label=$2 i http raft urls=() pids=() args
  for i in 1 2 3; do
    http=$(free_port) raft=$(free_port)
    args=(serve --node-id "n$i" --data-dir "$WORK/$label/n$i" --raft-addr "127.0.0.1:$raft"
      --http-addr "127.0.0.1:$http" --admin-token "$TOKEN" --dev --trusted-proxy 127.0.0.1/32
      --request-rate 1000000000 --request-burst 1000000000 --join-rate 1000000000 --join-burst 1000000000)
    if ((i == 1)); then args+=(--bootstrap); else args+=(--join "${urls[0]}"); fi
    "$bin" "${args[@]}" >"$OUT/$label-n$i.log" 2>&1 &
    PIDS+=($!) pids+=($!) urls+=("http://127.0.0.1:$http")
    wait_http "http://127.0.0.1:$http/healthz"
  done
  local leader=""
  for _ in $(seq 300); do
    leader=$(curl -fsS -H "Authorization: Bearer $TOKEN" "${urls[0]}/api/v1/cluster" 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(int(c["leader"][1:]) - 1 if c["leader"] and len(c["nodes"]) == 3 and all(m["http_addr"] for m in c["nodes"]) else "")' || true)
    [[ -n $leader ]] && break
    sleep 0.1
  done
  [[ -n $leader ]] || { echo "bench: the cluster did not form" >&2; exit 1; }
  # now_leader: the index of the node n1 names leader now.
  now_leader() {
    curl -fsS -H "Authorization: Bearer $TOKEN" "${urls[0]}/api/v1/cluster" 2>/dev/null |
      python3 -c 'import json,sys; c=json.load(sys.stdin); print(int(c["leader"][1:]) - 1 if c["leader"] else "")' || true
  }
  local L=$leader F=$(((leader + 1) % 3)) O=$(((leader + 2) % 3)) o t rp c0 a b m0 m1 h0 h1 t0 t1 rate=$RATE pace=()
  local runs=()
  if ((SATURATED)); then runs+=(L F F L); fi
  if ((PACED)); then runs+=(l f f l); fi
  for o in "${runs[@]}"; do
    if [[ $o == [Ll] ]]; then t=${urls[$L]}; else t=${urls[$F]}; fi
    if [[ $o == [lf] && ${#pace[@]} == 0 ]]; then
      if [[ $rate == 0 ]]; then
        # The fixed load: SHARE of the leader's saturated rate in this cluster.
        rate=$(python3 -c 'import json,sys; r=[json.loads(open(f).read().strip().splitlines()[-1])["per_second"] for f in sys.argv[2:]]; print(round(float(sys.argv[1])*sum(r)/len(r)))' "$SHARE" "$OUT/$label-L.json" "$OUT/$label-L2.json")
      fi
      pace=(--bench-rate "$rate")
    fi
    local res=$OUT/$label-$o.json
    if [[ -e $res ]]; then res=$OUT/$label-${o}2.json; fi
    c0=$(holds "${urls[$L]}")
    "${RUSH:-$bin}" rush --quiet --target "$t" --admin-token "$TOKEN" --bench-orders "$BUYERS" --concurrency "$CONNS" "${pace[@]}" >"$res" &
    rp=$!
    # The window starts once the timed phase has (300 holds on the leader).
    while kill -0 "$rp" 2>/dev/null && (($(holds "${urls[$L]}") < c0 + 300)); do sleep 0.05; done
    a=$(cpu "${pids[$L]}" "${pids[$F]}" "${pids[$O]}" "$rp") m0=$(metrics "${urls[$L]}") t0=$(date +%s.%N)
    sleep "$WINDOW"
    b=$(cpu "${pids[$L]}" "${pids[$F]}" "${pids[$O]}" "$rp") m1=$(metrics "${urls[$L]}") t1=$(date +%s.%N)
    wait "$rp"
    if [[ $(now_leader) != "$L" ]]; then
      # An election under load moved the leader: this cluster's runs no
      # longer compare the two roles.
      echo "{\"binary\": \"$label\", \"leader_changed\": true}" | tee -a "$OUT/runs.jsonl"
      break
    fi
    python3 - "$label" "$o" "$res" "$a" "$b" "$m0" "$m1" "$t0" "$t1" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY' | tee -a "$OUT/runs.jsonl"
import json, sys
label, o, res, a, b, m0, m1, t0, t1, load = sys.argv[1:]
r = json.loads(open(res).read().strip().splitlines()[-1])
m0, m1 = json.loads(m0), json.loads(m1)
n = m1["floodgate_holds_created_total"] - m0["floodgate_holds_created_total"]
# A process that has exited before the window's end reads as 0 ticks: its
# figure is unknown (null), not negative.
ticks = [int(y) - int(x) if int(y) >= int(x) else None for x, y in zip(a.split(), b.split())]
us = [None if t is None else round(t * 10000 / max(n, 1)) for t in ticks]  # 100 ticks/s
entries = m1["floodgate_raft_batch_commands_count"] - m0["floodgate_raft_batch_commands_count"]
cmds = m1["floodgate_raft_batch_commands_sum"] - m0["floodgate_raft_batch_commands_sum"]
print(json.dumps({"binary": label, "target": {"L": "leader", "F": "follower", "l": "leader paced", "f": "follower paced"}[o],
    "rate": r.get("rate", 0), "load": float(load),
    "per_second": round(r["per_second"]), "hold_p50_ms": r["hold_p50_ms"], "hold_p99_ms": r["hold_p99_ms"],
    "failed": r["failed"], "lost_orders": r["lost_orders"],
    "window_per_second": round(n / (float(t1) - float(t0))),
    "cpu_us_per_reservation": {"leader": us[0], "follower": us[1], "other": us[2], "rush": us[3]},
    "raft_commands_per_entry": round(cmds / max(entries, 1), 1),
    "raft_entry_ms": round(1000 * (m1.get("floodgate_raft_apply_seconds_sum", 0) - m0.get("floodgate_raft_apply_seconds_sum", 0))
                           / max(m1.get("floodgate_raft_apply_seconds_count", 0) - m0.get("floodgate_raft_apply_seconds_count", 0), 1), 2)}))
PY
  done
  stop_nodes "${pids[@]}"
}
stop_nodes() {
  local p keep=()
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

for r in $(seq "$ROUNDS"); do
  for i in "${!BINS[@]}"; do cluster "${BINS[$i]}" "b$i-r$r"; done
done
echo "load at end: $(uptime)" | tee -a "$OUT/machine.txt"
python3 - "$OUT/runs.jsonl" "${BINS[@]}" <<'PY' | tee "$OUT/summary.txt"
import json, sys, collections
runs = [json.loads(l) for l in open(sys.argv[1])]
moved = {r["binary"] for r in runs if r.get("leader_changed")}
by = collections.defaultdict(lambda: collections.defaultdict(list))
for r in runs:
    if r["binary"] not in moved:
        by[r["binary"]][r["target"]].append(r)
for i, path in enumerate(sys.argv[2:]):
    print(f"b{i} = {path}")
for label in sorted(moved):
    print(f"{label}: left out, the leader changed during its runs")
nodes = lambda rs: sum(sum(v or 0 for k, v in r["cpu_us_per_reservation"].items() if k != "rush") for r in rs) / len(rs)
mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)
for label, t in by.items():
    for how, fk, lk in (("saturated", "follower", "leader"), ("fixed load", "follower paced", "leader paced")):
        if not t[fk] or not t[lk]:
            continue
        f, l = mean(t[fk], "hold_p50_ms"), mean(t[lk], "hold_p50_ms")
        rate = f" at {t[lk][0]['rate']:.0f} reservations/s" if t[lk][0].get("rate") else ""
        print(f"{label} {how}{rate}: follower/leader hold p50 {f / l:.2f}x ({f:.1f} / {l:.1f} ms), "
              f"p99 {mean(t[fk], 'hold_p99_ms') / mean(t[lk], 'hold_p99_ms'):.2f}x; "
              f"node CPU per reservation {nodes(t[fk]):.0f} / {nodes(t[lk]):.0f} us")
PY
