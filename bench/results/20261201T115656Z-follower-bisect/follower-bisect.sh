#!/usr/bin/env bash
# Which change between 57d0956 and 44e6579 makes writes through a follower
# slower (issue 16)? Interleaved turns of six binaries through
# bench/follower.sh, every cluster at the same fixed load (RATE), only the
# paced runs (l f f l), one client binary for all. Run it on a quiet machine:
#
#   /work/coord/follower-bisect.sh            # ~10-13 minutes (12 clusters)
#   ROUNDS=3 RATE=1700 /work/coord/follower-bisect.sh
#
# Binaries (built into $BIN if missing, from git, in throwaway worktrees):
#   start    57d0956 (round 11's start)
#   end      44e6579 (round 12's base)
#   nozero   44e6579 with raft-wal's plain file system (no zeroed segments)
#   nostream 44e6579 with f6d6920 and 3cdb39a reverted (the stream's lifetimes)
#   norid    44e6579 with 966889b reverted (no X-Request-Id sent to the leader)
#   main     /work/main's HEAD when the script runs
# Round r runs the clusters in the order above, reversed in even rounds
# (drift of the machine cancels out). Output: bench/results/<UTC>-follower-bisect/
# in /work/main: README.md, round-N/ (bench/follower.sh's own folders),
# summary.txt (per binary: follower and leader hold p50 at the fixed load,
# their ratio per cluster, node CPU per reservation).
# Env: ROUNDS (2), RATE (1700 reservations/s), BUYERS (6000), BIN (/tmp/r12-follower),
# NAMES (a subset of the binaries, to try the script), REPO (/work/main),
# BUILD_ONLY=1 (build the missing binaries and stop).
set -euo pipefail
REPO=${REPO:-/work/main}
ROUNDS=${ROUNDS:-2} RATE=${RATE:-1700} BUYERS=${BUYERS:-6000} BIN=${BIN:-/tmp/r12-follower}
read -ra NAMES <<<"${NAMES:-start end nozero nostream norid main}"
cd "$REPO"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$REPO/bench/results/$STAMP-follower-bisect
mkdir -p "$OUT" "$BIN"

# build NAME: the binary $BIN/NAME, unless it is there already (main always).
build() {
  local n=$1 wt
  if [[ $n != main && -x $BIN/$n ]]; then return; fi
  wt=$(mktemp -d /tmp/follower-bisect-wt.XXXXXX)
  rmdir "$wt"
  case $n in
    start) git worktree add -q --detach "$wt" 57d0956 ;;
    main) git worktree add -q --detach "$wt" HEAD ;;
    *) git worktree add -q --detach "$wt" 44e6579 ;;
  esac
  (
    cd "$wt"
    git config user.email >/dev/null || export GIT_AUTHOR_NAME=bisect GIT_AUTHOR_EMAIL=bisect@localhost GIT_COMMITTER_NAME=bisect GIT_COMMITTER_EMAIL=bisect@localhost
    revert() { # revert COMMIT: conflicts only in tests, which the binary does not need
      git revert --no-edit "$1" >/dev/null 2>&1 || {
        git checkout --ours -- $(git diff --name-only --diff-filter=U) && git add -A && git -c core.editor=true revert --continue >/dev/null
      }
    }
    case $n in
      nozero)
        python3 - <<'PY'
p = "store/disklog.go"
s = open(p).read()
old = """, raftwal.WithLogger(walLog),
		raftwal.WithSegmentFiler(segment.NewFiler(walDir, newZeroAheadFS())))"""
assert old in s, "openWAL changed"
open(p, "w").write(s.replace(old, """, raftwal.WithLogger(walLog))
	_ = segment.NewFiler"""))
PY
        ;;
      nostream) revert 3cdb39a; revert f6d6920 ;;
      norid) revert 966889b ;;
    esac
    go build -o "$BIN/$n" ./cmd/floodgate
    git log --oneline -3 >"$BIN/$n.commits"
    git diff 44e6579 --stat -- ':!*_test.go' >>"$BIN/$n.commits" || true
  )
  git worktree remove --force "$wt"
}
for n in "${NAMES[@]}"; do build "$n"; done
if [[ -n ${BUILD_ONLY:-} ]]; then rmdir "$OUT" 2>/dev/null || true; exit 0; fi

{
  echo "# Writes through a follower: which change (issue 16)"
  echo
  echo "$(date -u) on $(hostname), $(nproc) cores. Script: /work/coord/follower-bisect.sh"
  echo "ROUNDS=$ROUNDS RATE=$RATE reservations/s BUYERS=$BUYERS; bench/follower.sh with SATURATED=0 (paced runs l f f l"
  echo "only, every cluster at RATE), client: \`$BIN/end rush\` for all."
  echo
  echo "| binary | what |"
  echo "|---|---|"
  echo "| start | 57d0956 (round 11's start) |"
  echo "| end | 44e6579 (round 12's base) |"
  echo "| nozero | 44e6579, store/disklog.go openWAL without WithSegmentFiler(zeroAheadFS): raft-wal's plain file system |"
  echo "| nostream | 44e6579 with f6d6920 and 3cdb39a reverted (forward stream's lifetimes, pings, leader closes on leadership change) |"
  echo "| norid | 44e6579 with 966889b reverted (the follower does not send its X-Request-Id) |"
  echo "| main | $(git log --oneline -1 HEAD) (main when the script ran) |"
  echo
  echo "Binaries' commits: *.commits next to this file. round-N/: bench/follower.sh's folders (runs.jsonl, node logs)."
  echo "summary.txt: per binary, means over its clusters."
} >"$OUT/README.md"
for n in "${NAMES[@]}"; do cp "$BIN/$n.commits" "$OUT/$n.commits" 2>/dev/null || true; done
echo "load at start: $(uptime)" | tee "$OUT/machine.txt"

for r in $(seq "$ROUNDS"); do
  order=("${NAMES[@]}")
  if ((r % 2 == 0)); then order=(); for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do order+=("${NAMES[$i]}"); done; fi
  bins=()
  for n in "${order[@]}"; do bins+=("$BIN/$n"); done
  before=$(ls -d bench/results/*-follower 2>/dev/null | sort | tail -1 || true)
  SATURATED=0 RATE=$RATE BUYERS=$BUYERS RUSH=$BIN/end ROUNDS=1 bench/follower.sh "${bins[@]}" | tee "$OUT/round-$r.txt"
  after=$(ls -d bench/results/*-follower | sort | tail -1)
  if [[ $after != "$before" ]]; then mv "$after" "$OUT/round-$r"; fi
  echo "load after round $r: $(uptime)" | tee -a "$OUT/machine.txt"
done

python3 - "$OUT" "${NAMES[@]}" <<'PY' | tee "$OUT/summary.txt"
import collections, glob, json, os, re, sys
out = sys.argv[1]
rows = collections.defaultdict(list)  # binary -> [(round, {target: run})]
moved = []
for d in sorted(glob.glob(os.path.join(out, "round-*"))):
    if not os.path.isdir(d):
        continue
    names = {}
    for l in open(os.path.join(d, "summary.txt")):
        m = re.match(r"(b\d+) = (.*)", l.strip())
        if m:
            names[m.group(1)] = os.path.basename(m.group(2))
    per = collections.defaultdict(lambda: collections.defaultdict(list))
    for l in open(os.path.join(d, "runs.jsonl")):
        r = json.loads(l)
        b = names.get(r["binary"].split("-")[0], r["binary"])
        if r.get("leader_changed"):
            moved.append(f"{os.path.basename(d)} {b}")
            per.pop(b, None)
            continue
        per[b][r["target"]].append(r)
    for b, t in per.items():
        rows[b].append((os.path.basename(d), t))
mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
node = lambda r: sum(v for k, v in r["cpu_us_per_reservation"].items() if k != "rush")
print(f"{'binary':9s} clusters  follower p50 ms (per cluster)      leader p50 ms   f/l ratio per cluster   f/l mean  node CPU us/res f / l")
for b in sys.argv[2:]:
    cl = rows.get(b, [])
    fs = [mean([r["hold_p50_ms"] for r in t["follower paced"]]) for _, t in cl if t["follower paced"] and t["leader paced"]]
    ls = [mean([r["hold_p50_ms"] for r in t["leader paced"]]) for _, t in cl if t["follower paced"] and t["leader paced"]]
    fc = mean([node(r) for _, t in cl for r in t["follower paced"]])
    lc = mean([node(r) for _, t in cl for r in t["leader paced"]])
    ratios = [f / l for f, l in zip(fs, ls)]
    print(f"{b:9s} {len(fs):8d}  {mean(fs):5.1f} ({' '.join(f'{x:.1f}' for x in fs):22s})  {mean(ls):5.1f}           "
          f"{' '.join(f'{x:.2f}' for x in ratios):22s}  {mean(ratios):5.2f}     {fc:4.0f} / {lc:4.0f}")
for m in moved:
    print(f"left out (leader changed under load): {m}")
PY
echo "load at end: $(uptime)" | tee -a "$OUT/machine.txt"
echo "results: $OUT"
