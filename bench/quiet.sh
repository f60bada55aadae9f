#!/usr/bin/env bash
# Two builds of Floodgate side by side on an otherwise idle machine, in
# turns (B E E B B E), so that a drift of the machine's load falls on both:
#   bench/quiet.sh BASE_DIR END_DIR [LABEL]
# Each directory holds the binaries of one build: floodgate, sale.test,
# store.test and http.test; `bench/quiet.sh build REV DIR` makes them from a
# commit (a detached worktree, removed afterwards).
# The run: the state machine (sale BenchmarkApplyBatch), the engine (store
# BenchmarkApply, and its peers ApplyRefused and RaftAlone where the build
# has them; Apply and RaftAlone again with the log on tmpfs), committed writes in process (http BenchmarkCommittedWrites),
# the default rush of each build in turns (E B E E B E E), holds and orders
# through wrk against hello world (writes-ab.sh), writes through a follower
# (follower.sh), and five more default rushes of the end build back to back.
# Env: WRITES_N (200000, writes-ab.sh's N), QUEUE_MEMORY (0; 1 adds a run of
# 1,000,000 waiting visitors with --queue-only for memory per visitor),
# FOLLOWER (1; 0 leaves follower.sh out), B2B (5).
# Raw outputs go to bench/results/<UTC time>-LABEL/ (LABEL: quiet), with the
# machine's load before each step in uptime.txt. Needs go, wrk, curl, python3.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == build ]]; then
  rev=${2:?commit} dir=${3:?directory}
  set -e
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  wt=$(mktemp -d)
  git worktree add -q --detach "$wt" "$rev"
  trap 'git worktree remove --force "$wt"' EXIT
  (cd "$wt" && go build -o "$dir/floodgate" ./cmd/floodgate &&
    for p in sale store http; do go test -c -o "$dir/$p.test" ./$p; done)
  exit
fi

B=${1:?base directory} E=${2:?end directory} LABEL=${3:-quiet}
for d in "$B" "$E"; do
  for f in floodgate sale.test store.test http.test; do
    [[ -x $d/$f ]] || { echo "$d/$f: missing (bench/quiet.sh build REV $d)" >&2; exit 2; }
  done
done
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$LABEL
mkdir -p "$OUT"
up() { echo "$(date -u +%H:%M:%S) $1 $(uptime)" >> "$OUT/uptime.txt"; }
bins() { if [[ $1 == E ]]; then echo "$E"; else echo "$B"; fi; }
up start
# Test binaries run in their package's folder, where their testdata is.
# TURNS_TAG names the output files instead of the package.
turns() { # package bench-args...
  local pkg=$1 tag=${TURNS_TAG:-$1}; shift
  for who in B E E B B E; do
    up "$tag $who"
    (cd "$pkg" && "$(bins $who)/$pkg.test" -test.run '^$' "$@" -test.benchmem) >> "$OUT/$tag-$who.txt" 2>&1
  done
}
turns sale -test.bench=ApplyBatch -test.benchtime=1000000x
turns store -test.bench='^Benchmark(Apply|ApplyRefused|RaftAlone)$' -test.benchtime=3s
# The engine again with its log in memory (tmpfs: fsync costs next to
# nothing), so that what the disk takes of a cycle shows by difference.
if [[ -d /dev/shm && -w /dev/shm ]]; then
  TMPDIR=/dev/shm TURNS_TAG=store-tmpfs turns store -test.bench='^Benchmark(Apply|RaftAlone)$' -test.benchtime=3s
fi
turns http -test.bench=CommittedWrites -test.benchtime=10000x
i=0
for who in E B E E B E E; do
  i=$((i+1))
  up "rush $i $who"
  timeout 600 "$(bins $who)/floodgate" rush --demo --json --quiet > "$OUT/rush-$i-$who.json" 2> "$OUT/rush-$i-$who.err"
done
up writes-ab
N=${WRITES_N:-200000} bench/writes-ab.sh "$B/floodgate" "$E/floodgate" > "$OUT/writes-ab.txt" 2>&1
if [[ ${FOLLOWER:-1} == 1 ]]; then
  up follower
  bench/follower.sh "$B/floodgate" "$E/floodgate" > "$OUT/follower.txt" 2>&1
fi
if [[ ${QUEUE_MEMORY:-0} == 1 ]]; then
  up queue-only
  "$E/floodgate" rush --demo --queue-only 1000000 --concurrency 128 > "$OUT/queue-memory.json" 2>&1
fi
for j in $(seq "${B2B:-5}"); do
  up "rush b2b $j"
  timeout 600 "$E/floodgate" rush --demo --json --quiet > "$OUT/rush-b2b-$j.json" 2> "$OUT/rush-b2b-$j.err"
done
up end
echo "$OUT"
