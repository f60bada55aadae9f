#!/usr/bin/env bash
# The whole test suite: what `make test` and CI run.
#
# On a Debian machine where we are root, it first installs what the tests
# need (Chromium for the browser tests, CJK fonts for Korean pages). Tests that
# need a missing dependency fail when CI=true; they never skip silently there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
dpkg -s fonts-inter >/dev/null 2>&1 || need+=(fonts-inter)
command -v redis-server >/dev/null || need+=(redis-server)
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need+=(postgresql)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing test dependencies: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing test dependencies: ${need[*]} (install them, e.g. apt-get install -y ${need[*]})" >&2
    [[ ${CI:-} == true ]] && exit 1
  fi
fi

echo "== lint (gofmt, go vet, staticcheck)"
./scripts/lint.sh

echo "== unit, integration and end-to-end tests (race detector on)"
go test -race -timeout 15m -count=1 ./... 2>&1 | tee /tmp/floodgate-test.log

# Some tests cannot run under the race detector, which changes what
# allocates and drops pooled items at random: the allocation counts of hot
# paths, and the full-size property runs. They skip there (raceEnabled in a
# package's race_test.go), so each such package runs once more without it.
norace=$(grep -rl --include='race_test.go' '^const raceEnabled = true' . | xargs -rn1 dirname | sort -u)
if [[ -n $norace ]]; then
  echo "== tests the race detector leaves out:" $norace
  go test -count=1 $norace
fi

# Every fuzz target also runs briefly with the fuzzer on (the seed corpus ran
# above as ordinary tests). FUZZTIME=0 skips this step.
FUZZTIME=${FUZZTIME:-4s}
if [[ $FUZZTIME != 0 ]]; then
  echo "== fuzzing each target for $FUZZTIME"
  grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
    for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
      echo "-- $dir $fn"
      fuzz() { go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=5s "$dir" >/tmp/floodgate-fuzz.log 2>&1; }
      if ! fuzz; then
        # Go's fuzzing coordinator sometimes stops at its deadline with
        # "context deadline exceeded" and no input found; that run is tried
        # once more. A failing input is never retried: it fails the run.
        if grep -q 'context deadline exceeded' /tmp/floodgate-fuzz.log && ! grep -q 'Failing input written' /tmp/floodgate-fuzz.log; then
          echo "   (the fuzzer stopped at its deadline without an input; once more)"
          fuzz || { cat /tmp/floodgate-fuzz.log; exit 1; }
        else
          cat /tmp/floodgate-fuzz.log; exit 1
        fi
      fi
    done
  done
fi

passed=$(grep -c '^ok ' /tmp/floodgate-test.log || true)
failed=$(grep -c '^FAIL' /tmp/floodgate-test.log || true)
echo "packages: $passed passed, $failed failed"
