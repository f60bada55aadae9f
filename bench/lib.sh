# Sourced by the bench scripts (run.sh, sinks.sh): the results and work
# folders, the clean-up of everything a script starts, and the helpers they
# share. Not a script of its own.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# bench_init SUFFIX: OUT=bench/results/<UTC time>SUFFIX, WORK=a fresh
# folder under /tmp; every pid added to PIDS, and the PostgreSQL started by
# start_pg, is stopped on exit.
bench_init() {
  OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)$1
  mkdir -p "$OUT"
  WORK=$(mktemp -d /tmp/floodgate-bench.XXXXXX)
  chmod 755 "$WORK"
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -f $WORK/pg/postmaster.pid ]]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# need COMMAND PACKAGE: stop unless COMMAND is installed.
need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing; install it (Debian: $2)" >&2; exit 1; }; }
need_pg() { [[ -x $PGBIN/initdb ]] || { echo "bench: no PostgreSQL 15 in $PGBIN; install postgresql-15" >&2; exit 1; }; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL: up to 20 s for URL to answer 2xx.
wait_http() { for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "bench: $1 did not come up" >&2; exit 1; }
# json FIELD: FIELD of the JSON object on the last line of stdin.
json() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

# start_hello: the hello-world Go server (bench/hello, built into $WORK) on
# a free port, HELLO_PORT.
start_hello() {
  go build -o "$WORK/hello" ./bench/hello
  HELLO_PORT=$(free_port)
  "$WORK/hello" -addr "127.0.0.1:$HELLO_PORT" & PIDS+=($!)
  wait_http "http://127.0.0.1:$HELLO_PORT/"
}

# start_pg PORT [SERVER OPTIONS]: a fresh PostgreSQL 15 in $WORK/pg, run as
# the postgres user, listening on PORT and on a socket in $WORK/pgsock.
start_pg() {
  mkdir -p "$WORK/pg" "$WORK/pgsock"; chown postgres "$WORK/pg" "$WORK/pgsock"
  runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust >"$OUT/initdb.log" 2>&1
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pgsock/log" -w \
    -o "-p $1 -k $WORK/pgsock $2" start >/dev/null
}
