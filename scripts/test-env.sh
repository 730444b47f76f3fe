#!/usr/bin/env bash
# Run a command inside a throwaway test environment:
#   - a private PostgreSQL 15 cluster on 127.0.0.1 (exported as SOTTO_TEST_POSTGRES)
#   - headless Chromium (exported as SOTTO_TEST_CHROMIUM)
# The cluster is always stopped and its data removed on exit, and the script
# exits with the command's own exit status.
#
# Usage: scripts/test-env.sh COMMAND [ARGS...]
#   e.g. scripts/test-env.sh go test -race -count=1 ./...
#
# Under CI=true, failing to obtain PostgreSQL or Chromium fails the run.
# Otherwise a loud warning is printed and the command runs without them.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 COMMAND [ARGS...]" >&2
	exit 2
fi

# Make sure the Go toolchain is reachable for the wrapped command.
command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"

PG_BIN=/usr/lib/postgresql/15/bin
# SOTTO_TEST_CHROMIUM may point at another browser binary; both variables are
# (re)exported below only when the component is really available.
CHROMIUM=${SOTTO_TEST_CHROMIUM:-/usr/bin/chromium}
unset SOTTO_TEST_POSTGRES SOTTO_TEST_CHROMIUM
IS_CI=false
[[ "${CI:-}" == "true" ]] && IS_CI=true
IS_ROOT=false
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=true

log() { echo "test-env: $*" >&2; }

# A missing component is fatal in CI, a loud warning elsewhere.
# Returns non-zero (outside CI) so callers can skip that component.
unavailable() {
	if $IS_CI; then
		log "ERROR: $* (CI=true: refusing to run tests without it)"
		exit 1
	fi
	log "################################################################"
	log "WARNING: $*"
	log "WARNING: continuing WITHOUT it; the tests that need it will skip."
	log "################################################################"
	return 1
}

# apt-get install, as root only; 'apt-get update' runs at most once.
APT_UPDATED=false
apt_install() {
	if ! $IS_ROOT; then
		log "not root: cannot apt-get install $*"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! $APT_UPDATED; then
		log "apt-get update"
		apt-get update -q >&2 || return 1
		APT_UPDATED=true
	fi
	log "apt-get install -y $*"
	apt-get install -y -q "$@" >&2
}

# ---- PostgreSQL 15 binaries --------------------------------------------
have_pg() {
	[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/pg_isready" ]]
}
PG_OK=false
if have_pg || { apt_install postgresql-15 && have_pg; }; then
	PG_OK=true
else
	unavailable "PostgreSQL 15 server binaries not found in $PG_BIN and could not be installed" || true
fi
# initdb refuses to run as root, so as root we need the 'postgres' user.
if $PG_OK && $IS_ROOT && ! id -u postgres >/dev/null 2>&1; then
	PG_OK=false
	unavailable "running as root but there is no 'postgres' user to run initdb as" || true
fi

# ---- Chromium -----------------------------------------------------------
have_chromium() { [[ -x "$CHROMIUM" ]]; }
CHROMIUM_OK=false
if have_chromium || { [[ "$CHROMIUM" == /usr/bin/chromium ]] && apt_install chromium && have_chromium; }; then
	# Smoke test: the binary must really start headless (~1-2 s). A throwaway
	# profile keeps it from writing to ~/.config.
	profile=$(mktemp -d /tmp/sotto-chromium.XXXXXX)
	dom=$(cd /tmp && timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update --no-first-run \
		--user-data-dir="$profile" --dump-dom about:blank 2>/dev/null) || dom=""
	rm -rf -- "$profile"
	if [[ "$dom" == *"<body>"* ]]; then
		CHROMIUM_OK=true
	else
		unavailable "Chromium at $CHROMIUM failed a headless smoke test (--dump-dom about:blank)" || true
	fi
else
	unavailable "Chromium not found at $CHROMIUM and could not be installed" || true
fi

# ---- Throwaway cluster ------------------------------------------------------
PG_TMP=""
PG_STARTED=false

# Run a command as the cluster owner (postgres when we are root).
as_pg() {
	if $IS_ROOT; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
	local rc=$?
	if $PG_STARTED; then
		log "stopping PostgreSQL"
		(cd / && as_pg "$PG_BIN/pg_ctl" stop -D "$PG_TMP/data" -m fast -w >/dev/null) ||
			log "WARNING: pg_ctl stop failed"
	fi
	if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
		rm -rf -- "$PG_TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

# Print a free TCP port on 127.0.0.1.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	# Fallback: probe with bash's /dev/tcp; a refused connect means the port is free.
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	return 1
}

start_pg() {
	# Keep the path short: the unix socket path lives in here (~107 byte limit).
	# (set -e does not apply inside this function: check each step.)
	PG_TMP=$(mktemp -d /tmp/sotto-pg.XXXXXX) || return 1
	if $IS_ROOT; then
		chown postgres: "$PG_TMP" || return 1
	fi
	local port
	port=$(free_port) || { log "could not find a free port"; return 1; }

	# Subshells cd to the temp dir so postgres never needs access to our cwd.
	(cd "$PG_TMP" && as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" --auth=trust -U sotto \
		--encoding=UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1) || {
		log "initdb failed:"
		cat "$PG_TMP/initdb.log" >&2
		return 1
	}

	# Test-friendly settings; listen on loopback only, socket in the temp dir.
	cat >>"$PG_TMP/data/postgresql.conf" <<EOF || return 1

# --- added by scripts/test-env.sh ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_TMP'
max_connections = 300
shared_buffers = 128MB
EOF

	(cd "$PG_TMP" && as_pg "$PG_BIN/pg_ctl" start -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 >/dev/null) || {
		log "pg_ctl start failed:"
		cat "$PG_TMP/postgres.log" >&2 || true
		return 1
	}
	PG_STARTED=true

	# pg_ctl -w already waited; double-check over TCP.
	local i
	for i in $(seq 1 30); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U sotto && break
		[[ $i -eq 30 ]] && { log "PostgreSQL not ready on port $port"; return 1; }
		sleep 1
	done

	export SOTTO_TEST_POSTGRES="postgres://sotto@127.0.0.1:$port/postgres?sslmode=disable"
	log "PostgreSQL 15 ready: $SOTTO_TEST_POSTGRES (data in $PG_TMP)"
}

if $PG_OK; then
	start_pg || unavailable "could not start a throwaway PostgreSQL 15 cluster" || true
fi

if $CHROMIUM_OK; then
	export SOTTO_TEST_CHROMIUM="$CHROMIUM"
	log "Chromium: $SOTTO_TEST_CHROMIUM"
fi

# ---- Run the command; the EXIT trap cleans up and keeps its status ----------
set +e
"$@"
status=$?
set -e
exit "$status"
