#!/usr/bin/env bash
# Who sets the default rush's pace, the generator or its server? A causal
# test: the same default rush (100,000 visitors, 3,000 units) in three arms,
# in turns (a b c, b c a, c a b, ...):
#   a  nothing niced
#   b  the generator (and its bot farm, which it starts) at nice 10
#   c  the server at nice 10
# If the server sets the pace, the sell-out barely moves in b and grows in c;
# if the generator does, the other way round.
#   bench/pace.sh [FLOODGATE_BINARY]     (default: go build ./cmd/floodgate)
# Env: ROUNDS (3: each arm this many times), CONTINUE (a results folder of
# this script: more rounds into it), NICE (10), RUSH_ARGS (more flags of
# every rush, e.g. a small one to try the script), PROFILE (1: one more rush
# of arm a with --cpuprofile: the generator's profile in generator.pprof, its
# top and its syscalls in generator-top.txt and generator-syscalls.txt).
# Every arm starts its server here with the command line of `rush --demo`'s
# (rush/server.go StartServer), so that it alone can be niced, and rushes it
# with --target --admin-token --server-pid. Raw outputs go to
# bench/results/<UTC time>-pace/: run-N-ARM.json (the summary), run-N-ARM.err,
# load.txt (uptime and the busiest processes before each run: the machine is
# shared), busy.txt (the machine's busy CPU seconds over each run), pace.txt
# (each run's figures and each arm's medians; again from a results folder
# with `bench/pace.sh summarize DIR`). Needs go, curl, python3.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

# summarize DIR: a line of figures a run, by arm, and each arm's medians.
summarize() {
  python3 - "$1" <<'PY'
import glob, json, os, re, statistics, sys
d = sys.argv[1]
cols = [("sellout_seconds", "sellout s", 1), ("allocated_seconds", "taken s", 1),
        ("requests_per_second", "req/s", 1), ("generator_join_queue_p99_ms", "joinq p99", 1),
        ("generator_join_exchange_mean_ms", "join xchg", 1), ("server_join_mean_ms", "srv join", 1),
        ("generator_buy_exchange_mean_ms", "buy xchg", 1), ("server_buy_mean_ms", "srv buy", 1),
        ("generator_cpu_us_per_visitor", "gen us/vis", 1), ("generator_cpu_share", "gen cpu%", 100),
        ("server_cpu_share", "srv cpu%", 100), ("generator_sched_wait_over_1ms_share", "gen >1ms%", 100),
        ("server_sched_wait_over_1ms_share", "srv >1ms%", 100), ("bot_cpu_seconds", "bot cpu s", 1),
        ("busy_cores", "busy cores", 1), ("others_cores", "others' cor", 1)]
loads = {}
for block in open(os.path.join(d, "load.txt")).read().split("== ")[1:]:
    m = re.match(r"\S+ run (\S+) arm (\S)", block)
    la = re.search(r"load average: ([\d.]+)", block)
    if m and la:
        loads[m.group(1)] = float(la.group(1))
# The machine's busy cores over each run, and what the rush's own processes
# (generator, bot farm, server) took of them; the rest was others'.
busy = {}
if os.path.exists(os.path.join(d, "busy.txt")):
    for line in open(os.path.join(d, "busy.txt")):
        f = line.split()
        busy[f[1]] = (float(f[8]) - float(f[6])) / (float(f[7]) - float(f[5]))
runs = []
for f in sorted(glob.glob(os.path.join(d, "run-*.json"))):
    n, arm = re.match(r"run-(\w+)-(\w)\.json", os.path.basename(f)).groups()
    lines = open(f).read().strip().splitlines()
    if not lines:
        print(f"run {n} arm {arm}: no summary (see run-{n}-{arm}.err)")
        continue
    s = json.loads(lines[-1])
    if n in busy:
        # Cores: the machine's busy ones over the run, the others' (less the
        # generator's, the farm's and the server's over the visitors' time).
        s["busy_cores"] = busy[n]
        s["others_cores"] = busy[n] - os.cpu_count() * (s.get("generator_cpu_share", 0) + s.get("server_cpu_share", 0)) - s.get("bot_cpu_seconds", 0) / s["duration_seconds"]
    runs.append((n, arm, s))
runs.sort(key=lambda r: (r[0].isdigit() and int(r[0]) or 1e9))
w = max(len(c[1]) for c in cols)
head = "run arm load1 sold " + " ".join(f"{c[1]:>{w}}" for c in cols)
print(head)
def row(label, vals):
    return label + " " + " ".join(f"{v:>{w}.1f}" if v is not None else " " * (w - 1) + "-" for v in vals)
for n, arm, s in runs:
    vals = [s.get(k, 0) * m if k in s else None for k, _, m in cols]
    print(row(f"{n:>3} {arm:>3} {loads.get(n, 0):5.2f} {s.get('sold', 0):4d}", vals))
print("medians by arm (the profile run left out):")
for arm in "abc":
    rs = [s for n, a, s in runs if a == arm and n.isdigit()]
    if not rs:
        continue
    vals = [statistics.median(s[k] * m for s in rs) if all(k in s for s in rs) else None for k, _, m in cols]
    ls = [loads[n] for n, a, _ in runs if a == arm and n.isdigit() and n in loads]
    print(row(f"{'x' + str(len(rs)):>3} {arm:>3} {statistics.median(ls) if ls else 0:5.2f} {'':4}", vals))
PY
}
if [[ ${1:-} == summarize ]]; then
  summarize "${2:?results folder}"
  exit
fi

bench_init -pace
if [[ -n ${CONTINUE:-} ]]; then
  rmdir "$OUT"
  OUT=$CONTINUE
fi
BIN=${1:-}
if [[ -z $BIN ]]; then
  BIN=$WORK/floodgate
  go build -o "$BIN" ./cmd/floodgate || exit 1
fi
ROUNDS=${ROUNDS:-3} NICE=${NICE:-10}

# busy: seconds since boot and the CPU seconds all cores spent busy (not
# idle or waiting for I/O), from /proc/uptime and /proc/stat.
busy() {
  awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { up = $1; next } $1 == "cpu" { print up, ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/uptime /proc/stat
}

load() {
  { echo "== $(date -u +%H:%M:%S) $1"; uptime; top -bn1 -o %CPU | sed -n '7,12p'; } >> "$OUT/load.txt"
}

# rush N ARM [rush flags...]: one default rush against a server of its own.
rush() {
  local n=$1 arm=$2; shift 2
  local port token dir gen=() srv=()
  port=$(free_port) token=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  dir=$(mktemp -d "$WORK/node.XXXXXX")
  [[ $arm == b ]] && gen=(nice -n "$NICE")
  [[ $arm == c ]] && srv=(nice -n "$NICE")
  LOG_LEVEL=warn "${srv[@]}" "$BIN" serve --data-dir "$dir/node" --http-addr "127.0.0.1:$port" \
    --admin-token "$token" --dev --trusted-proxy 127.0.0.1/32 > "$dir/serve.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz"
  load "run $n arm $arm (server pid $pid, nice $(ps -o ni= -p "$pid" | tr -d ' '))"
  local cpu0
  cpu0=$(busy)
  timeout 600 "${gen[@]}" "$BIN" rush --target "http://127.0.0.1:$port" --admin-token "$token" \
    --server-pid "$pid" --json --quiet ${RUSH_ARGS:-} "$@" > "$OUT/run-$n-$arm.json" 2> "$OUT/run-$n-$arm.err"
  echo "rush exit $?" >> "$OUT/run-$n-$arm.err"
  echo "run $n machine busy seconds $cpu0 $(busy)" >> "$OUT/busy.txt"
  kill "$pid"
  wait "$pid" 2>/dev/null
  rm -rf "$dir"
}

n=$(find "$OUT" -name 'run-[0-9]*.json' | wc -l)
first=$((n / 3 + 1))
for r in $(seq "$first" $((first + ROUNDS - 1))); do
  case $((r % 3)) in 1) order="a b c" ;; 2) order="b c a" ;; 0) order="c a b" ;; esac
  for arm in $order; do
    n=$((n + 1))
    rush "$n" "$arm"
  done
done
if [[ ${PROFILE:-1} == 1 ]]; then
  rush profile a --cpuprofile "$OUT/generator.pprof"
  go tool pprof -top -nodecount=40 "$BIN" "$OUT/generator.pprof" > "$OUT/generator-top.txt" 2>&1
  go tool pprof -peek 'syscall.Syscall$' "$BIN" "$OUT/generator.pprof" > "$OUT/generator-syscalls.txt" 2>&1
fi
load end
summarize "$OUT" | tee "$OUT/pace.txt"
echo "results in $OUT"
