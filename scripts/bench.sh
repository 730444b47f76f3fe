#!/usr/bin/env bash
# End-to-end load benchmark: build sotto and sotto-load, start a fresh
# demo server (its own temp data directory, loopback port), drive it with
# sotto-load as real clients do, print the report, stop the server.
#
# Usage: scripts/bench.sh [sqlite|postgres] [SOTTO-LOAD FLAGS...]
#   SCENARIO="small"      which standard scenarios to run, in order, against
#                         the same server (patients are reused between them):
#                           small   200 patients,    2 staff,  100 msg/s, 20 s
#                           medium  2000 patients,   5 staff,  500 msg/s, 60 s
#                           large   10000 patients, 10 staff, 2000 msg/s, 60 s
#                           idle    10,000 connections held (100 patients ×
#                                   100 devices) at 10 msg/s for 5 s: the
#                                   server's RSS per idle connection
#                         Extra flags go after the scenario's and override
#                         them, e.g. scripts/bench.sh sqlite --patients 50 --rate 50 --duration 10s
#   SOTTO_BENCH_LOG_LEVEL server log level (default info: access logs are part of the cost)
#   KEEP=1                keep the data directory (server logs, load state)
#
# Each scenario first makes its patient accounts (sotto-load --setup-only,
# saved in a state file), then restarts the server and measures, so that
# memory figures do not include the argon2id hashing of account setup.
#
# postgres uses SOTTO_TEST_POSTGRES, or runs itself inside scripts/test-env.sh
# (a throwaway PostgreSQL 15); a fresh database is created in that cluster
# when psql is available. The demo sign-in used is the nurse's (Nursing).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"

DB=${1:-sqlite}
[[ $# -gt 0 ]] && shift
case "$DB" in
sqlite | postgres) ;;
*)
	echo "usage: $0 [sqlite|postgres] [sotto-load flags...]" >&2
	exit 2
	;;
esac
log() { echo "bench: $*" >&2; }

if [[ "$DB" == postgres && -z "${SOTTO_TEST_POSTGRES:-}" ]]; then
	if [[ -z "${SOTTO_BENCH_IN_ENV:-}" ]]; then
		log "no SOTTO_TEST_POSTGRES: running inside scripts/test-env.sh"
		SOTTO_BENCH_IN_ENV=1 exec bash scripts/test-env.sh bash "$0" postgres "$@"
	fi
	log "no PostgreSQL available"
	exit 1
fi

WORK=$(mktemp -d /tmp/sotto-bench.XXXXXX)
DATA="$WORK/data"
BIN="$WORK/bin"
SERVER_PID=""
PG_DB=""
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
	local rc=$?
	if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ -n "$PG_DB" ]]; then
		"$PSQL" "$SOTTO_TEST_POSTGRES" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
	fi
	if [[ "${KEEP:-}" == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf -- "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
	echo $((20000 + RANDOM % 30000))
}

log "building sotto and sotto-load"
go build -o "$BIN/sotto" ./cmd/sotto
go build -o "$BIN/sotto-load" ./cmd/sotto-load

DB_ARGS=()
if [[ "$DB" == postgres ]]; then
	DSN="$SOTTO_TEST_POSTGRES"
	if [[ -x "$PSQL" ]]; then
		PG_DB="sotto_bench_$$"
		"$PSQL" "$SOTTO_TEST_POSTGRES" -q -c "CREATE DATABASE $PG_DB" >/dev/null
		DSN=$(echo "$SOTTO_TEST_POSTGRES" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?#\1/$PG_DB#")
	else
		log "no psql: using the database of SOTTO_TEST_POSTGRES as it is (it must be empty)"
	fi
	DB_ARGS=(--database "$DSN")
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

# start_server runs sotto serve --demo in the background (SERVER_PID) and
# waits until it listens. On a restart the demo is already seeded.
start_server() {
	"$BIN/sotto" serve --demo --data "$DATA" --addr "127.0.0.1:$PORT" "${DB_ARGS[@]}" \
		--log-format json --log-level "${SOTTO_BENCH_LOG_LEVEL:-info}" >>"$WORK/serve.out" 2>>"$WORK/serve.log" &
	SERVER_PID=$!
	local i
	for i in $(seq 1 120); do
		[[ $(grep -c "sotto is listening" "$WORK/serve.out" 2>/dev/null) -ge $1 ]] && return 0
		if ! kill -0 "$SERVER_PID" 2>/dev/null || [[ $i -eq 120 ]]; then
			log "the server did not start:"
			tail -n 20 "$WORK/serve.out" "$WORK/serve.log" >&2 || true
			exit 1
		fi
		sleep 0.5
	done
}

stop_server() {
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

log "starting sotto serve --demo on $URL ($DB, data in $DATA)"
STARTS=1
start_server "$STARTS"

STAFF_EMAIL=nurse@lakeside.example
TOTP_URI=$(awk -v e="$STAFF_EMAIL" '$1 == e { print $2 }' "$WORK/serve.out")
if [[ -z "$TOTP_URI" ]]; then
	log "no sign-in for $STAFF_EMAIL in the demo output"
	exit 1
fi
export SOTTO_LOAD_STAFF_PASSWORD="harbor violet quartz 71" # the demo's published password
export SOTTO_LOAD_STAFF_TOTP="$TOTP_URI"

status=0
for scenario in ${SCENARIO:-small}; do
	case "$scenario" in
	small) ARGS=(--patients 200 --staff 2 --rate 100 --duration 20s) ;;
	medium) ARGS=(--patients 2000 --staff 5 --rate 500 --duration 60s) ;;
	large) ARGS=(--patients 10000 --staff 10 --rate 2000 --duration 60s --source-addrs 127.0.0.2-127.0.0.20) ;;
	idle) ARGS=(--patients 100 --devices-per-patient 100 --staff 2 --rate 10 --duration 5s --warmup 0s --grace 2s --source-addrs 127.0.0.2-127.0.0.5) ;;
	*)
		log "unknown scenario $scenario (small, medium, large, idle)"
		exit 2
		;;
	esac
	log "scenario $scenario: ${ARGS[*]} $*"
	# Patient accounts first (argon2id-heavy), then a server restart, so
	# that the measured run starts from a clean memory baseline.
	"$BIN/sotto-load" --url "$URL" --staff-email "$STAFF_EMAIL" --state "$WORK/load-state.json" \
		"${ARGS[@]}" "$@" --setup-only >&2
	log "restarting the server for a clean baseline"
	stop_server
	STARTS=$((STARTS + 1))
	start_server "$STARTS"
	"$BIN/sotto-load" --url "$URL" --staff-email "$STAFF_EMAIL" --server-pid "$SERVER_PID" \
		--state "$WORK/load-state.json" "${ARGS[@]}" "$@" || status=$?
done
errors=$(grep -c '"level":"ERROR"' "$WORK/serve.log" || true)
log "server logged $errors error lines"
[[ "$errors" -gt 0 ]] && grep '"level":"ERROR"' "$WORK/serve.log" | head -n 5 >&2
exit "$status"
